"""``--intercept``: the fake's port is also an HTTPS proxy, so a client that honours
``HTTPS_PROXY`` reaches the fake at ``https://api.voipbin.net`` unmodified.

``protocol(material, loopback)`` is the wire protocol (``wire.protocol``) with one
look at the first bytes of each connection; anything but ``CONNECT `` goes on to the
HTTP parser untouched. A ``CONNECT host:port`` head is judged by ``verdict``:

- ``intercept``: port 443 of a name the fake's certificate holds. The answer is
  ``200 Connection established``, then a server-side TLS handshake with the fake's
  certificate, then HTTP over the tunnel into the same app (and so the same state and
  journal), each request's scope marked ``INTERCEPTED`` (the journal's
  ``intercepted: true``).
- ``refuse``: another port of one of the fake's own (non-loopback) names, e.g.
  ``api.voipbin.net:80``: the fake stands for that host, so nothing to it may leak to
  the real one. ``403``.
- ``tunnel``: any other host, while the fake listens on loopback only: passed through
  as plain TCP, bytes unchanged and unread, one log line naming the host. On any other
  listening address it is refused ``403``, so the fake is never an open proxy.

A head that is not ``CONNECT host:port HTTP/1.x`` is answered ``400``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
from typing import Any

from ..tls import DEFAULT_NAMES
from .exchange import Receive, Scope, Send
from .wire import INTERCEPTED
from .wire import protocol as wire_protocol

#: The longest CONNECT head read; a longer one is answered 400.
MAX_CONNECT_HEAD = 8192
#: The port a client's HTTPS goes to, the one port intercepted.
HTTPS_PORT = 443
_CONNECT = b"CONNECT "

log = logging.getLogger("fakevoipbin.intercept")


def parse_connect(head: bytes) -> tuple[str, int] | None:
    """``(host, port)`` of a ``CONNECT host:port HTTP/1.x`` head, or None."""
    line = head.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) != 3 or parts[0] != b"CONNECT" or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
        return None
    try:
        target = parts[1].decode("ascii")
    except UnicodeDecodeError:
        return None
    host, sep, port_text = target.rpartition(":")
    if not sep or not host or not port_text.isdigit() or len(port_text) > 5:
        return None
    port = int(port_text)
    if not 0 < port < 65536:
        return None
    if host.startswith("["):
        if not host.endswith("]"):
            return None
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    elif not all(c.isalnum() or c in "-._" for c in host):
        return None
    return host.lower(), port


def _loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def verdict(host: str, port: int, names: frozenset[str], loopback: bool) -> tuple[str, str]:
    """``(what, why)``: what is done with ``CONNECT host:port`` ("intercept", "tunnel"
    or "refuse") by a fake whose certificate holds ``names`` and that listens on
    loopback (``loopback``) or not; ``why`` a refusal's one-line reason."""
    if host in names and port == HTTPS_PORT:
        return "intercept", ""
    if host in names and not _loopback(host):
        return "refuse", f"{host} is the fake's own host: only port {HTTPS_PORT} is intercepted"
    if not loopback:
        return "refuse", "the fake tunnels to other hosts only while it listens on loopback"
    return "tunnel", ""


def _answer(status: str, why: str) -> bytes:
    body = f"fakevoipbin: {why}\n".encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode("ascii") + body


class _Marked:
    """The app, with ``INTERCEPTED`` in every request's scope."""

    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] == "http":
            scope.setdefault("extensions", {})[INTERCEPTED] = True
        return self.app(scope, receive, send)


