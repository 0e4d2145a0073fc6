"""Waiting on events, not on time.

A test that needs something to have happened (a read to be in flight, a request to
be over, a file to hold a key) waits for that very condition with ``wait_until``.
The deadline only bounds a wait for something that never comes: it fails the test,
naming what it waited for, and never decides a result on a machine that is merely
slow. ``reads_in_flight`` and ``requests_in_flight`` are what a served fake shows of
its own progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from fakevoipbin import FakeVoipbin

T = TypeVar("T")

#: How long a wait may take before the thing waited for is taken to never come. Far
#: above anything a loaded machine needs: reaching it is a failure, not a slow pass.
DEADLINE_S = 30.0


def wait_until(condition: Callable[[], T], what: str, timeout: float = DEADLINE_S) -> T:
    """The first true value ``condition()`` gives; an AssertionError naming ``what``
    when it gives none within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; it never came")
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def reads_in_flight(fake: FakeVoipbin) -> int:
    """The request bodies a served fake is waiting for now (each under its deadline)."""
    watches = fake.app.bodies.deadlines._watches.values()
    return sum(len(watch.pending) for watch in watches)


def requests_in_flight(fake: FakeVoipbin) -> int:
    """The requests a served fake has begun and not finished (uvicorn's own count of
    the app calls it runs: one ends after its answer, or its refusal, is logged)."""
    server = fake._server
    assert server is not None, "the fake is not served"
    return len(server._uvicorn.server_state.tasks)


def wait_until_idle(fake: FakeVoipbin) -> None:
    """Until a served fake has finished every request it began."""
    wait_until(lambda: requests_in_flight(fake) == 0, "the fake to finish every request")
