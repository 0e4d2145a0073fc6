"""The proxy's ASGI app: forward each request to the upstream, return its answer
unchanged, and check both sides on the way.

One request, top to bottom:

    control    ``/_fake/health`` and ``/_fake/journal`` are the proxy's own (while
               the control API is on); the rest of ``/_fake/`` is a 404
    read       the client's body, whole (over ``MAX_REQUEST_BODY``: a 413 here)
    forward    method, path, query, body and headers as sent, less the hop-by-hop
               headers and with the upstream's Host, over one HTTP/1.1 pool (httpx)
    check      the client's request against openapi.yaml
               (``checks/request.request_findings``, as the fake's pipeline checks it),
               the upstream's answer against openapi.yaml and the rules one
               exchange can show (``checks/exchange_rules.judge``): its drift
    journal    the exchange, credentials redacted, with the drift; the recording
    answer     the upstream's status, headers (less hop-by-hop) and body bytes

An upstream that cannot be reached is a 502 in the API's envelope (504 when it did
not answer within ``--upstream-timeout`` seconds), reason ``UPSTREAM_UNREACHABLE`` or
``UPSTREAM_TIMEOUT``: the proxy's own, never production's. The journal files such an
answer under the operation asked for, as any other (``modelled`` as openapi.yaml
describes it), with ``answered_by: "proxy"``; an answer the upstream gave has
``answered_by: "upstream"``. The proxy's own answers (those, its 413 and its
control API's) leave through the fake's frame (``web/frame.error_reply`` and
``send_reply``), with no request id: the proxy makes none of its own.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import httpx
from starlette.routing import Match

from ..about import __version__
from ..checks.exchange_rules import judge
from ..checks.inputs import parse_query
from ..checks.request import read_credentials, request_findings
from ..core.auth import pick_credential
from ..core.errors import REQUEST_BODY_TOO_LARGE, ROUTE_NOT_FOUND, ApiError, ErrorKind
from ..core.formats import TOKEN_LEAD, TOKEN_PREFIX_RE, token_prefix
from ..core.journal import KEPT_HEADERS, Journal
from ..core.profiles import Profile
from ..core.redact import redact_target
from ..core.routetable import default_table
from ..spec import Finding, Operation, Spec
from ..web.bodies import BodyGone, read_all
from ..web.control import (
    CONTROL_UNAUTHENTICATED,
    ControlError,
    control_token_ok,
    journal_answer,
)
from ..web.exchange import Receive, Reply, Scope, Send
from ..web.frame import error_reply, log_access, send_reply
from ..web.routing import ExactRoute
from .upstream import Upstream

#: Headers that belong to one connection, not to the message (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
#: The most of a request body the proxy takes (production's own limit is 1 MiB; a
#: larger body is forwarded, so the upstream answers it).
MAX_REQUEST_BODY = 16 << 20
#: How long the upstream has to answer (each read, in seconds) unless told
#: (``--upstream-timeout``); a connection is given at most ``CONNECT_TIMEOUT`` of it.
DEFAULT_UPSTREAM_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
#: One pool to the upstream, HTTP/1.1.
UPSTREAM_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)

UPSTREAM_UNREACHABLE = ErrorKind(
    502, "UNAVAILABLE", "UPSTREAM_UNREACHABLE", "fakevoipbin proxy could not reach the upstream."
)
UPSTREAM_TIMEOUT_ERROR = ErrorKind(
    504, "UNAVAILABLE", "UPSTREAM_TIMEOUT", "The upstream did not answer fakevoipbin proxy in time."
)
log = logging.getLogger("fakevoipbin.proxy")
#: httpx logs each request's URL at INFO, a credential in its query included, and
#: httpcore its traffic at DEBUG: neither may reach the proxy's log.
QUIET_LOGGERS = ("httpx", "httpcore")

Observer = Callable[[str | None, int, Any, int], None]


class Operations:
    """Which operation of openapi.yaml a method and path ask for, matched as the fake's
    router matches them (``web/routing.ExactRoute``)."""

    def __init__(self, spec: Spec) -> None:
        async def unused(_scope: Scope, _receive: Receive, _send: Send) -> None:
            raise NotImplementedError

        self._routes = [
            (ExactRoute(op.path, unused, op.method), op) for op in spec.operations.values()
        ]

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, Any]]:
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        for route, op in self._routes:
            matched, child = route.matches(scope)
            if matched is Match.FULL:
                return op, dict(child.get("path_params") or {})
        return None, {}


def credential_label(query: dict[str, list[str]], headers: dict[str, str]) -> str:
    """Which credential the request carried, taken in production's order
    (``core/auth.pick_credential``), never the secret: ``accesskey vb_…`` by its
    prefix, ``jwt`` for a JWT, ``""`` for none."""
    picked = pick_credential(read_credentials(query, headers))
    if picked is None:
        return ""
    kind, source, value = picked
    if kind == "accesskey":
        return "accesskey " + _prefix(value)
    if source == "bearer" and value.startswith(TOKEN_LEAD):  # docs takes a key as a Bearer
        return f"accesskey {_prefix(value)} (bearer)"
    return "jwt"


def _prefix(key: str) -> str:
    """An access key's token_prefix, or ``(not a vb_ token)``: never more of it."""
    prefix = token_prefix(key)
    return prefix if TOKEN_PREFIX_RE.fullmatch(prefix) else "(not a vb_ token)"


