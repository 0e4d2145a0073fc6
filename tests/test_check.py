"""``fakevoipbin check FILE.har`` (check.py, proxy/replay.py) as a user meets it, a
subprocess: a HAR that ``run --har`` and ``proxy --har`` write loads back and gives
run's counts; production's drift in a capture is named and fails ``--strict``; a
clean capture passes; a Chrome devtools export is read, its other hosts listed; a bad
file is one line on stderr and exit 2; ``--record`` works from a HAR."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import TUTORIAL_TOKEN
from .core.test_har import CHROME_HAR, FIXTURE_TOKENS, valid_har
from .proxy.test_app import PLANTED, Upstream, drifting, json_edit
from .proxy.test_session import Proc, make_upstream, spawn  # noqa: F401 (fixtures)
from .test_server import start as start_serve
from .test_server import stop as stop_serve

CLI = [sys.executable, "-m", "fakevoipbin"]
TIMEOUT = 60

#: A client's session: every answer a client commonly meets (and, with ``bad``, a
#: request that breaks the spec); the tokens it was given go to argv[1].
SESSION_CLIENT = """
import json, os, sys, urllib.error, urllib.request
base, key = os.environ["FAKEVOIPBIN_URL"], os.environ["FAKEVOIPBIN_ACCESSKEY"]
bad = sys.argv[2] == "bad"
def call(method, path, body=None, root=False):
    url = (base.removesuffix("/v1.0") if root else base) + path
    if not root:
        url += ("&" if "?" in path else "?") + "accesskey=" + key
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
_, made = call("POST", "/accesskeys", {"name": "har", "expire": 86400})
call("GET", "/accesskeys/" + made["id"])
call("GET", "/accesskeys")
call("PUT", "/accesskeys/" + made["id"], {"name": "renamed"})
call("GET", "/accesskeys/00000000-0000-0000-0000-000000000001")
call("GET", "/customer")
_, login = call("POST", "/auth/login",
                {"username": "admin@example.com", "password": "admin-password"}, root=True)
call("DELETE", "/accesskeys/" + made["id"])
if bad:
    call("GET", "/accesskeys?page_size=x")
    call("GET", "/calls")
    call("GET", "/nothere")
open(sys.argv[1], "w").write(json.dumps([made["token"], login["token"]]))
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=TIMEOUT)


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr


