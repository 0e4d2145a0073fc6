"""``fakevoipbin verify``: run the contract machine against a server and say, rule by
rule, what held and what broke, with the shortest request sequence for each breach."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from .machine import RULES, ContractBroken, Recorder, make_machine
from .strategies import NAME_PREFIX
from .target import Target, TargetError

STEPS = 25


def _settings(examples: int, shrink: bool) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if shrink:
        phases.append(Phase.shrink)
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


class _Progress:
    """A line on stderr every two seconds: examples run, requests sent."""

    def __init__(self, target: Target, recorder: Recorder, total: int, out: TextIO) -> None:
        self.target, self.recorder, self.total, self.out = target, recorder, total, out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            self.out.write(
                f"verify: {self.recorder.examples}/{self.total} examples, "
                f"{self.target.requests} requests\n"
            )
            self.out.flush()

    def __enter__(self) -> _Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _run(target: Target, recorder: Recorder, examples: int, seed: int, shrink: bool) -> None:
    machine = make_machine(target, recorder)
    hypothesis_seed(seed)(machine)
    run_state_machine_as_test(machine, settings=_settings(examples, shrink))


def shortest_sequence(target: Target, rule_name: str, examples: int, seed: int) -> list[str]:
    """The shrunk request sequence that breaks one rule, as Hypothesis prints it."""
    lines: list[str] = []
    recorder = Recorder(hard=frozenset({rule_name}))
    try:
        with with_reporter(lambda value: lines.append(str(value))):
            _run(target, recorder, examples, seed, shrink=True)
    except ContractBroken as exc:
        notes = [str(n) for n in getattr(exc, "__notes__", [])]
        printed = [ln for chunk in lines + notes for ln in chunk.splitlines()]
        steps = [ln.strip() for ln in printed if ln.strip().startswith(("state", "keys_"))]
        return [*steps, f"-> {exc}"]
    except Exception as exc:  # the target broke in another way while shrinking
        return [f"(no sequence: {type(exc).__name__}: {str(exc)[:200]})"]
    return ["(the breach did not happen again while shrinking)"]


def cleanup(target: Target) -> int:
    """Delete every key a run left behind (recognised by the name prefix)."""
    deleted = 0
    token = ""
    leftovers: list[str] = []
    for _ in range(1000):
        params = {"page_size": 100, **({"page_token": token} if token else {})}
        r = target.call("GET", "/accesskeys", token=target.admin_token, params=params)
        if r.status_code != 200:
            break
        body = r.json()
        page = body.get("result") or []
        leftovers += [k["id"] for k in page if str(k.get("name", "")).startswith(NAME_PREFIX)]
        token = body.get("next_page_token") or ""
        if not page or not token:
            break
    for key_id in leftovers:
        r = target.call("DELETE", f"/accesskeys/{key_id}", token=target.admin_token)
        deleted += r.status_code == 200
    return deleted


def verify(
    base_url: str,
    accesskey: str,
    *,
    profile: str | None = None,
    examples: int = 50,
    seed: int = 0,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    client: httpx.Client | None = None,
) -> int:
    """Run the contract; 0 when every rule holds, 1 when one breaks, 2 when the target
    cannot be used."""
    try:
        target = Target(base_url, accesskey, profile=profile, client=client)
        target.check_credential()
        target.begin()
    except (TargetError, httpx.HTTPError) as exc:
        err.write(f"fakevoipbin verify: {exc}\n")
        return 2
    kind = "a fakevoipbin fake" if target.is_fake else "a server that is not fakevoipbin"
    out.write(
        f"verify {base_url} ({kind}, profile {target.profile}, {examples} examples, seed {seed})\n"
    )
    started = time.monotonic()
    recorder = Recorder()
    try:
        with _Progress(target, recorder, examples, err):
            _run(target, recorder, examples, seed, shrink=False)
        sequences = {
            name: shortest_sequence(target, name, max(examples, 20), seed)
            for name in recorder.broken
        }
    finally:
        removed = cleanup(target)
        target.end()
    out.write(f"\n{'rule':<24} {'result':<7} {'checks':>7}  what it says\n")
    for name, text in RULES.items():
        r = recorder.results[name]
        verdict = "BROKEN" if r.breaches else ("held" if r.checks else "unused")
        out.write(f"{name:<24} {verdict:<7} {r.checks:>7}  {text}\n")
    for name in recorder.broken:
        out.write(f"\nBROKEN {name}: {recorder.results[name].first}\n")
        out.write("shortest failing sequence:\n")
        for line in sequences[name]:
            out.write(f"    {line}\n")
    took = time.monotonic() - started
    out.write(
        f"\n{recorder.examples} examples, {target.requests} requests in {took:.1f} s; "
        f"{removed} leftover keys deleted\n"
    )
    broken = recorder.broken
    out.write(f"{len(RULES) - len(broken)} rules held, {len(broken)} broken\n")
    return 1 if broken else 0
