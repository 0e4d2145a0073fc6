"""The ASGI application: routing, request ids, CORS, auth, validation, rendering.

The order of checks is production's: trailing-slash redirect (before anything),
route, credentials, frozen account, query parameters, the id, the body's shape,
then the operation's rules (see ``fakevoipbin.core.rules``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..core import errors, rules
from ..core.auth import AuthFailure, Credentials, authenticate
from ..core.state import State
from ..spec import Finding, Operation, Spec, default_spec
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

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1 << 20
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CORS_METHODS = b"POST,GET,PUT,DELETE,PATCH,HEAD,OPTIONS"
CORS_HEADERS = b"Origin,X-Requested-With,Content-Type,Accept,Authorization"

log = logging.getLogger("fakevoipbin")
access_log = logging.getLogger("fakevoipbin.access")


class ResponseInvalid(AssertionError):
    """A response the fake was about to send breaks openapi.yaml: a bug in the fake."""


@dataclass
class Exchange:
    """One request and its answer, credentials redacted; what the journal keeps."""

    method: str
    target: str
    operation_id: str | None
    status: int
    request_id: str | None
    auth: str = ""
    request_findings: list[dict[str, Any]] = field(default_factory=list)
    response_findings: list[dict[str, Any]] = field(default_factory=list)
    time_us: int = 0


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
    ) -> None:
        if response_validation not in ("strict", "log", "off"):
            raise ValueError("response_validation is strict, log or off")
        self.state = state
        self.spec = spec or default_spec()
        self.response_validation = response_validation
        self.access_log = access_log
        self.observers: list[Callable[[Exchange], None]] = []

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
        if not _REQUEST_ID.match(request_id):
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
                await _send(send, 204, b"", extra, None)
                self._record(scope, method, None, 204, request_id, "", [], [])
                return
            extra.append((b"access-control-expose-headers", b"Content-Length"))

        if op is None:
            if method == "GET" and path == "/openapi.yaml":
                body = self.spec.text.encode("utf-8")
                await _send(send, 200, body, extra, b"application/yaml; charset=utf-8")
                return
            reply = _error_reply(errors.ApiError(errors.ROUTE_NOT_FOUND))
            await self._finish(scope, send, None, reply, request_id, extra, "", [])
            return

        call = Call(self.state, None)
        auth_note = ""
        request_findings: list[Finding] = []
        try:
            if op.secured:
                try:
                    call.identity = authenticate(self.state, _credentials(scope, headers))
                except AuthFailure as failure:
                    auth_note = f"refused: {failure.why}"
                    raise
                auth_note = f"{call.identity.kind} {call.identity.label}".strip()
            self._bind_query(op, scope, call, request_findings)
            self._bind_path(op, matched[1] if matched else {}, call, request_findings)
            if op.body_validator is not None:
                await self._bind_body(op, scope, headers, receive, call, request_findings)
            reply = HANDLERS[op.operation_id](call)
        except errors.ApiError as exc:
            reply = _error_reply(exc)
        except errors.LoginFailed:
            reply = Reply(400, None)
        except Exception:  # a bug in the fake: answer in the envelope, log the traceback
            log.exception("fakevoipbin failed on %s %s", method, path)
            reply = _error_reply(errors.ApiError(errors.INTERNAL))
        await self._finish(scope, send, op, reply, request_id, extra, auth_note, request_findings)

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
        await _send(send, status, b"", [(b"location", location)], None)
        self._record(scope, method, None, status, None, "", [], [])
        return True

    def _bind_query(self, op: Operation, scope: Scope, call: Call, findings: list[Finding]) -> None:
        query = parse_query(scope.get("query_string", b""))
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
        scope: Scope,
        headers: dict[str, str],
        receive: Receive,
        call: Call,
        findings: list[Finding],
    ) -> None:
        is_login = not op.secured
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            findings.append(Finding("body", "maxBytes", "the body is over 1 MiB"))
            raise errors.ApiError(errors.REQUEST_BODY_TOO_LARGE, [findings[-1].as_detail()])
        raw = await _read_body(receive)
        if raw is None:
            findings.append(Finding("body", "maxBytes", "the body is over 1 MiB"))
            raise errors.ApiError(errors.REQUEST_BODY_TOO_LARGE, [findings[-1].as_detail()])
        fields = tuple(op.body_fields)
        try:
            bound = bind_object(parse_json_body(raw), fields)
        except BodyError as exc:
            findings.append(Finding("body", "json", f"the body is not valid JSON: {exc}"))
            if is_login:
                raise errors.LoginFailed() from None
            raise errors.ApiError(errors.INVALID_JSON_BODY, [findings[-1].as_detail()]) from None
        if bound is None:
            findings.append(Finding("body", "type", "the body must be a JSON object"))
            if is_login:
                raise errors.LoginFailed()
            raise errors.ApiError(errors.INVALID_JSON_BODY, [findings[-1].as_detail()])
        problems = self.spec.check_body(op, bound)
        findings.extend(problems)
        shape = [p for p in problems if not p.is_rule]
        if is_login and problems:
            raise errors.LoginFailed()
        if shape:
            raise errors.ApiError(errors.INVALID_JSON_BODY, [p.as_detail() for p in shape])
        call.body = bound
        call.violations = [p.as_detail() for p in problems if p.is_rule]

    # --- answering ----------------------------------------------------------------

    async def _finish(
        self,
        scope: Scope,
        send: Send,
        op: Operation | None,
        reply: Reply,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
        auth_note: str,
        request_findings: list[Finding],
    ) -> None:
        if isinstance(reply.body, dict) and "error" in reply.body:
            reply.body["error"]["request_id"] = request_id
        response_findings: list[Finding] = []
        if self.response_validation != "off":
            if op is not None:
                response_findings = self.spec.check_response(op, reply.status, reply.body)
            elif reply.body is not None:
                response_findings = _findings_of(self.spec.schema_validator("Error"), reply.body)
            if response_findings:
                log.error(
                    "response breaks openapi.yaml: %s %s -> %s: %s",
                    scope["method"],
                    redact_target(scope["path"], b""),
                    reply.status,
                    "; ".join(f.description for f in response_findings),
                )
                if self.response_validation == "strict":
                    reply = _error_reply(
                        errors.ApiError(
                            errors.INTERNAL,
                            [
                                {
                                    "field": f.field,
                                    "rule": f.rule,
                                    "description": "fakevoipbin sent an invalid response: "
                                    + f.description,
                                }
                                for f in response_findings
                            ],
                        )
                    )
                    reply.body["error"]["request_id"] = request_id
        body = b"" if reply.body is None else encode_json(reply.body)
        content_type = None if reply.body is None else JSON_TYPE
        await _send(send, reply.status, body, extra + reply.headers, content_type)
        self._record(
            scope,
            scope["method"],
            op.operation_id if op else None,
            reply.status,
            request_id,
            auth_note,
            [f.as_detail() for f in request_findings],
            [f.as_detail() for f in response_findings],
        )

    def _record(
        self,
        scope: Scope,
        method: str,
        operation_id: str | None,
        status: int,
        request_id: str | None,
        auth_note: str,
        request_findings: list[dict[str, Any]],
        response_findings: list[dict[str, Any]],
    ) -> None:
        if not (self.observers or self.access_log):
            return
        target = redact_target(scope["path"], scope.get("query_string", b""))
        if self.access_log:
            client = scope.get("client") or ("-", 0)
            access_log.info('%s:%s "%s %s" %d', client[0], client[1], method, target, status)
        if self.observers:
            exchange = Exchange(
                method,
                target,
                operation_id,
                status,
                request_id,
                auth_note,
                request_findings,
                response_findings,
                self.state.clock.now_us(),
            )
            for observer in self.observers:
                observer(exchange)


def _findings_of(validator: Any, body: Any) -> list[Finding]:
    return [
        Finding(
            ".".join(str(p) for p in e.absolute_path) or "body", str(e.validator), e.message[:200]
        )
        for e in validator.iter_errors(body)
    ]


def _error_reply(exc: errors.ApiError) -> Reply:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    return Reply(exc.kind.http, envelope(exc.kind, "", exc.details), headers)


def _same_origin(origin: str, host: str) -> bool:
    return origin in (f"http://{host}", f"https://{host}")


def _credentials(scope: Scope, headers: dict[str, str]) -> Credentials:
    query = parse_query(scope.get("query_string", b""))
    cookies = parse_cookies(headers.get("cookie", ""))
    return Credentials(
        token_cookie=cookies.get("token"),
        token_query=query.get("token", [None])[0],
        authorization=headers.get("authorization"),
        accesskey_cookie=cookies.get("accesskey"),
        accesskey_query=query.get("accesskey", [None])[0],
    )


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


async def _send(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    content_type: bytes | None,
) -> None:
    out = list(headers)
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


def build_app(state: State, spec: Spec | None = None, **kwargs: Any) -> Application:
    return Application(state, spec, **kwargs)
