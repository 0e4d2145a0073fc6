"""Network-level faults: what a client's retry, timeout and idempotency code meets below
the API. Each kind over a real socket (httpx, urllib and a bare socket), through the
in-process clients (sync and async), ``when`` before and after, the ``X-Fake-Fault``
header, and the control API's side of it."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.core.faults import NETWORK_KINDS, FaultError, make_rule, rule_from_header
from fakevoipbin.web import wire
from fakevoipbin.web.faults import PROXY_PAGES

from ..conftest import NOW, TUTORIAL_TOKEN
from ..test_server import start, stop

AUTH = {"Authorization": f"Bearer {TUTORIAL_TOKEN}"}
NEW_KEY = {"name": "retry", "detail": "lost answer", "expire": 86400 * 30}
CREATE = "PostAccesskeys"


@pytest.fixture(scope="module")
def served() -> Iterator[FakeVoipbin]:
    """One fake on a real socket for the module; reset before each test."""
    fake = FakeVoipbin(now=NOW, port=0).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake(served: FakeVoipbin) -> FakeVoipbin:
    served.reset()
    return served


@pytest.fixture
def waits(fake: FakeVoipbin) -> Iterator[list[float]]:
    """Every injected wait, in seconds, with no real waiting (no wall clock in tests)."""
    seen: list[float] = []
    pipeline = fake.app.pipeline
    real = pipeline.sleep

    async def record(seconds: float) -> None:
        seen.append(seconds)
        await asyncio.sleep(0)

    pipeline.sleep = record
    yield seen
    pipeline.sleep = real


def key_count(fake: FakeVoipbin) -> int:
    with fake.client() as c:
        r = c.get("/accesskeys", params={"page_size": 100}, headers=AUTH)
    assert r.status_code == 200
    return len(r.json()["result"])


def urllib_create(fake: FakeVoipbin, headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(
        fake.url + "/accesskeys",
        data=json.dumps(NEW_KEY).encode(),
        headers={**AUTH, "Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, dict(resp.headers), resp.read()


def raw_exchange(fake: FakeVoipbin, extra: str = "") -> tuple[bytes, str]:
    """A create over a bare socket: every byte the server sent, and how it ended
    ("fin": a clean close, "rst": a reset)."""
    host, port = fake.url.split("//")[1].split("/")[0].rsplit(":", 1)
    body = json.dumps(NEW_KEY).encode()
    request = (
        f"POST /v1.0/accesskeys HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TUTORIAL_TOKEN}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        got = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return got, "rst"
            if not chunk:
                return got, "fin"
            got += chunk


# --- the rules ------------------------------------------------------------------------


def test_a_kind_defaults_to_after_and_a_status_to_before() -> None:
    ops = {CREATE}
    assert make_rule(ops, operation=CREATE, kind="connection_reset").when == "after"
    assert make_rule(ops, operation=CREATE, status=503).when == "before"
    assert make_rule(ops, operation=CREATE, delay_ms=5).when == "before"
    assert make_rule(ops, operation=CREATE, status=503, when="after").when == "after"
    assert make_rule(ops, operation=CREATE, kind="empty_response", when="before").when == "before"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"kind": "dropped"}, "kind must be one of"),
        ({"kind": "connection_reset", "status": 503}, "a status or a kind, not both"),
        ({"kind": "slow_body"}, "slow_body needs a delay_ms"),
        ({"kind": "slow_headers", "delay_ms": 0}, "slow_headers needs a delay_ms"),
        ({"kind": "truncated_body", "when": "before"}, 'its when is "after"'),
        ({"kind": "slow_body", "delay_ms": 10, "when": "before"}, 'its when is "after"'),
        ({"kind": "malformed_json", "when": "later"}, "when must be"),
        ({"status": 503, "when": "during"}, "when must be"),
    ],
)
def test_a_rule_that_cannot_be_taken_says_why(fields: dict[str, Any], why: str) -> None:
    with pytest.raises(FaultError, match=why):
        make_rule({CREATE}, operation=CREATE, **fields)


def test_the_header_names_a_status_or_a_kind_with_parameters() -> None:
    rule = rule_from_header("503", CREATE)
    assert (rule.status, rule.kind, rule.when, rule.times) == (503, None, "before", 1)
    rule = rule_from_header(" connection_reset ; when=before ", CREATE)
    assert (rule.kind, rule.when) == ("connection_reset", "before")
    rule = rule_from_header("slow_body; delay_ms=800", CREATE)
    assert (rule.kind, rule.delay_ms, rule.when) == ("slow_body", 800, "after")
    rule = rule_from_header("429; retry_after=7; limited_by=customer", CREATE)
    assert (rule.status, rule.retry_after, rule.limited_by) == (429, 7, "customer")
    for bad in ("", "504", "teapot", "503; times=3", "503; when", "slow_body; delay_ms=fast"):
        with pytest.raises(FaultError):
            rule_from_header(bad, CREATE)


# --- each kind, over a real socket and in-process --------------------------------------


#: The kinds that end the connection: how it ends on a bare socket, what httpx raises
#: (over the socket and in-process alike) and what urllib raises.
ENDINGS = [
    ("connection_reset", (b"", "rst"), httpx.ReadError, ConnectionResetError),
    ("empty_response", (b"", "fin"), httpx.RemoteProtocolError, http.client.RemoteDisconnected),
    ("truncated_body", None, httpx.RemoteProtocolError, http.client.IncompleteRead),
]


@pytest.mark.parametrize(("kind", "raw", "httpx_error", "urllib_error"), ENDINGS)
def test_a_connection_ending_fault_raises_what_each_client_meets(
    fake: FakeVoipbin,
    kind: str,
    raw: tuple[bytes, str] | None,
    httpx_error: type[Exception],
    urllib_error: type[Exception],
) -> None:
    if raw is not None:  # truncated_body's bytes have a test of their own, below
        fake.faults.add(CREATE, kind=kind)
        assert raw_exchange(fake) == raw
    fake.faults.add(CREATE, kind=kind)
    with pytest.raises(httpx_error) as over_socket:
        httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    fake.faults.add(CREATE, kind=kind)
    with pytest.raises(urllib_error):
        urllib_create(fake)
    fake.faults.add(CREATE, kind=kind)
    with fake.client() as c, pytest.raises(httpx_error) as in_process:
        c.post("/accesskeys", json=NEW_KEY, headers=AUTH)
    # The in-process client says what httpx says over a socket (the lengths too).
    assert str(in_process.value) == str(over_socket.value)


def test_truncated_body_sends_the_full_length_then_half_the_body_then_fin(
    fake: FakeVoipbin,
) -> None:
    fake.faults.add(CREATE, kind="truncated_body")
    got, end = raw_exchange(fake)
    assert end == "fin"
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    headers = dict(line.split(b": ", 1) for line in lines[1:])
    declared = int(headers[b"content-length"])
    assert headers[b"content-type"].startswith(b"application/json")
    assert headers[b"x-request-id"]
    assert len(body) == declared // 2 > 0
    assert body.startswith(b'{"id":"')


def test_malformed_json_is_a_200_whose_body_does_not_parse(fake: FakeVoipbin) -> None:
    fake.faults.add(CREATE, kind="malformed_json", times=3)
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-request-id"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    status, _headers, raw = urllib_create(fake)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    with fake.client() as c:
        r = c.post("/accesskeys", json=NEW_KEY, headers=AUTH)
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()


@pytest.mark.parametrize("status", [502, 504])
def test_a_proxy_page_has_no_envelope_and_no_request_id(fake: FakeVoipbin, status: int) -> None:
    kind = f"proxy_{status}"
    fake.faults.add(CREATE, kind=kind, times=3)
    headers = {"Origin": "https://app.example", "X-Request-Id": "mine-1"}
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers={**AUTH, **headers})
    assert r.status_code == status
    assert r.content == PROXY_PAGES[status]
    assert r.headers["content-type"] == "text/html"
    assert "x-request-id" not in r.headers
    assert "access-control-allow-origin" not in r.headers
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib_create(fake)
    assert err.value.code == status
    assert err.value.read() == PROXY_PAGES[status]
    with fake.client() as c:
        r = c.post("/accesskeys", json=NEW_KEY, headers=AUTH)
    assert (r.status_code, r.content) == (status, PROXY_PAGES[status])


def test_slow_headers_waits_delay_ms_before_the_answer(
    fake: FakeVoipbin, waits: list[float]
) -> None:
    fake.faults.add(CREATE, kind="slow_headers", delay_ms=1500, times=2)
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert r.status_code == 200 and r.json()["token"]
    status, _h, raw = urllib_create(fake)
    assert status == 200 and json.loads(raw)["token"]
    assert waits == [1.5, 1.5]


def test_slow_body_trickles_the_whole_answer_out_over_delay_ms(
    fake: FakeVoipbin, waits: list[float]
) -> None:
    fake.faults.add(CREATE, kind="slow_body", delay_ms=2000)
    with httpx.stream("POST", fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH) as r:
        assert r.status_code == 200
        body = r.read()
    assert json.loads(body)["token"].startswith("vb_")
    assert len(waits) == 10
    assert sum(waits) == pytest.approx(2.0)
    fake.faults.add(CREATE, kind="slow_body", delay_ms=500)
    with fake.client() as c:
        r = c.post("/accesskeys", json=NEW_KEY, headers=AUTH)
    assert r.status_code == 200 and r.json()["token"]
    assert sum(waits[10:]) == pytest.approx(0.5)


def test_the_async_in_process_client_meets_the_same_exceptions(fake: FakeVoipbin) -> None:
    async def go() -> list[str]:
        seen = []
        async with fake.async_client() as c:
            for kind, exc in (
                ("connection_reset", httpx.ReadError),
                ("empty_response", httpx.RemoteProtocolError),
                ("truncated_body", httpx.RemoteProtocolError),
            ):
                fake.faults.add(CREATE, kind=kind)
                with pytest.raises(exc):
                    await c.post("/accesskeys", json=NEW_KEY, headers=AUTH)
                seen.append(kind)
            r = await c.post("/accesskeys", json=NEW_KEY, headers=AUTH)
            assert r.status_code == 200
        return seen

    assert asyncio.run(go()) == ["connection_reset", "empty_response", "truncated_body"]


# --- when: did the request take effect? -----------------------------------------------


@pytest.mark.parametrize("kind", ["connection_reset", "empty_response", "malformed_json"])
def test_after_the_lost_create_has_made_its_key_before_it_has_not(
    fake: FakeVoipbin, kind: str
) -> None:
    before = key_count(fake)
    fake.faults.add(CREATE, kind=kind, when="after")
    with (
        pytest.raises(httpx.TransportError)
        if kind != "malformed_json"
        else contextlib.nullcontext()
    ):
        httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert key_count(fake) == before + 1
    fake.faults.add(CREATE, kind=kind, when="before")
    with (
        pytest.raises(httpx.TransportError)
        if kind != "malformed_json"
        else contextlib.nullcontext()
    ):
        httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert key_count(fake) == before + 1


def test_a_truncated_create_has_made_its_key(fake: FakeVoipbin) -> None:
    before = key_count(fake)
    fake.faults.add(CREATE, kind="truncated_body")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert key_count(fake) == before + 1


def test_a_status_after_the_handler_ran_answers_503_with_the_key_made(
    fake: FakeVoipbin,
) -> None:
    before = key_count(fake)
    fake.faults.add(CREATE, status=503, when="after")
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert r.status_code == 503
    assert r.json()["error"]["reason"] == "UNAVAILABLE"
    assert r.json()["error"]["request_id"] == r.headers["x-request-id"]
    assert key_count(fake) == before + 1
    (entry,) = fake.journal.calls(CREATE)
    assert entry.status == 503
    assert entry.fault is not None
    assert (entry.fault["when"], entry.fault["handler_status"]) == ("after", 200)


def test_a_retried_create_after_a_lost_answer_leaves_two_keys(fake: FakeVoipbin) -> None:
    """The trap a client's retry must survive: create is not idempotent."""
    before = key_count(fake)
    fake.faults.add(CREATE, kind="connection_reset")
    with httpx.Client(base_url=fake.url, headers=AUTH) as c:
        for _attempt in range(3):
            try:
                r = c.post("/accesskeys", json=NEW_KEY)
                break
            except httpx.TransportError:
                continue
    assert r.status_code == 200
    assert key_count(fake) == before + 2


