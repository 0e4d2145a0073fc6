"""Attach mode (fakevoipbin/attach.py): ``FakeVoipbin.attach(url)`` drives a fake in
another process (``fakevoipbin serve``) through its control API, with the Python
face's own calls; what cannot be attached to says why in one line."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakevoipbin.attach import AttachError
from fakevoipbin.core.clock import ClockError
from fakevoipbin.core.faults import FaultError
from fakevoipbin.fixtures import FixtureError
from fakevoipbin.options import OptionError
from fakevoipbin.testing import FakeVoipbin

from .conftest import NOW, SECOND_TOKEN, TUTORIAL_KEY_ID, TUTORIAL_TOKEN
from .test_server import Served, start, stop


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    s = start("--no-access-log")
    yield s
    stop(s)


@pytest.fixture
def fake(served: Served) -> Iterator[FakeVoipbin]:
    attached = FakeVoipbin.attach(served.url)
    attached.reset()
    yield attached
    attached.reset()
    attached.stop()


def test_it_knows_the_fake_and_its_key_after_a_reset(served: Served, monkeypatch: Any) -> None:
    monkeypatch.delenv("FAKEVOIPBIN_ACCESSKEY", raising=False)
    fake = FakeVoipbin.attach(served.url)  # the API URL, ending in /v1.0
    assert fake.attached and fake.url == served.url
    assert fake.base_url + "/v1.0" == served.url
    assert str(fake.port) in served.url
    with pytest.raises(LookupError, match="after a reset"):
        _ = fake.accesskey
    fake.reset()
    assert fake.accesskey == TUTORIAL_TOKEN
    assert fake.profile == "docs"
    again = FakeVoipbin.attach(fake.base_url)  # or its root
    assert again.url == fake.url
    fake.stop()
    again.stop()


def test_the_journal_counts_what_clients_sent_to_the_other_process(fake: FakeVoipbin) -> None:
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        assert c.post("/accesskeys", json={"name": "ci", "expire": 86400}).status_code == 200
        assert c.get("/accesskeys").status_code == 200
    fake.journal.assert_called("PostAccesskeys", times=1, status=200)
    fake.journal.assert_called("GetAccesskeys", times=1)
    with pytest.raises(AssertionError, match="DeleteAccesskeysId"):
        fake.journal.assert_called("DeleteAccesskeysId")
    entries = fake.journal.entries()
    assert [e.operation_id for e in entries] == ["PostAccesskeys", "GetAccesskeys"]
    assert all(TUTORIAL_TOKEN not in json.dumps(e.as_dict()) for e in entries)
    fake.reset()
    assert fake.journal.entries() == []


def test_clock_faults_and_customers_go_through_the_control_api(fake: FakeVoipbin) -> None:
    fake.clock.freeze()
    fake.clock.set(NOW)
    assert fake.clock.frozen and fake.clock.now_text() == NOW
    fake.clock.advance(1.5)
    assert fake.clock.now_text() == "2026-12-01T10:15:31.623456Z"
    fake.clock.set(1796120130)  # epoch seconds, as the local face takes them
    assert fake.clock.now_text() == "2026-12-01T10:15:30.000000Z"

    rule = fake.faults.add("GetAccesskeys", status=503, times=1)
    assert rule.operation == "GetAccesskeys" and rule.id > 0
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        assert c.get("/accesskeys").status_code == 503
        assert c.get("/accesskeys").status_code == 200
    assert [r.fired for r in fake.faults.rules()] == [1]
    fake.faults.clear()
    assert fake.faults.rules() == []

    customer_id, token = fake.add_customer("attached tenant")
    with fake.client(params={"accesskey": token}) as c:
        listed = c.get("/accesskeys").json()["result"]
    assert [k["customer_id"] for k in listed] == [customer_id]


def test_a_reset_takes_the_markers_settings_for_that_reset_alone(
    fake: FakeVoipbin, tmp_path: Path
) -> None:
    fake.reset(profile="live", seed=3, now=NOW)
    assert fake.profile == "live"
    health = httpx.get(fake.base_url + "/_fake/health").json()
    assert (health["profile"], health["seed"], health["clock"]) == (
        "live",
        3,
        {"now": NOW, "frozen": True},
    )
    fake.reset()
    health = httpx.get(fake.base_url + "/_fake/health").json()
    assert (health["profile"], health["seed"], health["clock"]["frozen"]) == ("docs", 0, False)

    own = tmp_path / "own.yaml"
    own.write_text(
        "version: 1\ncustomers:\n  - name: Own\n    keys:\n      - name: k\n        expire: 600\n"
    )
    fake.reset(fixtures=str(own))
    assert fake.accesskey not in (TUTORIAL_TOKEN, SECOND_TOKEN)
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        assert [k["name"] for k in c.get("/accesskeys").json()["result"]] == ["k"]


def test_a_refused_reset_names_the_file_and_leaves_the_fake_as_it_was(
    fake: FakeVoipbin,
) -> None:
    fake.reset(profile="live")
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        made = c.post("/accesskeys", json={"name": "kept", "expire": 86400}).json()
    for _ in range(2):  # the second time too: nothing was half-applied
        with pytest.raises(FixtureError, match="does-not-exist.yaml"):  # as in-process
            fake.reset(profile="docs", fixtures="does-not-exist.yaml")
    with pytest.raises(TypeError, match="unknown option"):
        fake.reset(colour="red")
    assert fake.profile == "live"
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        assert c.get(f"/accesskeys/{made['id']}").json()["name"] == "kept"
        assert c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code == 200


def test_configure_sticks_across_resets(fake: FakeVoipbin) -> None:
    fake.configure(profile="live")
    fake.reset()
    assert fake.profile == "live"
    fake.reset(seed=2)
    assert fake.profile == "live"
    with pytest.raises(FixtureError, match="nope.yaml"):
        fake.configure(fixtures="nope.yaml")
    fake.reset()
    assert fake.profile == "live"
    fake.configure(profile="docs")
    assert fake.profile == "docs"


def test_what_lives_in_the_other_process_says_so(fake: FakeVoipbin) -> None:
    for name in ("state", "app", "options"):
        with pytest.raises(RuntimeError, match="attached to"):
            getattr(fake, name)


def test_a_control_token_is_needed_and_taken_from_the_environment(monkeypatch: Any) -> None:
    served = start("--control-token", "s3cret", "--no-access-log")
    try:
        monkeypatch.delenv("FAKEVOIPBIN_CONTROL_TOKEN", raising=False)
        with pytest.raises(AttachError, match="401.*FAKEVOIPBIN_CONTROL_TOKEN") as info:
            FakeVoipbin.attach(served.url)
        assert "s3cret" not in str(info.value)
        FakeVoipbin.attach(served.url, control_token="s3cret").stop()
        monkeypatch.setenv("FAKEVOIPBIN_CONTROL_TOKEN", "s3cret")
        fake = FakeVoipbin.attach(served.url)
        fake.reset()
        assert fake.accesskey == TUTORIAL_TOKEN
        fake.stop()
    finally:
        stop(served)


def test_a_fake_with_its_control_api_off_says_how_to_turn_it_on() -> None:
    """A fake started off loopback without a token (as the image starts) has no control
    API: attaching to it says so, and names the variable that turns it on."""
    served = start("--no-control", "--no-access-log")
    try:
        with pytest.raises(AttachError, match="404.*control API is off.*CONTROL_TOKEN"):
            FakeVoipbin.attach(served.url)
    finally:
        stop(served)


class _Stub(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the server's ``answer`` (status, JSON body)."""

    def do_GET(self) -> None:
        status, body = self.server.answer  # type: ignore[attr-defined]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answer(status: int, body: Any) -> str:
        server.answer = (status, body)  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{server.server_address[1]}/v1.0"

    yield answer
    server.shutdown()
    server.server_close()


