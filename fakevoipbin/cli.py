"""The command line: ``fakevoipbin serve``, ``run``, ``proxy``, ``verify`` and ``check``
(and ``--version``).

``serve``, ``run`` and ``proxy`` take their options from ``fakevoipbin.options``:
``run`` every option serve takes, its report's and ``--upstream``, and the client's
command after ``--``; ``proxy`` the listener's, the report's and ``--upstream``. Each
also reads its settings' ``FAKEVOIPBIN_…`` variables, under its flags
(``options.from_command_line``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .about import PRODUCTION_COMMIT, __version__
from .core.clock import format_fixed
from .core.state import State
from .exitcodes import CANNOT_START, INTERRUPTED, OK, USAGE
from .fixtures import FixtureError
from .options import (
    OptionError,
    Options,
    add_arguments,
    control_line,
    from_command_line,
    misspelt_variables,
    names,
    setting_of,
)
from .server import ServeError

VERSION_TEXT = (
    f"fakevoipbin {__version__} (live profile: voipbin/monorepo commit {PRODUCTION_COMMIT})"
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fakevoipbin",
        description="A local, deterministic fake of the VoIPbin access-key API.",
    )
    p.add_argument("--version", action=_Version, help="print the version in one line and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser(
        "serve",
        help="serve the fake over HTTP",
        description="Serve the fake on HTTP. The API is under /v1.0, login at /auth/login, "
        "and the spec at /openapi.yaml. Stop it with Ctrl-C or SIGTERM.",
    )
    add_arguments(s, "serve")
    _add_verify(sub)
    _add_run(sub)
    _add_proxy(sub)
    _add_check(sub)
    return p


#: The report files ``check`` writes: those ``finish`` writes for run and proxy.
CHECK_FILES = ("report", "junit", "html")


def _add_check(sub: Any) -> None:
    c = sub.add_parser(
        "check",
        help="judge traffic captured as HAR (devtools, mitmproxy, proxy --har) and report on it",
        description="Read FILE.har (HAR 1.2, as browser devtools, mitmproxy or proxy --har "
        "write it) and judge each exchange with the API (URL path under /v1.0 or /auth/, on "
        "any host) as fakevoipbin proxy judges live traffic: the request against "
        "openapi.yaml, the answer against openapi.yaml and the one-exchange rules. Other "
        "entries are counted and listed, not judged. Prints the report run and proxy print, "
        "and writes the same files. Exit codes: 0; 1 under --strict when a request broke "
        "the spec, an answer drifted or nothing was judged; 2 a HAR that cannot be read "
        "(one line naming what and where) or a file that cannot be written.",
    )
    c.add_argument("har_file", metavar="FILE.har", help="the HAR file to judge")
    c.add_argument(
        "--profile",
        choices=setting_of("profile").choices,
        default="live",
        help="the behaviour to judge by (default %(default)s: a capture is usually "
        "production's; docs judges by the tutorial)",
    )
    for name in CHECK_FILES:
        c.add_argument(f"--{name}", metavar="FILE", help=setting_of(name).help)
    c.add_argument("--strict", action="store_true", help=setting_of("strict").help)
    c.add_argument(
        "--record",
        metavar="FILE",
        help="write the customers and keys the answers show to FILE, as fixtures serve "
        "--fixtures loads (fresh tokens from --seed, never the captured ones)",
    )
    c.add_argument("--seed", type=int, default=0, help="the seed of --record's tokens (default 0)")


def _add_verify(sub: Any) -> None:
    def at_least_one(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
        return n

    def seconds(text: str) -> float:
        try:
            s = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not (s > 0 and s != float("inf")):
            raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
        return s

    v = sub.add_parser(
        "verify",
        help="check the access-key contract against any server",
        description="Run the access-key contract (a Hypothesis state machine) against a "
        "server: a fakevoipbin fake, the real API, or another fake. Each rule is printed "
        "as held, broken or unproven; each broken one with the shortest HTTP sequence "
        "found that breaks it (method, path, body and status of each request, the part of "
        "the answer that broke the rule) and a curl line that repeats its last request. "
        "On a fake, a 429 moves the fake's clock on by Retry-After; elsewhere verify "
        "sleeps for it. Keys it creates are named fakevoipbin-verify-… and deleted. Exit "
        "codes: 0 every rule held; 1 a rule broke (even when a bound stopped the run); "
        "2 the server or key cannot be used; 3 a bound (--max-requests, --timeout) "
        "stopped the run before anything broke, so the rules it names are unproven.",
    )
    v.add_argument("--base-url", required=True, help="the API's base URL, including /v1.0")
    v.add_argument("--accesskey", required=True, help="an access key of the server's")
    profile = setting_of("profile")
    v.add_argument(
        "--profile",
        choices=profile.choices,
        help="the behaviour to expect (default: what a fake says it runs, else live; "
        "a warning when it differs from a fake's own)",
    )
    v.add_argument(
        "--examples",
        type=at_least_one,
        default=50,
        help="request sequences to try, at least 1 (default %(default)s)",
    )
    v.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default %(default)s)")
    v.add_argument(
        "--max-requests",
        type=at_least_one,
        metavar="N",
        help="make at most N API requests, the credential check and shrinking included "
        "(default: no bound); the run's rules are then unproven (exit 3) unless one broke, "
        "and the keys it made are still deleted after it, those requests counted apart",
    )
    v.add_argument(
        "--timeout",
        type=seconds,
        metavar="S",
        help="make no request after S seconds, shrinking included (default: no bound); "
        "as --max-requests, the rules are then unproven (exit 3) unless one broke, and "
        "the keys made are still deleted",
    )


def _add_run(sub: Any) -> None:
    r = sub.add_parser(
        "run",
        help="run a client's tests against a fresh fake (or through a proxy to a real "
        "server) and report on them",
        description="Start a fake (on a free port unless --port says otherwise), run CMD "
        "with FAKEVOIPBIN_URL, VOIPBIN_API_BASE_URL, FAKEVOIPBIN_ACCESSKEY and "
        "VOIPBIN_API_KEY set, stop it, then print the client's contract report: the "
        "statuses each operation met, the documented error statuses never met, and every "
        "request that broke the spec. It takes every option serve takes. With --upstream "
        "URL, CMD talks to a checking proxy in front of URL instead (profile live unless "
        "--profile says otherwise; the access key from --accesskey or VOIPBIN_API_KEY), "
        "and the report also lists the upstream's drift. Exits with CMD's exit code "
        "(under --strict, non-zero when the client broke the spec or the upstream drifted).",
        usage="fakevoipbin run [serve options] [--upstream URL [--accesskey KEY]] "
        "[--report FILE] [--junit FILE] [--strict] -- CMD [ARG ...]",
    )
    add_arguments(r, "run")
    r.add_argument(
        "cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="the client's test command"
    )


def _add_proxy(sub: Any) -> None:
    x = sub.add_parser(
        "proxy",
        help="forward a client's traffic to a server (the real API) and check it",
        description="Listen (on 127.0.0.1:8089 unless told), forward every request to "
        "--upstream URL and return its answer unchanged, checking each request and answer "
        "against openapi.yaml and the contract's one-exchange rules (no token outside a "
        "create, the token and token_prefix format, tm_expire - tm_create == expire within "
        "1 s, the profile's next_page_token, the error envelope). /v1.0/... goes under "
        "URL; /auth/... and other paths to URL's root. GET /_fake/journal shows every "
        "exchange, credentials redacted. Stop it with Ctrl-C or SIGTERM: it then prints "
        "the report run prints, with the upstream's drift as its own section, and writes "
        "--report, --junit and --record. Exit codes: 0; 1 it cannot listen, or under "
        "--strict the client broke the spec or the upstream drifted; 2 a bad option (a "
        "plain http:// upstream off loopback without --allow-insecure-upstream) or a file "
        "that cannot be written.",
    )
    add_arguments(x, "proxy")


class _Version(argparse.Action):
    """``--version``: one line, unwrapped (argparse's own action wraps it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.pop("nargs", None)
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any) -> None:
        print(VERSION_TEXT)
        parser.exit()


