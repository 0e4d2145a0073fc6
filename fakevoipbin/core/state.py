"""The whole state of one fake: store, clock, seeded streams, profile and fixtures."""

from __future__ import annotations

import threading

from . import fixtureset
from .clock import Clock
from .profiles import Profile
from .seeds import Seeds
from .store import Store


class State:
    """Everything a fake instance holds. ``reset()`` returns it to seed and fixtures."""

    def __init__(
        self,
        profile: Profile,
        seed: int = 0,
        fixtures: fixtureset.FixtureSet | None = None,
        clock: Clock | None = None,
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
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.seeds.restart()
            self.clock.restart()
            self.secret = self.seeds.secret()
            self.store = Store()
            self.loaded = fixtureset.apply(self.fixtures, self.store, self.clock, self.seeds)
