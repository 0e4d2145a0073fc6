"""Every exit code of the command line, named once. The commands return these names,
and ``reference.exit_codes_markdown`` renders ``EXIT_CODES`` into the docs site, so the
page and the code cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

#: Done: a clean stop (serve, proxy), every rule held (verify), a healthy fake.
OK = 0
#: serve, run and proxy: the fake or proxy cannot start (a busy port, a fixtures file
#: that cannot be read, a state file in a missing folder); the healthcheck: unhealthy.
CANNOT_START = 1
#: run and proxy under ``--strict``: the client broke the spec, made no request, or
#: the upstream drifted.
STRICT_FAILED = 1
#: A bad flag or ``FAKEVOIPBIN_…`` variable (the command's usage, or one line naming
#: the variable), a report path that cannot be written, a missing upstream access key.
USAGE = 2

#: verify: every rule held.
VERIFY_HELD = OK
#: verify: a rule broke (even when a bound stopped the run).
VERIFY_BROKEN = 1
#: verify: the server or key cannot be used, or the server was lost mid-run.
VERIFY_UNUSABLE = 2
#: verify: a bound (``--max-requests``, ``--timeout``) stopped the run before anything
#: broke, so the rules it names are unproven.
VERIFY_UNPROVEN = 3
#: verify: stopped by Ctrl-C (SIGINT), as a shell counts it.
INTERRUPTED = 130

#: run: CMD was found but cannot be executed, as a shell says (POSIX).
NOT_EXECUTABLE = 126
#: run: CMD was not found, as a shell says (POSIX).
NOT_FOUND = 127
#: run: CMD was killed by signal N: this plus N, as a shell gives it.
SIGNAL_BASE = 128
#: pytest's own exit code for a usage error: the plugin's attach mode under ``-n``.
PYTEST_USAGE_ERROR = 4


@dataclass(frozen=True)
class ExitCode:
    """One row of the reference: a command, a code (or a rule for one) and what it means."""

    command: str
    code: str
    meaning: str


EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode("serve", str(OK), "stopped cleanly by SIGINT or SIGTERM"),
    ExitCode("serve", str(CANNOT_START), "cannot start: one line on stderr says why"),
    ExitCode("serve", str(USAGE), "a bad flag (the command's usage) or a bad variable"),
    ExitCode("run", "CMD's", "CMD's own exit code, as a shell gives it"),
    ExitCode("run", f"{SIGNAL_BASE} + N", "CMD was killed by signal N"),
    ExitCode("run", str(NOT_EXECUTABLE), "CMD cannot be executed (one line says why)"),
    ExitCode("run", str(NOT_FOUND), "CMD is not found (one line says why)"),
    ExitCode(
        "run",
        str(STRICT_FAILED),
        "under `--strict`, CMD passed but broke the spec, made no request, or (with "
        "`--upstream`) the upstream drifted",
    ),
    ExitCode("run", str(CANNOT_START), "the fake or proxy cannot start (serve's messages)"),
    ExitCode(
        "run",
        str(USAGE),
        "a bad flag or variable, a `--report`/`--junit`/`--html`/`--har` path that cannot "
        "be written, or `--upstream` without an access key: said before CMD starts",
    ),
    ExitCode("proxy", str(OK), "stopped by SIGINT or SIGTERM; the report printed"),
    ExitCode(
        "proxy",
        str(STRICT_FAILED),
        "cannot listen; or, under `--strict`, the client broke the spec or the upstream drifted",
    ),
    ExitCode(
        "proxy",
        str(USAGE),
        "a bad flag or variable, a plain `http://` upstream off loopback, or a "
        "`--report`/`--junit`/`--html`/`--har`/`--record` file that cannot be written",
    ),
    ExitCode("check", str(OK), "judged (without `--strict`, whatever was found)"),
    ExitCode(
        "check",
        str(STRICT_FAILED),
        "under `--strict`: a request broke the spec, an answer drifted, or nothing was judged",
    ),
    ExitCode(
        "check",
        str(USAGE),
        "a bad flag, a HAR that cannot be read (one line naming what and where), or a "
        "`--report`/`--junit`/`--html`/`--record` file that cannot be written",
    ),
    ExitCode("verify", str(VERIFY_HELD), "every rule held"),
    ExitCode("verify", str(VERIFY_BROKEN), "a rule broke (its shortest sequence is shown)"),
    ExitCode("verify", str(VERIFY_UNUSABLE), "the server or key cannot be used"),
    ExitCode(
        "verify",
        str(VERIFY_UNPROVEN),
        "a bound stopped the run before anything broke: the rules it names are unproven",
    ),
    ExitCode("verify", str(INTERRUPTED), "interrupted (Ctrl-C)"),
    ExitCode(
        "python -m fakevoipbin.healthcheck",
        str(OK),
        "the fake the `FAKEVOIPBIN_` variables describe answers `GET /ping`",
    ),
    ExitCode(
        "python -m fakevoipbin.healthcheck",
        str(CANNOT_START),
        "it does not (one line: `unhealthy: …`)",
    ),
    ExitCode(
        "pytest (the plugin)",
        str(PYTEST_USAGE_ERROR),
        "attach mode (`FAKEVOIPBIN_URL` set) under pytest-xdist's `-n`: one running fake "
        "cannot serve several workers",
    ),
)
