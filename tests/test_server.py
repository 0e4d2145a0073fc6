"""The standalone face: ``fakevoipbin serve`` over a real socket, and ``--version``."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakevoipbin import PRODUCTION_COMMIT, __version__

from . import spec_check
from .conftest import CREATED_FIELDS, SECOND_TOKEN, TUTORIAL_KEY, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

CLI = [sys.executable, "-m", "fakevoipbin"]


class Served:
    def __init__(self, proc: subprocess.Popen[str], banner: list[str], url: str) -> None:
        self.proc = proc
        self.banner = banner
        self.url = url

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, hdrs, raw = err.code, dict(err.headers), err.read()
        full_path = urllib.request.urlparse(self.url + path).path
        spec_check.check(method, full_path, status, raw)
        return status, hdrs, raw


def start(*args: str) -> Served:
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "ready on" in line:
            url = re.search(r"ready on (https?://\S+)", line)
            assert url is not None
            return Served(proc, lines, url.group(1))
    proc.kill()
    raise AssertionError("serve did not become ready:\n" + "\n".join(lines))


def stop(served: Served, sig: int = signal.SIGTERM) -> tuple[int, str]:
    served.proc.send_signal(sig)
    out, _ = served.proc.communicate(timeout=15)
    return served.proc.returncode, out


@pytest.fixture
def server() -> Iterator[Served]:
    s = start("--now", "2026-12-01T10:15:30.123456Z")
    yield s
    if s.proc.poll() is None:
        stop(s)


def test_version_names_the_production_commit_in_one_line() -> None:
    out = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=True).stdout
    assert __version__ in out
    assert PRODUCTION_COMMIT in out
    assert out.count("\n") == 1 and out.endswith("\n"), repr(out)


def test_an_unknown_flag_shows_its_commands_usage() -> None:
    r = subprocess.run(
        [*CLI, "serve", "--prot", "9000"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2
    assert r.stderr.startswith("usage: fakevoipbin serve "), r.stderr
    assert "fakevoipbin serve: error: unrecognized arguments: --prot 9000" in r.stderr
    assert "Traceback" not in r.stderr


def test_now_takes_epoch_seconds_and_its_error_shows_an_example() -> None:
    served = start("--now", "1796120130")
    try:
        assert "frozen at 2026-12-01T10:15:30.000000Z" in "\n".join(served.banner)
    finally:
        stop(served)
    r = subprocess.run(
        [*CLI, "serve", "--now", "tomorrow"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2
    assert "2026-12-01T10:15:30.123456Z" in r.stderr and "1796120130" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_state_file_in_a_missing_folder_is_one_line_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "there"
    r = subprocess.run(
        [*CLI, "serve", "--port", "0", "--state-file", str(folder / "state.json")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(folder) in lines[0] and "does not exist" in lines[0], r.stderr


def test_a_yaml_syntax_error_is_one_line_with_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("version: 1\ncustomers:\n  - id: [unclosed\n")
    r = subprocess.run(
        [*CLI, "serve", "--port", "0", "--fixtures", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert str(bad) in lines[0] and "line 4, column 1" in lines[0], lines[0]


def test_banner_lists_url_profile_seed_and_admin_keys(server: Served) -> None:
    text = "\n".join(server.banner)
    assert re.search(r"url:\s+http://127\.0\.0\.1:\d+/v1\.0", text)
    assert re.search(r"profile:\s+docs", text)
    assert re.search(r"seed:\s+0", text)
    assert TUTORIAL_TOKEN in text and SECOND_TOKEN in text
    assert "admin@example.com" in text
    assert server.banner[-1].startswith("fakevoipbin ready on ")


def test_the_tutorials_three_requests_answer_as_the_tutorial(server: Served) -> None:
    q = f"?accesskey={TUTORIAL_TOKEN}"
    status, headers, raw = server.request(
        "POST",
        "/accesskeys" + q,
        {
            "name": "My New Accesskey",
            "detail": "This key is used for reporting",
            "expire": 31536000,
        },
    )
    assert status == 200
    created = json.loads(raw)
    assert list(created) == CREATED_FIELDS
    assert created["customer_id"] == "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840"
    assert created["id"] != TUTORIAL_KEY_ID
    assert re.fullmatch(r"vb_[A-Za-z0-9_-]{32}", created["token"])
    assert created["token_prefix"] == created["token"][:11]
    assert created["tm_update"] == created["tm_create"]
    assert created["tm_delete"] == "9999-01-01T00:00:00.000000Z"

    status, _, raw = server.request("GET", "/accesskeys" + q)
    assert status == 200
    page = json.loads(raw)
    assert [k["id"] for k in page["result"]] == [created["id"], TUTORIAL_KEY_ID]
    assert page["next_page_token"] is None
    assert all("token" not in k for k in page["result"])

    status, _, raw = server.request("GET", f"/accesskeys/{TUTORIAL_KEY_ID}" + q)
    assert status == 200
    assert json.loads(raw) == TUTORIAL_KEY


def test_serves_its_spec(server: Served) -> None:
    root = server.url.rsplit("/v1.0", 1)[0]
    with urllib.request.urlopen(root + "/openapi.yaml", timeout=10) as resp:
        doc = yaml.safe_load(resp.read())
    ops = {
        op["operationId"]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert "PostAccesskeys" in ops


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_a_signal(sig: int) -> None:
    served = start()
    status, _, _ = served.request("GET", f"/accesskeys?accesskey={TUTORIAL_TOKEN}")
    assert status == 200
    code, out = stop(served, sig)
    assert code == 0
    assert "fakevoipbin stopped" in out
    assert "Traceback" not in out


def test_profile_seed_and_fixtures_options(tmp_path: Path) -> None:
    token = "vb_" + "Q" * 32
    fixtures = tmp_path / "one.yaml"
    fixtures.write_text(
        yaml.safe_dump(
            {
                "customers": [
                    {
                        "id": "11111111-2222-4333-8444-555555555555",
                        "name": "Only",
                        "keys": [{"name": "k", "token": token, "expire": 86400}],
                    }
                ]
            }
        )
    )
    served = start("--profile", "live", "--seed", "7", "--fixtures", str(fixtures))
    try:
        text = "\n".join(served.banner)
        assert re.search(r"profile:\s+live", text) and re.search(r"seed:\s+7", text)
        assert TUTORIAL_TOKEN not in text
        status, _, raw = served.request("GET", f"/accesskeys?accesskey={token}")
        assert status == 200
        assert json.loads(raw)["result"][0]["tm_update"] is None  # live
        status, _, _ = served.request("GET", f"/accesskeys?accesskey={TUTORIAL_TOKEN}")
        assert status == 401  # the default set was replaced
    finally:
        stop(served)


def test_bad_fixtures_and_bad_now_fail_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("customers: [{keys: [{expire: soon}]}]")
    r = subprocess.run(
        [*CLI, "serve", "--port", "0", "--fixtures", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1
    assert "expire" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [*CLI, "serve", "--now", "yesterday"], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2
    assert "RFC 3339" in r.stderr


def test_a_busy_port_fails_with_a_message() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        r = subprocess.run(
            [*CLI, "serve", "--port", str(port)], capture_output=True, text=True, timeout=30
        )
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_access_log_redacts_credentials() -> None:
    served = start()
    served.request("GET", f"/accesskeys?accesskey={TUTORIAL_TOKEN}&page_size=1")
    served.request("GET", f"/accesskeys/{TUTORIAL_TOKEN}?token=abc.def.ghi")
    _, out = stop(served)
    access = [line for line in out.splitlines() if "fakevoipbin.access" in line]
    assert len(access) == 2
    assert TUTORIAL_TOKEN not in out  # the output after the banner
    assert "accesskey=[REDACTED]" in access[0] and "page_size=1" in access[0]
    assert "vb_a3Bf9xKm…" in access[1] and "token=[REDACTED]" in access[1]


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("host", ["[::1]", "::1"])
def test_an_ipv6_host_starts_bare_or_in_brackets_as_the_ready_line_prints_it(host: str) -> None:
    if not _has_ipv6_loopback():
        r = subprocess.run(
            [*CLI, "serve", "--port", "0", "--host", host],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 1
        assert "Name or service not known" not in r.stderr  # the brackets were read
        assert r.stderr.strip().splitlines() == [
            next(x for x in r.stderr.splitlines() if "cannot listen on ::1:" in x)
        ]
        return
    served = start("--host", host)
    try:
        assert served.url.startswith("http://[::1]:") and served.url.endswith("/v1.0")
        status, _, body = served.request("GET", f"/accesskeys?accesskey={TUTORIAL_TOKEN}")
        assert status == 200, body
    finally:
        stop(served)


@pytest.mark.parametrize("host", ["[localhost]", "[::1", "::1]", "[127.0.0.1]"])
def test_brackets_round_anything_but_an_ipv6_address_are_refused(host: str) -> None:
    r = subprocess.run(
        [*CLI, "serve", "--port", "0", "--host", host], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"fakevoipbin serve: error: argument --host: not a host: {host!r}; brackets hold "
        "an IPv6 address only, e.g. [::1] (or ::1)"
    )
    assert "Traceback" not in r.stderr


# --- serve --tls ---------------------------------------------------------------------


def _curl() -> str:
    curl = shutil.which("curl")
    assert curl is not None, "curl is not installed: the HTTPS tests need it (apt-get install curl)"
    return curl


def _ca_file(served: Served) -> Path:
    found = re.search(r"trust the CA in (\S+)", "\n".join(served.banner))
    assert found is not None, served.banner
    return Path(found.group(1))


def _tls_port(served: Served) -> int:
    assert served.url.startswith("https://127.0.0.1:"), served.url
    return int(served.url.rsplit(":", 1)[1].split("/")[0])


def test_serve_tls_answers_curl_that_trusts_the_ca(tmp_path: Path) -> None:
    curl = _curl()
    served = start("--tls", "--tls-dir", str(tmp_path))
    try:
        assert _ca_file(served) == tmp_path / "ca.pem"
        port = _tls_port(served)
        query = f"/v1.0/accesskeys?accesskey={TUTORIAL_TOKEN}"
        for host in ("127.0.0.1", "localhost"):
            r = subprocess.run(
                [
                    curl,
                    "-sS",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "--cacert",
                    str(tmp_path / "ca.pem"),
                    f"https://{host}:{port}{query}",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert (r.returncode, r.stdout) == (0, "200"), r.stderr
        untrusted = subprocess.run(
            [curl, "-sS", "-o", "/dev/null", f"https://127.0.0.1:{port}{query}"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "CURL_CA_BUNDLE": "", "SSL_CERT_FILE": ""},
        )
        assert untrusted.returncode == 60, untrusted.stderr  # certificate verification failed
    finally:
        code, out = stop(served)
    assert code == 0, out


def test_serve_tls_answers_httpx_and_urllib_that_trust_the_ca_with_a_far_frozen_clock(
    tmp_path: Path,
) -> None:
    """The fake's clock frozen in 2031 does not date the certificate: clients check it
    against real time."""
    import httpx

    served = start("--tls", "--tls-dir", str(tmp_path), "--now", "2031-01-01T00:00:00Z")
    try:
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        params = {"accesskey": TUTORIAL_TOKEN}
        r = httpx.get(served.url + "/accesskeys", params=params, verify=context, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["result"][0]["id"] == TUTORIAL_KEY_ID
        url = served.url + f"/accesskeys?accesskey={TUTORIAL_TOKEN}"
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(url, context=ssl.create_default_context(), timeout=10)
    finally:
        stop(served)


def test_serve_tls_keeps_its_ca_and_remakes_only_the_server_certificate(tmp_path: Path) -> None:
    served = start("--tls", "--tls-dir", str(tmp_path), "--tls-name", "db")
    stop(served)
    ca, server = (tmp_path / "ca.pem").read_bytes(), (tmp_path / "server.pem").read_bytes()
    for name in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    again = start("--tls", "--tls-dir", str(tmp_path), "--tls-name", "db")
    stop(again)
    assert (tmp_path / "ca.pem").read_bytes() == ca
    assert (tmp_path / "server.pem").read_bytes() == server
    fewer = start("--tls", "--tls-dir", str(tmp_path))
    stop(fewer)
    assert (tmp_path / "ca.pem").read_bytes() == ca
    assert (tmp_path / "server.pem").read_bytes() != server


def test_serve_tls_refuses_a_key_readable_by_others_in_one_line(tmp_path: Path) -> None:
    stop(start("--tls", "--tls-dir", str(tmp_path)))
    key = tmp_path / "ca-key.pem"
    body = key.read_text().splitlines()[1]
    key.chmod(0o644)
    r = subprocess.run(
        [*CLI, "serve", "--port", "0", "--tls", "--tls-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and str(key) in r.stderr and "0644" in r.stderr, r.stderr
    assert body not in r.stderr + r.stdout and "Traceback" not in r.stderr


def test_serve_tls_without_a_folder_removes_its_ca_on_stop() -> None:
    served = start("--tls")
    ca = _ca_file(served)
    assert ca.is_file()
    code, _out = stop(served)
    assert code == 0 and not ca.parent.exists()


def test_no_key_shows_in_the_output_the_journal_or_a_state_dump(tmp_path: Path) -> None:
    served = start("--tls", "--tls-dir", str(tmp_path), "--access-log", "--log-level", "debug")
    try:
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        seen = []
        for path in (
            "/_fake/journal",
            "/_fake/state",
            f"/v1.0/accesskeys?accesskey={TUTORIAL_TOKEN}",
        ):
            with urllib.request.urlopen(
                served.url.removesuffix("/v1.0") + path, context=context
            ) as r:
                seen.append(r.read().decode())
        with urllib.request.urlopen(
            served.url.removesuffix("/v1.0") + "/_fake/journal", context=context
        ) as r:
            seen.append(r.read().decode())
    finally:
        _code, out = stop(served)
    everything = "\n".join([out, *served.banner, *seen])
    assert "PRIVATE KEY" not in everything
    for name in ("ca-key.pem", "server-key.pem"):
        body = "".join((tmp_path / name).read_text().splitlines()[1:-1])
        for line in (tmp_path / name).read_text().splitlines()[1:-1]:
            assert line not in everything
        assert body[:40] not in everything.replace("\n", "")
