"""The image as a user meets it, each run started from a line of docs/any-language.md:
ready and healthy, the tutorial through the published port, not root, a clean stop
that answers the request in flight, the variables, the control token, attach mode,
state on a volume, HTTPS with a mounted CA folder, a service name and intercept from
another container, and its size."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import TUTORIAL_KEY, TUTORIAL_KEY_ID, TUTORIAL_TOKEN
from tests.image.conftest import (
    IMAGE_UID,
    TUTORIAL_NOW,
    Container,
    Containers,
    get_json,
)
from tests.image.engine import Engine
from tests.image.samples import doc_run, page_blocks, shell_lines, start_run
from tests.image_check import BASE_ENV
from tests.readme_samples import README, blocks, run_curls
from tests.waiting import wait_until

#: The image's size over its base stays under this (the issue's bound).
MAX_ADDED_MB = 80
PLAIN_RUN = "-p 8088:8088 fakevoipbin"
ROOT = Path(__file__).resolve().parent.parent.parent


def keys_url(container: Container) -> str:
    return f"{container.url}/accesskeys?accesskey={TUTORIAL_TOKEN}"


def health_check_passes(engine: Engine, container: Container) -> bool:
    """The image's HEALTHCHECK, run once now (podman cannot schedule it without
    systemd; docker reports the scheduled one's status)."""
    if engine.name == "podman":
        return engine.run("healthcheck", "run", container.name, check=False).returncode == 0
    return container.inspect("{{.State.Health.Status}}") == "healthy"


def test_the_plain_run_serves_the_tutorial_at_once_and_is_healthy(
    containers: Containers, engine: Engine, figures: list[str], tmp_path: Path
) -> None:
    run = doc_run(PLAIN_RUN)
    assert run.env == {} and run.args == []
    run.env["FAKEVOIPBIN_NOW"] = TUTORIAL_NOW  # so the tutorial key's times are the tutorial's
    fake = start_run(containers, run)
    ready = fake.wait_ready()
    figures.append(f"start to ready (run -d to GET /ping 200): {ready:.2f} s")
    wait_until(lambda: health_check_passes(engine, fake), "the HEALTHCHECK to pass", timeout=10)
    # The Quick start's three curls, as printed, through the published port.
    quick = [b for b in blocks(README.read_text(encoding="utf-8")) if "--data-raw" in b.text]
    assert len(quick) == 1
    result, statuses = run_curls(quick[0], tmp_path, f"127.0.0.1:{fake.host_port}", shim=False)
    assert result.returncode == 0 and statuses == [200, 200, 200], result.stderr
    status, got = get_json(f"{fake.url}/accesskeys/{TUTORIAL_KEY_ID}?accesskey={TUTORIAL_TOKEN}")
    assert (status, got) == (200, TUTORIAL_KEY)
    status, page = get_json(keys_url(fake))
    assert status == 200 and page["next_page_token"] is None
    assert [k["name"] for k in page["result"]][-1] == "My New Accesskey"
    assert all("token" not in k for k in page["result"])
    # No token: the control API is off, and the banner says how to turn it on.
    assert get_json(fake.root + "/_fake/health")[0] == 404
    logs = fake.logs()
    assert "FAKEVOIPBIN_CONTROL_TOKEN" in logs and "Traceback" not in logs


def test_it_runs_as_a_user_that_is_not_root(containers: Containers) -> None:
    fake = start_run(containers, doc_run(PLAIN_RUN))
    fake.wait_ready()
    status = fake.exec("python3", "-c", "print(open('/proc/1/status').read())")
    uids = next(line for line in status.stdout.splitlines() if line.startswith("Uid:"))
    assert uids.split()[1:] == [str(IMAGE_UID)] * 4, uids
    assert fake.exec("id", "-u").stdout.strip() == str(IMAGE_UID)
    assert fake.inspect("{{.Config.User}}").startswith(str(IMAGE_UID))