class ProxyApp:
    """The proxy over one upstream: its journal, the profile it judges by, and an
    ``observe`` callback (``--record``) fed each answer's operation, status, parsed
    body and time."""

    def __init__(
        self,
        upstream: Upstream,
        spec: Spec,
        profile: Profile,
        journal: Journal,
        *,
        control: bool = True,
        control_token: str | None = None,
        access_log: bool = False,
        observe: Observer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_UPSTREAM_TIMEOUT,
    ) -> None:
        self.upstream = upstream
        self.spec = spec
        self.profile = profile
        self.journal = journal
        self.control = control
        self.control_token = control_token
        self.access_log = access_log
        self.observe = observe
        self.operations = Operations(spec)
        self.routes = default_table()
        self._transport = transport
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        self._client: httpx.AsyncClient | None = None
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)

    # --- the upstream's pool ----------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        """The one pool to the upstream, made in the server's event loop on first use.
        No cookie jar (a client's cookies are its own) and no redirects followed."""
        if self._client is None:
            client = httpx.AsyncClient(
                timeout=self.timeout,
                limits=UPSTREAM_LIMITS,
                follow_redirects=False,
                transport=self._transport,
            )
            client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            self._client = client
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if self.control and (path == "/_fake" or path.startswith("/_fake/")):
            await self._control(scope, receive, send)
            return
        await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw_query: bytes = scope.get("query_string", b"")
        try:
            raw = await read_all(receive, MAX_REQUEST_BODY)
        except BodyGone:
            return  # nothing to forward, nobody to answer
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if raw is None:
            await self._refuse(scope, send, headers, b"", REQUEST_BODY_TOO_LARGE, reason="")
            return
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        url = self.upstream.url_for(raw_path.decode("latin-1"), raw_query.decode("latin-1"))
        out = _request_headers(scope, self.upstream.host)
        request = httpx.Request(method, url, headers=out, content=raw)
        try:
            response = await self.client().send(request, stream=True)
            try:
                body = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            await self._refuse(scope, send, headers, raw, UPSTREAM_TIMEOUT_ERROR)
            return
        except httpx.HTTPError as exc:
            log.warning(
                "fakevoipbin proxy: %s %s: %s", method, self.upstream.url, type(exc).__name__
            )
            await self._refuse(scope, send, headers, raw, UPSTREAM_UNREACHABLE)
            return
        status = response.status_code
        out_headers = _response_headers(response.headers.raw)
        try:
            self._check(scope, headers, raw, raw_query, status, response.headers, body)
        except Exception:  # a bug in the checks must not cost the client its answer
            where = redact_target(scope["path"], b"")
            log.exception("fakevoipbin proxy failed to check %s %s", method, where)
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": body})

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        headers: dict[str, str],
        raw: bytes,
        kind: ErrorKind,
        *,
        reason: str | None = None,
    ) -> None:
        """Answer in the upstream's place (it cannot be reached, it did not answer in
        time, or the body is over the proxy's limit), journaled under the operation
        asked for, with ``answered_by: "proxy"``."""
        op_id, modelled = self._operation_of(scope["method"], scope["path"])
        self._journal(
            scope,
            headers,
            raw,
            kind.http,
            op_id,
            [],
            [],
            kind.reason if reason is None else reason,
            modelled=modelled,
            answered_by="proxy",
        )
        await send_reply(send, error_reply(ApiError(kind)))

    def _operation_of(self, method: str, path: str) -> tuple[str | None, bool]:
        """The operation a request asks for and whether openapi.yaml describes it: an
        operation of openapi.yaml, else a route production serves, else none."""
        op, _params = self.operations.match(method, path)
        if op is not None:
            return op.operation_id, True
        route = self.routes.lookup(method, path)
        return (route.operation if route is not None else None), False

    # --- checking ---------------------------------------------------------------------

    def _check(
        self,
        scope: Scope,
        headers: dict[str, str],
        raw: bytes,
        raw_query: bytes,
        status: int,
        answer_headers: httpx.Headers,
        body: bytes,
    ) -> None:
        method: str = scope["method"]
        op, path_params = self.operations.match(method, scope["path"])
        query = parse_query(raw_query)
        found: list[Finding] = []
        request_json: Any = None
        if op is not None:
            found, request_json = request_findings(self.spec, op, path_params, query, raw)
        answer, is_json, judged = _answer_json(answer_headers, body)
        drift = (
            judge(
                self.spec,
                self.profile,
                op,
                status,
                answer,
                is_json=is_json,
                request_body=request_json,
                query=query,
            )
            if judged
            else []
        )
        op_id = op.operation_id if op is not None else self._operation_of(method, scope["path"])[0]
        reason = None
        if status >= 400 and isinstance(answer, dict) and isinstance(answer.get("error"), dict):
            found_reason = answer["error"].get("reason")
            reason = found_reason if isinstance(found_reason, str) else None
        request_id = answer_headers.get("x-request-id")
        self._journal(
            scope,
            headers,
            raw,
            status,
            op_id,
            found,
            [d.as_dict() for d in drift],
            reason,
            modelled=op is not None,
            request_id=request_id,
            query=query,
            answered_by="upstream",
            answer=(body, tuple(answer_headers.raw)),
        )
        if self.observe is not None and op is not None:
            self.observe(op.operation_id, status, answer, _now_us())

    def _journal(
        self,
        scope: Scope,
        headers: dict[str, str],
        raw: bytes,
        status: int,
        op_id: str | None,
        found: list[Finding],
        drift: list[dict[str, Any]],
        reason: str | None,
        *,
        modelled: bool = False,
        request_id: str | None = None,
        query: dict[str, list[str]] | None = None,
        answered_by: str | None = None,
        answer: tuple[bytes, tuple[tuple[bytes, bytes], ...]] = (b"", ()),
    ) -> None:
        method: str = scope["method"]
        target = redact_target(scope["path"], scope.get("query_string", b""))
        if self.access_log:
            log_access(scope, target, status)
        self.journal.record(
            time_us=_now_us(),
            method=method,
            target=target,
            operation_id=op_id,
            modelled=modelled,
            status=status,
            request_id=request_id,
            auth=credential_label(
                parse_query(scope.get("query_string", b"")) if query is None else query, headers
            ),
            request_violations=[f.as_detail() for f in found] or None,
            reason=reason,
            body=raw,
            headers=tuple((name, headers[name]) for name in KEPT_HEADERS if name in headers),
            drift=drift or None,
            answered_by=answered_by,
            answer=answer[0],
            answer_headers=answer[1],
        )

    # --- the proxy's own control API --------------------------------------------------

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await read_all(receive, MAX_REQUEST_BODY)
        except BodyGone:
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not control_token_ok(headers, self.control_token):
            await send_reply(send, error_reply(ApiError(CONTROL_UNAUTHENTICATED)))
            return
        route = (scope["method"], scope["path"])
        if route == ("GET", "/_fake/health"):
            body: Any = {
                "status": "ok",
                "proxy": "fakevoipbin",
                "version": __version__,
                "upstream": self.upstream.url,
                "profile": self.profile.name,
            }
        elif route == ("GET", "/_fake/journal"):
            try:
                body = journal_answer(self.journal, scope)
            except ControlError as exc:
                await send_reply(send, error_reply(exc.as_api_error()))
                return
        elif route == ("DELETE", "/_fake/journal"):
            count = len(self.journal)
            self.journal.clear()
            body = {"cleared": count}
        else:
            await send_reply(send, error_reply(ApiError(ROUTE_NOT_FOUND)))
            return
        await send_reply(send, Reply(200, body))


