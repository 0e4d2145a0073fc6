"""``fakevoipbin run`` at its edges, as a user meets them: report paths in folders that
do not exist or cannot be written, serve's own start errors, a client that made no
request, and the control API's host rule."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "fakevoipbin"]

#: A client that touches a file (to show whether it ran) and makes one request.
ONE_REQUEST = """
import os, pathlib, sys, urllib.request
pathlib.Path(sys.argv[1]).write_text("ran")
url = os.environ["FAKEVOIPBIN_URL"] + "/accesskeys?accesskey=" + os.environ["VOIPBIN_API_KEY"]
urllib.request.urlopen(url, timeout=10).read()
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "run", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_report_paths_in_missing_folders_are_made(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    out = tmp_path / "out" / "deeper"
    proc = run(
        "--report",
        str(out / "report.json"),
        "--junit",
        str(out / "junit.xml"),
        "--strict",
        "--",
        sys.executable,
        "-c",
        ONE_REQUEST,
        str(ran),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["requests"] == 1
    assert (out / "junit.xml").read_text().startswith("<?xml")


def test_a_report_path_that_cannot_be_written_stops_before_the_client_runs(
    tmp_path: Path,
) -> None:
    ran = tmp_path / "ran"
    a_file = tmp_path / "plain-file"
    a_file.write_text("not a folder")
    for flag, path in (
        ("--report", a_file / "report.json"),  # its "folder" is a file
        ("--junit", Path("/proc/version/junit.xml")),  # a read-only place
        ("--report", tmp_path),  # a folder, not a file
        ("--html", a_file / "report.html"),
    ):
        proc = run(flag, str(path), "--", sys.executable, "-c", ONE_REQUEST, str(ran))
        assert proc.returncode == 2, (flag, path, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fakevoipbin run: cannot write"), lines
        assert str(path) in lines[0]
        assert not ran.exists(), "the client ran although the report could not be written"


def test_a_busy_port_and_a_missing_fixtures_file_answer_as_serve_does(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = str(sock.getsockname()[1])
        ran_cmd = run("--port", port, "--", "true")
        served = subprocess.run(
            [*CLI, "serve", "--port", port], capture_output=True, text=True, timeout=30
        )
    missing = str(tmp_path / "nope.yaml")
    ran_fix = run("--fixtures", missing, "--", "true")
    served_fix = subprocess.run(
        [*CLI, "serve", "--port", "0", "--fixtures", missing],
        capture_output=True,
        text=True,
        timeout=30,
    )
    for got, want, named in ((ran_cmd, served, port), (ran_fix, served_fix, missing)):
        assert got.returncode == want.returncode == 1
        assert got.stderr.strip() == want.stderr.strip(), (got.stderr, want.stderr)
        lines = got.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0] and "Traceback" not in got.stderr
    assert "cannot listen on 127.0.0.1:" + port in ran_cmd.stderr


def test_a_client_that_made_no_request_is_said_plainly_and_fails_strict() -> None:
    proc = run("--", "true")
    assert proc.returncode == 0
    assert "the client made no request to the fake" in proc.stdout
    strict = run("--strict", "--", "true")
    assert strict.returncode == 1
    assert "no request reached the fake" in strict.stdout
    assert "Traceback" not in strict.stderr


def test_run_refuses_an_open_control_api_on_a_public_host() -> None:
    """Asked for without a token, it is refused; left to the rule, it is off (the fake
    runs, the report works, and run says how to turn it on); with a token, on."""
    proc = run("--host", "0.0.0.0", "--control", "--", "true")
    assert proc.returncode == 2
    assert "refusing to serve the control API on 0.0.0.0" in proc.stderr
    off = run("--host", "0.0.0.0", "--strict", "--", "true")
    assert off.returncode == 1 and "no request reached the fake" in off.stdout
    assert "control API off: 0.0.0.0 is not a loopback address" in off.stderr
    assert "--control-token TOKEN" in off.stderr and "Traceback" not in off.stderr
    ok = run("--host", "0.0.0.0", "--control-token", "t0ken", "--strict", "--", "true")
    assert ok.returncode == 1 and "no request reached the fake" in ok.stdout
    assert "control API" not in ok.stderr
    assert "t0ken" not in ok.stdout + ok.stderr


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV], ids=["KILL", "TERM", "SEGV"]
)
def test_a_command_killed_by_a_signal_exits_128_plus_the_signal_as_a_shell_does(
    sig: int,
) -> None:
    kill = f"kill -{int(sig)} $$"
    shell = subprocess.run(["sh", "-c", f"sh -c '{kill}'"], capture_output=True, timeout=30)
    assert shell.returncode == 128 + sig  # the convention run follows
    proc = run("--", "sh", "-c", kill)
    assert proc.returncode == 128 + sig, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_command_that_is_not_executable_exits_126_and_a_missing_one_127(
    tmp_path: Path,
) -> None:
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    missing = str(tmp_path / "no-such-command")
    for cmd, want in ((str(script), 126), (missing, 127)):
        shell = subprocess.run(["sh", "-c", f"'{cmd}'"], capture_output=True, timeout=30)
        assert shell.returncode == want  # what a shell says, as run must
        proc = run("--", cmd)
        assert proc.returncode == want, (cmd, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith(f"fakevoipbin run: cannot run {cmd}: "), lines
        assert "Traceback" not in proc.stderr


def test_a_command_that_cannot_run_gets_no_hint_about_reading_the_url(tmp_path: Path) -> None:
    """The hint "did CMD read FAKEVOIPBIN_URL…?" is for a command that ran and asked
    nothing; a command that never started is said once, as that."""
    proc = run("--", str(tmp_path / "no-such-command"))
    assert proc.returncode == 127
    assert "cannot run" in proc.stderr
    assert "FAKEVOIPBIN_URL" not in proc.stdout + proc.stderr
    assert "made no request" not in proc.stdout


#: A client that asks for a path whose percent-escapes decode to control characters
#: and XML's own specials (the issue's request), by a raw request line.
CONTROL_PATH = """
import http.client, os, urllib.parse
u = urllib.parse.urlsplit(os.environ["FAKEVOIPBIN_URL"])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
key = os.environ["VOIPBIN_API_KEY"]
c.request("GET", u.path + "/accesskeys/%00]]%3E%1B%08<x>&?accesskey=" + key)
c.getresponse().read()
"""


def test_a_path_of_control_characters_gives_parsable_junit_and_no_raw_control_on_the_terminal(
    tmp_path: Path,
) -> None:
    junit = tmp_path / "junit.xml"
    proc = run("--junit", str(junit), "--access-log", "--", sys.executable, "-c", CONTROL_PATH)
    assert proc.returncode == 0, proc.stderr
    doc = xml.dom.minidom.parse(str(junit))  # the check: it was "not well-formed"
    failures = [f.firstChild.data for f in doc.getElementsByTagName("failure")]
    assert any("/accesskeys/\\x00]]>\\x1b\\x08<x>&" in f for f in failures), failures
    # The table and the access log spell the characters out; nothing raw reaches them.
    for stream in (proc.stdout, proc.stderr):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", stream), repr(stream[-400:])
    assert "#1 GET /v1.0/accesskeys/\\x00]]>\\x1b\\x08<x>&?accesskey=[REDACTED] -> 400" in (
        proc.stdout
    )
    assert '"GET /v1.0/accesskeys/\\x00]]>\\x1b\\x08<x>&?accesskey=[REDACTED]" 400' in proc.stderr
