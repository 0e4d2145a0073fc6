"""httpx transports that reach the ASGI app in-process, with no socket.

``InProcessTransport`` is for a plain ``httpx.Client``: it runs the app on one
private event loop in a daemon thread, so sync tests pay no per-request loop
start-up (Starlette's TestClient starts a portal per request).
``AsyncInProcessTransport`` is the same for an ``httpx.AsyncClient``, on the caller's
loop. Both give the app a ``RecordedWire`` (web/wire.py), so a fault that ends the
connection raises what httpx raises for it over a socket: ``httpx.ReadError`` for a
reset, ``httpx.RemoteProtocolError`` for an empty answer or a body cut short.

A client's ``timeout`` holds as it does over a socket: its read timeout runs from the
request to the answer's head and again for each piece of the body (httpx's read
timeout is per read, so a slow body whose pieces each come in time is read whole);
past it, ``httpx.ReadTimeout`` and the app's call is cancelled, as a client that hangs
up leaves the server's answer unread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, TypeVar

import httpx

from .exchange import Receive, Scope, Send
from .wire import WIRE, RecordedWire

T = TypeVar("T")
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
    """Send each request straight into the app, as uvicorn would, minus the socket.

    Each calling thread gets its own event loop, run in place; a thread that is
    already running a loop (a sync client inside async code) hands the request to
    one shared loop thread instead."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._app = app
        self._client_addr = client
        self._loop: _LoopThread | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            loop = getattr(self._local, "loop", None)
            if loop is None:
                loop = self._local.loop = asyncio.new_event_loop()
                with self._lock:
                    self._loops.append(loop)
            return loop.run_until_complete(coro)
        return self._runner().run(coro)

    def _runner(self) -> _LoopThread:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread()
            return self._loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        status, headers, body = self._run(call_app(self._app, self._client_addr, request))
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.close()
                self._loop = None
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()
        self._local = threading.local()


class AsyncInProcessTransport(httpx.AsyncBaseTransport):
    """``InProcessTransport`` for an ``httpx.AsyncClient``: the app runs on the
    caller's own event loop."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._app = app
        self._client_addr = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        status, headers, body = await call_app(self._app, self._client_addr, request)
        return httpx.Response(status, headers=headers, content=body, request=request)


async def call_app(
    app: ASGIApp, client: tuple[str, int], request: httpx.Request
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One ASGI HTTP exchange, without the socket (and without anyio); a connection
    the app ended raises as httpx would over a socket."""
    url = request.url
    content = request.content
    wire = RecordedWire()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "client": client,
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "extensions": {WIRE: wire},
    }
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if sent_body or wire.ended:
            return {"type": "http.disconnect"}
        sent_body = True
        return {"type": "http.request", "body": content, "more_body": False}

    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    deadline = None if (read := read_timeout(request)) is None else ReadDeadline(read)

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        if deadline is not None:  # something arrived: the next read waits afresh
            deadline.renew()

    if deadline is None:
        await app(scope, receive, send)
    else:
        try:
            await app(scope, receive, send)
        except asyncio.CancelledError:
            if deadline.expired():
                raise httpx.ReadTimeout("timed out", request=request) from None
            raise
        finally:
            deadline.stop()
    if wire.ended is not None:
        raise connection_ended(wire, request)
    return status, headers, b"".join(chunks)


class ReadDeadline:
    """A read timeout for the running task: one loop timer, renewed whenever something
    arrives; when it fires, the task is cancelled and ``expired()`` says why."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.fired = False
        self.timer = self.loop.call_later(seconds, self._fire)

    def _fire(self) -> None:
        self.fired = True
        if self.task is not None:
            self.task.cancel()

    def renew(self) -> None:
        if not self.fired:
            self.timer.cancel()
            self.timer = self.loop.call_later(self.seconds, self._fire)

    def expired(self) -> bool:
        """Whether the cancellation was this timer's (then it is taken back: the task
        goes on, to raise the timeout)."""
        if self.fired and self.task is not None and hasattr(self.task, "uncancel"):
            self.task.uncancel()  # Python 3.11+: the cancel was ours, not the caller's
        return self.fired

    def stop(self) -> None:
        self.timer.cancel()


def read_timeout(request: httpx.Request) -> float | None:
    """The client's read timeout for this request (httpx puts its ``Timeout`` in the
    request's extensions), in seconds; None waits for ever."""
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read")
    return None if read is None else float(read)


def connection_ended(wire: RecordedWire, request: httpx.Request) -> httpx.TransportError:
    """What httpx (httpcore over h11) raises when a server ends the connection so."""
    if wire.ended == "reset":
        return httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
    head, _sep, body = bytes(wire.written).partition(b"\r\n\r\n")
    if not head:
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    expected = 0
    for line in head.split(b"\r\n")[1:]:
        name, _colon, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            expected = int(value.strip())
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body "
        f"(received {len(body)} bytes, expected {expected})",
        request=request,
    )
