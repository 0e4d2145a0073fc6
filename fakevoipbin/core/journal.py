"""The request journal: a bounded ring buffer of what clients sent and what the fake
answered, credentials and secrets redacted (``Journal``), and one exchange as it shows
(``Entry``).

On the hot path an exchange is one tuple of strings, bytes, numbers and tuples of them
(the request body as it came, cut at 4 KiB), which the garbage collector stops
tracking. The body is parsed and redacted only when the journal is read. The matchers
tests assert with (``assert_called`` and the rest) are the testing face's
(``fakevoipbin.journal_queries``), over the entries this gives.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .clock import format_fixed, parse_instant
from .jsonbody import parse_json_body
from .redact import redact_body_text, redact_json, redact_text

DEFAULT_SIZE = 10_000
#: The most of a request body an entry keeps.
MAX_BODY = 4096
#: The request headers an entry keeps, as sent (never Authorization or Cookie).
KEPT_HEADERS = ("content-type", "user-agent", "x-request-id")
#: The answer's headers an exchange keeps (never Set-Cookie), for its HAR.
KEPT_ANSWER_HEADERS = (
    "content-encoding",
    "content-type",
    "location",
    "retry-after",
    "x-request-id",
)


#: Each journal's numbering, unique in the process: a new one at each clear.
_EPOCHS = itertools.count(1)

#: The fields ``Entry.from_dict`` cannot do without.
_REQUIRED = ("seq", "time", "method", "target", "operation_id", "status")


@dataclass(slots=True)
class Entry:
    """One exchange, as the journal shows it.

    ``target`` is the path and query with every credential redacted (``query`` parses
    it); ``auth`` the authenticating key's prefix (or agent), or why auth failed;
    ``reason`` the error envelope's reason (None for a success, and for an answer with
    no envelope: a redirect, a refused login's bare 400). ``json`` is the request body
    parsed, each ``token``, ``accesskey``, ``password`` and ``webhook_secret`` field
    (at any depth, in any case) ``"[REDACTED]"`` and tokens in other strings shrunk to
    their prefix, in values JSON carries with the client's digits (``parse_body``: an
    integer stays whole, ``1e309`` is the string ``"1e309"``, a lone surrogate U+FFFD);
    it is what the API read, parsed by the API's parser (the first JSON value, bytes
    after it ignored, invalid UTF-8 as U+FFFD; a body starting with a BOM is not
    JSON), and None when no body was read, or it was not JSON, or it was cut.
    ``body`` is then the body as text, redacted best effort (None when there was none
    or it was JSON). ``body_truncated``: the body was over ``MAX_BODY`` bytes and only
    its start is kept. ``headers`` holds the Content-Type, User-Agent and X-Request-Id
    the client sent, by lower-case name (never Authorization or Cookie).
    ``modelled`` is True when an operation of openapi.yaml answered; False for a route
    production serves that the fake does not model (``operation_id`` is then the route
    table's operation name, e.g. ``GetCalls``, and a request let through its middleware
    is answered 501 ``NOT_MODELLED``), and for a request to no route at all
    (``operation_id`` None: a 404 or a trailing-slash redirect). ``drift`` is
    ``fakevoipbin proxy``'s alone: each rule the upstream's answer broke, as
    ``{rule, message, evidence}`` (the evidence redacted); a fake's entries have none.
    ``answered_by`` is the proxy's alone too: ``"upstream"`` when the upstream's answer
    was forwarded, ``"proxy"`` when the proxy answered in its place (502
    ``UPSTREAM_UNREACHABLE``, 504 ``UPSTREAM_TIMEOUT``, a 413 over its body limit);
    None in a fake's entries. ``intercepted`` is True when the request came through
    ``--intercept``'s tunnel (a client that asked for ``https://api.voipbin.net``
    through the fake as its HTTPS proxy)."""

    seq: int
    time_us: int
    method: str
    target: str
    operation_id: str | None
    status: int
    request_id: str | None = None
    auth: str = ""
    request_violations: list[dict[str, Any]] = field(default_factory=list)
    response_violations: list[dict[str, Any]] = field(default_factory=list)
    fault: dict[str, Any] | None = None
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    body: str | None = None
    body_truncated: bool = False
    modelled: bool = True
    drift: list[dict[str, Any]] = field(default_factory=list)
    answered_by: str | None = None
    intercepted: bool = False

    @property
    def time(self) -> str:
        """When the fake's clock saw it (formatted on demand, off the hot path)."""
        return format_fixed(self.time_us)

    @property
    def query(self) -> dict[str, list[str]]:
        """The query parameters as sent, each name's values in order (a credential's
        value is ``[REDACTED]``)."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def as_dict(self) -> dict[str, Any]:
        """The entry as ``GET /_fake/journal`` shows it: ``seq``, ``time`` (RFC 3339,
        six fraction digits) and every other field by its name (``Entry.from_dict``
        undoes it)."""
        out: dict[str, Any] = {"seq": self.seq, "time": self.time}
        for f in fields(self):
            if f.name not in ("seq", "time_us"):
                out[f.name] = getattr(self, f.name)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        """The entry ``as_dict`` gave, also after a trip through JSON (a journal read
        over the control API): ``Entry.from_dict(e.as_dict()) == e``. Keys it does not
        know are ignored and optional fields it lacks take their defaults, so a fake of
        another version can be read; without a required one it raises ``ValueError``."""
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise ValueError(f"not a journal entry: no {', '.join(missing)}")
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["time_us"] = parse_instant(data["time"])
        if "modelled" not in data:  # a fake from before the route table
            values["modelled"] = data["operation_id"] is not None
        return cls(**values)

    def line(self) -> str:
        """One line: seq, method, target, operation (marked when the fake does not
        model it), status and reason, auth, fault."""
        op = self.operation_id or "-"
        if self.operation_id and not self.modelled:
            op += ", not modelled"
        outcome = f"{self.status} {self.reason}" if self.reason else str(self.status)
        extra = f" fault={fault_label(self.fault)}" if self.fault else ""
        if self.drift:
            extra += " drift=" + ",".join(sorted({d["rule"] for d in self.drift}))
        if self.answered_by == "proxy":
            extra += " (the proxy's own answer)"
        auth = f" auth={self.auth}" if self.auth else ""
        return f"#{self.seq} {self.method} {self.target} [{op}] -> {outcome}{auth}{extra}"


@dataclass(slots=True)
class Answer:
    """What an exchange answered, as the journal keeps it for a HAR (``core/har.py``);
    not part of ``Entry``, so ``GET /_fake/journal`` is as it was. ``headers``: the
    ``KEPT_ANSWER_HEADERS`` sent, by lower-case name, tokens cut to their prefix;
    ``json``: the body parsed and redacted as a request body is (each ``token``,
    ``accesskey``, ``password`` and ``webhook_secret`` field ``[REDACTED]``), None
    when it was not JSON, was cut, or there was none; ``body``: anything else as
    redacted text; ``size``: the body's length in bytes as sent; ``truncated``: only
    its first ``MAX_BODY`` bytes are kept."""

    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    body: str | None = None
    size: int = 0
    truncated: bool = False


def fault_label(fault: dict[str, Any]) -> str:
    """A journaled fault in a word or two: its kind or status ("connection_reset",
    "503", "delay"), and "after" when the handler ran first."""
    what = fault.get("kind") or (str(fault["status"]) if fault.get("status") else "delay")
    return f"{what} (after)" if fault.get("when") == "after" else what


# A stored exchange: seq, time_us, method, target, operation_id, status, request_id,
# auth, request and response violations (tuples of their items), fault (its items,
# or None), reason, the body bytes, whether they were cut, the kept headers,
# whether an operation of openapi.yaml answered, a proxy's drift (its items), who
# answered (a proxy's) and whether it came through --intercept's tunnel; then the
# answer: its body bytes (cut), its length as sent, and its headers as (bytes, bytes).
_Row = tuple[Any, ...]


def _entry(row: _Row) -> Entry:
    """The Entry a stored row stands for: violations and the fault become fresh dicts,
    the body is parsed and redacted, the headers redacted."""
    (seq, time_us, method, target, operation_id, status, request_id, auth) = row[:8]
    fault, reason, raw, truncated, headers, modelled, drift, answered_by, intercepted = row[10:19]
    parsed, text = _read_body(raw, truncated)
    return Entry(
        seq,
        time_us,
        method,
        target,
        operation_id,
        status,
        request_id,
        auth,
        [dict(v) for v in row[8]],
        [dict(v) for v in row[9]],
        None if fault is None else dict(fault),
        reason,
        {k: redact_text(v) for k, v in headers},
        parsed,
        text,
        truncated,
        modelled,
        [dict(d) for d in drift],
        answered_by,
        intercepted,
    )


def _answer(row: _Row) -> Answer:
    """The Answer a stored row keeps: its kept headers, its body parsed (a gzip or
    deflate body decoded first) and redacted."""
    raw, size, pairs = row[19:22]
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.decode("latin-1").lower()
        if key in KEPT_ANSWER_HEADERS and key not in headers:
            headers[key] = redact_text(value.decode("latin-1"))
    truncated = size > len(raw)
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if raw and encoding != "identity":
        try:
            raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS if "gzip" in encoding else 0)
        except zlib.error:  # cut, or an encoding zlib does not read
            return Answer(headers, None, None, size, truncated)
    parsed, text = _read_body(raw, truncated)
    return Answer(headers, parsed, text, size, truncated)


def _read_body(raw: bytes, truncated: bool) -> tuple[Any, str | None]:
    """``(json, body)``: a whole JSON body parsed as the API parsed it, and redacted;
    anything else (not JSON to the API, cut, nested past ``MAX_DEPTH``) as redacted
    text."""
    if not raw:
        return None, None
    if not truncated:
        try:
            return redact_json(parse_body(raw)), None
        except (ValueError, RecursionError):  # not JSON (TooDeep is a ValueError too)
            pass
    return None, redact_body_text(raw.decode("utf-8", "replace"))


def parse_body(raw: bytes) -> Any:
    """A JSON body as the journal shows it: parsed by the API's own parser
    (``core/jsonbody.parse_json_body``: the first value, bytes after it ignored,
    invalid UTF-8 as U+FFFD, a BOM not JSON), in values any JSON encoder can write back
    with the digits the client sent: an integer stays an integer, however long (the
    standard library writes it exactly); a number no double holds (``1e309``, which
    would be infinity) stays its text, a string; ``NaN`` and ``Infinity`` are not JSON
    (a ``ValueError``: the body shows as text). Lone surrogates are ``redact_json``'s."""
    return parse_json_body(raw, keep_text=True)


