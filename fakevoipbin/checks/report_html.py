"""``run --html FILE`` and ``proxy --html FILE``: the report (``checks/report.ClientReport``)
as one self-contained HTML page.

The page has a one-line summary a CI page can show (``summary_line``), then a matrix of
operations × statuses (``matrix``): a status met shows its count, a documented status
never met stands out, each cell also says its state in a sign and a word (``✓ 3``,
``✗ never met``), so it reads without colour, and the error reasons met sit beside each
operation. Then the requests that broke openapi.yaml, each with its redacted request and
what broke, and, behind a proxy, the production drift.

Everything is inline: one ``<style>`` (print and phone rules included), no script, no
font, no image, no URL fetched, and a Content-Security-Policy that lets the page load
nothing even if a value slipped through. Every text a client or an upstream sent is
escaped (``_text``: control characters spelled out as the table does, then
``html.escape``); the report holds no credential, and the requests shown are the
journal's redacted ones."""

from __future__ import annotations

import html
import json
from collections import Counter
from typing import Any, Protocol

from ..core.printable import shown
from ..spec import Spec


class ClientReport(Protocol):
    """What the page reads of ``checks/report.ClientReport`` (which imports this module
    to write it, so this one names only the shape)."""

    spec: Spec
    statuses: dict[str, Counter[int]]
    reasons: dict[str, Counter[str]]
    violations: list[dict[str, Any]]
    violation_count: int
    shown_requests: dict[int, dict[str, Any]]
    unrouted: Counter[str]
    requests: int
    upstream: str | None
    drift: list[dict[str, Any]]
    drift_count: int

    def never_met(self, op_id: str) -> list[int]: ...

    def unmodelled_routes(self) -> list[dict[str, Any]]: ...


#: The states a matrix cell can be in: its CSS class, its sign and its word.
MET = ("met", "✓", "")
NEVER_MET = ("never-met", "✗", "never met")
UNDOCUMENTED = ("undocumented", "!", "undocumented")
NOT_DOCUMENTED = ("none", "·", "")

#: How many requests that broke the spec (and drifted answers) the page lists; the JSON
#: report has every one it kept.
MAX_SHOWN = 200