# --- selection and the journal ----------------------------------------------------------


def test_times_and_after_select_which_calls_fail(fake: FakeVoipbin) -> None:
    fake.faults.add(CREATE, kind="empty_response", after=1, times=2)
    outcomes = []
    with httpx.Client(base_url=fake.url, headers=AUTH) as c:
        for _ in range(4):
            try:
                outcomes.append(c.post("/accesskeys", json=NEW_KEY).status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("empty")
    assert outcomes == [200, "empty", "empty", 200]
    (rule,) = fake.faults.rules()
    assert (rule.seen, rule.fired, rule.kind) == (3, 2, "empty_response")  # spent: not counted


def test_probability_draws_from_the_seed(fake: FakeVoipbin) -> None:
    def run() -> list[int | str]:
        fake.reset()
        fake.faults.add("GetAccesskeys", kind="proxy_502", times=None, probability=0.5)
        with httpx.Client(base_url=fake.url, headers=AUTH) as c:
            return [c.get("/accesskeys").status_code for _ in range(16)]

    first = run()
    assert first == run()
    assert set(first) == {200, 502}


def test_the_journal_marks_each_fault_with_its_kind(fake: FakeVoipbin) -> None:
    for kind in ("connection_reset", "truncated_body", "proxy_504"):
        fake.faults.add(CREATE, kind=kind)
        with contextlib.suppress(httpx.TransportError):
            httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    entries = fake.journal.calls(CREATE)
    assert [e.fault["kind"] for e in entries if e.fault] == [
        "connection_reset",
        "truncated_body",
        "proxy_504",
    ]
    assert [e.status for e in entries] == [0, 200, 504]
    assert entries[0].fault == {
        "rule": 1,
        "injected": True,
        "kind": "connection_reset",
        "status": None,
        "delay_ms": 0,
        "when": "after",
        "header": False,
        "handler_status": 200,
    }
    assert "fault=connection_reset (after)" in entries[0].line()
    # The handler's own answer was checked, and its token is not in the journal.
    assert TUTORIAL_TOKEN not in json.dumps([e.as_dict() for e in entries])


def test_a_delay_alone_is_journaled_as_a_fault(fake: FakeVoipbin, waits: list[float]) -> None:
    fake.faults.add("GetAccesskeys", delay_ms=250)
    with fake.client() as c:
        assert c.get("/accesskeys", headers=AUTH).status_code == 200
    (entry,) = fake.journal.calls("GetAccesskeys")
    assert entry.fault is not None and entry.fault["delay_ms"] == 250
    assert "fault=delay" in entry.line()
    assert waits == [0.25]


def test_the_connection_after_a_fault_is_not_reused_and_the_next_call_works(
    fake: FakeVoipbin,
) -> None:
    with httpx.Client(base_url=fake.url, headers=AUTH) as c:
        assert c.get("/accesskeys").status_code == 200
        for kind in ("connection_reset", "empty_response", "truncated_body"):
            fake.faults.add("GetAccesskeys", kind=kind)
            with pytest.raises(httpx.TransportError):
                c.get("/accesskeys")
            assert c.get("/accesskeys").status_code == 200


# --- the control API ----------------------------------------------------------------


def test_the_control_api_takes_kind_and_when(fake: FakeVoipbin) -> None:
    root = fake.url.removesuffix("/v1.0")
    r = httpx.post(
        root + "/_fake/faults",
        json={"operation": CREATE, "kind": "connection_reset", "when": "before"},
    )
    assert r.status_code == 200
    assert (r.json()["kind"], r.json()["when"], r.json()["status"]) == (
        "connection_reset",
        "before",
        None,
    )
    before = key_count(fake)
    with pytest.raises(httpx.ReadError):
        httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert key_count(fake) == before
    r = httpx.post(root + "/_fake/faults", json={"operation": CREATE, "kind": "teapot"})
    assert r.status_code == 400
    assert "kind must be one of" in r.json()["error"]["message"]
    assert sorted(NETWORK_KINDS) == sorted(
        r.json()["error"]["message"].split("one of ", 1)[1].split(", ")
    )


def test_an_attached_fake_adds_network_faults(fake: FakeVoipbin) -> None:
    attached = FakeVoipbin.attach(fake.url)
    rule = attached.faults.add(CREATE, kind="empty_response")
    assert (rule.kind, rule.when) == ("empty_response", "after")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert [r.kind for r in attached.faults.rules()] == ["empty_response"]


# --- X-Fake-Fault ------------------------------------------------------------------------


def test_the_header_applies_to_that_request_alone(fake: FakeVoipbin) -> None:
    with httpx.Client(base_url=fake.url, headers=AUTH) as c:
        r = c.post("/accesskeys", json=NEW_KEY, headers={"X-Fake-Fault": "503"})
        assert r.status_code == 503 and r.json()["error"]["reason"] == "UNAVAILABLE"
        assert c.post("/accesskeys", json=NEW_KEY).status_code == 200
        with pytest.raises(httpx.ReadError):
            c.post("/accesskeys", json=NEW_KEY, headers={"X-Fake-Fault": "connection_reset"})
        r = c.get("/accesskeys", headers={"X-Fake-Fault": "proxy_502"})
        assert r.status_code == 502 and "x-request-id" not in r.headers
    with pytest.raises(ConnectionResetError):
        urllib_create(fake, {"X-Fake-Fault": "connection_reset; when=before"})
    assert fake.faults.rules() == []
    entries = fake.journal.calls(CREATE)
    assert [e.status for e in entries] == [503, 200, 0, 0]
    assert [e.fault["header"] for e in entries if e.fault] == [True, True, True]
    assert [e.fault["when"] for e in entries if e.fault] == ["before", "after", "before"]
    # The header itself is never journaled.
    assert all("x-fake-fault" not in e.headers for e in entries)


def test_the_header_takes_precedence_over_a_rule_and_leaves_it_unspent(
    fake: FakeVoipbin,
) -> None:
    fake.faults.add(CREATE, status=500)
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers={**AUTH, "X-Fake-Fault": "503"})
    assert r.status_code == 503
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert r.status_code == 500


