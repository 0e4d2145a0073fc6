"""The frame every answer leaves through, written once: the request id, CORS, the error
envelope, the journal entry and the send.

- ``request_id`` and ``cors``: what production's global middleware adds to every
  routed answer: X-Request-Id (the client's, or one from the seed) and the CORS
  headers; a preflight is answered right there (204, by raising ``Answered``).
- ``error_reply``: an ``ApiError`` as a ``Reply`` in the API's envelope.
- ``journal``: the exchange written down (and to the access log), credentials redacted.
- ``messages`` and ``send_reply``: a ``Reply`` as its two ASGI messages (its body
  encoded, its headers after the request's own), and those sent.

Who uses which: the operations and the routes the fake does not model
(``Pipeline.run``) use all five; the control API (``web/control.ControlGate``), the
spec file and ``GET /ping`` (``web/app.py``) are not journaled; the proxy's own
answers (its 413, 502, 504 and control replies) use the envelope and the send, with
no request id of their own.
"""

from __future__ import annotations

import logging

from ..core import errors
from ..core.faults import FaultRule
from ..core.journal import KEPT_HEADERS
from ..core.printable import shown
from ..core.seeds import Seeds
from ..core.state import State
from . import cors as cors_rules
from .encoding import encode_json, envelope
from .exchange import Exchange, Message, Reply, Scope, Send
from .faults import status_seen
from .request_id import API_IDS, request_id_for
from .wire import INTERCEPTED

access_log = logging.getLogger("fakevoipbin.access")


class Answered(Exception):
    """A stage has set the reply and the rest of the stages are skipped (a preflight,
    a redirect, an injected fault)."""


# --- what every routed answer carries ---------------------------------------------------


def request_id(ex: Exchange, seeds: Seeds, purpose: str = API_IDS) -> None:
    """X-Request-Id: the client's own when it is well formed, else one from the seed
    (the API's stream, or ``SIDE_IDS`` for an answer that is not the API's); on the
    exchange (for the envelope and the journal) and on the answer."""
    ex.request_id = request_id_for(ex.headers, seeds, purpose)
    ex.extra.append((b"x-request-id", ex.request_id.encode("ascii")))


def cors(ex: Exchange) -> None:
    """Production's CORS headers (``web/cors.py``) for a cross-origin request; a
    preflight (a cross-origin OPTIONS) is answered here: 204, no body."""
    if "origin" not in ex.headers:
        return
    method = ex.scope["method"]
    found = cors_rules.headers_for(method, ex.headers)
    if found:
        ex.extra += found
        if method == "OPTIONS":
            ex.reply = Reply(204, None)
            raise Answered()


# --- the envelope -----------------------------------------------------------------------


def error_reply(exc: errors.ApiError, request_id: str = "") -> Reply:
    """The error's envelope (``web/encoding.envelope``), with its headers (a 429's
    Retry-After)."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    return Reply(exc.kind.http, envelope(exc.kind, request_id, exc.details), headers)


# --- the journal --------------------------------------------------------------------------


def log_access(scope: Scope, target: str, status: int) -> None:
    """One line for the ``fakevoipbin.access`` logger: client, method, target, status."""
    client = scope.get("client") or ("-", 0)
    access_log.info(
        '%s:%s "%s %s" %d', client[0], client[1], scope["method"], shown(target), status
    )


def journal(
    ex: Exchange, state: State, target: str, access: bool, answer: Message | None = None
) -> None:
    """Write the exchange down (and to the access log when ``access``), credentials
    redacted: what was asked (``target`` already redacted; the body as read,
    unparsed; Content-Type, User-Agent and X-Request-Id, never Authorization or
    Cookie), what was answered (the status the client saw and the error envelope's
    reason) and by whom. Before the answer is sent, so a client that has its answer
    finds the exchange written down. A request stopped before the body stage has no
    body in the journal: it was never read. ``answer``: the body message ``messages``
    made, whose bytes the journal keeps as they are (for a HAR), with ``ex.extra``,
    which ``messages`` filled with every header sent: nothing is encoded twice."""
    reply = ex.reply
    assert reply is not None
    if access:
        log_access(ex.scope, target, reply.status)
    rule = ex.fault
    headers = ex.headers
    body = reply.body
    op = ex.op
    state.journal.record(
        time_us=state.clock.now_us(),
        method=ex.scope["method"],
        target=target,
        operation_id=op.operation_id
        if op is not None
        else (ex.route.operation if ex.route is not None else None),
        modelled=op is not None,
        status=reply.status if rule is None else status_seen(rule, reply.status),
        request_id=ex.request_id or None,
        auth=ex.auth,
        request_violations=[f.as_detail() for f in ex.request_findings]
        if ex.request_findings
        else None,
        response_violations=[f.as_detail() for f in ex.response_findings]
        if ex.response_findings
        else None,
        fault=None if rule is None else _fault_note(ex, rule),
        reason=body["error"].get("reason")
        if reply.status >= 400 and type(body) is dict and type(body.get("error")) is dict
        else None,
        body=ex.raw_body,
        headers=tuple([(name, headers[name]) for name in KEPT_HEADERS if name in headers]),
        intercepted=INTERCEPTED in extensions
        if (extensions := ex.scope.get("extensions"))
        else False,
        answer=b"" if answer is None else answer["body"],
        answer_headers=ex.extra,
    )


def _fault_note(ex: Exchange, rule: FaultRule) -> dict[str, object]:
    return {
        "rule": rule.id or None,
        "injected": True,
        "kind": rule.kind,
        "status": rule.status,
        "delay_ms": rule.delay_ms,
        "when": rule.when,
        "header": rule.id == 0,
        "handler_status": ex.handler_status,
    }


# --- the send -----------------------------------------------------------------------------


def messages(reply: Reply, headers: list[tuple[bytes, bytes]]) -> tuple[Message, Message]:
    """The reply as its two ASGI messages: its body encoded (JSON, unless ``raw``
    bytes of their own type), its headers after ``headers`` (the request's own:
    X-Request-Id, CORS), which it extends. A 204 has no Content-Length, as Go's
    server sends it."""
    if reply.headers:
        headers.extend(reply.headers)
    if reply.raw is not None:
        body = reply.raw
        headers.append((b"content-type", reply.content_type))
    elif reply.body is not None:
        body = encode_json(reply.body)
        headers.append((b"content-type", reply.content_type))
    else:
        body = b""
    if reply.status != 204:
        headers.append((b"content-length", str(len(body)).encode("ascii")))
    return (
        {"type": "http.response.start", "status": reply.status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


async def send_reply(
    send: Send, reply: Reply, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send ``reply`` (after ``headers``, the request's own)."""
    start, body = messages(reply, [] if headers is None else headers)
    await send(start)
    await send(body)