def session_har(tmp_path: Path, *flags: str, bad: bool = False) -> tuple[Path, Path, list[str]]:
    """``run --har`` around SESSION_CLIENT: the HAR, run's JSON report, the tokens."""
    client = tmp_path / "client.py"
    client.write_text(SESSION_CLIENT)
    har, report, tokens = tmp_path / "s.har", tmp_path / "run.json", tmp_path / "tokens.json"
    r = cli(
        "run",
        "--har",
        str(har),
        "--report",
        str(report),
        *flags,
        "--",
        sys.executable,
        str(client),
        str(tokens),
        "bad" if bad else "good",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return har, report, json.loads(tokens.read_text())


def same_counts(run: dict[str, Any], checked: dict[str, Any]) -> None:
    for name in ("requests", "operations", "violation_count", "unrouted", "unmodelled"):
        assert checked[name] == run[name], name
    assert [(v["operation_id"], v["field"]) for v in checked["violations"]] == [
        (v["operation_id"], v["field"]) for v in run["violations"]
    ]


def test_runs_har_loads_back_through_check_with_runs_counts(tmp_path: Path) -> None:
    har, run_report, tokens = session_har(tmp_path, bad=True)
    text = har.read_text()
    doc = json.loads(text)
    valid_har(doc)
    for secret in [*FIXTURE_TOKENS, *tokens]:
        assert secret not in text
    checked = tmp_path / "check.json"
    r = cli("check", str(har), "--profile", "docs", "--report", str(checked))
    no_traceback(r)
    assert r.returncode == 0, r.stdout + r.stderr
    entries = len(doc["log"]["entries"])
    assert f"{har}: {entries} entries, {entries} judged (profile docs)" in r.stdout
    run, found = json.loads(run_report.read_text()), json.loads(checked.read_text())
    assert run["operations"]["PostAccesskeys"]["statuses"] == {"200": 1}
    assert run["violation_count"] == 1 and run["unmodelled"] and run["unrouted"]
    same_counts(run, found)
    assert found["drift_count"] == 0, found["drift"]
    assert "fakevoipbin contract report (of " in r.stdout
    for secret in [*FIXTURE_TOKENS, *tokens]:
        assert secret not in r.stdout + checked.read_text()
    strict = cli("check", str(har), "--profile", "docs", "--strict")
    assert strict.returncode == 1
    assert "check --strict: the client broke the spec (1 request(s))" in strict.stdout


def test_a_clean_sessions_har_passes_check_strict_by_default_live(tmp_path: Path) -> None:
    har, run_report, _tokens = session_har(tmp_path, "--profile", "live")
    checked = tmp_path / "check.json"
    junit = tmp_path / "check.xml"
    r = cli("check", str(har), "--strict", "--report", str(checked), "--junit", str(junit))
    no_traceback(r)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(profile live)" in r.stdout and "no upstream answer broke" in r.stdout
    same_counts(json.loads(run_report.read_text()), json.loads(checked.read_text()))
    assert junit.read_text().startswith("<?xml")


def test_a_proxys_har_of_a_drifting_upstream_fails_check_strict_naming_the_rule(
    make_upstream: Callable[..., Upstream],  # noqa: F811
    spawn: Callable[..., Proc],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The upstream answers a GET with a token: the proxy's HAR, checked, names
    token-only-on-create and fails --strict; no token is in the HAR."""
    up = make_upstream(edit=json_edit(drifting))
    har = tmp_path / "proxy.har"
    p = spawn("proxy", "--upstream", up.url, "--port", "0", "--profile", "docs", "--har", str(har))
    p.ready()
    with httpx.Client(timeout=10, params={"accesskey": up.accesskey}) as c:
        created = c.post(p.url + "/accesskeys", json={"name": "drift", "expire": 86400}).json()
        got = c.get(f"{p.url}/accesskeys/{created['id']}")
        assert got.json()["token"] == PLANTED
        live = httpx.get(p.root + "/_fake/journal", params={"format": "har"}, timeout=10)
        refused = httpx.get(p.root + "/_fake/journal", params={"format": "xml"}, timeout=10)
        assert refused.status_code == 400
        assert "format is one of json, har" in refused.json()["error"]["message"]
    code, out, err = p.stop()
    assert code == 0, out + err
    assert f"--har {har}" in out
    valid_har(live.json())
    text = har.read_text()
    valid_har(json.loads(text))
    for secret in (PLANTED, created["token"], up.accesskey):
        assert secret not in text and secret not in live.text
    r = cli("check", str(har), "--profile", "docs", "--strict")
    no_traceback(r)
    assert r.returncode == 1, r.stdout + r.stderr
    drift = r.stdout[r.stdout.index("production drift") :]
    assert re.search(r"GetAccesskeysId GET \S+ -> 200: \[token-only-on-create\]", drift), drift
    assert "check --strict: the upstream drifted" in r.stdout
    assert PLANTED not in r.stdout + r.stderr


def _captured(answer: dict[str, Any], url: str, method: str = "GET") -> dict[str, Any]:
    return {
        "startedDateTime": "2026-12-01T10:15:30.000Z",
        "time": 1,
        "request": {
            "method": method,
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": "Authorization", "value": f"Bearer {TUTORIAL_TOKEN}"}],
            "queryString": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"size": 1, "mimeType": "application/json", "text": json.dumps(answer)},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
    }


KEY = {
    "id": "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc",
    "customer_id": "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840",
    "name": "My New Accesskey",
    "detail": "This key is used for reporting",
    "token_prefix": TUTORIAL_TOKEN[:11],
    "tm_expire": "2027-12-01T10:15:30.123456Z",
    "tm_create": "2026-12-01T10:15:30.123456Z",
    "tm_update": None,
    "tm_delete": None,
}


@pytest.mark.parametrize("strict", [False, True])
def test_a_captured_get_answer_with_a_raw_token_is_token_only_on_create(
    tmp_path: Path, strict: bool
) -> None:
    """As mitmproxy would capture production answering a GET with the raw token."""
    url = f"https://api.voipbin.net/v1.0/accesskeys/{KEY['id']}"
    har = tmp_path / "prod.har"
    doc = {
        "log": {
            "version": "1.2",
            "creator": {"name": "mitmproxy", "version": "11"},
            "entries": [
                _captured(KEY, url),
                _captured({**KEY, "token": TUTORIAL_TOKEN}, url),
            ],
        }
    }
    har.write_text(json.dumps(doc))
    report = tmp_path / "r.json"
    r = cli("check", str(har), "--report", str(report), *(["--strict"] if strict else []))
    no_traceback(r)
    assert r.returncode == (1 if strict else 0), r.stdout + r.stderr
    found = json.loads(report.read_text())
    # the first answer is clean; the second carries a token, which its schema has no
    # room for either
    rules = {d["rule"]: d for d in found["drift"]}
    assert {(d["seq"], d["rule"]) for d in found["drift"]} == {
        (2, "token-only-on-create"),
        (2, "responses-conform"),
    }
    assert found["upstream"] == "https://api.voipbin.net"
    assert TUTORIAL_TOKEN[:11] + "…" in rules["token-only-on-create"]["evidence"]
    assert "[token-only-on-create]" in r.stdout
    assert TUTORIAL_TOKEN not in r.stdout + r.stderr + report.read_text()


def test_a_chrome_devtools_export_is_judged_and_its_other_entries_listed(tmp_path: Path) -> None:
    har = tmp_path / "chrome.har"
    har.write_text(json.dumps(CHROME_HAR, indent=2))
    r = cli("check", str(har), "--strict")
    no_traceback(r)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{har}: 4 entries, 2 judged (profile live)" in r.stdout
    assert "not judged: 2 (no answer: 1, not the API: 1)" in r.stdout
    assert "1 × GET https://fonts.gstatic.com/s/inter/v12/x.woff2" in r.stdout
    assert TUTORIAL_TOKEN not in r.stdout + r.stderr


def test_a_har_with_nothing_to_judge_fails_only_under_strict(tmp_path: Path) -> None:
    doc = copy.deepcopy(CHROME_HAR)
    doc["log"]["entries"] = [doc["log"]["entries"][1]]  # the font alone
    har = tmp_path / "fonts.har"
    har.write_text(json.dumps(doc))
    plain, strict = cli("check", str(har)), cli("check", str(har), "--strict")
    assert plain.returncode == 0 and strict.returncode == 1
    assert f"the client made no request to the API in {har}" in plain.stdout
    assert f"check --strict: no request reached the API in {har}" in strict.stdout


def test_check_records_fixtures_from_a_har_with_fresh_tokens(tmp_path: Path) -> None:
    har, _report, tokens = session_har(tmp_path)
    record = tmp_path / "rec.yaml"
    r = cli("check", str(har), "--profile", "docs", "--record", str(record), "--seed", "7")
    no_traceback(r)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"to {record} (fresh tokens from seed 7" in r.stdout
    text = record.read_text()
    for secret in [*FIXTURE_TOKENS, *tokens]:
        assert secret not in text
    doc = yaml.safe_load(text)
    keys = [k for cu in doc["customers"] for k in cu.get("keys", [])]
    assert keys and all(k["token"].startswith("vb_") for k in keys)
    live = [k for k in keys if "deleted_ago" not in k]
    assert live, keys
    served = start_serve("--fixtures", str(record))
    try:
        status, _, _ = served.request("GET", f"/accesskeys?accesskey={live[0]['token']}")
        assert status == 200
    finally:
        code, _ = stop_serve(served)
    assert code == 0


def _write(tmp_path: Path, name: str, content: str | bytes | None) -> Path:
    path = tmp_path / name
    if content is None:
        return path
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("missing.har", None, "no such file"),
        ("empty.har", "", "is empty, not a HAR file"),
        ("blank.har", "  \n", "is empty, not a HAR file"),
        ("text.har", "not json at all", "is not JSON (line 1, column 1: Expecting value)"),
        ("cut.har", '{"log": {"entries": [', "is not JSON (line 1, column 22"),
        ("latin1.har", b'{"log": "\xff"}', "is not UTF-8 text (byte 9)"),
        ("list.har", "[]", "the HAR is not an object"),
        ("nolog.har", '{"version": "1.2"}', "log is missing"),
        ("noentries.har", '{"log": {"version": "1.2"}}', "log.entries is missing"),
        (
            "noanswer.har",
            json.dumps({"log": {"entries": [{"request": {"method": "GET", "url": "http://a/"}}]}}),
            "entries[0].response is missing",
        ),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(
    tmp_path: Path, name: str, content: str | bytes | None, said: str
) -> None:
    path = _write(tmp_path, name, content)
    r = cli("check", str(path))
    no_traceback(r)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"fakevoipbin check: {path}: {said}"), lines[0]


def test_a_folder_given_is_one_line_and_exit_2(tmp_path: Path) -> None:
    r = cli("check", str(tmp_path))
    no_traceback(r)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == f"fakevoipbin check: {tmp_path}: is a folder, not a HAR file\n"


def test_an_unwritable_report_is_said_before_anything_is_read(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli("check", str(tmp_path / "missing.har"), "--report", str(blocker / "r.json"))
    no_traceback(r)
    assert r.returncode == 2
    assert r.stderr.startswith(f"fakevoipbin check: cannot write {blocker / 'r.json'}: ")
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_options_are_usage_errors() -> None:
    for args in (["check"], ["check", "x.har", "--profile", "prod"], ["check", "x.har", "--bogus"]):
        r = cli(*args)
        assert r.returncode == 2 and "usage: fakevoipbin check" in r.stderr, args


# --- docs/har.md's samples, as printed -----------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "har.md"
SIMPLE_CLIENT = """
import json, os, urllib.request
base, key = os.environ["FAKEVOIPBIN_URL"], os.environ["FAKEVOIPBIN_ACCESSKEY"]
req = urllib.request.Request(base + "/accesskeys?accesskey=" + key, method="POST",
                             data=json.dumps({"name": "docs", "expire": 86400}).encode(),
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()
urllib.request.urlopen(base + "/accesskeys?accesskey=" + key, timeout=10).read()
"""


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def _command(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    assert words[0] == "fakevoipbin", line
    return [*CLI, *(sys.executable if w == "python" else w for w in words[1:])]


def test_the_har_pages_python_sample_runs_and_its_har_checks_clean(tmp_path: Path) -> None:
    [sample] = _blocks("python")
    done = subprocess.run(
        [sys.executable, "-c", sample], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    valid_har(json.loads((tmp_path / "python.har").read_text()))
    r = cli("check", str(tmp_path / "python.har"), "--profile", "docs", "--strict")
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_har_pages_round_trip_runs_as_printed(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    test = "def test_client():\n" + "".join(f"    {line}\n" for line in SIMPLE_CLIENT.split("\n"))
    (tmp_path / "tests" / "test_client.py").write_text(test)
    round_trip = _blocks("sh")[-1].strip().splitlines()
    assert [line.split()[1] for line in round_trip] == ["run", "check"]
    own = ("PYTEST_", "FAKEVOIPBIN_")  # the suite's own: the sample starts from none
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    for line in round_trip:
        done = subprocess.run(
            _command(line), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, line + done.stdout + done.stderr
    run = json.loads((tmp_path / "run.json").read_text())
    same_counts(run, json.loads((tmp_path / "check.json").read_text()))
    assert run["operations"]["PostAccesskeys"]["calls"] == 1


def test_the_har_pages_check_lines_are_commands_check_takes(tmp_path: Path) -> None:
    """Each ``fakevoipbin check`` line of the page, on the round trip's HAR."""
    har, _report, _tokens = session_har(tmp_path)
    (tmp_path / "capture.har").write_bytes(har.read_bytes())
    lines = [line for block in _blocks("sh") for line in block.splitlines()]
    checks = [line for line in lines if line.startswith("fakevoipbin check capture.har")]
    assert len(checks) == 3
    for line in checks:
        done = subprocess.run(
            _command(line), cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        no_traceback(done)
        assert done.returncode in (0, 1), line + done.stdout + done.stderr
        assert "fakevoipbin contract report" in done.stdout, line
    assert (tmp_path / "report.xml").exists() and (tmp_path / "seen.yaml").exists()


def test_run_writes_a_har_even_of_no_request(tmp_path: Path) -> None:
    har = tmp_path / "deep" / "none.har"
    r = cli("run", "--har", str(har), "--", sys.executable, "-c", "pass")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(har.read_text())
    valid_har(doc)
    assert doc["log"]["entries"] == []


def test_run_refuses_an_unwritable_har_before_the_client_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    marker = tmp_path / "ran"
    r = cli(
        "run",
        "--har",
        str(blocker / "s.har"),
        "--",
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'w')",
    )
    assert r.returncode == 2 and not marker.exists()
    assert f"fakevoipbin run: cannot write {blocker / 's.har'}: " in r.stderr
