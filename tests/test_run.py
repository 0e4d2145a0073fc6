"""``fakevoipbin run`` (run.py, checks/report.py): a client's tests against a fresh
fake, the environment it exports, its exit code, and the reports (table, JSON,
JUnit)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from fakevoipbin.checks.report import MAX_VIOLATIONS, ClientReport
from fakevoipbin.core.clock import format_fixed, parse_instant
from fakevoipbin.core.journal import Entry
from fakevoipbin.spec import Spec

from . import spec_check
from .conftest import NOW, TUTORIAL_TOKEN

CLI = [sys.executable, "-m", "fakevoipbin"]

#: operationId -> documented statuses, read from openapi.yaml without fakevoipbin.spec.
DOCUMENTED: dict[str, list[int]] = {
    op["operationId"]: sorted(int(s) for s in op["responses"] if s.isdigit())
    for item in spec_check.DOC["paths"].values()
    for op in item.values()
    if isinstance(op, dict) and "operationId" in op
}


def _errors(op_id: str) -> list[int]:
    return [s for s in DOCUMENTED[op_id] if s >= 400]


# --- fakevoipbin run ----------------------------------------------------------------

ENV_CLIENT = """
import json, os, sys, urllib.error, urllib.request
names = ("FAKEVOIPBIN_URL", "VOIPBIN_API_BASE_URL", "FAKEVOIPBIN_ACCESSKEY", "VOIPBIN_API_KEY")
env = {n: os.environ.get(n) for n in names}
def get(key):
    url = env["VOIPBIN_API_BASE_URL"] + "/accesskeys?accesskey=" + key
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
env["statuses"] = [get(env["VOIPBIN_API_KEY"]), get("vb_" + "x" * 32)]
open(sys.argv[1], "w").write(json.dumps(env))
sys.exit(int(sys.argv[2]))
"""

BAD_CLIENT = """
import json, os, sys, urllib.error, urllib.request
def post(body):
    url = os.environ["FAKEVOIPBIN_URL"] + "/accesskeys?accesskey=" + os.environ["VOIPBIN_API_KEY"]
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
statuses = [post({"name": "a", "expire": "86400"}), post({"name": "b"}),
            post({"name": "c", "expire": 86400})]
