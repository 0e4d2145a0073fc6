"""The control API under ``/_fake/``: health, reset, clock, customers, journal, faults,
state, and the live page of the journal (``/_fake/ui``, ``data/ui.html``). Described in
``openapi-control.yaml``; never journaled.

It is a Starlette ``Mount`` in the fake's one application, given what it needs (the
state, the spec, the body reader) rather than reaching into the app. Thin: each
handler calls the core. ``ControlGate`` opens the frame every answer leaves through
(``web/frame.py``: the X-Request-Id, CORS, a preflight's 204) and checks the control
token, when the server has one; each call's answer is a ``Reply`` the frame sends.
Errors use the API's own envelope, with a message that says what was wrong.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.middleware import Middleware
from starlette.routing import Mount, Router

from ..about import PRODUCTION_COMMIT, __version__
from ..core import admin, customers, views
from ..core import clock as clock_input
from ..core.clock import ClockError, format_fixed
from ..core.errors import REQUEST_TIMEOUT, ROUTE_NOT_FOUND, ApiError, ErrorKind
from ..core.faults import FaultError, make_rule
from ..core.har import har_log
from ..core.journal import Journal
from ..core.redact import redact_text
from ..core.state import State
from ..options import root_url
from ..resources import data_path
from ..spec import Spec
from . import frame
from .bodies import BodyGone, BodyReader
from .exchange import Exchange, Receive, Reply, Scope, Send
from .request_id import SIDE_IDS
from .routing import ExactRoute

MAX_CONTROL_BODY = 64 << 20
CONTROL_TOKEN_HEADER = "x-fake-control-token"
#: Where ControlGate leaves the request's Exchange (its request id and frame headers)
#: for the endpoint that answers it.
EXCHANGE = "fakevoipbin.exchange"
YAML_TYPE = b"application/yaml; charset=utf-8"
HTML_TYPE = b"text/html; charset=utf-8"
#: The live page of the journal, under ``/_fake``; the static file it serves.
UI_PATH = "/ui"
UI_FILE = Path(__file__).resolve().parent.parent / "data" / "ui.html"

CONTROL_UNAUTHENTICATED = ErrorKind(
    401,
    "UNAUTHENTICATED",
    "AUTHENTICATION_REQUIRED",
    "The control API needs the X-Fake-Control-Token header of this server.",
)


class ControlError(Exception):
    """400 INVALID_ARGUMENT, with a message that says what was wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_api_error(self) -> ApiError:
        """The 400 in the API's envelope (the fake's and the proxy's control calls)."""
        return ApiError(ErrorKind(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", self.message))


#: A call's handler: it takes the JSON body (and, for the calls that read it, the
#: request's scope: its query, its root).
Handler = Callable[..., Any]
#: What ``POST /_fake/reset`` calls with its settings (profile, seed, now, fixtures,
#: rate_limit): it resets, or raises TypeError/ValueError (one line) leaving the state
#: as it was. ``fakevoipbin.assemble.Configurator.reset`` is the one the faces give.
ResetTo = Callable[..., Any]


class Control:
    """The control calls' handlers, over one state and spec: each takes the JSON body
    (None when the call has none) and answers JSON data or a ``Reply``."""

    def __init__(self, state: State, spec: Spec, reset_to: ResetTo | None = None) -> None:
        self.state = state
        self.spec = spec
        self.reset_to = reset_to

    def routes(self, bodies: BodyReader) -> list[ExactRoute]:
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/health", self.health, False),
            ("POST", "/reset", self.reset, True),
            ("GET", "/clock", self.get_clock, False),
            ("POST", "/clock", self.move_clock, True),
            ("POST", "/customers", self.add_customer, True),
            ("GET", "/customers", self.get_customers, False),
            ("GET", "/journal", self.get_journal, False),
            ("DELETE", "/journal", self.clear_journal, False),
            ("POST", "/faults", self.add_fault, True),
            ("GET", "/faults", self.get_faults, False),
            ("DELETE", "/faults", self.clear_faults, False),
            ("GET", "/state", self.get_state, False),
            ("PUT", "/state", self.put_state, True),
            ("GET", "/openapi.yaml", self.spec_file, False),
            ("GET", UI_PATH, self.ui_page, False),
        ]
        with_scope: set[Handler] = {self.get_journal, self.ui_page}
        return [
            ExactRoute(
                path, ControlEndpoint(handler, wants_body, bodies, handler in with_scope), method
            )
            for method, path, handler, wants_body in table
        ]

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

    def reset(self, body: Any) -> dict[str, Any]:
        """Back to seed and fixtures, with the settings in the body (if any) for this
        reset alone. The answer is the health, and the raw token of the fixtures'
        default admin key (public test data, as the start banner shows), so a client
        attached to this fake knows its key after a reset to other fixtures."""
        settings = _object(body if body is not None else {}, None)
        if self.reset_to is None:
            if settings:
                raise ControlError("this fake takes no settings on reset")
            self.state.reset()
        else:
            try:
                self.reset_to(**settings)
            except (TypeError, ValueError) as exc:
                raise ControlError(str(exc).splitlines()[0]) from None
        key = self.state.loaded.admin_key()
        return {**self.health(None), "accesskey": None if key is None else key.token}

    def _clock(self) -> dict[str, Any]:
        clock = self.state.clock
        return {"now": format_fixed(clock.now_us()), "frozen": clock.frozen}

    def get_clock(self, _body: Any) -> dict[str, Any]:
        return self._clock()

    def move_clock(self, body: Any) -> dict[str, Any]:
        """Each input checked by the core's rule (``clock.set_input``, ``advance_input``,
        ``freeze_input``, shared with the Python face) before anything moves."""
        body = _object(body, {"set", "advance", "freeze"})
        if not body:
            raise ControlError('give "set" (a timestamp), "advance" (seconds) or "freeze" (bool)')
        clock = self.state.clock
        try:
            target = clock_input.set_input(body["set"]) if "set" in body else None
            advance = clock_input.advance_input(body["advance"]) if "advance" in body else None
            freeze = clock_input.freeze_input(body["freeze"]) if "freeze" in body else None
        except (TypeError, ValueError) as exc:
            raise ControlError(str(exc)) from None
        try:
            if target is not None and advance is not None:
                # both or neither: an advance past the range must not leave the set done
                clock_input.check_range(target + round(advance * clock_input.US))
            if target is not None:
                clock.set(target)
            if advance is not None:
                clock.advance(advance)
        except (ClockError, OverflowError) as exc:
            raise ControlError(f'"advance": {exc}') from None
        if freeze is not None:
            clock.freeze(freeze)
        return self._clock()

    def add_customer(self, body: Any) -> dict[str, Any]:
        """The inputs are checked by the core (``admin.customer_input``, the Python
        face's rule too)."""
        body = _object(
            body if body is not None else {},
            {"name", "frozen", "expire", *customers.ADDABLE_FIELDS},
        )
        name = body.get("name", "")
        frozen = body.get("frozen", False)
        expire = body.get("expire", admin.DEFAULT_ADMIN_EXPIRE)
        fields = {k: v for k, v in body.items() if k not in ("name", "frozen", "expire")}
        try:
            customer, key, raw = admin.add_customer(self.state, name, frozen, expire, fields)
        except (TypeError, ValueError) as exc:
            raise ControlError(str(exc)) from None
        return {
            "customer_id": customer.id,
            "frozen": customer.frozen,
            "status": customer.status,
            "accesskey": views.key_view(self.state.profile, key, raw_token=raw),
        }

    def get_customers(self, _body: Any) -> dict[str, Any]:
        """Each customer's id, name, status and live keys (id, name, the token's public
        prefix): what the live page shows. No token, hash or webhook secret; a token a
        client put in a name is shrunk to its prefix, as the journal does."""
        with self.state.lock:
            listed = [
                {
                    "id": c.id,
                    "name": redact_text(c.name),
                    "status": c.status,
                    "frozen": c.frozen,
                    "keys": [
                        {"id": k.id, "name": redact_text(k.name), "token_prefix": k.token_prefix}
                        for k in c.by_create.values()
                    ],
                }
                for c in self.state.store.customers.values()
            ]
        return {"customers": listed}

    def get_journal(self, _body: Any, scope: Scope) -> dict[str, Any]:
        return journal_answer(self.state.journal, scope)

    def clear_journal(self, _body: Any) -> dict[str, Any]:
        count = len(self.state.journal)
        self.state.journal.clear()
        return {"cleared": count}

    def add_fault(self, body: Any) -> dict[str, Any]:
        body = _object(body, None)
        try:
            rule = make_rule(set(self.spec.operations), **body)
        except FaultError as exc:
            raise ControlError(str(exc)) from None
        return self.state.faults.add(rule).as_dict()

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

    def ui_page(self, _body: Any, scope: Scope) -> Reply:
        """The live page of the journal: one static file, the same bytes for everyone
        (it holds no data; what it shows comes through the control calls, with the
        token it asks for). A token in its URL is refused: a URL lands in logs."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any("token" in name.lower() for name in query):
            raise ControlError(
                "the control token never goes in a URL: open /_fake/ui alone, and the page "
                "asks for the token (sent as X-Fake-Control-Token)"
            )
        page, csp = _ui_page()
        headers = [
            (b"content-security-policy", csp),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cache-control", b"no-store"),
        ]
        return Reply(200, None, headers=headers, raw=page, content_type=HTML_TYPE)

    def spec_file(self, _body: Any) -> Reply:
        text = data_path("openapi-control.yaml").read_text(encoding="utf-8").encode("utf-8")
        return Reply(200, None, raw=text, content_type=YAML_TYPE)


@cache
def _ui_page() -> tuple[bytes, bytes]:
    """The page's bytes and its Content-Security-Policy: its one inline script and its
    one inline style allowed by their SHA-256, calls to this origin only, nothing else
    loaded."""
    page = UI_FILE.read_bytes()
    hashes = {}
    for tag in ("script", "style"):
        found = re.findall(rb"<%s>(.*?)</%s>" % (tag.encode(), tag.encode()), page, re.S)
        hashes[tag] = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
            for body in found
        )
    csp = (
        f"default-src 'none'; script-src {hashes['script']}; style-src {hashes['style']}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return page, csp.encode()


#: What ``GET /_fake/journal`` takes in its query.
JOURNAL_QUERY = ("after", "format")
JOURNAL_FORMATS = ("json", "har")


def journal_answer(journal: Journal, scope: Scope) -> dict[str, Any]:
    """``GET /_fake/journal`` (the fake's and the proxy's): ``{size, entries}``, each
    entry as ``Entry.as_dict`` gives it; ``?after=SEQ``: only the entries numbered
    above SEQ (what a page polling the journal asks for); ``?format=har``: the
    entries as a HAR 1.2 document (``core/har.py``), their URLs under the root the
    request came to. A query it does not take is a ``ControlError``."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    unknown = sorted(set(query) - set(JOURNAL_QUERY))
    if unknown:
        raise ControlError(
            f"unknown query parameter(s) {', '.join(unknown)}; expected " + ", ".join(JOURNAL_QUERY)
        )
    after = _one(query, "after", "0")
    if not (after.isascii() and after.isdigit()) or len(after) > 18:
        raise ControlError('"after" is a journal entry\'s number: an integer, 0 or more')
    form = _one(query, "format", "json")
    if form not in JOURNAL_FORMATS:
        raise ControlError(f"format is one of {', '.join(JOURNAL_FORMATS)}, not {form!r}")
    if form == "har":
        return har_log(journal.exchanges(int(after)), request_root(scope), __version__)
    entries = journal.entries(int(after))
    return {"size": journal.size, "epoch": journal.epoch, "entries": [e.as_dict() for e in entries]}


def _one(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name, [default])
    if len(values) > 1:
        raise ControlError(f"{name} is given once, not {len(values)} times")
    return values[0]


def request_root(scope: Scope) -> str:
    """The scheme, host and port a request came to (its Host header, else the
    socket's address)."""
    scheme = scope.get("scheme", "http")
    for name, value in scope.get("headers", ()):
        if name == b"host" and value:
            return f"{scheme}://{value.decode('latin-1')}"
    host, port = scope.get("server") or ("127.0.0.1", 80)
    return root_url(str(host), int(port), scheme)


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


class ControlEndpoint:
    """The ASGI app of one control call: its body read (when it takes one) under the
    API's deadline, its handler called, its answer sent as JSON."""

    def __init__(
        self, handler: Handler, wants_body: bool, bodies: BodyReader, wants_scope: bool = False
    ) -> None:
        self.handler = handler
        self.wants_body = wants_body
        self.bodies = bodies
        #: The handler also takes the request's scope (its query, its root).
        self.wants_scope = wants_scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex: Exchange = scope[EXCHANGE]
        try:
            body = await self._body(scope, receive) if self.wants_body else None
            result = self.handler(body, scope) if self.wants_scope else self.handler(body)
        except asyncio.TimeoutError:
            result = frame.error_reply(ApiError(REQUEST_TIMEOUT), ex.request_id)
        except BodyGone:
            return  # nobody is left to answer
        except ControlError as exc:
            result = frame.error_reply(exc.as_api_error(), ex.request_id)
        reply = result if isinstance(result, Reply) else Reply(200, result)
        await frame.send_reply(send, reply, ex.extra)

    async def _body(self, scope: Scope, receive: Receive) -> Any:
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_CONTROL_BODY:
            raise ControlError("the body is over 64 MiB")
        raw = await self.bodies.read(receive, MAX_CONTROL_BODY)
        if raw is None:
            raise ControlError("the body is over 64 MiB")
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            raise ControlError(f"the body is not valid JSON: {str(exc)[:120]}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _route_not_found(scope: Scope, _receive: Receive, send: Send) -> None:
    ex: Exchange = scope[EXCHANGE]
    await frame.send_reply(
        send, frame.error_reply(ApiError(ROUTE_NOT_FOUND), ex.request_id), ex.extra
    )


def control_token_ok(headers: dict[str, str], token: str | None) -> bool:
    """Whether a control call may go on: the server has no control token, or the
    request's X-Fake-Control-Token is it (compared in constant time)."""
    if token is None:
        return True
    return hmac.compare_digest(
        headers.get(CONTROL_TOKEN_HEADER, "").encode("utf-8", "replace"), token.encode("utf-8")
    )


def _public(scope: Scope) -> bool:
    """Whether the request is for the live page itself (``GET /_fake/ui``): the one
    control path open without the token, as its bytes hold no data. Every call the page
    makes for data is gated as any other."""
    return bool(scope["method"] == "GET" and scope["path"] == "/_fake" + UI_PATH)


class ControlGate:
    """Before every control call: its X-Request-Id and CORS headers (a preflight is
    answered 204), then the server's control token, when it has one (401 without)."""

    def __init__(self, app: Any, state: State, token: str | None) -> None:
        self.app = app
        self.state = state
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ex = Exchange(scope, receive, send, None)
        try:
            frame.request_id(ex, self.state.seeds, SIDE_IDS)
            frame.cors(ex)
            if not control_token_ok(ex.headers, self.token) and not _public(scope):
                raise ApiError(CONTROL_UNAUTHENTICATED)
        except frame.Answered:  # a preflight
            pass
        except ApiError as exc:
            ex.reply = frame.error_reply(exc, ex.request_id)
        if ex.reply is not None:
            await frame.send_reply(send, ex.reply, ex.extra)
            return
        scope[EXCHANGE] = ex
        await self.app(scope, receive, send)


def control_mount(
    state: State,
    spec: Spec,
    bodies: BodyReader,
    token: str | None,
    reset_to: ResetTo | None = None,
) -> Mount:
    """The control API, mounted at ``/_fake``."""
    router = Router(
        Control(state, spec, reset_to).routes(bodies),
        redirect_slashes=False,
        default=_route_not_found,
    )
    return Mount(
        "/_fake", app=router, middleware=[Middleware(ControlGate, state=state, token=token)]
    )
