"""The control API under ``/_fake/``: health, reset, clock, customers, journal, faults,
state. Thin: each handler calls the core. Errors use the API's own envelope, with a
message that says what was wrong. Described in ``openapi-control.yaml``."""

from __future__ import annotations

import asyncio
import hmac
import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..about import PRODUCTION_COMMIT, __version__
from ..core import admin, views
from ..core.clock import ClockError, format_fixed, parse_instant
from ..core.errors import REQUEST_TIMEOUT, ROUTE_NOT_FOUND, ErrorKind
from ..core.faults import FaultError, make_rule
from ..resources import data_path
from .encoding import JSON_TYPE, encode_json, envelope

if TYPE_CHECKING:
    from .app import Application, Receive, Scope, Send

MAX_CONTROL_BODY = 64 << 20


class ControlError(Exception):
    """400 INVALID_ARGUMENT, with a message that says what was wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Handler = Callable[["Control", Any], Any]


CONTROL_TOKEN_HEADER = "x-fake-control-token"


class Control:
    def __init__(self, app: Application, token: str | None = None) -> None:
        self.app = app
        self.token = token
        self.routes: dict[tuple[str, str], tuple[Handler, bool]] = {
            ("GET", "/_fake/health"): (Control.health, False),
            ("POST", "/_fake/reset"): (Control.reset, False),
            ("GET", "/_fake/clock"): (Control.get_clock, False),
            ("POST", "/_fake/clock"): (Control.move_clock, True),
            ("POST", "/_fake/customers"): (Control.add_customer, True),
            ("GET", "/_fake/journal"): (Control.get_journal, False),
            ("DELETE", "/_fake/journal"): (Control.clear_journal, False),
            ("POST", "/_fake/faults"): (Control.add_fault, True),
            ("GET", "/_fake/faults"): (Control.get_faults, False),
            ("DELETE", "/_fake/faults"): (Control.clear_faults, False),
            ("GET", "/_fake/state"): (Control.get_state, False),
            ("PUT", "/_fake/state"): (Control.put_state, True),
            ("GET", "/_fake/openapi.yaml"): (Control.spec, False),
        }

    @property
    def state(self) -> Any:
        return self.app.state

    async def handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
        request_headers: dict[str, str],
    ) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in extra}
        if self.token is not None and not hmac.compare_digest(
            request_headers.get(CONTROL_TOKEN_HEADER, "").encode("utf-8", "replace"),
            self.token.encode("utf-8"),
        ):
            kind = ErrorKind(
                401,
                "UNAUTHENTICATED",
                "AUTHENTICATION_REQUIRED",
                "The control API needs the X-Fake-Control-Token header of this server.",
            )
            await _respond(scope, receive, send, 401, _envelope(kind, request_id), headers)
            return
        route = self.routes.get((scope["method"], scope["path"]))
        if route is None:
            await _respond(
                scope, receive, send, 404, _envelope(ROUTE_NOT_FOUND, request_id), headers
            )
            return
        handler, wants_body = route
        try:
            body = None
            if wants_body:
                body = await self.app.deadlines.within(
                    _json_body(Request(scope, receive)), self.app.body_timeout_s
                )
            result = handler(self, body)
        except asyncio.TimeoutError:
            await _respond(
                scope, receive, send, 408, _envelope(REQUEST_TIMEOUT, request_id), headers
            )
            return
        except ClientDisconnect:
            return  # nobody is left to answer
        except ControlError as exc:
            kind = ErrorKind(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", exc.message)
            await _respond(scope, receive, send, 400, _envelope(kind, request_id), headers)
            return
        if isinstance(result, Response):
            for k, v in headers.items():
                result.headers[k] = v
            await result(scope, receive, send)
            return
        await _respond(scope, receive, send, 200, result, headers)

    # --- handlers -----------------------------------------------------------------

    def health(self, _body: Any) -> dict[str, Any]:
        st = self.state
        return {
            "status": "ok",
            "fake": "fakevoipbin",
            "version": __version__,
            "production_commit": PRODUCTION_COMMIT,
            "profile": st.profile.name,
            "seed": st.seed,
            "clock": self._clock(),
            "rate_limit": st.rate_limit,
        }

    def reset(self, _body: Any) -> dict[str, Any]:
        self.state.reset()
        return self.health(None)

    def _clock(self) -> dict[str, Any]:
        clock = self.state.clock
        return {"now": format_fixed(clock.now_us()), "frozen": clock.frozen}

    def get_clock(self, _body: Any) -> dict[str, Any]:
        return self._clock()

    def move_clock(self, body: Any) -> dict[str, Any]:
        body = _object(body, {"set", "advance", "freeze"})
        if not body:
            raise ControlError('give "set" (a timestamp), "advance" (seconds) or "freeze" (bool)')
        clock = self.state.clock
        target = None
        if "set" in body:
            if not isinstance(body["set"], str):
                raise ControlError('"set" must be an RFC 3339 timestamp string')
            try:
                target = parse_instant(body["set"])
            except ClockError as exc:
                raise ControlError(f'"set": {exc}') from None
        advance = body.get("advance")
        if "advance" in body and (
            isinstance(advance, bool)
            or not isinstance(advance, (int, float))
            or not math.isfinite(advance)
        ):
            raise ControlError('"advance" must be a finite number of seconds')
        if "freeze" in body and not isinstance(body["freeze"], bool):
            raise ControlError('"freeze" must be true or false')
        try:
            if target is not None:
                clock.set(target)
        except ClockError as exc:
            raise ControlError(f'"set": {exc}') from None
        try:
            if advance is not None:
                clock.advance(advance)
        except ClockError as exc:
            raise ControlError(f'"advance": {exc}') from None
        if "freeze" in body:
            clock.freeze(body["freeze"])
        return self._clock()

    def add_customer(self, body: Any) -> dict[str, Any]:
        body = _object(body if body is not None else {}, {"name", "frozen", "expire"})
        name = body.get("name", "")
        frozen = body.get("frozen", False)
        expire = body.get("expire", admin.DEFAULT_ADMIN_EXPIRE)
        if not isinstance(name, str) or len(name) > 255:
            raise ControlError('"name" must be a string of at most 255 characters')
        if not isinstance(frozen, bool):
            raise ControlError('"frozen" must be true or false')
        if isinstance(expire, bool) or not isinstance(expire, int) or not 1 <= expire <= 2**31 - 1:
            raise ControlError('"expire" must be an integer number of seconds, 1 to 2147483647')
        customer, key, raw = admin.add_customer(self.state, name, frozen, expire)
        return {
            "customer_id": customer.id,
            "frozen": customer.frozen,
            "accesskey": views.key_view(self.state.profile, key, raw_token=raw),
        }

    def get_journal(self, _body: Any) -> dict[str, Any]:
        entries = self.state.journal.entries()
        return {"size": self.state.journal.size, "entries": [e.as_dict() for e in entries]}

    def clear_journal(self, _body: Any) -> dict[str, Any]:
        count = len(self.state.journal)
        self.state.journal.clear()
        return {"cleared": count}

    def add_fault(self, body: Any) -> dict[str, Any]:
        body = _object(body, None)
        try:
            rule = make_rule(set(self.app.spec.operations), **body)
        except FaultError as exc:
            raise ControlError(str(exc)) from None
        return self.state.faults.add(rule).as_dict()  # type: ignore[no-any-return]

    def get_faults(self, _body: Any) -> dict[str, Any]:
        return {"faults": [r.as_dict() for r in self.state.faults.rules()]}

    def clear_faults(self, _body: Any) -> dict[str, Any]:
        count = len(self.state.faults.rules())
        self.state.faults.clear()
        return {"cleared": count}

    def get_state(self, _body: Any) -> dict[str, Any]:
        return admin.dump(self.state)

    def put_state(self, body: Any) -> dict[str, Any]:
        try:
            admin.load(self.state, body)
        except admin.StateError as exc:
            raise ControlError(str(exc)) from None
        store = self.state.store
        return {
            "loaded": {
                "customers": len(store.customers),
                "users": len(store.users),
                "keys": len(store.keys),
            }
        }

    def spec(self, _body: Any) -> Response:
        text = data_path("openapi-control.yaml").read_text(encoding="utf-8")
        return Response(text, media_type="application/yaml; charset=utf-8")


def _object(body: Any, allowed: set[str] | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    if allowed is not None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ControlError(
                f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}"
            )
    return body


async def _json_body(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CONTROL_BODY:
        raise ControlError("the body is over 64 MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_CONTROL_BODY:
            raise ControlError("the body is over 64 MiB")
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ControlError(f"the body is not valid JSON: {str(exc)[:120]}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _envelope(kind: ErrorKind, request_id: str) -> dict[str, Any]:
    return envelope(kind, request_id, None)


async def _respond(
    scope: Scope, receive: Receive, send: Send, status: int, body: Any, headers: dict[str, str]
) -> None:
    response = Response(encode_json(body), status_code=status, headers=headers)
    response.headers["content-type"] = JSON_TYPE.decode()
    await response(scope, receive, send)
