"""The request journal: a bounded ring buffer of what clients sent and what the fake
answered, credentials and secrets redacted, with matchers for asserting on it.

On the hot path an exchange is one tuple of strings, bytes and numbers (the request
body as it came, cut at 4 KiB), which the garbage collector stops tracking. The body
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

DEFAULT_SIZE = 10_000
#: The most of a request body an entry keeps.
MAX_BODY = 4096
#: The request headers an entry keeps, as sent (never Authorization or Cookie).
KEPT_HEADERS = ("content-type", "user-agent", "x-request-id")


class _Any:
    """The matchers' "don't care" (``reason=None`` means "no error reason")."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()


@dataclass(slots=True)
class Entry:
    """One exchange. ``target`` is the path and query with every credential redacted;
    ``auth`` is the authenticating key's prefix (or agent), or why auth failed;
    ``reason`` the error reason answered (None for a success). ``json`` is the request
    body parsed, with secret fields ``[REDACTED]`` (None when there was none or it was
    not JSON); ``body`` is a body that was not JSON (or was cut), as redacted text;
    ``headers`` the Content-Type, User-Agent and X-Request-Id sent."""

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

    @property
    def time(self) -> str:
        """When the fake's clock saw it (formatted on demand, off the hot path)."""
        return format_fixed(self.time_us)

    @property
    def query(self) -> dict[str, list[str]]:
        """The query parameters as sent (credentials' values redacted)."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def as_dict(self) -> dict[str, Any]:
        """The entry as ``GET /_fake/journal`` shows it (``Entry.from_dict`` undoes it)."""
        out: dict[str, Any] = {"seq": self.seq, "time": self.time}
        for f in fields(self):
            if f.name not in ("seq", "time_us"):
                out[f.name] = getattr(self, f.name)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        """The entry ``as_dict`` gave (a journal read over the control API)."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["time_us"] = parse_instant(data["time"])
        return cls(**values)

    def line(self) -> str:
        op = self.operation_id or "-"
        outcome = f"{self.status} {self.reason}" if self.reason else str(self.status)
        extra = f" fault={self.fault}" if self.fault else ""
        auth = f" auth={self.auth}" if self.auth else ""
        return f"#{self.seq} {self.method} {self.target} [{op}] -> {outcome}{auth}{extra}"


_Row = tuple[Any, ...]


def _entry(row: _Row) -> Entry:
    """The Entry a stored row stands for: violations become fresh lists, the body is
    parsed and redacted."""
    (seq, time_us, method, target, operation_id, status, request_id, auth) = row[:8]
    raw, truncated, headers = row[12], row[13], row[14]
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
        list(row[8]),
        list(row[9]),
        row[10],
        row[11],
        {k: redact_text(v) for k, v in headers},
        parsed,
        text,
        truncated,
    )


def _read_body(raw: bytes, truncated: bool) -> tuple[Any, str | None]:
    if not raw:
        return None, None
    if not truncated:
        try:
            return redact_json(jsonlib.loads(raw)), None
        except (ValueError, RecursionError):
            pass
    return None, redact_body_text(raw.decode("utf-8", "replace"))


