"""The pytest plugin (entry point ``pytest11``): a ``fakevoipbin`` fixture.

One server per session (per worker under pytest-xdist), reset before each test, so a
suite of thousands of tests pays for one start:

    def test_create(fakevoipbin):
        r = httpx.post(f"{fakevoipbin.url}/accesskeys",
                       params={"accesskey": fakevoipbin.accesskey}, json={"expire": 86400})

    @pytest.mark.fakevoipbin(profile="live", seed=3, now="2026-12-01T00:00:00Z")
    def test_live(fakevoipbin): ...

The marker takes the settings ``fakevoipbin.options`` gives the ``marker`` face, and
the server settings ``tls`` and ``intercept`` (``SERVER_SETTINGS``). A socket's TLS cannot
be reset onto the session's fake, so a test that asks for either gets a fake of its own,
started for it and stopped after it (a start costs a certificate and a socket: about a
tenth of a second). Under attach mode, the running fake must already serve them (``run
--tls`` or ``run --intercept``); else the test errors, saying so.

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

from .envnames import PROXY_ENVS, URL_ENV
from .options import marker_help, names

#: Marker settings that belong to the server, not to a reset (a fake of the test's own).
SERVER_SETTINGS = ("tls", "intercept")

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
def fakevoipbin(request: pytest.FixtureRequest) -> Iterator[FakeVoipbin]:
    """A fake reset to seed and fixtures for this test; ``@pytest.mark.fakevoipbin``
    sets its profile, seed, clock (``now``), fixtures and rate limiting for the test,
    and ``tls`` or ``intercept`` give the test an HTTPS fake of its own. A marker that
    cannot be applied (a missing fixtures file) errors the test, naming the cause, and
    leaves the fake as it was."""
    settings: dict[str, Any] = {}
    marker = request.node.get_closest_marker("fakevoipbin")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.fakevoipbin takes keyword arguments only")
        allowed = (*names("marker"), *SERVER_SETTINGS)
        unknown = set(marker.kwargs) - set(allowed)
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.fakevoipbin: unknown option(s) {', '.join(sorted(unknown))}; "
                f"use {', '.join(allowed)}"
            )
        settings = dict(marker.kwargs)
    server = {k: settings.pop(k) for k in SERVER_SETTINGS if k in settings}
    if not any(server.values()) or _attach_url() is not None:
        fake: FakeVoipbin = request.getfixturevalue("fakevoipbin_server")
        if any(server.values()):
            _check_attached_serves(server)
        fake.reset(**settings)
        yield fake
        return
    from .testing import FakeVoipbin

    with FakeVoipbin(**server, **settings) as own:
        yield own


def _check_attached_serves(server: dict[str, Any]) -> None:
    """Under attach mode, the running fake must already serve what the marker asks."""
    url = _attach_url() or ""
    if server.get("intercept") and not any(os.environ.get(n) for n in PROXY_ENVS):
        raise pytest.UsageError(
            "@pytest.mark.fakevoipbin(intercept=True): the running fake does not intercept; "
            "start it with run --intercept"
        )
    if server.get("tls") and not url.startswith("https://"):
        raise pytest.UsageError(
            "@pytest.mark.fakevoipbin(tls=True): the running fake serves plain HTTP; "
            "start it with run --tls"
        )