def test_a_bad_header_value_is_a_400_in_the_envelope(fake: FakeVoipbin) -> None:
    before = key_count(fake)
    r = httpx.post(
        fake.url + "/accesskeys", json=NEW_KEY, headers={**AUTH, "X-Fake-Fault": "teapot"}
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["reason"] == "INVALID_FAULT_HEADER"
    assert "kind must be one of" in error["message"]
    assert key_count(fake) == before


def test_the_header_is_ignored_on_the_unmodelled_routes_and_the_control_api(
    fake: FakeVoipbin,
) -> None:
    r = httpx.get(fake.url + "/calls", headers={**AUTH, "X-Fake-Fault": "connection_reset"})
    assert r.status_code == 501
    root = fake.url.removesuffix("/v1.0")
    r = httpx.get(root + "/_fake/health", headers={"X-Fake-Fault": "connection_reset"})
    assert r.status_code == 200


def test_the_header_needs_the_control_token_when_the_server_has_one() -> None:
    with FakeVoipbin(now=NOW, control_token="s3cret-control") as fake:
        with fake.client() as c:
            plain = c.get("/accesskeys", headers={**AUTH, "X-Fake-Fault": "503"})
            wrong = c.get(
                "/accesskeys",
                headers={**AUTH, "X-Fake-Fault": "503", "X-Fake-Control-Token": "guess"},
            )
            right = c.get(
                "/accesskeys",
                headers={**AUTH, "X-Fake-Fault": "503", "X-Fake-Control-Token": "s3cret-control"},
            )
        assert (plain.status_code, wrong.status_code, right.status_code) == (200, 200, 503)


def test_the_header_is_not_among_the_cors_headers_a_browser_may_send(fake: FakeVoipbin) -> None:
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-fake-fault",
    }
    with fake.client() as c:
        r = c.options("/accesskeys", headers=preflight)
    allowed = r.headers["access-control-allow-headers"].lower().split(",")
    assert "authorization" in allowed and "x-fake-fault" not in allowed


