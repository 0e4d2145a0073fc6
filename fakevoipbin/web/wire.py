"""The connection under an exchange, for the faults that HTTP messages cannot say: a
reset, a close with nothing sent, a body cut short.

An ASGI app cannot reach its socket, so the fake's server gives it one: ``protocol()``
is uvicorn's own HTTP protocol (httptools where it is installed, else h11) with one
change, that every request's scope carries the connection's ``Wire`` under the
extension ``WIRE``. The in-process transports put a ``RecordedWire`` there instead,
which they turn into the exception httpx raises for the same thing on a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
from typing import Any

from .exchange import Receive, Scope, Send

#: Where a request's scope carries its connection (``scope["extensions"][WIRE]``).
WIRE = "fakevoipbin.wire"


class Wire:
    """A connection's last act: bytes written as they are, then a clean close (FIN)
    or a reset (RST)."""

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """FIN, once what was written has gone."""
        raise NotImplementedError

    def reset(self) -> None:
        """RST, now: whatever was not yet sent is dropped."""
        raise NotImplementedError


def wire_of(scope: Scope) -> Wire | None:
    extensions = scope.get("extensions")
    return None if not extensions else extensions.get(WIRE)


class SocketWire(Wire):
    """An asyncio transport's socket."""

    __slots__ = ("transport",)

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def close(self) -> None:
        self.transport.close()

    def reset(self) -> None:
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            # A zero linger turns the close into a reset (RST), on every POSIX stack.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class RecordedWire(Wire):
    """What the app did to the connection, for a transport with no socket."""

    __slots__ = ("written", "ended")

    def __init__(self) -> None:
        self.written = bytearray()
        #: None while open, then "close" or "reset".
        self.ended: str | None = None

    def write(self, data: bytes) -> None:
        if self.ended is None:
            self.written += data

    def close(self) -> None:
        self.ended = self.ended or "close"

    def reset(self) -> None:
        self.ended = self.ended or "reset"


async def drain(receive: Receive) -> None:
    """Read the rest of the request body, so a close is a FIN (a socket closed with
    unread bytes in it sends RST instead)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def until_gone(receive: Receive, timeout_s: float = 10.0) -> None:
    """Wait until the server has seen the connection go, so it neither logs an answer
    that never started nor tries to send one."""

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(gone(), timeout_s)


class _WithWire:
    """The app, with the connection's wire in every request's scope."""

    __slots__ = ("app", "wire")

    def __init__(self, app: Any, wire: Wire) -> None:
        self.app = app
        self.wire = wire

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] == "http":
            extensions = scope.get("extensions")
            if extensions is None:
                scope["extensions"] = {WIRE: self.wire}
            else:
                extensions[WIRE] = self.wire
        return self.app(scope, receive, send)


@functools.cache
def protocol(parser: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, giving each request its wire: ``parser`` "httptools",
    "h11", or "auto" (httptools where it is installed, else h11, as uvicorn picks)."""
    base: Any
    if parser == "auto":
        try:
            import httptools  # noqa: F401
        except ImportError:  # not installed: uvicorn's pure-Python parser
            parser = "h11"
    if parser == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    else:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base

    class WireProtocol(base):  # type: ignore[misc]
        app: Any

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self.app = _WithWire(self.app, SocketWire(transport))

    WireProtocol.__name__ = WireProtocol.__qualname__ = f"Wire{base.__name__}"
    return WireProtocol
