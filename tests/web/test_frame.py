"""The one frame every answer leaves through (fakevoipbin/web/frame.py): the request
id, CORS, the error envelope, the journal entry and the send, the same for an
operation, a route the fake does not model, a path production does not serve, the
control API, the spec file and ``/ping``."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from fakevoipbin.assemble import build_app, build_state
from fakevoipbin.core import errors
from fakevoipbin.options import Options
from fakevoipbin.web.encoding import JSON_TYPE
from fakevoipbin.web.exchange import Message, Reply
from fakevoipbin.web.frame import error_reply, messages, send_reply
from fakevoipbin.web.transport import InProcessTransport

from ..conftest import NOW, TUTORIAL_TOKEN, Harness

GENERATED_ID = re.compile(r"^req_[A-Z2-7]{26}$")
FOREIGN_ORIGIN = "https://app.example.com"
CONTROL_TOKEN = "ctl-secret"
ALLOWED_HEADERS = "Origin,X-Requested-With,Content-Type,Accept,Authorization"

#: One of each kind of answer: (method, path from the root, what answers it).
KINDS = [
    ("GET", "/v1.0/accesskeys", "an operation"),
    ("GET", "/v1.0/calls", "an unmodelled route"),
    ("GET", "/nowhere", "no route"),
    ("GET", "/_fake/health", "the control API"),
    ("GET", "/_fake/nowhere", "the control API's 404"),
    ("GET", "/openapi.yaml", "the spec file"),
    ("GET", "/ping", "the health check"),
]


def _root(h: Harness) -> httpx.Client:
    return httpx.Client(transport=h.transport, base_url="http://testserver")


@pytest.mark.parametrize(("method", "path", "kind"), KINDS)
def test_every_kind_of_answer_carries_the_request_id_and_cors(
    fake: Harness, method: str, path: str, kind: str
) -> None:
    """The client's request id comes back on every kind of answer (and in its
    envelope, when it is an error); a foreign origin gets production's CORS headers."""
    with _root(fake) as c:
        r = c.request(
            method,
            path,
            params={"accesskey": TUTORIAL_TOKEN},
            headers={"X-Request-Id": "frame-1", "Origin": FOREIGN_ORIGIN},
        )
        assert r.headers["x-request-id"] == "frame-1", kind
        assert r.headers["access-control-allow-origin"] == "*", kind
        assert r.headers["access-control-expose-headers"] == "Content-Length", kind
        assert int(r.headers["content-length"]) == len(r.content), kind
        if r.status_code >= 400:
            assert r.headers["content-type"] == JSON_TYPE.decode(), kind
            assert r.json()["error"]["request_id"] == "frame-1", kind
        generated = c.request(method, path, params={"accesskey": TUTORIAL_TOKEN})
        assert GENERATED_ID.match(generated.headers["x-request-id"]), kind
        assert "access-control-allow-origin" not in generated.headers, kind


@pytest.mark.parametrize(("_method", "path", "kind"), KINDS)
def test_every_kind_of_route_answers_a_preflight_alike(
    fake: Harness, _method: str, path: str, kind: str
) -> None:
    """A cross-origin OPTIONS is 204 with production's preflight headers and, as Go's
    server sends a 204, no Content-Length and no body, whoever would have answered."""
    with _root(fake) as c:
        r = c.options(path, headers={"Origin": FOREIGN_ORIGIN, "X-Request-Id": "pre-1"})
    assert r.status_code == 204, kind
    assert r.content == b"", kind
    preflight = [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "POST,GET,PUT,DELETE,PATCH,HEAD,OPTIONS"),
        ("access-control-allow-headers", ALLOWED_HEADERS),
        ("access-control-max-age", "43200"),
    ]
    assert [(k, v) for k, v in r.headers.items() if k != "x-request-id"] == preflight, kind
    assert r.headers["x-request-id"] == "pre-1", kind


def test_the_control_tokens_refusal_is_in_the_frame() -> None:
    """Without the control token: 401 in the envelope, with the request id and CORS
    of every answer; a preflight needs no token."""
    options = Options(now=NOW, control_token=CONTROL_TOKEN)
    app = build_app(build_state(options), options)
    with httpx.Client(transport=InProcessTransport(app.asgi), base_url="http://testserver") as c:
        r = c.get("/_fake/health", headers={"Origin": FOREIGN_ORIGIN})
        assert r.status_code == 401
        assert r.json()["error"]["request_id"] == r.headers["x-request-id"]
        assert GENERATED_ID.match(r.headers["x-request-id"])
        assert r.headers["access-control-allow-origin"] == "*"
        assert c.options("/_fake/health", headers={"Origin": FOREIGN_ORIGIN}).status_code == 204
        ok = c.get("/_fake/health", headers={"X-Fake-Control-Token": CONTROL_TOKEN})
        assert ok.status_code == 200 and ok.json()["status"] == "ok"


