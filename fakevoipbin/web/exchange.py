"""One request on its way through the pipeline, and the answer it gets.

``Exchange`` carries what each stage of ``web/pipeline.py`` learns (the request id,
who is calling, the bound query, id and body, the fault that fired, the reply), so
no stage reaches into another's locals. ``Reply`` is what the operation (or an
error) answers, before the pipeline checks, journals and sends it (``web/frame.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .encoding import JSON_TYPE

if TYPE_CHECKING:
    from ..core.auth import Identity
    from ..core.faults import FaultRule
    from ..core.routetable import Route
    from ..spec import Finding, Operation

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(slots=True)
class Reply:
    """``body`` is checked against openapi.yaml and encoded on the way out; ``raw`` is
    bytes already checked (a cached rendering, a file). ``content_type`` is the body's
    (JSON unless said otherwise); a reply with no body has none."""

    status: int
    body: Any
    headers: Sequence[tuple[bytes, bytes]] = ()
    raw: bytes | None = None
    content_type: bytes = JSON_TYPE


class Exchange:
    """What the stages learn about one request, in the order they learn it."""

    __slots__ = (
        "scope",
        "receive",
        "send",
        "op",
        "route",
        "headers",
        "request_id",
        "extra",
        "query",
        "target",
        "identity",
        "auth",
        "params",
        "path",
        "body",
        "raw_body",
        "body_read",
        "violations",
        "request_findings",
        "fault",
        "faulted",
        "handler_status",
        "reply",
        "response_findings",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send, op: Operation | None) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        #: The operation the router matched (None: no route).
        self.op = op
        #: With no operation: the production route the route table matched, if any
        #: (``Pipeline.unrouted`` sets it).
        self.route: Route | None = None
        #: Request headers by lower-case name (latin-1 text).
        self.headers: dict[str, str] = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
        }
        #: The client's X-Request-Id, or one made from the seed ("" for a redirect).
        self.request_id = ""
        #: Headers every answer to this request carries: X-Request-Id, CORS.
        self.extra: list[tuple[bytes, bytes]] = []
        #: The parsed query (shared, read-only) and the target as the journal shows it.
        self.query: Mapping[str, list[str]] = _NOTHING
        self.target = ""
        #: Who is calling, once the credentials stage found out; ``auth`` names them
        #: for the journal (a key's prefix, an agent), or says why they were refused.
        self.identity: Identity | None = None
        self.auth = ""
        #: The bound query parameters, path parameters and body fields (each stage that
        #: binds them stores a new mapping; until then they are empty).
        self.params: Mapping[str, Any] = _NOTHING
        self.path: Mapping[str, str] = _NOTHING
        self.body: Mapping[str, Any] = _NOTHING
        #: The request body as read (for the journal, which redacts it when read).
        self.raw_body = b""
        #: Whether the whole body has been read from ``receive`` (so nothing is left).
        self.body_read = False
        #: Business-rule findings the operation raises after its permission check.
        self.violations: Sequence[dict[str, Any]] = ()
        #: How the request broke openapi.yaml (for the journal and ``run``'s report).
        self.request_findings: Sequence[Finding] = ()
        #: The fault rule that fired for this request, if one did; ``faulted`` when the
        #: reply is the fault's own (not checked against openapi.yaml), and
        #: ``handler_status`` the status the handler gave when a rule's when is "after".
        self.fault: FaultRule | None = None
        self.faulted = False
        self.handler_status: int | None = None
        self.reply: Reply | None = None
        #: How the reply broke openapi.yaml, if it did.
        self.response_findings: Sequence[Finding] = ()


#: The empty mapping every Exchange starts with (read-only, so shared).
_NOTHING: Mapping[str, Any] = MappingProxyType({})
