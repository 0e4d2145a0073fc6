"""The server a contract run talks to: the fake (which it can steer) or any other.

A ``Target`` keeps what a run needs to explain itself and to stop:

- ``log``: the HTTP exchanges of the current example (credentials left out, tokens
  redacted), so a breach is shown as the requests that led to it; and per key the run
  made, the exchanges that made and deleted it (``story``, ``before``);
- a ledger of the keys the run made (``created``) and deleted (``deleted``), and the
  keys listed before it (``baseline``), which bound how many keys a list can hold;
- a bound (``bound``, ``limited``): past it, ``call`` raises ``BoundReached``.
"""

from __future__ import annotations

import json as jsonlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from ..core.clock import format_fixed, parse_instant
from ..core.formats import TOKEN_LEAD, TOKEN_PREFIX_LEN, TOKENISH_RE, token_prefix
from ..core.store import CUSTOMER_TEXT_FIELDS

#: Production allows a customer 16.7 requests/s; a real server is paced under that.
REAL_SERVER_PACE_S = 1 / 15
MAX_RETRIES = 6
#: How much of an answer an exchange keeps (enough to quote the part that broke a rule).
ANSWER_CHARS = 4000
#: How many exchanges of one example the log keeps (the latest ones).
LOG_LIMIT = 2000
#: Where ``call`` leaves the exchange's number on the httpx.Response it returns.
SEQ = "fakevoipbin.verify.seq"


class TargetError(RuntimeError):
    """The target cannot be used (unreachable, or the credential does not work)."""


class BoundReached(BaseException):  # noqa: N818 (a signal, like KeyboardInterrupt)
    """``call`` was asked for a request past the run's bound. A BaseException, as
    KeyboardInterrupt is, so Hypothesis neither shrinks nor replays it: it stops the
    run at once. ``what`` names the bound (``--max-requests 300``, ``--timeout 60``);
    ``run_wide`` is False for a bound on one phase only (``Target.limited``).

    Hypothesis may let another exception out instead (a FlakyStrategyDefinition, as
    the example stopped drawing early), so the Target also keeps it, as ``reached``."""

    def __init__(self, what: str, run_wide: bool, requests: int) -> None:
        super().__init__(what)
        self.what = what
        self.run_wide = run_wide
        self.requests = requests  # the API requests made when it was reached


def clip(text: str, limit: int = 200) -> str:
    """``text`` on one line, at most ``limit`` characters, cut at a word boundary
    (never mid-word) with ``…`` where it was cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit + 1]
    cut = head.rfind(" ")
    if cut <= 0:  # one long word: cut after its last punctuation, or drop it
        marks = [m.end() for m in re.finditer(r"[^\w]+", head[:limit])]
        cut = marks[-1] if marks else 0
    return flat[:cut].rstrip() + "…"


def mask(secret: str) -> str:
    """A token as its public prefix (``vb_`` and 8 more, as ``token_prefix``); any
    other secret as ``[REDACTED]``."""
    if secret.startswith(TOKEN_LEAD) and len(secret) > TOKEN_PREFIX_LEN:
        return token_prefix(secret) + "…"
    return "[REDACTED]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret and every ``vb_…`` token in it masked."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, mask(secret))
    return TOKENISH_RE.sub(lambda m: mask(m[0]), text)


@dataclass(frozen=True)
class Exchange:
    """One request the run made and its answer. ``url`` has no credential; ``key``
    says whose credential it carried: ``""`` for a control call, ``"admin"`` for the
    run's own admin key, ``"accesskey"`` for the one it was given (when the run has
    another admin key), else the id of the key (made by the run) whose token it was.
    ``answer`` is the body's text with tokens masked, cut at ``ANSWER_CHARS``."""

    seq: int
    method: str
    url: str
    body: Any
    status: int
    answer: str
    key: str

    @property
    def target(self) -> str:
        """The path and query, as an HTTP request line has them."""
        return httpx.URL(self.url).raw_path.decode("ascii")

    @property
    def control(self) -> bool:
        return self.key == ""