def test_stop_answers_the_request_in_flight_then_exits_0_within_2_s(
    containers: Containers, engine: Engine, figures: list[str]
) -> None:
    fake = containers.start(env={"FAKEVOIPBIN_CONTROL_TOKEN": "stop-token"})
    fake.wait_ready()
    # A list whose body comes in ten pieces over a second: in flight once its head is read.
    conn = http.client.HTTPConnection("127.0.0.1", fake.host_port, timeout=10)
    conn.request(
        "GET",
        f"/v1.0/accesskeys?accesskey={TUTORIAL_TOKEN}",
        headers={"X-Fake-Fault": "slow_body; delay_ms=1000", "X-Fake-Control-Token": "stop-token"},
    )
    answer = conn.getresponse()
    assert answer.status == 200
    stopped: dict[str, object] = {}

    def stop() -> None:
        start = time.monotonic()
        # --time 2: a fake still running 2 s after SIGTERM is killed (exit 137, not 0).
        stopped["result"] = engine.run("stop", "--time", "2", fake.name, check=False)
        stopped["seconds"] = time.monotonic() - start

    stopper = threading.Thread(target=stop)
    stopper.start()
    body = json.loads(answer.read())  # the whole body, after SIGTERM
    stopper.join(timeout=60)
    conn.close()
    assert [k["id"] for k in body["result"]] == [TUTORIAL_KEY_ID]
    assert fake.inspect("{{.State.ExitCode}}") == "0", fake.logs()
    assert "fakevoipbin stopped" in fake.logs()
    figures.append(f"stop with a 1 s request in flight: {stopped['seconds']:.2f} s")
    idle = containers.start()
    idle.wait_ready()
    start = time.monotonic()
    engine.run("stop", "--time", "2", idle.name)
    figures.append(f"stop when idle: {time.monotonic() - start:.2f} s")
    assert idle.inspect("{{.State.ExitCode}}") == "0"


def test_the_variables_take_effect(containers: Containers) -> None:
    run = doc_run("FAKEVOIPBIN_PROFILE=live")
    assert run.env["FAKEVOIPBIN_SEED"] == "7"
    run.env["FAKEVOIPBIN_CONTROL_TOKEN"] = "env-token"  # to read the health
    fake = start_run(containers, run)
    fake.wait_ready()
    status, health = get_json(fake.root + "/_fake/health", {"X-Fake-Control-Token": "env-token"})
    assert status == 200
    assert (health["profile"], health["seed"]) == ("live", 7)
    assert health["clock"]["frozen"] and health["clock"]["now"] == TUTORIAL_NOW
    made = post_key(fake)
    assert made["tm_update"] is None and made["tm_delete"] is None  # live's create
    assert "profile:  live" in fake.logs()


