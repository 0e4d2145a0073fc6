"""fakevoipbin proxy and run --upstream as commands (subprocesses) in front of a fake
upstream served in this process (tests/proxy/test_app.py's recording Upstream)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from ..conftest import ADMIN_LOGIN
from ..test_run import cases
from ..test_server import CLI
from ..test_server import start as start_serve
from ..test_server import stop as stop_serve
from .test_app import PLANTED, Edit, Upstream, closed_port, drifting, json_edit

READY = re.compile(r"fakevoipbin proxy ready on (http://\S+/v1\.0) \(upstream (\S+)\)")
TIMEOUT = 20


class Proc:
    """A fakevoipbin subprocess: stdout read line by line by a thread (so every wait
    has a timeout), stderr to a file (so a chatty log never blocks it)."""

    def __init__(self, args: list[str], tmp: Path, env: dict[str, str] | None = None) -> None:
        self.err_path = tmp / f"stderr-{id(self)}.txt"
        self._err = self.err_path.open("w")
        self.proc = subprocess.Popen(
            [*CLI, *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.out: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ready(self) -> str:
        """The proxy's URL, once its ready line is out."""
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError("no ready line:\n" + "".join(self.out)) from None
            if line is None:
                raise AssertionError(
                    "exited before ready:\n" + "".join(self.out) + self.err_path.read_text()
                )
            self.out.append(line)
            found = READY.search(line)
            if found:
                self.url = found.group(1)
                return self.url

    @property
    def root(self) -> str:
        return self.url.removesuffix("/v1.0")

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        """Signal it, wait for it; its exit code, whole stdout and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
            raise
        self._reader.join(timeout=TIMEOUT)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.out.append(line)
        self._err.close()
        return code, "".join(self.out), self.err_path.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        self._err.close()


@pytest.fixture
def make_upstream() -> Iterator[Callable[..., Upstream]]:
    made: list[Upstream] = []

    def make(profile: str = "docs", edit: Edit | None = None) -> Upstream:
        up = Upstream(profile, edit)
        made.append(up)
        return up.start()

    yield make
    for up in made:
        up.stop()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    made: list[Proc] = []

    def make(*args: str, env: dict[str, str] | None = None) -> Proc:
        p = Proc(list(args), tmp_path, env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.kill()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=TIMEOUT, env=env)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --- 2. a drifting upstream, through the command ------------------------------------


@pytest.mark.parametrize("strict", [False, True])
def test_the_proxy_reports_an_upstreams_drift(
    make_upstream: Callable[..., Upstream],
    spawn: Callable[..., Proc],
    tmp_path: Path,
    strict: bool,
) -> None:
    up = make_upstream(edit=json_edit(drifting))
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    args = ["proxy", "--upstream", up.url, "--port", "0", "--profile", "docs"]
    args += ["--report", str(report), "--junit", str(junit)] + (["--strict"] if strict else [])
    p = spawn(*args)
    p.ready()
    with httpx.Client(timeout=10, params={"accesskey": up.accesskey}) as c:
        created = c.post(p.url + "/accesskeys", json={"name": "drift", "expire": 86400})
        assert created.status_code == 200
        assert created.content == up.seen[-1].body  # the drifted answer, as sent
        got = c.get(f"{p.url}/accesskeys/{created.json()['id']}")
        assert got.status_code == 200 and got.json()["token"] == PLANTED
    code, out, err = p.stop()
    assert code == (1 if strict else 0), out + err
    doc = json.loads(report.read_text())
    assert doc["upstream"] == up.url
    found = {(d["operation"], d["rule"]): d for d in doc["drift"]}
    token = found[("GetAccesskeysId", "token-only-on-create")]
    expire = found[("PostAccesskeys", "expire-arithmetic")]
    assert PLANTED not in json.dumps(doc) and PLANTED not in out + err
    assert PLANTED[:11] + "…" in token["evidence"]
    assert created.json()["token"] not in json.dumps(doc)
    assert "86400" in expire["evidence"] and expire["status"] == 200
    assert token["method"] == "GET" and expire["method"] == "POST"
    assert doc["drift_count"] == len(doc["drift"]) >= 2
    drift_table = out[out.index("production drift") :]
    assert "GetAccesskeysId" in drift_table and "token-only-on-create" in drift_table
    assert "PostAccesskeys" in drift_table and "expire-arithmetic" in drift_table
    found_cases = cases(ET.fromstring(junit.read_text()))
    for op_id, rule in (
        ("GetAccesskeysId", "token-only-on-create"),
        ("PostAccesskeys", "expire-arithmetic"),
    ):
        failures = [
            f for f in found_cases[op_id].iter("failure") if f.get("type") == "upstream drift"
        ]
        assert any(rule in (f.get("message") or "") for f in failures), op_id
    assert PLANTED not in junit.read_text()


# --- 3. run --upstream --------------------------------------------------------------

ENV_CLIENT = """
import json, os, sys, urllib.error, urllib.request
names = ("FAKEVOIPBIN_URL", "VOIPBIN_API_BASE_URL", "FAKEVOIPBIN_ACCESSKEY", "VOIPBIN_API_KEY")
env = {n: os.environ.get(n) for n in names}
url = env["VOIPBIN_API_BASE_URL"] + "/accesskeys?accesskey=" + env["VOIPBIN_API_KEY"]
try:
    with urllib.request.urlopen(url, timeout=10) as r:
        env["status"] = r.status
