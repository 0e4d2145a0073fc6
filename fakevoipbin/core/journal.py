"""The request journal: a bounded ring buffer of what clients sent and what the fake
answered, credentials redacted, with helpers for asserting on it in tests."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .clock import format_fixed

DEFAULT_SIZE = 10_000


@dataclass(slots=True)
class Entry:
    """One exchange. ``target`` is the path and query with every credential redacted;
    ``auth`` is the authenticating key's prefix (or agent), or why auth failed."""

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

    @property
    def time(self) -> str:
        """When the fake's clock saw it (formatted on demand, off the hot path)."""
        return format_fixed(self.time_us)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["time_us"]
        return {"seq": out.pop("seq"), "time": self.time, **out}

    def line(self) -> str:
        op = self.operation_id or "-"
        extra = f" fault={self.fault}" if self.fault else ""
        return f"#{self.seq} {self.method} {self.target} [{op}] -> {self.status}{extra}"


_Row = tuple[Any, ...]


def _entry(row: _Row) -> Entry:
    """The Entry a stored row stands for (violations become fresh lists)."""
    seq, time_us, method, target, operation_id, status, request_id, auth = row[:8]
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
    )


class Journal:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("a journal holds at least one entry")
        self._lock = threading.Lock()
        # Rows are plain tuples of strings and numbers, which the garbage collector
        # stops tracking: ten thousand kept exchanges cost no collection time.
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
    ) -> None:
        """Add an entry, made at ``time_us`` on the fake's clock: what was asked
        (``method``, ``target`` with credentials redacted, the ``operation_id``),
        what was answered (``status``, ``request_id``), who asked (``auth``), how
        either broke the spec, and the fault that answered, if one did."""
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

    def calls(self, operation_id: str | None = None, status: int | None = None) -> list[Entry]:
        """The entries for one operation (every one when None), optionally one status."""
        return [
            e
            for e in self.entries()
            if (operation_id is None or e.operation_id == operation_id)
            and (status is None or e.status == status)
        ]

    def assert_called(
        self, operation_id: str, times: int | None = None, status: int | None = None
    ) -> list[Entry]:
        """Assert ``operation_id`` was called (exactly ``times`` times, with ``status``).
        On failure the message lists the calls that came closest."""
        found = self.calls(operation_id, status)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = f"{operation_id}" + (f" with status {status}" if status is not None else "")
        count = "at least once" if times is None else f"{times} time(s)"
        lines = [f"expected {wanted} to be called {count}; it was called {len(found)} time(s)."]
        near = self._closest(operation_id, status)
        if near:
            lines.append("closest calls:")
            lines += [f"  {e.line()}" for e in near]
        else:
            lines.append("the journal is empty.")
        raise AssertionError("\n".join(lines))

    def assert_not_called(self, operation_id: str) -> None:
        self.assert_called(operation_id, times=0)

    def _closest(self, operation_id: str, status: int | None, limit: int = 5) -> list[Entry]:
        method = _METHOD_OF.get(operation_id, "")

        def score(e: Entry) -> tuple[int, int]:
            s = 0
            if e.operation_id == operation_id:
                s += 4
            if e.method == method:
                s += 2
            if status is not None and e.status == status:
                s += 1
            return (s, e.seq)

        ranked = sorted(self.entries(), key=score, reverse=True)
        return ranked[:limit]


_METHOD_OF = {
    "GetAccesskeys": "GET",
    "PostAccesskeys": "POST",
    "GetAccesskeysId": "GET",
    "PutAccesskeysId": "PUT",
    "DeleteAccesskeysId": "DELETE",
    "PostAuthLogin": "POST",
}
