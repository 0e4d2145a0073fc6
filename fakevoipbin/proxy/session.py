"""One proxy session: the app, its server, its journal and report, and its recording;
and ``fakevoipbin proxy`` itself (``serve_proxy``).

``fakevoipbin run --upstream`` runs a session in a background thread around a test
command (``fakevoipbin/run.py``); ``fakevoipbin proxy`` serves one in the main thread
until SIGINT or SIGTERM. Either way the report is written when it stops.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ..about import __version__
from ..checks.report import ClientReport, finish, report_paths_problem
from ..core.journal import Journal
from ..core.profiles import get_profile
from ..exitcodes import CANNOT_START, OK, USAGE
from ..options import Options, control_line
from ..server import ServeError, Server
from ..spec import default_spec
from .app import ProxyApp
from .upstream import Upstream

if TYPE_CHECKING:
    from .record import Recording


class ProxySession:
    """A proxy to ``options.upstream`` with the options' profile, control API and
    access log; ``transport`` replaces the pool's network (tests)."""

    def __init__(self, options: Options, transport: httpx.AsyncBaseTransport | None = None):
        if not options.upstream:
            raise ValueError("a proxy needs an upstream")
        self.options = options
        self.upstream = Upstream.parse(options.upstream)
        spec = default_spec()
        self.journal = Journal()
        self.report = ClientReport(spec, upstream=self.upstream.url)
        self.journal.observers.append(self.report.observe)
        self.recording: Recording | None = None
        if options.record:
            from .record import Recording

            self.recording = Recording()
        self.app = ProxyApp(
            self.upstream,
            spec,
            get_profile(options.profile),
            self.journal,
            control=options.control,
            control_token=options.control_token,
            access_log=options.access_log,
            timeout=options.upstream_timeout,
            observe=self.recording.observe if self.recording is not None else None,
            transport=transport,
        )
        self.server = Server(self.app, None, options, own_headers=False)

    @property
    def url(self) -> str:
        """The proxy's API base URL (with /v1.0)."""
        return self.server.root + "/v1.0"

    def write_recording(self, who: str) -> int:
        """Write ``--record``'s fixtures (0; 2 when the file cannot be written)."""
        if self.recording is None or not self.options.record:
            return 0
        path = Path(self.options.record)
        try:
            self.recording.write(path, self.options.seed, time.time_ns() // 1000, self.upstream.url)
        except OSError as exc:
            sys.stderr.write(f"{who}: cannot write {path}: {exc.strerror}\n")
            return USAGE
        customers, keys = self.recording.counts
        print(
            f"{who}: recorded {customers} customer(s) and {keys} key(s) to {path} "
            f"(fresh tokens from seed {self.options.seed}; load it with serve --fixtures)",
            flush=True,
        )
        return 0


def serve_proxy(options: Options) -> int:
    """``fakevoipbin proxy``: serve until SIGINT or SIGTERM, then print and write the
    report (and the recording). 0; 1 when it cannot listen, or under ``--strict`` when
    the client broke the spec or the upstream drifted; 2 when a file cannot be written."""
    who = "fakevoipbin proxy"
    if report_paths_problem(options, who):
        return USAGE
    session = ProxySession(options)
    try:
        session.server.open()
    except ServeError as exc:
        print(f"fakevoipbin: {exc}", file=sys.stderr)
        return CANNOT_START
    root, url = session.server.root, session.url
    print(banner(session, options), flush=True)

    def ready() -> None:
        print(f"{who} ready on {session.url} (upstream {session.upstream.url})", flush=True)

    session.server.serve_forever(ready)
    print(f"{who} stopped", flush=True)
    code = finish(
        session.report,
        OK,
        options,
        who,
        f"the proxy at {root}",
        no_traffic_hint=f"did the client send its requests to {url}?",
        journal=session.journal,
        root=root,
    )
    return session.write_recording(who) or code


def banner(session: ProxySession, options: Options) -> str:
    root = session.server.root
    off = control_line(options)
    if off:
        control = off
    else:
        needs = " (send X-Fake-Control-Token)" if options.control_token else ""
        control = f"{root}/_fake/journal, {root}/_fake/health{needs}"
    names = ("report", "junit", "html", "har", "record")
    shown = [f"--{n} {getattr(options, n)}" for n in names if getattr(options, n)]
    return "\n".join(
        [
            f"fakevoipbin {__version__} proxy: forwards to the upstream, checks each exchange",
            f"  url:      {session.url}",
            f"  upstream: {session.upstream.url}",
            f"  profile:  {options.profile}",
            "  control:  " + control,
            "  on stop:  the report" + (f" ({', '.join(shown)})" if shown else ""),
        ]
    )
