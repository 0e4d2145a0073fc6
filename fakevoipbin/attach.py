"""Attach mode: drive a fake that runs in another process (``fakevoipbin serve`` or
``fakevoipbin run``) through its control API, with the Python face's own calls.

``FakeVoipbin.attach(url)`` and the pytest fixture (when ``FAKEVOIPBIN_URL`` names a
running fake, as ``run`` exports it) use ``Attached``: a reset, the clock, customers,
faults and the journal are control calls, so the requests a client's tests make reach
the running fake and ``run``'s report counts them. A proxy of a real API is refused:
a real API cannot be reset.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .core.clock import ClockError, format_fixed, parse_instant
from .core.faults import FaultError, FaultRule
from .core.journal import Entry
from .envnames import ACCESSKEY_ENV, CA_FILE_ENV, CONTROL_TOKEN_ENV
from .fixtures import FixtureError
from .journal_queries import JournalQueries
from .options import MARKER, Options, names, parse_instant_text


class AttachError(RuntimeError):
    """The fake cannot be attached to or driven, with the reason in one line."""


def root_of(url: str) -> str:
    """The server's root from its root or its API URL (``…/v1.0``)."""
    url = url.rstrip("/")
    return url[: -len("/v1.0")] if url.endswith("/v1.0") else url


class RemoteJournal(JournalQueries):
    """The journal of an attached fake, read with ``GET /_fake/journal``."""

    def __init__(self, attached: Attached) -> None:
        self._attached = attached

    def entries(self) -> list[Entry]:
        body = self._attached.call("GET", "/journal")
        return [Entry.from_dict(e) for e in body["entries"]]

    def clear(self) -> None:
        self._attached.call("DELETE", "/journal")

    def har(self) -> dict[str, Any]:
        """The attached fake's journal as HAR 1.2 (``GET /_fake/journal?format=har``),
        its URLs under the fake's root."""
        found: dict[str, Any] = self._attached.call("GET", "/journal?format=har")
        return found