def _now_us() -> int:
    return time.time_ns() // 1000


def _connection_named(raw: list[tuple[bytes, bytes]]) -> set[bytes]:
    """The headers a Connection header names, which are hop-by-hop too."""
    named: set[bytes] = set()
    for name, value in raw:
        if name.lower() == b"connection":
            named |= {part.strip().lower() for part in value.split(b",")}
    return named


def _request_headers(scope: Scope, host: str) -> list[tuple[bytes, bytes]]:
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    drop = HOP_BY_HOP | _connection_named(raw) | {b"host"}
    kept = [(k, v) for k, v in raw if k.lower() not in drop]
    return [(b"host", host.encode("latin-1")), *kept]


def _response_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    drop = HOP_BY_HOP | _connection_named(raw)
    return [(k.lower(), v) for k, v in raw if k.lower() not in drop]


def _answer_json(headers: httpx.Headers, body: bytes) -> tuple[Any, bool, bool]:
    """The answer's JSON, whether it is JSON, and whether it could be judged at all (a
    body in an encoding the proxy does not read, e.g. br, is not)."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if body and encoding in ("gzip", "x-gzip", "deflate"):
        try:
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS if "gzip" in encoding else 0)
        except zlib.error:
            return None, False, True
    elif body and encoding != "identity":
        return None, True, False
    if not body:
        return None, True, True
    try:
        return json.loads(body), True, True
    except (ValueError, RecursionError):
        return None, False, True
