"""httpx transports that reach the ASGI app in-process, with no socket.

``InProcessTransport`` is for a plain ``httpx.Client``: it runs the app on one
private event loop in a daemon thread, so sync tests pay no per-request loop
start-up (Starlette's TestClient starts a portal per request).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

from .app import Application

T = TypeVar("T")


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="fakevoipbin-inprocess", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class InProcessTransport(httpx.BaseTransport):
    """Send each request straight into the app, as uvicorn would, minus the socket."""

    def __init__(self, app: Application, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop: _LoopThread | None = None
        self._lock = threading.Lock()

    def _runner(self) -> _LoopThread:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread()
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def go() -> tuple[int, httpx.Headers, bytes, dict[str, Any]]:
            request.stream = httpx.ByteStream(request.read())
            response = await self._inner.handle_async_request(request)
            body = await response.aread()
            return response.status_code, response.headers, body, response.extensions

        status, headers, body, extensions = self._runner().run(go())
        return httpx.Response(status, headers=headers, content=body, extensions=extensions)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.close()
                self._loop = None
