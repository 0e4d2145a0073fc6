"""Instructions per request, counted by valgrind: ``python -m bench.instructions``.

On a shared host two throughput runs a minute apart can differ by a fifth; a count of
instructions does not move. This drives the bench's fake (or the bare app) in-process,
through its ASGI entry point with no server and no socket, once for ``--few`` and once
for ``--many`` requests of one kind, each under ``valgrind --tool=callgrind``, and
prints (many - few) / (many - few requests): the instructions one request costs, the
start-up cancelled out. Instructions are not time (a cache miss costs many), so use it
to compare two versions of the code, not to predict req/s.

    python -m bench.instructions [--app fake|bare] [--request get|create|list]

Each run takes about half a minute (valgrind is some fifty times slower).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.run import CREATE_BODY, KEY_ID, PY, ROOT, TOKEN

REQUESTS = {
    "get": ("GET", f"/v1.0/accesskeys/{KEY_ID}", f"accesskey={TOKEN}"),
    "create": ("POST", "/v1.0/accesskeys", f"accesskey={TOKEN}"),
    "list": ("GET", "/v1.0/accesskeys", f"accesskey={TOKEN}&page_size=100"),
}


def _scope(method: str, path: str, query: str) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")]
    if method == "POST":
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(CREATE_BODY)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def drive(app_name: str, kind: str, count: int) -> None:
    """In the measured process: 100 creates (a list has 100 keys), then ``count``."""
    if app_name == "bare":
        from bench.bare import app
    else:
        from bench.fake_app import app
    body = {"type": "http.request", "body": CREATE_BODY.encode(), "more_body": False}

    async def receive() -> dict[str, Any]:
        return body

    async def send(_message: Any) -> None:
        return None

    async def run() -> None:
        for _ in range(100):
            await app(_scope(*REQUESTS["create"]), receive, send)
        for _ in range(count):
            await app(_scope(*REQUESTS[kind]), receive, send)

    asyncio.run(run())


def _counted(app_name: str, kind: str, count: int, bodies: str) -> int:
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        PY,
        "-m",
        "bench.instructions",
        "--drive",
        app_name,
        kind,
        str(count),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "FAKEVOIPBIN_BENCH_BODIES": bodies}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no count from valgrind:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def _bodies(tmp: str) -> str:
    """The fake's own answers, for the bare app (as make bench gives them)."""
    from fakevoipbin.testing import FakeVoipbin

    fake = FakeVoipbin()
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        for _ in range(100):
            c.post("/accesskeys", content=CREATE_BODY)
        bodies = {
            "create": c.post("/accesskeys", content=CREATE_BODY).text,
            "get": c.get(f"/accesskeys/{KEY_ID}").text,
            "list": c.get("/accesskeys", params={"page_size": 100}).text,
        }
    path = Path(tmp, "bodies.json")
    path.write_text(json.dumps(bodies))
    return str(path)


def main() -> int:
    if sys.argv[1:2] == ["--drive"]:
        drive(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--app", choices=["fake", "bare"], default="fake")
    p.add_argument("--request", choices=sorted(REQUESTS), default="create")
    p.add_argument("--few", type=int, default=200)
    p.add_argument("--many", type=int, default=1200)
    args = p.parse_args()
    if not shutil.which("valgrind"):
        print("bench.instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.many <= args.few:
        p.error("--many must be more than --few")
    with tempfile.TemporaryDirectory() as tmp:
        bodies = _bodies(tmp)
        few = _counted(args.app, args.request, args.few, bodies)
        many = _counted(args.app, args.request, args.many, bodies)
    per = (many - few) / (args.many - args.few)
    print(f"{args.app} {args.request}: {per:,.0f} instructions per request (callgrind)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