class Journal:
    """The fake's own journal: the last ``size`` exchanges, oldest first."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("a journal holds at least one entry")
        self._lock = threading.Lock()
        # Rows are plain tuples of strings, bytes, numbers and None (violations and a
        # fault as tuples of their items), which the garbage collector stops tracking:
        # ten thousand kept exchanges cost no collection time. Nothing on the way in
        # parses the body; reading the journal does.
        self._entries: deque[_Row] = deque(maxlen=size)
        self._seq = 0
        #: Changes whenever the numbering starts again (a clear, a reset): a reader
        #: that polls with ``entries(after=SEQ)`` knows its SEQ no longer counts.
        self.epoch = next(_EPOCHS)
        self.size = size
        #: Called with every new entry, as ``entries()`` would give it (so with its body
        #: parsed: an observer costs a parse per request); they survive clear() and
        #: reset (``run``'s report is one).
        self.observers: list[Callable[[Entry], None]] = []

    def record(
        self,
        *,
        time_us: int,
        method: str,
        target: str,
        operation_id: str | None,
        status: int,
        request_id: str | None = None,
        auth: str = "",
        request_violations: list[dict[str, Any]] | None = None,
        response_violations: list[dict[str, Any]] | None = None,
        fault: dict[str, Any] | None = None,
        reason: str | None = None,
        body: bytes = b"",
        headers: tuple[tuple[str, str], ...] = (),
        modelled: bool = True,
        drift: list[dict[str, Any]] | None = None,
        answered_by: str | None = None,
        intercepted: bool = False,
        answer: bytes = b"",
        answer_headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        """Add an entry, made at ``time_us`` on the fake's clock: what was asked
        (``method``, ``target`` with credentials redacted, the ``operation_id``, the
        request ``body`` as sent and the kept ``headers``), what was answered
        (``status``, ``reason``, ``request_id``), who asked (``auth``), how either broke
        the spec, and the fault that answered, if one did; ``modelled``: whether an
        operation of openapi.yaml answered. ``headers`` are (lower-case name, value)
        pairs, as sent; ``drift``: a proxy's breaches of the upstream's answer;
        ``answered_by``: a proxy's ``"upstream"`` or ``"proxy"``; ``intercepted``: it
        came through ``--intercept``'s tunnel; ``answer`` the answer's body as sent and
        ``answer_headers`` its headers (for ``exchanges()``; only
        ``KEPT_ANSWER_HEADERS`` are read back). Both bodies are kept as bytes (cut at
        ``MAX_BODY``) and parsed and redacted only when read."""
        truncated = len(body) > MAX_BODY
        if truncated:
            body = body[:MAX_BODY]
        answer_size = len(answer)
        if answer_size > MAX_BODY:
            answer = answer[:MAX_BODY]
        with self._lock:  # numbered in the order kept
            self._seq += 1
            row = (
                self._seq,
                time_us,
                method,
                target,
                operation_id,
                status,
                request_id,
                auth,
                _items(request_violations) if request_violations else (),
                _items(response_violations) if response_violations else (),
                None if fault is None else tuple(fault.items()),
                reason,
                body,
                truncated,
                headers,
                modelled,
                _items(drift) if drift else (),
                answered_by,
                intercepted,
                answer,
                answer_size,
                answer_headers,
            )
            self._entries.append(row)
        if self.observers:
            entry = _entry(row)
            for observer in self.observers:
                observer(entry)

    def entries(self, after: int = 0) -> list[Entry]:
        """Every entry kept, oldest first (only those numbered above ``after``, when
        given)."""
        return [_entry(row) for row in self._rows(after)]

    def exchanges(self, after: int = 0) -> list[tuple[Entry, Answer]]:
        """Every entry kept with its answer, oldest first (numbered above ``after``):
        what a HAR is made of (``core/har.py``)."""
        return [(_entry(row), _answer(row)) for row in self._rows(after)]

    def _rows(self, after: int) -> list[_Row]:
        """The rows numbered above ``after`` (every row for 0), oldest first: read
        from the newest back, so a poller that is up to date costs no copy."""
        with self._lock:
            if after <= 0:
                return list(self._entries)
            rows = []
            for row in reversed(self._entries):
                if row[0] <= after:
                    break
                rows.append(row)
        rows.reverse()
        return rows

    def clear(self) -> None:
        """Drop every entry; numbering starts again at 1, in a new ``epoch``."""
        with self._lock:
            self._entries.clear()
            self._seq = 0
            self.epoch = next(_EPOCHS)

    def __len__(self) -> int:
        return len(self._entries)


def _items(details: list[dict[str, Any]]) -> tuple[tuple[tuple[str, Any], ...], ...]:
    return tuple(tuple(d.items()) for d in details)
