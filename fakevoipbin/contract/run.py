"""``fakevoipbin run``: a client's tests against a fresh fake, and the report after."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..fixtures import FixtureError
from ..options import Options
from ..server import ServeError
from ..testing import FakeVoipbin
from .report import ClientReport


def run_client(
    options: Options,
    cmd: list[str],
    *,
    report: str | None = None,
    junit: str | None = None,
    strict: bool = False,
) -> int:
    """Serve a fake with ``options``, run ``cmd`` against it, then print the report
    (and write it to ``report`` as JSON, ``junit`` as JUnit XML). CMD's exit code;
    under ``strict``, 1 when CMD passed but broke the spec."""
    try:
        fake = FakeVoipbin(options)
    except FixtureError as exc:
        sys.stderr.write(f"fakevoipbin: {exc}\n")
        return 1
    found = ClientReport(fake.app.spec)
    fake.journal.observers.append(found.observe)
    try:
        fake.start()
    except ServeError as exc:
        sys.stderr.write(f"fakevoipbin: {exc}\n")
        return 1
    try:
        env = {
            **os.environ,
            "FAKEVOIPBIN_URL": fake.url,
            "VOIPBIN_API_BASE_URL": fake.url,
            "FAKEVOIPBIN_ACCESSKEY": fake.accesskey,
            "VOIPBIN_API_KEY": fake.accesskey,
        }
        sys.stderr.write(
            f"fakevoipbin run: {fake.url} (profile {fake.profile}) -> {' '.join(cmd)}\n"
        )
        sys.stderr.flush()
        try:
            code = subprocess.call(cmd, env=env)
        except OSError as exc:
            sys.stderr.write(f"fakevoipbin run: cannot run {cmd[0]}: {exc.strerror}\n")
            return 127
    finally:
        fake.stop()
    # The server has stopped: every request the client made is in the report.
    print(found.table())
    if report:
        Path(report).write_text(found.to_json(code), encoding="utf-8")
    if junit:
        Path(junit).write_text(found.junit(), encoding="utf-8")
    if strict and found.violation_count and code == 0:
        print(
            f"fakevoipbin run --strict: the client broke the spec "
            f"({found.violation_count} request(s))"
        )
        return 1
    return code
