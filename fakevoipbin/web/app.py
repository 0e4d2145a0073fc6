"""The ASGI application: routing, request ids, CORS, faults, rate limits, auth,
validation, rendering and the journal.

The order of checks is production's: trailing-slash redirect (before anything),
route, per-IP rate limit, credentials, per-customer rate limit, frozen account,
query parameters, the id, the body's shape, then the operation's rules (see
``fakevoipbin.core.rules``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..core import errors, rules
from ..core.auth import AuthFailure, Credentials, identify, refuse_frozen
from ..core.faults import FAULT_KINDS, FaultRule
from ..core.ratelimit import Buckets
from ..core.state import State
from ..spec import Finding, Operation, Spec, default_spec, findings
from .deadlines import Deadlines
from .encoding import JSON_TYPE, encode_json, envelope
from .handlers import HANDLERS, Call, Reply
from .inputs import (
    BodyError,
    bind_object,
    parse_cookies,
    parse_go_int,
    parse_json_body,
    parse_query,
)
from .redact import redact_target
from .render import InvalidResponse, Renderer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1 << 20
#: How many distinct (path, query) pairs keep their parsed form before the cache empties.
TARGET_CACHE_SIZE = 4096
#: A body that has not fully arrived after this long is refused (408), so a client
#: that stalls cannot hold a request open for ever.
BODY_TIMEOUT_S = 30.0
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CORS_METHODS = b"POST,GET,PUT,DELETE,PATCH,HEAD,OPTIONS"
CORS_HEADERS = b"Origin,X-Requested-With,Content-Type,Accept,Authorization"

log = logging.getLogger("fakevoipbin")
access_log = logging.getLogger("fakevoipbin.access")


class Application:
    """The fake's ASGI app. ``response_validation`` is "strict" (a response that breaks
    the spec becomes a loud 500 naming the violation), "log", or "off"."""

    def __init__(
        self,
        state: State,
        spec: Spec | None = None,
        *,
        response_validation: str = "strict",
        access_log: bool = False,
        control: bool = True,
        control_token: str | None = None,
    ) -> None:
        """``control=False`` hides the control API (``/_fake/`` answers 404);
        ``control_token`` makes it require the header ``X-Fake-Control-Token``."""
        if response_validation not in ("strict", "log", "off"):
            raise ValueError("response_validation is strict, log or off")
        from .control import Control

        self.state = state
        self.spec = spec or default_spec()
        self.response_validation = response_validation
        self.access_log = access_log
        self.body_timeout_s = BODY_TIMEOUT_S
        self.deadlines = Deadlines()
        self._targets: dict[tuple[str, bytes], tuple[dict[str, list[str]], str]] = {}
        self.renderer = Renderer(self.spec, self._on_invalid_rendering)
        self.control = Control(self, token=control_token) if control else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    # --- the request pipeline -----------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        matched = self.spec.match(path)
        op = matched[0].get(method) if matched else None

        if op is None and len(path) > 1 and path.endswith("/"):
            redirect = await self._trailing_slash(scope, method, path, send)
            if redirect:
                return

        request_id = headers.get("x-request-id", "")
        if not request_id or not _REQUEST_ID.match(request_id):
            request_id = self.state.seeds.request_id()
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode("ascii"))]

        origin = headers.get("origin")
        if origin and not _same_origin(origin, headers.get("host", "")):
            extra.append((b"access-control-allow-origin", b"*"))
            if method == "OPTIONS":
                extra += [
                    (b"access-control-allow-methods", CORS_METHODS),
                    (b"access-control-allow-headers", CORS_HEADERS),
                    (b"access-control-max-age", b"43200"),
                ]
                self._record(scope, None, 204, request_id)
                await _send(send, _answer(204, b"", extra, None))
                return
            extra.append((b"access-control-expose-headers", b"Content-Length"))

        if op is None:
            if path.startswith("/_fake/") and self.control is not None:
                await self.control.handle(scope, receive, send, request_id, extra, headers)
                return
            if method == "GET" and path == "/openapi.yaml":
                body = self.spec.text.encode("utf-8")
                await _send(send, _answer(200, body, extra, b"application/yaml; charset=utf-8"))
                return
            reply = _error_reply(errors.ApiError(errors.ROUTE_NOT_FOUND))
            await _send(send, self._finish(scope, None, reply, request_id, extra))
            return

        state = self.state
        fault = state.faults.decide(op.operation_id)
        if fault is not None:
            if fault.delay_ms:
                await asyncio.sleep(fault.delay_ms / 1000)
            if fault.status is not None:
                reply = _fault_reply(fault)
                answer = self._finish(scope, op, reply, request_id, extra, fault=fault)
                await _send(send, answer)
                return

        call = Call(state, None, self.renderer)
        query = self._target(path, scope.get("query_string", b""))[0]
        auth_note = ""
        request_findings: list[Finding] = []
        try:
            if state.rate_limit:
                client_ip = str((scope.get("client") or ("-", 0))[0])
                limit = state.limiter.per_ip if op.secured else state.limiter.login_per_ip
                _take(limit, client_ip, state, "ip")
            if op.secured:
                try:
                    call.identity = identify(state, _credentials(query, headers))
                except AuthFailure as failure:
                    auth_note = f"refused: {failure.why}"
                    raise
                auth_note = call.identity.note
                if state.rate_limit:
                    _take(state.limiter.per_customer, call.identity.customer_id, state, "customer")
                refuse_frozen(state, call.identity)
            if op.parameters:
                self._bind_query(op, query, call, request_findings)
                self._bind_path(op, matched[1] if matched else {}, call, request_findings)
            if op.body_validator is not None:
                await self._bind_body(op, headers, receive, call, request_findings)
            reply = HANDLERS[op.operation_id](call)
        except errors.ApiError as exc:
            reply = _error_reply(exc)
        except InvalidResponse as exc:
            reply = _invalid_response_reply(exc.findings, request_id)
        except errors.LoginFailed:
            reply = Reply(400, None)
        except Exception:  # a bug in the fake: answer in the envelope, log the traceback
            log.exception("fakevoipbin failed on %s %s", method, redact_target(path, b""))
            reply = _error_reply(errors.ApiError(errors.INTERNAL))
        answer = self._finish(scope, op, reply, request_id, extra, auth_note, request_findings)
        await send(answer[0])  # not _send(): one coroutine less on the path most answers take
        await send(answer[1])

    def _target(self, path: str, raw_query: bytes) -> tuple[dict[str, list[str]], str]:
        """The parsed query (read-only) and the target as the journal shows it, with
        credentials redacted; cached, since clients repeat their requests."""
        found = self._targets.get((path, raw_query))
        if found is None:
            if len(self._targets) >= TARGET_CACHE_SIZE:
                self._targets.clear()
            found = (parse_query(raw_query), redact_target(path, raw_query))
            self._targets[(path, raw_query)] = found
        return found

    async def _trailing_slash(self, scope: Scope, method: str, path: str, send: Send) -> bool:
        """gin's RedirectTrailingSlash: 301 for GET, 307 otherwise; no request id, no CORS."""
        bare = self.spec.match(path[:-1])
        if not bare or method not in bare[0]:
            return False
        raw_path: bytes = scope.get("raw_path") or path.encode("utf-8")
        location = raw_path[:-1] if raw_path.endswith(b"/") else path[:-1].encode("utf-8")
        if scope.get("query_string"):
            location += b"?" + scope["query_string"]
        status = 301 if method == "GET" else 307
        self._record(scope, None, status, None)
        await _send(send, _answer(status, b"", [(b"location", location)], None))
        return True

    def _bind_query(
        self, op: Operation, query: dict[str, list[str]], call: Call, findings: list[Finding]
    ) -> None:
        for param in op.parameters.values():
            if param.location != "query" or param.name not in query:
                continue
            values = query[param.name]
            value: Any = values[0]
            problems: list[Finding] = []
            if len(values) > 1:
                problems.append(Finding(param.name, "repeated", f"{param.name} is repeated"))
            elif param.is_integer:
                value = parse_go_int(value)
                if value is None:
                    problems.append(Finding(param.name, "type", f"{param.name} must be an integer"))
            if not problems:
                problems = self.spec.check_param(param, value)
            if problems:
                findings.extend(problems)
                raise errors.ApiError(
                    errors.invalid_request_parameter(param.name),
                    [p.as_detail() for p in problems],
                )
            call.query[param.name] = value

    def _bind_path(
        self, op: Operation, params: dict[str, str], call: Call, findings: list[Finding]
    ) -> None:
        for name, value in params.items():
            param = op.parameters.get(name)
            problems = self.spec.check_param(param, value) if param else []
            if problems:
                findings.extend(problems)
                raise errors.ApiError(errors.INVALID_ID, [p.as_detail() for p in problems])
            call.path[name] = rules.parse_key_id(value) if name == "id" else value

    async def _bind_body(
        self,
        op: Operation,
        headers: dict[str, str],
        receive: Receive,
        call: Call,
        findings: list[Finding],
    ) -> None:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            raise _refuse_body(op, errors.REQUEST_BODY_TOO_LARGE, _TOO_LARGE, findings)
        try:
            raw = await self.deadlines.within(_read_body(receive), self.body_timeout_s)
        except asyncio.TimeoutError:
            raise _refuse_body(op, errors.REQUEST_TIMEOUT, _TOO_LATE, findings) from None
        if raw is None:
            raise _refuse_body(op, errors.REQUEST_BODY_TOO_LARGE, _TOO_LARGE, findings)
        try:
            bound = bind_object(parse_json_body(raw), op.body_fields)
        except BodyError as exc:
            bad = Finding("body", "json", f"the body is not valid JSON: {exc}")
            raise _refuse_body(op, errors.INVALID_JSON_BODY, bad, findings) from None
        if bound is None:
            raise _refuse_body(op, errors.INVALID_JSON_BODY, _NOT_OBJECT, findings)
        problems = self.spec.check_body(op, bound)
        call.body = bound
        if not problems:
            return
        findings.extend(problems)
        if not op.secured:  # login: every refusal is a bare 400
            raise errors.LoginFailed()
        shape = [p for p in problems if not p.is_rule]
        if shape:
            raise errors.ApiError(errors.INVALID_JSON_BODY, [p.as_detail() for p in shape])
        call.violations = [p.as_detail() for p in problems if p.is_rule]

    # --- answering ----------------------------------------------------------------

    def _finish(
        self,
        scope: Scope,
        op: Operation | None,
        reply: Reply,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
        auth_note: str = "",
        request_findings: list[Finding] | None = None,
        fault: FaultRule | None = None,
    ) -> tuple[Message, Message]:
        """The journal entry written, and the two ASGI messages of the answer."""
        if isinstance(reply.body, dict) and "error" in reply.body:
            reply.body["error"]["request_id"] = request_id
        response_findings: list[Finding] = []
        if reply.raw is not None:
            pass  # a rendering checked when it was made (web/render.py)
        elif self.response_validation != "off" and fault is None:
            response_findings = self._check_response(op, reply)
            if response_findings:
                log.error(
                    "response breaks openapi.yaml: %s %s -> %s: %s",
                    scope["method"],
                    redact_target(scope["path"], b""),
                    reply.status,
                    "; ".join(f.description for f in response_findings),
                )
                if self.response_validation == "strict":
                    reply = _invalid_response_reply(response_findings, request_id)
        body: bytes = b""
        content_type: bytes | None = None
        if reply.raw is not None:
            body, content_type = reply.raw, JSON_TYPE
        elif reply.body is not None:
            body, content_type = encode_json(reply.body), JSON_TYPE
        # Journal first: a client that has its answer finds the exchange written down.
        self._record(
            scope,
            op.operation_id if op else None,
            reply.status,
            request_id,
            auth_note,
            [f.as_detail() for f in request_findings] if request_findings else None,
            [f.as_detail() for f in response_findings] if response_findings else None,
            fault,
        )
        if reply.headers:
            extra.extend(reply.headers)
        return _answer(reply.status, body, extra, content_type)

    def _on_invalid_rendering(self, findings: list[Finding]) -> bool:
        """A rendering broke openapi.yaml: True to refuse it (strict), else log it."""
        if self.response_validation == "off":
            return False
        log.error("response breaks openapi.yaml: %s", "; ".join(f.description for f in findings))
        return self.response_validation == "strict"

    def _check_response(self, op: Operation | None, reply: Reply) -> list[Finding]:
        if op is not None:
            return self.spec.check_response(op, reply.status, reply.body)
        if reply.body is None:
            return []
        return findings(self.spec.schema_validator("Error"), reply.body)

    def _record(
        self,
        scope: Scope,
        operation_id: str | None,
        status: int,
        request_id: str | None,
        auth_note: str = "",
        request_findings: list[dict[str, Any]] | None = None,
        response_findings: list[dict[str, Any]] | None = None,
        fault: FaultRule | None = None,
    ) -> None:
        """Write the exchange to the journal (and the access log), credentials redacted."""
        method = scope["method"]
        target = self._target(scope["path"], scope.get("query_string", b""))[1]
        if self.access_log:
            client = scope.get("client") or ("-", 0)
            access_log.info('%s:%s "%s %s" %d', client[0], client[1], method, target, status)
        self.state.journal.record(
            self.state.clock.now_us(),
            method,
            target,
            operation_id,
            status,
            request_id,
            auth_note,
            request_findings,
            response_findings,
            None
            if fault is None
            else {
                "rule": fault.id,
                "injected": True,
                "status": fault.status,
                "delay_ms": fault.delay_ms,
            },
        )


