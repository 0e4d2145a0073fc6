"""Each CI recipe of docs/recipes/, read from its very file and started as written on
the engine under test: the same image (the one built, in place of the registry path a
CI would pull), ports, variables and health check. The GitHub Actions job's steps and
the GitLab job's script run against the fake; compose's client reaches the fake
through intercept; the Testcontainers recipe for Python runs with pytest against the
engine's Docker-compatible API; the Go and Java recipes name the same image, variables,
port and wait strategy (their libraries cannot be fetched here)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.image.conftest import PORT, Containers
from tests.image.engine import Engine
from tests.image.samples import RECIPES
from tests.image.test_image import TUTORIAL_KEY_ID, health_check_passes
from tests.waiting import wait_until


def recipe(name: str) -> Any:
    return yaml.safe_load((RECIPES / name).read_text(encoding="utf-8"))


def health_options(options: str) -> list[str]:
    """A GitHub service's ``options:``, as the engine's ``run`` takes them."""
    words = shlex.split(options)
    assert all(w.startswith("--health-") for w in words[::2]), words
    return words


def test_the_github_actions_service_starts_healthy_and_the_jobs_steps_pass(
    containers: Containers, engine: Engine
) -> None:
    job = recipe("github-actions.yml")["jobs"]["test"]
    service = job["services"]["fakevoipbin"]
    assert service["ports"] == [f"{PORT}:{PORT}"]
    fake = containers.start(
        env={k: str(v) for k, v in service["env"].items()},
        options=tuple(health_options(service["options"])),
    )
    wait_until(lambda: health_check_passes(engine, fake), "the service's --health-cmd to pass")
    # The job's env and steps, with the published port in place of 8088 on the runner.
    runner = f"localhost:{fake.host_port}"
    env = {k: str(v).replace("localhost:8088", runner) for k, v in job["env"].items()}
    steps = [s["run"] for s in job["steps"] if "run" in s and s["run"] != "make test"]
    assert len(steps) == 2
    out = []
    for step in steps:
        done = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", step.replace("localhost:8088", runner)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{step}\n{done.stdout}{done.stderr}"
        out.append(done.stdout)
    assert TUTORIAL_KEY_ID in out[0]
    assert '"fake":"fakevoipbin"' in out[1].replace(" ", "")


def test_the_gitlab_service_answers_the_jobs_script_by_its_alias(
    containers: Containers,
) -> None:
    job = recipe("gitlab-ci.yml")["client-tests"]
    (service,) = job["services"]
    network = containers.network()
    containers.start(
        env={k: str(v) for k, v in service["variables"].items()},
        publish=False,
        options=("--network", network, "--network-alias", service["alias"]),
    )
    script = "\n".join([*job["before_script"], *job["script"]])
    options = ["--network", network, "--entrypoint", "sh"]
    for key, value in job["variables"].items():
        options += ["-e", f"{key}={value}"]
    # The job's image (python:3.12-slim) stands in as the image under test, which has Python.
    done = containers.run_once("-ec", script, options=tuple(options))
    assert done.returncode == 0, done.stdout + done.stderr
    assert TUTORIAL_KEY_ID in done.stdout


def _compose_env(service: dict[str, Any]) -> list[str]:
    return [arg for k, v in service["environment"].items() for arg in ("-e", f"{k}={v}")]


def _expand(text: str, env: dict[str, str]) -> str:
    """compose's ``${NAME:-default}``."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), text)


