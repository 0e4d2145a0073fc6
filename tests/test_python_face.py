"""The Python face: ``FakeVoipbin`` on a real socket, steered from the test.

Clients here are plain ``urllib.request`` (a real socket, nothing of the fake's own)
and ``fake.client()`` (in-process); both must see one state.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.core.clock import parse_instant
from fakevoipbin.core.journal import Journal

from .conftest import (
    ADMIN_LOGIN,
    EXPIRED_TOKEN,
    EXPIRING_TOKEN,
    FROZEN_TOKEN,
    NOW,
    SECOND_TOKEN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
    TUTORIAL_TOKEN,
)

FIXTURE_TOKENS = [TUTORIAL_TOKEN, SECOND_TOKEN, EXPIRED_TOKEN, EXPIRING_TOKEN, FROZEN_TOKEN]


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request over a real socket with the standard library only."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def q(token: str) -> str:
    return f"?accesskey={token}"


def error_of(body: bytes) -> dict[str, Any]:
    doc = json.loads(body)
    assert set(doc) == {"error"}, doc
    return doc["error"]  # type: ignore[no-any-return]


@pytest.fixture
def fake() -> Any:
    with FakeVoipbin(now=NOW) as f:
        yield f


def test_tls_gives_an_https_url_and_the_ca_file_a_client_trusts(tmp_path: Path) -> None:
    import ssl

    import httpx

    with FakeVoipbin(tls=True, tls_dir=str(tmp_path), now=NOW) as fake:
        assert fake.url.startswith("https://127.0.0.1:") and fake.url.endswith("/v1.0")
        assert fake.ca_file == str(tmp_path / "ca.pem")
        context = ssl.create_default_context(cafile=fake.ca_file)
        r = httpx.get(
            fake.url + "/accesskeys", params={"accesskey": fake.accesskey}, verify=context
        )
        assert r.status_code == 200
        with fake.client() as c:  # in-process, no socket, no TLS
            assert c.get("/accesskeys", params={"accesskey": fake.accesskey}).status_code == 200
        attached = FakeVoipbin.attach(fake.url, ca_file=fake.ca_file)
        with attached:
            assert attached.ca_file == fake.ca_file
            attached.reset()
            with attached.client() as c:
                r = c.get("/accesskeys", params={"accesskey": TUTORIAL_TOKEN})
            assert r.status_code == 200
            assert attached.journal.calls("GetAccesskeys")
    with FakeVoipbin() as plain:
        assert plain.url.startswith("http://") and plain.ca_file is None


def test_tls_without_a_folder_removes_its_ca_on_stop() -> None:
    fake = FakeVoipbin(tls=True).start()
    ca = Path(str(fake.ca_file))
    assert ca.is_file()
    fake.stop()
    assert not ca.parent.exists()


# --- two clients, one state -----------------------------------------------------------


def test_url_includes_v1_and_base_url_is_root(fake: FakeVoipbin) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.url.endswith("/v1.0")
    assert fake.url == fake.base_url + "/v1.0"
    assert fake.accesskey == TUTORIAL_TOKEN


def test_urllib_over_a_socket_runs_the_tutorial(fake: FakeVoipbin) -> None:
    status, headers, body = http(
        "GET", f"{fake.url}/accesskeys/{TUTORIAL_KEY_ID}{q(TUTORIAL_TOKEN)}"
    )
    assert status == 200
    key = json.loads(body)
    assert key["id"] == TUTORIAL_KEY_ID
    assert key["customer_id"] == TUTORIAL_CUSTOMER
    assert key["token_prefix"] == "vb_a3Bf9xKm"
    assert "token" not in key
    assert headers.get("x-request-id")

    status, _, body = http("GET", f"{fake.url}/accesskeys{q(TUTORIAL_TOKEN)}")
    assert status == 200
    assert [k["id"] for k in json.loads(body)["result"]] == [TUTORIAL_KEY_ID]

    status, _, body = http(
        "POST", f"{fake.url}/accesskeys{q(TUTORIAL_TOKEN)}", {"name": "n", "expire": 86400}
    )
    assert status == 200
    created = json.loads(body)
    assert created["token"].startswith("vb_") and len(created["token"]) == 35
    assert created["name"] == "n"


def test_socket_and_in_process_clients_share_one_state(fake: FakeVoipbin) -> None:
    status, _, body = http(
        "POST", f"{fake.url}/accesskeys{q(TUTORIAL_TOKEN)}", {"name": "via socket", "expire": 86400}
    )
    assert status == 200
    by_socket = json.loads(body)

    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        r = c.get(f"/accesskeys/{by_socket['id']}")
        assert r.status_code == 200
        assert r.json()["name"] == "via socket"
        r = c.post("/accesskeys", json={"name": "in process", "expire": 86400})
        assert r.status_code == 200
        in_process = r.json()

    status, _, body = http("GET", f"{fake.url}/accesskeys/{in_process['id']}{q(TUTORIAL_TOKEN)}")
    assert status == 200
    assert json.loads(body)["name"] == "in process"
    # the token minted in-process works over the socket
    status, _, _ = http("GET", f"{fake.url}/accesskeys{q(in_process['token'])}")
    assert status == 200


def test_advancing_the_clock_past_tm_expire_gives_401(fake: FakeVoipbin) -> None:
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        created = c.post("/accesskeys", json={"expire": 86400}).json()
    token = created["token"]
    url = f"{fake.url}/accesskeys/{created['id']}{q(token)}"
    assert http("GET", url)[0] == 200

    fake.clock.set(created["tm_expire"])
    assert http("GET", url)[0] == 200, "a key is still valid at the exact instant of tm_expire"

    fake.clock.advance(0.000001)
    status, _, body = http("GET", url)
    assert status == 401
    err = error_of(body)
    assert (err["status"], err["reason"]) == ("UNAUTHENTICATED", "INVALID_CREDENTIALS")


def test_two_instances_share_nothing() -> None:
    with FakeVoipbin(now=NOW) as a, FakeVoipbin(now=NOW) as b:
        assert a.port != b.port
        assert a.url != b.url

        status, _, body = http("POST", f"{a.url}/accesskeys{q(TUTORIAL_TOKEN)}", {"expire": 86400})
        assert status == 200
        made = json.loads(body)
        assert http("GET", f"{a.url}/accesskeys/{made['id']}{q(TUTORIAL_TOKEN)}")[0] == 200
        assert http("GET", f"{b.url}/accesskeys/{made['id']}{q(TUTORIAL_TOKEN)}")[0] == 404
        assert http("GET", f"{b.url}/accesskeys{q(made['token'])}")[0] == 401
        _, _, listed = http("GET", f"{b.url}/accesskeys{q(TUTORIAL_TOKEN)}")
        assert made["id"] not in {k["id"] for k in json.loads(listed)["result"]}

        before_b = b.clock.now_text()
        a.clock.advance(3600)
        assert b.clock.now_text() == before_b
        assert a.clock.now_text() != before_b

        a.faults.add("GetAccesskeysId", status=503, times=None)
        assert http("GET", f"{b.url}/accesskeys/{TUTORIAL_KEY_ID}{q(TUTORIAL_TOKEN)}")[0] == 200
        assert http("GET", f"{a.url}/accesskeys/{TUTORIAL_KEY_ID}{q(TUTORIAL_TOKEN)}")[0] == 503
        assert b.faults.rules() == []
        assert b.journal.calls(status=503) == []


# --- faults ---------------------------------------------------------------------------


def test_one_call_fault_gives_503_once_then_200(fake: FakeVoipbin) -> None:
    fake.faults.add("PostAccesskeys", status=503, times=1)
    url = f"{fake.url}/accesskeys{q(TUTORIAL_TOKEN)}"

    status, headers, body = http("POST", url, {"expire": 86400})
    assert status == 503
    err = error_of(body)
    assert (err["status"], err["reason"]) == ("UNAVAILABLE", "UNAVAILABLE")
    assert err["request_id"] == headers["x-request-id"]
    assert headers["content-type"].startswith("application/json")

    status, _, body = http("POST", url, {"expire": 86400})
    assert status == 200
    assert json.loads(body)["token"].startswith("vb_")

    posts = fake.journal.calls("PostAccesskeys")
    assert [e.status for e in posts] == [503, 200]
    assert posts[0].fault is not None and posts[0].fault["injected"] is True
    assert posts[0].fault["status"] == 503
    assert posts[1].fault is None


def test_fault_with_times_none_fires_every_call(fake: FakeVoipbin) -> None:
    fake.faults.add("GetAccesskeys", status=500, times=None)
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        statuses = [c.get("/accesskeys").status_code for _ in range(10)]
        assert statuses == [500] * 10
        assert c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code == 200


def test_fault_after_n_skips_n_calls(fake: FakeVoipbin) -> None:
    fake.faults.add("GetAccesskeys", status=503, after=3, times=2)
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        statuses = [c.get("/accesskeys").status_code for _ in range(7)]
    assert statuses == [200, 200, 200, 503, 503, 200, 200]


def test_fault_on_star_hits_every_operation(fake: FakeVoipbin) -> None:
    fake.faults.add("*", status=503, times=None)
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        responses = [
            c.get("/accesskeys"),
            c.post("/accesskeys", json={"expire": 86400}),
            c.get(f"/accesskeys/{TUTORIAL_KEY_ID}"),
            c.put(f"/accesskeys/{TUTORIAL_KEY_ID}", json={"name": "x"}),
            c.delete(f"/accesskeys/{TUTORIAL_KEY_ID}"),
        ]
    with fake.client(base_url=fake.base_url) as root:
        responses.append(root.post("/auth/login", json=ADMIN_LOGIN))
    assert [r.status_code for r in responses] == [503] * 6
    ops = [e.operation_id for e in fake.journal.entries()]
    assert ops == [
        "GetAccesskeys",
        "PostAccesskeys",
        "GetAccesskeysId",
        "PutAccesskeysId",
        "DeleteAccesskeysId",
        "PostAuthLogin",
    ]
    assert all(e.fault is not None for e in fake.journal.entries())


def _probability_pattern(fake: FakeVoipbin) -> list[int]:
    fake.faults.add("GetAccesskeys", status=503, times=None, probability=0.5)
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        return [c.get("/accesskeys").status_code for _ in range(50)]


def test_fault_probability_is_drawn_from_the_seed() -> None:
    with FakeVoipbin(seed=11, now=NOW) as a, FakeVoipbin(seed=11, now=NOW) as b:
        first = _probability_pattern(a)
        second = _probability_pattern(b)
        assert first == second
        fired = first.count(503)
        assert 0 < fired < 50, first
        assert set(first) == {200, 503}

        a.reset()
        assert _probability_pattern(a) == first, "reset restarts the fault stream"

    with FakeVoipbin(seed=12, now=NOW) as other:
        assert _probability_pattern(other) != first


def test_fault_delay_slows_a_socket_call(fake: FakeVoipbin) -> None:
    """The delay is asked of the event loop (counted here; ``make bench`` times it)."""
    url = f"{fake.url}/accesskeys/{TUTORIAL_KEY_ID}{q(TUTORIAL_TOKEN)}"
    waits: list[float] = []
    real_sleep = fake.app.pipeline.sleep

    async def counted_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(seconds)

    fake.app.pipeline.sleep = counted_sleep
    http("GET", url)
    assert waits == []
    fake.faults.add("GetAccesskeysId", delay_ms=150, times=1)
    status, _, body = http("GET", url)
    assert status == 200, "a delay without a status still answers normally"
    assert json.loads(body)["id"] == TUTORIAL_KEY_ID
    assert waits == [0.15]
    assert http("GET", url)[0] == 200
    assert waits == [0.15], "times=1: only one call is delayed"


@pytest.mark.parametrize("limited_by", ["ip", "customer"])
def test_fault_429_carries_retry_after_and_limited_by(fake: FakeVoipbin, limited_by: str) -> None:
    fake.faults.add("GetAccesskeys", status=429, retry_after=7, limited_by=limited_by)
    status, headers, body = http("GET", f"{fake.url}/accesskeys{q(TUTORIAL_TOKEN)}")
    assert status == 429
    assert headers["retry-after"] == "7"
    err = error_of(body)
    assert (err["status"], err["reason"]) == ("RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED")
    assert err["details"] == [{"limited_by": limited_by}]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"operation": "NoSuchOperation", "status": 503}, "operation"),
        ({"operation": "PostAccesskeys", "status": 418}, "status"),
        ({"operation": "PostAccesskeys", "status": 503, "times": 0}, "times"),
        ({"operation": "PostAccesskeys", "status": 503, "after": -1}, "after"),
        ({"operation": "PostAccesskeys", "status": 503, "probability": 1.5}, "probability"),
        ({"operation": "PostAccesskeys", "delay_ms": -5}, "delay_ms"),
        ({"operation": "PostAccesskeys", "status": 429, "limited_by": "planet"}, "limited_by"),
        ({"operation": "PostAccesskeys", "status": 429, "retry_after": -1}, "retry_after"),
        ({"operation": "PostAccesskeys"}, "status"),
    ],
)
def test_bad_fault_fields_raise_a_readable_value_error(
    fake: FakeVoipbin, kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError) as info:
        fake.faults.add(**kwargs)
    assert named in str(info.value)
    assert fake.faults.rules() == []


# --- customers ------------------------------------------------------------------------


def test_add_customer_gives_a_working_isolated_token(fake: FakeVoipbin) -> None:
    customer_id, token = fake.add_customer("Acme")
    assert customer_id != TUTORIAL_CUSTOMER
    assert token.startswith("vb_") and len(token) == 35

    status, _, body = http("GET", f"{fake.url}/accesskeys{q(token)}")
    assert status == 200
    keys = json.loads(body)["result"]
    assert len(keys) == 1
    assert keys[0]["customer_id"] == customer_id
    assert keys[0]["token_prefix"] == token[:11]

    # the tutorial customer's key is invisible to the new tenant, and the other way round
    assert http("GET", f"{fake.url}/accesskeys/{TUTORIAL_KEY_ID}{q(token)}")[0] == 404
    status, _, body = http("GET", f"{fake.url}/accesskeys{q(TUTORIAL_TOKEN)}")
    assert keys[0]["id"] not in {k["id"] for k in json.loads(body)["result"]}
    assert http("GET", f"{fake.url}/accesskeys/{keys[0]['id']}{q(TUTORIAL_TOKEN)}")[0] == 404


def test_add_customer_frozen_gets_403_account_frozen(fake: FakeVoipbin) -> None:
    _customer_id, token = fake.add_customer(frozen=True)
    status, _, body = http("GET", f"{fake.url}/accesskeys{q(token)}")
    assert status == 403
    err = error_of(body)
    assert (err["status"], err["reason"]) == ("PERMISSION_DENIED", "ACCOUNT_FROZEN")


# --- journal --------------------------------------------------------------------------


def test_journal_entries_describe_each_exchange(fake: FakeVoipbin) -> None:
    fake.journal.clear()
    http("GET", f"{fake.url}/accesskeys/{TUTORIAL_KEY_ID}{q(TUTORIAL_TOKEN)}")
    http("GET", f"{fake.url}/accesskeys?accesskey=vb_nopeNOPEnopeNOPEnopeNOPEnopeNOPE")
    http("POST", f"{fake.url}/accesskeys{q(TUTORIAL_TOKEN)}", {"expire": "a day"})

    ok, refused, bad = fake.journal.entries()
    assert ok.time == NOW
    assert ok.method == "GET"
    assert ok.target == f"/v1.0/accesskeys/{TUTORIAL_KEY_ID}?accesskey=[REDACTED]"
    assert ok.operation_id == "GetAccesskeysId"
    assert ok.status == 200
    assert "vb_a3Bf9xKm" in ok.auth
    assert ok.request_id
    assert ok.request_violations == []
    assert ok.seq < refused.seq < bad.seq

    assert refused.status == 401
    assert refused.target == "/v1.0/accesskeys?accesskey=[REDACTED]"
    assert refused.auth.startswith("refused: ")

    assert bad.method == "POST"
    assert bad.operation_id == "PostAccesskeys"
    assert bad.status == 400
    assert bad.request_violations, "a bad body is written down as a violation"
    assert any(v.get("field") == "expire" for v in bad.request_violations), bad.request_violations


def test_journal_redacts_token_query_parameter(fake: FakeVoipbin) -> None:
    fake.journal.clear()
    http("GET", f"{fake.url}/accesskeys?token=abc.def.ghi&page_size=5")
    (entry,) = fake.journal.entries()
    assert entry.target == "/v1.0/accesskeys?token=[REDACTED]&page_size=5"


def test_journal_holds_the_entry_once_the_client_has_the_answer(fake: FakeVoipbin) -> None:
    """A test reads the journal right after its call returns: the entry must be there.

    The server runs in a thread of this process; a tiny GIL switch interval makes the
    threads interleave often, so an entry written after the answer is sent shows up."""
    url = f"{fake.url}/accesskeys/{TUTORIAL_KEY_ID}"
    missing = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for i in range(300):
            _, headers, _ = http("GET", f"{url}{q(TUTORIAL_TOKEN) if i % 2 else ''}")
            last = fake.journal.entries()[-1:]
            if not last or last[0].request_id != headers["x-request-id"]:
                missing.append(i)
    finally:
        sys.setswitchinterval(interval)
    assert missing == [], f"{len(missing)} of 300 answers came before their journal entry"


def test_journal_is_a_ring_buffer(fake: FakeVoipbin) -> None:
    assert isinstance(fake.state.journal, Journal)
    assert fake.journal.size >= 1
    assert fake.state.journal._entries.maxlen == fake.journal.size  # bounded, not a list

    ring = Journal(size=5)
    for i in range(7):
        ring.record(
            time_us=parse_instant(NOW), method="GET", target=f"/{i}", operation_id=None, status=200
        )
    kept = ring.entries()
    assert len(ring) == 5
    assert [e.target for e in kept] == ["/2", "/3", "/4", "/5", "/6"]
    assert [e.seq for e in kept] == [3, 4, 5, 6, 7]
    ring.record(
        time_us=parse_instant(NOW), method="GET", target="/7", operation_id=None, status=200
    )
    assert [e.seq for e in ring.entries()] == [4, 5, 6, 7, 8]


def test_journal_calls_and_assert_called(fake: FakeVoipbin) -> None:
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        c.get("/accesskeys")
        c.get("/accesskeys")
        c.post("/accesskeys", json={"expire": 86400})
        c.post("/accesskeys", json={"expire": 5})

    assert len(fake.journal.calls("GetAccesskeys")) == 2
    assert [e.status for e in fake.journal.calls("PostAccesskeys")] == [200, 400]
    assert len(fake.journal.calls("PostAccesskeys", status=400)) == 1
    assert len(fake.journal.calls()) == 4

    found = fake.journal.assert_called("GetAccesskeys", times=2)
    assert len(found) == 2
    fake.journal.assert_called("PostAccesskeys", times=1, status=200)
    fake.journal.assert_called("PostAccesskeys")

    with pytest.raises(AssertionError) as info:
        fake.journal.assert_called("DeleteAccesskeysId", times=1)
    message = str(info.value)
    assert "DeleteAccesskeysId" in message
    assert "0 time" in message
    assert "/v1.0/accesskeys" in message, "the closest calls are listed"

    with pytest.raises(AssertionError) as info:
        fake.journal.assert_called("PostAccesskeys", times=3)
    message = str(info.value)
    assert "PostAccesskeys" in message
    assert "POST /v1.0/accesskeys" in message


# --- rate limiting --------------------------------------------------------------------


def test_rate_limit_per_customer_on_the_fake_clock() -> None:
    with FakeVoipbin(rate_limit=True, now=NOW) as fake:
        url = f"{fake.url}/accesskeys/{TUTORIAL_KEY_ID}{q(TUTORIAL_TOKEN)}"
        with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            statuses = [c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code for _ in range(33)]
        assert statuses == [200] * 33

        status, headers, body = http("GET", url)
        assert status == 429
        assert int(headers["retry-after"]) >= 1
        err = error_of(body)
        assert (err["status"], err["reason"]) == ("RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED")
        assert err["details"] == [{"limited_by": "customer"}]

        # another customer is not limited by the first one's calls
        assert http("GET", f"{fake.url}/accesskeys{q(SECOND_TOKEN)}")[0] == 200

        # nothing refills while the frozen clock stands still
        assert http("GET", url)[0] == 429

        fake.clock.advance(1)
        with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            after = [c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code for _ in range(20)]
        assert after.count(200) == 16, after
        assert after[:16] == [200] * 16
        assert set(after[16:]) == {429}


def test_rate_limit_per_ip() -> None:
    with FakeVoipbin(rate_limit=True, now=NOW) as fake, fake.client() as c:
        statuses = [c.get("/accesskeys").status_code for _ in range(400)]
        assert statuses == [401] * 400  # no credential: counted per IP, before auth
        r = c.get("/accesskeys", params={"accesskey": SECOND_TOKEN})
        assert r.status_code == 429
        assert r.json()["error"]["details"] == [{"limited_by": "ip"}]
        assert "retry-after" in r.headers


def test_rate_limit_login_per_ip() -> None:
    with FakeVoipbin(rate_limit=True, now=NOW) as fake:
        url = f"{fake.base_url}/auth/login"
        statuses = [http("POST", url, ADMIN_LOGIN)[0] for _ in range(20)]
        assert statuses == [200] * 20
        status, headers, body = http("POST", url, ADMIN_LOGIN)
        assert status == 429
        assert "retry-after" in headers
        err = error_of(body)
        assert err["reason"] == "RATE_LIMIT_EXCEEDED"
        assert err["details"] == [{"limited_by": "ip"}]


def test_rate_limit_is_off_by_default(fake: FakeVoipbin) -> None:
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        statuses = [c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code for _ in range(200)]
    assert statuses == [200] * 200
    with fake.client(base_url=fake.base_url) as root:
        logins = [root.post("/auth/login", json=ADMIN_LOGIN).status_code for _ in range(30)]
    assert logins == [200] * 30


def test_rate_limit_buckets_are_reset() -> None:
    with FakeVoipbin(rate_limit=True, now=NOW) as fake:
        with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            assert [c.get("/accesskeys").status_code for _ in range(34)][-1] == 429
        fake.reset()
        with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            assert c.get("/accesskeys").status_code == 200


# --- reset ----------------------------------------------------------------------------


def test_reset_after_many_creates_is_byte_identical_to_a_fresh_fake() -> None:
    with FakeVoipbin(seed=5, now=NOW) as used:
        with used.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            for i in range(1000):
                assert (
                    c.post("/accesskeys", json={"name": f"k{i}", "expire": 86400}).status_code
                    == 200
                )
        used.faults.add("GetAccesskeys", status=503, times=None)
        used.clock.advance(12345)
        assert len(used.journal) > 0

        used.reset()
        assert len(used.journal) == 0
        assert used.faults.rules() == []
        assert used.clock.now_text() == NOW
        assert used.clock.frozen

        with FakeVoipbin(seed=5, now=NOW) as fresh:
            with (
                used.client(base_url=used.base_url) as u,
                fresh.client(base_url=fresh.base_url) as f,
            ):
                dump_used = u.get("/_fake/state")
                dump_fresh = f.get("/_fake/state")
                assert dump_used.status_code == dump_fresh.status_code == 200
                assert dump_used.content == dump_fresh.content
                assert len(json.loads(dump_used.content)["keys"]) == 5

                made_used = u.post(
                    "/v1.0/accesskeys", params={"accesskey": TUTORIAL_TOKEN}, json={"expire": 86400}
                )
                made_fresh = f.post(
                    "/v1.0/accesskeys", params={"accesskey": TUTORIAL_TOKEN}, json={"expire": 86400}
                )
            assert made_used.status_code == made_fresh.status_code == 200
            assert made_used.content == made_fresh.content
            assert made_used.headers["x-request-id"] == made_fresh.headers["x-request-id"]

            with used.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
                assert c.get("/accesskeys").status_code == 200, "the fault rule is gone"


# --- no raw token anywhere ------------------------------------------------------------


def test_journal_and_state_dump_never_hold_a_raw_token() -> None:
    with FakeVoipbin(now=NOW) as fake:
        minted: list[str] = []
        with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            for i in range(3):
                r = c.post("/accesskeys", json={"name": f"k{i}", "expire": 86400})
                assert r.status_code == 200
                minted.append(r.json()["token"])
        for frozen in (False, True):
            minted.append(fake.add_customer(f"c{frozen}", frozen=frozen)[1])
        with fake.client(base_url=fake.base_url) as root:
            created = root.post("/_fake/customers", json={"name": "via control"})
            assert created.status_code == 200
            minted.append(created.json()["accesskey"]["token"])
            login = root.post("/auth/login", json=ADMIN_LOGIN)
            assert login.status_code == 200
            jwt = login.json()["token"]

        tokens = FIXTURE_TOKENS + minted
        assert len(set(tokens)) == len(tokens)
        for token in [*tokens, jwt]:
            where = f"{fake.url}/accesskeys"
            http("GET", f"{where}?accesskey={token}")
            http("GET", f"{where}?token={token}")
            http("GET", where, headers={"Cookie": f"accesskey={token}"})
            http("GET", where, headers={"Cookie": f"token={token}"})
            http("GET", where, headers={"Authorization": f"Bearer {token}"})
            http("POST", f"{where}?accesskey={token}", {"expire": 86400})
        assert len(fake.journal) >= 6 * (len(tokens) + 1)
        # some of those calls succeeded, so the check below is not vacuous
        assert fake.journal.calls("GetAccesskeys", status=200)

        journal_text = [json.dumps(e.as_dict()) for e in fake.journal.entries()]
        status, _, state_body = http("GET", f"{fake.base_url}/_fake/state")
        assert status == 200
        state_text = state_body.decode()
        status, _, journal_body = http("GET", f"{fake.base_url}/_fake/journal")
        assert status == 200
        for token in [*tokens, jwt]:
            for text in [*journal_text, journal_body.decode()]:
                assert token not in text, f"{token[:11]}… leaked into the journal: {text[:200]}"
            assert token not in state_text, f"{token[:11]}… leaked into the state dump"
        # the prefix alone is fine, and the dump does name the keys by prefix
        assert "vb_a3Bf9xKm" in state_text


def test_a_failed_configure_or_reset_leaves_the_fake_as_it_was(tmp_path: Path) -> None:
    from fakevoipbin.fixtures import FixtureError

    fake = FakeVoipbin()
    fake.configure(profile="live")
    _customer, token = fake.add_customer("kept")
    missing = str(tmp_path / "does-not-exist.yaml")
    for _ in range(2):  # the second call fails too: nothing was stored half-way
        with pytest.raises(FixtureError, match="does-not-exist.yaml"):
            fake.configure(profile="docs", fixtures=missing)
        with pytest.raises(FixtureError, match="does-not-exist.yaml"):
            fake.reset(profile="docs", fixtures=missing)
    assert fake.profile == "live" and fake.options.profile == "live"
    with fake.client(params={"accesskey": token}) as c:
        assert c.get("/accesskeys").status_code == 200, "the state was not reset either"
    fake.reset(seed=4)  # for this reset alone
    assert (fake.state.seed, fake.profile) == (4, "live")
    fake.reset()
    assert (fake.state.seed, fake.profile) == (0, "live")


# --- a fake entered twice -----------------------------------------------------------


def test_nested_withs_count_and_the_outermost_stops_the_server() -> None:
    """A fake entered again (a helper that takes a started fake and enters it) is the
    same fake; only the outermost ``with`` stops its server."""
    with FakeVoipbin(now=NOW) as fake:
        url = fake.url
        with fake as inner:
            assert inner is fake
            with fake:
                assert http("GET", f"{url}/accesskeys{q(TUTORIAL_TOKEN)}")[0] == 200
        status, _headers, _body = http("GET", f"{url}/accesskeys{q(TUTORIAL_TOKEN)}")
        assert status == 200, "the inner with stopped the server under the outer one"
        assert fake.port == int(url.split(":")[2].split("/")[0])
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.port
    with pytest.raises(urllib.error.URLError):
        http("GET", f"{url}/accesskeys{q(TUTORIAL_TOKEN)}")


# --- the login path: fake.login and a client rooted at the server ----------------------


def _login_then_list(fake: FakeVoipbin) -> None:
    jwt = fake.login(ADMIN_LOGIN["username"], ADMIN_LOGIN["password"])
    with fake.client(headers={"Authorization": f"Bearer {jwt}"}) as c:
        assert c.get("/accesskeys").status_code == 200  # the client's base is the API's
    with fake.client(root=True, params={"accesskey": fake.accesskey}) as root:
        assert root.base_url.path == "/"
        assert root.get("/v1.0/accesskeys").status_code == 200
        r = root.post("/auth/login", json=ADMIN_LOGIN)
        assert r.status_code == 200 and r.json()["token"]
    with pytest.raises(LookupError, match="refused .admin@example.com.: 400") as info:
        fake.login("admin@example.com", "not-the-password")
    assert "not-the-password" not in str(info.value)
    fake.journal.assert_called("PostAuthLogin", times=1, status=400)


def test_login_gives_a_jwt_and_a_root_client_reaches_every_path() -> None:
    """``fake.login`` returns a JWT the API takes; ``client(root=True)`` is rooted at the
    server, so ``/v1.0/...`` and ``/auth/login`` are written as their paths are."""
    own = FakeVoipbin(now=NOW)  # in-process, not started
    _login_then_list(own)
    with FakeVoipbin(now=NOW) as started:
        _login_then_list(started)


def test_an_async_client_rooted_at_the_server() -> None:
    import asyncio

    async def go(fake: FakeVoipbin) -> int:
        async with fake.async_client(root=True) as root:
            r = await root.post("/auth/login", json=ADMIN_LOGIN)
            return r.status_code

    assert asyncio.run(go(FakeVoipbin(now=NOW))) == 200
