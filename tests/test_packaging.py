"""The wheel stands alone: it ships the spec and fixtures; nothing reads the shared folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def yaml_operations(spec: Path) -> list[str]:
    import yaml

    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    methods = ("get", "put", "post", "delete", "patch")
    return [
        op["operationId"]
        for item in doc["paths"].values()
        for m, op in item.items()
        if m in methods
    ]


def test_pyproject_declares_python_and_the_cli() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"].startswith(">=3.")
    assert meta["scripts"]["fakevoipbin"] == "fakevoipbin.cli:main"


def test_wheel_ships_spec_and_fixtures_and_works_installed(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("fakevoipbin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "fakevoipbin/_data/openapi.yaml" in names
    assert "fakevoipbin/_data/fixtures/default.yaml" in names
    assert "fakevoipbin/data/routes.tsv" in names
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import fakevoipbin, fakevoipbin.resources as r;"
        "from fakevoipbin.spec import Spec; from fakevoipbin.fixtures import load_fixtures;"
        "print(fakevoipbin.__file__); print(r.spec_path()); print(r.default_fixtures_path());"
        "print(len(Spec().operations), len(load_fixtures().customers))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(target)},
    ).stdout.split("\n")
    assert all(line.startswith(str(target)) for line in out[:3]), out
    # as many operations as the checkout's spec has (the wheel ships that one)
    operations = len(yaml_operations(ROOT / "openapi.yaml"))
    assert out[3] == f"{operations} 3"
    # The route table reads from the installed package too.
    table = (
        "import fakevoipbin.core.routetable as t;print(t.__file__); print(len(t.default_table()))"
    )
    lines = subprocess.run(
        [sys.executable, "-c", table],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(target)},
    ).stdout.split("\n")
    assert lines[0].startswith(str(target)), lines
    assert int(lines[1]) > 400


def test_nothing_reads_the_shared_folder() -> None:
    needles = ["/".join(["..", "shared"]), "shared" + "/product", "shared" + "/voipbin"]
    for folder in ("fakevoipbin", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not any(n in text for n in needles), path


def test_mypy_strict_infers_real_types_for_a_client(tmp_path: Path) -> None:
    """A client typed with mypy --strict sees the package's own types (py.typed), not Any."""
    client = tmp_path / "client.py"
    client.write_text(
        "from fakevoipbin import Entry, FakeVoipbin, FaultRule\n"
        "fake = FakeVoipbin()\n"
        "customer = fake.add_customer()\n"
        "reveal_type(customer)\n"
        'rule: FaultRule = fake.faults.add("PostAccesskeys", kind="connection_reset")\n'
        "reveal_type(rule)\n"
        'calls: list[Entry] = fake.journal.calls("PostAccesskeys")\n'
        "reveal_type(calls)\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(client)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    revealed = [
        line.split("Revealed type is ", 1)[1] for line in out.splitlines() if "Revealed" in line
    ]
    assert revealed == [
        '"tuple[str, str]"',
        '"fakevoipbin.core.faults.FaultRule"',
        '"list[fakevoipbin.core.journal.Entry]"',
    ], out
    assert "Success: no issues found" in out, out
