"""The request journal: a bounded ring buffer of what clients sent and what the fake
answered, credentials and secrets redacted, with matchers for asserting on it.

On the hot path an exchange is one tuple of strings, bytes, numbers and tuples of them
(the request body as it came, cut at 4 KiB), which the garbage collector stops
tracking. The body
is parsed and redacted only when the journal is read. ``JournalQueries`` holds the
matchers over ``entries()``, so a journal read from another process (attach mode's
``RemoteJournal``, from ``GET /_fake/journal``) has the same ones.
"""

from __future__ import annotations

import difflib
import json as jsonlib
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .clock import format_fixed, parse_instant
from .redact import redact_body_text, redact_json, redact_text
from .routetable import default_table

DEFAULT_SIZE = 10_000
#: The most of a request body an entry keeps.
MAX_BODY = 4096
#: The request headers an entry keeps, as sent (never Authorization or Cookie).
KEPT_HEADERS = ("content-type", "user-agent", "x-request-id")


class _Any:
    """The matchers' "don't care": the default of ``json``, ``query`` and ``reason``,
    so that ``reason=None`` can mean "no error reason"."""

    def __repr__(self) -> str:
        return "ANY"


#: Matches anything (the matchers' default).
ANY: Any = _Any()

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
    their prefix; it is None when no body was read, or it was not JSON, or it was cut.
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
    ``{rule, message, evidence}`` (the evidence redacted); a fake's entries have none."""

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
        auth = f" auth={self.auth}" if self.auth else ""
        return f"#{self.seq} {self.method} {self.target} [{op}] -> {outcome}{auth}{extra}"


def fault_label(fault: dict[str, Any]) -> str:
    """A journaled fault in a word or two: its kind or status ("connection_reset",
    "503", "delay"), and "after" when the handler ran first."""
    what = fault.get("kind") or (str(fault["status"]) if fault.get("status") else "delay")
    return f"{what} (after)" if fault.get("when") == "after" else what


# A stored exchange: seq, time_us, method, target, operation_id, status, request_id,
# auth, request and response violations (tuples of their items), fault (its items,
# or None), reason, the body bytes, whether they were cut, the kept headers,
# whether an operation of openapi.yaml answered, and a proxy's drift (its items).
_Row = tuple[Any, ...]


def _entry(row: _Row) -> Entry:
    """The Entry a stored row stands for: violations and the fault become fresh dicts,
    the body is parsed and redacted, the headers redacted."""
    (seq, time_us, method, target, operation_id, status, request_id, auth) = row[:8]
    fault, reason, raw, truncated, headers, modelled, drift = row[10:17]
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
    )


def _read_body(raw: bytes, truncated: bool) -> tuple[Any, str | None]:
    """``(json, body)``: a whole JSON body parsed and redacted; anything else (not
    JSON, cut, nested past ``MAX_DEPTH``) as redacted text."""
    if not raw:
        return None, None
    if not truncated:
        try:
            return redact_json(jsonlib.loads(raw)), None
        except (ValueError, RecursionError):  # not JSON (TooDeep is a ValueError too)
            pass
    return None, redact_body_text(raw.decode("utf-8", "replace"))


