"""A client's suite against the installed wheel (run by tests/wheel_check.py, in a
fresh venv, with ``python -W error -m pytest -W error``): the fixture, the marker,
``fakevoipbin run`` (against a fake, and ``--upstream`` through a proxy) and
``fakevoipbin serve``. Not collected by ``make test``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

import fakevoipbin as package
import fakevoipbin as public
from fakevoipbin import FakeVoipbin, FaultError

#: The default fixtures' tutorial key: public test data (README, "Fixture credentials").
TUTORIAL_KEY_ID = "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc"
TUTORIAL_TOKEN = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"
CLI = str(Path(sys.executable).parent / "fakevoipbin")
#: Subprocesses turn warnings into errors too.
STRICT_ENV = {**os.environ, "PYTHONWARNINGS": "error"}


def test_the_package_is_the_installed_wheel() -> None:
    assert Path(package.__file__).is_relative_to(sys.prefix), package.__file__
    assert "site-packages" in package.__file__
    assert (Path(package.__file__).parent / "py.typed").is_file()
    dist = importlib.metadata.distribution("fakevoipbin")
    assert dist.version == package.__version__
    assert dist.metadata["License-Expression"] == "MIT"
    (licence,) = [f for f in dist.files or [] if f.name == "LICENSE"]
    assert "fakevoipbin contributors" in licence.read_text()
    # uvicorn alone, with the two speed-ups it picks: not uvicorn[standard]'s extras.
    for present in ("uvicorn", "httptools", "hypothesis"):
        assert importlib.util.find_spec(present) is not None, present
    if sys.platform != "win32":
        assert importlib.util.find_spec("uvloop") is not None
    for absent in ("websockets", "watchfiles", "dotenv"):
        assert importlib.util.find_spec(absent) is None, absent


def test_every_public_name_resolves() -> None:
    assert set(package.__all__) >= {"FakeVoipbin", "Entry", "FaultRule", "Options"}
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert issubclass(FaultError, ValueError)


def test_the_fixture_creates_and_gets_a_key(fakevoipbin: FakeVoipbin) -> None:
    assert fakevoipbin.profile == "docs"
    with fakevoipbin.client(params={"accesskey": fakevoipbin.accesskey}) as c:
        created = c.post("/accesskeys", json={"name": "wheel", "expire": 86400})
        assert created.status_code == 200, created.text
        key = created.json()
        assert key["token"].startswith("vb_") and key["token_prefix"] == key["token"][:11]
        got = c.get(f"/accesskeys/{key['id']}")
        assert got.status_code == 200, got.text
        assert got.json()["name"] == "wheel"
        assert "token" not in got.json()  # only the create shows it
        assert key["token"] not in got.text
    fakevoipbin.journal.assert_called("PostAccesskeys", times=1, status=200)
    fakevoipbin.journal.assert_called("GetAccesskeysId", times=1, status=200)


def test_a_fault_rule_through_the_fixture(fakevoipbin: FakeVoipbin) -> None:
    rule = fakevoipbin.faults.add("GetAccesskeys", status=503, times=1)
    assert isinstance(rule, public.FaultRule)
    with fakevoipbin.client(params={"accesskey": fakevoipbin.accesskey}) as c:
        assert c.get("/accesskeys").status_code == 503
        assert c.get("/accesskeys").status_code == 200
    (first, _) = fakevoipbin.journal.calls("GetAccesskeys")
    assert isinstance(first, public.Entry) and first.fault is not None
    with pytest.raises(public.FaultError):
        fakevoipbin.faults.add("NoSuchOperation", status=503)


@pytest.mark.fakevoipbin(profile="live", seed=3, now="2026-12-01T00:00:00Z")
def test_the_marker_sets_profile_seed_and_clock(fakevoipbin: FakeVoipbin) -> None:
    assert fakevoipbin.profile == "live"
    assert fakevoipbin.clock.frozen
    assert fakevoipbin.clock.now() == datetime(2026, 12, 1, tzinfo=timezone.utc)
    customer_id, token = fakevoipbin.add_customer(name="marked")
    with fakevoipbin.client(params={"accesskey": token}) as c:
        page = c.get("/accesskeys")
    assert page.status_code == 200, page.text
    body = page.json()
    assert [k["customer_id"] for k in body["result"]] == [customer_id]
    assert body["next_page_token"] is not None  # live never sends null


def test_without_the_marker_the_next_test_is_back_to_docs(
    fakevoipbin: FakeVoipbin,
) -> None:
    assert fakevoipbin.profile == "docs"
    assert not fakevoipbin.clock.frozen


CLIENT = """
import json, os, urllib.request
url = os.environ["FAKEVOIPBIN_URL"] + "/accesskeys?accesskey=" + os.environ["VOIPBIN_API_KEY"]
with urllib.request.urlopen(url) as r:
    assert r.status == 200, r.status
    assert "result" in json.load(r)
