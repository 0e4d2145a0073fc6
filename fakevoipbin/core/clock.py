"""The one clock that drives every timestamp and every expiry check.

Time is kept as integer microseconds since the Unix epoch (UTC), the precision
production stores (``datetime(6)``), so expiry arithmetic is exact.
"""

from __future__ import annotations

import math
import re
import threading
import time
from datetime import datetime, timezone
from functools import lru_cache

US = 1_000_000
#: The clock refuses instants outside this range (``--now``, ``set``, ``advance``), so
#: every timestamp it makes (plus the longest expiry, about 68 years) still prints as a
#: four-digit year.
MIN_US = 0
MAX_US = int(datetime(9800, 1, 1, tzinfo=timezone.utc).timestamp()) * US
#: A dump's clock may lie past MAX_US (writes at the limit step 1 µs on; a running
#: clock runs on), so a restore takes instants up to here: what the fake wrote, it reads.
RESTORE_MAX_US = int(datetime(9900, 1, 1, tzinfo=timezone.utc).timestamp()) * US
#: The longest key life, in seconds: a fixture's ``expire``, ``add_customer``'s.
MAX_EXPIRE_S = 2**31 - 1


class ClockError(ValueError):
    """An instant the clock cannot hold, or text that is not an RFC 3339 instant."""


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:\d{2})$"
)


def parse_instant(text: str) -> int:
    """Parse an RFC 3339 instant (``2026-12-01T10:15:30.123456Z``) into microseconds."""
    m = _RFC3339.match(text.strip())
    if not m:
        raise ClockError(f"not an RFC 3339 instant: {text!r}")
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        dt = datetime(
            int(year), int(month), int(day), int(hh), int(mm), int(ss), tzinfo=timezone.utc
        )
    except ValueError as exc:
        raise ClockError(f"not a valid instant: {text!r} ({exc})") from None
    us = int((frac or "0")[:6].ljust(6, "0"))
    offset = 0
    if tz not in ("Z", "z"):
        hours, minutes = int(tz[1:3]), int(tz[4:6])
        if hours > 23 or minutes > 59:
            raise ClockError(f"not a valid instant: {text!r} (an offset is -23:59 to +23:59)")
        sign = 1 if tz[0] == "+" else -1
        offset = sign * (hours * 3600 + minutes * 60)
    return (int(dt.timestamp()) - offset) * US + us


RANGE_TEXT = "from 1970-01-01T00:00:00Z to 9800-01-01T00:00:00Z"


def check_range(us: int) -> int:
    """``us`` if the clock can be set there (``--now``, ``set``, ``advance``)."""
    if not MIN_US <= us <= MAX_US:
        raise ClockError(f"the clock holds instants {RANGE_TEXT} only")
    return us


# --- the control API's input rules, shared with the Python face ------------------------


def set_input(value: object) -> int:
    """``set``: RFC 3339 text, in microseconds and in range. A ClockError (a
    ValueError) whose message names ``"set"``."""
    if not isinstance(value, str):
        raise ClockError('"set" must be an RFC 3339 timestamp string')
    try:
        return check_range(parse_instant(value))
    except ClockError as exc:
        raise ClockError(f'"set": {exc}') from None


