"""Deadlines for body reads: one loop timer serves every read in flight on a loop.

``asyncio.timeout`` arms and cancels a timer for every request with a body, yet a
read that finishes in time is the rule. So ``within`` notes the reading task and its
deadline in the loop's watch, and one timer (``loop.call_at``), armed for the
earliest deadline noted, sweeps the reads past theirs: their tasks are cancelled,
and ``within`` turns that cancellation into ``asyncio.TimeoutError`` (what
``asyncio.wait_for`` raises), so callers answer 408. A read that ends in time just
leaves the watch; the timer, when it fires with nothing late, re-arms for the
earliest read left, or stops.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

#: A sweep also ends the reads due this soon after it, rather than arming a timer for
#: each of a burst of reads that started within milliseconds of each other.
SLACK = 0.010


class _LoopWatch:
    """The reads in flight on one loop, and the loop's one timer."""

    __slots__ = ("pending", "expired", "timer", "timer_at", "armed")

    def __init__(self) -> None:
        #: read number → (deadline in loop time, the reading task)
        self.pending: dict[int, tuple[float, asyncio.Task[object]]] = {}
        #: reads whose task this watch cancelled, so ``within`` can tell its own
        #: cancellation from anybody else's
        self.expired: set[int] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0
        #: How many times a timer was armed on this loop (the tests count them).
        self.armed = 0

    def arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Make sure the timer fires by ``deadline`` (usually it already does)."""
        if self.timer is not None:
            if self.timer_at <= deadline:
                return
            self.timer.cancel()
        self.timer = loop.call_at(deadline, self.sweep, loop)
        self.timer_at = deadline
        self.armed += 1

    def sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cancel every read past its deadline (or within ``SLACK`` of it, so reads
        that started together end together); re-arm for the earliest one left."""
        self.timer = None
        now = loop.time() + SLACK
        earliest: float | None = None
        for number, (deadline, task) in list(self.pending.items()):
            if deadline <= now:
                del self.pending[number]
                self.expired.add(number)
                task.cancel()
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None:
            self.arm(loop, earliest)


class Deadlines:
    """``await deadlines.within(read(), seconds)``: the read's result, or
    ``asyncio.TimeoutError`` once ``seconds`` have passed."""

    def __init__(self) -> None:
        # Weak, so a loop that is gone takes its watch with it.
        self._watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopWatch] = (
            weakref.WeakKeyDictionary()
        )
        self._numbers = itertools.count()
        #: The last loop asked about and its watch (a server has one loop).
        self._last: tuple[asyncio.AbstractEventLoop, _LoopWatch] | None = None

    def watch(self, loop: asyncio.AbstractEventLoop) -> _LoopWatch:
        """The loop's watch (made on first use)."""
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        watch = self._watches.get(loop)
        if watch is None:
            watch = self._watches[loop] = _LoopWatch()
        self._last = (loop, watch)
        return watch

    async def within(self, awaitable: Awaitable[T], seconds: float) -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:  # not in a task (no way to cancel it): the plain way
            return await asyncio.wait_for(awaitable, seconds)
        watch = self.watch(loop)
        number = next(self._numbers)
        deadline = loop.time() + seconds
        watch.pending[number] = (deadline, task)
        if watch.timer is None or watch.timer_at > deadline:
            watch.arm(loop, deadline)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if number not in watch.expired:
                raise  # somebody else's cancellation
            watch.expired.discard(number)
            if hasattr(task, "uncancel"):  # Python 3.11+: the cancel was ours alone
                task.uncancel()
            raise asyncio.TimeoutError("the read passed its deadline") from None
        finally:
            # The timer stays armed: when it fires with nothing late, it re-arms or stops.
            watch.pending.pop(number, None)
