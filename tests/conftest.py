"""Shared test harness: an in-process fake per test, with every response checked
against openapi.yaml independently of the app (tests/spec_check.py)."""

from __future__ import annotations

import os

# Every validation in the tests runs through both the compiled validator and
# jsonschema; a disagreement fails loudly (fakevoipbin.spec.CheckedSchema).
os.environ.setdefault("FAKEVOIPBIN_CROSSCHECK", "1")

from collections.abc import Iterator  # noqa: E402
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from fakevoipbin.assemble import build_app, build_state
from fakevoipbin.core.fixtureset import FixtureSet
from fakevoipbin.options import Options, env_names
from fakevoipbin.web.transport import InProcessTransport

from . import spec_check

# A setting's variable in the developer's shell (FAKEVOIPBIN_PROFILE=live, …) would
# reach every command the suite starts: the suite runs without them. The package's
# other variables (FAKEVOIPBIN_URL, …) are the tests' own business.
for _variable in env_names():
    os.environ.pop(_variable, None)

#: The client suite that make test-wheel runs against the installed wheel, not here.
collect_ignore = ["wheel_client"]
#: The image's checks need a built image and a container engine: make test-image runs
#: them (python -m tests.image_check names the image in FAKEVOIPBIN_TEST_IMAGE).
if not os.environ.get("FAKEVOIPBIN_TEST_IMAGE"):
    collect_ignore.append("image")
#: The browser's checks need Chromium and Selenium: make test-browser runs them
#: (FAKEVOIPBIN_TEST_BROWSER=1).
if not os.environ.get("FAKEVOIPBIN_TEST_BROWSER"):
    collect_ignore.append("browser")

# Hypothesis on a loaded 2-core CI machine: no deadline, derandomized.
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("ci")

NOW = "2026-12-01T10:15:30.123456Z"
TUTORIAL_CUSTOMER = "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840"
TUTORIAL_KEY_ID = "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc"
TUTORIAL_TOKEN = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"
SECOND_CUSTOMER = "5e0c7c7a-1f7e-4d2b-9a61-2b8f0e4c9d11"
SECOND_KEY_ID = "7c3e2a10-4b5d-4e6f-8a7b-9c0d1e2f3a4b"
SECOND_TOKEN = "vb_P0TXt0PzIt--QAgUAH1lvuxpRxJNuogi"
EXPIRED_KEY_ID = "0b6f9d2e-8c4a-4f3e-b1d7-5a2c8e9f6d30"
EXPIRED_TOKEN = "vb_pLXZTZfGiHBl6SAQwSXdNcY5ShUTV6_H"
EXPIRING_KEY_ID = "3d8a1c5b-6e2f-4a9d-8b7c-1f0e2d3c4b5a"
EXPIRING_TOKEN = "vb_Ihp8uMJ8L3Q2xwEajBbtKg8XSZ_GL9kj"  # expires 300 s after NOW
FROZEN_CUSTOMER = "9f4e2d1c-0b8a-4c7d-9e6f-5a4b3c2d1e0f"
FROZEN_TOKEN = "vb_RAKLSsZjud8bafM-Jpm0UaOnzEgvYElu"
#: The tutorial's key as the docs profile answers it at ``NOW`` (the tutorial's GET).
TUTORIAL_KEY = {
    "id": TUTORIAL_KEY_ID,
    "customer_id": TUTORIAL_CUSTOMER,
    "name": "My New Accesskey",
    "detail": "This key is used for reporting",
    "token_prefix": "vb_a3Bf9xKm",
    "tm_expire": "2027-12-01T10:15:30.123456Z",
    "tm_create": "2026-12-01T10:15:30.123456Z",
    "tm_update": "2026-12-01T10:15:30.123456Z",
    "tm_delete": "9999-01-01T00:00:00.000000Z",
}
#: The create response's keys, in production's order (other answers drop ``token``).
CREATED_FIELDS = [
    "id",
    "customer_id",
    "name",
    "detail",
    "token",
    "token_prefix",
    "tm_expire",
    "tm_create",
    "tm_update",
    "tm_delete",
]
ADMIN_LOGIN = {"username": "admin@example.com", "password": "admin-password"}
MANAGER_LOGIN = {"username": "manager@example.com", "password": "manager-password"}


def _conform(response: httpx.Response) -> None:
    response.read()
    request = response.request
    spec_check.check(request.method, request.url.path, response.status_code, response.content)


class Harness:
    """One fake, in-process, built from ``Options`` as every face builds one (the clock
    frozen at ``now``). ``client()`` is an httpx client on ``/v1.0``. ``fixtures`` is a
    ready ``FixtureSet`` (the default set when None)."""

    def __init__(
        self,
        profile: str = "docs",
        seed: int = 0,
        now: str | None = NOW,
        fixtures: FixtureSet | None = None,
    ) -> None:
        self.options = Options(profile=profile, seed=seed, now=now)
        self.state = build_state(self.options)
        if fixtures is not None:
            self.state.fixtures = fixtures
            self.state.reset()
        self.app = build_app(self.state, self.options)
        self.clock = self.state.clock
        self.transport = InProcessTransport(self.app.asgi)
        self._clients: list[httpx.Client] = []

    def client(
        self, token: str | None = TUTORIAL_TOKEN, root: bool = False, **kw: Any
    ) -> httpx.Client:
        """A client that sends ``?accesskey=<token>`` (None: no credential)."""
        params = {"accesskey": token} if token else None
        c = httpx.Client(
            transport=self.transport,
            base_url="http://testserver" + ("" if root else "/v1.0"),
            params=params,
            event_hooks={"response": [_conform]},
            **kw,
        )
        self._clients.append(c)
        return c

    def login(self, credentials: dict[str, str]) -> str:
        r = self.client(None, root=True).post("/auth/login", json=credentials)
        assert r.status_code == 200, r.text
        token: str = r.json()["token"]
        return token

    def close(self) -> None:
        for c in self._clients:
            c.close()
        self.transport.close()


@pytest.fixture
def make_fake() -> Iterator[Any]:
    made: list[Harness] = []

    def make(**kw: Any) -> Harness:
        h = Harness(**kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.fixture(params=["docs", "live"])
def fake(request: pytest.FixtureRequest, make_fake: Any) -> Harness:
    """The default-fixture fake, frozen at NOW, once per profile."""
    return make_fake(profile=request.param)  # type: ignore[no-any-return]


@pytest.fixture
def docs(make_fake: Any) -> Harness:
    return make_fake(profile="docs")  # type: ignore[no-any-return]


@pytest.fixture
def live(make_fake: Any) -> Harness:
    return make_fake(profile="live")  # type: ignore[no-any-return]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """After a run that ran the doc samples (tests/test_readme.py), one line of counts:
    how many ran, how many are marked not-run, how many another check runs."""
    ran = any(
        getattr(report, "nodeid", "").startswith("tests/test_readme.py")
        for reports in terminalreporter.stats.values()
        for report in reports
    )
    if ran:
        from .readme_samples import all_blocks, all_inline_curls, census

        terminalreporter.write_line(census(all_blocks(), all_inline_curls()))
