"""How a fault rule's outcome reaches the client (the rules themselves, and which one
fires, are ``core/faults.py``).

- ``status_seen``: the status the client gets, for the journal (0: no status line).
- ``deliver``: the answer sent the way the rule's ``kind`` says, down to the socket
  (``web/wire.py``) for a reset, an empty answer or a body cut short.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus

from ..core.faults import FaultRule
from .encoding import JSON_TYPE
from .exchange import Exchange, Message
from .wire import drain, until_gone, wire_of

#: A load balancer's own error page (no envelope, no X-Request-Id), by status.
PROXY_PAGES = {
    status: (
        f"<html>\r\n<head><title>{status} {HTTPStatus(status).phrase}</title></head>\r\n"
        f"<body>\r\n<center><h1>{status} {HTTPStatus(status).phrase}</h1></center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode("ascii")
    for status in (502, 504)
}
PROXY_KINDS = {"proxy_502": 502, "proxy_504": 504}
#: The kinds that end the connection instead of answering on it.
WIRE_KINDS = frozenset({"connection_reset", "empty_response", "truncated_body"})
#: How many pieces a slow body comes in (fewer when it is shorter).
SLOW_BODY_PIECES = 10

Sleep = Callable[[float], Awaitable[None]]


def status_seen(rule: FaultRule, reply_status: int) -> int:
    """The status line the client reads (0 when the connection ends without one)."""
    kind = rule.kind
    if kind in ("connection_reset", "empty_response"):
        return 0
    if kind == "malformed_json":
        return 200
    if kind in PROXY_KINDS:
        return PROXY_KINDS[kind]
    return reply_status


async def deliver(
    ex: Exchange, rule: FaultRule, start: Message, body: Message, sleep: Sleep
) -> None:
    """Send the answer (``start`` and ``body``, as the pipeline made it) the way the
    rule's kind says."""
    kind = rule.kind
    if kind in WIRE_KINDS:
        await _end_connection(ex, kind, start, body["body"])
    elif kind == "malformed_json":
        content: bytes = body["body"]
        bad = content[: len(content) // 2] if len(content) > 2 else b'{"'
        headers = [*_own_headers(start), (b"content-type", JSON_TYPE), _length(bad)]
        await _send(ex, 200, headers, bad)
    elif kind in PROXY_KINDS:
        page = PROXY_PAGES[PROXY_KINDS[kind]]
        headers = [(b"content-type", b"text/html"), _length(page)]
        await _send(ex, PROXY_KINDS[kind], headers, page)
    elif kind == "slow_body":
        await _trickle(ex, start, body["body"], rule.delay_ms / 1000, sleep)
    else:  # slow_headers: the wait is before the status line (when "before": already had)
        if kind == "slow_headers" and rule.when == "after":
            await sleep(rule.delay_ms / 1000)
        await ex.send(start)
        await ex.send(body)


async def _end_connection(ex: Exchange, kind: str, start: Message, content: bytes) -> None:
    wire = wire_of(ex.scope)
    if wire is None:
        raise RuntimeError(
            f"a {kind} fault needs fakevoipbin's own server or in-process client "
            "(this ASGI server gives the app no connection)"
        )
    if not ex.body_read:
        await drain(ex.receive)
    if kind == "connection_reset":
        wire.reset()
    elif kind == "empty_response":
        wire.close()
    else:  # truncated_body: the whole head, with the full Content-Length; half the body
        wire.write(_head(start) + content[: len(content) // 2])
        wire.close()
    await until_gone(ex.receive)


def _head(start: Message) -> bytes:
    status: int = start["status"]
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode("ascii")]
    lines += [name + b": " + value for name, value in start["headers"]]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _trickle(
    ex: Exchange, start: Message, content: bytes, over_s: float, sleep: Sleep
) -> None:
    await ex.send(start)
    pieces = max(1, min(SLOW_BODY_PIECES, len(content)))
    size = -(-len(content) // pieces) if content else 0
    for i in range(pieces):
        await sleep(over_s / pieces)
        piece = content[i * size : (i + 1) * size]
        await ex.send({"type": "http.response.body", "body": piece, "more_body": True})
    await ex.send({"type": "http.response.body", "body": b"", "more_body": False})


def _own_headers(start: Message) -> list[tuple[bytes, bytes]]:
    """The answer's headers less its body's own (type and length)."""
    return [
        (name, value)
        for name, value in start["headers"]
        if name not in (b"content-type", b"content-length")
    ]


def _length(content: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", str(len(content)).encode("ascii"))


async def _send(
    ex: Exchange, status: int, headers: list[tuple[bytes, bytes]], content: bytes
) -> None:
    await ex.send({"type": "http.response.start", "status": status, "headers": headers})
    await ex.send({"type": "http.response.body", "body": content})
