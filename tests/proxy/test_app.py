"""fakevoipbin proxy, in-process: a ProxySession in front of a fake upstream served
through a small ASGI middleware that records (and may alter) the upstream's answers,
so the tests see exactly the bytes the upstream sent."""

from __future__ import annotations

import gzip
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from fakevoipbin.core.clock import US, format_fixed, parse_instant
from fakevoipbin.options import Options
from fakevoipbin.proxy.session import ProxySession
from fakevoipbin.server import Server
from fakevoipbin.testing import FakeVoipbin
from fakevoipbin.web.control import CONTROL_UNAUTHENTICATED

from ..conftest import ADMIN_LOGIN, NOW, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

Headers = list[tuple[bytes, bytes]]
Edit = Callable[[dict[str, Any], int, Headers, bytes], tuple[int, Headers, bytes]]

#: Hop-by-hop headers (RFC 9110 §7.6.1), which a proxy may drop or add.
HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
#: A token-shaped value a drifting upstream puts where no token belongs.
PLANTED = "vb_PLANTEDtokenXYZ0123456789abcdEF"
KEY_ID_PATH = re.compile(r"^/v1\.0/accesskeys/[^/]+$")


@dataclass
class Seen:
    """One exchange at the upstream: the request as it arrived, the answer as sent."""

    method: str
    path: str
    query: bytes
    request_headers: Headers
    request_body: bytes
    status: int
    headers: Headers
    body: bytes


