"""The baseline: a bare Starlette app answering the fake's bodies from constants.

Served by uvicorn with the same settings as the fake, it shows what the HTTP stack
alone costs; the bench prints the fake's throughput as a ratio of this one's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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


app = Starlette(
    routes=[
        Route("/v1.0/accesskeys", list_keys, methods=["GET"]),
        Route("/v1.0/accesskeys", create_key, methods=["POST"]),
        Route("/v1.0/accesskeys/{id}", get_key, methods=["GET"]),
    ]
)
