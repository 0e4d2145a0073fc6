"""The in-process transports (fakevoipbin/web/transport.py): a client's timeout is
httpx's over a socket, a read timeout per wait for the head and per body chunk."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakevoipbin import FakeVoipbin

from ..conftest import NOW, TUTORIAL_TOKEN


class CountedSleep:
    """The pipeline's injected waits, counted: begun, and run to their end."""

    def __init__(self) -> None:
        self.begun = 0
        self.ended = 0

    async def __call__(self, seconds: float) -> None:
        self.begun += 1
        await asyncio.sleep(seconds)
        self.ended += 1


@pytest.fixture
def fake() -> Iterator[tuple[FakeVoipbin, CountedSleep]]:
    own = FakeVoipbin(now=NOW)
    counted = CountedSleep()
    own.app.pipeline.sleep = counted
    yield own, counted
    own.stop()


def _sync(f: FakeVoipbin) -> httpx.Response:
    with f.client(timeout=0.3, params={"accesskey": TUTORIAL_TOKEN}) as c:
        return c.get("/accesskeys")


def _async(f: FakeVoipbin) -> httpx.Response:
    async def go() -> httpx.Response:
        async with f.async_client(timeout=0.3, params={"accesskey": TUTORIAL_TOKEN}) as c:
            return await c.get("/accesskeys")

    return asyncio.run(go())


CLIENTS = [pytest.param(_sync, id="client"), pytest.param(_async, id="async_client")]


@pytest.mark.parametrize("call", CLIENTS)
@pytest.mark.parametrize(
    ("kind", "delay_ms"),
    [("slow_headers", 60_000), ("slow_body", 60_000)],
)
def test_a_read_timeout_fires_before_the_delay_is_over(
    fake: tuple[FakeVoipbin, CountedSleep], call: Any, kind: str, delay_ms: int
) -> None:
    """``timeout=0.3`` against a head (or a body chunk) a minute away: httpx's
    ReadTimeout, raised while the fake's wait was still going (begun, not ended)."""
    f, counted = fake
    rule = f.faults.add("GetAccesskeys", kind=kind, delay_ms=delay_ms)
    with pytest.raises(httpx.ReadTimeout):
        call(f)
    assert rule.fired == 1
    assert (counted.begun, counted.ended) == (1, 0)
    # The fake goes on answering: the next request has no fault left.
    assert call(f).status_code == 200


@pytest.mark.parametrize("call", CLIENTS)
def test_the_read_timeout_is_per_chunk_as_on_a_socket(
    fake: tuple[FakeVoipbin, CountedSleep], call: Any
) -> None:
    """A slow body whose every piece comes within the timeout is read whole, though
    the whole body takes longer than the timeout: httpx's read timeout is per read."""
    f, counted = fake
    f.faults.add("GetAccesskeys", kind="slow_body", delay_ms=500)
    r = call(f)
    assert r.status_code == 200 and r.json()["result"]
    assert counted.begun == counted.ended == 10