def _take(buckets: Buckets, key: str, state: State, tier: str) -> None:
    wait = buckets.take(key, state.clock.now_us())
    if wait:
        raise errors.ApiError(
            errors.RATE_LIMIT_EXCEEDED, [{"limited_by": tier}], {"Retry-After": str(wait)}
        )


_TOO_LARGE = Finding("body", "maxBytes", "the body is over 1 MiB")
_TOO_LATE = Finding("body", "timeout", "the body did not arrive in time")
_NOT_OBJECT = Finding("body", "type", "the body must be a JSON object")


def _refuse_body(
    op: Operation, kind: errors.ErrorKind, finding: Finding, findings: list[Finding]
) -> Exception:
    """Why a body was refused, noted for the journal; login answers a bare 400."""
    findings.append(finding)
    if not op.secured:
        return errors.LoginFailed()
    return errors.ApiError(kind, [finding.as_detail()])


def _fault_reply(rule: FaultRule) -> Reply:
    assert rule.status is not None
    kind = FAULT_KINDS[rule.status]
    if rule.status == 429:
        return _error_reply(
            errors.ApiError(
                kind, [{"limited_by": rule.limited_by}], {"Retry-After": str(rule.retry_after)}
            )
        )
    return _error_reply(errors.ApiError(kind))