class _Waiting(asyncio.Protocol):
    """What a TLS tunnel's bytes go to until its HTTP protocol is attached (a client
    may send its request in the handshake's last flight)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.eof = False
        self.lost: tuple[Exception | None] | None = None

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = (exc,)


def protocol(
    context: ssl.SSLContext, names: tuple[str, ...], loopback: bool, parser: str = "auto"
) -> type[asyncio.Protocol]:
    """The wire protocol of ``parser`` that also answers CONNECT (the module's rules),
    serving TLS with ``context`` (the fake's server certificate, which holds
    ``names`` beyond ``tls.DEFAULT_NAMES``); ``loopback``: the fake listens on loopback
    only, so other hosts may be tunnelled."""
    base: Any = wire_protocol(parser)
    held = frozenset(n.lower() for n in (*DEFAULT_NAMES, *names))

    class InterceptProtocol(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            #: The connection's first bytes while they may still be a CONNECT head;
            #: None once the connection is plain HTTP (or a tunnel).
            self.sniff: bytes | None = b""
            self.pump: asyncio.StreamWriter | None = None

        def data_received(self, data: bytes) -> None:
            sniff = self.sniff
            if sniff is None:
                if self.pump is not None:
                    self.pump.write(data)
                    return
                super().data_received(data)
                return
            sniff += data
            if not sniff.startswith(_CONNECT[: len(sniff)]):
                self.sniff = None
                super().data_received(sniff)
                return
            self.sniff = sniff
            end = sniff.find(b"\r\n\r\n")
            if end < 0:
                if len(sniff) > MAX_CONNECT_HEAD:
                    self._refuse("400 Bad Request", "the CONNECT head is too long")
                return
            self._connect(sniff[: end + 4], sniff[end + 4 :])

        def _refuse(self, status: str, why: str) -> None:
            self.sniff = None
            self.transport.write(_answer(status, why))
            self.transport.close()

        def _connect(self, head: bytes, rest: bytes) -> None:
            target = parse_connect(head)
            if target is None:
                self._refuse("400 Bad Request", "not a CONNECT host:port HTTP/1.1 request")
                return
            host, port = target
            what, why = verdict(host, port, held, loopback)
            if what == "refuse":
                self._refuse("403 Forbidden", why)
                return
            self.sniff = None
            # Until the tunnel is set up, its bytes wait in the socket.
            self.transport.pause_reading()
            self.transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if what == "intercept":
                self._hand_over(self._intercept(host, rest))
            else:
                log.warning("fakevoipbin: tunnelling CONNECT %s:%d unchanged", host, port)
                self._hand_over(self._tunnel(host, port, rest))

        def _hand_over(self, work: Any) -> None:
            task = asyncio.get_running_loop().create_task(work)
            self.tunnel_task = task  # kept: a task nobody holds may be collected

        async def _intercept(self, host: str, early: bytes) -> None:
            # This protocol leaves the connection: the TLS one below serves it.
            self.connections.discard(self)
            transport = self.transport
            waiting = _Waiting()
            loop = asyncio.get_running_loop()
            try:
                if early:
                    raise ConnectionError("bytes before the TLS handshake")
                tls = await loop.start_tls(transport, waiting, context, server_side=True)
            except Exception:  # a failed handshake (the client's to report)
                transport.close()
                return
            if tls is None:
                transport.close()
                return
            served = base(
                config=self.config, server_state=self.server_state, app_state=self.app_state
            )
            served.connection_made(tls)
            served.app = _Marked(served.app)
            served.server = (host, HTTPS_PORT)
            served.sniff = None
            tls.set_protocol(served)
            for chunk in waiting.chunks:
                served.data_received(chunk)
            if waiting.lost is not None:
                served.connection_lost(waiting.lost[0])
            elif waiting.eof:
                served.eof_received()

        async def _tunnel(self, host: str, port: int, early: bytes) -> None:
            transport = self.transport
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                transport.close()
                return
            self.pump = writer
            if early:
                writer.write(early)
            transport.resume_reading()
            try:
                while data := await reader.read(65536):
                    if transport.is_closing():
                        break
                    transport.write(data)
            except OSError:
                pass
            finally:
                transport.close()
                writer.close()

        def eof_received(self) -> bool | None:
            if self.pump is not None:
                with contextlib.suppress(OSError):
                    self.pump.write_eof()
                return True
            return super().eof_received()  # type: ignore[no-any-return]

        def connection_lost(self, exc: Exception | None) -> None:
            if self.pump is not None:
                self.pump.close()
            super().connection_lost(exc)

        def shutdown(self) -> None:
            if self.pump is not None:
                self.transport.close()
                return
            super().shutdown()

    InterceptProtocol.__name__ = InterceptProtocol.__qualname__ = f"Intercept{base.__name__}"
    return InterceptProtocol
