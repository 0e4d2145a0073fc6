"""The container engine that ``make image`` and ``make test-image`` drive.

``find_engine`` picks docker where its daemon answers, else podman, set up for the
project's machines as measured there: the ``runc`` runtime, since Debian's ``crun``
refuses a hybrid cgroup layout, and no default ulimits, since podman's exceed the
machines' hard limits. Those two settings
live in a ``containers.conf`` of its own (``CONTAINERS_CONF``), so every podman command,
podman's Docker-compatible service and the tools that speak to it take them alike.
With ``install=True`` and neither engine on the PATH, it installs podman from Debian's
packages (as root, as CI runs).

``ensure_base`` gives the image's base: the Dockerfile's default (``ARG BASE=``, read
from the Dockerfile, its one home) when the engine can pull it, else a base made from
Debian's packages with debootstrap (Python 3.11, ``python3-venv``, CA certificates),
made once and kept in the engine's store.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCKERFILE = ROOT / "Dockerfile"
#: Where the engine's own settings and the debootstrap tree are kept between runs.
CACHE = Path(os.environ.get("FAKEVOIPBIN_IMAGE_CACHE", "/var/tmp/fakevoipbin-image"))
#: The base made from Debian's packages when the default cannot be pulled.
DEBIAN_BASE = "localhost/fakevoipbin-base:bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
#: The machine's CA bundle, which pip inside a build may need to reach the package index.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
#: podman's settings for these machines (containers.md): runc, no default ulimits.
CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n'
#: Installing an engine or a base, and building, are minutes at most; more is a hang.
SLOW_STEP_S = 900


class EngineError(RuntimeError):
    """A step that cannot be done, in one line that says what to do."""


def default_base() -> str:
    """The Dockerfile's ``ARG BASE=…`` default (the official slim Python image)."""
    found = re.search(r"^ARG BASE=(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    if not found:
        raise EngineError("the Dockerfile has no ARG BASE=… line")
    return found.group(1)


@dataclass
class Engine:
    """One container engine's command line, with the environment it runs in."""

    name: str
    exe: str
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        return [self.exe, *args]

    def run(
        self, *args: str, timeout: float = 120, check: bool = True, quiet: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args),
            env={**os.environ, **self.env},
            capture_output=quiet,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            said = (done.stderr or done.stdout or "").strip().splitlines()
            raise EngineError(
                f"{self.name} {' '.join(args[:2])} failed ({done.returncode}): "
                + (said[-1] if said else "no message")
            )
        return done

    def image_exists(self, image: str) -> bool:
        return self.run("image", "inspect", image, check=False).returncode == 0

    def image_size(self, image: str) -> int:
        """The image's size in bytes, unpacked, as the engine reports it."""
        return int(self.run("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise EngineError(
            f"{' '.join(packages)} missing: install them (apt-get install {' '.join(packages)}) "
            "and run again"
        )
    print(f"installing {' '.join(packages)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=SLOW_STEP_S)
        if done.returncode != 0:
            raise EngineError(f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}")


def find_engine(install: bool = False) -> Engine:
    """docker where its daemon answers, else podman (installed when missing and
    ``install``), set up for these machines."""
    if _docker_answers():
        return Engine("docker", shutil.which("docker") or "docker")
    if shutil.which("podman") is None or shutil.which("runc") is None:
        if not install:
            raise EngineError(
                "no container engine: docker has no daemon and podman is not installed "
                "(apt-get install podman runc)"
            )
        _apt_install("podman", "runc", "debootstrap")
    CACHE.mkdir(parents=True, exist_ok=True)
    conf = CACHE / "containers.conf"
    conf.write_text(CONTAINERS_CONF, encoding="utf-8")
    return Engine("podman", shutil.which("podman") or "podman", {"CONTAINERS_CONF": str(conf)})


def _mirror() -> str:
    """The Debian mirror apt uses here (its sources), else Debian's own."""
    for source in sorted(Path("/etc/apt").glob("sources.list*")) + sorted(
        Path("/etc/apt/sources.list.d").glob("*")
    ):
        if not source.is_file():
            continue
        text = source.read_text(encoding="utf-8", errors="replace")
        found = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+", text, re.M
        )
        if found:
            return found.group(1)
    return DEBIAN_MIRROR


def _debian_base(engine: Engine) -> str:
    if engine.image_exists(DEBIAN_BASE):
        return DEBIAN_BASE
    if shutil.which("debootstrap") is None:
        _apt_install("debootstrap")
    rootfs = CACHE / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    print(f"making {DEBIAN_BASE} from Debian's packages (debootstrap, about a minute)", flush=True)
    done = subprocess.run(
        [
            "debootstrap", "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            DEBIAN_SUITE, str(rootfs), _mirror(),
        ],
        capture_output=True, text=True, timeout=SLOW_STEP_S,
    )  # fmt: skip
    if done.returncode != 0:
        raise EngineError(f"debootstrap failed: {done.stdout.strip()[-300:]}")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(
        engine.command("import", "-", DEBIAN_BASE),
        stdin=tar.stdout,
        env={**os.environ, **engine.env},
        capture_output=True,
        text=True,
        timeout=SLOW_STEP_S,
    )
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)
    if imported.returncode != 0:
        raise EngineError(f"importing the Debian base failed: {imported.stderr.strip()}")
    return DEBIAN_BASE


def ensure_base(engine: Engine, base: str | None = None) -> str:
    """The base to build on: ``base`` when given; else the Dockerfile's default when
    it is here or can be pulled; else one made from Debian's packages."""
    if base:
        return base
    wanted = default_base()
    if engine.image_exists(wanted):
        return wanted
    pulled = engine.run("pull", "--quiet", wanted, check=False, timeout=SLOW_STEP_S)
    if pulled.returncode == 0:
        return wanted
    print(f"cannot pull {wanted}; building on a base made from Debian's packages", flush=True)
    return _debian_base(engine)


@dataclass
class Built:
    image: str
    base: str
    seconds: float
    #: The image's size over its base's, in bytes.
    added: int
    #: The engine that built it (and that the checks use).
    engine: Engine


def build(engine: Engine, image: str, base: str) -> Built:
    """``image`` built from the Dockerfile on ``base``. On podman, the machine's CA
    bundle is lent to pip for the build (``PIP_CERT``), which these machines need."""
    args = ["build", "--tag", image, "--build-arg", f"BASE={base}"]
    if engine.name == "podman":
        args += ["--format", "docker"]  # keeps the HEALTHCHECK
        if HOST_CA.exists():
            args += [
                "--volume", f"{HOST_CA}:/run/host-ca.crt:ro",
                "--build-arg", "PIP_CERT=/run/host-ca.crt",
            ]  # fmt: skip
    start = time.monotonic()
    done = engine.run(*args, str(ROOT), timeout=SLOW_STEP_S, check=False, quiet=False)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise EngineError(f"{engine.name} build failed ({done.returncode}); its output is above")
    return Built(image, base, seconds, engine.image_size(image) - engine.image_size(base), engine)


def main_build(image: str, base: str | None, install: bool) -> Built:
    engine = find_engine(install=install)
    chosen = ensure_base(engine, base)
    built = build(engine, image, chosen)
    print(
        f"built {image} with {engine.name} on {chosen} in {built.seconds:.1f} s; "
        f"{built.added / 1e6:.1f} MB over the base",
        flush=True,
    )
    return built
