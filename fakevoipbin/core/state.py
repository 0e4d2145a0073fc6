"""The whole state of one fake: store, clock, seeded streams, profile and fixtures,
plus what a test steers it with: the journal, fault rules and rate limits."""

from __future__ import annotations

import threading

from . import fixtureset
from .clock import Clock
from .faults import FaultBook
from .journal import DEFAULT_SIZE, Journal
from .profiles import Profile
from .ratelimit import RateLimiter
from .seeds import Seeds
from .store import Store


class State:
    """Everything a fake instance holds. ``reset()`` returns it to seed and fixtures:
    store, clock, seeded streams, journal, fault rules and rate-limit buckets.
    ``reconfigure()`` changes what it resets to (profile, seed, fixtures, clock, rate
    limits), all at once, and resets."""

    def __init__(
        self,
        profile: Profile,
        seed: int = 0,
        fixtures: fixtureset.FixtureSet | None = None,
        clock: Clock | None = None,
        *,
        rate_limit: bool = False,
        journal_size: int = DEFAULT_SIZE,
    ) -> None:
        self.lock = threading.RLock()
        self.profile = profile
        self.seed = seed
        self.fixtures = fixtures or fixtureset.FixtureSet()
        self.clock = clock or Clock()
        self.seeds = Seeds(seed)
        self.store = Store()
        self.secret = b""
        self.loaded = fixtureset.Loaded()
        self.journal = Journal(journal_size)
        self.faults = FaultBook()
        self.rate_limit = rate_limit
        self.limiter = RateLimiter()
        #: Counts writes to the store; ``fakevoipbin.persist`` saves when it moves.
        self.changes = 0
        self.reset()

    def touch(self) -> None:
        """Note a write to the store (keys, customers, a load or a reset)."""
        self.changes += 1

    def reset(self) -> None:
        with self.lock:
            self.seeds.restart()
            self.clock.restart()
            self.secret = self.seeds.secret()
            self.store = Store()
            self.loaded = fixtureset.apply(self.fixtures, self.store, self.clock, self.seeds)
            self.journal.clear()
            self.faults.clear(self.seeds.stream("faults"))
            self.limiter.clear()
            self.touch()

    def reconfigure(
        self,
        profile: Profile,
        seed: int,
        fixtures: fixtureset.FixtureSet,
        clock: Clock,
        rate_limit: bool,
    ) -> None:
        """Take other settings and reset to them. The caller builds every part first
        (loading fixtures can fail), and the fixtures' times are checked against the
        new clock's start before anything changes, so a failure leaves the state as it
        was."""
        fixtureset.check_times(fixtures, clock.now_us())
        with self.lock:
            self.profile = profile
            self.seed = seed
            self.seeds = Seeds(seed)
            self.fixtures = fixtures
            self.clock = clock
            self.rate_limit = rate_limit
            self.reset()
