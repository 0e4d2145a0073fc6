"""``make bench``: the fake's speed and memory, measured against baselines in the same run.

HTTP: the fake (uvicorn, one worker, validation on, journal on) and a bare Starlette
app answering the same bodies from constants, under the same uvicorn settings,
driven by wrk when it is installed (a Python load generator otherwise). Prism serves
the same openapi.yaml when node is present. In-process: reset, the pytest session
fixture's start, 1,000 create+get pairs, serve's ready time. Hostile clients: a
one-call delay fault and 12 stalled connections, timed. Proxy: what ``fakevoipbin
proxy`` adds per exchange in front of a fake (p50, taking turns). TLS: what ``serve
--tls`` adds per exchange beside plain HTTP (p50, taking turns). Validators: compiled.py
against fastjsonschema and jsonschema-rs. Scale: 100,000 keys in one customer.
Loopback only, bounded in time; prints a table.

    python -m bench.run [--duration 4] [--rounds 3] [--no-prism] [--quick] [--only SECTION]
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TOKEN = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"
KEY_ID = "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc"
CREATE_BODY = '{"name":"bench","detail":"made by make bench","expire":86400}'
UVICORN = [
    "--workers",
    "1",
    "--no-access-log",
    "--log-level",
    "warning",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
]
ROWS: list[tuple[str, str, str]] = []


def row(what: str, value: str, note: str = "") -> None:
    ROWS.append((what, value, note))
    print(f"  {what:<52} {value:>16}  {note}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listened on {port}")


@contextmanager
def server(cmd: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_port(port, proc)
        yield
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)


def request(port: int, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        method, path, body=body, headers={"Content-Type": "application/json"} if body else {}
    )
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


# --- load generation ----------------------------------------------------------------


def load(port: int, method: str, path: str, seconds: float, conns: int) -> dict[str, float]:
    """Requests/s and p50/p99 latency in ms."""
    if shutil.which("wrk"):
        cmd = [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ]
        if method == "POST":
            cmd[1:1] = ["-s", str(ROOT / "bench" / "post.lua")]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError(f"{method} {path}: {non2xx.group(1)} non-2xx answers")
        return {"rps": rps, "p50": _wrk_ms(out, "50%"), "p99": _wrk_ms(out, "99%")}
    return _python_load(port, method, path, seconds, conns)


def _wrk_ms(out: str, pct: str) -> float:
    m = re.search(rf"^\s*{re.escape(pct)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    assert m, out
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def _python_load(port: int, method: str, path: str, seconds: float, conns: int) -> dict[str, float]:
    """A fallback load generator: keep-alive connections on threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    body = CREATE_BODY if method == "POST" else None

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            conn.request(
                method,
                path,
                body=body,
                headers={"Content-Type": "application/json"} if body else {},
            )
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    latencies.sort()
    return {
        "rps": len(latencies) / took,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


# --- HTTP ---------------------------------------------------------------------------


def bodies_for_bare(fake_port: int) -> dict[str, str]:
    """The fake's own answers, for the bare app to send from constants."""
    q = f"?accesskey={TOKEN}"
    _, created = request(fake_port, "POST", "/v1.0/accesskeys" + q, CREATE_BODY)
    _, got = request(fake_port, "GET", f"/v1.0/accesskeys/{KEY_ID}" + q)
    _, listed = request(fake_port, "GET", "/v1.0/accesskeys" + q + "&page_size=100")
    assert len(json.loads(listed)["result"]) == 100
    return {"create": created.decode(), "get": got.decode(), "list": listed.decode()}


#: Connections per load run: the targets are set at 16 (Prism is compared at 8).
CONNECTIONS = 16


def http_bench(seconds: float, prism: bool, rounds: int) -> None:
    """Fake and bare run side by side and take turns, ``rounds`` times per request:
    each ratio compares two runs seconds apart, so a machine that slows down for a
    while (a shared host) shifts both. The table shows medians."""
    print(
        f"HTTP (wrk -t1 -c{CONNECTIONS}, loopback, {rounds} alternating rounds of {seconds:g} s)"
        if shutil.which("wrk")
        else f"HTTP (Python load generator, {CONNECTIONS} connections, {rounds} rounds)",
        flush=True,
    )
    fake_port, bare_port = free_port(), free_port()
    q = f"?accesskey={TOKEN}"
    targets = [
        ("GET /accesskeys/{id}", "GET", f"/v1.0/accesskeys/{KEY_ID}{q}", 0.6),
        ("POST /accesskeys (create)", "POST", f"/v1.0/accesskeys{q}", 0.5),
        ("GET /accesskeys (100 items)", "GET", f"/v1.0/accesskeys{q}&page_size=100", 0.5),
    ]
    fake_cmd = [PY, "-m", "uvicorn", "bench.fake_app:app", "--port", str(fake_port), *UVICORN]
    bare_cmd = [PY, "-m", "uvicorn", "bench.bare:app", "--port", str(bare_port), *UVICORN]
    with server(fake_cmd, fake_port):
        for _ in range(100):
            request(fake_port, "POST", f"/v1.0/accesskeys{q}", CREATE_BODY)
        bodies = bodies_for_bare(fake_port)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(bodies, f)
        try:
            with server(bare_cmd, bare_port, {"FAKEVOIPBIN_BENCH_BODIES": f.name}):
                for name, method, path, target in targets:
                    runs = [
                        (
                            load(fake_port, method, path, seconds, CONNECTIONS),
                            load(bare_port, method, path, seconds, CONNECTIONS),
                        )
                        for _ in range(rounds)
                    ]
                    _report(name, runs, target)
                    p99 = statistics.median(fake["p99"] for fake, _bare in runs)
                    row(
                        f"{name}: fake p99 at {CONNECTIONS} connections (median)",
                        f"{p99:.2f} ms",
                        f"target < 10 ms {'met' if p99 < 10 else 'NOT MET'}",
                    )
        finally:
            os.unlink(f.name)
        at_8 = load(fake_port, "GET", targets[0][2], seconds, 8) if prism else None
    if prism and at_8 is not None:  # against the fake at the same 8 connections
        row("GET /accesskeys/{id}: fake req/s at 8 connections", f"{at_8['rps']:,.0f}")
        prism_bench(seconds, at_8["rps"], targets[0][2])


Runs = list[tuple[dict[str, float], dict[str, float]]]


def _report(name: str, runs: Runs, target: float) -> None:
    """Medians over the rounds; the ratio is the median of each round's own ratio."""

    def med(side: int, key: str) -> float:
        return statistics.median(run[side][key] for run in runs)

    ratios = sorted(fake["rps"] / bare["rps"] for fake, bare in runs)
    ratio = statistics.median(ratios)
    for side, who in ((0, "fake"), (1, "bare")):
        row(
            f"{name}: {who} req/s",
            f"{med(side, 'rps'):,.0f}",
            f"p50 {med(side, 'p50'):.2f} ms, p99 {med(side, 'p99'):.2f} ms",
        )
    spread = f"rounds {', '.join(f'{r:.2f}' for r in ratios)}"
    row(
        f"{name}: fake / bare",
        f"{ratio:.2f}",
        f"target >= {target} {'met' if ratio >= target else 'NOT MET'}; {spread}",
    )


def prism_bench(seconds: float, fake_rps: float, path: str) -> None:
    if not shutil.which("node") or not shutil.which("npm"):
        row("Prism", "skipped", "node is not installed")
        return
    prefix = ROOT / "bench" / ".prism"
    binary = prefix / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        print("  installing @stoplight/prism-cli@5.16 into bench/.prism …", flush=True)
        r = subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "@stoplight/prism-cli@5.16",
            ],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0 or not binary.exists():
            row("Prism", "skipped", f"npm install failed: {r.stderr.strip()[:80]}")
            return
    port = free_port()
    with server(
        [
            str(binary),
            "mock",
            str(ROOT / "openapi.yaml"),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "--errors",
            "false",
        ],
        port,
    ):
        time.sleep(1.0)
        path = path.removeprefix("/v1.0")  # Prism serves the spec's paths at its root
        status, _ = request(port, "GET", path)
        if status != 200:
            row("Prism", "skipped", f"GET by id answered {status}")
            return
        prism = load(port, "GET", path, seconds, 8)
    ratio = fake_rps / prism["rps"]
    row(
        "GET /accesskeys/{id}: Prism 5.16 req/s",
        f"{prism['rps']:,.0f}",
        f"p50 {prism['p50']:.2f} ms, p99 {prism['p99']:.2f} ms",
    )
    row(
        "GET /accesskeys/{id}: fake / Prism",
        f"{ratio:.2f}",
        f"target >= 2 {'met' if ratio >= 2 else 'NOT MET'}",
    )


