"""Where a request's time goes inside the server: ``python -m bench.stages``.

Serves the bench's fake (uvicorn, one worker, validation and journal on) with a
timer around each stage of the pipeline, drives it with wrk (one thread, 8
connections), and prints the mean microseconds per request of each stage, as
measured inside the server under load. The timers add a little to every figure;
compare stages with each other, not with ``make bench``.

    python -m bench.stages [--op create|get] [--seconds 4] [--bare]

``--bare`` times the bare baseline the same way (whole request and uvicorn's sends).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from bench.run import (
    CREATE_BODY,
    KEY_ID,
    PY,
    ROOT,
    TOKEN,
    UVICORN,
    bodies_for_bare,
    free_port,
    request,
    server,
    wait_port,
)

#: (object path, attribute, label, is a coroutine function). Each is a name the stages
#: look up as they run (a module's global, a class's attribute), so the timed one runs.
STAGES = [
    ("fakevoipbin.web.bodies:BodyReader", "read", "read body", True),
    ("fakevoipbin.web.pipeline", "body_findings", "parse, bind, check body", False),
    ("fakevoipbin.web.pipeline", "read_credentials", "credentials read", False),
    ("fakevoipbin.web.pipeline", "identify", "credentials to identity", False),
    ("fakevoipbin.core.rules", "create_key", "create: rules, mint, store", False),
    ("fakevoipbin.core.rules", "get_key", "get: rules and lookup", False),
    ("fakevoipbin.web.render:Renderer", "created", "render new key (view, check, encode)", False),
    ("fakevoipbin.web.render:Renderer", "_check", "  of which: validate against spec", False),
    ("fakevoipbin.web.render", "encode_json", "  of which: encode", False),
    ("fakevoipbin.web.frame", "request_id_for", "request id", False),
    ("fakevoipbin.web.pipeline", "journal", "journal entry", False),
]

WHOLE = "whole request (Starlette, app and sends)"
SENDS = "  of which: uvicorn's two sends"

TIMED_APP = """
import os
from bench.stages import STAGES, install, timed_asgi
spent = install(STAGES)
from bench.fake_app import app as fake
app = timed_asgi(fake, int(os.environ["FAKEVOIPBIN_STAGES_EVERY"]), spent)
"""

TIMED_BARE = """
import os
from bench.bare import app as bare
from bench.stages import timed_asgi
app = timed_asgi(bare, int(os.environ["FAKEVOIPBIN_STAGES_EVERY"]), {})
"""


def timed_asgi(inner: Any, every: int, spent: dict[str, int]) -> Any:
    """An app with the whole request and uvicorn's sends timed; every ``every``
    requests, the means of those and of every stage in ``spent`` go to stderr."""
    count = [0]
    clock = time.perf_counter_ns

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await inner(scope, receive, send)  # type: ignore[no-any-return]

        async def timed_send(message: Any) -> None:
            t = clock()
            await send(message)
            spent[SENDS] = spent.get(SENDS, 0) + clock() - t

        t = clock()
        await inner(scope, receive, timed_send)
        spent[WHOLE] = spent.get(WHOLE, 0) + clock() - t
        count[0] += 1
        if count[0] % every == 0:
            labels = [WHOLE, SENDS, *(label for _, _, label, _ in STAGES)]
            line = " | ".join(f"{lb}={spent.get(lb, 0) / every / 1000:.1f}" for lb in labels)
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
            spent.clear()

    return app


def install(stages: list[tuple[str, str, str, bool]]) -> dict[str, int]:
    """Wrap each stage in a timer; the nanoseconds spent, by label."""
    import importlib

    spent: dict[str, int] = {}
    clock = time.perf_counter_ns

    def timed(fn: Callable[..., Any], label: str, is_async: bool) -> Callable[..., Any]:
        if is_async:

            async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
                t = clock()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    spent[label] = spent.get(label, 0) + clock() - t

            return wrapped_async

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            t = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0) + clock() - t

        return wrapped

    for where, attr, label, is_async in stages:
        module_name, _, cls = where.partition(":")
        owner: Any = importlib.import_module(module_name)
        if cls:
            owner = getattr(owner, cls)
        setattr(owner, attr, timed(getattr(owner, attr), label, is_async))
    return spent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--op", choices=["create", "get"], default="create")
    p.add_argument("--seconds", type=int, default=4)
    p.add_argument("--bare", action="store_true", help="time the bare app instead")
    args = p.parse_args()
    if not shutil.which("wrk"):
        print("bench.stages needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    port = free_port()
    q = f"?accesskey={TOKEN}"
    path = f"/v1.0/accesskeys{q}" if args.op == "create" else f"/v1.0/accesskeys/{KEY_ID}{q}"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "_stages_app.py").write_text(TIMED_BARE if args.bare else TIMED_APP)
        log = Path(tmp, "stages.log")
        env = {"FAKEVOIPBIN_STAGES_EVERY": "5000", "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}"}
        if args.bare:
            env["FAKEVOIPBIN_BENCH_BODIES"] = _bare_bodies(tmp)
        cmd = [PY, "-m", "uvicorn", "_stages_app:app", "--port", str(port), *UVICORN]
        with log.open("w") as err, server_with_stderr(cmd, port, env, err):
            for _ in range(100):
                request(port, "POST", f"/v1.0/accesskeys{q}", CREATE_BODY)
            wrk = ["wrk", "-t1", "-c8", f"-d{args.seconds}s", f"http://127.0.0.1:{port}{path}"]
            if args.op == "create":
                wrk[1:1] = ["-s", str(ROOT / "bench" / "post.lua")]
            out = subprocess.run(wrk, capture_output=True, text=True, check=True).stdout
        lines = [ln for ln in log.read_text().splitlines() if "=" in ln]
    print(next(ln for ln in out.splitlines() if "Requests/sec" in ln).strip())
    if not lines:
        print("no stage report (fewer than 5,000 requests)")
        return 1
    last = lines[len(lines) // 2]  # a report from the middle of the run
    who = "the bare app" if args.bare else "the fake"
    print(f"mean microseconds per {args.op} inside {who}'s server, stages timed:")
    for part in last.split(" | "):
        label, _, value = part.rpartition("=")
        if value != "0.0":  # a stage the operation does not reach
            print(f"  {label:<40} {value:>7}")
    return 0


def _bare_bodies(tmp: str) -> str:
    """The fake's own answers, in a file, for the bare app (as ``make bench`` does)."""
    port = free_port()
    fake = [PY, "-m", "uvicorn", "bench.fake_app:app", "--port", str(port), *UVICORN]
    with server(fake, port):
        for _ in range(100):
            request(port, "POST", f"/v1.0/accesskeys?accesskey={TOKEN}", CREATE_BODY)
        bodies = bodies_for_bare(port)
    path = Path(tmp, "bodies.json")
    path.write_text(json.dumps(bodies))
    return str(path)


@contextmanager
def server_with_stderr(
    cmd: list[str], port: int, env: dict[str, str], err: IO[str]
) -> Iterator[None]:
    """``bench.run.server``, keeping the server's stderr (the stage reports)."""
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err
    )
    try:
        wait_port(port, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
