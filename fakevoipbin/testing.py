"""The Python face: ``FakeVoipbin``, a fake steerable from the test that owns it.

It is either its own fake, running on a real socket in a background thread:

    with FakeVoipbin(seed=7, profile="live") as fake:
        fake.url                 # "http://127.0.0.1:54321/v1.0"
        fake.accesskey           # raw token of the default customer's admin key
        fake.clock.advance(86400)
        customer_id, token = fake.add_customer()
        fake.faults.add("PostAccesskeys", status=503, times=1)
        fake.journal.assert_called("PostAccesskeys", times=1)
        fake.reset()
        fake.login("admin@example.com", "admin-password")  # a login JWT
        fake.client()            # an httpx client on url (/v1.0) with no socket
        fake.client(root=True)   # ...on the server's root: /auth/login, /v1.0/accesskeys

or attached to a fake that runs elsewhere (``fakevoipbin serve`` or ``run``), which it
drives through the control API with the same calls (``fakevoipbin.attach``):

    fake = FakeVoipbin.attach("http://127.0.0.1:8088/v1.0")

Two instances of their own share nothing: each has its own state, clock, seeds and
server.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .assemble import Configurator, build_app, build_state
from .core import admin
from .core.clock import US, ClockError, advance_input, format_fixed, freeze_input
from .core.faults import FaultRule, make_rule
from .core.state import State
from .journal_queries import JournalQueries, LocalJournal
from .options import Instant, OptionError, Options, instant_us
from .server import Server

if TYPE_CHECKING:  # httpx loads in ~90 ms: only when a client is asked for
    import httpx

    from .attach import Attached
    from .web.app import WebApp
    from .web.transport import InProcessTransport


class Driver(Protocol):
    """What the Python face does to a fake: its own (``Local``, below) or one in
    another process, through the control API (``fakevoipbin.attach.Attached``)."""

    @property
    def journal(self) -> JournalQueries: ...
    @property
    def profile(self) -> str: ...
    @property
    def accesskey(self) -> str: ...

    def now_us(self) -> int: ...
    def set_clock(self, us: int) -> None: ...
    def advance_clock(self, seconds: float) -> None: ...
    def freeze_clock(self, frozen: bool) -> None: ...
    def clock_frozen(self) -> bool: ...
    def add_fault(self, fields: dict[str, Any]) -> FaultRule: ...
    def fault_rules(self) -> list[FaultRule]: ...
    def clear_faults(self) -> None: ...
    def reset(self, changes: dict[str, Any]) -> None: ...
    def configure(self, changes: dict[str, Any]) -> None: ...
    def add_customer(self, name: str, frozen: bool, fields: dict[str, Any]) -> tuple[str, str]: ...


class Local:
    """A fake of one's own: its state, changed by direct calls."""

    def __init__(self, app: WebApp, configurator: Configurator) -> None:
        self.app = app
        self.state = app.state
        self.configurator = configurator
        self.journal: JournalQueries = LocalJournal(app.state.journal)

    @property
    def profile(self) -> str:
        return self.state.profile.name

    @property
    def accesskey(self) -> str:
        key = self.state.loaded.admin_key()
        if key is None:
            raise LookupError("the fixtures hold no usable access key")
        return key.token

    def now_us(self) -> int:
        return self.state.clock.now_us()

    def set_clock(self, us: int) -> None:
        self.state.clock.set(us)

    def advance_clock(self, seconds: float) -> None:
        try:
            self.state.clock.advance(seconds)
        except ClockError as exc:  # as the control API says it
            raise ClockError(f'"advance": {exc}') from None

    def freeze_clock(self, frozen: bool) -> None:
        self.state.clock.freeze(frozen)

    def clock_frozen(self) -> bool:
        return self.state.clock.frozen

    def add_fault(self, fields: dict[str, Any]) -> FaultRule:
        rule = make_rule(set(self.app.spec.operations), **fields)
        return self.state.faults.add(rule)

    def fault_rules(self) -> list[FaultRule]:
        return self.state.faults.rules()

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def reset(self, changes: dict[str, Any]) -> None:
        self.configurator.reset(**changes)

    def configure(self, changes: dict[str, Any]) -> None:
        self.configurator.configure(**changes)

    def add_customer(self, name: str, frozen: bool, fields: dict[str, Any]) -> tuple[str, str]:
        customer, _key, raw = admin.add_customer(self.state, name, frozen, fields=fields)
        return customer.id, raw