def test_compose_runs_the_client_beside_the_fake_through_intercept(
    containers: Containers, engine: Engine, image: str
) -> None:
    compose = recipe("compose.yaml")
    names = {"FAKEVOIPBIN_IMAGE": image, "CLIENT_IMAGE": image}
    fake_spec, client_spec = compose["services"]["fakevoipbin"], compose["services"]["client"]
    assert client_spec["depends_on"] == {"fakevoipbin": {"condition": "service_healthy"}}
    network = containers.network()
    volumes = {name: containers.volume() for name in compose["volumes"]}

    def mounts(service: dict[str, Any]) -> list[str]:
        out = []
        for mount in service["volumes"]:
            source, _, rest = mount.partition(":")
            out += ["-v", f"{volumes[source]}:{rest}"]
        return out

    test = fake_spec["healthcheck"]["test"]
    assert test[0] == "CMD"
    fake = containers.start(
        publish=False,
        image=_expand(fake_spec["image"], names),
        options=(
            "--network", network, "--network-alias", "fakevoipbin",
            *_compose_env(fake_spec), *mounts(fake_spec),
            "--health-cmd", shlex.join(test[1:]),
        ),
    )  # fmt: skip
    # depends_on: service_healthy, as compose waits for it.
    wait_until(lambda: health_check_passes(engine, fake), "the fake's healthcheck to pass")
    entrypoint, command = client_spec["entrypoint"], client_spec["command"]
    done = containers.run_once(
        *entrypoint[1:],
        *command,
        image=_expand(client_spec["image"], names),
        options=(
            "--network", network, *_compose_env(client_spec), *mounts(client_spec),
            "--entrypoint", entrypoint[0],
        ),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "My New Accesskey" in done.stdout
    # The fake journaled it as an intercepted call.
    token = fake_spec["environment"]["FAKEVOIPBIN_CONTROL_TOKEN"]
    probe = ("--network", network, "--entrypoint", "python3")
    journal = containers.run_once(
        "-c",
        "import urllib.request as u; print(u.urlopen(u.Request("
        "'http://fakevoipbin:8088/_fake/journal', "
        f"headers={{'X-Fake-Control-Token': '{token}'}})).read().decode())",
        options=probe,
    )
    assert '"intercepted": true' in journal.stdout.replace('":true', '": true'), journal.stdout


@pytest.fixture
def docker_api(engine: Engine) -> Any:
    """The engine's Docker-compatible API, as Testcontainers finds it."""
    if engine.name == "docker":
        yield {}
        return
    folder = Path(tempfile.mkdtemp(prefix="fvb-api-"))
    sock = folder / "podman.sock"
    service = subprocess.Popen(
        engine.command("system", "service", "--time=0", f"unix://{sock}"),
        env={**os.environ, **engine.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        if not sock.exists():
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(sock))
            except OSError:
                return False
            return True

    try:
        wait_until(answers, "podman's Docker-compatible API to listen")
        yield {
            "DOCKER_HOST": f"unix://{sock}",
            "TESTCONTAINERS_RYUK_DISABLED": "true",
            "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
        }
    finally:
        service.terminate()
        service.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_python_testcontainers_recipe_runs_as_written(
    docker_api: dict[str, str], image: str, tmp_path: Path
) -> None:
    shutil.copy(RECIPES / "test_with_testcontainers.py", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEVOIPBIN_", "PYTEST_"))}
    env |= docker_api | {"FAKEVOIPBIN_IMAGE": image}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:fakevoipbin",
         "test_with_testcontainers.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout + done.stderr


def _python_recipe() -> dict[str, Any]:
    text = (RECIPES / "test_with_testcontainers.py").read_text(encoding="utf-8")
    image = re.search(r'os\.environ\.get\("(\w+)", "([^"]+)"\)', text)
    assert image
    env = dict(re.findall(r'\.with_env\("(\w+)", (\w+|"[^"]*")\)', text))
    constants = dict(re.findall(r'^(\w+) = "([^"]*)"$', text, re.M))
    return {
        "image": image.groups(),
        "env": {k: constants.get(v, v.strip('"')) for k, v in env.items()},
        "port": re.search(r"with_exposed_ports\((\d+)\)", text).group(1),  # type: ignore[union-attr]
        "wait": re.search(
            r'HttpWaitStrategy\((\d+), "([^"]+)"\)\.for_status_code\((\d+)\)', text
        ).groups(),  # type: ignore[union-attr]
    }


def test_the_go_and_java_recipes_name_the_same_image_variables_port_and_wait() -> None:
    py = _python_recipe()
    assert py["wait"] == (str(PORT), "/ping", "200") and py["port"] == str(PORT)
    go = (RECIPES / "fakevoipbin_test.go").read_text(encoding="utf-8")
    assert f'os.Getenv("{py["image"][0]}")' in go and f'image = "{py["image"][1]}"' in go
    assert dict(re.findall(r'"(FAKEVOIPBIN_\w+)":\s+"([^"]*)"', go)) == py["env"]
    assert f'"{PORT}/tcp"' in go and 'wait.ForHTTP("/ping").WithPort("8088/tcp")' in go
    assert "status == 200" in go
    java = (RECIPES / "FakeVoipbinTest.java").read_text(encoding="utf-8")
    assert f'getOrDefault("{py["image"][0]}", "{py["image"][1]}")' in java
    assert dict(re.findall(r'\.withEnv\("(\w+)", "([^"]*)"\)', java)) == py["env"]
    assert f".withExposedPorts({PORT})" in java
    assert f'Wait.forHttp("/ping").forPort({PORT}).forStatusCode(200)' in java


def test_every_recipe_is_checked_and_named_on_the_page() -> None:
    page = (RECIPES.parent / "any-language.md").read_text(encoding="utf-8")
    for path in sorted(RECIPES.iterdir()):
        assert f"recipes/{path.name}" in page, f"{path.name} is not on the page"
    checked = Path(__file__).read_text(encoding="utf-8")
    for path in sorted(RECIPES.iterdir()):
        assert path.name in checked, f"no check reads {path.name}"
