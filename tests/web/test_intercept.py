"""``--intercept`` (web/intercept.py): the fake's port as an HTTPS proxy for
api.voipbin.net, over real sockets and subprocesses. Nothing here leaves the machine:
api.voipbin.net is answered by the fake itself, and the tunnel's other host is a
local echo server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakevoipbin.web.intercept import parse_connect, verdict

from ..conftest import TUTORIAL_KEY_ID, TUTORIAL_TOKEN
from ..test_server import CLI, Served, start, stop

API = "https://api.voipbin.net/v1.0"


def _port(served: Served) -> int:
    return int(served.url.rsplit(":", 1)[1].split("/", 1)[0])


def _journal(served: Served) -> list[dict[str, object]]:
    r = httpx.get(f"http://127.0.0.1:{_port(served)}/_fake/journal", trust_env=False)
    assert r.status_code == 200
    entries: list[dict[str, object]] = r.json()["entries"]
    return entries


@pytest.fixture
def intercepting(tmp_path: Path) -> Iterator[Served]:
    served = start("--intercept", "--tls-dir", str(tmp_path))
    yield served
    if served.proc.poll() is None:
        stop(served)


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[int]:
    """A plain TCP echo server on 127.0.0.1: the tunnel's "other host"."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _connect(port: int, head: bytes) -> tuple[socket.socket, bytes]:
    """A raw connection to the fake that sent ``head``, and the answer's head."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return sock, answer


def _refusal(port: int, head: bytes) -> bytes:
    """The whole answer to ``head``, read until the fake closes."""
    sock, answer = _connect(port, head)
    with sock:
        while chunk := sock.recv(4096):
            answer += chunk
    return answer


# --- the rules, without a socket ---------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "parsed"),
    [
        (b"CONNECT api.voipbin.net:443 HTTP/1.1\r\n\r\n", ("api.voipbin.net", 443)),
        (b"CONNECT API.VoIPbin.net:443 HTTP/1.0\r\nHost: x\r\n\r\n", ("api.voipbin.net", 443)),
        (b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n", ("::1", 8443)),
        (b"CONNECT api.voipbin.net HTTP/1.1\r\n\r\n", None),
        (b"CONNECT api.voipbin.net:0 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT api.voipbin.net:99999 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT a/b:443 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT [nope]:443 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT \xff:443 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT api.voipbin.net:443 SPDY/3\r\n\r\n", None),
    ],
)
def test_parse_connect_takes_host_and_port_or_nothing(
    head: bytes, parsed: tuple[str, int] | None
) -> None:
    assert parse_connect(head) == parsed


def test_verdict_intercepts_the_fakes_names_at_443_and_tunnels_others_on_loopback_only() -> None:
    names = frozenset({"localhost", "127.0.0.1", "api.voipbin.net"})
    assert verdict("api.voipbin.net", 443, names, True)[0] == "intercept"
    assert verdict("api.voipbin.net", 443, names, False)[0] == "intercept"
    what, why = verdict("api.voipbin.net", 80, names, True)
    assert what == "refuse" and "443" in why
    assert verdict("127.0.0.1", 9000, names, True)[0] == "tunnel"
    assert verdict("example.org", 443, names, True)[0] == "tunnel"
    what, why = verdict("example.org", 443, names, False)
    assert what == "refuse" and "loopback" in why


# --- serve --intercept -----------------------------------------------------------------


def test_curl_through_the_proxy_gets_the_tutorial_key_and_the_journal_marks_it(
    intercepting: Served, tmp_path: Path
) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is needed for this test"
    port = _port(intercepting)
    r = subprocess.run(
        [
            curl,
            "-sS",
            "--proxy",
            f"http://127.0.0.1:{port}",
            "--cacert",
            str(tmp_path / "ca.pem"),
            f"{API}/accesskeys?accesskey={TUTORIAL_TOKEN}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)},
    )
    assert r.returncode == 0, r.stderr
    assert [k["id"] for k in json.loads(r.stdout)["result"]][0] == TUTORIAL_KEY_ID
    # The same fake answers plain requests on the same port, unmarked.
    status, _headers, _raw = intercepting.request("GET", f"/accesskeys?accesskey={TUTORIAL_TOKEN}")
    assert status == 200
    entries = _journal(intercepting)
    assert [(e["operation_id"], e["intercepted"]) for e in entries[:2]] == [
        ("GetAccesskeys", True),
        ("GetAccesskeys", False),
    ]
    assert "intercept:" in "\n".join(intercepting.banner)


CLIENTS = """
import json, sys, urllib.request
import httpx
url = sys.argv[1]
seen = {"httpx": httpx.get(url).status_code}
with urllib.request.urlopen(url, timeout=10) as resp:
    seen["urllib"] = resp.status