open(sys.argv[1], "w").write(json.dumps(statuses))
"""

PROFILE_CLIENT = """
import json, os, sys, urllib.error, urllib.request
base, key = os.environ["FAKEVOIPBIN_URL"], os.environ["FAKEVOIPBIN_ACCESSKEY"]
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
health = get(base[: -len("/v1.0")] + "/_fake/health")[1]
unknown = get(base + "/accesskeys/00000000-0000-4000-8000-000000000000?accesskey=" + key)
listed = get(base + "/accesskeys?page_size=100&accesskey=" + key)[1]
out = {"health": health, "unknown": unknown, "token": listed["next_page_token"]}
open(sys.argv[1], "w").write(json.dumps(out))
"""


def run_cli(
    tmp_path: Path, code: str, *client_args: str, options: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], ET.Element]:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    proc = subprocess.run(
        [
            *CLI,
            "run",
            *options,
            "--report",
            str(report),
            "--junit",
            str(junit),
            "--",
            sys.executable,
            "-c",
            code,
            *client_args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.exists(), proc.stdout + proc.stderr
    assert junit.exists(), proc.stdout + proc.stderr
    return proc, json.loads(report.read_text()), ET.fromstring(junit.read_text())


def table_row(stdout: str, op_id: str) -> str:
    rows = [line for line in stdout.splitlines() if line.split()[:1] == [op_id]]
    assert len(rows) == 1, stdout
    return rows[0]


def columns(stdout: str, op_id: str) -> list[str]:
    """A table row's columns: operation, calls, statuses met, error statuses never met,
    error reasons met (columns are two spaces or more apart)."""
    cols = re.split(r"\s{2,}", table_row(stdout, op_id).strip())
    assert len(cols) == 5, cols
    return cols


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    found: dict[str, ET.Element] = {}
    for case in suite.iter("testcase"):
        name = case.get("name", "")
        assert name not in found, f"testcase {name!r} repeated"
        found[name] = case
    return found


@pytest.mark.parametrize(("exit_code", "strict"), [(0, False), (3, False), (0, True)])
def test_run_exports_the_fake_and_reports_what_the_client_met(
    tmp_path: Path, exit_code: int, strict: bool
) -> None:
    seen = tmp_path / "env.json"
    proc, report, suite = run_cli(
        tmp_path,
        ENV_CLIENT,
        str(seen),
        str(exit_code),
        options=("--strict",) if strict else (),
    )
    # It exits with the client's code (a clean client is fine under --strict too).
    assert proc.returncode == exit_code, proc.stdout + proc.stderr
    env = json.loads(seen.read_text())
    assert env["FAKEVOIPBIN_URL"] == env["VOIPBIN_API_BASE_URL"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1\.0", env["FAKEVOIPBIN_URL"])
    assert env["FAKEVOIPBIN_ACCESSKEY"] == env["VOIPBIN_API_KEY"] == TUTORIAL_TOKEN
    assert env["statuses"] == [200, 401]
    # The fake was stopped once the client finished.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(env["FAKEVOIPBIN_URL"] + "/accesskeys", timeout=2)

    # The JSON report: statuses met, documented error statuses never met, violations.
    assert report["client_exit_code"] == exit_code
    assert report["requests"] == 2
    ops = report["operations"]
    assert set(ops) == set(DOCUMENTED)
    assert ops["GetAccesskeys"]["statuses"] == {"200": 1, "401": 1}
    assert ops["GetAccesskeys"]["error_statuses_never_met"] == [
        s for s in _errors("GetAccesskeys") if s != 401
    ]
    assert ops["GetAccesskeys"]["reasons"] == {"INVALID_CREDENTIALS": 1}
    for op_id in set(DOCUMENTED) - {"GetAccesskeys"}:
        assert ops[op_id]["statuses"] == {}, op_id
        assert ops[op_id]["error_statuses_never_met"] == _errors(op_id), op_id
        assert ops[op_id]["reasons"] == {}, op_id
    assert report["violations"] == []
    assert report["violation_count"] == 0

    # The printed table: statuses met, error statuses never met, error reasons met.
    never = ", ".join(str(s) for s in _errors("GetAccesskeys") if s != 401)
    assert columns(proc.stdout, "GetAccesskeys") == [
        "GetAccesskeys",
        "2",
        "200×1, 401×1",
        never,
        "INVALID_CREDENTIALS×1",
    ]
    never = ", ".join(str(s) for s in _errors("DeleteAccesskeysId"))
    assert columns(proc.stdout, "DeleteAccesskeysId") == [
        "DeleteAccesskeysId",
        "0",
        "-",
        never,
        "-",
    ]
    assert "no client request broke openapi.yaml" in proc.stdout

    # JUnit: one test case per operation, what it met in its properties; the ones never
    # called are skipped, and nothing failed.
    found = cases(suite)
    assert set(found) == set(DOCUMENTED)
    assert suite.get("tests") == str(len(DOCUMENTED))
    assert suite.findall(".//failure") == []
    assert suite.get("failures") == "0"
    assert suite.get("skipped") == str(len(DOCUMENTED) - 1)
    for name, case in found.items():
        assert (case.find("skipped") is None) == (name == "GetAccesskeys"), name
    got = properties(found["GetAccesskeys"])
    assert got["calls"] == "2"
    assert got["statuses_met"] == "200×1, 401×1"
    assert got["error_statuses_never_met"] == ", ".join(
        str(s) for s in _errors("GetAccesskeys") if s != 401
    )
    assert got["reasons_met"] == "INVALID_CREDENTIALS×1"
    assert got["violations"] == "0"
    got = properties(found["DeleteAccesskeysId"])
    assert got["error_statuses_never_met"] == ", ".join(map(str, _errors("DeleteAccesskeysId")))
    assert (got["calls"], got["statuses_met"], got["reasons_met"]) == ("0", "", "")


@pytest.mark.parametrize("strict", [False, True])
def test_run_reports_requests_that_break_the_spec(tmp_path: Path, strict: bool) -> None:
    seen = tmp_path / "statuses.json"
    proc, report, suite = run_cli(
        tmp_path, BAD_CLIENT, str(seen), options=("--strict",) if strict else ()
    )
    assert json.loads(seen.read_text()) == [400, 400, 200]
    # The client itself exited 0: only --strict turns the spec breaches into a failure.
    assert report["client_exit_code"] == 0
    if strict:
        assert proc.returncode != 0, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr

    broke = {(v["field"], v["rule"]) for v in report["violations"]}
    assert broke == {("expire", "type"), ("expire", "required")}
    assert report["violation_count"] == 2
    assert all(v["operation_id"] == "PostAccesskeys" for v in report["violations"])
    assert all(v["status"] == 400 for v in report["violations"])
    assert all("accesskey=vb_" not in v["target"] for v in report["violations"])
    post = report["operations"]["PostAccesskeys"]
    assert post["statuses"] == {"200": 1, "400": 2}
    assert 400 not in post["error_statuses_never_met"]
    assert 401 in post["error_statuses_never_met"]

    # A wrong type is the body's shape; a missing expire is a business rule.
    assert post["reasons"] == {"INVALID_ARGUMENT": 1, "INVALID_JSON_BODY": 1}

    assert "2 client request(s) broke openapi.yaml" in proc.stdout
    assert "expire broke 'type'" in proc.stdout
    assert "expire broke 'required'" in proc.stdout
    cols = columns(proc.stdout, "PostAccesskeys")
    assert (cols[2], cols[4]) == ("200×1, 400×2", "INVALID_ARGUMENT×1, INVALID_JSON_BODY×1")

    # JUnit: the operation's one case fails, with one failure per violation.
    found = cases(suite)
    assert set(found) == set(DOCUMENTED)
    failures = suite.findall(".//failure")
    assert failures == found["PostAccesskeys"].findall("failure")
    messages = sorted(f.get("message", "") for f in failures)
    assert messages == ["expire broke 'required'", "expire broke 'type'"]
    assert all("#" in (f.text or "") and "[REDACTED]" in (f.text or "") for f in failures)
    assert suite.get("failures") == "1"
    assert properties(found["PostAccesskeys"])["violations"] == "2"
    assert properties(found["PostAccesskeys"])["reasons_met"] == (
        "INVALID_ARGUMENT×1, INVALID_JSON_BODY×1"
    )
    assert TUTORIAL_TOKEN not in proc.stdout + json.dumps(report) + ET.tostring(suite).decode()


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_run_takes_serve_options(tmp_path: Path, profile: str) -> None:
    seen = tmp_path / "seen.json"
    proc, report, _suite = run_cli(
        tmp_path,
        PROFILE_CLIENT,
        str(seen),
        options=("--profile", profile, "--seed", "5", "--now", NOW),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"(profile {profile})" in proc.stderr
    got = json.loads(seen.read_text())
    assert got["health"]["profile"] == profile
    assert got["health"]["seed"] == 5
    assert got["health"]["clock"] == {"now": format_fixed(parse_instant(NOW)), "frozen": True}
    status, body = got["unknown"]
    if profile == "live":
        # Production answers an id that names no key with 400 INVALID_ARGUMENT, and
        # ends a list with the last tm_create as next_page_token.
        assert (status, body["error"]["reason"]) == (400, "INVALID_ARGUMENT")
        assert isinstance(got["token"], str) and got["token"]
        assert report["operations"]["GetAccesskeysId"]["statuses"] == {"400": 1}
    else:
        assert (status, body["error"]["reason"]) == (404, "ACCESSKEY_NOT_FOUND")
        assert got["token"] is None
        assert report["operations"]["GetAccesskeysId"]["statuses"] == {"404": 1}


def test_junit_counts_violations_past_the_ones_it_lists() -> None:
    """The report keeps the first MAX_VIOLATIONS; the JUnit case says how many more,
    and a description never shows a token."""
    found = ClientReport(Spec())
    broke = {"field": "name", "rule": "enum", "description": f"name: '{TUTORIAL_TOKEN}' is bad"}
    for seq in range(1, MAX_VIOLATIONS + 4):
        found.observe(
            Entry(
                seq,
                0,
                "POST",
                "/v1.0/accesskeys",
                "PostAccesskeys",
                400,
                request_violations=[broke],
                reason="INVALID_ARGUMENT",
            )  # fmt: skip
        )
    suite = ET.fromstring(found.junit())
    case = cases(suite)["PostAccesskeys"]
    failures = case.findall("failure")
    assert len(failures) == MAX_VIOLATIONS + 1
    assert failures[-1].get("message") == "3 more request(s) broke openapi.yaml"
    assert properties(case)["violations"] == str(MAX_VIOLATIONS + 3)
    assert properties(case)["reasons_met"] == f"INVALID_ARGUMENT×{MAX_VIOLATIONS + 3}"
    assert found.as_dict()["operations"]["PostAccesskeys"]["reasons"] == {
        "INVALID_ARGUMENT": MAX_VIOLATIONS + 3
    }
    assert suite.get("failures") == "1"
    for text in (found.junit(), found.to_json(), found.table()):
        assert TUTORIAL_TOKEN not in text


# --- run --tls -------------------------------------------------------------------------

TLS_CLIENT = """
import json, os, sys
import httpx
names = ("FAKEVOIPBIN_URL", "VOIPBIN_API_BASE_URL", "FAKEVOIPBIN_CA_FILE", "SSL_CERT_FILE",
         "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
seen = {n: os.environ.get(n) for n in names}
# httpx's defaults: its trust comes from SSL_CERT_FILE alone (trust_env).
r = httpx.get(seen["FAKEVOIPBIN_URL"] + "/accesskeys",
              params={"accesskey": os.environ["FAKEVOIPBIN_ACCESSKEY"]}, timeout=10)
seen["status"] = r.status_code
seen["bundle"] = open(seen["SSL_CERT_FILE"]).read()
seen["ca"] = open(seen["FAKEVOIPBIN_CA_FILE"]).read()
open(sys.argv[1], "w").write(json.dumps(seen))
"""


def test_run_tls_exports_the_ca_and_a_bundle_the_childs_clients_trust(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    r = subprocess.run(
        [*CLI, "run", "--tls", "--", sys.executable, "-c", TLS_CLIENT, str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    seen = json.loads(out.read_text())
    assert seen["status"] == 200
    assert seen["FAKEVOIPBIN_URL"].startswith("https://127.0.0.1:")
    assert seen["FAKEVOIPBIN_URL"].endswith("/v1.0")
    assert seen["VOIPBIN_API_BASE_URL"] == seen["FAKEVOIPBIN_URL"]
    assert seen["NODE_EXTRA_CA_CERTS"] == seen["FAKEVOIPBIN_CA_FILE"]
    assert seen["ca"].count("BEGIN CERTIFICATE") == 1
    bundle = seen["SSL_CERT_FILE"]
    assert seen["REQUESTS_CA_BUNDLE"] == bundle and seen["CURL_CA_BUNDLE"] == bundle
    assert bundle != seen["FAKEVOIPBIN_CA_FILE"]
    assert seen["bundle"].count("BEGIN CERTIFICATE") > 1  # the system's roots too
    assert seen["ca"].strip() in seen["bundle"]
    # Both folders (the CA's and the bundle's) are gone once run ends.
    assert not Path(bundle).parent.exists()
    assert not Path(seen["FAKEVOIPBIN_CA_FILE"]).parent.exists()
    assert "GetAccesskeys                    1" in r.stdout


def test_run_without_tls_exports_no_trust_variables(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    code = (
        "import json, os, sys; names = ('FAKEVOIPBIN_CA_FILE', 'NODE_EXTRA_CA_CERTS');"
        "open(sys.argv[1], 'w').write(json.dumps({n: os.environ.get(n) for n in names}))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FAKEVOIPBIN_CA_FILE", "NODE_EXTRA_CA_CERTS")
    }
    r = subprocess.run(
        [*CLI, "run", "--", sys.executable, "-c", code, str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text()) == {"FAKEVOIPBIN_CA_FILE": None, "NODE_EXTRA_CA_CERTS": None}


def test_run_tls_through_a_proxy_serves_the_proxy_over_https(tmp_path: Path) -> None:
    from fakevoipbin import FakeVoipbin

    out = tmp_path / "seen.json"
    with FakeVoipbin() as upstream:
        r = subprocess.run(
            [
                *CLI,
                "run",
                "--tls",
                "--upstream",
                upstream.url,
                "--accesskey",
                upstream.accesskey,
                "--",
                sys.executable,
                "-c",
                TLS_CLIENT,
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert upstream.journal.calls("GetAccesskeys")
    seen = json.loads(out.read_text())
    assert seen["status"] == 200 and seen["FAKEVOIPBIN_URL"].startswith("https://127.0.0.1:")
    assert "through the proxy" in r.stdout
