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

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .assemble import build_app, build_state, reconfigure
from .core import admin
from .core.clock import US, format_fixed, parse_instant
from .core.faults import FaultRule, make_rule
from .core.journal import Journal
from .core.state import State
from .options import Options, names
from .server import Server

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

    It takes the settings of ``fakevoipbin.options.Options`` as keywords (``profile``,
    ``seed``, ``now``, ``fixtures``, ``rate_limit``, ``host``, ``port``, ...), or a whole
    ``Options`` as ``options``. ``now`` (an aware datetime, RFC 3339 text or epoch
    seconds) freezes the clock there; ``fixtures`` is a YAML path replacing the default
    set; ``rate_limit`` emulates production's limits on the fake's clock."""

    def __init__(self, options: Options | None = None, **settings: Any) -> None:
        if "now" in settings and settings["now"] is not None:
            settings["now"] = format_fixed(_to_us(settings["now"]))
        if options is None:
            options = Options.for_face("python", **settings)
        elif settings:
            options = options.changed(**settings)
        self.options = options
        self.app = build_app(build_state(options), options)
        self.clock = ClockControl(self)
        self.faults = Faults(self)
        self._server: Server | None = None
        self._transport: InProcessTransport | None = None

    @property
    def host(self) -> str:
        return self.options.host

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> FakeVoipbin:
        """Listen and serve in a background thread (a no-op when already started).
        A busy port or a bad state file is a ``ServeError`` naming it."""
        if self._server is not None:
            return self
        self._server = Server(self.app.asgi, self.state, self.options).open().start()
        return self

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._server is not None:
            self._server.stop()
            self._server = None

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
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return self._server.port

    @property
    def base_url(self) -> str:
        """The server's root (where /auth/login and /_fake/ live)."""
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return self._server.root

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
        """Take other state settings (the marker's: profile, seed, now, fixtures,
        rate_limit) and reset to them; a no-op when nothing changes. The server and its
        clients stay. A failure (a missing fixtures file) leaves the fake as it was."""
        allowed = names("marker")
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise TypeError(
                f"unknown option(s) {', '.join(unknown)}; configure takes {', '.join(allowed)}"
            )
        if changes.get("now") is not None:
            changes["now"] = format_fixed(_to_us(changes["now"]))
        wanted = self.options.changed(**changes)
        if wanted != self.options:
            reconfigure(self.state, wanted)
            self.options = wanted

    def add_customer(self, name: str = "", frozen: bool = False) -> tuple[str, str]:
        """A new tenant with an admin key: (customer_id, raw token)."""
        customer, _key, raw = admin.add_customer(self.state, name, frozen)
        return customer.id, raw

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on ``url`` that reaches the app in-process (no socket)."""
        import httpx

        from .web.transport import InProcessTransport

        if self._transport is None:
            self._transport = InProcessTransport(self.app.asgi)
        kwargs.setdefault("base_url", self.url if self._server else "http://fakevoipbin/v1.0")
        return httpx.Client(transport=self._transport, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx.AsyncClient on ``url`` that reaches the app in-process."""
        import httpx

        kwargs.setdefault("base_url", self.url if self._server else "http://fakevoipbin/v1.0")
        transport = httpx.ASGITransport(app=self.app.asgi, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, **kwargs)