print(json.dumps(seen))
"""


def test_httpx_and_urllib_with_only_the_proxy_and_the_ca_in_the_environment(
    intercepting: Served, tmp_path: Path
) -> None:
    proxy = f"http://127.0.0.1:{_port(intercepting)}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HTTPS_PROXY": proxy,
        "https_proxy": proxy,
        "SSL_CERT_FILE": str(tmp_path / "ca.pem"),
    }
    r = subprocess.run(
        [sys.executable, "-c", CLIENTS, f"{API}/accesskeys?accesskey={TUTORIAL_TOKEN}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"httpx": 200, "urllib": 200}
    assert [e["intercepted"] for e in _journal(intercepting)[:2]] == [True, True]


def test_login_at_the_hosts_root_through_the_tunnel(intercepting: Served, tmp_path: Path) -> None:
    with httpx.Client(
        proxy=f"http://127.0.0.1:{_port(intercepting)}",
        verify=ssl.create_default_context(cafile=str(tmp_path / "ca.pem")),
        trust_env=False,
    ) as client:
        r = client.post(
            "https://api.voipbin.net/auth/login",
            json={"username": "admin@example.com", "password": "admin-password"},
        )
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        again = client.get(f"{API}/accesskeys", headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 200, again.text
    entries = _journal(intercepting)
    assert [(e["method"], e["intercepted"]) for e in entries[:2]] == [
        ("POST", True),
        ("GET", True),
    ]


def test_connect_to_another_host_is_tunnelled_unchanged_on_loopback(echo: int) -> None:
    served = start("--intercept")
    try:
        sock, answer = _connect(
            _port(served), f"CONNECT 127.0.0.1:{echo} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        with sock:
            assert answer.startswith(b"HTTP/1.1 200 ")
            payload = b"GET / HTTP/1.1\r\n\r\n\x00\xffnot even http"
            sock.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = sock.recv(4096)
                assert chunk, "the tunnel closed early"
                got += chunk
            assert got == payload
            sock.shutdown(socket.SHUT_WR)  # our side ends: the echo server's end follows
            assert sock.recv(4096) == b""
    finally:
        code, log = stop(served)
    assert code == 0
    assert f"tunnelling CONNECT 127.0.0.1:{echo} unchanged" in log
    assert "not even http" not in log and "Traceback" not in log


def test_connect_to_another_host_is_refused_off_loopback(echo: int) -> None:
    served = start("--intercept", "--host", "0.0.0.0", "--control-token", "s3cret-token")
    try:
        answer = _refusal(_port(served), f"CONNECT 127.0.0.1:{echo} HTTP/1.1\r\n\r\n".encode())
    finally:
        code, log = stop(served)
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert b"only while it listens on loopback" in answer
    assert code == 0 and "Traceback" not in log and "tunnelling" not in log


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"CONNECT api.voipbin.net:80 HTTP/1.1\r\n\r\n", b"403"),
        (b"CONNECT nonsense HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT \x00\x01\x02 garbage\r\n\r\n", b"400"),
        (b"CONNECT " + b"a" * 9000, b"400"),
    ],
)
def test_a_connect_to_the_fakes_host_on_another_port_or_garbage_is_refused_cleanly(
    head: bytes, status: bytes
) -> None:
    served = start("--intercept")
    try:
        answer = _refusal(_port(served), head)
        # The fake still answers afterwards.
        health = httpx.get(f"http://127.0.0.1:{_port(served)}/_fake/health", trust_env=False)
        assert health.status_code == 200
    finally:
        code, log = stop(served)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert answer.count(b"\n") <= 6  # a head and a one-line reason
    assert code == 0 and "Traceback" not in log


def test_intercept_implies_tls_and_is_refused_with_an_upstream() -> None:
    from fakevoipbin.options import OptionError, Options

    assert Options(intercept=True).tls is True
    with pytest.raises(OptionError, match="--intercept"):
        Options(intercept=True, upstream="http://127.0.0.1:9/v1.0")


# --- run --intercept and the Python face ---------------------------------------------------

RUN_CLIENT = """
import json, os, sys
import httpx
names = ("HTTPS_PROXY", "https_proxy", "FAKEVOIPBIN_URL", "VOIPBIN_API_BASE_URL",
         "SSL_CERT_FILE", "FAKEVOIPBIN_CA_FILE")
seen = {n: os.environ.get(n) for n in names}
r = httpx.get("https://api.voipbin.net/v1.0/accesskeys",
              params={"accesskey": os.environ["VOIPBIN_API_KEY"]})