def _invalid_response_reply(findings: list[Finding], request_id: str) -> Reply:
    details = [
        {
            "field": f.field,
            "rule": f.rule,
            "description": "fakevoipbin sent an invalid response: " + f.description,
        }
        for f in findings
    ]
    reply = _error_reply(errors.ApiError(errors.INTERNAL, details))
    reply.body["error"]["request_id"] = request_id
    return reply


def _error_reply(exc: errors.ApiError) -> Reply:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    return Reply(exc.kind.http, envelope(exc.kind, "", exc.details), headers)


def _same_origin(origin: str, host: str) -> bool:
    return origin in (f"http://{host}", f"https://{host}")


def _credentials(query: dict[str, list[str]], headers: dict[str, str]) -> Credentials:
    cookies = parse_cookies(headers.get("cookie", ""))
    return Credentials(
        token_cookie=cookies.get("token"),
        token_query=query.get("token", _NO_VALUE)[0],
        authorization=headers.get("authorization"),
        accesskey_cookie=cookies.get("accesskey"),
        accesskey_query=query.get("accesskey", _NO_VALUE)[0],
    )


_NO_VALUE: list[str | None] = [None]


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None once it passes MAX_BODY (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _answer(
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    content_type: bytes | None,
) -> tuple[Message, Message]:
    """The answer's two ASGI messages; ``headers`` (the request's own list) gets
    content-type and content-length added."""
    if content_type is not None:
        headers.append((b"content-type", content_type))
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


async def _send(send: Send, answer: tuple[Message, Message]) -> None:
    await send(answer[0])
    await send(answer[1])


def build_app(state: State, spec: Spec | None = None, **kwargs: Any) -> Application:
    return Application(state, spec, **kwargs)