class Attached:
    """A fake in another process, driven through its control API (``Driver``)."""

    def verify(self) -> ssl.SSLContext | bool:
        """What an httpx client of this fake verifies with: an https fake's certificate
        against ``ca_file`` when one is named, else the system's roots."""
        if self.ca_file and self.root.startswith("https:"):
            try:
                return ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or "not a PEM certificate"
                raise AttachError(f"cannot read the CA file {self.ca_file}: {reason}") from None
        return True

    def __init__(
        self,
        url: str,
        *,
        control_token: str | None = None,
        timeout: float = 10.0,
        ca_file: str | None = None,
    ):
        self.root = root_of(url)
        parts = urlsplit(self.root)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AttachError(f"cannot attach to {url!r}: not an http:// or https:// URL")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        token = control_token if control_token is not None else os.environ.get(CONTROL_TOKEN_ENV)
        headers = {"X-Fake-Control-Token": token} if token else {}
        #: The CA an https fake's certificate is checked with (``run --tls`` exports it).
        self.ca_file = ca_file if ca_file is not None else os.environ.get(CA_FILE_ENV) or None
        self._http = httpx.Client(
            base_url=self.root + "/_fake", headers=headers, timeout=timeout, verify=self.verify()
        )
        self.journal = RemoteJournal(self)
        self._sticky: dict[str, Any] = {}
        self._accesskey = os.environ.get(ACCESSKEY_ENV)
        try:
            health = self.call("GET", "/health")
        except AttachError:
            self._http.close()
            raise
        # A proxy (``fakevoipbin proxy``, ``run --upstream``) says ``"proxy":
        # "fakevoipbin"`` and its upstream: said first, as what it is.
        if health.get("upstream") or health.get("proxy") == "fakevoipbin":
            self._http.close()
            raise AttachError(
                f"cannot attach to {self.root}: it is a fakevoipbin proxy of "
                f"{health.get('upstream') or 'an upstream'}, and a proxy cannot be reset (a "
                "real API cannot be reset); point the tests at a fake, or run them through "
                "the proxy without the fakevoipbin fixture"
            )
        if health.get("fake") != "fakevoipbin" or "profile" not in health:
            self._http.close()
            raise AttachError(f"cannot attach to {self.root}: it is not a fakevoipbin fake")
        self._profile: str = health["profile"]

    def close(self) -> None:
        self._http.close()

    def call(
        self, method: str, path: str, body: Any = None, refused: type[Exception] | None = None
    ) -> Any:
        """One control call: its JSON answer. A 400 (the control API refused a value)
        is a ``refused`` with the API's message, the exception the same call raises
        in-process; anything else that fails is an ``AttachError`` naming it."""
        try:
            r = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise AttachError(
                f"cannot reach the fake's control API at {self.root}/_fake{path}: {exc}"
            ) from None
        try:
            data = r.json()
        except ValueError:
            data = None
        if r.status_code != 200 or not isinstance(data, dict):
            message = ""
            if isinstance(data, dict) and isinstance(data.get("error"), dict):
                message = str(data["error"].get("message", ""))
            if r.status_code == 400 and refused is not None and message:
                raise refused(message)
            hint = " (give its control token: FAKEVOIPBIN_CONTROL_TOKEN)" * (r.status_code == 401)
            if r.status_code == 404 and path == "/health":
                hint = (
                    " (its control API is off: a fake off loopback serves it only behind a "
                    "control token; start it with FAKEVOIPBIN_CONTROL_TOKEN set, and give "
                    "the tests the same)"
                )
            raise AttachError(
                f"{method} {self.root}/_fake{path} answered {r.status_code}"
                + (f": {message}" if message else "")
                + hint
            )
        return data

    # --- Driver ---------------------------------------------------------------------

    @property
    def profile(self) -> str:
        return self._profile

    @property
    def accesskey(self) -> str:
        if self._accesskey is None:
            raise LookupError(
                f"the access key of the fake at {self.root} is known after a reset(), or "
                f"from {ACCESSKEY_ENV}"
            )
        return self._accesskey

    def now_us(self) -> int:
        return parse_instant(self.call("GET", "/clock")["now"])

    def set_clock(self, us: int) -> None:
        self.call("POST", "/clock", {"set": format_fixed(us)}, ClockError)

    def advance_clock(self, seconds: float) -> None:
        self.call("POST", "/clock", {"advance": seconds}, ClockError)

    def freeze_clock(self, frozen: bool) -> None:
        self.call("POST", "/clock", {"freeze": frozen}, ClockError)

    def clock_frozen(self) -> bool:
        return bool(self.call("GET", "/clock")["frozen"])

    def add_fault(self, fields: dict[str, Any]) -> FaultRule:
        return FaultRule(**self.call("POST", "/faults", fields, FaultError))

    def fault_rules(self) -> list[FaultRule]:
        return [FaultRule(**r) for r in self.call("GET", "/faults")["faults"]]

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def reset(self, changes: dict[str, Any]) -> None:
        self._reset({**self._sticky, **_portable(_checked(changes))})

    def configure(self, changes: dict[str, Any]) -> None:
        wanted = {**self._sticky, **_portable(_checked(changes))}
        self._reset(wanted)  # refused: nothing sticks
        self._sticky = wanted

    def _reset(self, settings: dict[str, Any]) -> None:
        answer = self.call("POST", "/reset", settings, FixtureError)
        self._profile = answer["profile"]
        self._accesskey = answer.get("accesskey")

    def add_customer(self, name: str, frozen: bool, fields: dict[str, Any]) -> tuple[str, str]:
        made = self.call(
            "POST", "/customers", {**fields, "name": name, "frozen": frozen}, ValueError
        )
        return made["customer_id"], made["accesskey"]["token"]


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    """A reset's settings checked here, as an own fake's reset checks them: a setting
    it does not take is a ``TypeError``, a bad value an ``OptionError``; what only the
    fake can judge (its fixtures file) it answers 400, raised as a ``FixtureError``."""
    allowed = names(MARKER)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(unknown)}; a reset takes {', '.join(allowed)}"
        )
    Options().changed(**changes)
    return changes


def _portable(changes: dict[str, Any]) -> dict[str, Any]:
    """The marker's settings as the control API takes them: ``now`` as RFC 3339 text
    (from a datetime too), ``fixtures`` as an absolute path, since the fake may not
    share this process's working folder."""
    out = dict(changes)
    if out.get("now") is not None:
        out["now"] = parse_instant_text(out["now"])
    if out.get("fixtures") is not None:
        out["fixtures"] = str(Path(out["fixtures"]).resolve())
    return out
