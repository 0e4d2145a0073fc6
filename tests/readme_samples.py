"""The samples of the README and of every page of the docs site, as data, and how each
kind runs (``tests/test_readme.py`` runs them all).

- ``PAGES``: README.md and every page of docs/; ``RUN_ELSEWHERE``: the pages whose
  samples another check runs (``make test-image``), counted here by name, not run.
- ``blocks``: every fenced code block of a page, with its language, line, page, and
  the reason of the ``<!-- not-run: reason -->`` mark right above it, if any.
- ``inline_curls``: the ``curl`` commands written inline in the prose.
- ``kind_of``: what a block is: a Python ``script``, a pytest module (``pytest``), a
  shell block of ``curl`` calls against ``make run``'s server (``curl``), a shell block of
  ``fakevoipbin`` commands (``command``), ``json``, or ``unknown``.
- ``run_python``, ``run_pytest``, ``run_curls``, ``run_commands``: one sample in a folder
  of its own, as a subprocess, in an environment with no fakevoipbin or pytest-xdist
  variables of the suite's own (so a sample never attaches to another fake).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fakevoipbin.envnames import (
    ACCESSKEY_ENV,
    API_BASE_URL_ENV,
    API_KEY_ENV,
    CONTROL_TOKEN_ENV,
    URL_ENV,
)

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
#: Pages whose samples are run by another check, each with the check.
RUN_ELSEWHERE = {
    "docs/any-language.md": "make test-image runs each sample and recipe as written "
    "(tests/image/test_image.py, tests/image/test_recipes.py)",
}
#: The mark a sample that cannot run carries on the line right above its fence.
NOT_RUN_MARK = re.compile(r"^<!-- not-run: (.+?) -->$")
#: Where ``make run`` serves, as the samples spell it; replaced by a served fake's.
MAKE_RUN_ADDRESS = "127.0.0.1:8088"
#: A stand-in for curl that knows the flags the samples use (when curl is not installed).
CURL_SHIM = Path(__file__).with_name("curl_shim.py")
#: What a sample may take, at most, before it is taken to hang.
SAMPLE_TIMEOUT_S = 120
PYTHON = ("python", "py")
SHELL = ("sh", "bash", "shell", "console")
#: The status each ``curl`` writes to stderr, one line a request.
STATUS_LINE = re.compile(r"^curl status (\d{3})$", re.MULTILINE)
#: Wraps curl so that each call also writes its status to stderr.
CURL_WRAPPER = (
    "curl() { command curl --write-out '%{stderr}curl status %{http_code}\\n' \"$@\"; }\n"
)


@dataclass(frozen=True)
class Block:
    lang: str  # the fence's info string, "" when none
    text: str
    line: int  # the line of the opening fence, from 1
    page: str = "README.md"  # relative to the repository's root
    not_run: str | None = None  # the reason its not-run mark gives

    @property
    def id(self) -> str:
        return f"{self.page}:line{self.line}-{self.lang or 'plain'}"


def pages() -> list[Path]:
    """README.md, then every Markdown page of the docs site."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def page_name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def blocks(markdown: str, page: str = "README.md") -> list[Block]:
    """Every fenced code block, in order, each with the reason of the not-run mark on
    the line right above it. A mark with no block under it is a ``ValueError``."""
    found: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        mark = NOT_RUN_MARK.match(lines[i])
        if mark and not (i + 1 < len(lines) and lines[i + 1].startswith(("```", "~~~"))):
            raise ValueError(f"{page} line {i + 1}: a not-run mark with no code block under it")
        fence = re.match(r"^(`{3,}|~{3,})\s*([\w+-]*)", lines[i])
        if not fence:
            i += 1
            continue
        start, marker, lang = i, fence.group(1), fence.group(2).lower()
        above = NOT_RUN_MARK.match(lines[start - 1]) if start else None
        i += 1
        while i < len(lines) and not lines[i].startswith(marker):
            i += 1
        if i == len(lines):
            raise ValueError(f"{page} line {start + 1}: a code block that never closes")
        text = "\n".join(lines[start + 1 : i]) + "\n"
        found.append(Block(lang, text, start + 1, page, above.group(1) if above else None))
        i += 1
    return found


def all_blocks() -> list[Block]:
    """Every block of every page, README first."""
    return [b for path in pages() for b in blocks(path.read_text("utf-8"), page_name(path))]


def all_inline_curls() -> list[Block]:
    """Every inline curl of every page whose samples run here."""
    found = []
    for path in pages():
        if page_name(path) not in RUN_ELSEWHERE:
            found += inline_curls(path.read_text("utf-8"), page_name(path))
    return found


def inline_curls(markdown: str, page: str = "README.md") -> list[Block]:
    """The inline code spans that are a curl command (one may wrap across lines)."""
    outside = re.sub(
        r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), markdown, flags=re.M | re.S
    )
    found = []
    for match in re.finditer(r"`(curl [^`]+)`", outside):
        line = outside.count("\n", 0, match.start()) + 1
        found.append(Block("sh", " ".join(match.group(1).split()) + "\n", line, page))
    return found


