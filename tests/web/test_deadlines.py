"""The body-read deadlines (web/deadlines.py): one timer per loop, and the semantics of
asyncio.wait_for. Timers are counted, never timed: every test runs on a loop with a
clock of its own (tests/virtual_loop.py), so a deadline is passed, or not, by the
order of the loop's timers and not by how busy the machine is."""

from __future__ import annotations

import asyncio

import pytest

from fakevoipbin.web.deadlines import SLACK, Deadlines

from ..virtual_loop import run


async def _value_after(seconds: float, value: str = "done") -> str:
    await asyncio.sleep(seconds)
    return value


def test_a_read_in_time_returns_its_value() -> None:
    async def main() -> str:
        return await Deadlines().within(_value_after(0.01), 5.0)

    assert run(main()) == "done"


def test_a_late_read_raises_timeout_and_the_task_goes_on() -> None:
    async def main() -> tuple[bool, str]:
        deadlines = Deadlines()
        with pytest.raises(asyncio.TimeoutError):
            await deadlines.within(_value_after(10.0), 0.05)
        # The cancellation was the deadline's own: the task is not left cancelled.
        task = asyncio.current_task()
        assert task is not None
        still_cancelling = hasattr(task, "cancelling") and task.cancelling() > 0
        after = await _value_after(0.01, "after")
        return still_cancelling, after

    assert run(main()) == (False, "after")


def test_reads_that_finished_are_never_cancelled_by_the_armed_timer() -> None:
    async def main() -> tuple[list[str], bool, int]:
        deadlines = Deadlines()
        out = [await deadlines.within(_value_after(0.0, str(i)), 0.05) for i in range(20)]
        watch = deadlines.watch(asyncio.get_running_loop())
        armed_meanwhile = watch.timer is not None
        # The timer armed for the first read fires, with nothing late, while this task
        # (the one that did the reads) waits for it; it cancels nothing and stops.
        while watch.timer is not None:
            await asyncio.sleep(0.01)
        out.append("waited for the timer")
        return out, armed_meanwhile, watch.armed

    out, armed_meanwhile, armed = run(main())
    assert out[:20] == [str(i) for i in range(20)]
    assert out[20] == "waited for the timer"
    assert armed_meanwhile, "the first read armed a timer that outlived the reads"
    assert armed == 1, "a timer that fired with nothing pending armed another"


def test_only_the_late_read_of_several_concurrent_ones_times_out() -> None:
    async def main() -> list[object]:
        deadlines = Deadlines()

        async def read(delay: float, limit: float) -> object:
            try:
                return await deadlines.within(_value_after(delay, f"{delay}"), limit)
            except asyncio.TimeoutError:
                return "timeout"

        return list(
            await asyncio.gather(read(0.01, 1.0), read(5.0, 0.05), read(0.02, 0.5), read(5, 0.1))
        )

    assert run(main()) == ["0.01", "timeout", "0.02", "timeout"]


def test_a_shorter_deadline_after_a_longer_one_rearms_the_timer_earlier() -> None:
    async def main() -> tuple[object, int, float, float]:
        deadlines = Deadlines()
        long_read = asyncio.ensure_future(deadlines.within(_value_after(0.3, "long"), 10.0))
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        watch = deadlines.watch(loop)
        long_timer = watch.timer_at
        short = asyncio.ensure_future(deadlines.within(_value_after(10.0), 0.05))
        await asyncio.sleep(0)
        short_timer = watch.timer_at
        with pytest.raises(asyncio.TimeoutError):
            await short
        return await long_read, watch.armed, long_timer, short_timer

    value, armed, long_timer, short_timer = run(main())
    assert value == "long"
    # The short read armed an earlier timer instead of waiting for the long one's; the
    # sweep that ended it armed the long one's again: three timers in all.
    assert armed == 3
    assert short_timer < long_timer - 5