STYLE = """
:root { --met: #d9f2dc; --never: #ffe1c2; --undoc: #f6d2f0; --line: #999; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
  padding: 1rem; max-width: 80rem; color: #111; background: #fff; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid var(--line); }
.summary { font-weight: bold; padding: .5rem .75rem; border: 2px solid #111; }
.summary.fail { border-style: double; border-width: 4px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: .2rem .45rem; text-align: left;
  vertical-align: top; }
td.cell { text-align: center; white-space: nowrap; font-size: .8rem; }
td.met { background: var(--met); font-weight: bold; font-size: .9rem; }
td.never-met { background: var(--never); color: #7a2e00; border: 1px dashed #a40; }
td.undocumented { background: var(--undoc); font-style: italic; }
td.none { color: #888; }
th.op { white-space: nowrap; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: .9em; }
pre { white-space: pre-wrap; word-break: break-all; background: #f4f4f4; padding: .4rem;
  margin: .3rem 0; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; }
.breach { border-left: 4px solid #a40; padding-left: .6rem; margin: .8rem 0; }
.muted { color: #555; }
@media (max-width: 40rem) {
  body { padding: .5rem; font-size: 14px; }
  th, td { padding: .15rem .3rem; }
  td.cell { min-width: 2.6rem; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  .scroll { overflow: visible; }
  td.met, td.never-met, td.undocumented { background: none; }
  .breach { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""

#: What the page may load: nothing, but its own inline style.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def render(report: ClientReport, exit_code: int | None = None) -> str:
    """The whole page, as text (UTF-8 when written)."""
    title = "fakevoipbin contract report"
    if report.upstream is not None:
        title += f" (through the proxy to {report.upstream})"
    failing = _failing(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_text(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head><body>",
        f"<h1>{_text(title)}</h1>",
        f'<p id="summary" class="summary{" fail" if failing else ""}">'
        f"{_text(summary_line(report, exit_code))}</p>",
        *matrix(report),
        *_routes(report),
        *_breaches(report),
    ]
    if report.upstream is not None:
        parts += _drift(report)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def summary_line(report: ClientReport, exit_code: int | None = None) -> str:
    """One line: FAIL or PASS, the requests, the operations called, the documented
    error statuses never met, the requests that broke the spec, the drift, the exit
    code of the client (when there was one)."""
    called = sum(1 for c in report.statuses.values() if c)
    never = sum(len(report.never_met(op)) for op in report.statuses)
    words = [
        "FAIL" if _failing(report) else "PASS",
        f"{report.requests} request(s)",
        f"{called} of {len(report.statuses)} operation(s) called",
        f"{never} documented error status(es) never met",
        f"{report.violation_count} request(s) broke openapi.yaml",
    ]
    if report.upstream is not None:
        words.append(f"{report.drift_count} upstream answer(s) drifted")
    if exit_code is not None:
        words.append(f"client exit code {exit_code}")
    return words[0] + ": " + ", ".join(words[1:])


def _failing(report: ClientReport) -> bool:
    return bool(report.violation_count or report.drift_count)


def cell_state(report: ClientReport, op_id: str, status: int) -> tuple[str, str, str]:
    """A matrix cell's state: met (documented or not), documented and never met, or
    neither."""
    documented = status in report.spec.operations[op_id].documented_statuses
    if report.statuses[op_id][status]:
        return MET if documented else UNDOCUMENTED
    return NEVER_MET if documented else NOT_DOCUMENTED


def matrix(report: ClientReport) -> list[str]:
    """The operations × statuses table: each cell carries ``data-op``,
    ``data-status`` and ``data-state`` (``met``, ``never-met``, ``undocumented``,
    ``none``) and, when met, ``data-count``."""
    statuses = sorted(
        {s for op in report.statuses for s in report.spec.operations[op].documented_statuses}
        | {s for c in report.statuses.values() for s in c}
    )
    out = [
        "<h2>Statuses met, by operation</h2>",
        '<ul class="legend">'
        f"<li>{MET[1]} N: met N times</li>"
        f"<li>{NEVER_MET[1]} {NEVER_MET[2]}: documented, never answered</li>"
        f"<li>{UNDOCUMENTED[1]} N {UNDOCUMENTED[2]}: met, but openapi.yaml does not "
        "document it</li>"
        f"<li>{NOT_DOCUMENTED[1]}: not documented, not met</li></ul>",
        '<div class="scroll"><table id="matrix">',
        "<thead><tr><th>operation</th><th>calls</th>"
        + "".join(f'<th scope="col">{s}</th>' for s in statuses)
        + "<th>error reasons met</th></tr></thead><tbody>",
    ]
    for op_id, counts in report.statuses.items():
        cells = []
        for status in statuses:
            css, sign, word = cell_state(report, op_id, status)
            count = counts[status]
            label = f"{sign} {count}" if count else sign
            if word:
                label += f" {word}"
            extra = f' data-count="{count}"' if count else ""
            cells.append(
                f'<td class="cell {css}" data-op="{_text(op_id)}" data-status="{status}" '
                f'data-state="{css}"{extra} title="{_text(op_id)} {status}: '
                f'{_text(word or css)}">{_text(label)}</td>'
            )
        reasons = ", ".join(f"{r}×{n}" for r, n in sorted(report.reasons[op_id].items()))
        out.append(
            f'<tr data-op="{_text(op_id)}"><th class="op" scope="row"><code>{_text(op_id)}'
            f"</code></th><td>{sum(counts.values())}</td>{''.join(cells)}"
            f'<td class="reasons" data-op="{_text(op_id)}">{_text(reasons or "-")}</td></tr>'
        )
    out.append("</tbody></table></div>")
    return out


def _routes(report: ClientReport) -> list[str]:
    """The requests to no route, and to routes production serves and the fake (or the
    spec, behind a proxy) does not model."""
    out: list[str] = []
    if report.unrouted:
        out.append("<h2>Requests to no route (404 ROUTE_NOT_FOUND)</h2><ul>")
        for what, n in report.unrouted.most_common(MAX_SHOWN):
            out.append(f"<li>{n} × <code>{_text(what)}</code></li>")
        out.append("</ul>")
    unmodelled = report.unmodelled_routes()
    if unmodelled:
        out.append("<h2>Requests to routes openapi.yaml does not describe</h2><ul>")
        for u in unmodelled[:MAX_SHOWN]:
            statuses = ", ".join(f"{s}×{n}" for s, n in u["statuses"].items())
            out.append(
                f"<li>{u['count']} × <code>{_text(u['method'])} {_text(u['path'])}</code> "
                f"({_text(u['operation'])}): {_text(statuses)}</li>"
            )
        out.append("</ul>")
    return out


def _breaches(report: ClientReport) -> list[str]:
    """Each request that broke openapi.yaml: the redacted request and what broke."""
    if not report.violation_count:
        return ["<h2>Requests that broke openapi.yaml</h2>", "<p>None.</p>"]
    out = [
        "<h2>Requests that broke openapi.yaml</h2>",
        f'<p id="violation-count">{report.violation_count} violation(s) in the client\'s '
        "requests.</p>",
    ]
    by_seq: dict[int, list[dict[str, Any]]] = {}
    for v in report.violations:
        by_seq.setdefault(v["seq"], []).append(v)
    for seq, found in list(by_seq.items())[:MAX_SHOWN]:
        first = found[0]
        out.append(
            f'<div class="breach" data-seq="{seq}"><p><b>#{seq}</b> '
            f"<code>{_text(first['method'])} {_text(first['target'])}</code> → "
            f'{_text(first["status"])} <span class="muted">({_text(first["operation_id"])})'
            "</span></p><ul>"
        )
        for v in found:
            out.append(
                f"<li><b>✗</b> <code>{_text(v['field'])}</code> broke "
                f"<code>{_text(v['rule'])}</code>: {_text(v['description'])}</li>"
            )
        out.append("</ul>")
        request = report.shown_requests.get(seq)
        if request:
            out.append(f"<pre>{_request_text(request)}</pre>")
        out.append("</div>")
    if len(by_seq) > MAX_SHOWN:
        out.append(f"<p>… and more: see the JSON report ({report.violation_count} in all).</p>")
    return out


def _request_text(request: dict[str, Any]) -> str:
    """The request as the journal shows it (redacted): its kept headers and its body."""
    lines = [f"{name}: {value}" for name, value in sorted(request["headers"].items())]
    if request["json"] is not None:
        lines.append("")
        lines += json.dumps(request["json"], indent=2, ensure_ascii=False).splitlines()
    elif request["body"] is not None:
        lines.append("")
        lines.append(request["body"])
    if request["body_truncated"]:
        lines.append("(the body was cut at 4 KiB)")
    return "\n".join(_text(line) for line in lines)


def _drift(report: ClientReport) -> list[str]:
    """Behind a proxy: each upstream answer that broke openapi.yaml or a rule."""
    out = ['<h2 id="drift">Production drift</h2>']
    if not report.drift_count:
        out.append("<p>No upstream answer broke openapi.yaml or a rule.</p>")
        return out
    out.append(
        f'<p id="drift-count">{report.drift_count} upstream answer(s) broke openapi.yaml '
        "or a rule.</p><ul>"
    )
    for d in report.drift[:MAX_SHOWN]:
        evidence = f" ({_text(d['evidence'])})" if d["evidence"] else ""
        out.append(
            f'<li class="drift" data-seq="{d["seq"]}"><b>✗ {_text(d["rule"])}</b> '
            f"#{d['seq']} <code>{_text(d['method'])} {_text(d['target'])}</code> → "
            f"{_text(d['status'])} ({_text(d['operation'])}): {_text(d['message'])}"
            f"{evidence}</li>"
        )
    out.append("</ul>")
    if report.drift_count > MAX_SHOWN:
        out.append(f"<p>… and more: see the JSON report ({report.drift_count} in all).</p>")
    return out


def _text(value: Any) -> str:
    """Any value as HTML text or an attribute's value: each character that steers a
    terminal spelled out (``core/printable.shown``), then escaped, quotes included."""
    return html.escape(shown(str(value)), quote=True)
