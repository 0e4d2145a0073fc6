"""``run --html FILE`` in Chromium: the report of a known client session renders with
the network blocked and loads nothing (the requests counted: 0 beyond the file
itself); the matrix in the DOM holds, for each operation, every met status with its
count and every documented status never met; no raw token is in the DOM; on a phone's
width it still shows. And the report's size for a 1,000-request session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..conftest import TUTORIAL_TOKEN
from ..test_run import BAD_CLIENT, DOCUMENTED
from .conftest import Browser, screenshot

CLI = [sys.executable, "-m", "fakevoipbin"]

#: A client session with a little of everything: successes, a missing key, a wrong
#: id, bodies that break the spec, a path with no route.
SESSION_CLIENT = """
import json, os, sys, urllib.error, urllib.request
base, key = os.environ["FAKEVOIPBIN_URL"], os.environ["FAKEVOIPBIN_ACCESSKEY"]
def call(method, path, body=None, key=key):
    url = base + path + ("&" if "?" in path else "?") + "accesskey=" + key
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
n = int(sys.argv[1])
seen = []
for i in range(n):
    kind = i % 10
    if kind < 5:
        seen.append(call("GET", "/accesskeys"))
    elif kind == 5:
        seen.append(call("GET", "/accesskeys", key="vb_" + "x" * 32))
    elif kind == 6:
        seen.append(call("GET", "/accesskeys/00000000-0000-4000-8000-000000000000"))
    elif kind == 7:
        seen.append(call("POST", "/accesskeys", {"name": "n%d" % i, "expire": "86400"}))
    elif kind == 8:
        seen.append(call("GET", "/customer"))
    else:
        seen.append(call("GET", "/nowhere"))
print(json.dumps(seen.count(200)))
"""


def _run_html(tmp_path: Path, code: str, *args: str) -> tuple[Path, dict[str, object]]:
    page, report = tmp_path / "report.html", tmp_path / "report.json"
    proc = subprocess.run(
        [*CLI, "run", "--html", str(page), "--report", str(report), "--",
         sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return page, json.loads(report.read_text(encoding="utf-8"))


def _cells(browser: Browser) -> dict[tuple[str, int], dict[str, str]]:
    found = browser.driver.execute_script(
        "return Array.from(document.querySelectorAll('#matrix td[data-status]')).map(td => "
        "({op: td.dataset.op, status: td.dataset.status, state: td.dataset.state, "
        "count: td.dataset.count || '', text: td.innerText.trim()}));"
    )
    return {(c["op"], int(c["status"])): c for c in found}


def test_the_report_renders_with_its_counts_and_loads_nothing(
    browser: Browser, phone: Browser, tmp_path: Path
) -> None:
    page, report = _run_html(tmp_path, BAD_CLIENT, str(tmp_path / "seen.json"))
    url = page.resolve().as_uri()
    browser.block_the_network()
    browser.get(url)
    assert browser.driver.title == "fakevoipbin contract report"

    cells = _cells(browser)
    operations = report["operations"]
    assert isinstance(operations, dict)
    for op_id, documented in DOCUMENTED.items():
        met = {int(s): n for s, n in operations[op_id]["statuses"].items()}
        for status in documented:
            cell = cells[(op_id, status)]
            if status in met:
                assert (cell["state"], cell["count"]) == ("met", str(met[status]))
                assert cell["text"] == f"✓ {met[status]}"
            else:
                assert cell["state"] == "never-met", (op_id, status)
                assert cell["text"] == "✗ never met"
        for status, n in met.items():
            assert cells[(op_id, status)]["count"] == str(n)
    # the known session: two creates broke the spec, one was met
    assert cells[("PostAccesskeys", 200)]["count"] == "1"
    assert cells[("PostAccesskeys", 400)]["count"] == "2"
    assert cells[("PostAccesskeys", 401)]["state"] == "never-met"
    summary = browser.driver.find_element("id", "summary").text
    assert summary.startswith("FAIL: 3 request(s)")
    # a never-met cell stands out in the rendering too: not the met cells' background
    never = [s for s in DOCUMENTED["PostAccesskeys"] if s not in (200, 400)][:2]
    styles = browser.driver.execute_script(
        "return arguments[0].map(st => getComputedStyle(document.querySelector("
        "`td[data-op='PostAccesskeys'][data-status='${st}']`)).backgroundColor);",
        [200, *never],
    )
    assert styles[0] != styles[1] and styles[1] == styles[2]

    assert browser.requests() == [url]  # the file itself, nothing else
    assert browser.driver.execute_script(
        "return performance.getEntriesByType('resource').length"
    ) == 0  # fmt: skip
    assert TUTORIAL_TOKEN not in browser.driver.page_source
    screenshot(browser, "report", tmp_path)

    phone.block_the_network()
    phone.get(url)
    width = phone.driver.execute_script("return document.documentElement.clientWidth")
    summary_box = phone.driver.execute_script(
        "return document.getElementById('summary').getBoundingClientRect().right"
    )
    assert summary_box <= width  # the summary fits a phone's width; the matrix scrolls
    assert phone.requests() == [url]
    screenshot(phone, "report-phone", tmp_path)


def test_the_report_of_a_1000_request_session(
    browser: Browser, tmp_path: Path, figures: list[str]
) -> None:
    page, report = _run_html(tmp_path, SESSION_CLIENT, "1000")
    assert report["requests"] == 1000
    size = page.stat().st_size
    line = f"HTML report of a 1,000-request session: {size} bytes ({size / 1024:.1f} KiB)"
    figures.append(line)
    print(line)
    url = page.resolve().as_uri()
    browser.block_the_network()
    browser.get(url)
    summary = browser.driver.find_element("id", "summary").text
    assert summary.startswith("FAIL: 1000 request(s)")
    cells = _cells(browser)
    assert cells[("GetAccesskeys", 200)]["count"] == "500"
    assert cells[("GetAccesskeys", 401)]["count"] == "100"
    assert cells[("PostAccesskeys", 400)]["count"] == "100"
    assert browser.requests() == [url]
    screenshot(browser, "report-1000", tmp_path)
