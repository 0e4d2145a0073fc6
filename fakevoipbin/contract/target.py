"""The server a contract run talks to: the fake (which it can steer) or any other."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from ..core.clock import format_fixed, parse_instant

#: Production allows a customer 16.7 requests/s; a real server is paced under that.
REAL_SERVER_PACE_S = 1 / 15
MAX_RETRIES = 6


class TargetError(RuntimeError):
    """The target cannot be used (unreachable, or the credential does not work)."""


class Target:
    """``base_url`` includes ``/v1.0``. On a fake (found by ``/_fake/health``) the run
    works in a customer of its own and may move the clock; elsewhere it paces itself
    under production's rate limits and honours ``Retry-After``."""

    def __init__(
        self,
        base_url: str,
        accesskey: str,
        *,
        profile: str | None = None,
        client: httpx.Client | None = None,
        pace_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sleep`` and ``monotonic`` are how it waits and tells time (a test may give
        its own, to count the waits instead of timing them)."""
        self._sleep = sleep
        self._monotonic = monotonic
        self.base_url = base_url.rstrip("/")
        self.root = (
            self.base_url[: -len("/v1.0")] if self.base_url.endswith("/v1.0") else (self.base_url)
        )
        self.client = client or httpx.Client(timeout=30.0)
        self.accesskey = accesskey
        self.requests = 0
        self.health = self._health()
        self.is_fake = self.health is not None
        if profile is None:
            profile = self.health["profile"] if self.health else "live"
        if profile not in ("docs", "live"):
            raise TargetError(f"unknown profile {profile!r}")
        self.profile = profile
        self.pace_s = (0.0 if self.is_fake else REAL_SERVER_PACE_S) if pace_s is None else pace_s
        self._last = 0.0
        self._clock_before: dict[str, Any] | None = None
        self.admin_token = accesskey

    def _health(self) -> dict[str, Any] | None:
        try:
            r = self.client.get(self.root + "/_fake/health")
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            return None
        try:
            body = r.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) and body.get("fake") == "fakevoipbin" else None

    # --- the API ------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        query = {**(params or {}), "accesskey": token}
        for _attempt in range(MAX_RETRIES):
            self._wait_turn()
            self.requests += 1
            r = self.client.request(method, self.base_url + path, params=query, json=json)
            if r.status_code != 429 or self.is_fake:
                return r
            self._sleep(_retry_after(r))
        return r

    def _wait_turn(self) -> None:
        if self.pace_s:
            gap = self._last + self.pace_s - self._monotonic()
            if gap > 0:
                self._sleep(gap)
            self._last = self._monotonic()

    def check_credential(self) -> None:
        try:
            r = self.call("GET", "/accesskeys", token=self.accesskey, params={"page_size": 1})
        except httpx.HTTPError as exc:
            raise TargetError(f"cannot reach {self.base_url}: {exc}") from None
        if r.status_code != 200:
            raise TargetError(
                f"GET {self.base_url}/accesskeys with the given access key answered "
                f"{r.status_code}: {r.text[:200]}"
            )

    # --- the fake's controls ------------------------------------------------------

    def _control(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        r = self.client.request(method, self.root + path, json=json)
        if r.status_code != 200:
            raise TargetError(f"{method} {path} answered {r.status_code}: {r.text[:200]}")
        body: dict[str, Any] = r.json()
        return body

    def begin(self) -> None:
        """On a fake: a customer of our own (so moving the clock never costs the caller
        their key) and a frozen clock; remembered so ``end`` can put it back."""
        if not self.is_fake:
            return
        self._clock_before = self._control("GET", "/_fake/clock")
        self._started = time.monotonic()
        made = self._control(
            "POST", "/_fake/customers", {"name": "fakevoipbin-verify", "expire": 2**31 - 1}
        )
        self.admin_token = made["accesskey"]["token"]
        self._control("POST", "/_fake/clock", {"freeze": True})

    def end(self) -> None:
        if not self.is_fake or self._clock_before is None:
            return
        before = parse_instant(self._clock_before["now"])
        if not self._clock_before["frozen"]:
            before += round((time.monotonic() - self._started) * 1_000_000)
        self._control(
            "POST",
            "/_fake/clock",
            {"set": format_fixed(before), "freeze": self._clock_before["frozen"]},
        )

    def now_us(self) -> int:
        if self.is_fake:
            return parse_instant(self._control("GET", "/_fake/clock")["now"])
        return time.time_ns() // 1000

    def set_clock(self, us: int) -> None:
        self._control("POST", "/_fake/clock", {"set": format_fixed(us), "freeze": True})


def _retry_after(r: httpx.Response) -> float:
    try:
        return max(0.1, min(60.0, float(r.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0
