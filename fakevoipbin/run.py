"""``fakevoipbin run``: a client's tests against a fresh fake (or, with ``--upstream``,
through a checking proxy to a real server), and the report after.

A command on top of the faces: it starts the Python face's fake (``testing.py``) or a
proxy session (``proxy/session.py``) and reads the report they share
(``checks/report.py``). Nothing below imports it but ``cli.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .checks.report import ClientReport, finish, report_paths_problem
from .clientenv import intercept_env, tls_env
from .envnames import (
    ACCESSKEY_ENV,
    API_BASE_URL_ENV,
    API_KEY_ENV,
    CONTROL_TOKEN_ENV,
    INTERCEPT_URL,
    URL_ENV,
)
from .exitcodes import CANNOT_START, NOT_EXECUTABLE, NOT_FOUND, SIGNAL_BASE, USAGE
from .fixtures import FixtureError
from .options import Options
from .server import ServeError


def run_client(options: Options, cmd: list[str]) -> int:
    """Serve a fake with ``options`` (or a proxy to ``options.upstream``), run ``cmd``
    against it, then print the report (and write it to ``options.report`` as JSON,
    ``options.junit`` as JUnit XML; their folders are made). CMD's exit code; under
    ``strict``, 1 when CMD passed but broke the spec, the upstream drifted, or no
    request was made at all. 2 when a report path cannot be written or an upstream's
    access key is missing (said before CMD runs), 1 when the fake cannot start
    (serve's messages)."""
    if report_paths_problem(options, "fakevoipbin run"):
        return USAGE
    if options.upstream:
        return _run_through_proxy(options, cmd)
    from .testing import FakeVoipbin

    try:
        fake = FakeVoipbin(options)
    except FixtureError as exc:
        sys.stderr.write(f"fakevoipbin: {exc}\n")
        return CANNOT_START
    found = ClientReport(fake.app.spec)
    fake.state.journal.observers.append(found.observe)
    try:
        fake.start()
    except ServeError as exc:
        sys.stderr.write(f"fakevoipbin: {exc}\n")
        return CANNOT_START
    url = fake.url
    try:
        what = f"{fake.url} (profile {fake.profile})"
        if options.intercept:
            what = f"{INTERCEPT_URL} through the proxy at {fake.base_url} (profile {fake.profile})"
        proxy = fake.base_url if options.intercept else None
        code, started = _call(cmd, options, url, fake.accesskey, what, fake.ca_file, proxy)
    finally:
        fake.stop()
    # The server has stopped: every request the client made is in the report.
    return finish(
        found,
        code,
        options,
        "fakevoipbin run",
        f"the fake at {url}",
        client_ran=started,
        journal=fake.state.journal,
        root=url.removesuffix("/v1.0"),
    )


def _run_through_proxy(options: Options, cmd: list[str]) -> int:
    from .proxy.session import ProxySession

    accesskey = options.accesskey or os.environ.get(API_KEY_ENV, "")
    if not accesskey:
        sys.stderr.write(
            "fakevoipbin run --upstream: give the upstream's access key with --accesskey KEY "
            f"or in {API_KEY_ENV}\n"
        )
        return USAGE
    session = ProxySession(options)
    try:
        session.server.open().start()
    except ServeError as exc:
        sys.stderr.write(f"fakevoipbin: {exc}\n")
        return CANNOT_START
    url = session.url
    try:
        what = f"{url} (proxy to {session.upstream.url}, profile {options.profile})"
        tls = session.server.tls
        ca_file = None if tls is None else tls.ca_file
        code, started = _call(cmd, options, url, accesskey, what, ca_file)
    finally:
        session.server.stop()
    code = finish(
        session.report,
        code,
        options,
        "fakevoipbin run",
        f"the proxy at {url}",
        client_ran=started,
        journal=session.journal,
        root=url.removesuffix("/v1.0"),
    )
    return session.write_recording("fakevoipbin run") or code


def shell_exit_code(returncode: int) -> int:
    """A child's exit as a shell gives it: its own code, or 128 + N when signal N
    killed it (``subprocess`` says -N, which ``sys.exit`` would turn into 256 - N)."""
    return SIGNAL_BASE - returncode if returncode < 0 else returncode


def _call(
    cmd: list[str],
    options: Options,
    url: str,
    accesskey: str,
    what: str,
    ca_file: str | Path | None = None,
    proxy: str | None = None,
) -> tuple[int, bool]:
    """Run CMD with the environment naming ``url`` and ``accesskey`` (and, under
    ``--tls``, the CA: ``tls_env``; under ``--intercept``, the fake at ``proxy`` as the
    HTTPS proxy and api.voipbin.net's URL: ``intercept_env``): its exit code as a shell
    gives it, and whether it started at all (126 when it cannot be executed, 127 when
    it is not found, as a shell says; either one line on stderr)."""
    if ca_file is None:
        return _call_with(cmd, options, url, accesskey, what, {})
    with tempfile.TemporaryDirectory(prefix="fakevoipbin-run-") as folder:
        if proxy is not None:
            more = intercept_env(proxy, ca_file, Path(folder))
        else:
            more = tls_env(ca_file, Path(folder))
        return _call_with(cmd, options, url, accesskey, what, more)


def _call_with(
    cmd: list[str], options: Options, url: str, accesskey: str, what: str, more: dict[str, str]
) -> tuple[int, bool]:
    env = {
        **os.environ,
        URL_ENV: url,
        API_BASE_URL_ENV: url,
        ACCESSKEY_ENV: accesskey,
        API_KEY_ENV: accesskey,
        **more,
    }
    if options.control_token:  # for the pytest plugin's attach mode
        env[CONTROL_TOKEN_ENV] = options.control_token
    sys.stderr.write(f"fakevoipbin run: {what} -> {' '.join(cmd)}\n")
    sys.stderr.flush()
    try:
        return shell_exit_code(subprocess.call(cmd, env=env)), True
    except OSError as exc:
        sys.stderr.write(f"fakevoipbin run: cannot run {cmd[0]}: {exc.strerror}\n")
        return (NOT_FOUND if isinstance(exc, FileNotFoundError) else NOT_EXECUTABLE), False
