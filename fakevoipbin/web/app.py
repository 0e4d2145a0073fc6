"""The fake's one Starlette application.

- One route per operation in openapi.yaml (``ExactRoute``: one method each, as gin
  routes), whose endpoint runs that operation's stages of the pipeline
  (``web/pipeline.py``, production's check order).
- ``GET /openapi.yaml``: the spec the fake runs on (``SpecFile``).
- ``GET /ping``: production's health check, 200 ``{"message":"pong"}`` (``Ping``).
- The control API, mounted at ``/_fake`` (``web/control.py``), unless it is off.
- Whatever no route takes goes to the router's default, ``Pipeline.unrouted``: a
  route production serves and the fake does not model (``core/routetable.py``) runs
  its group's middleware and gets 501 NOT_MODELLED (or production's own answer where
  it needs no model); else production's trailing-slash redirect, CORS preflights, 404
  ROUTE_NOT_FOUND. Only requests that every modelled route has refused get there, so
  the modelled ones never pay for the table's lookup.
- A last resort for a bug in the fake: Starlette's ServerErrorMiddleware, with a
  handler that answers 500 INTERNAL in the API's envelope (never a traceback).

``build_app`` returns a ``WebApp``: ``asgi`` is what uvicorn and the in-process
transports serve; the rest is what the Python face and the tests reach for.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from ..core import errors
from ..core.state import State
from ..spec import Operation, Spec
from . import frame
from .bodies import BodyReader
from .control import ResetTo, control_mount
from .encoding import JSON_TYPE, encode_json, envelope
from .exchange import Exchange, Receive, Reply, Scope, Send
from .pipeline import Pipeline, Stage
from .request_id import SIDE_IDS
from .routing import ExactRoute


class OperationEndpoint:
    """The ASGI app behind one operation's route: its stages, in order (with the rate
    limits' stages while the state emulates them)."""

    __slots__ = ("pipeline", "op", "limited", "unlimited")

    def __init__(self, pipeline: Pipeline, op: Operation) -> None:
        self.pipeline = pipeline
        self.op = op
        self.limited: tuple[Stage, ...] = pipeline.stages_for(op, rate_limit=True)
        self.unlimited: tuple[Stage, ...] = pipeline.stages_for(op, rate_limit=False)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # The pipeline's coroutine itself is the ASGI call (no wrapper to await).
        pipeline = self.pipeline
        stages = self.limited if pipeline.state.rate_limit else self.unlimited
        return pipeline.run(Exchange(scope, receive, send, self.op), stages)


@dataclass(frozen=True)
class WebApp:
    """The fake's web face over one state."""

    asgi: Starlette
    state: State
    spec: Spec
    pipeline: Pipeline
    bodies: BodyReader


def build_app(
    state: State,
    spec: Spec,
    *,
    response_validation: str = "strict",
    access_log: bool = False,
    control: bool = True,
    control_token: str | None = None,
    reset: ResetTo | None = None,
) -> WebApp:
    """The application: routes from ``spec``, the control API on ``/_fake`` when
    ``control`` (behind ``X-Fake-Control-Token`` when ``control_token``), whose
    ``POST /_fake/reset`` calls ``reset`` with the settings it was given."""
    bodies = BodyReader()
    pipeline = Pipeline(
        state,
        spec,
        bodies,
        response_validation=response_validation,
        access_log=access_log,
        fault_header=control,
        control_token=control_token,
    )
    operations: list[BaseRoute] = [
        ExactRoute(op.path, OperationEndpoint(pipeline, op), op.method, name=op.operation_id)
        for op in spec.operations.values()
    ]
    # The API's own routes: each operation's, and production's health check.
    api: list[BaseRoute] = [*operations, ExactRoute("/ping", Ping(state), "GET")]
    routes = [*api, ExactRoute("/openapi.yaml", SpecFile(state, spec), "GET")]
    if control:
        routes.append(control_mount(state, spec, bodies, control_token, reset))
    asgi = Starlette(routes=routes, exception_handlers={Exception: _internal_error})
    # gin's routing, not Starlette's: no 307 for every method on a trailing slash (the
    # pipeline redirects as production does), and our own 404 for whatever is left.
    asgi.router.redirect_slashes = False
    asgi.router.default = pipeline.unrouted
    pipeline.routes_match = Matcher(api)
    return WebApp(asgi, state, spec, pipeline, bodies)


class Matcher:
    """Whether a method and path name one of the routes (for the redirect)."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.routes = routes

    def __call__(self, method: str, path: str) -> bool:
        probe = {"type": "http", "method": method, "path": path, "root_path": ""}
        return any(route.matches(probe)[0] is Match.FULL for route in self.routes)


class PlainAnswer:
    """A route that always gives one answer, in the frame's request id and CORS and
    not journaled: what production's global middleware does before a handler that
    reads nothing of the request."""

    def __init__(self, state: State, reply: Reply) -> None:
        self.state = state
        self.reply = reply

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = Exchange(scope, receive, send, None)
        frame.request_id(ex, self.state.seeds, SIDE_IDS)
        frame.cors(ex)  # a GET is never a preflight
        await frame.send_reply(send, self.reply, ex.extra)


class SpecFile(PlainAnswer):
    """``GET /openapi.yaml``: the spec this fake runs on."""

    def __init__(self, state: State, spec: Spec) -> None:
        text = spec.text.encode("utf-8")
        super().__init__(state, Reply(200, None, raw=text, content_type=YAML_TYPE))


class Ping(PlainAnswer):
    """``GET /ping``: production's health check (bin-api-manager's ``GetPing``),
    ``{"message":"pong"}`` in both profiles. Production routes it with no rate limit
    and no authentication, after its global middleware (request id, CORS). Not
    journaled: a health checker polling it would push a client's calls out of the
    journal, and it is neither an operation of openapi.yaml nor a route the fake
    leaves unmodelled, so ``run``'s report has no line for it."""

    def __init__(self, state: State) -> None:
        super().__init__(state, Reply(200, None, raw=encode_json(PONG)))


#: ``GET /ping``'s body.
PONG: dict[str, Any] = {"message": "pong"}
YAML_TYPE = b"application/yaml; charset=utf-8"


async def _internal_error(_request: Request, _exc: Exception) -> Response:
    body = encode_json(envelope(errors.INTERNAL, "", None))
    return Response(body, status_code=500, headers={"content-type": JSON_TYPE.decode()})