def _parse(p: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, with an unknown flag reported by its command's own parser
    (so ``serve --prot 9000`` shows serve's usage, not the top level's)."""
    args, extra = p.parse_known_args(argv)
    if extra:
        command = getattr(args, "command", None)
        sub = _subparsers(p).get(command) if command else None
        (sub or p).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


#: The default of every flag in the second reading of a command line, so that what
#: is still it was not given (``_flags_given``).
_UNSET: Any = object()


def _flags_given(
    p: argparse.ArgumentParser, argv: Sequence[str] | None, face: str
) -> dict[str, Any]:
    """The settings the command line gives with flags, by name: it is read again with
    the face's defaults unset (a repeatable flag's default is already None)."""
    sub = _subparsers(p)[face]
    sub.set_defaults(**{n: _UNSET for n in names(face) if not setting_of(n).repeat})
    args = _parse(p, argv)
    given = {n: getattr(args, n, _UNSET) for n in names(face)}
    return {n: v for n, v in given.items() if v is not _UNSET and v is not None}


def face_options(
    p: argparse.ArgumentParser, argv: Sequence[str] | None, face: str, environ: Mapping[str, str]
) -> Options:
    """The options of ``face`` (serve, run or proxy) from its flags in ``argv`` over its
    variables in ``environ`` (``options.from_command_line``); ``OptionError`` when a
    value or the whole cannot be used."""
    return from_command_line(_flags_given(p, argv, face), face, environ)


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = _parse(p, argv)
    if args.command == "verify":
        from .contract.verify import verify

        try:
            return verify(
                args.base_url,
                args.accesskey,
                profile=args.profile,
                examples=args.examples,
                seed=args.seed,
                max_requests=args.max_requests,
                timeout=args.timeout,
            )
        except KeyboardInterrupt:
            print("fakevoipbin verify: interrupted", file=sys.stderr)
            return INTERRUPTED
    if args.command == "check":
        return _check(args)
    if args.command not in ("serve", "run", "proxy"):
        p.print_help()
        return USAGE
    cmd: list[str] = []
    if args.command == "run":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            p.error("run needs a command after --")
    for warning in misspelt_variables(os.environ):
        print(f"fakevoipbin: warning: {warning}", file=sys.stderr)
    try:
        options = face_options(p, argv, args.command, os.environ)
    except OptionError as exc:
        print(f"fakevoipbin: {exc}", file=sys.stderr)
        return USAGE
    if args.command == "proxy" and not options.upstream:
        _subparsers(p)["proxy"].error("the following arguments are required: --upstream")
    _configure_logging(options)
    if args.command == "run":
        from .run import run_client

        off = control_line(options)
        if off and not options.control_given:  # run has no banner: said here
            print(f"fakevoipbin run: control API {off}", file=sys.stderr)

        return run_client(options, cmd)
    if args.command == "proxy":
        from .proxy.session import serve_proxy

        return serve_proxy(options)
    return serve(options)


def _check(args: argparse.Namespace) -> int:
    from .check import check_har

    files = {name: getattr(args, name) for name in CHECK_FILES}
    try:
        options = Options(profile=args.profile, seed=args.seed, strict=args.strict, **files)
    except OptionError as exc:
        print(f"fakevoipbin check: {exc}", file=sys.stderr)
        return USAGE
    return check_har(args.har_file, options, args.record)


def _configure_logging(options: Options) -> None:
    logging.basicConfig(
        level=options.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def banner(state: State, root: str, options: Options, ca_file: object = None) -> str:
    clock = state.clock
    when = format_fixed(clock.now_us())
    lines = [
        f"fakevoipbin {__version__}: a fake of the VoIPbin access-key API",
        f"  url:      {root}/v1.0",
        *(
            [f"  tls:      trust the CA in {ca_file} (e.g. curl --cacert {ca_file})"]
            if ca_file
            else []
        ),
        *(
            [f"  intercept: HTTPS_PROXY={root} reaches this fake at https://api.voipbin.net/v1.0"]
            if options.intercept
            else []
        ),
        f"  profile:  {state.profile.name}",
        f"  seed:     {state.seed}",
        f"  limits:   {'rate limits emulated' if state.rate_limit else 'no rate limits'}",
        f"  clock:    {'frozen at' if clock.frozen else 'real time, now'} {when}",
        f"  fixtures: {state.fixtures.source}",
        f"  spec:     {root}/openapi.yaml",
        "  control:  " + _control_line(options, root),
        "  admin keys (fixture test data; use as ?accesskey=…):",
    ]
    seen: set[str] = set()
    for key in state.loaded.keys:
        if key.customer_id in seen or key.expired or key.deleted:
            continue
        seen.add(key.customer_id)
        customer = state.store.customers[key.customer_id]
        note = " (frozen: 403 ACCOUNT_FROZEN)" if customer.frozen else ""
        lines.append(f"    {key.token}  customer {customer.id} {customer.name}{note}")
    if state.loaded.users:
        lines.append("  login users (POST /auth/login):")
        for u in state.loaded.users:
            lines.append(f"    {u.username} / {u.password}  permission 0x{u.permission:02x}")
    return "\n".join(lines)


def _control_line(options: Options, root: str) -> str:
    off = control_line(options)
    if off:
        return off
    needs = " (send X-Fake-Control-Token)" if options.control_token else ""
    return f"{root}/_fake/health, spec {root}/_fake/openapi.yaml{needs}"


def serve(options: Options) -> int:
    """``fakevoipbin serve``: 0 on a clean stop, 1 when it cannot start."""
    from .assemble import build
    from .server import Server

    try:
        app = build(options)
    except FixtureError as exc:
        print(f"fakevoipbin: {exc}", file=sys.stderr)
        return CANNOT_START
    server = Server(app.asgi, app.state, options)
    try:
        server.open()
    except ServeError as exc:
        print(f"fakevoipbin: {exc}", file=sys.stderr)
        return CANNOT_START
    if options.state_file:
        verb = "restored from" if server.restored else "kept in"
        print(f"fakevoipbin: state {verb} {options.state_file}", flush=True)
    root = server.root
    ca_file = server.tls.ca_file if server.tls else None
    print(banner(app.state, root, options, ca_file), flush=True)

    def ready() -> None:
        print(
            f"fakevoipbin ready on {root}/v1.0 (profile {options.profile}, seed {options.seed})",
            flush=True,
        )

    server.serve_forever(ready)
    print("fakevoipbin stopped", flush=True)
    return OK
