"""Production's check order, in one place, top to bottom (facts §0, §2 and §13).

A request meets these stages in this order. Each is a small method of ``Pipeline``
below, reads and writes only the request's ``Exchange``, and stops the request by
raising (an ``ApiError`` becomes the answer); ``CHECK_ORDER`` holds them, in this
order, as the functions themselves:

    route                     Starlette's router: one route per operation in openapi.yaml;
                              the rest goes to ``unrouted``, which looks in production's
                              route table (core/routetable.py)
    trailing_slash            gin's redirect, when neither an operation nor the table
                              has the path (only for a request no route took)
    request_id                X-Request-Id, the client's or one from the seed (web/frame.py)
    cors                      CORS headers; a preflight is answered here (web/frame.py)
    fault                     an injected fault, when a rule (or X-Fake-Fault) fires:
                              "before" answers here; "after" lets the handler run
                              and spoils its answer at the end (web/faults.py)
    per_ip_limit              production's per-IP rate limit (login has its own)
    credentials               who is calling: 401 when nobody
    customer_limit            the per-customer rate limit
    frozen                    403 ACCOUNT_FROZEN
    query, path_id, body      the query, the id and the body against openapi.yaml
                              (the checks themselves: checks/request.py)
    operation                 the rules, in the operation's own order (core/rules.py);
                              for a route the fake does not model, ``route_answer``
                              (501 NOT_MODELLED, or production's answer where it needs
                              no model), or ``no_route`` (404 ROUTE_NOT_FOUND)
    check_response            the answer against openapi.yaml
    journal, send             what was asked and answered, then the answer (web/frame.py)

The four middle guards (per_ip_limit to frozen) are production's middleware, which
the core declares per route group as data (``core/routetable.Guard``);
``GUARD_STAGES`` maps each guard to its stage. Each operation gets the stages that
apply to it (``stages_for``): login has its group's guards (the per-IP limit alone),
a list has no body. A route of the table that the fake does not model gets
request_id, cors and its group's guards, then ``route_answer`` (``route_stages``).
Business rules stay in ``fakevoipbin.core``; this module only orders the checks and
carries what they learn.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..checks.inputs import parse_query
from ..checks.request import body_findings, path_param, query_param, read_credentials
from ..core import errors, rules
from ..core.auth import AuthFailure, identify, refuse_frozen
from ..core.faults import FAULT_KINDS, SLOW_KINDS, FaultError, FaultRule, rule_from_header
from ..core.ratelimit import Buckets
from ..core.redact import redact_target
from ..core.routetable import (
    PUBLIC_AUTH_GUARDS,
    V1_GUARDS,
    Guard,
    RouteTable,
    default_table,
)
from ..core.state import State
from ..spec import Finding, Operation, Spec, findings
from . import faults, frame
from .bodies import MAX_BODY, BodyGone, BodyReader
from .exchange import Exchange, Receive, Reply, Scope, Send
from .frame import Answered, error_reply, journal, messages
from .operations import OPERATIONS
from .render import InvalidResponse, Renderer

#: How many distinct (path, query) pairs keep their parsed form before the cache empties.
TARGET_CACHE_SIZE = 4096

log = logging.getLogger("fakevoipbin")

#: A stage: a method of ``Pipeline`` taking the request's ``Exchange`` (the body and a
#: delayed fault are coroutines, the others answer None).
Stage = Callable[["Pipeline", Exchange], "Awaitable[None] | None"]


class Pipeline:
    """The stages over one state and spec. ``response_validation`` is "strict" (a
    response that breaks the spec becomes a loud 500 naming the violation), "log", or
    "off"; ``access_log`` writes each exchange to the ``fakevoipbin.access`` logger."""

    def __init__(
        self,
        state: State,
        spec: Spec,
        bodies: BodyReader,
        *,
        response_validation: str = "strict",
        access_log: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        routes: RouteTable | None = None,
        fault_header: bool = False,
        control_token: str | None = None,
    ) -> None:
        if response_validation not in ("strict", "log", "off"):
            raise ValueError("response_validation is strict, log or off")
        self.state = state
        self.spec = spec
        self.bodies = bodies
        self.response_validation = response_validation
        self.access_log = access_log
        #: How an injected delay waits (a test may count the waits instead).
        self.sleep = sleep
        #: Whether X-Fake-Fault is honoured (while the control API is on), and the
        #: control token it must come with, when the server has one.
        self.fault_header = fault_header
        self.control_token = control_token
        self.renderer = Renderer(spec, self._on_invalid_rendering)
        self.error_check = spec.schema_validator("Error")
        self._routes = routes
        #: Whether a method and path name one of the app's API routes (an operation's,
        #: ``/ping``; the app sets it from its router; the trailing-slash redirect asks).
        self.routes_match: Callable[[str, str], bool] = lambda _method, _path: False
        self._targets: dict[tuple[str, bytes], tuple[dict[str, list[str]], str]] = {}

    @property
    def routes(self) -> RouteTable:
        """Every route production serves (only ``unrouted`` looks in it; the packaged
        table is read on the first request that needs it, not at start)."""
        routes = self._routes
        if routes is None:
            routes = self._routes = default_table()
        return routes

    def stages_for(self, op: Operation, rate_limit: bool = True) -> tuple[Stage, ...]:
        """The stages that apply to ``op``, in CHECK_ORDER: its group's guards (a
        secured operation is a ``/v1.0`` route; login, the auth group's public half),
        the query, id and body checks where it has them; without the rate limits when
        ``rate_limit`` is off."""
        guards = V1_GUARDS if op.secured else PUBLIC_AUTH_GUARDS
        applies: set[Stage] = {
            Pipeline.request_id,
            Pipeline.cors,
            Pipeline.fault,
            *[GUARD_STAGES[guard] for guard in guards],
            Pipeline.operation,
        }
        if any(p.location == "query" for p in op.parameters.values()):
            applies.add(Pipeline.query)
        if any(p.location == "path" for p in op.parameters.values()):
            applies.add(Pipeline.path_id)
        if op.body_validator is not None:
            applies.add(Pipeline.body)
        if not rate_limit:
            applies -= RATE_LIMIT_STAGES
        return tuple(stage for stage in CHECK_ORDER if stage in applies)

    # --- running them ---------------------------------------------------------------

    async def run(self, ex: Exchange, stages: Sequence[Stage]) -> None:
        """Every stage in turn, then the answer checked, journaled and sent: the one
        frame of every answer the API gives (an operation's, an unmodelled route's, a
        404, a redirect)."""
        try:
            for stage in stages:
                waiting = stage(self, ex)
                if waiting is not None:
                    await waiting
        except Answered:
            pass
        except errors.ApiError as exc:
            ex.reply = self.error_reply(ex, exc)
        except InvalidResponse as exc:
            ex.reply = invalid_response_reply(exc.findings)
        except errors.LoginFailed:
            ex.reply = Reply(400, None)
        except Exception:  # a bug in the fake: answer in the envelope, log the traceback
            where = redact_target(ex.scope["path"], b"")
            log.exception("fakevoipbin failed on %s %s", ex.scope["method"], where)
            ex.reply = error_reply(errors.ApiError(errors.INTERNAL))
        self.check_response(ex)
        rule = ex.fault
        if rule is not None and rule.when == "after":
            await self._spoil(ex, rule)
        reply = ex.reply
        assert reply is not None
        start, body = messages(reply, ex.extra)
        journal(ex, self.state, self._target(ex), self.access_log, body)
        if rule is None or rule.kind is None:
            # frame.send_reply's two sends, here without a coroutine of their own
            await ex.send(start)
            await ex.send(body)
        else:
            await faults.deliver(ex, rule, start, body, self.sleep)

    def unrouted(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """What the router does with a request no operation's route takes, as gin
        does: a route of production's table runs ``route_stages`` (the request id,
        CORS, its group's guards, then ``route_answer``); else ``NO_ROUTE_STAGES``
        (production's trailing-slash redirect; else the request id, CORS, where a
        preflight is answered, and 404 ROUTE_NOT_FOUND, before any credential is
        looked at)."""
        ex = Exchange(scope, receive, send, None)
        route = self.routes.lookup(scope["method"], scope["path"])
        if route is None:
            return self.run(ex, NO_ROUTE_STAGES)
        ex.route = route
        return self.run(ex, route_stages(route.guards))

    def _trailing_slash(self, ex: Exchange) -> bool:
        """gin's RedirectTrailingSlash: 301 for GET, 307 otherwise, when the path less
        its slash names a route for the method (an operation's, or one of production's
        table), or the path with a slash added names one of the table's (``/docs`` for
        ``/docs/{filepath}``); no request id, no CORS."""
        scope = ex.scope
        method, path = scope["method"], scope["path"]
        raw_path: bytes = scope.get("raw_path") or path.encode("utf-8")
        if path.endswith("/"):
            if len(path) < 2 or not (
                self.routes_match(method, path[:-1]) or self.routes.lookup(method, path[:-1])
            ):
                return False
            location = raw_path[:-1] if raw_path.endswith(b"/") else path[:-1].encode("utf-8")
        elif self.routes.lookup(method, path + "/"):
            location = raw_path + b"/"
        else:
            return False
        if scope.get("query_string"):
            location += b"?" + scope["query_string"]
        ex.reply = Reply(301 if method == "GET" else 307, None, [(b"location", location)])
        return True

    # --- the stages, in order --------------------------------------------------------

    def trailing_slash(self, ex: Exchange) -> None:
        """A path no route takes that would with its trailing slash taken off (or
        added): the redirect, before any middleware (``_trailing_slash``)."""
        if self._trailing_slash(ex):
            raise Answered()

    def request_id(self, ex: Exchange) -> None:
        frame.request_id(ex, self.state.seeds)

    def cors(self, ex: Exchange) -> None:
        frame.cors(ex)

    def fault(self, ex: Exchange) -> Awaitable[None] | None:
        """The rule that fires: the request's own X-Fake-Fault, else the first of the
        fault book's. "before": it answers now (after its delay), or, a delay alone,
        lets the request go on; "after": the handler runs first (``_spoil``)."""
        assert ex.op is not None
        headers = ex.headers
        if "x-fake-fault" in headers and self._honours_fault_header(headers):
            rule: FaultRule | None = self._header_rule(ex, headers["x-fake-fault"])
        else:
            rule = self.state.faults.decide(ex.op.operation_id)
        if rule is None:
            return None
        ex.fault = rule
        if rule.when == "after":
            return None
        if rule.delay_ms:
            return self._delayed(ex, rule)
        self._inject(ex, rule)
        return None

    def _honours_fault_header(self, headers: dict[str, str]) -> bool:
        """Only while the control API is on, and with the control token beside it when
        the server has one (else the header is an ordinary one, ignored)."""
        if not self.fault_header:
            return False
        token = self.control_token
        if token is None:
            return True
        given = headers.get("x-fake-control-token", "")
        return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))

    def _header_rule(self, ex: Exchange, value: str) -> FaultRule:
        """The header's rule; a header given twice is refused (one rule a request),
        not the last one taken."""
        assert ex.op is not None
        try:
            given = sum(1 for k, _v in ex.scope["headers"] if k.lower() == b"x-fake-fault")
            if given > 1:
                raise FaultError(
                    f"X-Fake-Fault is given {given} times: send one rule a request, in one header"
                )
            return rule_from_header(value, ex.op.operation_id)
        except FaultError as exc:
            ex.faulted = True  # the fake's own answer, which openapi.yaml does not list
            raise errors.ApiError(replace(errors.INVALID_FAULT_HEADER, message=str(exc))) from None

    async def _delayed(self, ex: Exchange, rule: FaultRule) -> None:
        await self.sleep(rule.delay_ms / 1000)
        self._inject(ex, rule)

    def _inject(self, ex: Exchange, rule: FaultRule) -> None:
        """A "before" rule answers in the handler's place: its error, or (a kind)
        nothing yet, for ``faults.deliver`` to send. A delay alone, or slow headers
        whose wait is over, lets the request go on."""
        if rule.status is None and rule.kind in (None, "slow_headers"):
            return
        ex.faulted = True
        ex.reply = fault_reply(rule) if rule.status is not None else Reply(200, None)
        raise Answered()

    async def _spoil(self, ex: Exchange, rule: FaultRule) -> None:
        """An "after" rule, once the handler has answered (and its answer was checked):
        the delay before the fault, then a status fault's error in its place. A kind
        is sent its own way by ``faults.deliver``."""
        assert ex.reply is not None
        ex.handler_status = ex.reply.status
        if rule.delay_ms and rule.kind not in SLOW_KINDS:
            await self.sleep(rule.delay_ms / 1000)
        if rule.status is not None:
            ex.faulted = True
            ex.reply = fault_reply(rule)
            self.check_response(ex)

    def per_ip_limit(self, ex: Exchange) -> None:
        """Production's per-IP limit: the v1 group's, or the auth group's (login's)."""
        state = self.state
        if not state.rate_limit:
            return
        op = ex.op
        if op is not None:
            v1 = op.secured
        else:  # a route of the table the fake does not model
            assert ex.route is not None
            v1 = not ex.route.login_limited
        limiter = state.limiter
        client_ip = str((ex.scope.get("client") or ("-", 0))[0])
        _take(limiter.per_ip if v1 else limiter.login_per_ip, client_ip, state, "ip")

    def credentials(self, ex: Exchange) -> None:
        """Who is calling, from the five places production reads a credential
        (``checks/request.read_credentials``), in its order (``core/auth.py``)."""
        try:
            ex.identity = identify(self.state, read_credentials(self._query(ex), ex.headers))
        except AuthFailure as failure:
            ex.auth = f"refused: {failure.why}"
            raise
        ex.auth = ex.identity.note

    def customer_limit(self, ex: Exchange) -> None:
        state = self.state
        if state.rate_limit:
            assert ex.identity is not None
            _take(state.limiter.per_customer, ex.identity.customer_id, state, "customer")

    def frozen(self, ex: Exchange) -> None:
        assert ex.identity is not None
        refuse_frozen(self.state, ex.identity)

    def query(self, ex: Exchange) -> None:
        """Each query parameter bound as production binds it (``checks/request.py``);
        the first that breaks openapi.yaml is a 400 INVALID_REQUEST_PARAMETER."""
        assert ex.op is not None
        query = self._query(ex)
        bound: dict[str, Any] = {}
        for param in ex.op.parameters.values():
            if param.location != "query" or param.name not in query:
                continue
            value, problems = query_param(self.spec, param, query[param.name])
            if problems:
                ex.request_findings = [*ex.request_findings, *problems]
                raise errors.ApiError(
                    errors.invalid_request_parameter(param.name),
                    [p.as_detail() for p in problems],
                )
            bound[param.name] = value
        ex.params = bound

    def path_id(self, ex: Exchange) -> None:
        """The id against openapi.yaml (``checks/request.py``): 400 INVALID_ID."""
        assert ex.op is not None
        bound: dict[str, str] = {}
        for name, value in ex.scope.get("path_params", {}).items():
            problems = path_param(self.spec, ex.op, name, value)
            if problems:
                ex.request_findings = [*ex.request_findings, *problems]
                raise errors.ApiError(errors.INVALID_ID, [p.as_detail() for p in problems])
            bound[name] = rules.parse_key_id(value) if name == "id" else value
        ex.path = bound

    async def body(self, ex: Exchange) -> None:
        """The body read within its size and deadline (413, 408), then checked
        (``checks/request.body_findings``): not JSON, not an object or off its shape is
        a 400 INVALID_JSON_BODY (login's, a bare 400); a business rule's finding waits
        for the operation's permission check (``ex.violations``)."""
        op = ex.op
        assert op is not None
        declared = ex.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            raise _refuse_body(ex, errors.REQUEST_BODY_TOO_LARGE, _TOO_LARGE)
        try:
            raw = await self.bodies.read(ex.receive, MAX_BODY)
        except asyncio.TimeoutError:
            raise _refuse_body(ex, errors.REQUEST_TIMEOUT, _TOO_LATE) from None
        except BodyGone:
            raise _refuse_body(ex, errors.INVALID_JSON_BODY, _GONE) from None
        if raw is None:
            raise _refuse_body(ex, errors.REQUEST_BODY_TOO_LARGE, _TOO_LARGE)
        ex.raw_body = raw
        ex.body_read = True
        _value, bound, problems = body_findings(self.spec, op, raw)
        if bound is None:  # not JSON, or not an object: the one finding says which
            raise _refuse_body(ex, errors.INVALID_JSON_BODY, problems[0])
        ex.body = bound
        if not problems:
            return
        ex.request_findings = [*ex.request_findings, *problems]
        if not op.secured:  # login: every refusal is a bare 400
            raise errors.LoginFailed()
        shape = [p for p in problems if not p.is_rule]
        if shape:
            raise errors.ApiError(errors.INVALID_JSON_BODY, [p.as_detail() for p in shape])
        # The rules raise these after their permission check, as production does.
        ex.violations = [p.as_detail() for p in problems if p.is_rule]

    def operation(self, ex: Exchange) -> None:
        assert ex.op is not None
        ex.reply = OPERATIONS[ex.op.operation_id](self.state, self.renderer, ex)

    def route_answer(self, ex: Exchange) -> None:
        """In an operation's place, for a route of the table the fake does not model:
        ``Route.answer`` (501 NOT_MODELLED; a ``/v1.0/auth/*`` stub's 404; 403 on
        ``/v1.0/customers`` for all but a super admin)."""
        assert ex.route is not None
        identity = ex.identity
        raise ex.route.answer(identity is not None and identity.is_super_admin)

    def no_route(self, ex: Exchange) -> None:
        """In an operation's place, for a path and method production does not route."""
        raise errors.ApiError(errors.ROUTE_NOT_FOUND)

    # --- finishing ------------------------------------------------------------------

    def check_response(self, ex: Exchange) -> None:
        """The reply against openapi.yaml (a cached rendering was checked when made;
        a fault's own answer is not the fake's). Strict: a breach is a 500."""
        reply = ex.reply
        assert reply is not None
        if isinstance(reply.body, dict) and "error" in reply.body:
            reply.body["error"]["request_id"] = ex.request_id
        if reply.raw is not None or self.response_validation == "off" or ex.faulted:
            return
        if ex.op is not None:
            found = self.spec.check_response(ex.op, reply.status, reply.body)
        elif reply.body is not None:
            found = findings(self.error_check, reply.body)
        else:
            found = []
        if not found:
            return
        ex.response_findings = found
        log.error(
            "response breaks openapi.yaml: %s %s -> %s: %s",
            ex.scope["method"],
            redact_target(ex.scope["path"], b""),
            reply.status,
            "; ".join(f.description for f in found),
        )
        if self.response_validation == "strict":
            ex.reply = invalid_response_reply(found)
            ex.reply.body["error"]["request_id"] = ex.request_id

    # --- helpers ----------------------------------------------------------------------

    def error_reply(self, ex: Exchange, exc: errors.ApiError) -> Reply:
        """The envelope for an error a stage or rule raised, with ``details`` only where
        the profile sends them (live: ACCOUNT_FROZEN and 429, as production). Details
        left out of the body go to the journal's request_violations instead."""
        keep = self.state.profile.details_only_for
        if exc.details and keep is not None and exc.kind.reason not in keep:
            _note_details(ex, exc.details)
            exc = errors.ApiError(exc.kind, None, exc.headers)
        return error_reply(exc, ex.request_id)

    def target_of(self, path: str, raw_query: bytes) -> tuple[dict[str, list[str]], str]:
        """The parsed query (read-only) and the target as the journal shows it, with
        credentials redacted; cached, since clients repeat their requests."""
        key = (path, raw_query)
        found = self._targets.get(key)
        if found is None:
            if len(self._targets) >= TARGET_CACHE_SIZE:
                self._targets.clear()
            found = (parse_query(raw_query), redact_target(path, raw_query))
            self._targets[key] = found
        return found

    def _parsed(self, ex: Exchange) -> tuple[dict[str, list[str]], str]:
        scope = ex.scope
        found = self.target_of(scope["path"], scope.get("query_string", b""))
        ex.query, ex.target = found
        return found

    def _query(self, ex: Exchange) -> Mapping[str, list[str]]:
        return ex.query if ex.target else self._parsed(ex)[0]

    def _target(self, ex: Exchange) -> str:
        return ex.target if ex.target else self._parsed(ex)[1]

    def _on_invalid_rendering(self, found: list[Finding]) -> bool:
        """A rendering broke openapi.yaml: True to refuse it (strict), else log it."""
        if self.response_validation == "off":
            return False
        log.error("response breaks openapi.yaml: %s", "; ".join(f.description for f in found))
        return self.response_validation == "strict"


# --- answers ----------------------------------------------------------------------------


def _note_details(ex: Exchange, details: list[dict[str, Any]]) -> None:
    """Details not already among the request's findings, added to them (for the journal)."""
    known = {(f.field, f.rule) for f in ex.request_findings}
    extra = [
        Finding(str(d.get("field", "")), str(d.get("rule", "")), str(d.get("description", "")))
        for d in details
        if (d.get("field"), d.get("rule")) not in known
    ]
    if extra:
        ex.request_findings = [*ex.request_findings, *extra]


def fault_reply(rule: FaultRule) -> Reply:
    assert rule.status is not None
    kind = FAULT_KINDS[rule.status]
    if rule.status == 429:
        return error_reply(
            errors.ApiError(
                kind, [{"limited_by": rule.limited_by}], {"Retry-After": str(rule.retry_after)}
            )
        )
    return error_reply(errors.ApiError(kind))


def invalid_response_reply(found: list[Finding]) -> Reply:
    details = [
        {
            "field": f.field,
            "rule": f.rule,
            "description": "fakevoipbin sent an invalid response: " + f.description,
        }
        for f in found
    ]
    return error_reply(errors.ApiError(errors.INTERNAL, details))


def _take(buckets: Buckets, key: str, state: State, tier: str) -> None:
    wait = buckets.take(key, state.clock.now_us())
    if wait:
        raise errors.ApiError(
            errors.RATE_LIMIT_EXCEEDED, [{"limited_by": tier}], {"Retry-After": str(wait)}
        )


_TOO_LARGE = Finding("body", "maxBytes", "the body is over 1 MiB")
_TOO_LATE = Finding("body", "timeout", "the body did not arrive in time")
_GONE = Finding("body", "incomplete", "the client went away before the body ended")


def _refuse_body(ex: Exchange, kind: errors.ErrorKind, finding: Finding) -> Exception:
    """Why a body was refused, noted for the journal; login answers a bare 400."""
    ex.request_findings = [*ex.request_findings, finding]
    assert ex.op is not None
    if not ex.op.secured:
        return errors.LoginFailed()
    return errors.ApiError(kind, [finding.as_detail()])


# --- the order, as the stage functions themselves --------------------------------------

#: Every stage an operation may have, in production's order (the module's docstring
#: says what each does). ``stages_for`` picks an operation's from these.
CHECK_ORDER: tuple[Stage, ...] = (
    Pipeline.request_id,
    Pipeline.cors,
    Pipeline.fault,
    Pipeline.per_ip_limit,
    Pipeline.credentials,
    Pipeline.customer_limit,
    Pipeline.frozen,
    Pipeline.query,
    Pipeline.path_id,
    Pipeline.body,
    Pipeline.operation,
)

#: The stage that runs each piece of production's middleware (``core/routetable.Guard``).
GUARD_STAGES: dict[Guard, Stage] = {
    Guard.PER_IP_LIMIT: Pipeline.per_ip_limit,
    Guard.CREDENTIALS: Pipeline.credentials,
    Guard.CUSTOMER_LIMIT: Pipeline.customer_limit,
    Guard.FROZEN: Pipeline.frozen,
}

#: The stages left out while the state does not emulate rate limits.
RATE_LIMIT_STAGES: frozenset[Stage] = frozenset({Pipeline.per_ip_limit, Pipeline.customer_limit})

#: A request that neither an operation's route nor the route table takes.
NO_ROUTE_STAGES: tuple[Stage, ...] = (
    Pipeline.trailing_slash,
    Pipeline.request_id,
    Pipeline.cors,
    Pipeline.no_route,
)

_ROUTE_STAGES: dict[tuple[Guard, ...], tuple[Stage, ...]] = {}


def route_stages(guards: tuple[Guard, ...]) -> tuple[Stage, ...]:
    """The stages of a route the fake does not model, by its group's guards: the
    request id, CORS, each guard's stage in order, then ``route_answer``."""
    found = _ROUTE_STAGES.get(guards)
    if found is None:
        found = _ROUTE_STAGES[guards] = (
            Pipeline.request_id,
            Pipeline.cors,
            *[GUARD_STAGES[guard] for guard in guards],
            Pipeline.route_answer,
        )
    return found
