"""Testcontainers for Python: a pytest fixture that starts fakevoipbin's image for the
session, waits for GET /ping, and hands the tests its URL and the control token.

    pip install testcontainers pytest
    FAKEVOIPBIN_IMAGE=fakevoipbin:latest pytest test_with_testcontainers.py
"""

import json
import os
import urllib.request

import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

IMAGE = os.environ.get("FAKEVOIPBIN_IMAGE", "fakevoipbin:latest")
CONTROL_TOKEN = "tc-control-token"
TUTORIAL_TOKEN = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"


@pytest.fixture(scope="session")
def fake_url():
    container = (
        DockerContainer(IMAGE)
        .with_env("FAKEVOIPBIN_CONTROL_TOKEN", CONTROL_TOKEN)
        .with_env("FAKEVOIPBIN_NOW", "2026-12-01T10:15:30.123456Z")
        .with_exposed_ports(8088)
        .waiting_for(HttpWaitStrategy(8088, "/ping").for_status_code(200))
    )
    with container:
        host = container.get_container_host_ip()
        yield f"http://{host}:{container.get_exposed_port(8088)}"


def call(url, method="GET", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_a_created_key_shows_its_token_once(fake_url):
    # Back to the fixtures, so each test starts from the same state.
    call(fake_url + "/_fake/reset", "POST", {}, {"X-Fake-Control-Token": CONTROL_TOKEN})
    keys = f"{fake_url}/v1.0/accesskeys?accesskey={TUTORIAL_TOKEN}"
    made = call(keys, "POST", {"name": "ci", "detail": "made in a container", "expire": 86400})
    assert made["token"].startswith(made["token_prefix"])
    listed = call(keys)["result"]
    assert made["id"] in [key["id"] for key in listed]
    assert all("token" not in key for key in listed)


def test_the_tutorial_key_has_the_tutorials_times(fake_url):
    key = "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc"
    got = call(f"{fake_url}/v1.0/accesskeys/{key}?accesskey={TUTORIAL_TOKEN}")
    assert got["tm_create"] == "2026-12-01T10:15:30.123456Z"
    assert got["tm_expire"] == "2027-12-01T10:15:30.123456Z"
