"""checks/report.py's JUnit XML, written by ElementTree: hostile text in a message (quotes,
``<``, ``&``, control characters and lone surrogates that XML 1.0 cannot hold) still
gives a file that parses, with the text as it was (what XML cannot hold spelled out),
and the suite's counts and cases as the report says."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from fakevoipbin.checks.report import ClientReport, finish
from fakevoipbin.core.journal import Entry
from fakevoipbin.options import Options
from fakevoipbin.spec import Spec

from ..test_run import cases, properties

#: Quotes of both kinds, markup, an entity, a CDATA end, a tab and a newline (which XML
#: carries), and what it cannot carry: NUL, BEL, ESC, a vertical tab, U+FFFE, a lone
#: surrogate.
HOSTILE = "a \"b\" 'c' <d> & &amp; ]]> e\tf\ng \x00\x07\x1b\x0b \ufffe \ud800 end"
#: HOSTILE as the XML shows it, once parsed back.
SHOWN = "a \"b\" 'c' <d> & &amp; ]]> e\tf\ng \\x00\\x07\\x1b\\x0b \\ufffe \\ud800 end"


def _report() -> ClientReport:
    report = ClientReport(Spec(), upstream="http://upstream.test/v1.0")
    report.observe(
        Entry(
            1,
            0,
            "POST",
            "/v1.0/accesskeys",
            "PostAccesskeys",
            400,
            request_violations=[{"field": HOSTILE, "rule": "enum", "description": HOSTILE}],
            reason="INVALID_ARGUMENT",
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
            drift=[{"rule": HOSTILE, "message": HOSTILE, "evidence": "<ev>"}],
        )  # fmt: skip
    )
    report.observe(Entry(3, 0, "GET", "/v1.0/calls", "GetCalls", 501, modelled=False))
    return report


def test_hostile_text_in_a_message_parses_back_as_it_was() -> None:
    text = _report().junit()
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    suite = ET.fromstring(text)
    found = cases(suite)
    (violation,) = found["PostAccesskeys"].findall("failure")
    assert violation.get("type") == "spec violation"
    assert violation.get("message") == f"{SHOWN} broke 'enum'"
    assert violation.text == f"request #1 POST /v1.0/accesskeys -> 400: {SHOWN}"
    (drift,) = found["GetAccesskeysId"].findall("failure")
    assert drift.get("type") == "upstream drift"
    assert drift.get("message") == f"the upstream broke '{SHOWN}'"
    assert drift.text == f"answer to #2 GET /v1.0/accesskeys/1 -> 200: {SHOWN} (<ev>)"
    # The counts, and the cases the report has: one per operation and one per route
    # the fake does not model.
    assert suite.get("failures") == "2"
    assert suite.get("tests") == str(len(found)) == str(len(suite.findall("testcase")))
    assert found["GET /v1.0/calls"].get("classname") == "fakevoipbin.unmodelled"
    assert properties(found["PostAccesskeys"])["violations"] == "1"
    assert int(suite.get("skipped", "")) == len(found) - 2
    suite_properties = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
    assert suite_properties["drift_count"] == "1"
    assert suite_properties["unmodelled_requests"] == "1"


def test_the_junit_file_is_written_and_read_back(tmp_path: Path) -> None:
    """The file ``--junit`` writes (UTF-8) parses too, and holds the text."""
    path = tmp_path / "junit.xml"
    options = Options.for_face("run", junit=str(path))
    assert finish(_report(), 0, options, "test", "here") == 0
    suite = ET.parse(path).getroot()
    failure = cases(suite)["PostAccesskeys"].find("failure")
    assert failure is not None and failure.text is not None
    assert failure.text.endswith(SHOWN)


def test_the_table_and_the_json_of_hostile_text_can_be_written() -> None:
    """A lone surrogate in a drift message (an upstream's JSON can hold one) is spelled
    out in every form of the report, so none fails to encode as UTF-8."""
    report = _report()
    for text in (report.table(), report.to_json(), report.junit()):
        assert "\\ud800" in text
        text.encode("utf-8")  # would raise on a lone surrogate
