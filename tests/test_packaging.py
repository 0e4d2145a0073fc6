"""The wheel stands alone: it ships the spec and fixtures; nothing reads the shared folder."""

from __future__ import annotations

import os
import re
import shutil
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
    assert "fakevoipbin/data/ui.html" in names  # the live page, /_fake/ui
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


# --- the image's build context --------------------------------------------------------


def docker_context(into: Path) -> list[str]:
    """The files the Dockerfile's build sees, copied to ``into``: .dockerignore is
    ``*`` then ``!NAME`` exceptions (top-level names) and ``**/`` exclusions, the only
    forms it uses. The top-level names let in."""
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the context starts empty"
    kept = [line[1:].rstrip("/") for line in lines[1:] if line.startswith("!")]
    dropped = [line.removeprefix("**/") for line in lines[1:] if line.startswith("**/")]
    assert len(kept) + len(dropped) == len(lines) - 1, lines
    for name in kept:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns(*dropped))
        else:
            shutil.copy(source, into / name)
    return kept


def test_the_images_build_context_builds_a_whole_wheel(tmp_path: Path) -> None:
    """What .dockerignore lets in is all the wheel's build needs (pyproject's
    force-includes, readme, license), and the Dockerfile copies each of those names."""
    context = tmp_path / "context"
    context.mkdir()
    kept = docker_context(context)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = {
        w
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for w in line.split()[1:-1]
    }
    assert set(kept) == copied, (kept, copied)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "dist"), str(context)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("fakevoipbin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "fakevoipbin/_data/openapi.yaml",
        "fakevoipbin/_data/openapi-control.yaml",
        "fakevoipbin/_data/fixtures/default.yaml",
        "fakevoipbin/data/routes.tsv",
        "fakevoipbin/data/ui.html",
        "fakevoipbin/healthcheck.py",
    ):
        assert needed in names, needed


def test_the_dockerfile_speaks_the_packages_own_names() -> None:
    """Its variables are settings' own (options.env_name), its port is the default one,
    its health check is the package's module, and its user is not root."""
    from fakevoipbin.options import DEFAULT_PORT, env_names

    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    variables = set(re.findall(r"\b(FAKEVOIPBIN_[A-Z_]+)=", text))
    assert variables and variables <= set(env_names()), variables - set(env_names())
    assert f"EXPOSE {DEFAULT_PORT}" in text
    assert f"FAKEVOIPBIN_PORT={DEFAULT_PORT}" in text
    assert '"-m", "fakevoipbin.healthcheck"' in text
    assert (ROOT / "fakevoipbin" / "healthcheck.py").exists()
    user = re.search(r"^ARG UID=(\d+)$", text, re.M)
    assert user and int(user.group(1)) != 0 and "USER ${UID}" in text
    assert 'ENTRYPOINT ["fakevoipbin"]' in text and 'CMD ["serve"]' in text
