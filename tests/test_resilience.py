"""Reliability and security (product §10): concurrency, secrets, exposure, persistence
and a graceful stop.

Concurrency runs against ``FakeVoipbin`` (a real socket in a thread) while the test's
own thread steers the same state from Python. The rest starts ``fakevoipbin serve``
as a subprocess, always on 127.0.0.1, and reads everything it prints.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.core import admin
from fakevoipbin.persist import TEMP_SUFFIX

from .conftest import (
    ADMIN_LOGIN,
    EXPIRED_TOKEN,
    EXPIRING_TOKEN,
    FROZEN_TOKEN,
    MANAGER_LOGIN,
    NOW,
    SECOND_TOKEN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
    TUTORIAL_TOKEN,
)
from .waiting import wait_until

CLI = [sys.executable, "-m", "fakevoipbin"]
PROFILES = ["docs", "live"]
FIXTURE_TOKENS = [TUTORIAL_TOKEN, SECOND_TOKEN, EXPIRED_TOKEN, EXPIRING_TOKEN, FROZEN_TOKEN]
SECOND_ADMIN_LOGIN = {"username": "second-admin@example.com", "password": "second-password"}
Q = f"?accesskey={TUTORIAL_TOKEN}"


# --- plain HTTP -----------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        """Everything the client was sent, headers included, for leak searches."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.status}\n{head}\n\n{self.body.decode('utf-8', 'replace')}"

    def __str__(self) -> str:
        return f"{self.status} {self.body[:300]!r}"


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    """One request on its own connection (base is http://host:port)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def envelope(r: Reply, status: int, reason: str) -> dict[str, Any]:
    assert r.status == status, str(r)
    assert r.headers.get("content-type", "").startswith("application/json"), str(r)
    doc = r.json()
    assert set(doc) == {"error"}, str(r)
    e = doc["error"]
    assert e["reason"] == reason, str(r)
    assert {"status", "reason", "message", "request_id"} <= set(e), str(r)
    assert e["request_id"] == r.headers.get("x-request-id"), str(r)
    return e  # type: ignore[no-any-return]


# --- fakevoipbin serve as a subprocess ------------------------------------------------------


class Serve:
    """``fakevoipbin serve`` on a free loopback port; every line it prints is kept."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(20) or self.ready_index < 0:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError("serve did not become ready:\n" + "\n".join(self.lines))
        m = re.search(r"ready on (http://\S+)/v1\.0", self.lines[self.ready_index])
        assert m is not None
        self.root = m.group(1)

    ready_index = -1

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self.ready_index < 0 and "ready on" in line:
                self.ready_index = len(self.lines) - 1
                self._ready.set()
        self._ready.set()

    @property
    def banner(self) -> list[str]:
        return self.lines[: self.ready_index + 1]

    def after_banner(self) -> str:
        """What serve printed after its 'ready on' line: logs, the access log."""
        return "\n".join(self.lines[self.ready_index + 1 :])

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Reply:
        return call(self.root, method, path, body, **kw)

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 15) -> int:
        """Send ``sig`` (None: none, the process is already stopping) and wait."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"serve did not stop within {timeout} s of signal {sig}") from None
        self._reader.join(10)
        return rc


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start servers with ``serve(*args)``; any still running at the end is killed."""
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        s = Serve(*args)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(10)


