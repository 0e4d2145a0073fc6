"""Every setting of a fake, stated once: its name, type, default, help and faces.

``Options`` is the one record of them. ``fakevoipbin serve`` and ``run`` make their
flags from it (``add_arguments``), ``FakeVoipbin(**settings)`` and the pytest marker
take its field names as keywords, and the contract tools, the bench and the tests
build fakes from it. A new setting is one field below, plus its docs.

Each field says which faces take it:

- ``serve``: ``fakevoipbin serve`` and ``fakevoipbin run`` (which takes every option
  serve takes);
- ``run``: ``fakevoipbin run`` alone (its report, and ``--upstream``);
- ``proxy``: ``fakevoipbin proxy``;
- ``python``: ``FakeVoipbin(...)``;
- ``marker``: ``@pytest.mark.fakevoipbin(...)``, which rebuilds the state per test.

A face may have a default of its own (``serve`` listens on 8088, ``run`` and
``FakeVoipbin`` on a free port); it is stated here, beside the field.

The command-line faces also read each setting they take from the environment, as
``FAKEVOIPBIN_<NAME>`` (``env_name``; ``from_environment`` reads them, a flag wins over
its variable: ``from_command_line``). ``FakeVoipbin(...)`` and the marker take keywords
only. The docs site's options page is rendered from the fields (``fakevoipbin/reference.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import ipaddress
import math
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .core.clock import US, ClockError, check_range, format_fixed, parse_instant
from .core.profiles import PROFILES
from .envnames import API_KEY_ENV, OTHER_USES

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088
RESPONSE_VALIDATION = ("strict", "log", "off")
LOG_LEVELS = ("debug", "info", "warning", "error")

SERVE, RUN, PROXY, PYTHON, MARKER = "serve", "run", "proxy", "python", "marker"
_EPOCH = re.compile(r"-?[0-9]+(\.[0-9]+)?")
FACES = (SERVE, RUN, PROXY, PYTHON, MARKER)
#: Where ``fakevoipbin proxy`` listens unless told (beside serve's 8088).
DEFAULT_PROXY_PORT = 8089
#: The path an upstream's URL ends in: the API's base.
API_BASE_PATH = "/v1.0"


class OptionError(ValueError):
    """A setting that cannot be used, with a message that says why (one line)."""


@dataclass(frozen=True)
class Setting:
    """What the faces need to know about one field of ``Options``."""

    help: str
    faces: frozenset[str]
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    #: Turns command-line text into the value (raising ``OptionError``).
    parse: Callable[[str], Any] | None = None
    #: Defaults of faces that differ from the field's own.
    face_defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Help of faces whose use of the setting differs from ``help``.
    face_help: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: The flag is given once per value (``--tls-name A --tls-name B``); the field is a tuple.
    repeat: bool = False
    #: The flag's spelling, when not ``--`` plus the field's name.
    flag: str | None = None
    #: An on/off setting: ``--NAME`` and ``--no-NAME``, and 1/0 (true/false, yes/no,
    #: on/off) in its variable.
    switch: bool = False
    #: Whether the command-line faces read the setting from ``env_name(name)``; when
    #: not, ``env_note`` says where it comes from instead.
    env: bool = True
    env_note: str | None = None
    #: What the setting left unset (None) means, as the options reference shows it.
    unset: str = "not set"

    def help_for(self, face: str) -> str:
        """The help ``face`` shows for the setting."""
        return self.face_help.get(face, self.help)


def _setting(
    default: Any,
    help: str,
    faces: Iterable[str],
    *,
    metavar: str | None = None,
    choices: Iterable[str] | None = None,
    parse: Callable[[str], Any] | None = None,
    secret: bool = False,
    face_help: Mapping[str, str] | None = None,
    repeat: bool = False,
    flag: str | None = None,
    switch: bool = False,
    env_note: str | None = None,
    unset: str = "not set",
    **face_defaults: Any,
) -> Any:
    faces = frozenset(faces)
    if SERVE in faces:
        faces |= {RUN}
    meta = Setting(
        help,
        faces,
        metavar,
        None if choices is None else tuple(choices),
        parse,
        face_defaults,
        face_help or {},
        repeat,
        flag,
        switch or isinstance(default, bool),
        env_note is None,
        env_note,
        unset,
    )
    return field(default=default, metadata={"setting": meta}, repr=not secret)


def parse_seed(text: str) -> int:
    """``--seed``: a whole number (negative too, as Python's ``int`` reads it)."""
    try:
        return int(text)
    except ValueError:
        raise OptionError(f"not an integer: {text!r}") from None


def parse_port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise OptionError(f"not a port number: {text!r}") from None
    _check_port(value)
    return value


INSTANT_EXAMPLE = "2026-12-01T10:15:30.123456Z"
EPOCH_EXAMPLE = "1796120130"

#: What the clock can be set to: an aware datetime, RFC 3339 text, or epoch seconds.
Instant = datetime | str | float | int


def instant_us(when: Instant) -> int:
    """An instant in microseconds since the epoch, from an aware datetime, RFC 3339
    text, or epoch seconds (a number, or its digits as text). ``OptionError`` names
    the forms it takes, with an example of each."""
    try:
        if isinstance(when, datetime):
            if when.tzinfo is None:
                raise OptionError("give an aware datetime (with tzinfo), or an RFC 3339 string")
            us = round(when.timestamp() * US)
        elif isinstance(when, bool):
            raise OptionError(f"not an instant: {when!r}")
        elif isinstance(when, (int, float)):
            if not math.isfinite(when):
                raise OptionError(f"not an instant: {when!r}")
            us = round(when * US)
        elif _EPOCH.fullmatch(when.strip()):
            us = round(float(when) * US)
        else:
            us = parse_instant(when)
        return check_range(us)
    except ClockError as exc:
        raise OptionError(
            f"{exc}; give RFC 3339, e.g. {INSTANT_EXAMPLE}, or epoch seconds, e.g. {EPOCH_EXAMPLE}"
        ) from None


def parse_instant_text(text: Instant) -> str:
    """``--now`` (and the ``now`` setting): any form ``instant_us`` takes, as the
    fixed-width RFC 3339 text the clock starts from."""
    return format_fixed(instant_us(text))


def parse_tls_name(text: str) -> str:
    """``--tls-name``: a DNS name or an IP literal (``tls.check_name``, which needs no
    ``cryptography``); ``OptionError`` in one line otherwise."""
    from .tls import check_name

    try:
        return check_name(text)
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def _check_port(value: int) -> None:
    if not 0 <= value <= 65535:
        raise OptionError("a port is 0 to 65535 (0 picks a free one)")


def listen_host(host: str) -> str:
    """``--host`` as the socket takes it: an IPv6 address may be written in a URL's
    brackets (``[::1]``), which are dropped; brackets round anything else are an
    ``OptionError`` that says what to write."""
    if not (host.startswith("[") or host.endswith("]")):
        return host
    inner = host.removeprefix("[").removesuffix("]")
    try:
        ok = host.startswith("[") and host.endswith("]") and ipaddress.IPv6Address(inner)
    except ValueError:
        ok = False
    if not ok:
        raise OptionError(
            f"not a host: {host!r}; brackets hold an IPv6 address only, e.g. [::1] (or ::1)"
        )
    return inner


def check_control_token(token: str | None, control: bool) -> None:
    """A control token is text a header can carry (not empty, no space at either end),
    and only with the control API on. The token is never quoted."""
    if token is None:
        return
    if not token or token != token.strip():
        raise OptionError(
            "the control token is empty or starts or ends with a space, which an "
            "X-Fake-Control-Token header cannot carry: give a non-empty token"
        )
    if not control:
        raise OptionError(
            "--control-token guards the control API, which --no-control turns off: "
            "give one or the other"
        )


def root_url(host: str, port: int, scheme: str = "http") -> str:
    """``scheme://host:port``, an IPv6 address in a URL's brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost, judged from the text alone (no DNS lookup)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def control_rule(host: str, token: str | None) -> bool:
    """Whether the control API is on when not told: on a loopback host, or behind a
    token on any host; off on another address without one, since anyone who reaches
    it could reset or rewrite the state."""
    return token is not None or is_loopback(host)


def control_line(options: Options) -> str | None:
    """What a banner says of a control API that is off (None when it is on): given
    off, or off for want of a token, and then how to turn it on."""
    if options.control:
        return None
    if options.control_given:
        return "off (--no-control)"
    return (
        f"off: {options.host} is not a loopback address and no control token is given; "
        f"to turn it on, give --control-token TOKEN (or {env_name('control_token')}) "
        "and send it as X-Fake-Control-Token"
    )


def check_upstream(url: str, allow_insecure: bool = False) -> str:
    """The upstream's URL, checked: http or https, a host, a path ending in /v1.0, no
    query; plain http only to loopback unless ``allow_insecure`` (a client's
    credentials would cross the network in clear). The URL without a trailing slash;
    ``OptionError`` in one line otherwise."""
    parts = urllib.parse.urlsplit(url.strip())
    try:
        host = parts.hostname
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError as exc:
        raise OptionError(f"the upstream {shown_url(url)!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise OptionError(
            f"the upstream {shown_url(url)!r} is not an http:// or https:// URL "
            f"(e.g. https://api.voipbin.net{API_BASE_PATH})"
        )
    path = parts.path.rstrip("/")
    if not path.endswith(API_BASE_PATH) or parts.query or parts.fragment:
        raise OptionError(
            f"the upstream {shown_url(url)!r} does not name the API's base: give its URL up to and "
            f"including {API_BASE_PATH} (e.g. https://api.voipbin.net{API_BASE_PATH})"
        )
    if parts.scheme == "http" and not is_loopback(host) and not allow_insecure:
        raise OptionError(
            f"refusing the upstream {shown_url(url)}: plain http:// to {host}, which is not "
            "a loopback address, would send the client's credentials across the network in "
            "clear; use https://, or give --allow-insecure-upstream"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


#: The longest ``--upstream-timeout`` taken: a day (beyond it, nothing would answer).
MAX_UPSTREAM_TIMEOUT = 86400.0


def upstream_timeout_seconds(value: Any) -> float:
    """``--upstream-timeout``: seconds as a number (or its text), above 0 and at most
    ``MAX_UPSTREAM_TIMEOUT``; ``OptionError`` in one line otherwise."""
    seconds: float | None = None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
    if seconds is None or not 0 < seconds <= MAX_UPSTREAM_TIMEOUT:  # NaN fails too
        raise OptionError(
            f"the upstream timeout is a number of seconds above 0 and at most "
            f"{MAX_UPSTREAM_TIMEOUT:g}, not {value!r}"
        )
    return seconds


def shown_url(url: str) -> str:
    """A URL as it may be printed: without a user or password in it."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


_STATE = (SERVE, PYTHON, MARKER)
_SERVER = (SERVE, PYTHON)
_LISTENER = (SERVE, PYTHON, PROXY)
_CHECKER = (RUN, PROXY)
#: The settings that only make a fake, which ``run --upstream`` refuses.
FAKE_ONLY = ("fixtures", "now", "rate_limit", "state_file", "intercept")


@dataclass(frozen=True)
class Options:
    """The settings of one fake. Build it with keywords; it checks itself."""

    host: str = _setting(
        DEFAULT_HOST,
        "address to listen on (default %(default)s); an IPv6 address bare or in brackets",
        _LISTENER,
        metavar="HOST",
        parse=listen_host,
    )
    port: int = _setting(
        DEFAULT_PORT,
        "port to listen on (default %(default)s; 0 picks a free one)",
        _LISTENER,
        metavar="PORT",
        parse=parse_port,
        run=0,
        python=0,
        proxy=DEFAULT_PROXY_PORT,
    )
    #: None: the face's own (docs for a fake, live in front of an upstream).
    profile: str = _setting(
        "docs",
        "docs follows the published tutorial, live the production server (default: docs "
        "for a fake, live for proxy and run --upstream)",
        (*_STATE, PROXY),
        choices=sorted(PROFILES),
        unset="docs, or live with --upstream",
        run=None,
        proxy="live",
    )
    seed: int = _setting(
        0,
        "seed for ids, tokens, request ids and JWT secrets (default %(default)s)",
        (*_STATE, PROXY),
        metavar="N",
        parse=parse_seed,
        face_help={
            RUN: "seed for the fake's ids, tokens, request ids and JWT secrets; with "
            "--upstream, for --record's tokens (default %(default)s)",
            PROXY: "seed for --record's tokens (default %(default)s)",
        },
    )
    fixtures: str | None = _setting(
        None,
        "a fixture YAML file that replaces the default set",
        _STATE,
        metavar="FILE",
        unset="the default set",
    )
    #: Where the clock starts, frozen (kept as RFC 3339 text; given as any form
    #: ``instant_us`` takes). None: real time.
    now: str | None = _setting(
        None,
        f"freeze the clock at this instant: RFC 3339, e.g. {INSTANT_EXAMPLE}, or epoch "
        f"seconds, e.g. {EPOCH_EXAMPLE} (default: real time)",
        _STATE,
        metavar="INSTANT",
        parse=parse_instant_text,
        unset="real time",
    )
    rate_limit: bool = _setting(
        False,
        "emulate production's rate limits (per IP 200/s, burst 400; per customer "
        "16.7/s, burst 33; login 10/s, burst 20) on the fake's clock",
        _STATE,
    )
    response_validation: str = _setting(
        "strict",
        "a response that breaks openapi.yaml becomes a 500 naming the violation "
        "(strict), is only logged (log), or is not checked (off); default %(default)s",
        _SERVER,
        choices=RESPONSE_VALIDATION,
        run="log",
    )
    #: None: the rule (``control_rule``): on where it is safe, on loopback or behind a
    #: token; resolved to a bool on building.
    control: bool = _setting(
        None,
        "serve the control API (/_fake/), which resets and drives the fake; attach mode "
        "(the pytest plugin under fakevoipbin run) needs it (default: on when the host is "
        "loopback or a control token is given, off on another address without one, where "
        "--control is refused)",
        _LISTENER,
        switch=True,
        unset="on when the host is loopback or a control token is given, off otherwise",
    )
    control_token: str | None = _setting(
        None,
        "require this value in the X-Fake-Control-Token header of control calls; it "
        "turns the control API on on any address (refused when empty or with "
        "--no-control; never shown)",
        _LISTENER,
        metavar="TOKEN",
        secret=True,
        unset="none",
    )
    state_file: str | None = _setting(
        None,
        "keep the state in this file across restarts (atomic writes; a damaged "
        "file stops the start)",
        _SERVER,
        metavar="PATH",
        unset="in memory only",
    )
    tls: bool = _setting(
        False,
        "serve HTTPS with a certificate signed by the fake's own CA, whose name "
        "constraints permit only the fake's names (the banner names the CA file to trust)",
        _SERVER,
    )
    tls_dir: str | None = _setting(
        None,
        "with --tls: keep the CA (ca.pem, ca-key.pem) and the server certificate in DIR, "
        "made when missing and reused when present, so a client trusts the CA once "
        "(default: a new CA in a temporary folder each start)",
        _SERVER,
        metavar="DIR",
        unset="a new CA in a temporary folder each start",
    )
    #: The names the server certificate carries beyond localhost, 127.0.0.1, ::1 and
    #: api.voipbin.net (``tls.DEFAULT_NAMES``).
    tls_names: tuple[str, ...] = _setting(
        (),
        "with --tls: one more name (a DNS name or an IP address) the certificate and the "
        "CA's name constraints carry, e.g. a container's service name; repeatable",
        _SERVER,
        metavar="NAME",
        parse=parse_tls_name,
        repeat=True,
        flag="--tls-name",
    )
    intercept: bool = _setting(
        False,
        "also be an HTTPS proxy: CONNECT api.voipbin.net:443 is answered by the fake "
        "itself over TLS with its own CA (implies --tls; the port stays plain HTTP); "
        "CONNECT to another host is tunnelled on loopback, refused elsewhere",
        _SERVER,
    )
    access_log: bool = _setting(
        False,
        "log each request to stderr (the access log never shows credentials)",
        _LISTENER,
        serve=True,
        proxy=True,
    )
    log_level: str = _setting(
        "info",
        "how much fakevoipbin logs to stderr (default %(default)s)",
        (SERVE, PROXY),
        choices=LOG_LEVELS,
    )
    upstream: str | None = _setting(
        None,
        "the server to forward to: its API base URL, including /v1.0, e.g. "
        "https://api.voipbin.net/v1.0 (run: CMD talks to a checking proxy in front of "
        "it instead of a fake)",
        _CHECKER,
        metavar="URL",
    )
    allow_insecure_upstream: bool = _setting(
        False,
        "allow a plain http:// upstream that is not on loopback (credentials cross the "
        "network in clear)",
        _CHECKER,
    )
    upstream_timeout: float = _setting(
        60.0,
        "with an upstream: how many seconds it has to answer (each read) before the proxy "
        "answers 504 UPSTREAM_TIMEOUT itself (default %(default)s)",
        _CHECKER,
        metavar="SECONDS",
        parse=upstream_timeout_seconds,
    )
    accesskey: str | None = _setting(
        None,
        "with --upstream: the upstream's access key, exported to CMD as VOIPBIN_API_KEY "
        "and FAKEVOIPBIN_ACCESSKEY (default: $VOIPBIN_API_KEY)",
        (RUN,),
        metavar="KEY",
        secret=True,
        env_note=f"${API_KEY_ENV}, read with --upstream only: not FAKEVOIPBIN_ACCESSKEY, "
        "which fakevoipbin run exports to CMD as the fake's fixture key (a fakevoipbin "
        "run inside CMD would take it for an upstream's key)",
    )
    record: str | None = _setting(
        None,
        "with an upstream: write the customers and keys the session saw to FILE, as "
        "fixtures serve --fixtures loads (fresh tokens from --seed, never the real ones)",
        _CHECKER,
        metavar="FILE",
    )
    report: str | None = _setting(
        None, "write the report as JSON to FILE", _CHECKER, metavar="FILE"
    )
    junit: str | None = _setting(
        None, "write the report as JUnit XML to FILE", _CHECKER, metavar="FILE"
    )
    html: str | None = _setting(
        None,
        "write the report as one self-contained HTML page to FILE (docs/report-and-ui.md)",
        _CHECKER,
        metavar="FILE",
    )
    har: str | None = _setting(
        None,
        "write the journal as HAR 1.2 to FILE on stop (credentials redacted, the fake's "
        "verdicts in _-prefixed fields); fakevoipbin check reads it back",
        _CHECKER,
        metavar="FILE",
    )
    strict: bool = _setting(
        False,
        "exit non-zero when the client broke the spec (or, through a proxy, the upstream drifted)",
        _CHECKER,
    )

    def __post_init__(self) -> None:
        if self.profile is None:
            object.__setattr__(self, "profile", "live" if self.upstream else "docs")
        if self.profile not in PROFILES:
            raise OptionError(
                f"unknown profile {self.profile!r}: choose one of {', '.join(sorted(PROFILES))}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise OptionError(f"the seed is an integer, not {self.seed!r}")
        if not isinstance(self.host, str):
            raise OptionError(f"the host is a string, not {self.host!r}")
        object.__setattr__(self, "host", listen_host(self.host))
        self._resolve_control()
        for name in (
            "rate_limit",
            "control",
            "access_log",
            "allow_insecure_upstream",
            "strict",
            "tls",
            "intercept",
        ):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(f"{name} is true or false, not {getattr(self, name)!r}")
        for name in (
            "fixtures",
            "control_token",
            "state_file",
            "upstream",
            "accesskey",
            "record",
            "report",
            "junit",
            "html",
            "har",
            "tls_dir",
        ):
            if not isinstance(getattr(self, name), (str, type(None))):
                raise OptionError(f"{name} is a string, not {getattr(self, name)!r}")
        self._check_tls()
        check_control_token(self.control_token, self.control)
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise OptionError(f"the port is an integer, not {self.port!r}")
        _check_port(self.port)
        if self.now is not None:
            object.__setattr__(self, "now", parse_instant_text(self.now))
        for name, allowed in (
            ("response_validation", RESPONSE_VALIDATION),
            ("log_level", LOG_LEVELS),
        ):
            if getattr(self, name) not in allowed:
                raise OptionError(f"{name} is one of {', '.join(allowed)}")
        self._check_upstream()
        if self.control and not self.control_token and not is_loopback(self.host):
            raise OptionError(
                f"refusing to serve the control API on {self.host}, which is not a loopback "
                "address: anyone who reaches it could reset or rewrite the state. Give "
                "--control-token TOKEN (sent as X-Fake-Control-Token), or --no-control."
            )

    def _resolve_control(self) -> None:
        """``control`` left as None becomes ``control_rule``'s answer; whether it was
        given is kept (``control_given``) for the banner and for ``changed``."""
        given = self.control is not None
        object.__setattr__(self, "_control_given", given)
        if not given:
            token = self.control_token
            object.__setattr__(self, "control", control_rule(self.host, token))

    def _check_tls(self) -> None:
        names = self.tls_names
        if names is None:
            names = ()
        elif isinstance(names, str) or not isinstance(names, (list, tuple)):
            raise OptionError(f"tls_names is a list of names, not {names!r}")
        checked: list[str] = []
        for name in names:
            if not isinstance(name, str):
                raise OptionError(f"a TLS name is a string, not {name!r}")
            name = parse_tls_name(name)
            if name not in checked:
                checked.append(name)
        object.__setattr__(self, "tls_names", tuple(checked))
        if self.intercept:  # the tunnel's TLS needs the certificate and CA
            object.__setattr__(self, "tls", True)
        if not self.tls:
            for name in ("tls_dir", "tls_names"):
                if getattr(self, name):
                    raise OptionError(f"{setting_of(name).flag or _flag(name)} needs --tls")

    def _check_upstream(self) -> None:
        object.__setattr__(
            self, "upstream_timeout", upstream_timeout_seconds(self.upstream_timeout)
        )
        if self.upstream is None:
            for name in ("accesskey", "record"):
                if getattr(self, name) is not None:
                    raise OptionError(f"{_flag(name)} needs --upstream URL")
            if self.upstream_timeout != _FIELDS["upstream_timeout"].default:
                raise OptionError(f"{_flag('upstream_timeout')} needs --upstream URL")
            return
        object.__setattr__(
            self, "upstream", check_upstream(self.upstream, self.allow_insecure_upstream)
        )
        for name in FAKE_ONLY:
            if getattr(self, name):
                raise OptionError(
                    f"{_flag(name)} makes a fake, and with --upstream the upstream answers"
                )

    @property
    def scheme(self) -> str:
        """What the listening port speaks: https under --tls, http otherwise (--intercept
        keeps the port plain HTTP, its TLS inside CONNECT tunnels)."""
        return "https" if self.tls and not self.intercept else "http"

    # --- building ---------------------------------------------------------------------

    @classmethod
    def for_face(cls, face: str, **settings: Any) -> Options:
        """The options a face starts from (its own defaults), with ``settings`` on top.
        A name the face does not take is a TypeError naming the ones it does."""
        allowed = names(face)
        unknown = sorted(set(settings) - set(allowed))
        if unknown:
            raise TypeError(
                f"unknown option(s) {', '.join(unknown)}; this takes {', '.join(allowed)}"
            )
        return cls(**{**defaults(face), **settings})

    def changed(self, **settings: Any) -> Options:
        """A copy with some settings changed (and checked again). A control API left to
        the rule stays so: ``changed(host=...)`` judges it for the new host."""
        if not self.control_given:
            settings.setdefault("control", None)
        return dataclasses.replace(self, **settings)

    @property
    def control_given(self) -> bool:
        """Whether ``control`` was given (True or False) rather than left to the rule."""
        return bool(self.__dict__["_control_given"])


def setting_of(name: str) -> Setting:
    meta: Setting = _FIELDS[name].metadata["setting"]
    return meta


_FIELDS = {f.name: f for f in dataclasses.fields(Options)}


def names(face: str) -> tuple[str, ...]:
    """The settings a face takes, in declaration order."""
    if face not in FACES:
        raise ValueError(f"no face {face!r}")
    return tuple(n for n in _FIELDS if face in setting_of(n).faces)


def defaults(face: str) -> dict[str, Any]:
    """Each setting's default as ``face`` sees it."""
    return {n: setting_of(n).face_defaults.get(face, _FIELDS[n].default) for n in names(face)}


# --- the command line ---------------------------------------------------------------


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(
    parser: argparse.ArgumentParser, face: str, only: Iterable[str] | None = None
) -> None:
    """One flag per setting the face takes, made from the fields above, with the help
    the face shows. A boolean takes both ``--NAME`` and ``--no-NAME`` (one or the
    other), its default the face's own; the help says which spelling is the default."""
    chosen = names(face) if only is None else tuple(only)
    face_defaults = defaults(face)
    for name in chosen:
        meta = setting_of(name)
        default = face_defaults.get(name, _FIELDS[name].default)
        help = meta.help_for(face)
        env = f" [env {env_name(name)}]" if env_name(name) else ""
        if meta.switch:
            _add_switch(parser, name, default, help, env)
            continue
        extra: dict[str, Any] = {}
        if meta.parse is not None:
            extra["type"] = _argparse_type(meta.parse)
        if meta.repeat:
            extra["action"] = "append"
            default = None  # argparse appends to a fresh list; None reads as ()
        parser.add_argument(
            meta.flag or _flag(name),
            dest=name,
            default=default,
            metavar=meta.metavar,
            choices=meta.choices,
            help=help + env,
            **extra,
        )


def _add_switch(
    parser: argparse.ArgumentParser, name: str, default: bool | None, help: str, env: str
) -> None:
    """``--NAME`` and ``--no-NAME`` for a boolean setting, the face's default marked
    (None: a rule decides, which the help states), then ``env``: its variable."""
    either = parser.add_mutually_exclusive_group()
    # The spelling that changes something first; under a rule, --no-NAME first.
    for on in (False, True) if default is None else (not default, default):
        either.add_argument(
            _flag(name if on else "no_" + name),
            dest=name,
            action="store_true" if on else "store_false",
            default=default,
            help=("" if on else "do not ")
            + help
            + (" (the default)" if on == default else "")
            + env,
        )


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (OptionError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc) or f"invalid value {text!r}") from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


# --- the environment ----------------------------------------------------------------

#: The start of every setting's variable (``env_name``).
ENV_PREFIX = "FAKEVOIPBIN_"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def env_name(name: str) -> str | None:
    """The environment variable the command-line faces read ``name`` from:
    ``FAKEVOIPBIN_`` and the field's name in capitals (None for a setting that is not
    read from the environment: ``Setting.env_note`` says why)."""
    return ENV_PREFIX + name.upper() if setting_of(name).env else None


def env_names() -> dict[str, str]:
    """Every setting's variable, to the setting's name."""
    return {var: n for n in _FIELDS if (var := env_name(n))}


def parse_switch(text: str) -> bool:
    """An on/off setting's variable: 1, true, yes or on; 0, false, no or off (any case)."""
    word = text.strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise OptionError(
        f"not on or off: {text!r}; give {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS)}"
    )


def parse_env_value(name: str, text: str) -> Any:
    """One variable's text as its setting's value, read as the setting's flag reads
    it (``Setting.parse``, ``choices``); a repeatable setting's variable holds its
    values apart by commas or spaces. ``OptionError`` without the variable's name."""
    meta = setting_of(name)
    if meta.switch:
        return parse_switch(text)
    if meta.repeat:
        items = [item for item in re.split(r"[,\s]+", text) if item]
        return tuple(meta.parse(item) if meta.parse else item for item in items)
    if meta.choices is not None and text not in meta.choices:
        raise OptionError(f"not one of {', '.join(meta.choices)}: {text!r}")
    return meta.parse(text) if meta.parse else text


def from_environment(face: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings ``face`` takes that ``environ`` sets, by name, each parsed
    (``parse_env_value``). An empty variable counts as unset; a variable of a setting
    the face does not take is left alone. A bad value is an ``OptionError`` naming its
    variable."""
    found: dict[str, Any] = {}
    for name in names(face):
        var = env_name(name)
        text = environ.get(var, "") if var else ""
        if not text:
            continue
        try:
            found[name] = parse_env_value(name, text)
        except OptionError as exc:
            raise OptionError(f"{var}: {exc}") from None
    return found


def misspelt_variables(environ: Mapping[str, str]) -> list[str]:
    """A one-line warning for each ``FAKEVOIPBIN_…`` variable that is neither a
    setting's nor one the package sets or reads for another purpose
    (``envnames.OTHER_USES``) and is close to a setting's, naming the closest."""
    known = env_names()
    suffixes = {var.removeprefix(ENV_PREFIX): var for var in known}
    warnings = []
    for var in sorted(environ):
        if not var.startswith(ENV_PREFIX) or var in known or var in OTHER_USES:
            continue
        close = difflib.get_close_matches(var.removeprefix(ENV_PREFIX), suffixes, n=1)
        if close:
            warnings.append(
                f"{var} is not a setting of fakevoipbin; did you mean {suffixes[close[0]]}?"
            )
    return warnings


def from_command_line(given: Mapping[str, Any], face: str, environ: Mapping[str, str]) -> Options:
    """The options of a command-line face: the flags ``given`` (by setting name), over
    the face's variables in ``environ`` (``from_environment``), over the face's
    defaults. A clash that a variable took part in names the variables in play."""
    from_env = from_environment(face, environ)
    in_play = [env_name(n) for n in from_env if n not in given]
    try:
        return Options.for_face(face, **{**from_env, **given})
    except OptionError as exc:
        if not in_play:
            raise
        shown = ", ".join(v for v in in_play if v)
        raise OptionError(f"{exc} (from the environment: {shown})") from None


def marker_help() -> str:
    """The marker's signature, as ``pytest --markers`` shows it."""
    shown = ", ".join(f"{n}={v!r}" for n, v in defaults(MARKER).items())
    shown += ", tls=False, intercept=False"  # the server's own: a fake for the test
    return f"fakevoipbin({shown}): configure the fakevoipbin fixture for this test"