def test_a_proxy_of_a_real_api_cannot_be_reset(stub: Any) -> None:
    url = stub(
        200,
        {
            "status": "ok",
            "fake": "fakevoipbin",
            "profile": "live",
            "seed": 0,
            "upstream": "https://api.voipbin.net/v1.0",
        },
    )
    with pytest.raises(AttachError) as info:
        FakeVoipbin.attach(url)
    text = str(info.value)
    assert "proxy of https://api.voipbin.net/v1.0" in text
    assert "a real API cannot be reset" in text and "\n" not in text


def test_what_is_not_a_fake_or_not_there_is_one_line(stub: Any) -> None:
    url = stub(404, {"error": {"message": "no such route"}})
    with pytest.raises(AttachError, match="answered 404"):
        FakeVoipbin.attach(url)
    url = stub(200, {"status": "ok"})
    with pytest.raises(AttachError, match="not a fakevoipbin fake"):
        FakeVoipbin.attach(url)
    with pytest.raises(AttachError, match="cannot reach") as info:
        FakeVoipbin.attach("http://127.0.0.1:9/v1.0", timeout=2)
    assert "\n" not in str(info.value)
    with pytest.raises(AttachError, match="not an http"):
        FakeVoipbin.attach("ftp://example.com/v1.0")


def test_the_journal_clears_and_counts_alike_attached_or_not(fake: FakeVoipbin) -> None:
    own = FakeVoipbin()
    for f in (fake, own):
        with f.client(params={"accesskey": f.accesskey}) as c:
            c.get("/accesskeys")
        assert len(f.journal) == 1
        f.journal.clear()
        assert len(f.journal) == 0