except urllib.error.HTTPError as e:
    env["status"] = e.code
open(sys.argv[1], "w").write(json.dumps(env))
sys.exit(int(sys.argv[2]))
"""


def env_without_key() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "VOIPBIN_API_KEY"}


@pytest.mark.parametrize("given", ["flag", "env"])
def test_run_through_a_proxy_exports_the_proxy_and_the_key(
    make_upstream: Callable[..., Upstream], tmp_path: Path, given: str
) -> None:
    up = make_upstream()
    seen, report = tmp_path / "env.json", tmp_path / "r.json"
    env = env_without_key()
    args = ["run", "--upstream", up.url, "--report", str(report)]
    if given == "flag":
        args += ["--accesskey", up.accesskey]
        exit_code = "3"
    else:
        env["VOIPBIN_API_KEY"] = up.accesskey
        exit_code = "0"
    r = cli(*args, "--", sys.executable, "-c", ENV_CLIENT, str(seen), exit_code, env=env)
    assert r.returncode == int(exit_code), r.stdout + r.stderr
    got = json.loads(seen.read_text())
    upstream_port = up.url.split(":")[2].split("/")[0]
    assert got["VOIPBIN_API_BASE_URL"] == got["FAKEVOIPBIN_URL"]
    assert got["VOIPBIN_API_BASE_URL"].startswith("http://127.0.0.1:")
    assert got["VOIPBIN_API_BASE_URL"].endswith("/v1.0")
    assert f":{upstream_port}/" not in got["VOIPBIN_API_BASE_URL"]
    assert got["VOIPBIN_API_KEY"] == got["FAKEVOIPBIN_ACCESSKEY"] == up.accesskey
    assert got["status"] == 200
    assert [s.path for s in up.seen] == ["/v1.0/accesskeys"]  # it went through the proxy
    doc = json.loads(report.read_text())
    assert doc["upstream"] == up.url
    assert doc["requests"] == 1
    assert doc["operations"]["GetAccesskeys"]["calls"] == 1
    assert doc["client_exit_code"] == int(exit_code)
    assert up.accesskey not in r.stdout + r.stderr + report.read_text()


def test_run_through_a_proxy_without_a_key_never_runs_cmd(
    make_upstream: Callable[..., Upstream], tmp_path: Path
) -> None:
    up = make_upstream()
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')"
    r = cli("run", "--upstream", up.url, "--", sys.executable, "-c", code, env=env_without_key())
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert "--accesskey" in line and "VOIPBIN_API_KEY" in line
    assert not marker.exists()
    assert up.seen == []


def test_run_upstream_refuses_fixtures_in_one_line(make_upstream: Callable[..., Upstream]) -> None:
    up = make_upstream()
    r = cli("run", "--upstream", up.url, "--fixtures", "x", "--accesskey", "k", "--", "true")
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert "--fixtures" in line and "--upstream" in line
    assert "Traceback" not in r.stderr


# --- 4. refusals and starts -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["proxy", "--port", "0", "--upstream", "http://10.255.255.1/v1.0"],
        ["run", "--upstream", "http://example.com/v1.0", "--accesskey", "k", "--", "true"],
    ],
    ids=["proxy", "run"],
)
def test_a_plain_http_upstream_off_loopback_is_refused(args: list[str]) -> None:
    r = cli(*args)
    assert r.returncode == 2
    line = one_line(r.stderr)
    assert "not a loopback address" in line and "--allow-insecure-upstream" in line
    assert "Traceback" not in r.stderr
    assert "ready on" not in r.stdout


@pytest.mark.parametrize(
    "upstream",
    [
        "ALLOW",
        "http://127.0.0.1:{port}/v1.0",
        "http://localhost:{port}/v1.0",
        "http://[::1]:{port}/v1.0",
    ],
)
def test_allowed_upstreams_start_and_stop(spawn: Callable[..., Proc], upstream: str) -> None:
    if upstream == "ALLOW":
        args = ["--upstream", "http://10.255.255.1/v1.0", "--allow-insecure-upstream"]
    else:
        args = ["--upstream", upstream.format(port=closed_port())]
    p = spawn("proxy", "--port", "0", *args)
    p.ready()
    with httpx.Client(timeout=10) as c:
        assert c.get(p.root + "/_fake/health").json()["proxy"] == "fakevoipbin"
    code, out, err = p.stop()
    assert code == 0, out + err
    assert "fakevoipbin proxy stopped" in out
    assert "Traceback" not in err


def test_a_bad_flag_and_a_missing_upstream_are_usage_errors() -> None:
    r = cli("proxy", "--upstrem", "x")
    assert r.returncode == 2
    assert "usage: fakevoipbin proxy" in r.stderr and "--upstrem" in r.stderr
    r = cli("proxy")
    assert r.returncode == 2
    assert "usage: fakevoipbin proxy" in r.stderr and "--upstream" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_busy_port_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        r = cli("proxy", "--port", str(port), "--upstream", "http://127.0.0.1:9/v1.0")
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in one_line(r.stderr)
    assert "Traceback" not in r.stderr
    assert "ready on" not in r.stdout


# --- 5. no secret anywhere the proxy writes -------------------------------------------


def test_no_secret_reaches_anything_the_proxy_writes(
    make_upstream: Callable[..., Upstream], spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    up = make_upstream()
    report, junit, record = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "rec.yaml"
    page = tmp_path / "r.html"
    p = spawn(
        "proxy",
        "--upstream",
        up.url,
        "--port",
        "0",
        "--profile",
        "docs",
        "--log-level",
        "debug",
        "--report",
        str(report),
        "--junit",
        str(junit),
        "--html",
        str(page),
        "--record",
        str(record),
    )
    p.ready()
    key = up.accesskey
    sent_secret = "whsec_SENTbyTHEclient_0123456789"
    secrets = [key, ADMIN_LOGIN["password"], sent_secret]
    with httpx.Client(timeout=10) as c:
        customer = c.get(p.url + "/customer", params={"accesskey": key})
        assert customer.status_code == 200
        secrets.append(customer.json()["webhook_secret"])
        c.get(p.url + "/accesskeys", headers={"Authorization": f"Bearer {key}"})
        c.get(p.url + "/accesskeys", headers={"Cookie": f"accesskey={key}"})
        for name in ("one", "two"):
            made = c.post(
                p.url + "/accesskeys",
                params={"accesskey": key},
                json={"name": name, "expire": 86400},
            )
            assert made.status_code == 200, made.text
            secrets.append(made.json()["token"])
        login = c.post(p.root + "/auth/login", json=ADMIN_LOGIN)
        assert login.status_code == 200
        jwt = login.json()["token"]
        secrets += [jwt, jwt.split(".")[2]]
        c.get(p.url + "/customer", headers={"Authorization": f"Bearer {jwt}"})
        c.get(p.url + "/customer", params={"token": jwt})
        put = c.put(
            p.url + "/customer",
            params={"accesskey": key},
            json={"name": "n", "webhook_secret": sent_secret, "password": ADMIN_LOGIN["password"]},
        )
        assert put.status_code == 200
        journal = c.get(p.root + "/_fake/journal")
        assert journal.status_code == 200 and len(journal.json()["entries"]) == 9
    code, out, err = p.stop()
    assert code == 0, out + err
    assert "fakevoipbin.access" in err  # the access log ran
    written = {
        "stdout": out,
        "stderr": err,
        "journal": journal.text,
        "report": report.read_text(),
        "junit": junit.read_text(),
        "html": page.read_text(encoding="utf-8"),
        "record": record.read_text(),
    }
    assert 'id="drift"' in written["html"]  # behind a proxy, the drift section
    for where, text in written.items():
        for secret in secrets:
            assert secret not in text, (where, secret[:11])


# --- 6. --record, loaded by serve -----------------------------------------------------


def test_a_recording_loads_in_serve_with_fresh_tokens_only(
    make_upstream: Callable[..., Upstream], spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    up = make_upstream()
    record = tmp_path / "rec.yaml"
    p = spawn("proxy", "--upstream", up.url, "--port", "0", "--record", str(record))
    p.ready()
    with httpx.Client(timeout=10, params={"accesskey": up.accesskey}) as c:
        kept = c.post(p.url + "/accesskeys", json={"name": "kept", "expire": 31536000}).json()
        gone = c.post(p.url + "/accesskeys", json={"name": "gone", "expire": 86400}).json()
        assert c.delete(f"{p.url}/accesskeys/{gone['id']}").status_code == 200
        assert c.get(f"{p.url}/accesskeys/{kept['id']}").status_code == 200
    code, out, err = p.stop()
    assert code == 0, out + err
    assert f"to {record}" in out
    doc = yaml.safe_load(record.read_text(encoding="utf-8"))
    keys = {k["id"]: k for cu in doc["customers"] for k in cu.get("keys", [])}
    assert kept["id"] in keys
    new_token = keys[kept["id"]]["token"]
    assert new_token.startswith("vb_")
    # The file must not hold the upstream's token (proxy/record.py draws "fresh" tokens
    # from Seeds(seed)'s token stream, the one a fake of that seed gives its keys).
    assert new_token != kept["token"], "the recording wrote the upstream's real token"
    served = start_serve("--fixtures", str(record))
    try:
        status, _, _ = served.request("GET", f"/accesskeys?accesskey={new_token}")
        assert status == 200
        status, _, _ = served.request("GET", f"/accesskeys?accesskey={kept['token']}")
        assert status == 401
    finally:
        code, _ = stop_serve(served)
    assert code == 0


def test_a_proxy_with_no_traffic_points_at_its_own_url_not_at_a_cmd(
    spawn: Callable[..., Proc],
) -> None:
    """A proxy runs no CMD: its "no request" line asks whether the client was sent to
    the proxy, naming the proxy's URL."""
    p = spawn("proxy", "--port", "0", "--upstream", f"http://127.0.0.1:{closed_port()}/v1.0")
    url = p.ready()
    code, out, err = p.stop()
    assert code == 0, out + err
    line = next(x for x in out.splitlines() if "made no request" in x)
    assert line == (
        f"fakevoipbin proxy: the client made no request to the proxy at "
        f"{url.removesuffix('/v1.0')}; did the client send its requests to {url}?"
    )
    assert "CMD" not in out and "FAKEVOIPBIN_URL" not in out


