"""``python -m fakevoipbin.healthcheck``, the image's HEALTHCHECK, as the engine runs
it: a subprocess whose only input is the environment. It asks ``GET /ping`` where
``fakevoipbin serve`` would listen from the same variables (http, https under
FAKEVOIPBIN_TLS, http again under FAKEVOIPBIN_INTERCEPT), exits 0 on a 200, and 1 with
one line otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from fakevoipbin.healthcheck import ping_url
from fakevoipbin.options import Options

from .test_server import Served, start, stop

CHECK = [sys.executable, "-m", "fakevoipbin.healthcheck"]


def health(**variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKEVOIPBIN_")}
    return subprocess.run(
        CHECK, env={**env, **variables}, capture_output=True, text=True, timeout=30
    )


def port_of(served: Served) -> str:
    return str(urlsplit(served.url).port)


@pytest.mark.parametrize(
    ("flags", "variables"),
    [
        ((), {}),
        (("--tls",), {"FAKEVOIPBIN_TLS": "1"}),
        (("--intercept",), {"FAKEVOIPBIN_INTERCEPT": "yes"}),
    ],
    ids=["http", "https", "intercept"],
)
def test_a_served_fake_is_healthy_on_the_scheme_its_variables_give(
    flags: tuple[str, ...], variables: dict[str, str]
) -> None:
    served = start(*flags)
    try:
        done = health(FAKEVOIPBIN_PORT=port_of(served), **variables)
        assert done.returncode == 0, done.stderr
        assert done.stdout == done.stderr == ""
        if flags == ("--tls",):  # plain http to an https port is no answer
            wrong = health(FAKEVOIPBIN_PORT=port_of(served))
            assert wrong.returncode == 1 and wrong.stderr.startswith("unhealthy: ")
    finally:
        stop(served)


def test_nothing_listening_is_unhealthy_in_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        done = health(FAKEVOIPBIN_PORT=str(port))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"unhealthy: http://127.0.0.1:{port}/ping")
    assert "Traceback" not in done.stderr


def test_a_bad_variable_is_unhealthy_and_named() -> None:
    done = health(FAKEVOIPBIN_PORT="eighty")
    assert done.returncode == 1
    assert done.stderr.strip() == "unhealthy: FAKEVOIPBIN_PORT: not a port number: 'eighty'"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8088/ping"),
        ("::", "https://[::1]:8088/ping"),
        ("127.0.0.2", "http://127.0.0.2:8088/ping"),
    ],
)
def test_it_asks_where_the_fake_listens_and_loopback_for_every_address(host: str, url: str) -> None:
    tls = url.startswith("https")
    assert ping_url(Options(host=host, tls=tls, control=False)) == url


def test_the_scheme_is_the_ports_own() -> None:
    assert Options().scheme == "http"
    assert Options(tls=True).scheme == "https"
    assert Options(intercept=True).scheme == "http"  # TLS inside CONNECT, a plain port
