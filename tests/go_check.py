"""make test-go: a Go program that knows nothing of fakevoipbin reaches it unmodified.

``tests/go_client/main.go`` uses Go's standard library only and hard-codes
``https://api.voipbin.net/v1.0``, as VoIPbin's Go SDK does. Under
``fakevoipbin run --intercept`` it lists, creates, reads and deletes a key through the
fake, trusting the fake's CA by ``SSL_CERT_FILE`` and reaching it by ``HTTPS_PROXY``,
the two variables Go's default transport reads. The check passes when the program
exits 0 and run's JSON report counts each of its four calls under its operation.

Go is not needed by ``make test``. Without ``go`` on the PATH this check fails (never
skips) and says how to install it; ``.ci/run`` installs Debian's ``golang-go`` first.
It prints ``N passed, N failed`` as its last line.

    python -m tests.go_check
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "go_client" / "main.go"
#: What the program asks, by operation, and the status each must have met.
EXPECTED = {
    "GetAccesskeys": {"200": 1},
    "PostAccesskeys": {"200": 1},
    "GetAccesskeysId": {"200": 1},
    "DeleteAccesskeysId": {"200": 1},
}
#: Compiling and running a small program; a hung step fails the check.
TIMEOUT_S = 600


def check() -> list[str]:
    """The problems found (none: the check passed)."""
    go = shutil.which("go")
    if go is None:
        return ["go is not on the PATH: install it (apt-get install golang-go) and run again"]
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        env = {**os.environ, "GOCACHE": str(Path(folder) / "gocache"), "GOPROXY": "off"}
        cmd = [
            sys.executable, "-m", "fakevoipbin", "run", "--intercept", "--report", str(report),
            "--", go, "run", str(PROGRAM),
        ]  # fmt: skip
        done = subprocess.run(
            cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            return [f"run --intercept -- go run main.go exited {done.returncode}"]
        found = json.loads(report.read_text(encoding="utf-8"))
    problems = []
    for operation, statuses in EXPECTED.items():
        seen = found["operations"][operation]
        if seen["statuses"] != statuses:
            problems.append(f"{operation}: the report met {seen['statuses']}, not {statuses}")
    others = {op: s["calls"] for op, s in found["operations"].items() if op not in EXPECTED}
    if any(others.values()) or found["unrouted"] or found["unmodelled"]:
        problems.append(f"calls the program never made: {others}, {found['unrouted']}")
    if found["violation_count"]:
        problems.append(f"{found['violation_count']} request(s) broke openapi.yaml")
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(f"FAILED: {problem}")
    failed = 1 if problems else 0
    print(f"{1 - failed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
