"""``fakevoipbin run``'s report: what a client's tests exercised and where they broke
the spec, gathered from the fake's journal as the client runs."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..core.journal import Entry
from ..spec import Spec

MAX_VIOLATIONS = 1000


@dataclass
class ClientReport:
    spec: Spec
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    violations: list[dict[str, Any]] = field(default_factory=list)
    violation_count: int = 0
    unrouted: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for op_id in self.spec.operations:
            self.statuses.setdefault(op_id, Counter())

    def observe(self, entry: Entry) -> None:
        """A journal observer: count the exchange, keep its spec violations."""
        with self._lock:
            self.requests += 1
            if entry.operation_id is None:
                if entry.status == 404:
                    self.unrouted[f"{entry.method} {entry.target.split('?')[0]}"] += 1
                return
            self.statuses[entry.operation_id][entry.status] += 1
            for v in entry.request_violations:
                self.violation_count += 1
                if len(self.violations) < MAX_VIOLATIONS:
                    self.violations.append(
                        {
                            "seq": entry.seq,
                            "operation_id": entry.operation_id,
                            "method": entry.method,
                            "target": entry.target,
                            "status": entry.status,
                            "field": v.get("field"),
                            "rule": v.get("rule"),
                            "description": v.get("description"),
                        }
                    )

    def never_met(self, op_id: str) -> list[int]:
        documented = self.spec.operations[op_id].documented_statuses
        return [s for s in documented if s >= 400 and s not in self.statuses[op_id]]

    def as_dict(self, exit_code: int | None = None) -> dict[str, Any]:
        ops = {
            op_id: {
                "calls": sum(c.values()),
                "statuses": {str(s): n for s, n in sorted(c.items())},
                "documented": list(self.spec.operations[op_id].documented_statuses),
                "error_statuses_never_met": self.never_met(op_id),
            }
            for op_id, c in self.statuses.items()
        }
        return {
            "requests": self.requests,
            "operations": ops,
            "violations": self.violations,
            "violation_count": self.violation_count,
            "unrouted": dict(self.unrouted),
            "client_exit_code": exit_code,
        }

    def to_json(self, exit_code: int | None = None) -> str:
        return json.dumps(self.as_dict(exit_code), indent=2, ensure_ascii=False)

    def table(self) -> str:
        lines = ["fakevoipbin contract report", ""]
        lines.append(
            f"{'operation':<20} {'calls':>6}  {'statuses met':<24} error statuses never met"
        )
        for op_id, c in self.statuses.items():
            met = ", ".join(f"{s}×{n}" for s, n in sorted(c.items())) or "-"
            never = ", ".join(str(s) for s in self.never_met(op_id)) or "-"
            lines.append(f"{op_id:<20} {sum(c.values()):>6}  {met:<24} {never}")
        if self.unrouted:
            lines.append("")
            lines.append("requests to no route (404 ROUTE_NOT_FOUND):")
            for what, n in self.unrouted.most_common(10):
                lines.append(f"  {n:>5} × {what}")
        lines.append("")
        if self.violation_count:
            lines.append(f"{self.violation_count} client request(s) broke openapi.yaml:")
            for v in self.violations[:50]:
                lines.append(
                    f"  #{v['seq']} {v['method']} {v['target']} -> {v['status']}: "
                    f"{v['field']} broke '{v['rule']}' ({v['description']})"
                )
            if self.violation_count > 50:
                lines.append(f"  … and {self.violation_count - 50} more (see the JSON report)")
        else:
            lines.append("no client request broke openapi.yaml")
        return "\n".join(lines)

    def junit(self) -> str:
        """One test case per operation and documented status (skipped when never met),
        and one failing case per spec violation."""
        cases: list[str] = []
        failures = skipped = 0
        for op_id, c in self.statuses.items():
            for status in self.spec.operations[op_id].documented_statuses:
                name = quoteattr(f"{op_id} answers {status}")
                if status in c:
                    cases.append(f'<testcase classname="fakevoipbin.{op_id}" name={name}/>')
                else:
                    skipped += 1
                    cases.append(
                        f'<testcase classname="fakevoipbin.{op_id}" name={name}>'
                        f'<skipped message="the client\'s tests never met this status"/>'
                        "</testcase>"
                    )
        for v in self.violations:
            failures += 1
            name = quoteattr(f"request #{v['seq']} {v['method']} {v['target']}")
            message = quoteattr(f"{v['field']} broke '{v['rule']}'")
            cases.append(
                f'<testcase classname="fakevoipbin.spec.{v["operation_id"]}" name={name}>'
                f"<failure message={message}>{escape(str(v['description']))}</failure>"
                "</testcase>"
            )
        head = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<testsuite name="fakevoipbin contract" tests="{len(cases)}" '
            f'failures="{failures}" skipped="{skipped}" errors="0">'
        )
        return head + "\n  " + "\n  ".join(cases) + "\n</testsuite>\n"