class JournalQueries:
    """The matchers, over whatever ``entries()`` gives (oldest first): a subclass need
    only define ``entries()``. Each matcher reads ``entries()`` once.

    Every matcher takes the same criteria; each left out matches anything:
    ``status``; ``json``, a subset of the body (an object matches by the keys it names,
    recursively; anything else, lists included, must be equal, ``True`` is not ``1``);
    ``query``, parameters by name (a value is compared as a string, ``True`` as
    ``"true"``; a list is every value in order; None means "not sent"); ``reason``, the
    error reason, where None means "no error reason" (a success)."""

    def entries(self) -> list[Entry]:
        raise NotImplementedError

    def clear(self) -> None:
        """Drop every entry (a subclass that can, does)."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.entries())

    def calls(
        self,
        operation_id: str | None = None,
        status: int | None = None,
        *,
        json: Any = ANY,
        query: Mapping[str, Any] | Any = ANY,
        reason: str | None | Any = ANY,
    ) -> list[Entry]:
        """The entries of ``operation_id`` (of every operation when None) that match,
        oldest first."""
        _check_operation(operation_id)
        return _matching(self.entries(), operation_id, status, json, query, reason)

    def assert_called(
        self,
        operation_id: str,
        times: int | None = None,
        status: int | None = None,
        *,
        json: Any = ANY,
        query: Mapping[str, Any] | Any = ANY,
        reason: str | None | Any = ANY,
    ) -> list[Entry]:
        """Assert ``operation_id`` was called in a way that matches: at least once, or
        exactly ``times`` times. Returns the matching entries. On failure the message
        lists the calls that came closest, with their status, error reason, auth
        outcome and body, and a diff of the closest one's body against ``json``."""
        _check_operation(operation_id)
        entries = self.entries()
        found = _matching(entries, operation_id, status, json, query, reason)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = [operation_id]
        if status is not None:
            wanted.append(f"status={status}")
        for name, value in (("json", json), ("query", query), ("reason", reason)):
            if value is not ANY:
                wanted.append(f"{name}={value!r}")
        count = "at least once" if times is None else f"{times} time(s)"
        lines = [
            f"expected {', '.join(wanted)} to be called {count}; "
            f"it was called {len(found)} time(s)."
        ]
        near = _closest(entries, operation_id, status, json, query, reason)
        if near:
            lines.append("closest calls (most like the wanted one first):")
            for e in near:
                lines.append(f"  {e.line()}")
                sent = _shown_body(e)
                if sent is not None:
                    lines.append(f"      body: {sent}")
            if json is not ANY:
                lines += _body_diff(json, near[0])
        else:
            lines.append("the journal is empty.")
        raise AssertionError("\n".join(lines))

    def assert_not_called(
        self,
        operation_id: str,
        status: int | None = None,
        *,
        json: Any = ANY,
        query: Mapping[str, Any] | Any = ANY,
        reason: str | None | Any = ANY,
    ) -> None:
        """Assert no call of ``operation_id`` matches (the matching ones are listed)."""
        self.assert_called(
            operation_id, times=0, status=status, json=json, query=query, reason=reason
        )


def _check_operation(operation_id: str | None) -> None:
    """A mistyped operationId would match nothing and pass ``assert_not_called``. The
    route table's operation names (``GetCalls``) are taken too."""
    if (
        operation_id is not None
        and operation_id not in _METHOD_OF
        and operation_id not in default_table().operations()
    ):
        raise ValueError(
            f"{operation_id!r} is not an operationId of openapi.yaml ({', '.join(_METHOD_OF)}) "
            "nor an operation of production's route table"
        )


def _matching(
    entries: list[Entry],
    operation_id: str | None,
    status: int | None,
    json: Any,
    query: Any,
    reason: Any,
) -> list[Entry]:
    return [
        e
        for e in entries
        if (operation_id is None or e.operation_id == operation_id)
        and (status is None or e.status == status)
        and (reason is ANY or e.reason == reason)
        and (json is ANY or _subset(json, e.json))
        and (query is ANY or _query_matches(query, e.query))
    ]


def _closest(
    entries: list[Entry],
    operation_id: str,
    status: int | None,
    json: Any,
    query: Any,
    reason: Any,
    limit: int = 5,
) -> list[Entry]:
    """The entries most like the wanted call: its operation counts most, then its
    method, the body, the query, the status and the reason; newest first on a tie."""
    method = _METHOD_OF.get(operation_id, "")

    def score(e: Entry) -> tuple[int, int]:
        s = 32 if e.operation_id == operation_id else 0
        s += 16 if e.method == method else 0
        s += 8 if json is not ANY and _subset(json, e.json) else 0
        s += 4 if query is not ANY and _query_matches(query, e.query) else 0
        s += 2 if status is not None and e.status == status else 0
        s += 1 if reason is not ANY and e.reason == reason else 0
        return (s, e.seq)

    return sorted(entries, key=score, reverse=True)[:limit]


def _query_matches(wanted: Mapping[str, Any], sent: dict[str, list[str]]) -> bool:
    for name, value in wanted.items():
        if value is None:
            if name in sent:
                return False
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        if sent.get(name) != [_as_query_value(v) for v in values]:
            return False
    return True


def _as_query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _subset(wanted: Any, got: Any) -> bool:
    """``wanted`` is in ``got``: an object's keys each match, anything else is equal
    (and a bool is never a number)."""
    if isinstance(wanted, dict):
        return isinstance(got, dict) and all(
            k in got and _subset(v, got[k]) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(got, list)
            and len(wanted) == len(got)
            and all(_equal(w, g) for w, g in zip(wanted, got, strict=True))
        )
    return _equal(wanted, got)


