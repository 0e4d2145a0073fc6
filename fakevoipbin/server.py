"""A fake on a real socket: listen, keep the state file, serve with uvicorn, stop cleanly.

``fakevoipbin serve`` runs a ``Server`` in the main thread (``serve_forever``: SIGINT
and SIGTERM end it with exit 0 once requests in flight have finished);
``FakeVoipbin``, and so ``fakevoipbin run``, run one in a background thread
(``start`` and ``stop``). Either way the same ``Options`` decide where it listens and
whether it keeps a ``--state-file``, and whether it speaks HTTPS (``--tls``: the
certificate and CA come from ``tls.py``, made at ``open`` and a temporary folder
removed at ``close``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.state import State
from .options import Options, root_url

if TYPE_CHECKING:
    from .tls import Material

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How long requests in flight may take to finish once a stop is asked for.
GRACE_S = {"main": 5, "thread": 2}
#: How long ``start`` waits for uvicorn to accept connections.
START_TIMEOUT_S = 10


class ServeError(Exception):
    """Why a fake cannot start, in one line; ``serve`` prints it and exits 1."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: a free port), or ServeError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _canon, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


class _NoUpgradeWarnings(logging.Filter):
    """Drops uvicorn's two warnings for an upgrade request: the fake answers one as
    any other request, as production does, and no WebSocket library is missing."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message == "Unsupported upgrade request."
            or message.startswith("No supported WebSocket library detected")
        )


_NO_UPGRADE_WARNINGS = _NoUpgradeWarnings()


def _uvicorn_server(
    app: Any,
    grace_s: int,
    debug: bool,
    on_started: Callable[[], None] = lambda: None,
    own_headers: bool = True,
    tls: Material | None = None,
    intercept: Options | None = None,
) -> Any:
    """uvicorn serving ``app``; with ``tls``, HTTPS on the socket, or, with
    ``intercept`` (the options of a fake under ``--intercept``), plain HTTP that also
    answers CONNECT with ``tls``'s certificate (``web/intercept.py``)."""
    import uvicorn

    class CleanStopServer(uvicorn.Server):
        """uvicorn, but SIGINT and SIGTERM end in a clean exit 0 instead of the signal
        being raised again once the server has drained; off the main thread, no
        signal handlers at all (the owner calls ``stop``). ``on_started`` runs in the
        loop as soon as it accepts connections, and ``startup_over`` is set once the
        startup has ended either way (so nobody polls ``started``)."""

        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self.startup_over = threading.Event()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().startup(sockets=sockets)
                if self.started:
                    on_started()
            finally:
                self.startup_over.set()

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

    from .web.wire import protocol

    http: Any = protocol()
    if intercept is not None and tls is not None:
        from .options import is_loopback
        from .web import intercept as tunnels

        http = tunnels.protocol(
            tls.server_context(), intercept.tls_names, is_loopback(intercept.host)
        )
        tls = None  # the port itself stays plain HTTP
    config = uvicorn.Config(
        app,
        # uvicorn's own HTTP protocol, which also hands each request its connection
        # (web/wire.py), for the faults that end it: a reset, an empty answer, a cut body.
        http=http,
        log_level="debug" if debug else "warning",
        access_log=False,  # the fake writes its own, with credentials redacted
        lifespan="on",
        # Production answers a WebSocket upgrade as any other request (no route upgrades);
        # this also spares loading the websockets package at every start.
        ws="none",
        timeout_graceful_shutdown=grace_s,
        # A proxy sends the upstream's Date and Server headers, not uvicorn's.
        server_header=own_headers,
        date_header=own_headers,
        # --tls: uvicorn wraps the listening socket with the server certificate.
        ssl_certfile=None if tls is None else str(tls.cert_file),
        ssl_keyfile=None if tls is None else str(tls.key_file),
    )
    # After Config, which sets up uvicorn's loggers (a filter added twice is kept once).
    logging.getLogger("uvicorn.error").addFilter(_NO_UPGRADE_WARNINGS)
    return CleanStopServer(config)