class ClockControl:
    """The fake's one clock: timestamps, expiry, login lifetime and rate limits."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._driver.now_us() / US, tz=timezone.utc)

    def now_text(self) -> str:
        return format_fixed(self._driver.now_us())

    def set(self, when: Instant | date) -> None:
        """Jump to an instant: an aware datetime, a ``date`` (its midnight UTC: the
        clock is UTC's), RFC 3339 text or epoch seconds. Anything else is a
        ``ClockError`` (a ValueError) that names ``"set"``; nothing moves."""
        self._driver.set_clock(_instant(when))

    def advance(self, seconds: float | timedelta) -> None:
        """Move by some seconds (a number, negative to go back) or by a ``timedelta``.
        As the control API's ``"advance"``: a bool, text or a non-finite number is a
        ``ClockError`` (a ValueError) that names ``"advance"``, and so is a move out of
        the clock's range; nothing moves."""
        if isinstance(seconds, timedelta):
            seconds = seconds / timedelta(seconds=1)
        self._driver.advance_clock(advance_input(seconds))

    def freeze(self, frozen: bool = True) -> None:
        """Stop the clock where it is (``False``: run on from there). As the control
        API's ``"freeze"``: anything but a bool is a ``ClockError`` naming it."""
        self._driver.freeze_clock(freeze_input(frozen))

    @property
    def frozen(self) -> bool:
        return self._driver.clock_frozen()


def _instant(when: object) -> int:
    """``clock.set``'s argument in microseconds: a ``date`` is its midnight UTC."""
    if isinstance(when, date) and not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, tzinfo=timezone.utc)
    if isinstance(when, bool) or not isinstance(when, (datetime, str, int, float)):
        raise ClockError(
            '"set" must be an RFC 3339 timestamp string, an aware datetime, a date or '
            f"epoch seconds, not {type(when).__name__}"
        )
    try:
        return instant_us(when)
    except OptionError as exc:
        raise ClockError(f'"set": {exc}') from None