seen["status"] = r.status_code
open(sys.argv[1], "w").write(json.dumps(seen))
"""


def test_run_intercept_gives_the_command_the_proxy_and_counts_its_calls(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    r = subprocess.run(
        [*CLI, "run", "--intercept", "--", sys.executable, "-c", RUN_CLIENT, str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    seen = json.loads(out.read_text())
    assert seen["status"] == 200
    assert seen["HTTPS_PROXY"] == seen["https_proxy"]
    assert seen["HTTPS_PROXY"].startswith("http://127.0.0.1:")
    assert seen["FAKEVOIPBIN_URL"] == seen["VOIPBIN_API_BASE_URL"] == API
    assert seen["SSL_CERT_FILE"] and seen["FAKEVOIPBIN_CA_FILE"]
    assert "GetAccesskeys                    1" in r.stdout


ATTACHED_TEST = """
import httpx

def test_attached(fakevoipbin):
    assert fakevoipbin.attached
    fakevoipbin.reset()
    r = httpx.get(fakevoipbin.url + "/accesskeys", params={"accesskey": fakevoipbin.accesskey})
    assert r.status_code == 200
    assert [e.intercepted for e in fakevoipbin.journal.entries()] == [True]
"""


def test_the_pytest_fixture_attaches_through_the_proxy_under_run_intercept(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_attached.py").write_text(ATTACHED_TEST)
    # Not this run's xdist worker's variables, nor a NO_PROXY that skips the proxy.
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() != "no_proxy" and not k.startswith("PYTEST_")
    }
    r = subprocess.run(
        [
            *CLI,
            "run",
            "--intercept",
            "--",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            str(tmp_path / "test_attached.py"),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout


def test_the_python_face_gives_and_applies_the_client_environment() -> None:
    from fakevoipbin import FakeVoipbin

    names = ("HTTPS_PROXY", "https_proxy", "FAKEVOIPBIN_URL", "SSL_CERT_FILE")
    before = {n: os.environ.get(n) for n in names}
    with FakeVoipbin(intercept=True) as fake:
        env = fake.client_env()
        assert env["HTTPS_PROXY"] == env["https_proxy"] == fake.base_url
        assert env["FAKEVOIPBIN_URL"] == env["VOIPBIN_API_BASE_URL"] == API
        assert env["FAKEVOIPBIN_CA_FILE"] == fake.ca_file
        with fake.environ() as applied:
            assert {n: os.environ.get(n) for n in names} == {n: applied[n] for n in names}
            r = httpx.get(f"{API}/accesskeys", params={"accesskey": fake.accesskey})
            assert r.status_code == 200
        assert {n: os.environ.get(n) for n in names} == before
        assert [e.intercepted for e in fake.journal.entries()] == [True]


REAL_CLIENT = """
import asyncio, json, os, sys
os.environ.pop("VOIPBIN_API_BASE_URL")  # the client's own default: https://api.voipbin.net
from voipbin_mcp.client import DEFAULT_BASE_URL, VoIPbinClient

async def main():
    client = VoIPbinClient()
    try:
        listed = await client.get("/accesskeys", params={"page_size": 10})
    finally:
        await client.close()
    return {"base": client.base_url, "default": DEFAULT_BASE_URL, "listed": listed}

open(sys.argv[1], "w").write(json.dumps(asyncio.run(main())))
"""


def test_voipbins_own_client_with_no_base_url_reaches_the_fake_under_run_intercept(
    tmp_path: Path,
) -> None:
    out = tmp_path / "seen.json"
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    r = subprocess.run(
        [*CLI, "run", "--intercept", "--", sys.executable, "-c", REAL_CLIENT, str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    seen = json.loads(out.read_text())
    assert seen["base"] == seen["default"] == API
    assert TUTORIAL_KEY_ID in [k["id"] for k in seen["listed"]["result"]]
    assert "GetAccesskeys                    1" in r.stdout


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_both_of_uvicorns_parsers_serve_the_tunnel(
    parser: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """h11 is what uvicorn falls back on where httptools is not installed."""
    from fakevoipbin import FakeVoipbin
    from fakevoipbin.web import intercept

    built: list[str] = []

    def protocol(*args: object) -> object:
        made = original(*args, parser=parser)
        built.append(made.__name__)
        return made

    original: Any = intercept.protocol
    monkeypatch.setattr(intercept, "protocol", protocol)
    with FakeVoipbin(intercept=True) as fake, fake.environ():
        with httpx.Client() as client:  # reads HTTPS_PROXY and SSL_CERT_FILE
            for _ in range(2):  # two requests on one tunnel
                r = client.get(f"{API}/accesskeys", params={"accesskey": fake.accesskey})
                assert r.status_code == 200
        plain = httpx.get(
            f"{fake.url}/accesskeys", params={"accesskey": fake.accesskey}, trust_env=False
        )
        assert plain.status_code == 200
        assert [e.intercepted for e in fake.journal.entries()] == [True, True, False]
    expected = "HttpToolsProtocol" if parser == "httptools" else "H11Protocol"
    assert built == [f"InterceptWire{expected}"]
