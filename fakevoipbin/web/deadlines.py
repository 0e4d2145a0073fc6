"""Deadlines for body reads: one timer per event loop, not one per request.

``asyncio.timeout`` arms and cancels a loop timer for every request with a body,
which costs more than the rest of reading it. Yet a read that finishes in time is
the rule, and most finish without waiting at all (the body came with the headers).
So ``within`` takes the read's first step by hand; only a read that has to wait is
noted, in a dict, with when it must end, and a single timer on the loop serves the
earliest of them. A read still running when its deadline passes has its task
cancelled, and ``within`` turns that into ``asyncio.TimeoutError`` (what
``asyncio.wait_for`` raises), so callers answer 408.
"""

from __future__ import annotations

import asyncio
import itertools
import types
import weakref
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, TypeVar, cast

T = TypeVar("T")


@types.coroutine
def _resumed(coro: Coroutine[Any, Any, T], waiting: Any) -> Generator[Any, Any, T]:
    """The rest of a coroutine whose first step was taken by hand and yielded
    ``waiting``: what ``yield from`` does, from there on (values sent in, exceptions
    thrown in, the result returned)."""
    while True:
        try:
            sent = yield waiting
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # a cancellation, thrown in by the task
            try:
                waiting = coro.throw(exc)
            except StopIteration as done:
                return cast(T, done.value)
        else:
            try:
                waiting = coro.send(sent)
            except StopIteration as done:
                return cast(T, done.value)


class _LoopWatch:
    """The reads in flight on one loop, and the loop's one timer."""

    __slots__ = ("pending", "expired", "timer", "timer_at")

    def __init__(self) -> None:
        #: read number → (deadline in loop time, the reading task)
        self.pending: dict[int, tuple[float, asyncio.Task[object]]] = {}
        #: reads whose task this watch cancelled, so ``within`` can tell its own
        #: cancellation from anybody else's
        self.expired: set[int] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0

    def arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Make sure the timer fires by ``deadline`` (usually it already does)."""
        if self.timer is not None:
            if self.timer_at <= deadline:
                return
            self.timer.cancel()
        self.timer = loop.call_at(deadline, self.sweep, loop)
        self.timer_at = deadline

    def sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cancel every read past its deadline; re-arm for the earliest one left."""
        self.timer = None
        now = loop.time()
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
        self._last: tuple[asyncio.AbstractEventLoop, _LoopWatch] | None = None
        self._numbers = itertools.count()

    def _watch(self, loop: asyncio.AbstractEventLoop) -> _LoopWatch:
        """The loop's watch, when it is not the last one used (``_last``)."""
        watch = self._watches.get(loop)
        if watch is None:
            watch = self._watches[loop] = _LoopWatch()
        self._last = (loop, watch)
        return watch

    async def within(self, awaitable: Awaitable[T], seconds: float) -> T:
        if isinstance(awaitable, types.CoroutineType):
            try:
                waiting = awaitable.send(None)  # its first step, up to its first wait
            except StopIteration as done:
                return cast(T, done.value)  # it never waited: no deadline to keep
            awaitable = _resumed(awaitable, waiting)
        return await self._waited(awaitable, seconds)

    async def _waited(self, awaitable: Awaitable[T], seconds: float) -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:  # not in a task (no way to cancel it): the slow, sure way
            return await asyncio.wait_for(awaitable, seconds)
        last = self._last
        watch = last[1] if last is not None and last[0] is loop else self._watch(loop)
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
            # The timer stays armed: when it fires with nothing late, it just stops.
            watch.pending.pop(number, None)