def test_the_header_is_ignored_without_the_control_api() -> None:
    with FakeVoipbin(now=NOW, control=False) as fake, fake.client() as c:
        r = c.post("/accesskeys", json=NEW_KEY, headers={**AUTH, "X-Fake-Fault": "503"})
        assert r.status_code == 200
        r = c.get("/accesskeys", headers={**AUTH, "X-Fake-Fault": "connection_reset"})
        assert r.status_code == 200


def test_serve_honours_the_header_and_logs_nothing_for_the_faults() -> None:
    served = start("--now", NOW)
    try:
        url = served.url
        for kind, exc in (
            ("connection_reset", httpx.ReadError),
            ("empty_response", httpx.RemoteProtocolError),
            ("truncated_body", httpx.RemoteProtocolError),
        ):
            with pytest.raises(exc):
                httpx.post(
                    url + "/accesskeys", json=NEW_KEY, headers={**AUTH, "X-Fake-Fault": kind}
                )
        r = httpx.post(url + "/accesskeys", json=NEW_KEY, headers=AUTH)
        assert r.status_code == 200
    finally:
        rc, out = stop(served)
    assert rc == 0
    for word in ("Traceback", "ERROR", "Exception", "returned without"):
        assert word not in out, out


def test_serve_with_no_control_ignores_the_header() -> None:
    served = start("--now", NOW, "--no-control")
    try:
        r = httpx.post(
            served.url + "/accesskeys",
            json=NEW_KEY,
            headers={**AUTH, "X-Fake-Fault": "connection_reset"},
        )
        assert r.status_code == 200 and r.json()["token"].startswith("vb_")
        r = httpx.get(served.url + "/accesskeys", headers={**AUTH, "X-Fake-Fault": "503"})
        assert r.status_code == 200
    finally:
        rc, _out = stop(served)
    assert rc == 0