class Server:
    """One fake's (or proxy's) socket and uvicorn server. ``open()`` loads the state
    file (when the options name one) and binds the socket; both raise ServeError.
    ``own_headers`` False: no Date or Server header of uvicorn's (a proxy's)."""

    def __init__(
        self, app: Any, state: State | None, options: Options, own_headers: bool = True
    ) -> None:
        self.app = app
        self.state = state
        self.options = options
        self.own_headers = own_headers
        self.sock: socket.socket | None = None
        self.restored = False
        #: The certificate, key and CA it serves HTTPS with (``--tls``), else None.
        self.tls: Material | None = None
        self._writer: Any = None
        self._uvicorn: Any = None
        self._thread: threading.Thread | None = None

    # --- opening ----------------------------------------------------------------------

    def open(self) -> Server:
        if self.options.tls:
            self._open_tls()
        try:
            if self.options.state_file and self.state is not None:
                self._open_state_file(Path(self.options.state_file), self.state)
            self.sock = listen(self.options.host, self.options.port)
        except ServeError:
            self.close()
            raise
        return self

    def _open_tls(self) -> None:
        from .tls import TLSError, prepare

        try:
            self.tls = prepare(self.options.tls_names, self.options.tls_dir)
        except TLSError as exc:
            raise ServeError(str(exc)) from None

    def _open_state_file(self, path: Path, state: State) -> None:
        from .persist import StateFileError, StateWriter, load_state_file

        folder = path.parent
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise ServeError(f"cannot keep the state file {path}: the folder {folder} {what}")
        try:
            self.restored = load_state_file(state, path)
            self._writer = StateWriter(state, path).start()
        except StateFileError as exc:
            raise ServeError(str(exc)) from None
        except OSError as exc:
            raise ServeError(
                f"cannot keep the state file {path}: {exc.strerror or type(exc).__name__}"
            ) from None

    @property
    def port(self) -> int:
        if self.sock is None:
            raise RuntimeError("the fake is not listening")
        return int(self.sock.getsockname()[1])

    @property
    def root(self) -> str:
        """Where /auth/login, /openapi.yaml and /_fake/ live."""
        return root_url(self.options.host, self.port, self.options.scheme)

    # --- in the main thread (serve) ---------------------------------------------------

    def serve_forever(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Serve until SIGINT or SIGTERM; ``on_ready`` runs once uvicorn is up."""
        assert self.sock is not None, "open() first"
        debug = self.options.log_level == "debug"
        server = _uvicorn_server(
            self.app,
            GRACE_S["main"],
            debug,
            on_started=on_ready,
            own_headers=self.own_headers,
            tls=self.tls,
            intercept=self.options if self.options.intercept else None,
        )
        try:
            # uvicorn's own run, which sets up its event loop (uvloop where installed).
            server.run(sockets=[self.sock])
        finally:
            self.close()

    # --- in a background thread (FakeVoipbin) -----------------------------------------

    def start(self) -> Server:
        assert self.sock is not None, "open() first"
        server = _uvicorn_server(
            self.app,
            GRACE_S["thread"],
            False,
            own_headers=self.own_headers,
            tls=self.tls,
            intercept=self.options if self.options.intercept else None,
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self.sock]}, name="fakevoipbin", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        # Woken as soon as the startup ends; the short wait only notices a thread that
        # died before it (a config uvicorn refuses).
        while not server.startup_over.wait(0.05):
            if not thread.is_alive() or time.monotonic() > deadline:
                break
        if not server.started:
            server.should_exit = True
            thread.join(timeout=GRACE_S["thread"])  # a failed start leaves no thread behind
            self.close()
            raise ServeError("fakevoipbin's server did not start")
        self._uvicorn, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._uvicorn.should_exit = True
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._stop_writer()
        if self.tls is not None:
            self.tls.close()
            self.tls = None

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