def _equal(wanted: Any, got: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(got, bool):
        return type(wanted) is type(got) and wanted == got
    if isinstance(wanted, dict):
        return (
            isinstance(got, dict)
            and wanted.keys() == got.keys()
            and all(_equal(v, got[k]) for k, v in wanted.items())
        )
    if isinstance(wanted, list):
        return (
            isinstance(got, list)
            and len(wanted) == len(got)
            and all(_equal(w, g) for w, g in zip(wanted, got, strict=True))
        )
    return bool(wanted == got)


def _shown_body(e: Entry, limit: int = 200) -> str | None:
    if e.json is not None:
        text = jsonlib.dumps(e.json, ensure_ascii=False)
    elif e.body is not None:
        text = repr(e.body)
    else:
        return None
    cut = " (cut at 4 KiB)" if e.body_truncated else ""
    return (text if len(text) <= limit else text[:limit] + "…") + cut


def _project(wanted: Any, got: Any) -> Any:
    """``got`` with only the object keys ``wanted`` names, so the diff shows only what
    differs (a key the body lacks shows as removed)."""
    if isinstance(wanted, dict) and isinstance(got, dict):
        return {k: _project(v, got[k]) for k, v in wanted.items() if k in got}
    return got


def _body_diff(wanted: Any, entry: Entry) -> list[str]:
    """The closest call's body against the wanted one, as a unified diff over pretty
    JSON (the body cut to the keys the wanted one names)."""
    if entry.json is None and entry.body is not None:
        got_lines = entry.body.splitlines()
        label = f"#{entry.seq}'s body (not JSON{', cut' if entry.body_truncated else ''})"
    else:
        got_lines = _pretty(_project(wanted, entry.json)).splitlines()
        label = f"#{entry.seq}'s body" if entry.json is not None else f"#{entry.seq}: no body"
    diff = list(
        difflib.unified_diff(
            _pretty(wanted).splitlines(), got_lines, "wanted json", label, lineterm=""
        )
    )
    return ["body diff:", *(f"  {line}" for line in diff)]


def _pretty(value: Any) -> str:
    return jsonlib.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


class Journal(JournalQueries):
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
    ) -> None:
        """Add an entry, made at ``time_us`` on the fake's clock: what was asked
        (``method``, ``target`` with credentials redacted, the ``operation_id``, the
        request ``body`` as sent and the kept ``headers``), what was answered
        (``status``, ``reason``, ``request_id``), who asked (``auth``), how either broke
        the spec, and the fault that answered, if one did; ``modelled``: whether an
        operation of openapi.yaml answered. ``headers`` are (lower-case name, value)
        pairs, as sent; ``drift``: a proxy's breaches of the upstream's answer. The
        body is kept as bytes (cut at ``MAX_BODY``)
        and parsed and redacted only when read."""
        truncated = len(body) > MAX_BODY
        if truncated:
            body = body[:MAX_BODY]
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
            )
            self._entries.append(row)
        if self.observers:
            entry = _entry(row)
            for observer in self.observers:
                observer(entry)

    def entries(self) -> list[Entry]:
        """Every entry kept, oldest first."""
        with self._lock:
            rows = self._entries.copy()
        return [_entry(row) for row in rows]

    def clear(self) -> None:
        """Drop every entry; numbering starts again at 1."""
        with self._lock:
            self._entries.clear()
            self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)


def _items(details: list[dict[str, Any]]) -> tuple[tuple[tuple[str, Any], ...], ...]:
    return tuple(tuple(d.items()) for d in details)


#: Each operationId of openapi.yaml and its method (tests/test_journal.py checks it).
_METHOD_OF = {
    "GetAccesskeys": "GET",
    "PostAccesskeys": "POST",
    "GetAccesskeysId": "GET",
    "PutAccesskeysId": "PUT",
    "DeleteAccesskeysId": "DELETE",
    "PostAuthLogin": "POST",
    "GetCustomer": "GET",
    "PutCustomer": "PUT",
    "PutCustomerMetadata": "PUT",
    "PutCustomerBillingAccountId": "PUT",
    "GetMe": "GET",
}