def commands(block: Block) -> list[str]:
    """A shell block's commands: continuation lines joined, comments, blanks and a
    console's ``$`` prompt left out."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    out = []
    for line in joined.splitlines():
        line = line.strip().removeprefix("$ ")
        if line and not line.startswith("#"):
            out.append(line)
    return out


def kind_of(block: Block) -> str:
    if block.lang in PYTHON:
        return "pytest" if re.search(r"^def test_", block.text, re.M) else "script"
    if block.lang == "json":
        return "json"
    if block.lang in SHELL:
        lines = commands(block)
        if lines and all(line.startswith("curl ") for line in lines):
            return "curl"
        if lines and all(line.startswith("fakevoipbin ") for line in lines):
            return "command"
    return "unknown"


def sample_env(*path_first: Path) -> dict[str, str]:
    """The suite's environment, less what would make a sample attach to another fake
    or take itself for an xdist worker; ``path_first`` and this Python's folder (where
    ``fakevoipbin`` and ``python`` are) lead the PATH."""
    drop = {URL_ENV, API_BASE_URL_ENV, ACCESSKEY_ENV, API_KEY_ENV, CONTROL_TOKEN_ENV}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST_")}
    folders = [*map(str, path_first), str(Path(sys.executable).parent), env.get("PATH", "")]
    env["PATH"] = os.pathsep.join(folders)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT_S
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def run_python(block: Block, folder: Path) -> subprocess.CompletedProcess[str]:
    """A Python script sample, as ``python sample.py``."""
    (folder / "sample.py").write_text(block.text, encoding="utf-8")
    return _run([sys.executable, "sample.py"], folder, sample_env())


def write_pytest_samples(samples: list[Block], folder: Path) -> Path:
    """The pytest samples as test modules in ``folder/tests``."""
    tests = folder / "tests"
    tests.mkdir(exist_ok=True)
    for block in samples:
        slug = re.sub(r"\W+", "_", block.page.removesuffix(".md")).strip("_").lower()
        (tests / f"test_sample_{slug}_{block.line}.py").write_text(block.text, encoding="utf-8")
    return tests


def run_pytest(block: Block, folder: Path) -> subprocess.CompletedProcess[str]:
    """A pytest module sample, as ``python -m pytest`` in a folder of its own (its
    ``fakevoipbin`` fixture comes from the installed plugin)."""
    write_pytest_samples([block], folder)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    return _run(args, folder, sample_env())


def curl_folder(folder: Path, shim: bool) -> list[Path]:
    """The folders to put first on PATH for ``curl``: none for the real one; for the
    shim, one holding a ``curl`` that runs it."""
    if not shim:
        return []
    bin_dir = folder / "curl-shim"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "curl"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{CURL_SHIM}" "$@"\n')
    script.chmod(0o755)
    return [bin_dir]


def real_curl() -> bool:
    return shutil.which("curl") is not None


def run_curls(
    block: Block, folder: Path, address: str, shim: bool
) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    """A block of curl calls against the server at ``address`` (``host:port``) in
    place of ``make run``'s: its result and the status of each call, in order."""
    script = block.text.replace(MAKE_RUN_ADDRESS, address)
    assert ":8088" not in script, f"{block.id}: a port other than make run's address"
    env = sample_env(*curl_folder(folder, shim))
    result = _run(["bash", "-euo", "pipefail", "-c", CURL_WRAPPER + script], folder, env)
    return result, [int(s) for s in STATUS_LINE.findall(result.stderr)]


def run_commands(block: Block, folder: Path, address: str) -> subprocess.CompletedProcess[str]:
    """A block of fakevoipbin commands, in ``folder`` (where the pytest samples are
    ``tests/``); ``make run``'s address in it is the served fake's at ``address``."""
    script = block.text.replace(MAKE_RUN_ADDRESS, address)
    assert ":8088" not in script, f"{block.id}: a port other than make run's address"
    return _run(["bash", "-euo", "pipefail", "-c", script], folder, sample_env())


def reports_named(block: Block, folder: Path) -> dict[str, dict[str, object]]:
    """Each ``--report FILE`` a command block names, read as JSON."""
    names = re.findall(r"--report\s+(\S+)", block.text)
    return {name: json.loads((folder / name).read_text(encoding="utf-8")) for name in names}


#: The kinds of sample that run here.
RUN_KINDS = ("script", "pytest", "curl", "command", "json")


def runs_here(block: Block) -> bool:
    """Whether the suite runs ``block``: on a page of its own, unmarked, of a kind that runs."""
    return block.page not in RUN_ELSEWHERE and block.not_run is None and kind_of(block) in RUN_KINDS


def census(found: list[Block], inline: list[Block]) -> str:
    """One line: how many samples run here (by kind), how many are marked not-run,
    and how many another check runs, of how many pages."""
    kinds: dict[str, int] = {}
    for block in found:
        if runs_here(block):
            kinds[kind_of(block)] = kinds.get(kind_of(block), 0) + 1
    kinds["inline curl"] = len(inline)
    marked = [b for b in found if b.page not in RUN_ELSEWHERE and b.not_run is not None]
    elsewhere = [b for b in found if b.page in RUN_ELSEWHERE]
    shown = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    page_count = len({b.page for b in found} | {b.page for b in inline})
    return (
        f"doc samples: {sum(kinds.values())} run ({shown}); {len(marked)} marked not-run; "
        f"{len(elsewhere)} run elsewhere ({', '.join(sorted(RUN_ELSEWHERE))}: make test-image); "
        f"from {page_count} pages with samples"
    )
