"""``fakevoipbin proxy --record FILE``: a Recording of upstream answers becomes a fixtures
file that ``serve --fixtures FILE`` loads with the same ids, names, details and times,
fresh tokens, and no secret of the recorded session."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fakevoipbin.core.clock import format_fixed, parse_instant
from fakevoipbin.fixtures import load_fixtures, parse_fixtures
from fakevoipbin.proxy.record import Recording
from fakevoipbin.testing import FakeVoipbin

from ..conftest import NOW, TUTORIAL_CUSTOMER, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

SEED = 42
BILLING = "62e2b3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
_TOKEN = re.compile(r"vb_[A-Za-z0-9_-]{32}")


@dataclass
class Session:
    """A recorded session on a fake: the recording, its end, what it saw."""

    rec: Recording
    ended_us: int
    real_tokens: list[str]
    webhook_secrets: list[str]
    answers: dict[str, Any]
    kept: str
    dropped: str


def record_session(profile: str) -> Session:
    fake = FakeVoipbin(profile=profile, now=NOW)
    rec = Recording()
    c = fake.client(params={"accesskey": fake.accesskey})
    answers: dict[str, Any] = {}
    tokens = [fake.accesskey]
    secrets: list[str] = []

    def call(op: str, method: str, path: str, body: Any = None) -> Any:
        r = c.request(method, path, json=body)
        assert r.is_success, (op, r.status_code, r.text)
        rec.observe(op, r.status_code, r.json(), fake.state.clock.now_us())
        answers[op] = r.json()
        if isinstance(r.json(), dict) and "webhook_secret" in r.json():
            secrets.append(r.json()["webhook_secret"])
        fake.clock.advance(5.250001)  # the upstream's times are not whole seconds apart
        return r.json()

    try:
        call("GetCustomer", "GET", "/customer")
        kept = call(
            "PostAccesskeys",
            "POST",
            "/accesskeys",
            {"name": "Reporting", "detail": "nightly", "expire": 86400},
        )
        dropped = call("PostAccesskeys", "POST", "/accesskeys", {"name": "Temp", "expire": 172800})
        tokens += [kept["token"], dropped["token"]]
        call(
            "PutAccesskeysId",
            "PUT",
            f"/accesskeys/{kept['id']}",
            {"name": "Reporting key", "detail": "Used by the nightly report"},
        )
        call("DeleteAccesskeysId", "DELETE", f"/accesskeys/{dropped['id']}")
        call("GetAccesskeys", "GET", "/accesskeys")
        call(
            "PutCustomer",
            "PUT",
            "/customer",
            {
                "name": "Recorded tenant",
                "detail": "seen through the proxy",
                "email": "ops@example.com",
                "phone_number": "+821100000001",
                "address": "1 Main St",
                "webhook_method": "POST",
                "webhook_uri": "https://example.com/hook",
            },
        )
        call("PutCustomerMetadata", "PUT", "/customer/metadata", {"rtp_debug": True})
        call(
            "PutCustomerBillingAccountId",
            "PUT",
            "/customer/billing_account_id",
            {"billing_account_id": BILLING},
        )
        call("GetCustomer", "GET", "/customer")
        fake.clock.advance(60)
        return Session(
            rec,
            fake.state.clock.now_us(),
            tokens,
            secrets,
            answers,
            kept["id"],
            dropped["id"],
        )
    finally:
        c.close()
        fake.stop()


def fresh_tokens(path: Path) -> dict[str, str]:
    """Key id -> token, as the file gives them."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {k["id"]: k["token"] for c in doc["customers"] for k in c.get("keys", [])}


@pytest.fixture(params=["docs", "live"])
def session(request: pytest.FixtureRequest) -> Session:
    return record_session(request.param)


