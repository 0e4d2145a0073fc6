"""The pytest plugin (entry point ``pytest11``): a ``fakevoipbin`` fixture.

One server per session (per worker under pytest-xdist), reset before each test, so a
suite of thousands of tests pays for one start:

    def test_create(fakevoipbin):
        r = httpx.post(f"{fakevoipbin.url}/accesskeys",
                       params={"accesskey": fakevoipbin.accesskey}, json={"expire": 86400})

    @pytest.mark.fakevoipbin(profile="live", seed=3, now="2026-12-01T00:00:00Z")
    def test_live(fakevoipbin): ...

The marker takes the settings ``fakevoipbin.options`` gives the ``marker`` face.

**Attach mode.** When ``FAKEVOIPBIN_URL`` names a running fake (``fakevoipbin run``
exports it), the fixture starts no fake of its own: it drives that one through its
control API (``FakeVoipbin.attach``), so ``run``'s report counts what the tests send.
Markers still apply, through the control API's reset, on top of the options the fake
was started with. One running fake cannot be shared by pytest-xdist workers (each
would reset the others' state), so attach mode refuses ``-n`` with more than one
worker, in one line: run without ``-n``, or unset ``FAKEVOIPBIN_URL`` to give each
worker a fake of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .envnames import URL_ENV
from .options import marker_help, names

if TYPE_CHECKING:
    from .testing import FakeVoipbin


def _attach_url() -> str | None:
    return os.environ.get(URL_ENV) or None


def _refuse_shared(workers: str) -> None:
    raise pytest.UsageError(
        f"fakevoipbin: {URL_ENV} names one running fake, which {workers} pytest-xdist "
        "workers would reset under each other; run without -n, or unset "
        f"{URL_ENV} to give each worker a fake of its own"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", marker_help())
    if _attach_url() is None:
        return
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")  # on a worker
    if workers is not None and workers.isdigit() and int(workers) > 1:
        _refuse_shared(workers)
    wanted = getattr(config.option, "numprocesses", None)  # on xdist's controller
    if wanted and getattr(config.option, "dist", "no") != "no" and str(wanted) != "1":
        _refuse_shared(str(wanted))


@pytest.fixture(scope="session")
def fakevoipbin_server() -> Iterator[FakeVoipbin]:
    """The session's one fake (attached to ``FAKEVOIPBIN_URL``'s when it names one);
    use ``fakevoipbin`` in tests."""
    from .testing import FakeVoipbin

    url = _attach_url()
    if url is None:
        with FakeVoipbin() as fake:
            yield fake
        return
    from .attach import AttachError

    try:
        attached = FakeVoipbin.attach(url)
    except AttachError as exc:
        raise pytest.UsageError(f"fakevoipbin: {URL_ENV}={url}: {exc}") from None
    with attached:
        yield attached


@pytest.fixture
def fakevoipbin(request: pytest.FixtureRequest, fakevoipbin_server: FakeVoipbin) -> FakeVoipbin:
    """A fake reset to seed and fixtures for this test; ``@pytest.mark.fakevoipbin``
    sets its profile, seed, clock (``now``), fixtures and rate limiting for the test.
    A marker that cannot be applied (a missing fixtures file) errors the test, naming
    the cause, and leaves the fake as it was."""
    settings: dict[str, Any] = {}
    marker = request.node.get_closest_marker("fakevoipbin")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.fakevoipbin takes keyword arguments only")
        allowed = names("marker")
        unknown = set(marker.kwargs) - set(allowed)
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.fakevoipbin: unknown option(s) {', '.join(sorted(unknown))}; "
                f"use {', '.join(allowed)}"
            )
        settings = dict(marker.kwargs)
    fakevoipbin_server.reset(**settings)
    return fakevoipbin_server
