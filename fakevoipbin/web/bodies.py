"""Request bodies, read whole, within a size limit and a deadline.

The API refuses a body over 1 MiB (413) and one that has not arrived after 30 s
(408); the control API takes up to 64 MiB under the same deadline. Both read through
one ``BodyReader``, which the app builds and hands to each.
"""

from __future__ import annotations

from collections.abc import Awaitable

from .deadlines import Deadlines
from .exchange import Receive

#: The API's limit: a larger body is 413 REQUEST_BODY_TOO_LARGE.
MAX_BODY = 1 << 20
#: A body that has not fully arrived after this long is refused (408), so a client
#: that stalls cannot hold a request open for ever.
BODY_TIMEOUT_S = 30.0


class BodyGone(Exception):
    """The client went away before its body ended."""


async def read_all(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes ``limit`` (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]


class BodyReader:
    """``await reader.read(receive, limit)``: the body, None when it is over
    ``limit``, ``asyncio.TimeoutError`` after ``timeout_s``, ``BodyGone`` when the
    client leaves first."""

    def __init__(self, timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.deadlines = Deadlines()

    def read(self, receive: Receive, limit: int) -> Awaitable[bytes | None]:
        """The read, under the deadline (to be awaited)."""
        return self.deadlines.within(read_all(receive, limit), self.timeout_s)
