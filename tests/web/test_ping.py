"""``GET /ping``, production's health check (bin-api-manager's ``service.GetPing``):
200 ``{"message":"pong"}`` in both profiles, with no rate limit and no
authentication, after production's global middleware (request id, CORS); other
methods are no route, as gin routes them; not journaled. In-process and through
``fakevoipbin serve`` on a real socket."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from ..conftest import FROZEN_TOKEN, TUTORIAL_TOKEN, Harness
from ..test_server import Served, start, stop

PONG = b'{"message":"pong"}'
GENERATED_ID = re.compile(r"^req_[A-Z2-7]{26}$")
FOREIGN_ORIGIN = "https://app.example.com"


def test_ping_answers_pong(fake: Harness) -> None:
    r = fake.client(None, root=True).get("/ping")
    assert r.status_code == 200
    assert r.content == PONG
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["content-length"] == str(len(PONG))
    assert GENERATED_ID.match(r.headers["x-request-id"])
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    "credential",
    [
        {"params": {"accesskey": "vb_" + "x" * 32}},  # a key that names nobody
        {"params": {"accesskey": FROZEN_TOKEN}},  # a frozen customer's key
        {"headers": {"Authorization": "Bearer not.a.jwt"}},
        {"params": {"accesskey": TUTORIAL_TOKEN}},
    ],
)
def test_ping_reads_no_credential(fake: Harness, credential: dict[str, dict[str, str]]) -> None:
    r = fake.client(None, root=True).get("/ping", **credential)  # type: ignore[arg-type]
    assert (r.status_code, r.content) == (200, PONG)


def test_ping_echoes_the_clients_request_id_and_answers_cors(fake: Harness) -> None:
    c = fake.client(None, root=True)
    r = c.get("/ping", headers={"X-Request-Id": "health-42", "Origin": FOREIGN_ORIGIN})
    assert (r.status_code, r.content) == (200, PONG)
    assert r.headers["x-request-id"] == "health-42"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-expose-headers"] == "Content-Length"
    preflight = c.options("/ping", headers={"Origin": FOREIGN_ORIGIN})
    assert preflight.status_code == 204 and preflight.content == b""
    assert preflight.headers["access-control-max-age"] == "43200"


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_ping_is_get_only_as_gin_routes_it(fake: Harness, method: str) -> None:
    """gin maps no HEAD to a GET route, and answers any other method with NoRoute's
    404 (HandleMethodNotAllowed is off)."""
    r = fake.client(None, root=True).request(method, "/ping")
    assert r.status_code == 404
    assert GENERATED_ID.match(r.headers["x-request-id"])
    if method != "HEAD":
        assert r.json()["error"]["reason"] == "ROUTE_NOT_FOUND"


def test_ping_is_not_journaled(fake: Harness) -> None:
    """The journal is written before an answer is sent: once the pings are answered,
    a ping would be there; the call after them is the only entry."""
    c = fake.client(None, root=True)
    for _ in range(3):
        assert c.get("/ping").status_code == 200
    assert fake.client().get("/accesskeys").status_code == 200
    entries = fake.state.journal.entries()
    assert [(e.method, e.operation_id) for e in entries] == [("GET", "GetAccesskeys")]


def test_ping_is_not_rate_limited(make_fake: Any) -> None:
    """More pings than the per-IP burst (400), all answered; the v1 group's bucket is
    untouched by them."""
    fake: Harness = make_fake(profile="live")
    fake.state.rate_limit = True
    c = fake.client(None, root=True)
    assert {c.get("/ping").status_code for _ in range(450)} == {200}
    assert fake.client().get("/accesskeys").status_code == 200


# --- through a real server --------------------------------------------------------------


@pytest.fixture(params=["docs", "live"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    s = start("--profile", request.param)
    yield s
    if s.proc.poll() is None:
        stop(s)


def _raw(
    served: Served, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection, headers as the server wrote them."""
    where = urlsplit(served.url)
    conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_a_served_fake_answers_ping_in_both_profiles(served: Served) -> None:
    status, headers, body = _raw(served, "GET", "/ping")
    assert (status, body) == (200, PONG)
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["content-length"] == str(len(PONG))
    assert GENERATED_ID.match(headers["x-request-id"])
    status, headers, body = _raw(served, "OPTIONS", "/ping", {"Origin": FOREIGN_ORIGIN})
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == "*"
    assert "content-length" not in headers and "transfer-encoding" not in headers
    status, headers, body = _raw(served, "HEAD", "/ping")
    assert status == 404 and body == b""
    status, _headers, body = _raw(served, "POST", "/ping")
    assert status == 404 and json.loads(body)["error"]["reason"] == "ROUTE_NOT_FOUND"
    status, _headers, body = _raw(served, "GET", "/_fake/journal")
    assert status == 200
    entries = json.loads(body)["entries"]
    assert [(e["method"], e["target"], e["status"]) for e in entries] == [
        ("OPTIONS", "/ping", 204),  # a preflight no route takes, as any path's
        ("HEAD", "/ping", 404),
        ("POST", "/ping", 404),
    ]
