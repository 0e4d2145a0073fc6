"""What a piece of the create path costs: ``python -m bench.variants``.

Serves the bench's fake several times over, each copy with one piece of the create
path taken out or changed, beside the bare app; drives each with wrk (one thread,
8 connections, POST /accesskeys) in alternating rounds and prints each variant's
median ratio to the bare app. The gap between two variants is what the piece costs.
These are diagnostics: a variant answers what the real fake would not.

    python -m bench.variants [--rounds 6] [--seconds 2] [VARIANT ...]

Variants: fake (as shipped), constant (same pipeline and body read, a constant
answer), no-render (mints and stores the key, answers a constant), no-validate (the
new key's rendering is not checked), no-gc (garbage collector off), gc-frozen
(everything made at start moved out of the collector's reach), fixed-store
(each new key is forgotten again, so the store does not grow).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.run import (
    CREATE_BODY,
    PY,
    ROOT,
    TOKEN,
    UVICORN,
    bodies_for_bare,
    free_port,
    request,
    server,
)

VARIANTS = (
    "fake",
    "constant",
    "no-render",
    "no-validate",
    "no-gc",
    "gc-frozen",
    "fixed-store",
)

VARIANT_APP = """
import os
from bench.fake_app import app, web
from bench.variants import apply
apply(web, os.environ["FAKEVOIPBIN_VARIANT"])
"""


def apply(web: Any, variant: str) -> None:
    """Change the served fake (a ``WebApp``) into ``variant`` (in the server process)."""
    from fakevoipbin.core import rules
    from fakevoipbin.web import operations
    from fakevoipbin.web.exchange import Reply

    state = web.state
    renderer = web.pipeline.renderer
    some_key = next(iter(state.store.keys.values()))
    constant = renderer.key(state.profile, some_key)
    real_post = operations.OPERATIONS["PostAccesskeys"]

    def constant_post(state: Any, render: Any, ex: Any) -> Any:
        return Reply(200, None, raw=constant)

    def unrendered_post(state: Any, render: Any, ex: Any) -> Any:
        b = ex.body
        rules.create_key(state, ex.identity, b.get("name"), b.get("detail"), b.get("expire"), [])
        return Reply(200, None, raw=constant)

    def forgetting_post(state: Any, render: Any, ex: Any) -> Any:
        before = len(state.store.keys)
        reply = real_post(state, render, ex)
        if len(state.store.keys) > before:
            _, key = state.store.keys.popitem()
            state.store.by_hash.pop(key.token_hash, None)
            customer = state.store.customers[key.customer_id]
            customer.by_create.pop(key.tm_create, None)
            customer.live.discard(key.tm_create)
        return reply

    if variant == "constant":
        operations.OPERATIONS["PostAccesskeys"] = constant_post
    elif variant == "no-render":
        operations.OPERATIONS["PostAccesskeys"] = unrendered_post
    elif variant == "no-validate":
        renderer._check = lambda validator, obj: None
    elif variant == "no-gc":
        import gc

        gc.disable()
    elif variant == "gc-frozen":  # what was there at start is never collected again
        import gc

        gc.freeze()
    elif variant == "fixed-store":
        operations.OPERATIONS["PostAccesskeys"] = forgetting_post
    elif variant != "fake":
        raise ValueError(f"unknown variant {variant}")


def _rps(port: int, seconds: int) -> float:
    url = f"http://127.0.0.1:{port}/v1.0/accesskeys?accesskey={TOKEN}"
    post = str(ROOT / "bench" / "post.lua")
    cmd = ["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", post, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("variants", nargs="*", metavar="VARIANT", help="default: all of them")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--seconds", type=int, default=2)
    args = p.parse_args()
    chosen = args.variants or list(VARIANTS)
    unknown = set(chosen) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        Path(tmp, "_variant_app.py").write_text(VARIANT_APP)
        path_env = f"{tmp}{os.pathsep}{ROOT}"
        ports: dict[str, int] = {}
        for variant in chosen:
            port = ports[variant] = free_port()
            cmd = [PY, "-m", "uvicorn", "_variant_app:app", "--port", str(port), *UVICORN]
            env = {"FAKEVOIPBIN_VARIANT": variant, "PYTHONPATH": path_env}
            stack.enter_context(server(cmd, port, env))
            for _ in range(100):
                request(port, "POST", f"/v1.0/accesskeys?accesskey={TOKEN}", CREATE_BODY)
        bodies = Path(tmp, "bodies.json")
        bodies.write_text(json.dumps(bodies_for_bare(ports[chosen[0]])))
        bare = free_port()
        bare_cmd = [PY, "-m", "uvicorn", "bench.bare:app", "--port", str(bare), *UVICORN]
        stack.enter_context(server(bare_cmd, bare, {"FAKEVOIPBIN_BENCH_BODIES": str(bodies)}))
        ratios: dict[str, list[float]] = {v: [] for v in chosen}
        for _ in range(args.rounds):
            for variant in chosen:
                fake_rps = _rps(ports[variant], args.seconds)
                ratios[variant].append(fake_rps / _rps(bare, args.seconds))
    print(f"POST /accesskeys, fake variant / bare, median of {args.rounds} alternating rounds")
    for variant in chosen:
        rounds = ", ".join(f"{r:.2f}" for r in ratios[variant])
        print(f"  {variant:<12} {statistics.median(ratios[variant]):.2f}   (rounds {rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
