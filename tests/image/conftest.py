"""The image's checks run against a built image, through the engine that built it.

``make test-image`` (``python -m tests.image_check``) builds the image and names it
and its engine in ``FAKEVOIPBIN_TEST_IMAGE`` and ``FAKEVOIPBIN_TEST_ENGINE``; without
them these tests refuse to run (a usage error, never a skip), and ``make test`` does
not collect them (``tests/conftest.py``).

``containers`` starts containers the way a user does (``run -d`` with published
ports, variables and volumes) and removes every one it started, with its networks
and volumes, whatever the test did. ``figures`` collects the measured figures, which
the session prints at its end.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.image.engine import Engine
from tests.image_check import ENGINE_ENV, IMAGE_ENV
from tests.waiting import wait_until

#: A client suite run on the host against a container (attach mode), not collected here.
collect_ignore = ["attach_client"]
#: The port the image listens on (its EXPOSE).
PORT = 8088
#: The tutorial's instant, at which its key's times match the tutorial's.
TUTORIAL_NOW = "2026-12-01T10:15:30.123456Z"
#: The image's own user (the Dockerfile's UID).
IMAGE_UID = 10001
#: How long a container may take from run to /ping 200 (the issue's bound).
READY_S = 10.0

_FIGURES: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(IMAGE_ENV) or not os.environ.get(ENGINE_ENV):
        raise pytest.UsageError(
            "the image checks need a built image: run make test-image "
            f"(or set {IMAGE_ENV} and {ENGINE_ENV})"
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("image figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def engine() -> Engine:
    exe = os.environ[ENGINE_ENV]
    return Engine(Path(exe).name, exe)


@pytest.fixture(scope="session")
def image() -> str:
    return os.environ[IMAGE_ENV]


@pytest.fixture(scope="session")
def figures() -> list[str]:
    return _FIGURES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Container:
    engine: Engine
    name: str
    #: The host port published for the image's 8088 (0: none published).
    host_port: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    @property
    def url(self) -> str:
        return self.root + "/v1.0"

    def logs(self) -> str:
        done = self.engine.run("logs", self.name, check=False)
        return done.stdout + done.stderr

    def inspect(self, template: str) -> str:
        return self.engine.run("inspect", "--format", template, self.name).stdout.strip()

    def exec(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.engine.run("exec", self.name, *args, check=False)

    def running(self) -> bool:
        return self.inspect("{{.State.Running}}") == "true"

    def wait_ready(self, scheme: str = "http", timeout: float = READY_S, **tls: Any) -> float:
        """Seconds from ``run`` until ``GET /ping`` answered 200 (fails past ``timeout``)."""

        def pong() -> bool:
            if not self.running():
                raise AssertionError(f"{self.name} exited:\n{self.logs()}")
            try:
                root = self.root.replace("http:", f"{scheme}:")
                with urllib.request.urlopen(root + "/ping", timeout=2, **tls) as answer:
                    return bool(answer.status == 200)
            except (OSError, urllib.error.URLError):
                return False

        wait_until(pong, f"{self.name} to answer GET /ping", timeout=timeout)
        return time.monotonic() - self.started


class Containers:
    """Starts containers, networks and volumes, and removes them all at the end."""

    def __init__(self, engine: Engine, image: str) -> None:
        self.engine = engine
        self.image = image
        self.names: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []
        self.tag = uuid.uuid4().hex[:8]

    def new_name(self, what: str) -> str:
        return f"fvb-{what}-{self.tag}-{len(self.names) + len(self.networks)}"

    def network(self) -> str:
        name = self.new_name("net")
        self.engine.run("network", "create", name)
        self.networks.append(name)
        return name

    def volume(self) -> str:
        name = self.new_name("vol")
        self.engine.run("volume", "create", name)
        self.volumes.append(name)
        return name

    def start(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        publish: bool = True,
        image: str | None = None,
        options: tuple[str, ...] = (),
        name: str | None = None,
    ) -> Container:
        """``run -d`` of the image (or ``image``) with ``env``, its 8088 published on a
        free loopback port unless ``publish`` is false; ``args`` after the image."""
        name = name or self.new_name("c")
        port = free_port() if publish else 0
        cmd = ["run", "-d", "--name", name]
        if publish:
            cmd += ["-p", f"127.0.0.1:{port}:{PORT}"]
        for key, value in (env or {}).items():
            cmd += ["-e", f"{key}={value}"]
        cmd += [*options, image or self.image, *args]
        self.names.append(name)
        container = Container(self.engine, name, port)
        self.engine.run(*cmd)
        return container

    def run_once(
        self, *args: str, options: tuple[str, ...] = (), image: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A container run to its end (``run --rm``), its result. Its health check is
        not scheduled: podman without systemd would write errors of its own to stderr."""
        return self.engine.run(
            "run", "--rm", "--no-healthcheck", *options, image or self.image, *args,
            check=False, timeout=120,
        )  # fmt: skip

    def remove_all(self) -> None:
        for name in self.names:
            self.engine.run("rm", "--force", "--time", "0", name, check=False)
        for name in self.networks:
            self.engine.run("network", "rm", "--force", name, check=False)
        for name in self.volumes:
            self.engine.run("volume", "rm", "--force", name, check=False)


@pytest.fixture
def containers(engine: Engine, image: str) -> Iterator[Containers]:
    made = Containers(engine, image)
    try:
        yield made
    finally:
        made.remove_all()


def get_json(url: str, headers: dict[str, str] | None = None, **kw: Any) -> tuple[int, Any]:
    """Status and JSON body of a GET (an HTTP error's too)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10, **kw) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body or b"null")
        except ValueError:
            return err.code, body.decode("utf-8", "replace")


def shell_words(line: str) -> list[str]:
    return shlex.split(line)
