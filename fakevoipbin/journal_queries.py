"""The journal's matchers, for tests: ``calls``, ``assert_called`` and
``assert_not_called``, with the closest calls and a body diff when an assertion fails.

``JournalQueries`` needs only ``entries()``: ``LocalJournal`` gives a fake of one's
own (its ``core.journal.Journal``), attach mode's ``RemoteJournal`` an attached
fake's (``GET /_fake/journal``), so both have the same matchers. The core keeps the
entries and the ring buffer and never imports this module.
"""

from __future__ import annotations

import difflib
import json as jsonlib
from collections.abc import Callable, Mapping
from typing import Any

from .about import __version__
from .core.har import har_log
from .core.journal import Entry, Journal
from .core.routetable import default_table


class _Any:
    """The matchers' "don't care": the default of ``json``, ``query`` and ``reason``,
    so that ``reason=None`` can mean "no error reason"."""

    def __repr__(self) -> str:
        return "ANY"


#: Matches anything (the matchers' default).
ANY: Any = _Any()


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

    def har(self) -> dict[str, Any]:
        """The journal as a HAR 1.2 document (``core/har.py``), redacted as the journal
        is (a subclass that can, does)."""
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


#: The root a fake of one's own puts its HAR's URLs under unless told (a name that
#: resolves nowhere: ``.invalid`` is reserved).
LOCAL_ROOT = "http://fakevoipbin.invalid"


class LocalJournal(JournalQueries):
    """The journal of a fake of one's own (``fake.journal``): its ring buffer, read
    where it lives, with the matchers."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def entries(self) -> list[Entry]:
        """Every entry kept, oldest first."""
        return self._journal.entries()

    def clear(self) -> None:
        """Drop every entry; numbering starts again at 1."""
        self._journal.clear()

    def __len__(self) -> int:
        return len(self._journal)

    def har(self, root: str = LOCAL_ROOT) -> dict[str, Any]:
        """The journal as a HAR 1.2 document (``core/har.py``): each exchange with its
        answer, redacted as the journal is, the fake's verdicts in ``_`` fields, each
        URL under ``root`` (a started fake's is ``fake.base_url``)."""
        return har_log(self._journal.exchanges(), root, __version__)

    @property
    def size(self) -> int:
        """The most entries it keeps (the oldest go first)."""
        return self._journal.size

    @property
    def observers(self) -> list[Callable[[Entry], None]]:
        """Called with every new entry (``Journal.observers``); they survive reset."""
        return self._journal.observers


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


#: Each operationId of openapi.yaml and its method (tests/core/test_journal.py checks it).
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
