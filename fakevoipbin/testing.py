"""The Python face: ``FakeVoipbin``, a fake running on a real socket in a background
thread, steerable from the test that owns it.

    with FakeVoipbin(seed=7, profile="live") as fake:
        fake.url                 # "http://127.0.0.1:54321/v1.0"
        fake.accesskey           # raw token of the default customer's admin key
        fake.clock.advance(86400)
        customer_id, token = fake.add_customer()
        fake.faults.add("PostAccesskeys", status=503, times=1)
        fake.journal.assert_called("PostAccesskeys", times=1)
        fake.reset()
        fake.client()            # an httpx client that reaches the app with no socket

Two instances share nothing: each has its own state, clock, seeds and server.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .app_factory import Options, build_state
from .core import admin
from .core.clock import US, format_fixed, parse_instant
from .core.faults import FaultRule, make_rule
from .core.journal import Journal
from .core.state import State
from .spec import default_spec
from .web.app import Application

if TYPE_CHECKING:  # httpx loads in ~90 ms: only when a client is asked for
    import httpx

    from .web.transport import InProcessTransport

Instant = datetime | str | float | int


def _to_us(when: Instant) -> int:
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("give an aware datetime (with tzinfo), or an RFC 3339 string")
        return round(when.timestamp() * US)
    if isinstance(when, str):
        return parse_instant(when)
    return round(when * US)  # seconds since the epoch


class ClockControl:
    """The fake's one clock: timestamps, expiry, login lifetime and rate limits."""

    def __init__(self, fake: FakeVoipbin) -> None:
        self._fake = fake

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._fake.state.clock.now_us() / US, tz=timezone.utc)

    def now_text(self) -> str:
        return format_fixed(self._fake.state.clock.now_us())

    def set(self, when: Instant) -> None:
        """Jump to an instant: an aware datetime, an RFC 3339 string or epoch seconds."""
        self._fake.state.clock.set(_to_us(when))

    def advance(self, seconds: float) -> None:
        self._fake.state.clock.advance(seconds)

    def freeze(self, frozen: bool = True) -> None:
        self._fake.state.clock.freeze(frozen)

    @property
    def frozen(self) -> bool:
        return self._fake.state.clock.frozen


class Faults:
    """Fault rules: ``add("PostAccesskeys", status=503, times=1)``."""

    def __init__(self, fake: FakeVoipbin) -> None:
        self._fake = fake

    def add(
        self,
        operation: str,
        status: int | None = None,
        *,
        times: int | None = 1,
        after: int = 0,
        probability: float = 1.0,
        delay_ms: int = 0,
        retry_after: int = 1,
        limited_by: str = "ip",
    ) -> FaultRule:
        rule = make_rule(
            set(self._fake.app.spec.operations),
            operation=operation,
            status=status,
            times=times,
            after=after,
            probability=probability,
            delay_ms=delay_ms,
            retry_after=retry_after,
            limited_by=limited_by,
        )
        return self._fake.state.faults.add(rule)

    def rules(self) -> list[FaultRule]:
        return self._fake.state.faults.rules()

    def clear(self) -> None:
        self._fake.state.faults.clear()


class FakeVoipbin:
    """A running fake. Use it as a context manager, or call ``start()`` and ``stop()``.

    ``now`` freezes the clock at an instant (None: real time). ``fixtures`` is a YAML
    path replacing the default set. ``rate_limit`` emulates production's limits on the
    fake's clock."""

    def __init__(
        self,
        profile: str = "docs",
        seed: int = 0,
        now: Instant | None = None,
        fixtures: str | Path | None = None,
        *,
        rate_limit: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        response_validation: str = "strict",
    ) -> None:
        self.host = host
        self._port = port
        self._response_validation = response_validation
        self._options: dict[str, Any] = {}
        self.app = Application(
            self._build(profile, seed, now, fixtures, rate_limit),
            default_spec(),
            response_validation=response_validation,
        )
        self.clock = ClockControl(self)
        self.faults = Faults(self)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._transport: InProcessTransport | None = None

    def _build(
        self,
        profile: str,
        seed: int,
        now: Instant | None,
        fixtures: str | Path | None,
        rate_limit: bool,
    ) -> State:
        self._options = {
            "profile": profile,
            "seed": seed,
            "now": now,
            "fixtures": fixtures,
            "rate_limit": rate_limit,
        }
        start = None if now is None else format_fixed(_to_us(now))
        return build_state(
            Options(profile=profile, seed=seed, fixtures=fixtures, now=start, rate_limit=rate_limit)
        )

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> FakeVoipbin:
        if self._thread is not None:
            return self
        import uvicorn

        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        sock.listen(1024)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fakevoipbin", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("fakevoipbin's server did not start")
            time.sleep(0.001)
        self._server, self._thread, self._sock = server, thread, sock
        return self

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> FakeVoipbin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what a test reads --------------------------------------------------------

    @property
    def state(self) -> State:
        return self.app.state

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("the fake is not started")
        return int(self._sock.getsockname()[1])

    @property
    def base_url(self) -> str:
        """The server's root (where /auth/login and /_fake/ live)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API's base URL, including /v1.0, as VoIPbin clients expect."""
        return self.base_url + "/v1.0"

    @property
    def accesskey(self) -> str:
        """The raw token of the default (first) customer's admin key."""
        key = self.state.loaded.admin_key()
        if key is None:
            raise LookupError("the fixtures hold no usable access key")
        return key.token

    @property
    def journal(self) -> Journal:
        return self.state.journal

    @property
    def profile(self) -> str:
        return self.state.profile.name

    # --- what a test does ---------------------------------------------------------

    def reset(self) -> None:
        """Back to seed and fixtures: state, clock, journal, faults, rate limits."""
        self.state.reset()

    def configure(self, **changes: Any) -> None:
        """Rebuild with other options (profile, seed, now, fixtures, rate_limit); a no-op
        when nothing changes. The server and its clients stay."""
        wanted = {**self._options, **changes}
        unknown = set(changes) - set(self._options)
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
        if wanted != self._options:
            self.app.state = self._build(**wanted)

    def add_customer(self, name: str = "", frozen: bool = False) -> tuple[str, str]:
        """A new tenant with an admin key: (customer_id, raw token)."""
        customer, _key, raw = admin.add_customer(self.state, name, frozen)
        return customer.id, raw

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on ``url`` that reaches the app in-process (no socket)."""
        import httpx

        from .web.transport import InProcessTransport

        if self._transport is None:
            self._transport = InProcessTransport(self.app)
        kwargs.setdefault("base_url", self.url if self._sock else "http://fakevoipbin/v1.0")
        return httpx.Client(transport=self._transport, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx.AsyncClient on ``url`` that reaches the app in-process."""
        import httpx

        kwargs.setdefault("base_url", self.url if self._sock else "http://fakevoipbin/v1.0")
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, **kwargs)