@pytest.mark.parametrize("parser", ["h11", "httptools"])
def test_both_of_uvicorns_parsers_end_connections_so(
    parser: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httptools where it is installed, else h11: the wire is the same with either."""
    chosen = wire.protocol(parser)
    assert (
        chosen.__name__ == {"h11": "WireH11Protocol", "httptools": "WireHttpToolsProtocol"}[parser]
    )
    monkeypatch.setattr(wire, "protocol", lambda parser="auto": chosen)
    with FakeVoipbin(now=NOW, port=0) as fake:
        for kind, exc in (
            ("connection_reset", httpx.ReadError),
            ("empty_response", httpx.RemoteProtocolError),
            ("truncated_body", httpx.RemoteProtocolError),
        ):
            fake.faults.add(CREATE, kind=kind)
            with pytest.raises(exc):
                httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
        got, end = raw_exchange(fake, "X-Fake-Fault: connection_reset\r\n")
        assert (got, end) == (b"", "rst")
        assert httpx.get(fake.url + "/accesskeys", headers=AUTH).status_code == 200


def test_two_fault_headers_are_refused_not_the_last_one_taken(fake: FakeVoipbin) -> None:
    before = key_count(fake)
    headers = [*AUTH.items(), ("X-Fake-Fault", "503"), ("X-Fake-Fault", "connection_reset")]
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=headers)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["reason"] == "INVALID_FAULT_HEADER"
    assert "X-Fake-Fault is given 2 times" in error["message"]
    assert key_count(fake) == before


def test_a_retry_after_past_a_day_is_refused_by_the_control_api_and_the_header(
    fake: FakeVoipbin,
) -> None:
    root = fake.url.removesuffix("/v1.0")
    rule = {"operation": CREATE, "status": 429, "retry_after": 10**29}
    r = httpx.post(root + "/_fake/faults", json=rule)
    assert r.status_code == 400
    assert "retry_after must be an integer from 0 to 86400" in r.json()["error"]["message"]
    assert httpx.get(root + "/_fake/faults").json()["faults"] == []
    headers = {**AUTH, "X-Fake-Fault": f"429; retry_after={10**29}"}
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == "INVALID_FAULT_HEADER"
    assert "Retry-After" not in r.headers
    # a day is the most, and is sent as it is
    r = httpx.post(root + "/_fake/faults", json={**rule, "retry_after": 86400})
    assert r.status_code in (200, 201)
    r = httpx.post(fake.url + "/accesskeys", json=NEW_KEY, headers=AUTH)
    assert (r.status_code, r.headers["retry-after"]) == (429, "86400")
