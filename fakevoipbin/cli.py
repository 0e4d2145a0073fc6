"""The command line: ``fakevoipbin serve`` (and ``--version``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import PRODUCTION_COMMIT, __version__
from .app_factory import DEFAULT_HOST, DEFAULT_PORT, Options, build
from .core.clock import ClockError, format_fixed, parse_instant
from .core.profiles import PROFILES
from .fixtures import FixtureError
from .web.app import Application

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
VERSION_TEXT = (
    f"fakevoipbin {__version__}\nlive profile follows voipbin/monorepo commit {PRODUCTION_COMMIT}"
)


def _instant(text: str) -> str:
    try:
        parse_instant(text)
    except ClockError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is 0 to 65535 (0 picks a free one)")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fakevoipbin",
        description="A local, deterministic fake of the VoIPbin access-key API.",
    )
    p.add_argument("--version", action="version", version=VERSION_TEXT)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser(
        "serve",
        help="serve the fake over HTTP",
        description="Serve the fake on HTTP. The API is under /v1.0, login at /auth/login, "
        "and the spec at /openapi.yaml. Stop it with Ctrl-C or SIGTERM.",
    )
    _serve_options(s, port_default=DEFAULT_PORT)
    s.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="how much fakevoipbin logs to stderr (default %(default)s)",
    )
    s.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="do not log each request (the access log never shows credentials)",
    )
    s.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help="turn the control API (/_fake/) off",
    )
    s.add_argument(
        "--control-token",
        metavar="TOKEN",
        help="require this value in the X-Fake-Control-Token header of control calls "
        "(needed to serve the control API on an address other than loopback)",
    )
    s.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep the state in this file across restarts (atomic writes; a damaged "
        "file stops the start)",
    )
    s.add_argument(
        "--response-validation",
        choices=["strict", "log", "off"],
        default="strict",
        help="a response that breaks openapi.yaml becomes a 500 naming the violation "
        "(strict), is only logged (log), or is not checked (off); default %(default)s",
    )
    _add_verify(sub)
    _add_run(sub)
    return p


def _serve_options(s: argparse.ArgumentParser, port_default: int) -> None:
    s.add_argument(
        "--host", default=DEFAULT_HOST, help="address to listen on (default %(default)s)"
    )
    s.add_argument(
        "--port",
        type=_port,
        default=port_default,
        help="port to listen on (default %(default)s; 0 picks a free one)",
    )
    s.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="docs",
        help="docs follows the published tutorial, live the production server "
        "(default %(default)s)",
    )
    s.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for ids, tokens, request ids and JWT secrets (default %(default)s)",
    )
    s.add_argument(
        "--fixtures",
        metavar="FILE",
        help="a fixture YAML file that replaces the default set",
    )
    s.add_argument(
        "--now",
        type=_instant,
        metavar="INSTANT",
        help="freeze the clock at this RFC 3339 instant, e.g. 2026-12-01T10:15:30.123456Z "
        "(default: real time)",
    )
    s.add_argument(
        "--rate-limit",
        action="store_true",
        help="emulate production's rate limits (per IP 200/s, burst 400; per customer "
        "16.7/s, burst 33; login 10/s, burst 20) on the fake's clock",
    )


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
    v.add_argument(
        "--profile",
        choices=sorted(PROFILES),
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
        description="Start a fake on a free port, run CMD with FAKEVOIPBIN_URL, "
        "VOIPBIN_API_BASE_URL, FAKEVOIPBIN_ACCESSKEY and VOIPBIN_API_KEY set, stop it, "
        "then print the client's contract report: the statuses each operation met, the "
        "documented error statuses never met, and every request that broke the spec. "
        "Exits with CMD's exit code (under --strict, non-zero when the client broke the "
        "spec).",
        usage="fakevoipbin run [serve options] [--report FILE] [--junit FILE] [--strict] "
        "-- CMD [ARG ...]",
    )
    _serve_options(r, port_default=0)
    r.add_argument("--report", metavar="FILE", help="write the report as JSON to FILE")
    r.add_argument("--junit", metavar="FILE", help="write the report as JUnit XML to FILE")
    r.add_argument(
        "--strict", action="store_true", help="exit non-zero when the client broke the spec"
    )
    r.add_argument(
        "cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="the client's test command"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "verify":
        from .contract.verify import verify

        return verify(
            args.base_url,
            args.accesskey,
            profile=args.profile,
            examples=args.examples,
            seed=args.seed,
        )
    if args.command == "run":
        from .contract.run import run_client

        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            p.error("run needs a command after --")
        return run_client(args, cmd)
    p.print_help()
    return 2


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _canon, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def banner(app: Application, base: str, fixtures_source: str) -> str:
    state = app.state
    clock = state.clock
    when = format_fixed(clock.now_us())
    lines = [
        f"fakevoipbin {__version__}: a fake of the VoIPbin access-key API",
        f"  url:      {base}/v1.0",
        f"  profile:  {state.profile.name}",
        f"  seed:     {state.seed}",
        f"  limits:   {'rate limits emulated' if state.rate_limit else 'no rate limits'}",
        f"  clock:    {'frozen at' if clock.frozen else 'real time, now'} {when}",
        f"  fixtures: {fixtures_source}",
        f"  spec:     {base}/openapi.yaml",
        "  control:  " + _control_line(app, base),
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


def _clean_stop_server() -> type:
    import uvicorn

    class CleanStopServer(uvicorn.Server):
        """uvicorn, but SIGINT and SIGTERM end in a clean exit 0 instead of the signal
        being raised again once the server has drained."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {s: signal.signal(s, self.handle_exit) for s in STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return CleanStopServer