def test_only_the_apis_answers_are_journaled(fake: Harness) -> None:
    """An operation, an unmodelled route and a 404 are written down; the control API,
    the spec file and /ping are not."""
    with _root(fake) as c:
        for method, path, _kind in KINDS:
            c.request(method, path, params={"accesskey": TUTORIAL_TOKEN})
    entries = fake.state.journal.entries()
    assert [(e.method, e.target.split("?")[0], e.status) for e in entries] == [
        ("GET", "/v1.0/accesskeys", 200),
        ("GET", "/v1.0/calls", 501),
        ("GET", "/nowhere", 404),
    ]
    assert all(GENERATED_ID.match(e.request_id or "") for e in entries)


# --- the pieces -------------------------------------------------------------------------


def test_messages_encode_the_body_after_the_requests_own_headers() -> None:
    own = [(b"x-request-id", b"r1")]
    start, body = messages(Reply(200, {"a": "<b>"}, [(b"retry-after", b"3")]), own)
    assert start == {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"x-request-id", b"r1"),
            (b"retry-after", b"3"),
            (b"content-type", JSON_TYPE),
            (b"content-length", b"21"),
        ],
    }
    assert body == {"type": "http.response.body", "body": b'{"a":"\\u003cb\\u003e"}'}


def test_raw_bytes_keep_their_own_type_and_an_empty_reply_has_none() -> None:
    start, body = messages(Reply(200, None, raw=b"a: 1\n", content_type=b"text/yaml"), [])
    assert start["headers"] == [(b"content-type", b"text/yaml"), (b"content-length", b"5")]
    assert body["body"] == b"a: 1\n"
    start, body = messages(Reply(400, None), [])
    assert start["headers"] == [(b"content-length", b"0")] and body["body"] == b""
    start, _body = messages(Reply(204, None), [(b"x-request-id", b"r")])
    assert start["headers"] == [(b"x-request-id", b"r")]


def test_error_reply_is_the_envelope_with_its_headers() -> None:
    exc = errors.ApiError(errors.RATE_LIMIT_EXCEEDED, [{"limited_by": "ip"}], {"Retry-After": "2"})
    reply = error_reply(exc, "req-9")
    assert reply.status == 429
    assert list(reply.headers) == [(b"retry-after", b"2")]
    assert reply.body == {
        "error": {
            "details": [{"limited_by": "ip"}],
            "message": errors.RATE_LIMIT_EXCEEDED.message,
            "reason": "RATE_LIMIT_EXCEEDED",
            "request_id": "req-9",
            "status": errors.RATE_LIMIT_EXCEEDED.status,
        }
    }
    assert error_reply(errors.ApiError(errors.ROUTE_NOT_FOUND)).body["error"]["request_id"] == ""


def test_send_reply_sends_the_two_messages() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(send_reply(send, Reply(200, {"ok": True})))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b'{"ok":true}'


# --- the API's request ids: the seed's and the API requests' alone ---------------------

#: The requests that are not the API's: none of them may draw an API request id.
SIDE_REQUESTS = [
    ("GET", "/_fake/health", None),
    ("GET", "/_fake/journal", None),
    ("GET", "/_fake/state", None),
    ("GET", "/_fake/clock", None),
    ("GET", "/_fake/openapi.yaml", None),
    ("POST", "/_fake/clock", {"freeze": "no"}),  # refused: 400
    ("GET", "/_fake/nowhere", None),
    ("GET", "/openapi.yaml", None),
    ("GET", "/ping", None),
]


def _api_request_ids(interleave: bool) -> list[str]:
    state = build_state(Options(seed=11, now=NOW))
    app = build_app(state, Options(seed=11, now=NOW))
    ids = []
    with httpx.Client(transport=InProcessTransport(app.asgi), base_url="http://t") as c:
        c.post("/_fake/reset")
        for _ in range(3):
            if interleave:
                for method, path, body in SIDE_REQUESTS:
                    r = c.request(method, path, json=body)
                    assert GENERATED_ID.match(r.headers["x-request-id"]), path
            r = c.get("/v1.0/accesskeys", params={"accesskey": TUTORIAL_TOKEN})
            assert r.status_code == 200
            ids.append(r.headers["x-request-id"])
            ids.append(c.get("/v1.0/nowhere").headers["x-request-id"])
    return ids


def test_control_calls_ping_and_the_spec_file_leave_the_api_request_ids_alone() -> None:
    """Same seed, same API requests: the same X-Request-Ids, whether or not control
    calls (a refused one too), /ping and the spec file came in between."""
    plain = _api_request_ids(interleave=False)
    assert all(GENERATED_ID.match(i) for i in plain)
    assert _api_request_ids(interleave=True) == plain