class Target:
    """``base_url`` includes ``/v1.0``. On a fake (found by ``/_fake/health``) the run
    works in a customer of its own and may move the clock; it answers a 429 by moving
    the fake's clock on by ``Retry-After`` (``POST /_fake/clock {"advance": s}``).
    Elsewhere it paces itself under production's rate limits and sleeps for
    ``Retry-After``."""

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
        """``sleep`` and ``monotonic`` are how it waits and tells time for pacing,
        ``Retry-After`` and the ``timeout`` bound (a test may give its own, to count
        the waits instead of timing them)."""
        self._sleep = sleep
        self._monotonic = monotonic
        self.base_url = base_url.rstrip("/")
        self.root = (
            self.base_url[: -len("/v1.0")] if self.base_url.endswith("/v1.0") else (self.base_url)
        )
        self.client = client or httpx.Client(timeout=30.0)
        self.accesskey = accesskey
        #: API requests made (control calls not counted), retries included.
        self.requests = 0
        #: Times a 429 moved a fake's clock on, and the seconds slept for pace and
        #: ``Retry-After`` elsewhere.
        self.clock_moves = 0
        self.slept = 0.0
        self.log: list[Exchange] = []
        self.created: dict[str, str] = {}  # key id -> token prefix
        self.deleted: set[str] = set()
        #: Per key the run made: the exchanges that made and deleted it (any example).
        self.story: dict[str, list[Exchange]] = {}
        self.baseline: set[str] | None = None
        self.on_request: Callable[[], None] | None = None
        #: The bound ``call`` last stopped at (None: none yet, or reset by the caller),
        #: and why the server was lost mid-run ("" while it answers).
        self.reached: BoundReached | None = None
        self.lost = ""
        self._token_keys: dict[str, str] = {}  # raw token -> key id (never printed)
        #: Every webhook_secret an answer showed (never printed).
        self._webhook_secrets: set[str] = set()
        #: Whether the server serves GET /customer (None until ``serves_customer``
        #: asks), and the seven text fields it showed then (to put back after a PUT).
        self._serves_customer: bool | None = None
        self.customer_original: dict[str, str] = {}
        self._seq = 0
        self._max_requests: int | None = None
        self._deadline: float | None = None
        self._bound_names: tuple[str, str] = ("", "")
        self._limits: tuple[int | None, float | None] = (None, None)
        self._phase_limit: int | None = None
        self._phase_name = ""
        self._free = 0
        self._finishing = 0
        #: Whether a PUT /customer left the customer other than it was (put back by
        #: the example's teardown, or else by ``cleanup``).
        self.customer_changed = False
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

    # --- bounds -------------------------------------------------------------------

    def bound(
        self,
        max_requests: int | None = None,
        timeout: float | None = None,
        names: tuple[str, str] = ("--max-requests", "--timeout"),
    ) -> None:
        """From now on, at most ``max_requests`` more API requests, and none once
        ``timeout`` seconds have passed; ``names`` name the two in ``BoundReached``.
        Every API request counts, the credential check and teardowns included; only
        ``unbounded`` blocks, and a teardown after the stop, go past it."""
        self._max_requests = None if max_requests is None else self.requests + max_requests
        self._deadline = None if timeout is None else self._monotonic() + timeout
        self._bound_names = names
        self._limits = (max_requests, timeout)

    @contextmanager
    def limited(self, requests: int, name: str) -> Iterator[None]:
        """At most ``requests`` more API requests inside the block (on top of the
        run's bound); past them ``BoundReached(name, run_wide=False)``."""
        before = self._phase_limit, self._phase_name
        self._phase_limit, self._phase_name = self.requests + requests, name
        try:
            yield
        finally:
            self._phase_limit, self._phase_name = before

    @contextmanager
    def unbounded(self) -> Iterator[None]:
        """No bound inside the block: for cleanup (deleting the keys the run made)."""
        self._free += 1
        try:
            yield
        finally:
            self._free -= 1

    @contextmanager
    def finishing(self) -> Iterator[None]:
        """An example's teardown: past a phase's limit, and past the run's bound once
        that has stopped the run (what the stopped example made is put back); before
        that, the run's bound counts it, so the run never makes more requests than
        its bound. A teardown cut short leaves the rest to ``cleanup``."""
        self._finishing += 1
        try:
            yield
        finally:
            self._finishing -= 1

    def _check_bound(self) -> None:
        if self._free:
            return
        if self._finishing and self.reached is not None and self.reached.run_wide:
            return
        max_requests, timeout = self._limits
        if self._max_requests is not None and self.requests >= self._max_requests:
            self.reached = BoundReached(
                f"{self._bound_names[0]} {max_requests}", True, self.requests
            )
        elif self._deadline is not None and self._monotonic() >= self._deadline:
            self.reached = BoundReached(f"{self._bound_names[1]} {timeout:g}", True, self.requests)
        elif (
            not self._finishing
            and self._phase_limit is not None
            and self.requests >= self._phase_limit
        ):
            self.reached = BoundReached(self._phase_name, False, self.requests)
        else:
            return
        raise self.reached

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
        """One API request (``path`` under ``base_url``), retried after a 429; each
        attempt is logged. The returned response carries its exchange's number in
        ``extensions[SEQ]``."""
        query = {**(params or {}), "accesskey": token}
        for _attempt in range(MAX_RETRIES):
            self._wait_turn()
            self._check_bound()  # after any wait: a deadline passed while pacing counts
            self.requests += 1
            r = self.client.request(method, self.base_url + path, params=query, json=json)
            self._note(method, path, params, json, token, r)
            if self.on_request is not None:
                self.on_request()
            if r.status_code != 429:
                return r
            wait = _retry_after(r)
            if self.is_fake:
                self.advance_clock(wait)
            else:
                self.slept += wait
                self._sleep(wait)
        return r

    def _note(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
        token: str,
        r: httpx.Response,
    ) -> None:
        made: dict[str, Any] = {}
        if b'"webhook_secret"' in r.content:  # GET /customer's, or one that leaked
            secret = _object(r).get("webhook_secret")
            if isinstance(secret, str) and secret:
                self._webhook_secrets.add(secret)
        if r.status_code == 200 and method == "POST" and path == "/accesskeys":
            made = _object(r)
            key_id, raw = made.get("id"), made.get("token")
            if isinstance(key_id, str) and isinstance(raw, str):
                self.created[key_id] = token_prefix(raw)
                self._token_keys[raw] = key_id
        if token == self.admin_token:
            who = "admin"
        elif token == self.accesskey:
            who = "accesskey"
        else:
            who = self._token_keys.get(token, "other")
        url = str(httpx.URL(self.base_url + path, params=params or {}))
        ex = self._log(method, url, body, r, who)
        if isinstance(made.get("id"), str) and made["id"] in self.created:
            self.story[made["id"]] = [ex]
        elif r.status_code == 200 and method == "DELETE" and path.startswith("/accesskeys/"):
            key_id = path.removeprefix("/accesskeys/")
            self.deleted.add(key_id)
            self.story.setdefault(key_id, []).append(ex)

    def _log(self, method: str, url: str, body: Any, r: httpx.Response, who: str) -> Exchange:
        self._seq += 1
        r.extensions[SEQ] = self._seq
        answer = redact(r.text[:ANSWER_CHARS], self.secrets())
        ex = Exchange(self._seq, method, url, body, r.status_code, answer, who)
        self.log.append(ex)
        if len(self.log) > LOG_LIMIT:
            del self.log[: LOG_LIMIT // 2]
        return ex

    def start_example(self) -> None:
        """A new example: its log starts empty."""
        self.log = []

    def until(self, r: httpx.Response | None) -> tuple[Exchange, ...]:
        """The current example's exchanges up to and including ``r``'s (all of them
        when ``r`` is None or not in the log)."""
        seq = None if r is None else r.extensions.get(SEQ)
        for i, ex in enumerate(self.log):
            if ex.seq == seq:
                return tuple(self.log[: i + 1])
        return tuple(self.log)

    def before(self, key_id: str) -> tuple[Exchange, ...]:
        """The exchanges that made and deleted ``key_id`` in an earlier example (none
        when they are in this example's log): what a breach that rests on that key
        needs before its own exchanges."""
        mine = {ex.seq for ex in self.log}
        return tuple(ex for ex in self.story.get(key_id, []) if ex.seq not in mine)

    def secrets(self) -> set[str]:
        """Every credential and webhook secret the run knows: never to be printed."""
        return {self.accesskey, self.admin_token, *self._token_keys, *self._webhook_secrets}

    @property
    def webhook_secrets(self) -> frozenset[str]:
        return frozenset(self._webhook_secrets)

    def serves_customer(self) -> bool:
        """Whether ``GET /customer`` answers 200 with an object (asked once, with the
        run's admin key); its text fields are kept as ``customer_original``."""
        if self._serves_customer is None:
            r = self.call("GET", "/customer", token=self.admin_token)
            body = _object(r)
            self._serves_customer = r.status_code == 200 and bool(body)
            if self._serves_customer:
                self.customer_original = {
                    f: v if isinstance(v := body.get(f, ""), str) else ""
                    for f in CUSTOMER_TEXT_FIELDS
                }
        return self._serves_customer

    def list_cap(self) -> tuple[int, int] | None:
        """How many keys a full list may hold at most, as (listed before the run,
        made by it and not deleted); None until the baseline is known."""
        if self.baseline is None:
            return None
        alive = set(self.created) - self.deleted
        return len(self.baseline - alive - self.deleted), len(alive)

    def _wait_turn(self) -> None:
        if self.pace_s:
            gap = self._last + self.pace_s - self._monotonic()
            if gap > 0:
                self.slept += gap
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
                f"{r.status_code}: {clip(redact(r.text, self.secrets()))}"
            )

    # --- the fake's controls ------------------------------------------------------

    def _control(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        r = self.client.request(method, self.root + path, json=json)
        if method != "GET":
            self._log(method, self.root + path, json, r, "")
        if r.status_code != 200:
            raise TargetError(
                f"{method} {path} answered {r.status_code}: {clip(redact(r.text, self.secrets()))}"
            )
        body: dict[str, Any] = r.json()
        return body

    def begin(self) -> None:
        """On a fake: a customer of our own (so moving the clock never costs the caller
        their key, and its list starts with its admin key alone) and a frozen clock;
        remembered so ``end`` can put it back."""
        if not self.is_fake:
            return
        self._clock_before = self._control("GET", "/_fake/clock")
        self._started = time.monotonic()  # real time: how far a running clock moved
        made = self._control(
            "POST", "/_fake/customers", {"name": "fakevoipbin-verify", "expire": 2**31 - 1}
        )
        self.admin_token = made["accesskey"]["token"]
        self.baseline = {made["accesskey"]["id"]}  # a new customer holds its admin key
        self._control("POST", "/_fake/clock", {"freeze": True})
        self.log = []

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

    def advance_clock(self, seconds: float) -> None:
        """Move a fake's clock on, as the time a 429 asks to wait."""
        self.clock_moves += 1
        self._control("POST", "/_fake/clock", {"advance": seconds})


def _object(r: httpx.Response) -> dict[str, Any]:
    try:
        body = jsonlib.loads(r.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(r: httpx.Response) -> float:
    try:
        return max(0.1, min(60.0, float(r.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0