def test_a_bad_variable_stops_it_with_one_line_naming_it(containers: Containers) -> None:
    done = containers.run_once(options=("-e", "FAKEVOIPBIN_PORT=eighty"))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "FAKEVOIPBIN_PORT" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_the_control_api_is_on_only_behind_its_token(
    containers: Containers, tmp_path: Path
) -> None:
    run = doc_run("FAKEVOIPBIN_CONTROL_TOKEN=ci-secret")
    fake = start_run(containers, run)
    fake.wait_ready()
    assert get_json(fake.root + "/_fake/health")[0] == 401
    assert get_json(fake.root + "/_fake/health", {"X-Fake-Control-Token": "wrong"})[0] == 401
    # The page's curl, as written, against the published port.
    curl = next(
        line
        for block in page_blocks()
        for line in shell_lines(block)
        if line.startswith("curl") and "_fake/health" in line
    )
    done = subprocess.run(
        ["bash", "-c", curl.replace("127.0.0.1:8088", f"127.0.0.1:{fake.host_port}")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(done.stdout)["fake"] == "fakevoipbin", done.stdout + done.stderr
    assert "ci-secret" not in fake.logs()


def test_a_client_suite_on_the_host_drives_the_container_in_attach_mode(
    containers: Containers, tmp_path: Path
) -> None:
    fake = start_run(containers, doc_run("FAKEVOIPBIN_CONTROL_TOKEN=ci-secret"))
    fake.wait_ready()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEVOIPBIN_", "PYTEST_"))}
    env |= {"FAKEVOIPBIN_URL": fake.url, "FAKEVOIPBIN_CONTROL_TOKEN": "ci-secret"}
    # The client's own folder, as a client's repository would hold it.
    suite = Path(__file__).with_name("attach_client") / "test_attached.py"
    shutil.copy(suite, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", suite.name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "3 passed" in done.stdout, done.stdout + done.stderr


def post_key(fake: Container, name: str = "made in a container") -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.host_port, timeout=10)
    body = json.dumps({"name": name, "expire": 86400})
    conn.request("POST", f"/v1.0/accesskeys?accesskey={TUTORIAL_TOKEN}", body=body)
    answer = conn.getresponse()
    made: dict[str, object] = json.loads(answer.read())
    conn.close()
    assert answer.status == 200, made
    return made


def test_the_state_volume_survives_a_restart(containers: Containers, engine: Engine) -> None:
    run = doc_run("FAKEVOIPBIN_STATE_FILE")
    volume = containers.volume()
    first = start_run(containers, run, volume=volume)
    first.wait_ready()
    made = post_key(first, "kept on the volume")
    engine.run("stop", "--time", "2", first.name)
    assert first.inspect("{{.State.ExitCode}}") == "0"
    second = start_run(containers, run, volume=volume)
    second.wait_ready()
    status, page = get_json(keys_url(second))
    assert status == 200 and made["id"] in [k["id"] for k in page["result"]]
    assert "state restored from /data/state.json" in second.logs()


def test_tls_with_a_mounted_folder_verifies_from_the_host(
    containers: Containers, tmp_path: Path
) -> None:
    lines = [line for b in page_blocks() for line in shell_lines(b)]
    assert "mkdir -p tls && sudo chown 10001 tls" in lines
    (tmp_path / "tls").mkdir()
    os.chown(tmp_path / "tls", IMAGE_UID, -1)  # the page's chown (the checks run as root)
    fake = start_run(containers, doc_run("FAKEVOIPBIN_TLS=1"), folder=tmp_path)
    ca = tmp_path / "tls" / "ca.pem"
    wait_until(ca.exists, "the container to write its CA to the mounted folder")
    fake.wait_ready("https", context=ssl.create_default_context(cafile=str(ca)))
    assert not (tmp_path / "tls" / "ca-key.pem").stat().st_mode & 0o077
    curl = next(line for line in lines if line.startswith("curl") and "--cacert" in line)
    done = subprocess.run(
        ["bash", "-c", curl.replace("localhost:8088", f"localhost:{fake.host_port}")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert TUTORIAL_KEY_ID in [k["id"] for k in json.loads(done.stdout)["result"]]


#: A client in another container: GET URL with the CA at /tls/ca.pem, prints the status.
CLIENT = (
    "import sys, ssl, urllib.request as u; "
    "c = ssl.create_default_context(cafile='/tls/ca.pem'); "
    "print(u.urlopen(sys.argv[1], context=c, timeout=10).status)"
)


def _fake_on_a_network(containers: Containers, env: dict[str, str]) -> tuple[Container, str, str]:
    network, volume = containers.network(), containers.volume()
    fake = containers.start(
        env={"FAKEVOIPBIN_TLS_DIR": "/tls", **env},
        options=("--network", network, "--network-alias", "fakevoipbin", "-v", f"{volume}:/tls"),
    )
    return fake, network, volume


def _answer_in_another_container(
    containers: Containers, engine: Engine, env: dict[str, str], url: str, *client_env: str
) -> str:
    """What a client in another container on the fake's network prints for ``url``."""
    fake, network, volume = _fake_on_a_network(containers, env)
    wait_until(lambda: health_check_passes(engine, fake), "the fake to be healthy")
    client = ("--network", network, "-v", f"{volume}:/tls:ro", "--entrypoint", "python3")
    done = containers.run_once("-c", CLIENT, url, options=(*client, *client_env))
    return done.stdout.strip() or done.stderr


def test_a_tls_name_lets_another_container_verify_the_service_name(
    containers: Containers, engine: Engine
) -> None:
    env = {"FAKEVOIPBIN_TLS": "1", "FAKEVOIPBIN_TLS_NAMES": "fakevoipbin"}
    url = "https://fakevoipbin:8088/ping"
    assert _answer_in_another_container(containers, engine, env, url) == "200"


def test_intercept_answers_a_client_in_another_container(
    containers: Containers, engine: Engine
) -> None:
    env = {"FAKEVOIPBIN_INTERCEPT": "1", "FAKEVOIPBIN_CONTROL_TOKEN": "i-token"}
    url = f"https://api.voipbin.net/v1.0/accesskeys?accesskey={TUTORIAL_TOKEN}"
    proxy = ("-e", "HTTPS_PROXY=http://fakevoipbin:8088")
    assert _answer_in_another_container(containers, engine, env, url, *proxy) == "200"


def test_the_image_adds_under_80_mb_to_its_base(
    engine: Engine, image: str, figures: list[str]
) -> None:
    base = os.environ.get(BASE_ENV)
    assert base, f"make test-image names the base in {BASE_ENV}"
    added = (engine.image_size(image) - engine.image_size(base)) / 1e6
    figures.append(f"image size over its base ({base}): {added:.1f} MB")
    # What pip installed (the venv), gzipped, as a registry would ship that layer.
    gz = engine.run(
        "run", "--rm", "--entrypoint", "python3", image, "-c",
        "import io, tarfile; b = io.BytesIO(); "
        "t = tarfile.open(fileobj=b, mode='w:gz'); t.add('/opt/fakevoipbin'); t.close(); "
        "print(len(b.getvalue()))",
    )  # fmt: skip
    figures.append(f"what pip installed, gzipped: {int(gz.stdout) / 1e6:.1f} MB")
    assert added < MAX_ADDED_MB


@pytest.mark.parametrize("args", [["--version"], ["serve", "--port", "nope"]])
def test_flags_after_the_image_reach_the_cli(containers: Containers, args: list[str]) -> None:
    done = containers.run_once(*args)
    if args == ["--version"]:
        assert done.returncode == 0 and done.stdout.startswith("fakevoipbin "), done.stderr
    else:
        assert done.returncode == 2 and "not a port number" in done.stderr
        assert "Traceback" not in done.stderr