print("client ok")
"""


def test_run_starts_a_fake_runs_the_client_and_writes_the_report(tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.json"
    r = subprocess.run(
        [CLI, "run", "--report", str(report), "--", sys.executable, "-W", "error", "-c", CLIENT],
        capture_output=True,
        text=True,
        env=STRICT_ENV,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "client ok" in r.stdout
    assert "Warning" not in r.stderr, r.stderr
    data = json.loads(report.read_text())
    assert data["operations"]["GetAccesskeys"]["calls"] == 1
    assert data["operations"]["GetAccesskeys"]["statuses"] == {"200": 1}


def test_run_upstream_checks_the_client_through_a_proxy(tmp_path: Path) -> None:
    report = tmp_path / "proxy.json"
    with FakeVoipbin(profile="live") as upstream:
        url, key = upstream.url, upstream.accesskey
        r = subprocess.run(
            [CLI, "run", "--upstream", url, "--accesskey", key]
            + ["--report", str(report), "--", sys.executable, "-W", "error", "-c", CLIENT],
            capture_output=True,
            text=True,
            env=STRICT_ENV,
            timeout=120,
        )
        assert upstream.journal.calls("GetAccesskeys"), "the request never reached the upstream"
    assert r.returncode == 0, r.stdout + r.stderr
    assert "client ok" in r.stdout
    assert "Warning" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    data = json.loads(report.read_text())
    assert data["upstream"] == url
    assert data["operations"]["GetAccesskeys"]["statuses"] == {"200": 1}
    assert data["drift"] == [] and data["drift_count"] == 0
    assert key not in r.stdout + r.stderr + report.read_text()


def test_serve_answers_on_a_free_port_and_stops_on_sigint() -> None:
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        [CLI, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=STRICT_ENV,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout, proc.stderr
        errors: list[str] = []

        def read() -> None:
            for line in out:
                lines.put(line)
            lines.put("")  # end of output

        def read_err() -> None:
            errors.append(err.read())

        readers = [threading.Thread(target=f, daemon=True) for f in (read, read_err)]
        for reader in readers:
            reader.start()
        try:
            url = None
            while url is None:
                line = lines.get(timeout=60)
                assert line, "serve ended before its ready line"
                if line.startswith("fakevoipbin ready on "):
                    url = line.split()[3]
            r = httpx.get(f"{url}/accesskeys", params={"accesskey": TUTORIAL_TOKEN}, timeout=10)
            assert r.status_code == 200, r.text
            assert TUTORIAL_KEY_ID in [k["id"] for k in r.json()["result"]]
            assert TUTORIAL_TOKEN not in r.text  # a token only in the create's answer
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            for reader in readers:
                reader.join(timeout=10)
    rest = []
    while (line := lines.get(timeout=10)) != "":
        rest.append(line)
    assert "fakevoipbin stopped\n" in rest
    assert "Warning" not in errors[0] and "Traceback" not in errors[0], errors[0]


def test_a_network_fault_over_a_socket_and_in_process() -> None:
    with public.FakeVoipbin(port=0) as fake:
        fake.faults.add("GetAccesskeys", kind="connection_reset")
        with pytest.raises(httpx.ReadError):
            httpx.get(f"{fake.url}/accesskeys", params={"accesskey": fake.accesskey}, timeout=10)
        fake.faults.add("GetAccesskeys", kind="truncated_body")
        with fake.client() as c, pytest.raises(httpx.RemoteProtocolError):
            c.get("/accesskeys", params={"accesskey": fake.accesskey})
        r = httpx.get(f"{fake.url}/accesskeys", params={"accesskey": fake.accesskey}, timeout=10)
        assert r.status_code == 200
