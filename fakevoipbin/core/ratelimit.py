"""Production's rate limits, emulated on the fake's clock (off unless asked for).

Token buckets like golang.org/x/time/rate: ``rate`` tokens a second, at most
``burst`` stored. Per IP (200/s, burst 400) before auth, per customer (16.7/s,
burst 33) after it, and per IP for login (10/s, burst 20).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from .clock import US


@dataclass(frozen=True)
class Limit:
    rate: float
    burst: int


PER_IP = Limit(200.0, 400)
PER_CUSTOMER = Limit(16.7, 33)
LOGIN_PER_IP = Limit(10.0, 20)


class Buckets:
    """One bucket per key (an IP, a customer id)."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, int]] = {}

    def take(self, key: str, now_us: int) -> int:
        """0 when the call may go on; otherwise the seconds to wait (Retry-After)."""
        with self._lock:
            tokens, last = self._state.get(key, (float(self.limit.burst), now_us))
            elapsed = max(0, now_us - last) / US
            tokens = min(float(self.limit.burst), tokens + elapsed * self.limit.rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now_us)
                return 0
            self._state[key] = (tokens, now_us)
            return max(1, math.ceil((1.0 - tokens) / self.limit.rate))

    def clear(self) -> None:
        with self._lock:
            self._state.clear()


class RateLimiter:
    def __init__(self) -> None:
        self.per_ip = Buckets(PER_IP)
        self.per_customer = Buckets(PER_CUSTOMER)
        self.login_per_ip = Buckets(LOGIN_PER_IP)

    def clear(self) -> None:
        self.per_ip.clear()
        self.per_customer.clear()
        self.login_per_ip.clear()