class Faults:
    """Fault rules: ``add("PostAccesskeys", status=503, times=1)``, or a network-level
    ``kind``: ``add("PostAccesskeys", kind="connection_reset")`` (``when="after"``, the
    default for a kind: the key is made, its answer lost; ``when="before"``: nothing
    happened). The kinds are ``fakevoipbin.core.faults.NETWORK_KINDS``."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

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
        kind: str | None = None,
        when: str | None = None,
    ) -> FaultRule:
        fields: dict[str, Any] = {
            "operation": operation,
            "status": status,
            "times": times,
            "after": after,
            "probability": probability,
            "delay_ms": delay_ms,
            "retry_after": retry_after,
            "limited_by": limited_by,
        }
        if kind is not None:
            fields["kind"] = kind
        if when is not None:
            fields["when"] = when
        return self._driver.add_fault(fields)

    def rules(self) -> list[FaultRule]:
        return self._driver.fault_rules()

    def clear(self) -> None:
        self._driver.clear_faults()


class FakeVoipbin:
    """A fake. Use it as a context manager, or call ``start()`` and ``stop()``.

    It takes the settings of ``fakevoipbin.options.Options`` as keywords (``profile``,
    ``seed``, ``now``, ``fixtures``, ``rate_limit``, ``host``, ``port``, ...), or a whole
    ``Options`` as ``options``. ``now`` (an aware datetime, RFC 3339 text or epoch
    seconds) freezes the clock there; ``fixtures`` is a YAML path replacing the default
    set; ``rate_limit`` emulates production's limits on the fake's clock.

    ``FakeVoipbin.attach(url)`` gives one that drives a fake in another process."""

    def __init__(self, options: Options | None = None, **settings: Any) -> None:
        if options is None:
            options = Options.for_face("python", **settings)
        elif settings:
            options = options.changed(**settings)
        state = build_state(options)
        configurator = Configurator(state, options)
        app = build_app(state, options, configurator=configurator)
        self._local: Local | None = Local(app, configurator)
        self._attached: Attached | None = None
        self._driver: Driver = self._local
        self.clock = ClockControl(self._driver)
        self.faults = Faults(self._driver)
        self._server: Server | None = None
        self._transport: InProcessTransport | None = None
        self._env_folder: Any = None
        self._entered = 0

    @classmethod
    def attach(
        cls,
        url: str,
        *,
        control_token: str | None = None,
        timeout: float = 10.0,
        ca_file: str | None = None,
    ) -> FakeVoipbin:
        """One that drives the fake at ``url`` (its root, or its API URL ending in
        /v1.0) through its control API: reset, clock, customers, faults and journal.
        ``control_token`` defaults to ``FAKEVOIPBIN_CONTROL_TOKEN``, ``ca_file`` (the
        CA an https fake's certificate is checked with) to ``FAKEVOIPBIN_CA_FILE``. An
        ``AttachError`` says, in one line, why it cannot (nothing answers, not a
        fakevoipbin fake, a proxy of a real API)."""
        from .attach import Attached

        self = cls.__new__(cls)
        attached = Attached(url, control_token=control_token, timeout=timeout, ca_file=ca_file)
        self._local = None
        self._attached = attached
        self._driver = attached
        self.clock = ClockControl(attached)
        self.faults = Faults(attached)
        self._server = None
        self._transport = None
        self._env_folder = None
        self._entered = 0
        return self

    @property
    def attached(self) -> bool:
        """Whether this drives a fake in another process."""
        return self._attached is not None

    def _own(self, what: str) -> Local:
        if self._local is None:
            assert self._attached is not None
            raise RuntimeError(
                f"fake.{what} is not there: this is attached to {self._attached.root}, whose "
                "state lives in that process; use clock, faults, journal, reset() and "
                "add_customer(), which drive it through the control API"
            )
        return self._local

    @property
    def options(self) -> Options:
        """The settings the fake runs with now (its own fake only)."""
        return self._own("options").configurator.current

    @property
    def app(self) -> WebApp:
        return self._own("app").app

    @property
    def host(self) -> str:
        if self._attached is not None:
            return self._attached.host
        return self.options.host

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> FakeVoipbin:
        """Listen and serve in a background thread (a no-op when already started, or
        attached). A busy port or a bad state file is a ``ServeError`` naming it."""
        if self._server is not None or self._attached is not None:
            return self
        local = self._own("start")
        self._server = Server(local.app.asgi, local.state, self.options).open().start()
        return self

    def client_env(self) -> dict[str, str]:
        """The environment ``fakevoipbin run`` gives its command for this started fake:
        ``FAKEVOIPBIN_URL``, ``VOIPBIN_API_BASE_URL`` and the access key's two names;
        under ``tls=True``, the CA's variables (``clientenv.tls_env``); under
        ``intercept=True``, ``HTTPS_PROXY``/``https_proxy`` naming this fake and the
        URL ``https://api.voipbin.net/v1.0`` (``clientenv.intercept_env``). The CA
        bundle it names lives until ``stop()``."""
        from .clientenv import intercept_env, tls_env
        from .envnames import ACCESSKEY_ENV, API_BASE_URL_ENV, API_KEY_ENV, URL_ENV

        env = {
            URL_ENV: self.url,
            API_BASE_URL_ENV: self.url,
            ACCESSKEY_ENV: self.accesskey,
            API_KEY_ENV: self.accesskey,
        }
        ca_file = self.ca_file
        if ca_file is None:
            return env
        if self._env_folder is None:
            import tempfile

            self._env_folder = tempfile.TemporaryDirectory(prefix="fakevoipbin-env-")
        folder = Path(self._env_folder.name)
        if self._attached is None and self.options.intercept:
            return {**env, **intercept_env(self.base_url, ca_file, folder)}
        return {**env, **tls_env(ca_file, folder)}

    @contextlib.contextmanager
    def environ(self) -> Iterator[dict[str, str]]:
        """``with fake.environ():`` sets ``client_env()`` in ``os.environ`` for the
        block (so an unmodified client in this process reaches the fake), then puts
        back each variable as it was (or removes it)."""
        env = self.client_env()
        before = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def stop(self) -> None:
        if self._env_folder is not None:
            self._env_folder.cleanup()
            self._env_folder = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._attached is not None:
            self._attached.close()

    def __enter__(self) -> FakeVoipbin:
        """``with`` starts the fake; entered again (a helper handed a started fake
        that enters it too), it is the same fake, and the ``with``s count: only the
        outermost one's end stops it. An inner end stopping the server under the
        outer ``with`` would break the very test that nested them."""
        self.start()
        self._entered += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._entered -= 1
        if self._entered <= 0:
            self._entered = 0
            self.stop()

    # --- what a test reads --------------------------------------------------------

    @property
    def state(self) -> State:
        return self._own("state").state

    @property
    def port(self) -> int:
        if self._attached is not None:
            return self._attached.port
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return self._server.port

    @property
    def base_url(self) -> str:
        """The server's root (where /auth/login and /_fake/ live)."""
        if self._attached is not None:
            return self._attached.root
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return self._server.root

    @property
    def url(self) -> str:
        """The API's base URL, including /v1.0, as VoIPbin clients expect (``https://``
        under ``tls=True``)."""
        return self.base_url + "/v1.0"

    @property
    def ca_file(self) -> str | None:
        """The CA file a client trusts to reach the fake over HTTPS (``tls=True``; an
        attached fake's: the one it was attached with); None over plain HTTP."""
        if self._attached is not None:
            return self._attached.ca_file if self._attached.root.startswith("https:") else None
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return None if self._server.tls is None else str(self._server.tls.ca_file)

    @property
    def accesskey(self) -> str:
        """The raw token of the default (first) customer's admin key."""
        return self._driver.accesskey

    @property
    def journal(self) -> JournalQueries:
        return self._driver.journal

    @property
    def profile(self) -> str:
        return self._driver.profile

    # --- what a test does ---------------------------------------------------------

    def reset(self, **changes: Any) -> None:
        """Back to seed and fixtures: state, clock, journal, faults, rate limits. The
        marker's settings (profile, seed, now, fixtures, rate_limit) given here apply
        to this reset alone. A failure (a missing fixtures file) leaves the fake as it
        was."""
        self._driver.reset(changes)

    def configure(self, **changes: Any) -> None:
        """Take other state settings (the marker's: profile, seed, now, fixtures,
        rate_limit) for this and every later reset, and reset to them. The server and
        its clients stay. A failure (a missing fixtures file) leaves the fake as it
        was."""
        self._driver.configure(changes)

    def add_customer(self, name: str = "", frozen: bool = False, **fields: Any) -> tuple[str, str]:
        """A new tenant with an admin key: (customer_id, raw token). Its status is
        ``active`` (``frozen``: ``frozen``); ``fields`` sets customer fields as
        ``GET /v1.0/customer`` shows them: ``detail``, ``email``, ``phone_number``,
        ``address``, ``webhook_method``, ``webhook_uri`` (strings) and ``email_verified``
        (a bool). As the control API checks them (``core/admin.customer_input``),
        ``name`` is a string of at most 255 characters and ``frozen`` a bool; a field of
        another name or type is refused: a ValueError naming it, attached or not, and
        no customer is made."""
        return self._driver.add_customer(name, frozen, fields)

    def login(self, username: str, password: str) -> str:
        """The JWT ``POST /auth/login`` gives an agent (a fixture login user), logged in
        as a client would: the call is journaled and counts against the login rate
        limit. A refusal is a ``LookupError`` naming the user and the status (never the
        password)."""
        c = self.client(root=True)
        try:
            r = c.post("/auth/login", json={"username": username, "password": password})
        finally:
            if self._attached is not None:  # the in-process transport is shared: kept
                c.close()
        if r.status_code != 200:
            raise LookupError(f"POST /auth/login refused {username!r}: {r.status_code}")
        token: str = r.json()["token"]
        return token

    def _client_base(self, root: bool) -> str:
        where = self.base_url if (self._attached or self._server) else "http://fakevoipbin"
        return where if root else where + "/v1.0"

    def client(self, *, root: bool = False, **kwargs: Any) -> httpx.Client:
        """An httpx client on ``url`` (the API's base, ``…/v1.0``): paths are relative
        to it, so ``c.get("/accesskeys")`` is ``GET /v1.0/accesskeys``. ``root=True``
        roots it at the server instead, where every path is written whole
        (``/v1.0/accesskeys``, ``/auth/login``, ``/_fake/health``); ``login()`` gives
        a JWT in one call. It reaches the app in-process (no socket); an attached
        fake's, over the socket. Other keywords go to ``httpx.Client``."""
        import httpx

        kwargs.setdefault("base_url", self._client_base(root))
        if self._attached is not None:
            kwargs.setdefault("verify", self._attached.verify())
            return httpx.Client(**kwargs)

        from .web.transport import InProcessTransport

        if self._transport is None:
            self._transport = InProcessTransport(self.app.asgi)
        return httpx.Client(transport=self._transport, **kwargs)

    def async_client(self, *, root: bool = False, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx.AsyncClient on ``url`` (``root=True``: on the server's root, as
        ``client()``) that reaches the app in-process (an attached fake's, over the
        socket)."""
        import httpx

        kwargs.setdefault("base_url", self._client_base(root))
        if self._attached is not None:
            kwargs.setdefault("verify", self._attached.verify())
            return httpx.AsyncClient(**kwargs)
        from .web.transport import AsyncInProcessTransport

        return httpx.AsyncClient(transport=AsyncInProcessTransport(self.app.asgi), **kwargs)
