"""Captured exchanges (a HAR's: ``core/har.Captured``) judged as the proxy judges a
live one: each is replayed through the proxy's own app (``ProxyApp``), the capture
standing in for the upstream. So ``fakevoipbin check`` checks the request against
openapi.yaml (``checks/request.py``), judges the answer by the rules one exchange can
show (``checks/exchange_rules.judge``), journals it and feeds ``--record`` exactly as
``fakevoipbin proxy`` does, with no second copy of those rules.

What is judged (``not_judged``): an exchange with the API, whose URL path is under
``/v1.0`` or ``/auth/`` on any host, with an answer. The rest is counted and listed
by why: not the API (another host's page, script or image), no answer (a request
the browser saw fail: status 0), the proxy's own answer (a fakevoipbin HAR's 502 or
504 in the upstream's place), a body the HAR does not hold or holds cut.

A capture redacted as fakevoipbin redacts (``"token": "[REDACTED]"`` in a create's
answer) cannot show the token: the replay gives the judge a stand-in of the right
format beside the same ``token_prefix`` (``stand_in_tokens``; a redacted
``webhook_secret`` the same), so the redaction is not taken for a malformed token;
the prefix is judged as captured, and a ``token`` field in any other answer is still
one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ..core.formats import TOKEN_PREFIX_RE, TOKEN_RE
from ..core.har import Captured
from ..core.journal import Journal
from ..core.profiles import Profile
from ..core.redact import REDACTED
from ..options import API_BASE_PATH
from ..spec import Spec
from .app import ProxyApp
from .upstream import Upstream

#: The paths of the API: ``/v1.0`` and what is under it, and ``/auth/`` (login).
API_PREFIXES = (API_BASE_PATH + "/", "/auth/")
#: Headers of a captured answer that describe how it crossed the wire, not its body
#: as the HAR holds it (HAR text is decoded).
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
#: What stands in for the end of a redacted token (the prefix is the captured one).
_STAND_IN_TAIL = "A" * 24
#: What stands in for a redacted webhook secret (32 characters of base64url).
_STAND_IN_SECRET = "A" * 32
#: Why an exchange was not judged, as ``check`` lists them.
NOT_THE_API = "not the API"
NO_ANSWER = "no answer"
PROXY_ANSWER = "the proxy's own answer"
NOT_CAPTURED = "a body the HAR does not hold, or holds cut"


def not_judged(c: Captured) -> str | None:
    """Why ``c`` is not judged, or None when it is."""
    path = urlsplit(c.url).path
    if not (path == API_BASE_PATH or path.startswith(API_PREFIXES)):
        return NOT_THE_API
    if c.status < 100:
        return NO_ANSWER
    if c.answered_by == "proxy":
        return PROXY_ANSWER
    if c.answer is None or c.cut:
        return NOT_CAPTURED
    return None


def stand_in_tokens(value: Any, depth: int = 0) -> Any:
    """``value`` with each ``"token": "[REDACTED]"`` beside a well-formed
    ``token_prefix`` given a token of the right format that starts with that prefix,
    and each ``"webhook_secret": "[REDACTED]"`` a secret of the right format."""
    if depth > 32:
        return value
    if isinstance(value, list):
        return [stand_in_tokens(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: stand_in_tokens(v, depth + 1) for k, v in value.items()}
    if out.get("webhook_secret") == REDACTED:
        out["webhook_secret"] = _STAND_IN_SECRET
    prefix = out.get("token_prefix")
    if (
        out.get("token") == REDACTED
        and isinstance(prefix, str)
        and TOKEN_PREFIX_RE.fullmatch(prefix)
    ):
        stand_in = prefix + _STAND_IN_TAIL
        if TOKEN_RE.fullmatch(stand_in):
            out["token"] = stand_in
    return out


def _answer_bytes(body: bytes) -> bytes:
    if REDACTED.encode() not in body:
        return body
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return body
    return json.dumps(stand_in_tokens(parsed)).encode("utf-8")


class _Capture(httpx.AsyncBaseTransport):
    """The upstream, played by the capture: it answers the exchange being replayed."""

    def __init__(self) -> None:
        self.current: Captured | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        c = self.current
        assert c is not None and c.answer is not None
        headers = [
            (name.encode("latin-1", "replace"), value.encode("utf-8"))
            for name, value in c.answer_headers
            if name.lower() not in _WIRE_HEADERS and not name.startswith(":")
        ]
        return httpx.Response(
            c.status, headers=headers, stream=httpx.ByteStream(_answer_bytes(c.answer))
        )


def _scope(c: Captured) -> dict[str, Any]:
    parts = urlsplit(c.url)
    headers = [
        (name.lower().encode("latin-1", "replace"), value.encode("utf-8"))
        for name, value in c.headers
        if not name.startswith(":")  # HTTP/2's pseudo-headers
    ]
    if not any(name == b"host" for name, _ in headers):
        headers.insert(0, (b"host", parts.netloc.encode("latin-1", "replace")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": parts.scheme,
        "method": c.method.upper(),
        "path": unquote(parts.path),
        "raw_path": parts.path.encode("latin-1", "replace"),
        "query_string": parts.query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": (parts.hostname or "", parts.port or 0),
    }


def replay(
    exchanges: list[Captured],
    spec: Spec,
    profile: Profile,
    journal: Journal,
    observe: Callable[[str | None, int, Any, int], None] | None = None,
) -> None:
    """Judge each exchange, in order, into ``journal`` (and ``observe``, the
    recording's), as the proxy judges one; ``not_judged`` says which to give it."""
    capture = _Capture()
    app = ProxyApp(
        Upstream.parse("http://capture.invalid" + API_BASE_PATH),
        spec,
        profile,
        journal,
        control=False,
        observe=observe,
        transport=capture,
    )

    async def run() -> None:
        for c in exchanges:
            capture.current = c
            await app(_scope(c), _receiver(c.body), _ignore)
        await app.aclose()

    asyncio.run(run())


def _receiver(body: bytes) -> Callable[[], Any]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _ignore(_message: MutableMapping[str, Any]) -> None:
    """The client's side of a replay: nobody reads the answer."""