# --- 5. the proxy's own answers, in run's report ------------------------------------


def test_run_upstream_counts_an_unreachable_upstreams_502_under_its_operation(
    tmp_path: Path,
) -> None:
    """The user's case: ``run --upstream`` to an upstream that is down. The 502 is the
    proxy's own answer, counted under GetAccesskeys, not filed as a route openapi.yaml
    does not describe."""
    seen, report = tmp_path / "env.json", tmp_path / "r.json"
    upstream = f"http://127.0.0.1:{closed_port()}/v1.0"
    args = ["run", "--upstream", upstream, "--accesskey", "k", "--report", str(report)]
    r = cli(*args, "--", sys.executable, "-c", ENV_CLIENT, str(seen), "0", env=env_without_key())
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(seen.read_text())["status"] == 502
    assert "does not describe" not in r.stdout
    (row,) = [line for line in r.stdout.splitlines() if line.startswith("GetAccesskeys ")]
    assert row.split()[1:3] == ["1", "502×1"]
    doc = json.loads(report.read_text())
    assert doc["operations"]["GetAccesskeys"]["calls"] == 1
    assert doc["unmodelled"] == []


def test_upstream_timeout_is_an_option_of_proxy_and_run() -> None:
    for face in ("proxy", "run"):
        r = cli(face, "--help")
        assert "--upstream-timeout SECONDS" in r.stdout
    r = cli("proxy", "--upstream", "http://127.0.0.1:1/v1.0", "--upstream-timeout", "0")
    assert r.returncode == 2
    assert (
        "argument --upstream-timeout: the upstream timeout is a number of seconds"
        in (r.stderr.strip().splitlines()[-1])
    )
    r = cli("run", "--upstream-timeout", "5", "--", "true")
    assert r.returncode == 2
    assert "--upstream-timeout needs --upstream" in one_line(r.stderr)
