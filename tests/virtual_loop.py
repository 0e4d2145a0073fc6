"""An asyncio loop on a clock of its own, for tests of timers.

``run(main())`` is ``asyncio.run(main())`` on a loop whose ``time()`` moves only when
every task is waiting: then it jumps to the earliest timer instead of sleeping until
it. Timers still fire in the order of their deadlines, and a ``sleep(10)`` ends ten of
the loop's seconds later, at once and whatever else the machine is doing; so a test
may say "the read that was due first timed out" and mean it on a loaded machine.
Only timers and futures: nothing here may wait on a socket or a subprocess.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Selector(selectors.DefaultSelector):
    """Polls without waiting; a wait the loop asks for moves its clock instead."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        events: list[Any] = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("every task waits and no timer is due: the test would hang")
        assert self.loop is not None
        self.loop.now += timeout
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    """A selector loop whose ``time()`` is ``now``, moved by waits alone."""

    def __init__(self) -> None:
        self.now = 0.0
        selector = _Selector()
        super().__init__(selector)
        selector.loop = self

    def time(self) -> float:
        return self.now


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on a ``VirtualLoop``."""
    loop = VirtualLoop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        asyncio.set_event_loop(None)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