# --- in-process ---------------------------------------------------------------------


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def _subprocess_seconds(code: str) -> float:
    out = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


FIXTURE_START = """
import time, urllib.request
t = time.perf_counter()
from fakevoipbin.testing import FakeVoipbin
fake = FakeVoipbin().start()
urllib.request.urlopen(fake.url + "/accesskeys?accesskey=" + fake.accesskey).read()
print(time.perf_counter() - t)
"""


def serve_ready() -> float:
    t = time.perf_counter()
    proc = subprocess.Popen(
        [PY, "-m", "fakevoipbin", "serve", "--port", "0", "--no-access-log"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "ready on" in line:
            took = time.perf_counter() - t
            break
    else:
        raise RuntimeError("serve never said ready")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    return took


def in_process_bench(quick: bool) -> None:
    print("In-process", flush=True)
    from fakevoipbin.testing import FakeVoipbin

    fake = FakeVoipbin()
    resets = []
    for _ in range(200 if quick else 1000):
        t = time.perf_counter()
        fake.reset()
        resets.append(time.perf_counter() - t)
    reset_ms = statistics.median(resets) * 1000
    row(
        "reset (median of runs)",
        f"{reset_ms:.3f} ms",
        f"target < 1 ms {'met' if reset_ms < 1 else 'NOT MET'}",
    )

    # As a user's install has it: pip compiles a wheel's modules to bytecode when it
    # installs them, while a checkout under PYTHONDONTWRITEBYTECODE (set on this
    # project's machines) would recompile the package at every start.
    compileall.compile_dir(str(ROOT / "fakevoipbin"), quiet=1)
    start_ms = median_of(3 if quick else 5, lambda: _subprocess_seconds(FIXTURE_START)) * 1000
    row(
        "session fixture start to first answer (median)",
        f"{start_ms:.0f} ms",
        f"target < 300 ms {'met' if start_ms < 300 else 'NOT MET'}; includes imports",
    )

    client = fake.client(params={"accesskey": fake.accesskey})

    def pairs() -> float:
        fake.reset()
        t = time.perf_counter()
        for _ in range(1000):
            r = client.post("/accesskeys", json={"expire": 86400})
            client.get("/accesskeys/" + r.json()["id"])
        return time.perf_counter() - t

    pairs_s = median_of(3, pairs)
    row(
        "1,000 create+get pairs, in-process client (median)",
        f"{pairs_s:.2f} s",
        f"target < 1 s {'met' if pairs_s < 1 else 'NOT MET'}",
    )
    route_table_bench(fake, client)
    client.close()
    fake.stop()

    ready_s = median_of(3 if quick else 5, serve_ready)
    row(
        "serve: start to ready line (median)",
        f"{ready_s:.2f} s",
        f"target < 1 s {'met' if ready_s < 1 else 'NOT MET'}",
    )


ROUTE_PROBES = [
    ("GET", "/v1.0/calls"),
    ("GET", "/v1.0/calls/2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc"),
    ("PUT", "/v1.0/agents/2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc/status"),
    ("GET", "/v1.0/ais/a/prompt_histories/b"),
    ("GET", "/docs/a/b/index.html"),
    ("GET", "/v1.0/nothing/here"),
]


def route_table_bench(fake: Any, client: Any) -> None:
    """The route table's lookup (only requests no modelled route takes pay it), and
    that modelled requests never make one."""
    from fakevoipbin.core.routetable import default_table

    table = default_table()

    def lookups() -> float:
        t = time.perf_counter()
        for _ in range(20_000):
            for method, path in ROUTE_PROBES:
                table.lookup(method, path)
        return (time.perf_counter() - t) / (20_000 * len(ROUTE_PROBES))

    us = median_of(3, lookups) * 1e6
    row(
        "route-table lookup, unmodelled routes only (median)",
        f"{us:.2f} µs",
        f"target < 5 µs {'met' if us < 5 else 'NOT MET'}",
    )
    pipeline = fake.app.pipeline
    counted: list[str] = []
    real = pipeline.routes

    class Counting:
        def lookup(self, method: str, path: str) -> Any:
            counted.append(path)
            return real.lookup(method, path)

    pipeline._routes = Counting()
    try:
        for _ in range(100):
            r = client.post("/accesskeys", json={"expire": 86400})
            client.get("/accesskeys/" + r.json()["id"])
            client.get("/accesskeys")
    finally:
        pipeline._routes = real
    row(
        "route-table lookups in 300 modelled requests",
        str(len(counted)),
        f"target 0 {'met' if not counted else 'NOT MET'}",
    )


# --- hostile clients ---------------------------------------------------------------------


def _timed_get(port: int, path: str) -> float:
    """Seconds for one GET on a fresh connection (connect included)."""
    t = time.perf_counter()
    status, _ = request(port, "GET", path)
    took = time.perf_counter() - t
    assert status == 200, status
    return took


def hostile_bench(quick: bool) -> None:
    """What the tests assert by counting, timed: a one-call delay fault delays one call
    only, and stalled clients hold nobody else up."""
    print("Hostile clients (a FakeVoipbin on a socket)", flush=True)
    from fakevoipbin.testing import FakeVoipbin

    path = f"/v1.0/accesskeys/{KEY_ID}?accesskey={TOKEN}"
    with FakeVoipbin() as fake:
        fake.app.bodies.timeout_s = 1.0  # as the tests set it, so stalled bodies end soon
        port = fake.port
        _timed_get(port, path)
        delayed, after = [], []
        for _ in range(3 if quick else 7):
            fake.faults.add("GetAccesskeysId", delay_ms=150, times=1)
            delayed.append(_timed_get(port, path))
            after.append(_timed_get(port, path))
        d, a = statistics.median(delayed), statistics.median(after)
        row(
            "delay fault (150 ms, times=1): the delayed call (median)",
            f"{d:.3f} s",
            f"at least 0.15 s {'met' if d >= 0.15 else 'NOT MET'}",
        )
        row(
            "  the call after it (median)",
            f"{a:.3f} s",
            f"target < 0.15 s {'met' if a < 0.15 else 'NOT MET'}",
        )
        half = b"POST /v1.0/accesskeys?accesskey=" + TOKEN.encode() + b" HTTP/1.1\r\n"
        half += b"Host: x\r\nContent-Length: 16\r\n\r\n" + b'{"expi'
        others = []
        for _ in range(3 if quick else 5):
            stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
            try:
                for sock in stalled:
                    sock.sendall(half)
                time.sleep(0.1)
                others.append(_timed_get(port, path))
            finally:
                for sock in stalled:
                    sock.close()
            time.sleep(1.2)  # their 408s are sent
        o = statistics.median(others)
        row(
            "GET while 12 connections stall mid-body (median)",
            f"{o:.3f} s",
            f"target < 0.8 s {'met' if o < 0.8 else 'NOT MET'}",
        )


# --- the proxy -----------------------------------------------------------------------------


def _exchange_ms(
    conn: http.client.HTTPConnection, method: str, path: str, body: str | None
) -> float:
    headers = {"Content-Type": "application/json"} if body else {}
    t = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    r.read()
    took = (time.perf_counter() - t) * 1000
    assert r.status == 200, (method, path, r.status)
    return took


#: The exchanges the proxy and TLS figures take in turns: what, method, path, body.
ONE_BY_ONE = (
    ("GET one key", "GET", f"/v1.0/accesskeys/{KEY_ID}?accesskey={TOKEN}", None),
    ("create", "POST", f"/v1.0/accesskeys?accesskey={TOKEN}", CREATE_BODY),
)


def _taking_turns(
    first: http.client.HTTPConnection,
    second: http.client.HTTPConnection,
    method: str,
    path: str,
    body: str | None,
    n: int,
) -> tuple[float, float]:
    """The median ms of ``n`` exchanges on each connection, one at a time and taking
    turns (after 50 each to warm both: a pool, a handshake)."""
    for _ in range(50):
        _exchange_ms(first, method, path, body)
        _exchange_ms(second, method, path, body)
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        a.append(_exchange_ms(first, method, path, body))
        b.append(_exchange_ms(second, method, path, body))
    return statistics.median(a), statistics.median(b)


def proxy_bench(quick: bool) -> None:
    """What ``fakevoipbin proxy`` adds to an exchange on loopback, in front of a fake:
    the same requests, one at a time on a kept-alive connection, taking turns between
    the fake itself and the proxy in front of it; the difference of the medians."""
    print("Proxy (fakevoipbin proxy in front of a fake, both served as subprocesses)", flush=True)
    fake_port, proxy_port = free_port(), free_port()
    fake_cmd = [PY, "-m", "fakevoipbin", "serve", "--port", str(fake_port), "--no-access-log"]
    fake_cmd += ["--log-level", "warning"]
    proxy_cmd = [PY, "-m", "fakevoipbin", "proxy", "--port", str(proxy_port), "--no-access-log"]
    proxy_cmd += ["--upstream", f"http://127.0.0.1:{fake_port}/v1.0", "--profile", "docs"]
    proxy_cmd += ["--log-level", "warning"]
    n = 300 if quick else 2000
    with server(fake_cmd, fake_port), server(proxy_cmd, proxy_port):
        direct = http.client.HTTPConnection("127.0.0.1", fake_port, timeout=10)
        proxied = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        for what, method, path, body in ONE_BY_ONE:
            d, x = _taking_turns(direct, proxied, method, path, body, n)
            added = x - d
            row(
                f"proxy adds, p50, {what} ({n} exchanges each way)",
                f"{added:.2f} ms",
                f"direct {d:.2f} ms, through it {x:.2f} ms; "
                f"target < 2 ms {'met' if added < 2 else 'NOT MET'}",
            )
        direct.close()
        proxied.close()


# --- TLS -------------------------------------------------------------------------------------


def tls_bench(quick: bool) -> None:
    """What ``serve --tls`` adds to an exchange on loopback: the same requests, one at a
    time on a kept-alive connection (the handshake paid once, as a client's pool pays
    it), taking turns between a plain fake and an HTTPS one; the difference of the
    medians."""
    print("TLS (serve --tls beside plain serve, both as subprocesses)", flush=True)
    plain_port, tls_port = free_port(), free_port()
    base = [PY, "-m", "fakevoipbin", "serve", "--no-access-log", "--log-level", "warning"]
    with tempfile.TemporaryDirectory() as folder:
        tls_cmd = [*base, "--port", str(tls_port), "--tls", "--tls-dir", folder]
        n = 300 if quick else 2000
        with server([*base, "--port", str(plain_port)], plain_port), server(tls_cmd, tls_port):
            context = ssl.create_default_context(cafile=str(Path(folder) / "ca.pem"))
            plain = http.client.HTTPConnection("127.0.0.1", plain_port, timeout=10)
            secure = http.client.HTTPSConnection("127.0.0.1", tls_port, timeout=10, context=context)
            for what, method, path, body in ONE_BY_ONE:
                d, x = _taking_turns(plain, secure, method, path, body, n)
                row(
                    f"TLS adds, p50, {what} ({n} exchanges each way)",
                    f"{x - d:.2f} ms",
                    f"plain {d:.2f} ms, HTTPS {x:.2f} ms",
                )
            plain.close()
            secure.close()


# --- validators ---------------------------------------------------------------------------


def validators_bench() -> None:
    """compiled.py against fastjsonschema and jsonschema-rs (bench/validators.py)."""
    print("Validators (python -m bench.validators)", flush=True)
    from bench import validators

    validators.main()


# --- scale ----------------------------------------------------------------------------


SCALE = """
import json, resource, statistics, sys, time

from fakevoipbin.core import rules
from fakevoipbin.core.auth import Identity
from fakevoipbin.core.clock import Clock
from fakevoipbin.core.fixtureset import FixtureSet, FixtureCustomer, FixtureKey
from fakevoipbin.core.profiles import get_profile
from fakevoipbin.core.state import State
from fakevoipbin.testing import FakeVoipbin

def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

n = int(sys.argv[1])
fake = FakeVoipbin(now="2026-12-01T10:15:30Z")
state = fake.state
ident = Identity("accesskey", "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840", 0x20, "bench")
client = fake.client(params={"accesskey": fake.accesskey})
first = client.get("/accesskeys/2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc")
before = rss_kb()
for i in range(n - 1):
    rules.create_key(state, ident, "bench key %d" % i, "scale", 86400, [])
after = rss_kb()
ids = list(state.store.keys)
def timed(fn, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
    return statistics.median(out) * 1e6
get_us = timed(lambda: client.get("/accesskeys/" + ids[-1]), 300)
page_us = timed(lambda: client.get("/accesskeys", params={"page_size": 10}), 300)
t = time.perf_counter(); token = ""; pages = 0; seen = 0
while True:
    params = {"page_size": 100, **({"page_token": token} if token else {})}
    body = client.get("/accesskeys", params=params).json()
    seen += len(body["result"]); pages += 1
    if not body["next_page_token"]:
        break
    token = body["next_page_token"]
walk = time.perf_counter() - t
print(json.dumps({"get_us": get_us, "page_us": page_us, "walk_s": walk, "seen": seen,
                  "kb": after - before}))
"""


def scale_bench(quick: bool) -> None:
    print("Scale (one customer)", flush=True)
    big = 20_000 if quick else 100_000

    def measure(n: int) -> dict[str, float]:
        out = subprocess.run(
            [PY, "-c", SCALE, str(n)], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))

    small, tenth, large = measure(10), measure(big // 10), measure(big)
    for what, key, target in (("get by id", "get_us", 2), ("first list page of 10", "page_us", 2)):
        ratio = large[key] / small[key]
        row(
            f"{what}: {big:,} keys vs 10 keys (median)",
            f"{large[key]:.0f} / {small[key]:.0f} us",
            f"ratio {ratio:.2f}, target <= {target} {'met' if ratio <= target else 'NOT MET'}",
        )
    linear = large["walk_s"] / tenth["walk_s"]
    row(
        f"page through all {big:,} keys (page_size 100, in-process client)",
        f"{large['walk_s']:.2f} s",
        f"{big // 10:,} keys took {tenth['walk_s']:.3f} s: x{linear:.1f} for x10 keys",
    )
    per_key = large["kb"] * 1024 / big
    row(
        "resident memory per key",
        f"{per_key:,.0f} bytes",
        f"target < 2 KB {'met' if per_key < 2048 else 'NOT MET'}",
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=4.0, help="seconds per load run")
    p.add_argument(
        "--rounds", type=int, default=5, help="alternating fake/bare runs per request (HTTP)"
    )
    p.add_argument("--no-prism", action="store_true", help="skip Prism even if node is there")
    p.add_argument("--quick", action="store_true", help="shorter runs, 20,000 keys at scale")
    p.add_argument(
        "--only",
        choices=["http", "inprocess", "hostile", "proxy", "tls", "validators", "scale"],
        help="one section only",
    )
    args = p.parse_args()
    seconds = 2.0 if args.quick else args.duration
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"fakevoipbin bench, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {sys.version.split()[0]}",
        flush=True,
    )
    if args.only in (None, "http"):
        http_bench(seconds, prism=not args.no_prism, rounds=1 if args.quick else args.rounds)
    if args.only in (None, "inprocess"):
        in_process_bench(args.quick)
    if args.only in (None, "hostile"):
        hostile_bench(args.quick)
    if args.only in (None, "proxy"):
        proxy_bench(args.quick)
    if args.only in (None, "tls"):
        tls_bench(args.quick)
    if args.only in (None, "validators"):
        validators_bench()
    if args.only in (None, "scale"):
        scale_bench(args.quick)
    missed = [r for r in ROWS if "NOT MET" in r[2]]
    print(f"\n{len(ROWS)} figures, {len(missed)} targets not met", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