def test_the_file_loads_and_a_fake_shows_what_was_recorded(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "deep" / "rec.yaml"
    session.rec.write(path, SEED, session.ended_us, "https://api.example.com/v1.0")
    loaded = load_fixtures(path)
    assert [c.id for c in loaded.customers] == [TUTORIAL_CUSTOMER]
    assert session.rec.counts == (1, 3)  # the tutorial key (listed), kept and dropped
    assert not list(tmp_path.glob("deep/.*"))  # no temp file left

    tokens = fresh_tokens(path)
    original = session.answers["GetAccesskeys"]["result"]
    fake = FakeVoipbin(fixtures=str(path), now=format_fixed(session.ended_us))
    c = fake.client(params={"accesskey": tokens[session.kept]})
    try:
        listed = c.get("/accesskeys").json()["result"]
        assert {k["id"] for k in listed} == {k["id"] for k in original}
        for before in original:
            after = next(k for k in listed if k["id"] == before["id"])
            for field in ("name", "detail"):
                assert after.get(field) == before.get(field)
            for field in ("tm_create", "tm_expire"):
                assert after[field] == before[field], field  # to the microsecond
        kept = next(k for k in listed if k["id"] == session.kept)
        assert (kept["name"], kept["detail"]) == ("Reporting key", "Used by the nightly report")

        deleted = fake.state.store.keys[session.dropped]
        assert deleted.tm_delete is not None and deleted.tm_delete <= session.ended_us
        was = session.answers["DeleteAccesskeysId"]
        assert deleted.tm_delete == parse_instant(was["tm_delete"])
        assert deleted.tm_create == parse_instant(was["tm_create"])
        assert deleted.name == "Temp"
        assert c.get(f"/accesskeys/{session.dropped}").status_code == 404

        customer = c.get("/customer").json()
        before = session.answers["GetCustomer"]
        for field in (
            "id",
            "name",
            "detail",
            "email",
            "phone_number",
            "address",
            "webhook_method",
            "webhook_uri",
            "billing_account_id",
            "metadata",
            "email_verified",
            "status",
            "identity_verification_status",
        ):
            assert customer[field] == before[field], field
        assert customer["billing_account_id"] == BILLING
        assert customer["metadata"] == {"rtp_debug": True}
        assert customer["tm_create"] == before["tm_create"]
    finally:
        c.close()
        fake.stop()


def test_the_keys_work_with_their_fresh_tokens_only(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    session.rec.write(path, SEED, session.ended_us, "upstream")
    tokens = fresh_tokens(path)
    fake = FakeVoipbin(fixtures=str(path), now=format_fixed(session.ended_us))
    c = fake.client()
    try:
        for kid in (TUTORIAL_KEY_ID, session.kept):
            assert c.get("/accesskeys", params={"accesskey": tokens[kid]}).status_code == 200
        assert (
            c.get("/accesskeys", params={"accesskey": tokens[session.dropped]}).status_code == 401
        )
        for old in session.real_tokens:
            assert c.get("/accesskeys", params={"accesskey": old}).status_code == 401
    finally:
        c.close()
        fake.stop()


def test_no_secret_of_the_session_is_written(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    session.rec.write(path, SEED, session.ended_us, "upstream")
    text = path.read_text(encoding="utf-8")
    assert TUTORIAL_TOKEN in session.real_tokens and len(session.real_tokens) == 3
    for token in session.real_tokens:
        assert token not in text
        assert token[3:] not in text
    assert set(_TOKEN.findall(text)) == set(fresh_tokens(path).values())
    assert session.webhook_secrets
    for secret in session.webhook_secrets:
        assert secret not in text
    assert "webhook_secret" not in text
    assert "token_prefix" not in text


def test_the_header_and_determinism(session: Session) -> None:
    text = session.rec.fixtures_text(SEED, session.ended_us, "https://api.example.com/v1.0")
    ended = format_fixed(session.ended_us)
    header = text.split("\nversion: 1\n")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert "from https://api.example.com/v1.0" in header
    assert f"fresh token made from seed {SEED}" in header
    assert "The real tokens were never written down" in header
    assert f"relative to the end of the recording, {ended}" in header
    assert f"serve --fixtures FILE --now {ended}" in header
    assert session.rec.fixtures_text(SEED, session.ended_us, "https://api.example.com/v1.0") == text
    other = session.rec.fixtures_text(SEED + 1, session.ended_us, "https://api.example.com/v1.0")
    ours, theirs = set(_TOKEN.findall(text)), set(_TOKEN.findall(other))
    assert len(ours) == len(theirs) == 3 and not ours & theirs
    assert _TOKEN.sub("T", other) == _TOKEN.sub("T", text).replace(
        f"seed {SEED}", f"seed {SEED + 1}"
    )


def test_the_same_session_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    a, b = record_session("live"), record_session("live")
    assert a.ended_us == b.ended_us
    a.rec.write(tmp_path / "a.yaml", SEED, a.ended_us, "u")
    b.rec.write(tmp_path / "b.yaml", SEED, b.ended_us, "u")
    assert (tmp_path / "a.yaml").read_bytes() == (tmp_path / "b.yaml").read_bytes()


def _key(**changes: Any) -> dict[str, Any]:
    key = {
        "id": "11111111-2222-4333-8444-555555555555",
        "customer_id": "99999999-2222-4333-8444-555555555555",
        "name": "k",
        "token_prefix": "vb_abcdefgh",
        "tm_create": "2026-01-01T00:00:00Z",
        "tm_expire": "2026-01-02T00:00:00.5Z",
        "tm_update": None,
        "tm_delete": None,
    }
    key.update(changes)
    return key


END = parse_instant("2026-01-01T01:00:00Z")


def test_times_in_both_forms_the_sentinel_and_a_customer_seen_only_through_keys() -> None:
    rec = Recording()
    rec.observe("GetAccesskeysId", 200, _key(tm_delete="9999-01-01T00:00:00.000000Z"), 1)
    rec.observe(
        "GetAccesskeysId",
        200,
        _key(
            id="21111111-2222-4333-8444-555555555555",
            name="x" * 300,
            detail="",
            tm_create="2026-01-01T00:30:00.250000Z",
            tm_expire="2026-01-01T00:30:00.250000Z",
            tm_delete="2026-01-01T00:50:00.7Z",
            token="vb_" + "S" * 32,
        ),
        1,
    )
    doc = yaml.safe_load(rec.fixtures_text(1, END, "u"))
    [customer] = doc["customers"]
    assert customer == {"id": "99999999-2222-4333-8444-555555555555", "name": "", "keys": [
        {"id": "11111111-2222-4333-8444-555555555555", "name": "k",
         "token": customer["keys"][0]["token"], "expire": 86400, "created_ago": 3600},
        {"id": "21111111-2222-4333-8444-555555555555", "name": "x" * 255,
         "token": customer["keys"][1]["token"], "expire": 1, "created_ago": 1799.75,
         "deleted_ago": 599.3},
    ]}  # fmt: skip
    text = rec.fixtures_text(1, END, "u")
    assert "S" * 32 not in text
    [loaded] = parse_fixtures(yaml.safe_load(text)).customers
    assert [k.deleted_ago for k in loaded.keys] == [None, 599.3]
    assert rec.counts == (1, 2)


def test_the_latest_answer_wins_and_tm_create_after_the_end_is_now() -> None:
    rec = Recording()
    rec.observe("PutAccesskeysId", 200, _key(name="new"), 20)
    rec.observe("GetAccesskeysId", 200, _key(name="old"), 10)  # seen earlier, told later
    rec.observe("GetAccesskeys", 200, {"result": [_key(name="newest")]}, 20)
    [key] = yaml.safe_load(rec.fixtures_text(1, END, "u"))["customers"][0]["keys"]
    assert key["name"] == "newest"
    late = Recording()
    late.observe("PostAccesskeys", 200, _key(tm_create="2026-01-01T02:00:00Z"), 1)
    [key] = yaml.safe_load(late.fixtures_text(1, END, "u"))["customers"][0]["keys"]
    assert key["created_ago"] == 0


def test_customer_fields_out_of_the_schema_are_dropped() -> None:
    rec = Recording()
    rec.observe(
        "GetCustomer",
        200,
        {
            "id": TUTORIAL_CUSTOMER,
            "name": "C",
            "detail": "",
            "email": 5,
            "billing_account_id": "00000000-0000-0000-0000-000000000000",
            "metadata": {"rtp_debug": "yes"},
            "email_verified": "true",
            "status": "sleeping",
            "identity_verification_status": "verified",
            "webhook_secret": "JulZbuVUuT0alohswvtrFUH7fOBBf7NA",
            "tm_create": "not a time",
        },
        1,
    )
    text = rec.fixtures_text(1, END, "u")
    assert yaml.safe_load(text)["customers"] == [
        {"id": TUTORIAL_CUSTOMER, "name": "C", "identity_verification_status": "verified"}
    ]
    assert "JulZbu" not in text


JUNK: list[tuple[Any, int, Any]] = [
    ("GetAccesskeysId", 404, _key()),
    ("PostAccesskeys", 500, _key()),
    ("PostAccesskeys", 301, _key()),
    ("GetCalls", 200, _key()),
    (None, 200, _key()),
    ("GetAccesskeysId", 200, None),
    ("GetAccesskeysId", 200, [_key()]),
    ("GetAccesskeysId", 200, "text"),
    ("GetAccesskeysId", 200, _key(id="NOT-A-UUID")),
    ("GetAccesskeysId", 200, _key(id=7)),
    ("GetAccesskeysId", 200, _key(customer_id=None)),
    ("GetAccesskeysId", 200, _key(tm_create="yesterday")),
    ("GetAccesskeysId", 200, _key(tm_expire=None)),
    ("GetAccesskeysId", 200, _key(tm_create=1767225600)),
    ("GetAccesskeys", 200, {"result": "nope"}),
    ("GetAccesskeys", 200, {"result": [1, None, "x", {}]}),
    ("GetAccesskeys", 200, _key()),
    ("GetCustomer", 200, {"id": None}),
    ("GetCustomer", 200, [TUTORIAL_CUSTOMER]),
    ("GetCustomer", 401, {"id": TUTORIAL_CUSTOMER}),
]


@pytest.mark.parametrize(("op", "status", "body"), JUNK)
def test_junk_is_ignored(op: Any, status: int, body: Any, tmp_path: Path) -> None:
    rec = Recording()
    rec.observe(op, status, body, 1)
    assert rec.counts == (0, 0)
    rec.write(tmp_path / "empty.yaml", 1, END, "u")
    assert load_fixtures(tmp_path / "empty.yaml").customers == ()
    assert "customers: []" in (tmp_path / "empty.yaml").read_text()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_field_values = st.one_of(
    _json,
    st.sampled_from(
        ["11111111-2222-4333-8444-555555555555", "2026-01-01T00:00:00Z", "9999-01-01T00:00:00Z"]
    ),
    st.text(),
)
_ops = st.sampled_from(
    ["GetAccesskeysId", "GetAccesskeys", "GetCustomer", "PutCustomerMetadata", "Nope", None]
)


@settings(deadline=None, derandomize=True, max_examples=150)
@given(
    st.lists(
        st.tuples(
            _ops,
            st.sampled_from([200, 201, 204, 400, 500]),
            st.one_of(
                _json,
                st.fixed_dictionaries({}, optional={f: _field_values for f in _key()}).map(
                    lambda d: {**d, "result": [d]}
                ),
                st.builds(
                    lambda name, detail: _key(name=name, detail=detail), st.text(), st.text()
                ),
            ),
        ),
        max_size=5,
    )
)
def test_any_answers_give_a_file_that_loads(answers: list[tuple[Any, int, Any]]) -> None:
    rec = Recording()
    for op, status, body in answers:
        rec.observe(op, status, body, 1)
    text = rec.fixtures_text(3, END, "u\nnot: yaml")
    loaded = parse_fixtures(yaml.safe_load(text))
    assert len(loaded.customers) == rec.counts[0]
    assert sum(len(c.keys) for c in loaded.customers) == rec.counts[1]


def test_observe_is_thread_safe() -> None:
    rec = Recording()

    def feed(n: int) -> None:
        for i in range(200):
            kid = f"{n:08x}-2222-4333-8444-{i:012x}"
            rec.observe("GetAccesskeysId", 200, _key(id=kid), i)
            if i % 50 == 0:
                rec.fixtures_text(1, END, "u")

    threads = [threading.Thread(target=feed, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert rec.counts == (1, 800)


def test_serve_loads_the_recording(tmp_path: Path) -> None:
    s = record_session("docs")
    path = tmp_path / "rec.yaml"
    s.rec.write(path, SEED, s.ended_us, "upstream")
    token = fresh_tokens(path)[s.kept]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakevoipbin",
            "serve",
            "--fixtures",
            str(path),
            "--port",
            "0",
            "--now",
            format_fixed(s.ended_us),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        url = None
        ready = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if "ready on" in line:
                    ready.set()
                    return

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(20), "".join(lines)
        found = re.search(r"ready on (http://\S+)", lines[-1])
        assert found is not None
        url = found.group(1)
        r = httpx.get(url + "/accesskeys", params={"accesskey": token}, timeout=10)
        assert r.status_code == 200
        assert s.kept in {k["id"] for k in r.json()["result"]}
        # every time the upstream gave, to the microsecond
        shown = {k["id"]: k for k in r.json()["result"]}
        for before in s.answers["GetAccesskeys"]["result"]:
            for field in ("tm_create", "tm_expire"):
                assert shown[before["id"]][field] == before[field], field
        r = httpx.get(url + "/customer", params={"accesskey": token}, timeout=10)
        assert r.json()["tm_create"] == s.answers["GetCustomer"]["tm_create"]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0, "".join(lines) + out
        assert "Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
