"""The pytest plugin (entry point ``pytest11``): a ``fakevoipbin`` fixture.

One server per session (per worker under pytest-xdist), reset before each test, so a
suite of thousands of tests pays for one start:

    def test_create(fakevoipbin):
        r = httpx.post(f"{fakevoipbin.url}/accesskeys",
                       params={"accesskey": fakevoipbin.accesskey}, json={"expire": 86400})

    @pytest.mark.fakevoipbin(profile="live", seed=3, now="2026-12-01T00:00:00Z")
    def test_live(fakevoipbin): ...

The marker takes the settings ``fakevoipbin.options`` gives the ``marker`` face.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .options import defaults, marker_help, names

if TYPE_CHECKING:
    from .testing import FakeVoipbin


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", marker_help())


@pytest.fixture(scope="session")
def fakevoipbin_server() -> Iterator[FakeVoipbin]:
    """The session's one running fake; use ``fakevoipbin`` in tests."""
    from .testing import FakeVoipbin

    with FakeVoipbin() as fake:
        yield fake


@pytest.fixture
def fakevoipbin(request: pytest.FixtureRequest, fakevoipbin_server: FakeVoipbin) -> FakeVoipbin:
    """A fake reset to seed and fixtures for this test; ``@pytest.mark.fakevoipbin``
    sets its profile, seed, clock (``now``), fixtures and rate limiting."""
    options = defaults("marker")
    marker = request.node.get_closest_marker("fakevoipbin")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.fakevoipbin takes keyword arguments only")
        unknown = set(marker.kwargs) - set(options)
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.fakevoipbin: unknown option(s) {', '.join(sorted(unknown))}; "
                f"use {', '.join(names('marker'))}"
            )
        options.update(marker.kwargs)
    fakevoipbin_server.configure(**options)
    fakevoipbin_server.reset()
    return fakevoipbin_server