def advance_input(value: object) -> float:
    """``advance``: a finite number of seconds (not a bool). A ClockError (a
    ValueError) whose message names ``"advance"``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ClockError('"advance" must be a finite number of seconds')
    return value


def freeze_input(value: object) -> bool:
    """``freeze``: true or false, nothing else. A ClockError (a ValueError) naming
    ``"freeze"``."""
    if not isinstance(value, bool):
        raise ClockError('"freeze" must be true or false')
    return value


class Clock:
    """Real-time or frozen; moved only by ``set``, ``advance`` and ``freeze``.

    ``moves`` counts the changes made to it (``set``, ``advance``, ``freeze``,
    ``restore``, a restart), so ``--state-file`` saves a clock that moved with no write.

    ``stamp()`` gives the instant of a write: the current time, but always
    strictly after the previous stamp, so keys created one after another get
    distinct ``tm_create`` values even on a frozen clock (a 1 µs step).

    What "now" is computed from (a base instant, the monotonic time it was taken at,
    and whether the clock is frozen) is one tuple, replaced whole by every change, so
    reading the clock takes no lock; changes and stamps take one.
    """

    def __init__(self, start_us: int | None = None, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._start_us = start_us
        self._start_frozen = frozen
        self._init(start_us, frozen)

    def _init(self, start_us: int | None, frozen: bool) -> None:
        base = time.time_ns() // 1000 if start_us is None else check_range(start_us)
        self._at = (base, time.monotonic_ns(), frozen)
        self._last_stamp = -1
        self.moves = getattr(self, "moves", 0) + 1

    def restart(self) -> None:
        """Back to how the clock was made: the same start instant and mode."""
        with self._lock:
            self._init(self._start_us, self._start_frozen)

    @property
    def frozen(self) -> bool:
        return self._at[2]

    def _raw(self) -> int:
        base, anchor, frozen = self._at
        if frozen:
            return base
        return base + (time.monotonic_ns() - anchor) // 1000

    def now_us(self) -> int:
        """The current instant; never earlier than the last write's stamp."""
        now = self._raw()
        last = self._last_stamp
        return now if now > last else last

    def stamp(self) -> int:
        """The instant for a write, strictly after every earlier stamp since the last set."""
        with self._lock:
            t = max(self._raw(), self._last_stamp + 1)
            self._last_stamp = t
            base, anchor, frozen = self._at
            if frozen:
                self._at = (t, anchor, True)
            return t

    def observe(self, us: int) -> None:
        """Note a write made at ``us`` (a fixture's), so later stamps come after it."""
        with self._lock:
            self._last_stamp = max(self._last_stamp, us)

    def set(self, us: int) -> None:
        """Jump to an instant (forwards or backwards); the running/frozen mode is kept."""
        check_range(us)
        with self._lock:
            self._at = (us, time.monotonic_ns(), self._at[2])
            self._last_stamp = -1
            self.moves += 1

    def advance(self, seconds: float) -> None:
        """Move forward (or back, with a negative number) by some seconds."""
        try:
            delta = round(seconds * US)
        except (OverflowError, ValueError):
            raise ClockError(f"cannot advance the clock by {seconds!r} seconds") from None
        with self._lock:
            target = max(self._raw(), self._last_stamp) + delta
            check_range(target)
            self._at = (target, time.monotonic_ns(), self._at[2])
            if delta < 0:
                self._last_stamp = -1
            self.moves += 1

    def freeze(self, frozen: bool = True) -> None:
        """Stop (or restart) the clock where it is now."""
        with self._lock:
            self._at = (max(self._raw(), self._last_stamp), time.monotonic_ns(), frozen)
            self.moves += 1

    def restore(self, us: int, frozen: bool) -> None:
        """A dump's clock (``PUT /_fake/state`` and ``--state-file`` alike). Frozen: at the
        dump's instant, frozen. Running: it runs on from the later of the dump's instant
        and this clock's now, so a restore never moves a running clock back (time that
        passed since the dump passed for its keys too)."""
        if not MIN_US <= us <= RESTORE_MAX_US:
            raise ClockError("a dump's clock is from 1970-01-01T00:00:00Z to 9900-01-01T00:00:00Z")
        with self._lock:
            if not frozen:
                us = max(us, self._raw(), self._last_stamp)
            self._at = (us, time.monotonic_ns(), frozen)
            self._last_stamp = -1
            self.moves += 1


@lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(days * 86_400))


def _seconds(secs: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` without strftime on the hot path (the day is cached, and
    so are the last few seconds: a key's stamps fall in the same second or two)."""
    text = _RECENT_SECONDS.get(secs)
    if text is None:
        if len(_RECENT_SECONDS) >= 64:
            _RECENT_SECONDS.clear()
        text = _RECENT_SECONDS[secs] = _format_seconds(secs)
    return text


_RECENT_SECONDS: dict[int, str] = {}


def _format_seconds(secs: int) -> str:
    days, rest = divmod(secs, 86_400)
    hh, rest = divmod(rest, 3600)
    mm, ss = divmod(rest, 60)
    return f"{_day(days)}{hh:02d}:{mm:02d}:{ss:02d}"


def format_fixed(us: int) -> str:
    """``2026-12-01T10:15:30.123456Z``: always six fraction digits."""
    secs, frac = divmod(us, US)
    return "%s.%06dZ" % (_seconds(secs), frac)  # noqa: UP031 (faster than an f-string)


def format_trimmed(us: int) -> str:
    """Go's RFC3339Nano in UTC: trailing fraction zeros trimmed, none for a whole second."""
    secs, frac = divmod(us, US)
    head = _seconds(secs)
    if frac == 0:
        return head + "Z"
    return head + "." + ("%06d" % frac).rstrip("0") + "Z"  # noqa: UP031