def test_the_journal_as_har_alike_attached_or_not(fake: FakeVoipbin) -> None:
    """``fake.journal.har()``: an attached fake's through ``GET /_fake/journal?format=har``
    (its URLs under the fake's root), one's own in-process (under the root given)."""
    from .core.test_har import valid_har

    own = FakeVoipbin()
    for f in (fake, own):
        with f.client(params={"accesskey": f.accesskey}) as c:
            made = c.post("/accesskeys", json={"name": "har", "expire": 86400}).json()
            c.get("/accesskeys")
        doc = f.journal.har() if f is fake else f.journal.har(root="http://here:1")
        valid_har(doc)
        entries = doc["log"]["entries"]
        assert [e["_operationId"] for e in entries] == ["PostAccesskeys", "GetAccesskeys"]
        root = fake.base_url if f is fake else "http://here:1"
        assert entries[1]["request"]["url"] == f"{root}/v1.0/accesskeys?accesskey=[REDACTED]"
        text = json.dumps(doc)
        assert made["token"] not in text and f.accesskey not in text
    assert own.journal.har()["log"]["entries"][0]["request"]["url"].startswith(
        "http://fakevoipbin.invalid/v1.0/"
    )


#: An integer past 64 bits and a number past a double's range, in one body.
BIG_AND_HUGE = b'{"expire": 86400, "a": 123456789012345678901234567890123, "b": 1e309}'


def test_an_attached_journal_reads_numbers_no_machine_type_holds() -> None:
    """The journal holds what ``GET /_fake/journal`` could not write (it answered 500
    for good, and the fake's log got the traceback): an attached fake reads it back."""
    served = start("--now", NOW)
    try:
        fake = FakeVoipbin.attach(served.url)
        fake.reset()
        headers = {"content-type": "application/json"}
        with fake.client(params={"accesskey": fake.accesskey}, headers=headers) as c:
            assert c.post("/accesskeys", content=BIG_AND_HUGE).status_code == 200
            assert c.post("/accesskeys", content=b'{"expire": 1e999999}').status_code == 400
            assert c.post("/accesskeys", content=b'{"name": "\\ud800"}').status_code == 400
        big = 123456789012345678901234567890123
        (made,) = fake.journal.calls("PostAccesskeys", json={"a": big, "b": "1e309"})
        assert made.json == {"expire": 86400, "a": big, "b": "1e309"}
        assert [e.json for e in fake.journal.entries()[1:]] == [
            {"expire": "1e999999"},
            {"name": "\ufffd"},
        ]
        fake.journal.assert_called("PostAccesskeys", times=2, status=400)
        fake.stop()
    finally:
        _code, out = stop(served)
    assert "Traceback" not in out, out