class JournalQueries:
    """The matchers, over whatever ``entries()`` gives (oldest first)."""

    def entries(self) -> list[Entry]:
        raise NotImplementedError

    def calls(
        self,
        operation_id: str | None = None,
        status: int | None = None,
        *,
        json: Any = ANY,
        query: Mapping[str, Any] | Any = ANY,
        reason: str | None | Any = ANY,
    ) -> list[Entry]:
        """The entries for one operation (every one when None) that match: ``status``,
        ``json`` (a subset of the body: nested objects by their keys, everything else
        equal), ``query`` (parameters by name, values as strings) and ``reason`` (None:
        no error reason). Each left out matches anything."""
        return [e for e in self.entries() if _matches(e, operation_id, status, json, query, reason)]

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
        """Assert ``operation_id`` was called (exactly ``times`` times) in a way that
        matches, as ``calls`` matches. On failure the message lists the calls that came
        closest, with their auth outcome, error reason and a diff of the body."""
        found = self.calls(operation_id, status, json=json, query=query, reason=reason)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = [operation_id]
        if status is not None:
            wanted.append(f"status {status}")
        for name, value in (("json", json), ("query", query), ("reason", reason)):
            if value is not ANY:
                wanted.append(f"{name}={value!r}")
        count = "at least once" if times is None else f"{times} time(s)"
        lines = [
            f"expected {', '.join(wanted)} to be called {count}; "
            f"it was called {len(found)} time(s)."
        ]
        near = self._closest(operation_id, status, json, reason)
        if near:
            lines.append("closest calls:")
            lines += [f"  {e.line()}" for e in near]
            if json is not ANY:
                lines += _body_diff(json, near[0])
        else:
            lines.append("the journal is empty.")
        raise AssertionError("\n".join(lines))

    def assert_not_called(self, operation_id: str) -> None:
        self.assert_called(operation_id, times=0)

    def _closest(
        self, operation_id: str, status: int | None, json: Any, reason: Any, limit: int = 5
    ) -> list[Entry]:
        method = _METHOD_OF.get(operation_id, "")

        def score(e: Entry) -> tuple[int, int]:
            s = 0
            if e.operation_id == operation_id:
                s += 8
            if e.method == method:
                s += 4
            if json is not ANY and _subset(json, e.json):
                s += 2
            if (status is not None and e.status == status) or (
                reason is not ANY and e.reason == reason
            ):
                s += 1
            return (s, e.seq)

        return sorted(self.entries(), key=score, reverse=True)[:limit]


class Journal(JournalQueries):
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("a journal holds at least one entry")
        self._lock = threading.Lock()
        # Rows are plain tuples of strings, bytes and numbers, which the garbage
        # collector stops tracking: ten thousand kept exchanges cost no collection time.
        self._entries: deque[_Row] = deque(maxlen=size)
        self._seq = 0
        self.size = size
        #: Called with every new entry; they survive clear() and reset (``run``'s report).
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
    ) -> None:
        """Add an entry, made at ``time_us`` on the fake's clock: what was asked
        (``method``, ``target`` with credentials redacted, the ``operation_id``, the
        request ``body`` as sent and the kept ``headers``), what was answered
        (``status``, ``reason``, ``request_id``), who asked (``auth``), how either broke
        the spec, and the fault that answered, if one did. The body is kept as bytes
        (cut at ``MAX_BODY``) and redacted when read."""
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
                tuple(request_violations) if request_violations else (),
                tuple(response_violations) if response_violations else (),
                fault,
                reason,
                body,
                truncated,
                headers,
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
        with self._lock:
            self._entries.clear()
            self._seq = 0

    def __len__(self) -> int:
        return len(self._entries)


def _matches(
    e: Entry,
    operation_id: str | None,
    status: int | None,
    json: Any,
    query: Any,
    reason: Any,
) -> bool:
    if operation_id is not None and e.operation_id != operation_id:
        return False
    if status is not None and e.status != status:
        return False
    if reason is not ANY and e.reason != reason:
        return False
    if json is not ANY and not _subset(json, e.json):
        return False
    if query is not ANY:
        sent = e.query
        for name, value in query.items():
            values = value if isinstance(value, list) else [value]
            if sent.get(name) != [str(v) for v in values]:
                return False
    return True


def _subset(wanted: Any, got: Any) -> bool:
    """``wanted`` is in ``got``: an object's keys each match, anything else is equal."""
    if isinstance(wanted, dict):
        return isinstance(got, dict) and all(
            k in got and _subset(v, got[k]) for k, v in wanted.items()
        )
    return bool(wanted == got) and isinstance(wanted, bool) == isinstance(got, bool)


def _body_diff(wanted: Any, entry: Entry) -> list[str]:
    """The closest call's body against the wanted one, as a diff."""
    got = entry.json if entry.json is not None else entry.body
    want_text = jsonlib.dumps(wanted, indent=2, sort_keys=True).splitlines()
    got_text = (
        jsonlib.dumps(got, indent=2, sort_keys=True).splitlines()
        if not isinstance(got, str)
        else got.splitlines()
    )
    diff = difflib.unified_diff(
        want_text, got_text, "wanted json (a subset)", f"#{entry.seq}'s body", lineterm=""
    )
    return ["body diff:", *(f"  {line}" for line in diff)]


_METHOD_OF = {
    "GetAccesskeys": "GET",
    "PostAccesskeys": "POST",
    "GetAccesskeysId": "GET",
    "PutAccesskeysId": "PUT",
    "DeleteAccesskeysId": "DELETE",
    "PostAuthLogin": "POST",
}