def refused_start(*args: str, timeout: float = 20) -> tuple[int, str, str]:
    """Run serve where it must refuse to start: (exit code, stdout, stderr)."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise AssertionError(f"serve {args} started instead of refusing:\n{out}\n{err}") from None
    return proc.returncode, out, err


# --- 2. concurrency -----------------------------------------------------------------------


@dataclass
class Worker:
    n: int
    created: dict[str, str] = field(default_factory=dict)  # id -> raw token
    deleted: set[str] = field(default_factory=set)
    requests: int = 0
    errors: list[str] = field(default_factory=list)


WORKERS = 8
ROUNDS = 12


def run_worker(w: Worker, port: int, profile: str, barrier: threading.Barrier) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)

    def req(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        w.requests += 1
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data)
        r = conn.getresponse()
        raw = r.read()
        return r.status, json.loads(raw) if raw else None

    def expect(what: str, got: tuple[int, Any], status: int) -> Any:
        if got[0] != status:
            w.errors.append(f"worker {w.n} {what}: {got[0]} {str(got[1])[:200]}")
        return got[1]

    barrier.wait(20)
    try:
        live: list[str] = []
        for i in range(ROUNDS):
            doc = expect(
                "create",
                req("POST", "/v1.0/accesskeys" + Q, {"name": f"w{w.n}-{i}", "expire": 86400}),
                200,
            )
            if not doc:
                continue
            w.created[doc["id"]] = doc["token"]
            live.append(doc["id"])
            got = expect("get", req("GET", f"/v1.0/accesskeys/{doc['id']}{Q}"), 200)
            if got and got.get("id") != doc["id"]:
                w.errors.append(f"worker {w.n}: get {doc['id']} gave {got.get('id')}")
            kid = live[i % len(live)]
            expect("update", req("PUT", f"/v1.0/accesskeys/{kid}{Q}", {"name": f"u{i}"}), 200)
            expect("list", req("GET", "/v1.0/accesskeys" + Q + "&page_size=5"), 200)
            own = f"?accesskey={doc['token']}&page_size=1"
            expect("list with its own key", req("GET", "/v1.0/accesskeys" + own), 200)
            if i % 3 == 2:
                gone = live.pop(0)
                expect("delete", req("DELETE", f"/v1.0/accesskeys/{gone}{Q}"), 200)
                w.deleted.add(gone)
                after = 404 if profile == "docs" else 409
                expect("get deleted", req("GET", f"/v1.0/accesskeys/{gone}{Q}"), after)
                token = w.created[gone]
                expect("auth deleted", req("GET", f"/v1.0/accesskeys?accesskey={token}"), 401)
    except Exception as exc:  # a transport failure is a failure of the fake
        w.errors.append(f"worker {w.n}: {type(exc).__name__}: {exc}")
    finally:
        conn.close()


def list_all(base: str, token: str) -> list[str]:
    """Every id the list shows, page by page, to the end (bounded)."""
    ids: list[str] = []
    page_token = ""
    for _ in range(200):
        path = f"/v1.0/accesskeys?accesskey={token}&page_size=7"
        if page_token:
            path += "&page_token=" + quote(page_token)
        r = call(base, "GET", path)
        assert r.status == 200, str(r)
        doc = r.json()
        ids += [k["id"] for k in doc["result"]]
        page_token = doc["next_page_token"]
        if not doc["result"] or not page_token:
            return ids
    raise AssertionError("the list did not end in 200 pages")


@pytest.mark.parametrize("profile", PROFILES)
def test_concurrent_clients_and_python_calls_never_lose_or_duplicate_a_key(profile: str) -> None:
    with FakeVoipbin(now=NOW, profile=profile) as fake:
        fake.journal.clear()
        start = admin.dump(fake.state)
        live_before = {
            k["id"]
            for k in start["keys"]
            if k["customer_id"] == TUTORIAL_CUSTOMER and k["tm_delete"] is None
        }
        workers = [Worker(n) for n in range(WORKERS)]
        barrier = threading.Barrier(WORKERS + 1)
        threads = [
            threading.Thread(target=run_worker, args=(w, fake.port, profile, barrier), daemon=True)
            for w in workers
        ]
        for t in threads:
            t.start()

        # meanwhile, from Python, on the same state
        customers: dict[str, str] = {}  # customer id -> admin token
        mine: dict[str, str] = {}  # id -> token, created in-process
        python_requests = 0
        problems: list[str] = []
        client = fake.client(params={"accesskey": TUTORIAL_TOKEN})
        barrier.wait(20)
        for j in range(300):
            if not any(t.is_alive() for t in threads):
                break
            cid, token = fake.add_customer(f"python-{j}")
            customers[cid] = token
            fake.clock.advance(0.001)
            fake.journal.entries()
            fake.journal.calls("PostAccesskeys", status=200)
            r = client.post("/accesskeys", json={"name": f"py-{j}", "expire": 86400})
            python_requests += 1
            if r.status_code != 200:
                problems.append(f"in-process create: {r.status_code} {r.text[:200]}")
            else:
                mine[r.json()["id"]] = r.json()["token"]
            r = client.get("/accesskeys", params={"page_size": 3})
            python_requests += 1
            if r.status_code != 200:
                problems.append(f"in-process list: {r.status_code} {r.text[:200]}")
            snapshot = admin.dump(fake.state)["keys"]
            if len({k["id"] for k in snapshot}) != len(snapshot):
                problems.append("a dump held one id twice")
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a worker hung"
        errors = [e for w in workers for e in w.errors] + problems
        assert not errors, "\n".join(errors[:30])

        created = {kid: tok for w in workers for kid, tok in w.created.items()}
        created.update(mine)
        deleted = {kid for w in workers for kid in w.deleted}
        assert len(created) == WORKERS * ROUNDS + len(mine), "two creates gave one id"
        assert len(deleted) == WORKERS * (ROUNDS // 3)

        end = admin.dump(fake.state)
        keys = {k["id"]: k for k in end["keys"]}
        assert len(keys) == len(end["keys"]), "one id stored twice"
        hashes = [k["token_hash"] for k in end["keys"]]
        assert len(set(hashes)) == len(hashes), "two keys share a token hash"
        assert len(end["keys"]) == len(start["keys"]) + len(created) + len(customers)
        assert {c["id"] for c in end["customers"]} == {c["id"] for c in start["customers"]} | set(
            customers
        )
        for kid, token in created.items():
            assert kid in keys, f"acknowledged key {kid} is missing"
            assert keys[kid]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
            assert keys[kid]["customer_id"] == TUTORIAL_CUSTOMER
            assert (keys[kid]["tm_delete"] is not None) == (kid in deleted), kid
        for cid, token in customers.items():
            own = [k for k in end["keys"] if k["customer_id"] == cid]
            assert len(own) == 1
            assert own[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()

        # every exchange was written down once, in order
        total = sum(w.requests for w in workers) + python_requests
        seqs = [e.seq for e in fake.journal.entries()]
        assert seqs == list(range(1, total + 1)), (len(seqs), total)

        # the list, page by page, shows exactly the acknowledged live keys
        listed = list_all(fake.base_url, TUTORIAL_TOKEN)
        assert len(listed) == len(set(listed)), "a key listed twice"
        assert set(listed) == live_before | (set(created) - deleted)
        # and each live token still authenticates, each deleted one does not
        with fake.client() as c:
            for kid, token in created.items():
                r = c.get("/accesskeys", params={"accesskey": token, "page_size": 1})
                assert r.status_code == (401 if kid in deleted else 200), kid
            for token in customers.values():
                assert c.get("/accesskeys", params={"accesskey": token}).status_code == 200
        client.close()


# --- 3. secrets -------------------------------------------------------------------------------

MADE_UP = [
    "vb_" + "Zq9" * 10 + "Xy",  # a well-formed access key that was never issued
    "vb_madeUpToken-not_real",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWRlLXVwIn0.bm90LWEtcmVhbC1zaWduYXR1cmU",
]


def credential_places(token: str) -> list[tuple[str, dict[str, str]]]:
    q = quote(token, safe="")
    return [
        (f"/v1.0/accesskeys?accesskey={q}", {}),
        (f"/v1.0/accesskeys?token={q}", {}),
        ("/v1.0/accesskeys", {"Cookie": f"accesskey={token}"}),
        ("/v1.0/accesskeys", {"Cookie": f"token={token}"}),
        ("/v1.0/accesskeys", {"Authorization": f"Bearer {token}"}),
        (f"/v1.0/accesskeys/{TUTORIAL_KEY_ID}?accesskey={q}&page_size=x", {}),
    ]


def test_no_raw_token_in_the_access_log_journal_state_or_errors(serve: Any, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    srv = serve("--state-file", str(state_file))
    banner = "\n".join(srv.banner)
    assert TUTORIAL_TOKEN in banner  # the fixture keys are public test data, shown there

    created: list[str] = []
    shown_once: list[Reply] = []  # answers that legitimately show a new token
    for i in range(3):
        r = srv.call("POST", "/v1.0/accesskeys" + Q, {"name": f"s{i}", "expire": 86400})
        assert r.status == 200, str(r)
        created.append(r.json()["token"])
        shown_once.append(r)
    deleted_id = json.loads(shown_once[2].body)["id"]
    assert srv.call("DELETE", f"/v1.0/accesskeys/{deleted_id}{Q}").status == 200
    r = srv.call("POST", "/_fake/customers", {"name": "via control"})
    assert r.status == 200, str(r)
    created.append(r.json()["accesskey"]["token"])
    shown_once.append(r)
    jwts = []
    for login in (ADMIN_LOGIN, MANAGER_LOGIN, SECOND_ADMIN_LOGIN):
        r = srv.call("POST", "/auth/login", login)
        assert r.status == 200, str(r)
        jwts.append(r.json()["token"])
        shown_once.append(r)
    secrets = FIXTURE_TOKENS + created + jwts
    assert len(set(secrets)) == len(secrets)

    replies: list[tuple[str, Reply]] = []
    for token in secrets + MADE_UP:
        for path, headers in credential_places(token):
            replies.append((f"GET {path[:40]} {headers}", srv.call("GET", path, headers=headers)))
        q = quote(token, safe="")
        for method, path, body in (
            ("GET", f"/v1.0/accesskeys/{q}{Q}", None),
            ("PUT", f"/v1.0/accesskeys/{q}{Q}", {"name": "x"}),
            ("POST", f"/v1.0/accesskeys?accesskey={q}", {"expire": 1}),
            ("POST", f"/v1.0/accesskeys?accesskey={q}", {"expire": "x"}),
            ("GET", f"/v1.0/{q}?accesskey={q}", None),
            ("POST", "/auth/login", {"username": token, "password": token}),
        ):
            replies.append((f"{method} {path[:40]}", srv.call(method, path, body)))
    statuses = {r.status for _, r in replies}
    assert {200, 400, 401, 404} <= statuses  # the calls reached success and refusals

    journal = srv.call("GET", "/_fake/journal")
    assert journal.status == 200
    assert len(journal.json()["entries"]) >= len(replies)
    state = srv.call("GET", "/_fake/state")
    assert state.status == 200
    assert srv.stop() == 0
    log = srv.after_banner()
    access = [line for line in log.splitlines() if "fakevoipbin.access" in line]
    assert len(access) >= len(replies), "the access log was not on"
    file_text = state_file.read_text(encoding="utf-8")
    dumped = json.loads(file_text)
    hashes = {k["token_hash"] for k in dumped["keys"]}
    for token in created:  # stored as its SHA-256 only
        assert hashlib.sha256(token.encode()).hexdigest() in hashes

    leaks = []
    outputs = {
        "access log / server output": log,
        "journal": journal.body.decode(),
        "GET /_fake/state": state.body.decode(),
        "--state-file": file_text,
    }
    for token in secrets + MADE_UP:
        for where, text in outputs.items():
            if token in text:
                leaks.append(f"{token[:11]}… in the {where}")
        for what, reply in replies:
            if token in reply.text():
                leaks.append(f"{token[:11]}… echoed by {what}: {reply}")
    for token in MADE_UP:
        for reply in shown_once:
            assert token not in reply.text()
    assert not leaks, "\n".join(leaks[:40])


# --- 4. exposure ------------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (Linux /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as f:
            next(f)
            for row in f:
                cols = row.split()
                addr, hex_port = cols[1].split(":")
                if int(hex_port, 16) == port and cols[3] == "0A":  # LISTEN
                    found.add(addr)
    return found


def test_control_api_listens_on_loopback_by_default(serve: Any) -> None:
    srv = serve()
    text = "\n".join(srv.banner)
    assert re.search(r"url:\s+http://127\.0\.0\.1:\d+/v1\.0", text), text
    assert srv.root.startswith("http://127.0.0.1:")
    port = int(srv.root.rsplit(":", 1)[1])
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
    assert srv.call("GET", "/_fake/health").status == 200
    assert srv.stop() == 0


def test_no_control_turns_the_control_api_off(serve: Any) -> None:
    srv = serve("--no-control")
    assert any("control:  off" in line for line in srv.banner)
    for method, path in (
        ("GET", "/_fake/health"),
        ("POST", "/_fake/reset"),
        ("GET", "/_fake/state"),
        ("PUT", "/_fake/state"),
        ("GET", "/_fake/journal"),
    ):
        body = {} if method in ("POST", "PUT") else None
        envelope(srv.call(method, path, body), 404, "ROUTE_NOT_FOUND")
    assert srv.call("GET", "/v1.0/accesskeys" + Q).status == 200
    assert srv.stop() == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_a_non_loopback_host_needs_a_control_token(host: str) -> None:
    """For the control API asked for; left to the rule, it is off there
    (tests/test_options_environment.py)."""
    rc, out, err = refused_start("--host", host, "--control")
    assert rc == 2, (rc, out, err)
    assert "--control-token" in err and host in err
    assert "ready on" not in out
    assert "Traceback" not in err


def test_control_token_guards_the_control_api(serve: Any) -> None:
    srv = serve("--control-token", "s3cret")
    assert "s3cret" not in "\n".join(srv.banner)
    # Whitespace around a header value is not part of it (RFC 9110 §5.5) and newer
    # uvicorn strips it, so "s3cret " is the right token; an inner space is not.
    wrong_values = [None, "", "wrong", "s3cre", "s3crett", "S3CRET", "s3cret x", "ſ3cret"]
    for value in wrong_values:
        headers = {} if value is None else {"X-Fake-Control-Token": value}
        for method, path, body in (
            ("GET", "/_fake/health", None),
            ("POST", "/_fake/reset", None),
            ("GET", "/_fake/journal", None),
            ("GET", "/_fake/state", None),
            ("PUT", "/_fake/state", {"hello": 1}),
        ):
            encoded = {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}
            r = srv.call(method, path, body, headers=encoded)
            envelope(r, 401, "AUTHENTICATION_REQUIRED")
            if value:
                assert value not in r.body.decode("utf-8", "replace")
    right = {"X-Fake-Control-Token": "s3cret"}
    r = srv.call("GET", "/_fake/health", headers=right)
    assert r.status == 200 and r.json()["status"] == "ok", str(r)
    # the API itself does not need it, and is journaled
    assert srv.call("GET", "/v1.0/accesskeys" + Q, headers=right).status == 200
    assert srv.call("GET", "/v1.0/accesskeys" + Q).status == 200
    r = srv.call("POST", "/v1.0/accesskeys" + Q, {"expire": 1}, headers=right)
    assert r.status == 400
    journal = srv.call("GET", "/_fake/journal", headers=right)
    assert journal.status == 200 and len(journal.json()["entries"]) >= 3
    assert "s3cret" not in journal.body.decode()
    state = srv.call("GET", "/_fake/state", headers=right)
    assert state.status == 200 and "s3cret" not in state.body.decode()
    assert srv.stop() == 0
    assert "s3cret" not in srv.after_banner()


# --- 5. persistence -------------------------------------------------------------------------


def temp_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".*" + TEMP_SUFFIX))


def test_state_file_survives_a_clean_restart(serve: Any, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    a = serve("--state-file", str(path))
    assert any("state kept in" in line for line in a.lines)
    keys = []
    for i in range(3):
        r = a.call(
            "POST", "/v1.0/accesskeys" + Q, {"name": f"p{i}", "detail": "d", "expire": 86400}
        )
        assert r.status == 200, str(r)
        keys.append(r.json())
    k1, k2, k3 = keys
    assert a.call("PUT", f"/v1.0/accesskeys/{k2['id']}{Q}", {"name": "renamed"}).status == 200
    assert a.call("DELETE", f"/v1.0/accesskeys/{k3['id']}{Q}").status == 200
    seen = {k["id"]: a.call("GET", f"/v1.0/accesskeys/{k['id']}{Q}").json() for k in (k1, k2)}
    assert a.stop() == 0
    assert "fakevoipbin stopped" in a.after_banner()
    assert not temp_files(path)
    saved = path.read_bytes()
    assert json.loads(saved)["format"] == "fakevoipbin-state"

    b = serve("--state-file", str(path))
    assert any(f"state restored from {path}" in line for line in b.lines)
    for kid, before in seen.items():
        r = b.call("GET", f"/v1.0/accesskeys/{kid}{Q}")
        assert r.status == 200 and r.json() == before, str(r)
    assert seen[k2["id"]]["name"] == "renamed"
    envelope(b.call("GET", f"/v1.0/accesskeys/{k3['id']}{Q}"), 404, "ACCESSKEY_NOT_FOUND")
    for k in (k1, k2):
        assert b.call("GET", f"/v1.0/accesskeys?accesskey={k['token']}").status == 200
    envelope(b.call("GET", f"/v1.0/accesskeys?accesskey={k3['token']}"), 401, "INVALID_CREDENTIALS")
    listed = b.call("GET", "/v1.0/accesskeys" + Q).json()["result"]
    assert {k["id"] for k in listed} == {k1["id"], k2["id"], TUTORIAL_KEY_ID}
    # a key made after the restart is new: no id or token handed out twice
    r = b.call("POST", "/v1.0/accesskeys" + Q, {"expire": 86400})
    assert r.status == 200
    assert r.json()["id"] not in {k["id"] for k in keys}
    assert r.json()["token"] not in {k["token"] for k in keys}
    assert b.stop() == 0


#: Creates in the atomic-writes test: at least this many, and more until the reader has
#: seen the file replaced and read it often enough to mean anything (at most MOST).
LEAST_CREATES, MOST_CREATES = 2000, 20_000


def test_state_file_writes_are_atomic(serve: Any, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    srv = serve("--state-file", str(path))
    stop = threading.Event()
    reads: list[int] = []
    torn: list[str] = []
    inodes: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            try:
                inodes.add(os.stat(path).st_ino)
                data = path.read_bytes()
            except FileNotFoundError:
                torn.append("the file vanished")
                continue
            try:
                doc = json.loads(data)
                assert doc["format"] == "fakevoipbin-state"
            except (ValueError, KeyError, AssertionError):
                torn.append(f"{len(data)} bytes: {data[-60:]!r}")
                continue
            reads.append(len(doc["keys"]))

    def seen_enough() -> bool:
        return len(reads) > 10 and len(inodes) > 2

    at_start = len(srv.call("GET", "/_fake/state").json()["keys"])
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    conn = http.client.HTTPConnection("127.0.0.1", int(srv.root.rsplit(":", 1)[1]), timeout=10)
    made = 0
    while made < MOST_CREATES and (made < LEAST_CREATES or not seen_enough()):
        conn.request(
            "POST", "/v1.0/accesskeys" + Q, body=b'{"expire":86400,"name":"' + b"x" * 200 + b'"}'
        )
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        made += 1
    conn.close()
    # The writer saves what it has not saved yet: the reader sees the last key arrive.
    wait_until(lambda: reads and reads[-1] == at_start + made, "the file to hold every key")
    stop.set()
    t.join(10)
    assert srv.stop() == 0
    assert not torn, torn[:5]
    assert len(reads) > 10 and reads == sorted(reads), "a read went back in time"
    assert len(inodes) > 2, "the file is rewritten in place, not replaced"
    assert len(json.loads(path.read_bytes())["keys"]) == at_start + made
    assert not temp_files(path)


def damaged_files() -> list[tuple[str, bytes]]:
    fake = FakeVoipbin(now=NOW)
    valid = json.dumps(admin.dump(fake.state)).encode()
    broken_key = admin.dump(fake.state)
    broken_key["keys"][0]["token_hash"] = "not-a-hash"
    two_same = admin.dump(fake.state)
    two_same["keys"].append(dict(two_same["keys"][0]))
    return [
        ("truncated", valid[: len(valid) // 2]),
        ("truncated-by-one", valid[:-1]),
        ("random-bytes", bytes((i * 37 + 11) % 256 for i in range(4096))),
        ("nul-bytes", b"\x00" * 512),
        ("empty", b""),
        ("foreign-object", b'{"hello": 1}'),
        ("foreign-array", b"[1, 2, 3]"),
        ("foreign-number", b"42"),
        ("wrong-format", json.dumps({**admin.dump(fake.state), "format": "other"}).encode()),
        ("bad-token-hash", json.dumps(broken_key).encode()),
        ("duplicate-key", json.dumps(two_same).encode()),
    ]


DAMAGED = damaged_files()


@pytest.mark.parametrize("kind,content", DAMAGED, ids=[k for k, _ in DAMAGED])
def test_a_damaged_or_foreign_state_file_stops_the_start(
    tmp_path: Path, kind: str, content: bytes
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    rc, out, err = refused_start("--state-file", str(path))
    assert rc != 0, out
    assert str(path) in err, err
    assert "Traceback" not in err + out
    assert "ready on" not in out
    assert path.read_bytes() == content, "the damaged file was changed"
    assert not temp_files(path)


#: Keys the writer has made before the round looks for the last of them in the file.
KEYS_BEFORE_KILL = 100


def _ids_in(path: Path) -> set[str]:
    """The key ids the state file holds now (it is replaced whole, never half-written)."""
    try:
        return {k["id"] for k in json.loads(path.read_bytes())["keys"]}
    except (OSError, ValueError, KeyError):
        return set()


def test_a_state_file_outlives_sigkill_in_the_middle_of_writes(serve: Any, tmp_path: Path) -> None:
    """Three times: create keys in a loop; once the file on disk is seen to hold the
    last key acknowledged after the first KEYS_BEFORE_KILL (the writer saves every
    50 ms), kill -9 while the creates go on, and restart on the file. Every key
    acknowledged up to that one is in it, whole (no wall-clock bound: the keys are
    counted and the file is watched, not timed)."""
    path = tmp_path / "state.json"
    acked: list[tuple[float, str, str]] = []  # (when, id, token)
    lag = []  # per round: keys made, of which missing after the restart
    srv = serve("--state-file", str(path))
    for round_ in range(3):
        port = int(srv.root.rsplit(":", 1)[1])
        mine: list[tuple[float, str, str]] = []
        stop = threading.Event()

        def writer(
            port: int = port,
            mine: list[tuple[float, str, str]] = mine,
            stop: threading.Event = stop,
        ) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                for _ in range(5000):
                    if stop.is_set():
                        return
                    conn.request("POST", "/v1.0/accesskeys" + Q, body=b'{"expire":86400}')
                    r = conn.getresponse()
                    doc = json.loads(r.read())
                    if r.status == 200:
                        mine.append((time.monotonic(), doc["id"], doc["token"]))
            except (OSError, http.client.HTTPException, ValueError):
                return  # the server was killed
            finally:
                conn.close()

        t = threading.Thread(target=writer, daemon=True)
        t.start()

        def made_enough(mine: list[tuple[float, str, str]] = mine) -> int:
            return len(mine) if len(mine) >= KEYS_BEFORE_KILL else 0

        made = wait_until(made_enough, f"the writer to make {KEYS_BEFORE_KILL} keys")
        checkpoint = len(acked) + made  # the keys acknowledged so far, this one last
        wanted = mine[made - 1][1]

        def saved(wanted: str = wanted) -> bool:
            return wanted in _ids_in(path)

        wait_until(saved, "the state file to catch up")
        srv.proc.kill()  # SIGKILL, in the middle of writes
        srv.proc.wait(10)
        stop.set()
        t.join(10)
        assert len(mine) > 20, "the writer made too few keys to mean anything"
        acked += mine

        # the file is whole, and a restart on it succeeds
        assert json.loads(path.read_bytes())["format"] == "fakevoipbin-state"
        srv = serve("--state-file", str(path))
        assert any(f"state restored from {path}" in line for line in srv.lines)
        assert not temp_files(path)
        state = srv.call("GET", "/_fake/state").json()
        ids = {k["id"]: k for k in state["keys"]}
        lag.append((len(mine), len([kid for _, kid, _ in mine if kid not in ids])))
        old_enough = acked[:checkpoint]
        missing = [kid for _, kid, _ in old_enough if kid not in ids]
        assert not missing, f"round {round_}: {len(missing)} acknowledged keys lost; {lag}"
        for _, kid, tok in old_enough:
            assert ids[kid]["token_hash"] == hashlib.sha256(tok.encode()).hexdigest()
            assert ids[kid]["tm_delete"] is None
        for _, _, tok in old_enough[-10:] + old_enough[:5]:
            r = srv.call("GET", f"/v1.0/accesskeys?accesskey={tok}&page_size=1")
            assert r.status == 200, str(r)
        assert srv.call("GET", "/v1.0/accesskeys" + Q).status == 200
    print(f"keys made per round, and of those not in the file after SIGKILL: {lag}")
    assert srv.stop() == 0
    assert "Traceback" not in srv.after_banner()


# --- 6. graceful stop --------------------------------------------------------------------------


def test_sigterm_lets_a_request_in_flight_finish(serve: Any) -> None:
    srv = serve()
    r = srv.call(
        "POST", "/_fake/faults", {"operation": "GetAccesskeys", "delay_ms": 1500, "times": 1}
    )
    assert r.status == 200, str(r)
    result: dict[str, Any] = {}
    signalled = threading.Event()

    def slow_call() -> None:
        try:
            result["reply"] = srv.call("GET", "/v1.0/accesskeys" + Q, timeout=15)
        except Exception as exc:
            result["error"] = exc
        result["after_the_signal"] = signalled.is_set()

    t = threading.Thread(target=slow_call, daemon=True)
    t.start()
    # The call is in flight once the delay has fired on it: only then the signal.
    wait_until(
        lambda: srv.call("GET", "/_fake/faults").json()["faults"][0]["fired"] == 1,
        "the delay to fire on the call",
    )
    srv.proc.send_signal(signal.SIGTERM)
    signalled.set()
    t.join(15)
    assert not t.is_alive(), "the request in flight never ended"
    assert "error" not in result, f"the request in flight failed: {result.get('error')!r}"
    reply = result["reply"]
    assert reply.status == 200, str(reply)
    assert TUTORIAL_KEY_ID in {k["id"] for k in reply.json()["result"]}
    assert result["after_the_signal"], "the delay did not apply: nothing was in flight"
    assert srv.stop(None) == 0  # the one SIGTERM is enough
    assert "fakevoipbin stopped" in srv.after_banner()
    assert "Traceback" not in srv.after_banner()


def test_fixtures_the_clock_cannot_hold_are_refused_before_a_state_file_is_written(
    tmp_path: Path,
) -> None:
    """On main this started, and wrote a file (tm_create in year -1142) that the next
    start refused as damaged."""
    fixtures = tmp_path / "old.yaml"
    fixtures.write_text("customers:\n  - created_ago: 99999999999\n")
    path = tmp_path / "state.json"
    rc, out, err = refused_start("--fixtures", str(fixtures), "--state-file", str(path))
    assert rc == 1, out
    assert err.strip().splitlines() == [err.strip()], err
    assert str(fixtures) in err and "customers/0/created_ago" in err, err
    assert "Traceback" not in err + out
    assert not path.exists()


def test_what_the_fake_wrote_at_the_clocks_edges_restarts(serve: Any, tmp_path: Path) -> None:
    """The oldest fixtures the clock holds, and a clock stepped past the last instant
    it can be set to: the state file they make loads on the next start."""
    fixtures = tmp_path / "old.yaml"
    fixtures.write_text(
        "customers:\n  - created_ago: 1796120130\n"
        f"    keys: [{{token: {TUTORIAL_TOKEN}, created_ago: 1796120130, expire: 2147483647}}]\n"
    )
    path = tmp_path / "state.json"
    args = ("--now", "2026-12-01T10:15:30Z", "--fixtures", str(fixtures), "--state-file", str(path))
    a = serve(*args)
    assert a.call("POST", "/_fake/clock", {"set": "9800-01-01T00:00:00Z"}).status == 200
    tokens = []
    for _ in range(2):
        r = a.call("POST", "/_fake/customers", {"expire": 2147483647})
        assert r.status == 200, str(r)
        tokens.append(r.json()["accesskey"]["token"])
    saved = a.call("GET", "/_fake/state").json()
    assert saved["clock"]["now"] == "9800-01-01T00:00:00.000001Z"
    assert a.stop() == 0
    b = serve(*args)
    assert any(f"state restored from {path}" in line for line in b.lines)
    assert b.call("GET", "/_fake/state").json() == saved
    for token in tokens:
        r = b.call("GET", f"/v1.0/accesskeys?accesskey={token}")
        assert r.status == 200, str(r)
    assert b.stop() == 0


@pytest.mark.parametrize("restart_at", ["2027-06-01T00:00:00Z", "2026-01-01T00:00:00Z"])
def test_a_state_files_running_clock_comes_back_as_put_state_brings_it(
    serve: Any, tmp_path: Path, restart_at: str
) -> None:
    """One rule with PUT /_fake/state: a running clock runs on from the later of the
    saved instant and the new start's (never back), a frozen one at its instant."""
    path = tmp_path / "state.json"
    a = serve("--now", NOW, "--state-file", str(path))
    assert a.call("POST", "/_fake/clock", {"freeze": False}).status == 200
    assert a.call("POST", "/v1.0/accesskeys" + Q, {"expire": 86400}).status == 200
    assert a.stop() == 0
    saved = json.loads(path.read_bytes())["clock"]
    assert saved["frozen"] is False
    b = serve("--now", restart_at, "--state-file", str(path))
    clock = b.call("GET", "/_fake/clock").json()
    assert clock["frozen"] is False, clock
    assert clock["now"] >= max(saved["now"], restart_at.replace("Z", ".000000Z")), clock
    assert b.stop() == 0
    frozen = serve("--now", NOW, "--state-file", str(tmp_path / "frozen.json"))
    assert frozen.call("POST", "/_fake/clock", {"set": "2026-12-02T00:00:00Z"}).status == 200
    assert frozen.stop() == 0
    again = serve("--now", restart_at, "--state-file", str(tmp_path / "frozen.json"))
    assert again.call("GET", "/_fake/clock").json() == {
        "now": "2026-12-02T00:00:00.000000Z",
        "frozen": True,
    }
    assert again.stop() == 0
