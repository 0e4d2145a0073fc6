"""The samples of docs/any-language.md and the recipes of docs/recipes/, as data the
image's checks start as written.

``doc_runs`` gives each ``docker run`` line of the page, parsed: its variables, volumes,
image and arguments. ``start_run`` starts one detached on the engine under test, with
three substitutions a test needs and a user does not: the image under test for
``fakevoipbin``, a free loopback port for ``-p 8088:8088``, and a folder or volume of the
test's own for ``$PWD/…`` and a named volume.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.image.conftest import PORT, Container, Containers
from tests.readme_samples import Block, blocks

ROOT = Path(__file__).resolve().parent.parent.parent
PAGE = ROOT / "docs" / "any-language.md"
RECIPES = ROOT / "docs" / "recipes"
#: The image's name in the samples (what make image tags).
SAMPLE_IMAGE = "fakevoipbin"


def page_blocks() -> list[Block]:
    return blocks(PAGE.read_text(encoding="utf-8"))


def shell_lines(block: Block) -> list[str]:
    """A shell block's commands, one a line, comments dropped."""
    lines = []
    for raw in block.text.replace("\\\n", " ").splitlines():
        line = raw.split("  #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


@dataclass
class DockerRun:
    """One ``docker run`` line of the page."""

    line: str
    env: dict[str, str] = field(default_factory=dict)
    #: ``-v SOURCE:TARGET`` pairs, as written.
    volumes: list[tuple[str, str]] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    image: str = ""
    args: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, line: str) -> DockerRun:
        words = shlex.split(line)
        assert words[:2] == ["docker", "run"], line
        run = cls(line)
        rest = words[2:]
        while rest and rest[0].startswith("-"):
            flag = rest.pop(0)
            if flag == "--rm":
                continue
            value = rest.pop(0)
            if flag == "-e":
                key, _, val = value.partition("=")
                run.env[key] = val
            elif flag == "-v":
                source, _, target = value.partition(":")
                run.volumes.append((source, target))
            elif flag == "-p":
                run.ports.append(value)
            else:
                raise AssertionError(f"a flag the checks do not know: {flag} in {line}")
        run.image, run.args = rest[0], rest[1:]
        return run


def doc_runs() -> list[DockerRun]:
    return [
        DockerRun.parse(line)
        for block in page_blocks()
        if block.lang == "sh"
        for line in shell_lines(block)
        if line.startswith("docker run ")
    ]


def doc_run(marker: str) -> DockerRun:
    """The page's one ``docker run`` line that holds ``marker``."""
    found = [run for run in doc_runs() if marker in run.line]
    assert len(found) == 1, f"{len(found)} docker run lines of {PAGE.name} hold {marker!r}"
    return found[0]


def start_run(
    containers: Containers,
    run: DockerRun,
    folder: Path | None = None,
    volume: str | None = None,
) -> Container:
    """``run`` started detached: the image under test, 8088 on a free loopback port,
    ``$PWD`` as ``folder``, a named volume as ``volume``."""
    assert run.image == SAMPLE_IMAGE, run.line
    assert run.ports in ([], [f"{PORT}:{PORT}"]), run.line
    options: list[str] = []
    for source, target in run.volumes:
        if source.startswith("$PWD/"):
            assert folder is not None, f"{run.line} mounts a folder"
            source = str(folder / source.removeprefix("$PWD/"))
        else:
            assert volume is not None, f"{run.line} mounts a volume"
            source = volume
        options += ["-v", f"{source}:{target}"]
    return containers.start(*run.args, env=run.env, options=tuple(options))
