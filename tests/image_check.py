"""make image and make test-image: the container image, built and then checked.

``python -m tests.image_check --build-only`` is ``make image``: it builds the
Dockerfile with docker, or with podman where docker has no daemon, on the Dockerfile's
default base, or, where that cannot be pulled (as on CI's machine), on a base made from
Debian's packages (``tests/image/engine.py``). ``IMAGE`` and ``BASE`` override the tag
and the base.

Without ``--build-only`` it is ``make test-image``: it builds, then runs the checks of
``tests/image/`` (pytest) against the image: the tutorial through the published port,
the environment, the control token, stop and health, state, TLS and intercept, and every
CI recipe of ``docs/recipes/`` as written. It installs podman when no engine is there
(as root, as CI runs); a missing engine fails the check, never skips it. It prints the
build time and the image's size over its base.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from tests.image.engine import EngineError, main_build

#: The tag the image gets unless IMAGE says otherwise (Makefile's IMAGE default).
DEFAULT_IMAGE = "fakevoipbin:latest"
#: What tests/image reads to know which image and engine to check.
IMAGE_ENV = "FAKEVOIPBIN_TEST_IMAGE"
ENGINE_ENV = "FAKEVOIPBIN_TEST_ENGINE"
BASE_ENV = "FAKEVOIPBIN_TEST_BASE"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.image_check", description=__doc__)
    p.add_argument("--image", default=os.environ.get("IMAGE") or DEFAULT_IMAGE)
    p.add_argument("--base", default=os.environ.get("BASE") or None)
    p.add_argument("--build-only", action="store_true", help="build, check nothing (make image)")
    p.add_argument("pytest_args", nargs="*", help="more arguments for pytest")
    args = p.parse_args(argv)
    try:
        built = main_build(args.image, args.base, install=not args.build_only)
    except EngineError as exc:
        print(f"image_check: {exc}", file=sys.stderr)
        return 1
    if args.build_only:
        return 0
    engine = built.engine
    env = {**os.environ, **engine.env, IMAGE_ENV: built.image, ENGINE_ENV: engine.exe}
    env[BASE_ENV] = built.base
    cmd = [sys.executable, "-m", "pytest", "-q", "tests/image", *args.pytest_args]
    return subprocess.run(cmd, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