def _control_line(app: Application, base: str) -> str:
    if app.control is None:
        return "off (--no-control)"
    needs = " (send X-Fake-Control-Token)" if app.control.token else ""
    return f"{base}/_fake/health, spec {base}/_fake/openapi.yaml{needs}"


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    _CleanStopServer = _clean_stop_server()

    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.control and not args.control_token and not is_loopback(args.host):
        print(
            f"fakevoipbin: refusing to serve the control API on {args.host}, which is not "
            "a loopback address: anyone who reaches it could reset or rewrite the state. "
            "Give --control-token TOKEN (sent as X-Fake-Control-Token), or --no-control.",
            file=sys.stderr,
        )
        return 2
    options = Options(
        profile=args.profile,
        seed=args.seed,
        fixtures=args.fixtures,
        now=args.now,
        response_validation=args.response_validation,
        access_log=args.access_log,
        rate_limit=args.rate_limit,
        control=args.control,
        control_token=args.control_token,
    )
    try:
        app = build(options)
    except FixtureError as exc:
        print(f"fakevoipbin: {exc}", file=sys.stderr)
        return 1
    writer = None
    if args.state_file:
        from .persist import StateFileError, StateWriter, load_state_file

        path = Path(args.state_file)
        try:
            restored = load_state_file(app.state, path)
            writer = StateWriter(app.state, path).start()
        except (StateFileError, OSError) as exc:
            print(f"fakevoipbin: {exc}", file=sys.stderr)
            return 1
        print(f"fakevoipbin: state {'restored from' if restored else 'kept in'} {path}", flush=True)
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(
            f"fakevoipbin: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    port = sock.getsockname()[1]
    base = _url(args.host, port)
    print(banner(app, base, app.state.fixtures.source), flush=True)
    config = uvicorn.Config(
        app,
        log_level="warning" if args.log_level != "debug" else "debug",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _CleanStopServer(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if server.started:
            print(
                f"fakevoipbin ready on {base}/v1.0 (profile {args.profile}, seed {args.seed})",
                flush=True,
            )
        await task

    try:
        asyncio.run(run())
    finally:
        sock.close()
        if writer is not None:
            writer.stop()
    print("fakevoipbin stopped", flush=True)
    return 0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