def _request_ids(fake: FakeVoipbin) -> list[str]:
    """Three API requests, with journal, clock and state reads between them (over
    HTTP when attached), and their X-Request-Ids."""
    fake.reset()
    ids = []
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        for _ in range(3):
            ids.append(c.get("/accesskeys").headers["x-request-id"])
            fake.journal.assert_called("GetAccesskeys")
            assert fake.clock.frozen is False
    return ids


def test_the_api_request_ids_are_the_same_in_process_and_attached(fake: FakeVoipbin) -> None:
    """Attach mode reads the journal and the clock over the control API: those calls
    draw no API request id, so a test sees the ids it saw in-process."""
    with FakeVoipbin() as own:
        expected = _request_ids(own)
    assert len(set(expected)) == 3
    assert _request_ids(fake) == expected


def test_nested_withs_on_an_attached_fake_keep_it_driven(served: Served) -> None:
    """An inner ``with`` does not close the control connection under the outer one."""
    with FakeVoipbin.attach(served.url) as fake:
        with fake:
            fake.reset()
        assert fake.clock.frozen is False
        fake.journal.clear()


def test_login_and_a_root_client_attached(fake: FakeVoipbin) -> None:
    jwt = fake.login("admin@example.com", "admin-password")
    with fake.client(headers={"Authorization": f"Bearer {jwt}"}) as c:
        assert c.get("/accesskeys").status_code == 200
    with fake.client(root=True, params={"accesskey": fake.accesskey}) as root:
        assert root.get("/v1.0/accesskeys").status_code == 200
    fake.journal.assert_called("PostAuthLogin", times=1, status=200)


# --- every setter checks its input as the control API does, in-process and attached ----

#: (what the test does, the exception type, a part of its message that names the
#: argument, the control call that is refused with that very message or None).
REFUSED: list[tuple[str, Any, type[Exception], str, tuple[str, str, Any] | None]] = [
    (
        "freeze('no')",
        lambda f: f.clock.freeze("no"),
        ClockError,
        '"freeze" must be true or false',
        ("POST", "/clock", {"freeze": "no"}),
    ),
    (
        "advance('1d')",
        lambda f: f.clock.advance("1d"),
        ClockError,
        '"advance" must be a finite number of seconds',
        ("POST", "/clock", {"advance": "1d"}),
    ),
    (
        "advance(nan)",
        lambda f: f.clock.advance(float("nan")),
        ClockError,
        '"advance" must be a finite number of seconds',
        None,
    ),
    (
        "advance(1e300)",
        lambda f: f.clock.advance(1e300),
        ClockError,
        '"advance": the clock holds instants',
        ("POST", "/clock", {"advance": 1e300}),
    ),
    ("set(None)", lambda f: f.clock.set(None), ClockError, '"set" must be', None),
    ("set(True)", lambda f: f.clock.set(True), ClockError, '"set" must be', None),
    ("set('nope')", lambda f: f.clock.set("nope"), ClockError, '"set": not an RFC 3339', None),
    (
        "add_customer(name=5)",
        lambda f: f.add_customer(name=5),
        ValueError,
        '"name" must be a string of at most 255 characters',
        ("POST", "/customers", {"name": 5}),
    ),
    (
        "add_customer(frozen='no')",
        lambda f: f.add_customer(frozen="no"),
        ValueError,
        '"frozen" must be true or false',
        ("POST", "/customers", {"frozen": "no"}),
    ),
    (
        "add_customer(email=5)",
        lambda f: f.add_customer(email=5),
        ValueError,
        "email",
        ("POST", "/customers", {"email": 5}),
    ),
    (
        "faults.add('Nope')",
        lambda f: f.faults.add("Nope"),
        FaultError,
        "operation must be an operationId",
        ("POST", "/faults", {"operation": "Nope"}),
    ),
    (
        "faults.add(delay_ms=-1)",
        lambda f: f.faults.add("GetAccesskeys", 503, delay_ms=-1),
        FaultError,
        "delay_ms",
        None,
    ),
    ("reset(bogus=1)", lambda f: f.reset(bogus=1), TypeError, "unknown option(s) bogus", None),
    ("reset(seed='x')", lambda f: f.reset(seed="x"), OptionError, "seed", None),
    (
        "reset(fixtures=missing)",
        lambda f: f.reset(fixtures="/no/such/fixtures.yaml"),
        FixtureError,
        "/no/such/fixtures.yaml",
        None,
    ),
]


