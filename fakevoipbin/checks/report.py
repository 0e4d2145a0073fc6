"""``fakevoipbin run``'s report (and ``fakevoipbin proxy``'s): what a client's tests
exercised (the statuses and error reasons each operation answered), the routes
production serves that the fake does not model and that the client called, and where
they broke the spec, gathered from the journal as the client runs. Behind a proxy it
also has the upstream's drift: each answer that broke openapi.yaml or one of the rules
one exchange can show (``checks/exchange_rules.py``). Like the journal, it holds no
credential: a target's credentials are redacted, and bodies are not in it."""

from __future__ import annotations

import json
import sys
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..about import __version__
from ..core.har import har_text
from ..core.journal import Entry, Journal
from ..core.printable import shown, xml_text
from ..core.redact import redact_text
from ..core.routetable import default_table
from ..exitcodes import STRICT_FAILED, USAGE
from ..options import Options
from ..spec import Spec
from . import report_html

MAX_VIOLATIONS = 1000
#: How many unmodelled routes the table output lists (the JSON report has every one).
MAX_LISTED = 20


@dataclass
class ClientReport:
    spec: Spec
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    #: The error reasons each operation answered (a success has none).
    reasons: dict[str, Counter[str]] = field(default_factory=dict)
    #: How many of each operation's requests broke openapi.yaml (kept or not).
    violations_by_op: Counter[str] = field(default_factory=Counter)
    violations: list[dict[str, Any]] = field(default_factory=list)
    violation_count: int = 0
    unrouted: Counter[str] = field(default_factory=Counter)
    #: The statuses each route the fake does not model answered, by (method, the route
    #: table's operation name).
    unmodelled: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)
    requests: int = 0
    #: The upstream a proxy forwarded to (None: the client ran against a fake).
    upstream: str | None = None
    #: The capture ``fakevoipbin check`` judged (its upstream: the hosts it answered from).
    source: str | None = None
    #: The upstream's answers that broke openapi.yaml or a rule (kept or not, by
    #: operation), and the first ``MAX_VIOLATIONS`` of them.
    drift_by_op: Counter[str] = field(default_factory=Counter)
    drift: list[dict[str, Any]] = field(default_factory=list)
    drift_count: int = 0
    #: The redacted request (kept headers, body) of each request that broke
    #: openapi.yaml, by seq, for the first ``MAX_VIOLATIONS`` (the HTML report shows
    #: them; the JSON report has no bodies).
    shown_requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for op_id in self.spec.operations:
            self.statuses.setdefault(op_id, Counter())
            self.reasons.setdefault(op_id, Counter())

    def observe(self, entry: Entry) -> None:
        """A journal observer: count the exchange and its error reason, keep its spec
        violations."""
        with self._lock:
            self.requests += 1
            for d in entry.drift:
                self._note_drift(entry, d)
            if entry.operation_id is not None and not entry.modelled:
                key = (entry.method, entry.operation_id)
                self.unmodelled.setdefault(key, Counter())[entry.status] += 1
                return
            if entry.operation_id is None:
                if entry.status == 404:
                    self.unrouted[f"{entry.method} {entry.target.split('?')[0]}"] += 1
                return
            self.statuses[entry.operation_id][entry.status] += 1
            if entry.reason is not None:
                self.reasons[entry.operation_id][entry.reason] += 1
            for v in entry.request_violations:
                self.violation_count += 1
                self.violations_by_op[entry.operation_id] += 1
                if len(self.violations) < MAX_VIOLATIONS:
                    self.shown_requests.setdefault(entry.seq, _request_shown(entry))
                    self.violations.append(
                        {
                            "seq": entry.seq,
                            "operation_id": entry.operation_id,
                            "method": entry.method,
                            "target": entry.target,
                            "status": entry.status,
                            "field": _printable(v.get("field")),
                            "rule": _printable(v.get("rule")),
                            "description": _printable(redact_text(str(v.get("description")))),
                        }
                    )

    def _note_drift(self, entry: Entry, d: dict[str, Any]) -> None:
        operation = entry.operation_id or f"{entry.method} {entry.target.split('?')[0]}"
        self.drift_count += 1
        self.drift_by_op[operation] += 1
        if len(self.drift) < MAX_VIOLATIONS:
            self.drift.append(
                {
                    "operation": operation,
                    "rule": _printable(d.get("rule")),
                    "evidence": _printable(redact_text(str(d.get("evidence", "")))),
                    "message": _printable(redact_text(str(d.get("message", "")))),
                    "seq": entry.seq,
                    "method": entry.method,
                    "target": entry.target,
                    "status": entry.status,
                }
            )

    def never_met(self, op_id: str) -> list[int]:
        """The documented error statuses ``op_id`` never answered."""
        documented = self.spec.operations[op_id].documented_statuses
        return [s for s in documented if s >= 400 and s not in self.statuses[op_id]]

    def unmodelled_routes(self) -> list[dict[str, Any]]:
        """The routes the fake does not model that the client called, most called
        first: ``method``, ``path`` (as the route table writes it), ``operation``,
        ``count`` and the ``statuses`` they answered."""
        table = default_table()
        found: list[tuple[int, str, str, dict[str, Any]]] = []
        for (method, operation), statuses in self.unmodelled.items():
            route = table.operation(method, operation)
            path = route.path if route is not None else "?"
            count = sum(statuses.values())
            listed = {
                "method": method,
                "path": path,
                "operation": operation,
                "count": count,
                "statuses": {str(s): n for s, n in sorted(statuses.items())},
            }
            found.append((-count, path, method, listed))
        return [listed for *_key, listed in sorted(found, key=lambda f: f[:3])]

    def as_dict(self, exit_code: int | None = None) -> dict[str, Any]:
        ops = {
            op_id: {
                "calls": sum(c.values()),
                "statuses": {str(s): n for s, n in sorted(c.items())},
                "documented": list(self.spec.operations[op_id].documented_statuses),
                "error_statuses_never_met": self.never_met(op_id),
                "reasons": dict(sorted(self.reasons[op_id].items())),
            }
            for op_id, c in self.statuses.items()
        }
        return {
            "requests": self.requests,
            "operations": ops,
            "violations": self.violations,
            "violation_count": self.violation_count,
            "unrouted": dict(self.unrouted),
            "unmodelled": self.unmodelled_routes(),
            "upstream": self.upstream,
            "drift": self.drift,
            "drift_count": self.drift_count,
            "client_exit_code": exit_code,
        }

    def to_json(self, exit_code: int | None = None) -> str:
        return json.dumps(self.as_dict(exit_code), indent=2, ensure_ascii=False)

    def table(self) -> str:
        """The report as text: a row per operation (calls, statuses met, documented
        error statuses never met, error reasons met), then the requests to no route, to
        routes the fake does not model, and the requests that broke openapi.yaml. What
        a request or an answer carried is ``shown``: no control character reaches a
        terminal raw."""
        header = ("operation", "calls", "statuses met", "error statuses never met")
        rows = [
            (
                op_id,
                str(sum(c.values())),
                _counted(c) or "-",
                ", ".join(str(s) for s in self.never_met(op_id)) or "-",
                _counted(self.reasons[op_id]) or "-",
            )
            for op_id, c in self.statuses.items()
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        title = "fakevoipbin contract report"
        if self.source is not None:
            title += f" (of {self.source}, answered by {self.upstream})"
        elif self.upstream is not None:
            title += f" (through the proxy to {self.upstream})"
        lines = [title, ""]
        for r in [(*header, "error reasons met"), *rows]:
            lines.append(
                f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  "
                f"{r[3]:<{widths[3]}}  {r[4]}".rstrip()
            )
        if self.unrouted:
            lines.append("")
            lines.append("requests to no route (404 ROUTE_NOT_FOUND):")
            for what, n in self.unrouted.most_common(10):
                lines.append(f"  {n:>5} × {shown(what)}")
        unmodelled = self.unmodelled_routes()
        if unmodelled:
            lines.append("")
            lines.append(
                "requests to routes production serves and openapi.yaml does not describe "
                "(forwarded, not checked):"
                if self.upstream is not None
                else "requests to routes production serves and fakevoipbin does not model "
                "(501 NOT_MODELLED once through their middleware):"
            )
            for u in unmodelled[:MAX_LISTED]:
                statuses = ", ".join(f"{s}×{n}" for s, n in u["statuses"].items())
                lines.append(
                    f"  {u['count']:>5} × {u['method']} {u['path']} ({u['operation']}): {statuses}"
                )
            if len(unmodelled) > MAX_LISTED:
                lines.append(
                    f"  … and {len(unmodelled) - MAX_LISTED} more route(s) (see the JSON report)"
                )
        lines.append("")
        if self.violation_count:
            lines.append(f"{self.violation_count} client request(s) broke openapi.yaml:")
            for v in self.violations[:50]:
                lines.append(
                    shown(
                        f"  #{v['seq']} {v['method']} {v['target']} -> {v['status']}: "
                        f"{v['field']} broke '{v['rule']}' ({v['description']})"
                    )
                )
            if self.violation_count > 50:
                lines.append(f"  … and {self.violation_count - 50} more (see the JSON report)")
        else:
            lines.append("no client request broke openapi.yaml")
        if self.upstream is not None:
            lines.append("")
            lines += self._drift_lines()
        return "\n".join(lines)

    def _drift_lines(self) -> list[str]:
        if not self.drift_count:
            return ["production drift: no upstream answer broke openapi.yaml or a rule"]
        lines = [
            f"production drift: {self.drift_count} upstream answer(s) broke openapi.yaml or a rule:"
        ]
        for d in self.drift[:50]:
            lines.append(
                shown(
                    f"  #{d['seq']} {d['operation']} {d['method']} {d['target']} -> "
                    f"{d['status']}: [{d['rule']}] {d['message']}"
                    + (f" ({d['evidence']})" if d["evidence"] else "")
                )
            )
        if self.drift_count > 50:
            lines.append(f"  … and {self.drift_count - 50} more (see the JSON report)")
        return lines

    def junit(self) -> str:
        """JUnit XML: one test case per operation, its statuses met, error statuses
        never met and error reasons met in the case's properties, one ``failure``
        per request that broke openapi.yaml and one per upstream answer that drifted
        (behind a proxy) (the suite's ``failures`` counts the failing cases). An
        operation the client never called is skipped. Each route the fake does not
        model that the client called is a skipped case of its own (class
        ``fakevoipbin.unmodelled``, named by method and path), with its calls and
        statuses met. ElementTree escapes; ``core/printable.xml_text`` first spells out what XML 1.0
        cannot hold at all (control characters, lone surrogates)."""
        by_op: dict[str, list[dict[str, Any]]] = {op_id: [] for op_id in self.statuses}
        for v in self.violations:
            by_op.setdefault(v["operation_id"], []).append(v)
        drift_by_op: dict[str, list[dict[str, Any]]] = {}
        for d in self.drift:
            drift_by_op.setdefault(d["operation"], []).append(d)
        suite = ET.Element("testsuite", {"name": "fakevoipbin contract"})
        suite_properties = _properties(suite)
        failing = skipped = 0
        for op_id, c in self.statuses.items():
            calls = sum(c.values())
            case = _element(suite, "testcase", classname="fakevoipbin.contract", name=op_id)
            _properties(
                case,
                calls=str(calls),
                statuses_met=_counted(c),
                documented=", ".join(map(str, self.spec.operations[op_id].documented_statuses)),
                error_statuses_never_met=", ".join(map(str, self.never_met(op_id))),
                reasons_met=_counted(self.reasons[op_id]),
                violations=str(self.violations_by_op[op_id]),
            )
            listed = by_op.get(op_id, [])
            for v in listed:
                _element(
                    case,
                    "failure",
                    f"request #{v['seq']} {v['method']} {v['target']} -> {v['status']}: "
                    f"{v['description']}",
                    message=f"{v['field']} broke '{v['rule']}'",
                    type="spec violation",
                )
            unlisted = self.violations_by_op[op_id] - len(listed)
            if unlisted > 0:
                _element(
                    case,
                    "failure",
                    "only the first violations are listed; see the JSON report's violation_count",
                    message=f"{unlisted} more request(s) broke openapi.yaml",
                    type="spec violation",
                )
            drifted = drift_by_op.get(op_id, [])
            for d in drifted:
                _element(
                    case,
                    "failure",
                    f"answer to #{d['seq']} {d['method']} {d['target']} -> {d['status']}: "
                    f"{d['message']}" + (f" ({d['evidence']})" if d["evidence"] else ""),
                    message=f"the upstream broke '{d['rule']}'",
                    type="upstream drift",
                )
            if self.violations_by_op[op_id] or drifted:
                failing += 1
            elif calls == 0:
                skipped += 1
                _element(case, "skipped", message="the client's tests never called it")
        unmodelled = self.unmodelled_routes()
        for r in unmodelled:
            skipped += 1
            case = _element(
                suite,
                "testcase",
                classname="fakevoipbin.unmodelled",
                name=f"{r['method']} {r['path']}",
            )
            _properties(
                case,
                operation=r["operation"],
                calls=str(r["count"]),
                statuses_met=", ".join(f"{s}×{n}" for s, n in r["statuses"].items()),
            )
            _element(
                case,
                "skipped",
                message="fakevoipbin does not model this route; production serves it",
            )
        suite.set("tests", str(len(suite) - 1))  # every child but the properties
        suite.set("failures", str(failing))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
        for name, value in (
            ("requests", str(self.requests)),
            ("violation_count", str(self.violation_count)),
            ("unrouted_requests", str(sum(self.unrouted.values()))),
            ("unmodelled_requests", str(sum(r["count"] for r in unmodelled))),
            ("drift_count", str(self.drift_count)),
        ):
            _element(suite_properties, "property", name=name, value=value)
        ET.indent(suite, space="  ")
        body = ET.tostring(suite, encoding="unicode")
        return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A child of ``parent``: its attributes and text made safe for XML 1.0."""
    child = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        child.text = xml_text(text)
    return child


def _properties(parent: ET.Element, **values: str) -> ET.Element:
    """A ``properties`` child of ``parent`` with one ``property`` per value."""
    found = _element(parent, "properties")
    for name, value in values.items():
        _element(found, "property", name=name, value=value)
    return found


def _printable(text: Any) -> Any:
    """A text that UTF-8 can write: a lone surrogate (an upstream's JSON may hold one)
    spelled out as ``\\ud800``, so the table, the JSON file and the JUnit file can be
    written. Anything but a string is left as it is."""
    if not isinstance(text, str):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _request_shown(entry: Entry) -> dict[str, Any]:
    """What the HTML report shows of a request: the journal's redacted headers and body."""
    body = _printable(entry.body)
    return {"headers": entry.headers, "json": entry.json, "body": body,
            "body_truncated": entry.body_truncated}  # fmt: skip


def _counted(counts: Counter[Any]) -> str:
    """``200×1, 400×2``: each value and how often, in order."""
    return ", ".join(f"{k}×{n}" for k, n in sorted(counts.items()))


# --- writing it -----------------------------------------------------------------


def report_paths_problem(options: Options, who: str) -> bool:
    """Whether a path the report or the recording goes to cannot be written (said
    on stderr), tried before anything runs."""
    for path in (options.report, options.junit, options.html, options.har, options.record):
        if path:
            problem = unwritable(Path(path))
            if problem:
                sys.stderr.write(f"{who}: cannot write {path}: {problem}\n")
                return True
    return False


def finish(
    found: ClientReport,
    code: int,
    options: Options,
    who: str,
    where: str,
    *,
    client_ran: bool = True,
    no_traffic_hint: str = "did CMD read FAKEVOIPBIN_URL or VOIPBIN_API_BASE_URL?",
    journal: Journal | None = None,
    root: str = "",
) -> int:
    """Print the report, write its files; the exit code ``code`` becomes (``strict``:
    1 when the client broke the spec, the upstream drifted or nothing was asked).
    ``journal``: the session's, written as HAR (``options.har``) under ``root``.
    With no request, ``no_traffic_hint`` follows the line that says so; a client that
    never started (``client_ran`` False: its own error was said) gets neither."""
    print(found.table())
    if not found.requests and client_ran:
        print(f"{who}: the client made no request to {where}; {no_traffic_hint}")
    writers = (
        (options.report, found.to_json),
        (options.junit, lambda _code: found.junit()),
        (options.html, lambda code: report_html.render(found, code)),
        # The HAR is the session's journal, which only a session that kept one hands in.
        (
            options.har if journal is not None else None,
            lambda _code: har_text(journal.exchanges() if journal else [], root, __version__),
        ),
    )
    for path, text in writers:
        if path:
            try:
                _write(Path(path), text(code))
            except OSError as exc:
                sys.stderr.write(f"{who}: cannot write {path}: {exc.strerror}\n")
                return code or USAGE
    if options.strict and code == 0:
        if found.violation_count:
            print(f"{who} --strict: the client broke the spec ({found.violation_count} request(s))")
            return STRICT_FAILED
        if found.drift_count:
            print(f"{who} --strict: the upstream drifted ({found.drift_count} answer(s))")
            return STRICT_FAILED
        if not found.requests:
            print(f"{who} --strict: no request reached {where}")
            return STRICT_FAILED
    return code


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written (its missing folders are made), or None. Tried
    for real, so a read-only place is found before the client's tests run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        if path.is_dir():
            return "it is a folder"
        with path.open("a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None