class Upstream:
    """A FakeVoipbin behind a middleware that records every exchange and passes each
    answer through ``edit`` (status, headers, body) before it is sent. Uvicorn adds no
    Date or Server header (own_headers=False): what ``seen`` holds is what was sent."""

    def __init__(self, profile: str = "docs", edit: Edit | None = None, **settings: Any):
        self.fake = FakeVoipbin(profile=profile, now=NOW, **settings)
        self.edit = edit
        self.seen: list[Seen] = []
        options = Options.for_face("python", port=0)
        self.server = Server(self, self.fake.state, options, own_headers=False)

    def start(self) -> Upstream:
        self.server.open().start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.root + "/v1.0"

    @property
    def accesskey(self) -> str:
        return self.fake.accesskey

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.fake.app.asgi
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body_in: list[bytes] = []

        async def receive_recorded() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                body_in.append(message.get("body", b""))
            return message

        out: list[dict[str, Any]] = []

        async def keep(message: Any) -> None:
            out.append(message)

        await app(scope, receive_recorded, keep)
        start = next(m for m in out if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
        status, headers = start["status"], list(start.get("headers", []))
        if self.edit is not None:
            status, headers, body = self.edit(scope, status, headers, body)
        self.seen.append(
            Seen(
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                list(scope["headers"]),
                b"".join(body_in),
                status,
                headers,
                body,
            )
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def with_length(headers: Headers, body: bytes) -> Headers:
    return [
        (k, str(len(body)).encode() if k.lower() == b"content-length" else v) for k, v in headers
    ]


def json_edit(change: Callable[[dict[str, Any], int, Any], Any]) -> Edit:
    """An edit that changes JSON answers: ``change(scope, status, parsed)`` returns the
    new value, or None to leave the answer alone."""

    def edit(scope: dict[str, Any], status: int, headers: Headers, body: bytes) -> Any:
        try:
            value = json.loads(body)
        except ValueError:
            return status, headers, body
        new = change(scope, status, value)
        if new is None:
            return status, headers, body
        data = json.dumps(new).encode()
        return status, with_length(headers, data), data

    return edit


def plant_token(scope: dict[str, Any], status: int, value: Any) -> Any:
    """GET /accesskeys/{id} answers with a token field (drift: token-only-on-create)."""
    if scope["method"] == "GET" and KEY_ID_PATH.match(scope["path"]) and status == 200:
        return {**value, "token": PLANTED}
    return None


def later_expiry(scope: dict[str, Any], status: int, value: Any) -> Any:
    """A create's tm_expire one hour later (drift: expire-arithmetic)."""
    if scope["method"] == "POST" and scope["path"] == "/v1.0/accesskeys" and status == 200:
        return {**value, "tm_expire": format_fixed(parse_instant(value["tm_expire"]) + 3600 * US)}
    return None


def drifting(scope: dict[str, Any], status: int, value: Any) -> Any:
    return plant_token(scope, status, value) or later_expiry(scope, status, value)


@pytest.fixture
def make_upstream() -> Iterator[Callable[..., Upstream]]:
    made: list[Upstream] = []

    def make(profile: str = "docs", edit: Edit | None = None, **settings: Any) -> Upstream:
        up = Upstream(profile, edit, **settings)
        made.append(up)
        return up.start()

    yield make
    for up in made:
        up.stop()


@contextmanager
def proxy_to(url: str, **settings: Any) -> Iterator[ProxySession]:
    settings.setdefault("profile", "docs")
    session = ProxySession(Options.for_face("proxy", upstream=url, port=0, **settings))
    session.server.open().start()
    try:
        yield session
    finally:
        session.server.stop()


def root_of(session: ProxySession) -> str:
    return session.server.root


def lower(headers: Headers) -> list[tuple[str, bytes]]:
    return [(k.decode("latin-1").lower(), v) for k, v in headers]


def end_to_end(headers: Headers) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v in lower(headers) if k not in HOP]


def assert_forwarded_unchanged(r: httpx.Response, seen: Seen) -> None:
    """The client's answer is the upstream's: status, body bytes, headers in order
    (less hop-by-hop)."""
    assert r.status_code == seen.status
    assert r.content == seen.body  # httpx does not decode: the fake sends no encoding
    assert end_to_end(r.headers.raw) == end_to_end(seen.headers)


def assert_request_unchanged(r: httpx.Response, seen: Seen, upstream_host: str) -> None:
    """The upstream got the client's headers, in order, less Host and hop-by-hop, and
    the upstream's own Host; and the body as sent."""
    sent = [(k, v) for k, v in end_to_end(r.request.headers.raw) if k != "host"]
    arrived = end_to_end(seen.request_headers)
    assert arrived[0] == ("host", upstream_host.encode())
    assert [(k, v) for k, v in arrived if k != "host"] == sent
    assert seen.request_body == r.request.content


# --- 1. CRUD through the proxy, byte for byte --------------------------------------


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_crud_through_the_proxy_is_byte_identical_and_drift_free(
    make_upstream: Callable[..., Upstream], profile: str
) -> None:
    up = make_upstream(profile)
    host = up.server.root.removeprefix("http://")
    extra = {"X-Client-Thing": "one, two", "User-Agent": "proxy-test/1.0"}
    with proxy_to(up.url, profile=profile) as session, httpx.Client(timeout=10) as c:
        base, key = session.url, {"accesskey": up.accesskey}

        def call(method: str, url: str, **kw: Any) -> tuple[httpx.Response, Seen]:
            before = len(up.seen)
            r = c.request(method, url, headers={**extra, **kw.pop("headers", {})}, **kw)
            assert len(up.seen) == before + 1, "one forwarded request per client request"
            seen = up.seen[-1]
            assert_forwarded_unchanged(r, seen)
            assert_request_unchanged(r, seen, host)
            return r, seen

        r, seen = call(
            "POST", base + "/accesskeys", params=key, json={"name": "ci", "expire": 86400}
        )
        assert r.status_code == 200 and seen.path == "/v1.0/accesskeys"
        assert seen.query == f"accesskey={up.accesskey}".encode()
        new_id = r.json()["id"]
        r, _ = call("GET", f"{base}/accesskeys/{new_id}", params=key)
        assert r.status_code == 200 and r.json()["id"] == new_id
        r, _ = call("GET", base + "/accesskeys", params={**key, "page_size": "2"})
        assert r.status_code == 200
        r, _ = call(
            "PUT", f"{base}/accesskeys/{new_id}", params=key, json={"name": "ci2", "detail": "d"}
        )
        assert r.status_code == 200 and r.json()["name"] == "ci2"
        r, _ = call("DELETE", f"{base}/accesskeys/{new_id}", params=key)
        assert r.status_code == 200
        r, _ = call("GET", base + "/customer", params=key)
        assert r.status_code == 200 and "webhook_secret" in r.json()
        r, seen = call("POST", root_of(session) + "/auth/login", json=ADMIN_LOGIN)
        assert r.status_code == 200 and seen.path == "/auth/login"  # the upstream's root
        jwt = r.json()["token"]
        r, seen = call("GET", base + "/customer", headers={"Authorization": f"Bearer {jwt}"})
        assert r.status_code == 200
        assert ("authorization", f"Bearer {jwt}".encode()) in lower(seen.request_headers)
        r, _ = call("GET", f"{base}/accesskeys/{TUTORIAL_KEY_ID}", params={"accesskey": "vb_x"})
        assert r.status_code == 401
        report = session.report.as_dict()
    assert report["drift_count"] == 0 and report["drift"] == [], report["drift"]
    assert report["upstream"] == up.url
    assert report["violation_count"] == 0
    assert report["requests"] == 9


def test_hop_by_hop_headers_are_not_forwarded(make_upstream: Callable[..., Upstream]) -> None:
    up = make_upstream()
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        r = c.get(
            session.url + "/customer",
            params={"accesskey": up.accesskey},
            headers={"Connection": "keep-alive, X-Drop-Me", "X-Drop-Me": "1", "TE": "trailers"},
        )
    assert r.status_code == 200
    names = [k for k, _ in lower(up.seen[-1].request_headers)]
    assert "x-drop-me" not in names and "te" not in names and "connection" not in names


# --- 2. drift, in-process ------------------------------------------------------------


def test_a_mismatched_profile_shows_next_page_token_drift(
    make_upstream: Callable[..., Upstream],
) -> None:
    up = make_upstream("docs")
    with proxy_to(up.url, profile="live") as session, httpx.Client(timeout=10) as c:
        r = c.get(session.url + "/accesskeys", params={"accesskey": up.accesskey})
        assert r.status_code == 200 and r.content == up.seen[-1].body
        report = session.report.as_dict()
    rules = {(d["operation"], d["rule"]) for d in report["drift"]}
    assert ("GetAccesskeys", "next-page-token") in rules, report["drift"]


def test_a_gzip_answer_is_forwarded_byte_identical_and_still_judged(
    make_upstream: Callable[..., Upstream],
) -> None:
    planted = json_edit(plant_token)

    def gzipped(scope: dict[str, Any], status: int, headers: Headers, body: bytes) -> Any:
        status, headers, body = planted(scope, status, headers, body)
        data = gzip.compress(body, mtime=0)
        return status, [*with_length(headers, data), (b"content-encoding", b"gzip")], data

    up = make_upstream(edit=gzipped)
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        r = c.get(f"{session.url}/accesskeys/{TUTORIAL_KEY_ID}", params={"accesskey": up.accesskey})
        seen = up.seen[-1]
        assert r.status_code == 200
        assert r.read() == gzip.decompress(seen.body)  # httpx decoded it ...
        assert end_to_end(r.headers.raw) == end_to_end(seen.headers)
        report = session.report.as_dict()
    rules = {(d["operation"], d["rule"]) for d in report["drift"]}
    assert ("GetAccesskeysId", "token-only-on-create") in rules, report["drift"]
    assert all(PLANTED not in json.dumps(d) for d in report["drift"])


def test_a_gzip_answer_reaches_the_client_as_the_same_bytes(
    make_upstream: Callable[..., Upstream],
) -> None:
    def gzipped(scope: dict[str, Any], status: int, headers: Headers, body: bytes) -> Any:
        data = gzip.compress(body, mtime=0)
        return status, [*with_length(headers, data), (b"content-encoding", b"gzip")], data

    up = make_upstream(edit=gzipped)
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        url = f"{session.url}/accesskeys/{TUTORIAL_KEY_ID}"
        with c.stream("GET", url, params={"accesskey": up.accesskey}) as r:
            raw = b"".join(r.iter_raw())
        assert raw == up.seen[-1].body
        assert r.headers["content-encoding"] == "gzip"
        assert session.report.as_dict()["drift_count"] == 0


# --- 7. smaller behaviours -------------------------------------------------------------


def test_retry_after_reaches_the_client_unchanged(make_upstream: Callable[..., Upstream]) -> None:
    up = make_upstream()
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        r = c.get(
            session.url + "/accesskeys",
            params={"accesskey": up.accesskey},
            headers={"X-Fake-Fault": "429; retry_after=7"},
        )
    seen = up.seen[-1]
    assert seen.status == 429 and dict(lower(seen.headers))["retry-after"] == b"7"
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.content == seen.body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_upstream_is_a_502_envelope_and_the_proxy_keeps_serving() -> None:
    with (
        proxy_to(f"http://127.0.0.1:{closed_port()}/v1.0") as session,
        httpx.Client(timeout=10) as c,
    ):
        for _ in range(2):
            r = c.get(session.url + "/customer", params={"accesskey": TUTORIAL_TOKEN})
            assert r.status_code == 502
            assert r.json()["error"]["reason"] == "UPSTREAM_UNREACHABLE"
        r = c.post(root_of(session) + "/auth/login", json=ADMIN_LOGIN)
        assert r.status_code == 502
        health = c.get(root_of(session) + "/_fake/health")
        assert health.status_code == 200
        entries = c.get(root_of(session) + "/_fake/journal").json()["entries"]
    assert [(e["status"], e["reason"]) for e in entries] == [(502, "UPSTREAM_UNREACHABLE")] * 3
    assert entries[0]["operation_id"] == "GetCustomer"
    assert TUTORIAL_TOKEN not in json.dumps(entries)
    assert "admin-password" not in json.dumps(entries)


def test_the_proxys_health_is_not_a_fakes(make_upstream: Callable[..., Upstream]) -> None:
    up = make_upstream()
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        health = c.get(root_of(session) + "/_fake/health").json()
    assert health["proxy"] == "fakevoipbin"
    assert "fake" not in health
    assert health["upstream"] == up.url
    assert up.seen == []  # the proxy's own, never forwarded


def test_the_journal_lists_exchanges_redacted_with_drift_and_clears(
    make_upstream: Callable[..., Upstream],
) -> None:
    up = make_upstream(edit=json_edit(plant_token))
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        root, key = root_of(session), up.accesskey
        c.get(session.url + "/customer", params={"accesskey": key})
        c.get(
            f"{session.url}/accesskeys/{TUTORIAL_KEY_ID}",
            headers={"Authorization": f"Bearer {key}"},
        )
        c.post(root + "/auth/login", json=ADMIN_LOGIN)
        c.post(session.url + "/accesskeys", params={"accesskey": key}, json={"name": "j"})
        journal = c.get(root + "/_fake/journal")
        assert journal.status_code == 200
        entries = journal.json()["entries"]
        assert [e["operation_id"] for e in entries] == [
            "GetCustomer",
            "GetAccesskeysId",
            "PostAuthLogin",
            "PostAccesskeys",
        ]
        assert all(isinstance(e["drift"], list) for e in entries)
        assert "token-only-on-create" in {d["rule"] for d in entries[1]["drift"]}
        assert entries[0]["drift"] == [] and entries[3]["drift"] == []
        text = journal.text
        for secret in (key, PLANTED, ADMIN_LOGIN["password"]):
            assert secret not in text
        assert "accesskey=[REDACTED]" in entries[0]["target"]
        assert entries[2]["json"]["password"] == "[REDACTED]"
        assert entries[0]["auth"].startswith("accesskey vb_")
        cleared = c.delete(root + "/_fake/journal")
        assert cleared.status_code == 200 and cleared.json() == {"cleared": 4}
        assert c.get(root + "/_fake/journal").json()["entries"] == []
        other = c.get(root + "/_fake/clock")
        assert other.status_code == 404
        assert other.json()["error"]["reason"] == "ROUTE_NOT_FOUND"
    assert all(not s.path.startswith("/_fake") for s in up.seen)


def test_the_control_token_guards_the_proxys_control_api(
    make_upstream: Callable[..., Upstream],
) -> None:
    up = make_upstream()
    with proxy_to(up.url, control_token="sesame") as session, httpx.Client(timeout=10) as c:
        root = root_of(session)
        for method, path in (("GET", "/_fake/health"), ("GET", "/_fake/journal")):
            r = c.request(method, root + path)
            assert r.status_code == 401
            # the fake's own control API's answer (web/control.py), word for word
            assert r.json()["error"]["reason"] == CONTROL_UNAUTHENTICATED.reason
            assert r.json()["error"]["message"] == CONTROL_UNAUTHENTICATED.message
            r = c.request(method, root + path, headers={"X-Fake-Control-Token": "wrong"})
            assert r.status_code == 401
            r = c.request(method, root + path, headers={"X-Fake-Control-Token": "sesame"})
            assert r.status_code == 200
        assert c.delete(root + "/_fake/journal").status_code == 401
        assert (
            c.delete(
                root + "/_fake/journal", headers={"X-Fake-Control-Token": "sesame"}
            ).status_code
            == 200
        )
    assert up.seen == []


def test_without_control_the_fake_path_is_forwarded(
    make_upstream: Callable[..., Upstream],
) -> None:
    up = make_upstream()
    with proxy_to(up.url, control=False) as session, httpx.Client(timeout=10) as c:
        r = c.get(root_of(session) + "/_fake/health")
    assert r.status_code == 200
    assert r.json().get("fake") == "fakevoipbin"
    assert "proxy" not in r.json()
    assert up.seen[-1].path == "/_fake/health"
    assert r.content == up.seen[-1].body


def test_a_request_that_breaks_the_spec_is_counted_and_still_forwarded(
    make_upstream: Callable[..., Upstream],
) -> None:
    up = make_upstream()
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        r = c.post(
            session.url + "/accesskeys", params={"accesskey": up.accesskey}, json={"expire": "x"}
        )
        seen = up.seen[-1]
        report = session.report.as_dict()
    assert seen.path == "/v1.0/accesskeys" and json.loads(seen.request_body) == {"expire": "x"}
    assert_forwarded_unchanged(r, seen)
    assert report["violation_count"] >= 1
    assert any(v["operation_id"] == "PostAccesskeys" for v in report["violations"])


def test_the_journal_names_the_credential_production_would_use_never_its_secret() -> None:
    from fakevoipbin.proxy.app import credential_label

    key = {"accesskey": [TUTORIAL_TOKEN]}
    assert credential_label(key, {}) == "accesskey vb_a3Bf9xKm"
    # production reads a token cookie before a query accesskey (core/auth.pick_credential)
    assert credential_label(key, {"cookie": "token=eyJx.y.z"}) == "jwt"
    assert credential_label({}, {"authorization": f"Bearer {TUTORIAL_TOKEN}"}) == (
        "accesskey vb_a3Bf9xKm (bearer)"
    )
    assert credential_label({}, {"cookie": f"accesskey={TUTORIAL_TOKEN}"}) == (
        "accesskey vb_a3Bf9xKm"
    )
    assert credential_label({"accesskey": ["hunter2-secret"]}, {}) == (
        "accesskey (not a vb_ token)"
    )
    assert credential_label({}, {}) == ""


def test_a_bug_in_the_checks_still_forwards_the_answer(
    make_upstream: Callable[..., Upstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    import fakevoipbin.proxy.app as proxy_app

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in a rule")

    monkeypatch.setattr(proxy_app, "judge", broken)
    up = make_upstream()
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        r = c.get(session.url + "/accesskeys", params={"accesskey": TUTORIAL_TOKEN})
        assert r.status_code == 200
        assert TUTORIAL_KEY_ID in r.text
        assert r.content == up.seen[-1].body


# --- the proxy's own answers: filed under their operation, marked as its own ----------


def test_an_unreachable_upstreams_502_is_counted_under_its_operation() -> None:
    with (
        proxy_to(f"http://127.0.0.1:{closed_port()}/v1.0") as session,
        httpx.Client(timeout=10) as c,
    ):
        r = c.get(session.url + "/accesskeys", params={"accesskey": TUTORIAL_TOKEN})
        assert r.status_code == 502
        r = c.get(session.url + "/calls", params={"accesskey": TUTORIAL_TOKEN})
        assert r.status_code == 502
        served = c.get(root_of(session) + "/_fake/journal").json()["entries"]
    (entry, unmodelled) = session.journal.entries()
    assert (entry.operation_id, entry.modelled, entry.status) == ("GetAccesskeys", True, 502)
    assert (entry.reason, entry.answered_by) == ("UPSTREAM_UNREACHABLE", "proxy")
    assert "the proxy's own answer" in entry.line()
    # a route openapi.yaml does not describe stays one, answered by the proxy all the same
    assert (unmodelled.operation_id, unmodelled.modelled) == ("GetCalls", False)
    assert unmodelled.answered_by == "proxy"
    assert [e["answered_by"] for e in served] == ["proxy", "proxy"]
    report = session.report
    assert report.statuses["GetAccesskeys"] == {502: 1}
    assert report.reasons["GetAccesskeys"] == {"UPSTREAM_UNREACHABLE": 1}
    assert [u["operation"] for u in report.unmodelled_routes()] == ["GetCalls"]


def test_an_answer_the_upstream_gave_is_marked_as_the_upstreams(
    make_upstream: Callable[..., Upstream],
) -> None:
    up = make_upstream()
    with proxy_to(up.url) as session, httpx.Client(timeout=10) as c:
        assert c.get(session.url + "/accesskeys", params={"accesskey": up.accesskey}).is_success
    (entry,) = session.journal.entries()
    assert entry.answered_by == "upstream"
    assert "the proxy's own answer" not in entry.line()


class HangingUpstream:
    """A socket that accepts a connection, reads the request, and never answers until
    the test is done (``release``): an upstream that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1.0"

    def _serve(self) -> None:
        conn, _addr = self.sock.accept()
        with conn:
            conn.recv(65536)
            self.got_request.set()
            self.release.wait(30)

    def close(self) -> None:
        self.release.set()
        self.thread.join(30)
        self.sock.close()


def test_a_hanging_upstream_is_a_504_after_the_upstream_timeout() -> None:
    hanging = HangingUpstream()
    try:
        with (
            proxy_to(hanging.url, upstream_timeout=0.2) as session,
            httpx.Client(timeout=30) as c,
        ):
            assert session.app.timeout.read == 0.2
            r = c.get(session.url + "/accesskeys", params={"accesskey": TUTORIAL_TOKEN})
            assert hanging.got_request.is_set()
            assert r.status_code == 504
            assert r.json()["error"]["reason"] == "UPSTREAM_TIMEOUT"
        (entry,) = session.journal.entries()
        assert (entry.operation_id, entry.modelled, entry.status) == ("GetAccesskeys", True, 504)
        assert entry.answered_by == "proxy"
        assert session.report.statuses["GetAccesskeys"] == {504: 1}
        assert session.report.unmodelled_routes() == []
    finally:
        hanging.close()


def test_the_upstream_timeout_defaults_to_sixty_seconds() -> None:
    with proxy_to(f"http://127.0.0.1:{closed_port()}/v1.0") as session:
        assert session.app.timeout.read == 60.0
        assert session.app.timeout.connect == 10.0
