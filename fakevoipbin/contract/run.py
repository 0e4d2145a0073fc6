"""``fakevoipbin run``: a client's tests against a fresh fake, and the report after."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..envnames import (
    ACCESSKEY_ENV,
    API_BASE_URL_ENV,
    API_KEY_ENV,
    CONTROL_TOKEN_ENV,
    URL_ENV,
)
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
    (and write it to ``report`` as JSON, ``junit`` as JUnit XML; their folders are
    made). CMD's exit code; under ``strict``, 1 when CMD passed but broke the spec or
    made no request at all. 2 when a report path cannot be written (said before CMD
    runs), 1 when the fake cannot start (serve's messages)."""
    for path in (report, junit):
        if path:
            problem = unwritable(Path(path))
            if problem:
                sys.stderr.write(f"fakevoipbin run: cannot write {path}: {problem}\n")
                return 2
    try:
        fake = FakeVoipbin(options)
    except FixtureError as exc:
        sys.stderr.write(f"fakevoipbin: {exc}\n")
        return 1
    found = ClientReport(fake.app.spec)
    fake.state.journal.observers.append(found.observe)
    try:
        fake.start()
    except ServeError as exc:
        sys.stderr.write(f"fakevoipbin: {exc}\n")
        return 1
    url = fake.url
    try:
        env = {
            **os.environ,
            URL_ENV: fake.url,
            API_BASE_URL_ENV: fake.url,
            ACCESSKEY_ENV: fake.accesskey,
            API_KEY_ENV: fake.accesskey,
        }
        if options.control_token:  # for the pytest plugin's attach mode
            env[CONTROL_TOKEN_ENV] = options.control_token
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
    if not found.requests:
        print(
            f"fakevoipbin run: the client made no request to the fake at {url}; "
            f"did CMD read FAKEVOIPBIN_URL or VOIPBIN_API_BASE_URL?"
        )
    for path, text in ((report, found.to_json(code)), (junit, found.junit())):
        if path:
            try:
                _write(Path(path), text)
            except OSError as exc:
                sys.stderr.write(f"fakevoipbin run: cannot write {path}: {exc.strerror}\n")
                return code or 2
    if strict and code == 0:
        if found.violation_count:
            print(
                f"fakevoipbin run --strict: the client broke the spec "
                f"({found.violation_count} request(s))"
            )
            return 1
        if not found.requests:
            print("fakevoipbin run --strict: no request reached the fake")
            return 1
    return code


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written (its missing folders are made), or None. Tried
    for real, so a read-only place is found before the client's tests run."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        if path.is_dir():
            return "it is a folder"
        with path.open("a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None
