"""The connection under an exchange, for the faults that HTTP messages cannot say: a
reset, a close with nothing sent, a body cut short.

An ASGI app cannot reach its socket, so the fake's server gives it one: ``protocol()``
is uvicorn's own HTTP protocol (httptools where it is installed, else h11) with two
changes. Every request's scope carries the connection's ``Wire`` under the extension
``WIRE``; the in-process transports put a ``RecordedWire`` there instead, which they
turn into the exception httpx raises for the same thing on a socket. And a request's
head (request line and headers) is read as production's Go server reads it (an
``http.Server`` with its default ``MaxHeaderBytes``, 1 MiB): up to ``MAX_HEAD_BYTES``
(1 MiB and the 4 KiB Go allows beyond it) is taken, a request line of any length
within it included (httptools' URL parser stops at 64 KiB: ``long_target`` takes the
rest), and a longer head is answered ``431`` (``HEAD_TOO_LARGE``, in the API's
envelope) and the connection closed, before the app sees it (so it is not journaled).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
from typing import Any
from urllib.parse import unquote, urlsplit

from ..core.errors import ErrorKind
from .encoding import encode_json, envelope
from .exchange import Receive, Scope, Send

#: Where a request's scope carries its connection (``scope["extensions"][WIRE]``).
WIRE = "fakevoipbin.wire"
#: Where a request that came through ``--intercept``'s tunnel is marked
#: (``scope["extensions"]``; ``web/intercept.py``), for the journal.
INTERCEPTED = "fakevoipbin.intercepted"
#: The most a request's line and headers may take: Go's ``DefaultMaxHeaderBytes``
#: (1 MiB) and the 4096 bytes ``http.Server`` reads beyond it before it answers 431.
MAX_HEAD_BYTES = (1 << 20) + 4096
#: The answer to a longer head: production's status, in the API's envelope.
HEAD_TOO_LARGE = ErrorKind(
    431,
    "INVALID_ARGUMENT",
    "REQUEST_HEADER_FIELDS_TOO_LARGE",
    "The request line and headers are over 1 MiB.",
)
#: httptools' URL parser holds offsets in 16 bits.
_HTTPTOOLS_MAX_URL = 0xFFFF


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
    h11: Any = None
    if parser == "h11":
        import h11
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    else:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base

    class WireProtocol(base):  # type: ignore[misc]
        app: Any
        url: bytes

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self.app = _WithWire(self.app, SocketWire(transport))
            # A head's bytes so far (None: a body, not a head, is being read), the
            # last three (a head's end may span two reads), and whether a head was
            # refused (the rest of the connection is dropped).
            self.head_bytes: int | None = 0
            self.head_tail = b""
            self.head_refused = False
            if h11 is not None:  # a ceiling above ours, so ours answers first
                self.conn = h11.Connection(h11.SERVER, MAX_HEAD_BYTES + 65536)

        def data_received(self, data: bytes) -> None:
            if self.head_refused:
                return
            if self.head_bytes is None and h11 is not None and self.conn.their_state is h11.IDLE:
                self.head_bytes, self.head_tail = 0, b""  # h11: the next request's head
            if self.head_bytes is not None:
                room = MAX_HEAD_BYTES - self.head_bytes
                if len(data) > room and not _head_ends(self.head_tail + data[:room]):
                    self.head_bytes = None
                    self.head_refused = True
                    refuse_head(self.transport)
                    return
                self.head_bytes += len(data)
                self.head_tail = (self.head_tail + data)[-3:]
            super().data_received(data)
            if h11 is not None and self.conn.their_state is not h11.IDLE:
                self.head_bytes = None  # h11: the head is in

        def on_headers_complete(self) -> None:  # httptools only
            self.head_bytes = None
            url = self.url
            if len(url) <= _HTTPTOOLS_MAX_URL:
                super().on_headers_complete()
                return
            self.url = b"/"  # parsed below instead
            try:
                super().on_headers_complete()
            finally:
                self.url = url
            long_target(self.scope, url, self.root_path)

        def on_message_complete(self) -> None:  # httptools only
            super().on_message_complete()
            self.head_bytes, self.head_tail = 0, b""

    WireProtocol.__name__ = WireProtocol.__qualname__ = f"Wire{base.__name__}"
    return WireProtocol


def _head_ends(data: bytes) -> bool:
    return b"\r\n\r\n" in data or b"\n\n" in data


def refuse_head(transport: Any) -> None:
    """Answer a head over ``MAX_HEAD_BYTES``: 431 in the envelope, then end our side
    (FIN) and drop what the client still sends; close when it is done, or after
    ``LINGER_S`` (as Go's server waits before it closes, so the client reads the
    answer rather than a reset)."""
    body = encode_json(envelope(HEAD_TOO_LARGE, "", None))
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: application/json; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    transport.write(head + body)
    if transport.can_write_eof():
        transport.write_eof()
    asyncio.get_running_loop().call_later(LINGER_S, transport.close)


#: How long a refused connection is read (and dropped) before it is closed.
LINGER_S = 2.0


def long_target(scope: Scope, url: bytes, root_path: str) -> None:
    """The path and query of a request target httptools cannot parse (over 64 KiB),
    put in the scope as uvicorn would have."""
    parts = urlsplit(url)
    raw_path = parts.path or b"/"
    path = raw_path.decode("latin-1")
    if "%" in path:
        path = unquote(path)
    scope["path"] = root_path + path
    scope["raw_path"] = root_path.encode("ascii") + raw_path
    scope["query_string"] = parts.query
