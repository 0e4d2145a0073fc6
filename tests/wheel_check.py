"""make test-wheel: the built wheel, installed in fresh venvs, passes a client's suite.

The wheel is built once from the checkout. Then each environment gets a fresh venv in
a temporary folder, the wheel and pytest installed there from the index, and runs
``tests/wheel_client/`` (copied out of the checkout, so nothing but the installed
wheel can be imported) with ``python -W error -m pytest -W error``:

- the newest release of every dependency, on each Python from 3.10 to 3.13
  (``~/.pyenv/versions/3.1x.*/bin/python``);
- every dependency at the floor ``pyproject.toml`` declares (``>=X``), and pytest
  8.0, on Python 3.10.

Two venvs are made at a time (CI has two cores). A Python that is missing is said
loudly and skipped; under CI (``CI`` set) that fails the run. It prints each venv's
installed versions of the dependencies and a last line ``N venvs passed in T s``,
and exits non-zero, showing the venv's output, when any fails.

    python -m tests.wheel_check [--only NAME ...] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
CLIENT_SUITE = ROOT / "tests" / "wheel_client"
PYENV = Path.home() / ".pyenv" / "versions"
NEWEST_ON = ("3.10", "3.11", "3.12", "3.13")
FLOORS_ON = "3.10"
#: The lowest pytest the plugin is tested with (the dev extra's floor).
PYTEST_FLOOR = "8.0.0"
PARALLEL = 2
#: Per step (venv, install, the suite): a hung step fails its venv, not the run.
STEP_TIMEOUT_S = 600


@dataclass
class Env:
    name: str
    python: Path
    constraints: list[str] = field(default_factory=list)
    ok: bool = False
    versions: list[str] = field(default_factory=list)
    summary: str = ""
    output: str = ""
    seconds: float = 0.0


def declared() -> list[Requirement]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in meta["dependencies"]]


def floors(requirements: list[Requirement]) -> list[str]:
    """``name==X`` for each dependency's ``>=X``; a dependency without one is an error,
    since its lowest version would then be untested."""
    pins = []
    for req in requirements:
        lows = [s.version for s in req.specifier if s.operator == ">="]
        if len(lows) != 1:
            raise SystemExit(f"wheel_check: {req} declares no single >= floor to test")
        pins.append(f"{req.name}=={lows[0]}")
    return pins


def find_python(version: str) -> Path | None:
    """The newest ``~/.pyenv/versions/<version>.N`` interpreter."""
    found = []
    for candidate in PYENV.glob(f"{version}.*/bin/python"):
        m = re.fullmatch(re.escape(version) + r"\.(\d+)", candidate.parent.parent.name)
        if m and os.access(candidate, os.X_OK):
            found.append((int(m.group(1)), candidate))
    return max(found)[1] if found else None


def clean_env() -> dict[str, str]:
    """This process's environment without what would point the venv elsewhere: a
    running fake (attach mode), another venv, an import path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FAKEVOIPBIN_")
        and k not in ("VOIPBIN_API_BASE_URL", "VOIPBIN_API_KEY", "PYTHONPATH", "VIRTUAL_ENV")
        and not k.startswith("PYTEST_")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def build_wheel(dist: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=STEP_TIMEOUT_S,
    )
    (wheel,) = dist.glob("fakevoipbin-*.whl")
    return wheel


def _step(env: Env, log: list[str], cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    log.append("$ " + " ".join(cmd))
    try:
        r = subprocess.run(
            cmd,
            cwd=cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        log.append(f"timed out after {exc.timeout} s")
        raise
    log.append(r.stdout + r.stderr)
    return r


def run_env(env: Env, wheel: Path, names: set[str], work: Path) -> Env:
    start = time.monotonic()
    home = work / env.name
    home.mkdir()
    log: list[str] = []
    try:
        venv = home / "venv"
        py = str(venv / "bin" / "python")
        if _step(env, log, [str(env.python), "-m", "venv", str(venv)], home).returncode:
            return env
        install = [py, "-m", "pip", "install", "-q", str(wheel)]
        if env.constraints:
            pins = home / "constraints.txt"
            pins.write_text("\n".join([*env.constraints, f"pytest=={PYTEST_FLOOR}", ""]))
            install += ["pytest", "-c", str(pins)]
        else:
            install += ["pytest"]
        if _step(env, log, install, home).returncode:
            return env
        frozen = _step(env, log, [py, "-m", "pip", "freeze", "--all"], home)
        for line in frozen.stdout.splitlines():
            name = line.split("==")[0]
            if "==" in line and canonicalize_name(name) in names:
                env.versions.append(line)
        suite = home / "client"
        shutil.copytree(CLIENT_SUITE, suite, ignore=shutil.ignore_patterns("__pycache__"))
        test = [py, "-W", "error", "-m", "pytest", "-W", "error", "-p", "no:cacheprovider"]
        r = _step(env, log, [*test, "-q", "-rA", str(suite)], home)
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        env.summary = lines[-1].strip("= ") if lines else "(no output)"
        env.ok = r.returncode == 0
    except subprocess.TimeoutExpired:
        env.ok = False
    finally:
        env.output = "\n".join(log)
        env.seconds = time.monotonic() - start
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.wheel_check")
    parser.add_argument("--only", nargs="*", default=None, help="venv names to run")
    parser.add_argument("--keep", action="store_true", help="keep the venvs' folder")
    args = parser.parse_args(argv)
    started = time.monotonic()
    requirements = declared()
    names = {canonicalize_name(r.name) for r in requirements} | {"pytest"}

    envs: list[Env] = []
    missing: list[str] = []
    for version in NEWEST_ON:
        python = find_python(version)
        if python is None:
            missing.append(version)
        else:
            envs.append(Env(f"py{version}-newest", python))
    floor_python = find_python(FLOORS_ON)
    if floor_python is None:
        missing.append(f"{FLOORS_ON} (floors)")
    else:
        envs.append(Env(f"py{FLOORS_ON}-floors", floor_python, floors(requirements)))
    if args.only is not None:
        envs = [e for e in envs if e.name in args.only]
    for version in missing:
        print(
            f"wheel_check: !!! NO PYTHON {version} at {PYENV}/{version.split()[0]}.*/bin/python:"
            " that venv is NOT tested !!!",
            flush=True,
        )

    work = Path(tempfile.mkdtemp(prefix="fakevoipbin-wheel-"))
    try:
        wheel = build_wheel(work / "dist")
        print(f"wheel_check: built {wheel.name} ({wheel.stat().st_size} bytes)", flush=True)
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            done = list(pool.map(lambda e: run_env(e, wheel, names, work), envs))
    finally:
        if args.keep:
            print(f"wheel_check: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    for env in done:
        mark = "ok" if env.ok else "FAILED"
        print(f"\n{env.name} ({env.python}): {mark} in {env.seconds:.1f} s: {env.summary}")
        print("  " + " ".join(env.versions or ["(nothing installed)"]))
    failed = [e for e in done if not e.ok]
    for env in failed:
        print(f"\n----- {env.name}: output -----\n{env.output}\n----- end of {env.name} -----")
    elapsed = time.monotonic() - started
    print()
    if failed:
        print(f"{len(failed)} of {len(done)} venvs failed in {elapsed:.1f} s")
        return 1
    if missing and os.environ.get("CI"):
        print(f"{len(done)} venvs passed in {elapsed:.1f} s, but {len(missing)} Python(s) missing")
        return 1
    if not done:
        print("no venv ran")
        return 1
    print(f"{len(done)} venvs passed in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
