"""The browser's checks: headless Chromium, driven by Selenium 4, looks at the HTML
report and at ``/_fake/ui``.

``make test-browser`` runs them (``FAKEVOIPBIN_TEST_BROWSER=1``; ``make test`` does not
collect them, see ``tests/conftest.py``). They drive Debian's ``/usr/bin/chromium`` with
``/usr/bin/chromedriver`` (``apt-get install chromium chromium-driver``; ``.ci/run``
installs them when missing): without them the tests fail, naming what to install,
never skip. Each driver gets a fresh profile folder and Chromium's background
traffic off; its performance log holds every request the page made, so a test counts
them. ``FAKEVOIPBIN_SCREENSHOTS=DIR`` (``make test-browser SCREENSHOTS=docs/images``)
saves the screenshots the docs show. ``figures`` collects measured figures, which the
session prints at its end.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("FAKEVOIPBIN_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("FAKEVOIPBIN_CHROMEDRIVER", "/usr/bin/chromedriver"))
ROOT = Path(__file__).resolve().parent.parent.parent
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--font-render-hinting=none",
)

#: The browser's own pages, whose requests are not a page's.
BROWSER_PAGES = ("chrome://", "chrome-untrusted://", "devtools://")

_FIGURES: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("FAKEVOIPBIN_TEST_BROWSER"):
        raise pytest.UsageError(
            "the browser's checks run with make test-browser (FAKEVOIPBIN_TEST_BROWSER=1)"
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("figures measured")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def figures() -> list[str]:
    """Lines of measured figures, printed at the session's end (and now, with -s)."""
    return _FIGURES


def _missing() -> list[str]:
    return [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not (p.exists() and os.access(p, os.X_OK))]


@pytest.fixture(scope="session")
def browser_parts() -> tuple[Path, Path]:
    """Chromium and its driver: a failure naming what to install when either is missing."""
    missing = _missing()
    if missing:
        pytest.fail(
            f"no browser for the browser's checks: {', '.join(missing)} missing; "
            "install Debian's chromium and chromium-driver (apt-get install -y chromium "
            "chromium-driver, as root; .ci/run does it)",
            pytrace=False,
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("selenium is missing: pip install -e '.[browser]'", pytrace=False)
    return CHROMIUM, CHROMEDRIVER


class Browser:
    """One headless Chromium: its driver, and the requests its pages made."""

    def __init__(self, parts: tuple[Path, Path], profile: Path, width: int, height: int) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(parts[0])
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(str(parts[1])))
        self.driver.set_page_load_timeout(30)

    def requests(self) -> list[str]:
        """The URLs of the requests the browser made since the last call (the page's
        own load included), from the performance log. Only the browser's own pages
        (``chrome://``: the new tab it opens with) are left out."""
        urls = []
        for record in self.driver.get_log("performance"):
            message = json.loads(record["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                params = message["params"]
                if not params.get("documentURL", "").startswith(BROWSER_PAGES):
                    urls.append(params["request"]["url"])
        return urls

    def get(self, url: str) -> None:
        """Open ``url``, the requests before it drained (``requests`` then counts the
        page's own)."""
        self.requests()
        self.driver.get(url)

    def block_the_network(self) -> None:
        """Every http(s), ws(s) and ftp request refused (a page from a file still
        loads): whatever the page would fetch fails, and still shows in ``requests``."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        patterns = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]
        self.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": patterns})

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture
def browser(browser_parts: tuple[Path, Path], tmp_path: Path) -> Iterator[Browser]:
    """A fresh headless Chromium (its own profile folder), quit after the test."""
    found = Browser(browser_parts, tmp_path / "profile", 1280, 900)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def phone(browser_parts: tuple[Path, Path], tmp_path: Path) -> Iterator[Browser]:
    """A headless Chromium as narrow as a phone."""
    found = Browser(browser_parts, tmp_path / "phone-profile", 390, 844)
    try:
        yield found
    finally:
        found.close()


def screenshot(browser: Browser, name: str, tmp_path: Path) -> Path:
    """Save the window as ``name``.png: in the test's folder, and in
    ``$FAKEVOIPBIN_SCREENSHOTS`` when it is set (the docs' images)."""
    png = browser.driver.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    path = tmp_path / f"{name}.png"
    path.write_bytes(png)
    wanted = os.environ.get("FAKEVOIPBIN_SCREENSHOTS")
    if wanted:
        folder = Path(wanted)
        if not folder.is_absolute():
            folder = ROOT / folder
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / f"{name}.png")
    return path
