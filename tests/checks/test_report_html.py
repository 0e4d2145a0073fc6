"""checks/report_html.py: ``run --html FILE`` writes one self-contained page whose
matrix holds, for each operation, every met status with its count and every documented
status never met (marked by a sign and a word, not by colour alone); the requests that
broke the spec with their redacted request; the drift behind a proxy; a one-line
summary. Parsed with html.parser: no tag, script, style sheet, font or image comes from
outside, and hostile text a client sent stays text."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fakevoipbin.checks import report_html
from fakevoipbin.checks.report import ClientReport
from fakevoipbin.core.journal import Entry
from fakevoipbin.spec import Spec

from ..conftest import TUTORIAL_TOKEN
from ..test_run import BAD_CLIENT, DOCUMENTED, _errors
from .test_report import HOSTILE

CLI = [sys.executable, "-m", "fakevoipbin"]


class Page(HTMLParser):
    """What a test reads of the page: the matrix cells by (operation, status), the
    reasons by operation, the element with each id's text, every tag met, and every
    attribute that could fetch something."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: dict[tuple[str, int], dict[str, Any]] = {}
        self.reasons: dict[str, str] = {}
        self.by_id: dict[str, str] = {}
        self.tags: list[str] = []
        self.fetches: list[str] = []
        self.text: list[str] = []
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            if name in found:
                self.fetches.append(f"{tag} {name}={found[name]}")
        if tag == "link" or (tag == "meta" and found.get("http-equiv") == "refresh"):
            self.fetches.append(tag)
        if "style" in found and "url(" in found["style"]:
            self.fetches.append(f"{tag} style url()")
        self._open.append((tag, found, []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, attrs, text = self._open.pop()
            joined = "".join(text)
            if self._open:
                self._open[-1][2].append(joined)
            if name == "td" and "data-status" in attrs:
                self.cells[(attrs["data-op"], int(attrs["data-status"]))] = {
                    **attrs,
                    "text": joined.strip(),
                }
            elif name == "td" and "reasons" in attrs.get("class", ""):
                self.reasons[attrs["data-op"]] = joined.strip()
            if "id" in attrs:
                self.by_id[attrs["id"]] = joined.strip()
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open:
            self._open[-1][2].append(data)


def test_run_html_holds_the_matrix_of_a_known_session(tmp_path: Path) -> None:
    """BAD_CLIENT makes three creates: two break the spec (400), one is met (200).
    Every operation's documented statuses are cells; met ones carry their count."""
    page_file, seen = tmp_path / "out" / "report.html", tmp_path / "seen.json"
    proc = subprocess.run(
        [*CLI, "run", "--html", str(page_file), "--", sys.executable, "-c", BAD_CLIENT, str(seen)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(seen.read_text()) == [400, 400, 200]
    text = page_file.read_text(encoding="utf-8")
    page = Page(text)

    for op_id, documented in DOCUMENTED.items():
        for status in documented:
            assert (op_id, status) in page.cells, (op_id, status)
    post = {s: page.cells[("PostAccesskeys", s)] for s in DOCUMENTED["PostAccesskeys"]}
    assert (post[200]["data-state"], post[200]["data-count"], post[200]["text"]) == (
        "met", "1", "✓ 1"
    )  # fmt: skip
    assert (post[400]["data-state"], post[400]["data-count"], post[400]["text"]) == (
        "met", "2", "✓ 2"
    )  # fmt: skip
    for status in _errors("PostAccesskeys"):
        if status != 400:
            assert post[status]["data-state"] == "never-met"
            assert post[status]["text"] == "✗ never met"  # a sign and a word, not colour alone
            assert "data-count" not in post[status]
    # An operation never called: every documented status never met, no count anywhere.
    for status in DOCUMENTED["GetAccesskeys"]:
        assert page.cells[("GetAccesskeys", status)]["data-state"] == "never-met"
    assert page.reasons["PostAccesskeys"] == "INVALID_ARGUMENT×1, INVALID_JSON_BODY×1"
    assert page.reasons["GetAccesskeys"] == "-"

    summary = page.by_id["summary"]
    assert summary.startswith("FAIL: 3 request(s), 1 of ")
    assert "2 request(s) broke openapi.yaml" in summary
    assert "client exit code 0" in summary
    # The breaches, each with its redacted request (the body as the journal keeps it).
    assert page.by_id["violation-count"] == "2 violation(s) in the client's requests."
    assert '"expire": "86400"' in "".join(page.text)
    assert "accesskey=[REDACTED]" in "".join(page.text)
    assert TUTORIAL_TOKEN not in text

    # Self-contained: no script, no fetch of any kind; one inline style; a CSP of 'none'.
    assert "script" not in page.tags
    assert page.fetches == []
    assert page.tags.count("style") == 1
    assert "default-src 'none'" in text
    assert "http://" not in text and "https://" not in text
    assert "@media print" in text and "@media (max-width" in text


def _hostile_report() -> ClientReport:
    report = ClientReport(Spec(), upstream="http://upstream.test/v1.0")
    report.observe(
        Entry(
            1,
            0,
            "POST",
            "/v1.0/accesskeys?x=<img src=x>",
            "PostAccesskeys",
            400,
            request_violations=[{"field": HOSTILE, "rule": "enum", "description": HOSTILE}],
            reason="INVALID_ARGUMENT",
            headers={"user-agent": "<script>alert(1)</script>"},
            json={"name": "</pre><script>x()</script>"},
        )  # fmt: skip
    )
    report.observe(
        Entry(
            2,
            0,
            "GET",
            "/v1.0/accesskeys/1",
            "GetAccesskeysId",
            200,
            drift=[{"rule": "token-only-on-create", "message": HOSTILE, "evidence": "<ev>"}],
        )  # fmt: skip
    )
    return report


def test_hostile_text_stays_text() -> None:
    text = report_html.render(_hostile_report())
    page = Page(text)
    assert "script" not in page.tags and "img" not in page.tags and "d" not in page.tags
    assert page.fetches == []
    body = "".join(page.text)
    assert "<script>alert(1)</script>" in body
    assert "</pre><script>x()</script>" in body
    assert "<img src=x>" in body
    # control characters and a lone surrogate spelled out, as the table shows them
    assert "\\x1b" in body and "\\ud800" in body and "\x1b" not in text
    text.encode("utf-8")  # a lone surrogate would not encode


def test_the_drift_section_is_there_behind_a_proxy_only() -> None:
    page = Page(report_html.render(_hostile_report()))
    assert page.by_id["drift-count"].startswith("1 upstream answer(s) broke")
    assert "token-only-on-create" in page.by_id["drift-count"] + "".join(page.text)
    assert "1 upstream answer(s) drifted" in page.by_id["summary"]
    assert page.cells[("GetAccesskeysId", 200)]["data-state"] == "met"

    fake = ClientReport(Spec())
    fake.observe(Entry(1, 0, "GET", "/v1.0/accesskeys", "GetAccesskeys", 200))
    fake.observe(Entry(2, 0, "GET", "/v1.0/accesskeys", "GetAccesskeys", 418))
    page = Page(report_html.render(fake))
    assert "drift" not in page.by_id and "drifted" not in page.by_id["summary"]
    assert page.by_id["summary"].startswith("PASS: 2 request(s), 1 of ")
    odd = page.cells[("GetAccesskeys", 418)]
    assert (odd["data-state"], odd["text"]) == ("undocumented", "! 1 undocumented")
