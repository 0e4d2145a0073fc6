"""The command line: ``fakevoipbin serve``, ``run`` and ``verify`` (and ``--version``).

``serve`` and ``run`` take the same options, made from ``fakevoipbin.options``; ``run``
adds its report options and the client's command after ``--``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .about import PRODUCTION_COMMIT, __version__
from .core.clock import format_fixed
from .core.state import State
from .fixtures import FixtureError
from .options import OptionError, Options, add_arguments, from_arguments, setting_of
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
    return p


def _add_verify(sub: Any) -> None:
    v = sub.add_parser(
        "verify",
        help="check the access-key contract against any server",
        description="Run the access-key contract (a Hypothesis state machine) against a "
        "server: a fakevoipbin fake, the real API, or another fake. Each rule is printed "
        "as held or broken, with the shortest request sequence that breaks it. Keys it "
        "creates are named fakevoipbin-verify-… and deleted. Exit 0 only when every rule "
        "holds (1: a rule broke; 2: the server or key cannot be used).",
    )
    v.add_argument("--base-url", required=True, help="the API's base URL, including /v1.0")
    v.add_argument("--accesskey", required=True, help="an access key of the server's")
    profile = setting_of("profile")
    v.add_argument(
        "--profile",
        choices=profile.choices,
        help="the behaviour to expect (default: what a fake says it runs, else live)",
    )
    v.add_argument(
        "--examples", type=int, default=50, help="request sequences to try (default %(default)s)"
    )
    v.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default %(default)s)")


def _add_run(sub: Any) -> None:
    r = sub.add_parser(
        "run",
        help="run a client's tests against a fresh fake and report on them",
        description="Start a fake (on a free port unless --port says otherwise), run CMD "
        "with FAKEVOIPBIN_URL, VOIPBIN_API_BASE_URL, FAKEVOIPBIN_ACCESSKEY and "
        "VOIPBIN_API_KEY set, stop it, then print the client's contract report: the "
        "statuses each operation met, the documented error statuses never met, and every "
        "request that broke the spec. It takes every option serve takes. Exits with "
        "CMD's exit code (under --strict, non-zero when the client broke the spec).",
        usage="fakevoipbin run [serve options] [--report FILE] [--junit FILE] [--strict] "
        "-- CMD [ARG ...]",
    )
    add_arguments(r, "run")
    r.add_argument("--report", metavar="FILE", help="write the report as JSON to FILE")
    r.add_argument("--junit", metavar="FILE", help="write the report as JUnit XML to FILE")
    r.add_argument(
        "--strict", action="store_true", help="exit non-zero when the client broke the spec"
    )
    r.add_argument(
        "cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="the client's test command"
    )


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


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = _parse(p, argv)
    if args.command == "verify":
        from .contract.verify import verify

        return verify(
            args.base_url,
            args.accesskey,
            profile=args.profile,
            examples=args.examples,
            seed=args.seed,
        )
    if args.command not in ("serve", "run"):
        p.print_help()
        return 2
    cmd: list[str] = []
    if args.command == "run":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            p.error("run needs a command after --")
    try:
        options = from_arguments(args, args.command)
    except OptionError as exc:
        print(f"fakevoipbin: {exc}", file=sys.stderr)
        return 2
    _configure_logging(options)
    if args.command == "run":
        from .contract.run import run_client

        return run_client(options, cmd, report=args.report, junit=args.junit, strict=args.strict)
    return serve(options)


def _configure_logging(options: Options) -> None:
    logging.basicConfig(
        level=options.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def banner(state: State, root: str, options: Options) -> str:
    clock = state.clock
    when = format_fixed(clock.now_us())
    lines = [
        f"fakevoipbin {__version__}: a fake of the VoIPbin access-key API",
        f"  url:      {root}/v1.0",
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
    if not options.control:
        return "off (--no-control)"
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
        return 1
    server = Server(app.asgi, app.state, options)
    try:
        server.open()
    except ServeError as exc:
        print(f"fakevoipbin: {exc}", file=sys.stderr)
        return 1
    if options.state_file:
        verb = "restored from" if server.restored else "kept in"
        print(f"fakevoipbin: state {verb} {options.state_file}", flush=True)
    root = server.root
    print(banner(app.state, root, options), flush=True)

    def ready() -> None:
        print(
            f"fakevoipbin ready on {root}/v1.0 (profile {options.profile}, seed {options.seed})",
            flush=True,
        )

    server.serve_forever(ready)
    print("fakevoipbin stopped", flush=True)
    return 0
