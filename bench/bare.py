"""The baseline: a bare Starlette app with the fake's own routes, answering the fake's
bodies from constants.

Its route table is the fake's: one ``ExactRoute`` per operation in openapi.yaml, in
the same order, then ``/openapi.yaml`` and the control API's ``Mount`` at ``/_fake``,
so the router's cost is on both sides of each ratio. Its endpoints are plain
Starlette functions (a ``Request`` in, a ``Response`` out), as a bare Starlette app
is written. Served by uvicorn with the same settings as the fake, it shows what the
HTTP stack alone costs; the bench prints the fake's throughput as a ratio of this
one's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Router

from fakevoipbin.spec import default_spec
from fakevoipbin.web.routing import ExactRoute

BODIES = json.loads(Path(os.environ["FAKEVOIPBIN_BENCH_BODIES"]).read_text())
KEY = BODIES["get"].encode()
CREATED = BODIES["create"].encode()
LIST_100 = BODIES["list"].encode()
JSON = "application/json; charset=utf-8"


async def get_key(request: Request) -> Response:
    return Response(KEY, media_type=JSON)


async def list_keys(request: Request) -> Response:
    return Response(LIST_100, media_type=JSON)


async def create_key(request: Request) -> Response:
    await request.body()
    return Response(CREATED, media_type=JSON)


async def other(request: Request) -> Response:
    await request.body()
    return Response(KEY, media_type=JSON)


ANSWERS = {"GetAccesskeys": list_keys, "PostAccesskeys": create_key, "GetAccesskeysId": get_key}


def routes() -> list[BaseRoute]:
    table: list[BaseRoute] = [
        ExactRoute(op.path, ANSWERS.get(op.operation_id, other), op.method)
        for op in default_spec().operations.values()
    ]
    table.append(ExactRoute("/openapi.yaml", other, "GET"))
    table.append(Mount("/_fake", app=Router([ExactRoute("/health", other, "GET")])))
    return table


app = Starlette(routes=routes())