def test_somebody_elses_cancellation_is_not_turned_into_a_timeout() -> None:
    async def main() -> None:
        deadlines = Deadlines()
        task = asyncio.ensure_future(deadlines.within(_value_after(10.0), 5.0))
        watch = deadlines.watch(asyncio.get_running_loop())
        while not watch.pending:  # until the read waits under its deadline
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


def test_one_deadlines_serves_several_loops_one_after_another() -> None:
    deadlines = Deadlines()

    async def late() -> str:
        try:
            await deadlines.within(_value_after(10.0), 0.02)
        except asyncio.TimeoutError:
            return "timeout"
        return "no timeout"

    assert run(late()) == "timeout"
    assert run(late()) == "timeout"


def test_many_reads_in_time_share_one_timer() -> None:
    async def ready(i: int) -> str:
        return f"at once {i}"

    async def main() -> tuple[list[str], int, int]:
        deadlines = Deadlines()
        values = [await deadlines.within(ready(i), 30.0) for i in range(50)]
        watch = deadlines.watch(asyncio.get_running_loop())
        return values, watch.armed, len(watch.pending)

    values, armed, pending = run(main())
    assert values == [f"at once {i}" for i in range(50)]
    assert armed == 1, "fifty reads in time armed one timer"
    assert pending == 0, "a read that ended left the watch"


def test_a_read_gets_every_value_and_error_it_waits_for() -> None:
    async def main() -> tuple[list[object], str]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(3)]

        async def reader() -> list[object]:
            got: list[object] = [await futures[0], await futures[1]]
            try:
                await futures[2]
            except KeyError as exc:
                got.append(f"caught {exc}")
            return got

        async def resolve() -> None:
            for i, f in enumerate(futures[:2]):
                await asyncio.sleep(0.01)
                f.set_result(i * 10)
            await asyncio.sleep(0.01)
            futures[2].set_exception(KeyError("k"))

        feeder = asyncio.ensure_future(resolve())
        got = await Deadlines().within(reader(), 5.0)
        await feeder

        async def failing() -> None:
            await asyncio.sleep(0.01)
            raise ValueError("inner")

        try:
            await Deadlines().within(failing(), 5.0)
        except ValueError as exc:
            return got, str(exc)
        return got, "no error"

    assert run(main()) == ([0, 10, "caught 'k'"], "inner")


def test_a_burst_of_late_reads_ends_in_one_sweep() -> None:
    async def main() -> tuple[list[str], int]:
        deadlines = Deadlines()

        async def late(start: float) -> str:
            await asyncio.sleep(start)
            try:
                await deadlines.within(_value_after(10.0), 0.05)
            except asyncio.TimeoutError:
                return "timeout"
            return "no timeout"

        # Twelve reads, each begun a little after the one before, all within SLACK.
        starts = [i * SLACK / 12 for i in range(12)]
        results = await asyncio.gather(*(late(start) for start in starts))
        return list(results), deadlines.watch(asyncio.get_running_loop()).armed

    results, armed = run(main())
    assert results == ["timeout"] * 12
    assert armed == 1, "twelve reads that started together ended in one sweep"


def test_late_reads_further_apart_than_the_slack_end_in_sweeps_of_their_own() -> None:
    async def main() -> tuple[list[tuple[str, float]], int]:
        deadlines = Deadlines()
        loop = asyncio.get_running_loop()

        async def late(start: float) -> tuple[str, float]:
            await asyncio.sleep(start)
            try:
                await deadlines.within(_value_after(10.0), 0.05)
            except asyncio.TimeoutError:
                return "timeout", round(loop.time(), 6)
            return "no timeout", round(loop.time(), 6)

        results = await asyncio.gather(late(0.0), late(3 * SLACK))
        return list(results), deadlines.watch(loop).armed

    results, armed = run(main())
    # Each timed out at its own deadline, not at the first one's, by a timer of its own.
    assert results == [("timeout", 0.05), ("timeout", round(3 * SLACK + 0.05, 6))]
    assert armed == 2