@pytest.mark.parametrize(("what", "act", "kind", "says", "control"), REFUSED)
def test_a_bad_value_is_the_same_error_in_process_and_attached(
    fake: FakeVoipbin, what: str, act: Any, kind: type[Exception], says: str, control: Any
) -> None:
    """Every setter refuses what the control API refuses, with the same exception type
    and message in-process and attached (never an AttachError, never applied)."""
    own = FakeVoipbin(now=NOW)
    messages = []
    for f in (own, fake):
        before = (f.clock.frozen, len(f.faults.rules()))
        with pytest.raises(kind) as info:
            act(f)
        assert type(info.value) is kind, (what, type(info.value))
        assert says in str(info.value) and "\n" not in str(info.value), what
        messages.append(str(info.value))
        assert (f.clock.frozen, len(f.faults.rules())) == before, what
    assert messages[0] == messages[1], what
    if control is not None:  # the very message the control API answers
        method, path, body = control
        r = httpx.request(method, f"{fake.base_url}/_fake{path}", json=body)
        assert r.status_code == 400
        assert r.json()["error"]["message"] == messages[0]


def test_a_refused_customer_is_not_made(fake: FakeVoipbin) -> None:
    """``add_customer(name=5)`` and ``(frozen="no")`` make no customer: the state, its
    dump and ``GET /v1.0/customer`` stay whole."""
    own = FakeVoipbin(now=NOW)
    for f in (own, fake):
        for bad in ({"name": 5}, {"frozen": "no"}):
            with pytest.raises(ValueError, match="must be"):
                f.add_customer(**bad)
    fresh = FakeVoipbin(now=NOW).state.store.customers
    assert list(own.state.store.customers) == list(fresh)
    dumped = httpx.get(f"{fake.base_url}/_fake/state").json()
    assert [c["name"] for c in dumped["customers"]] == [
        c.name for c in own.state.store.customers.values()
    ]


@pytest.mark.parametrize("attached", [False, True])
def test_a_timedelta_advances_by_it_and_a_date_is_its_midnight_utc(
    fake: FakeVoipbin, attached: bool
) -> None:
    f = fake if attached else FakeVoipbin(now=NOW)
    f.clock.freeze()
    f.clock.set(date(2026, 12, 1))
    assert f.clock.now_text() == "2026-12-01T00:00:00.000000Z"
    f.clock.advance(timedelta(days=1, microseconds=5))
    assert f.clock.now_text() == "2026-12-02T00:00:00.000005Z"
    f.clock.set(datetime(2026, 12, 3, 1, 2, 3, tzinfo=timezone.utc))
    assert f.clock.now_text() == "2026-12-03T01:02:03.000000Z"
    f.clock.freeze(False)
    assert f.clock.frozen is False


def test_it_attaches_to_an_https_fake_trusting_fakevoipbin_ca_file(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """As ``run --tls`` exports it: the CA in FAKEVOIPBIN_CA_FILE, the URL https."""
    served = start("--tls", "--tls-dir", str(tmp_path), "--no-access-log")
    try:
        monkeypatch.setenv("FAKEVOIPBIN_CA_FILE", str(tmp_path / "ca.pem"))
        attached = FakeVoipbin.attach(served.url)
        with attached:
            attached.reset()
            assert attached.ca_file == str(tmp_path / "ca.pem")
            with attached.client() as c:
                assert c.get("/accesskeys", params={"accesskey": TUTORIAL_TOKEN}).status_code == 200
            attached.journal.assert_called("GetAccesskeys", times=1)
        monkeypatch.setenv("FAKEVOIPBIN_CA_FILE", str(tmp_path / "missing.pem"))
        with pytest.raises(AttachError) as info:
            FakeVoipbin.attach(served.url)
        assert str(tmp_path / "missing.pem") in str(info.value)
        assert "\n" not in str(info.value)
        monkeypatch.delenv("FAKEVOIPBIN_CA_FILE")
        with pytest.raises(AttachError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
            FakeVoipbin.attach(served.url)
    finally:
        stop(served)
