"""Every sample in README.md and in every page of the docs site runs as printed.

Each fenced block is classified (``readme_samples.kind_of``) and run the way a reader
would run it, in a folder of its own:

- a Python block runs as ``python sample.py``, or, when it holds ``def test_``, as a
  pytest module (its ``fakevoipbin`` fixture from the installed plugin);
- a shell block of ``curl`` calls runs against one ``fakevoipbin serve`` (what ``make
  run`` starts), on a free port in place of 8088, reset before each block; every call
  must answer 2xx, unless ``EXPECTED_STATUSES`` says what the sample shows instead;
  the inline ``curl`` commands of the prose run the same way;
- a shell block of ``fakevoipbin`` commands runs with every pytest sample as its
  ``tests/`` folder (and ``make run``'s address as that served fake's), and must exit 0;
- a ``json`` block must parse.

A block that cannot run here carries ``<!-- not-run: reason -->`` on the line right
above it; a page whose samples another check runs (``RUN_ELSEWHERE``: the image's page,
run by ``make test-image``) is counted by name and not run. The counts are printed at
the end of the run (``census``, from ``tests/conftest.py``'s terminal summary) and
asserted here.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest

from .readme_samples import (
    RUN_ELSEWHERE,
    Block,
    all_blocks,
    all_inline_curls,
    blocks,
    census,
    commands,
    kind_of,
    real_curl,
    reports_named,
    run_commands,
    run_curls,
    run_pytest,
    run_python,
    runs_here,
    shown,
    write_pytest_samples,
)
from .test_server import Served, start, stop

#: The statuses a curl sample shows on purpose (other samples' calls must be 2xx).
EXPECTED_STATUSES = {"X-Fake-Fault: proxy_502": [502]}
#: The README's first Python sample as it was printed before issue 24: it asserted a
#: call it never made. The self-test plants it to show a broken sample fails.
BROKEN_SAMPLE = """\
from fakevoipbin import FakeVoipbin

with FakeVoipbin(seed=7, profile="live") as fake:
    fake.faults.add("PostAccesskeys", status=503, times=1)
    fake.journal.assert_called("PostAccesskeys", times=1)
"""

BLOCKS = all_blocks()
INLINE = all_inline_curls()
#: How a marked example of run's report starts (its header is checked against run's output).
REPORT_EXAMPLE = "operation calls statuses met"


def of_kind(*kinds: str) -> list[Block]:
    return [b for b in BLOCKS if runs_here(b) and kind_of(b) in kinds]


def unplaced(found: list[Block]) -> list[str]:
    """What keeps the classification honest: a block neither run nor marked, a JSON
    block that does not parse."""
    problems = []
    for block in found:
        if block.page in RUN_ELSEWHERE or block.not_run is not None:
            continue
        if kind_of(block) == "unknown":
            problems.append(f"{block.id} is neither run nor marked not-run")
        if kind_of(block) == "json":
            try:
                json.loads(block.text)
            except ValueError as err:
                problems.append(f"{block.id} is not JSON: {err}")
    return problems


def check_exit(result: subprocess.CompletedProcess[str], block: Block) -> None:
    assert result.returncode == 0, f"{block.id} failed as printed:\n{shown(result)}"


def check_statuses(block: Block, result: subprocess.CompletedProcess[str], got: list[int]) -> None:
    check_exit(result, block)
    calls = [line for line in commands(block) if line.startswith("curl ")]
    assert len(got) == len(calls), f"{block.id}: {len(calls)} calls, {got} statuses"
    wanted = next((s for name, s in EXPECTED_STATUSES.items() if name in block.text), None)
    if wanted is not None:
        assert got == wanted, f"{block.id}: statuses {got}, not {wanted}\n{shown(result)}"
    else:
        bad = [s for s in got if not 200 <= s < 300]
        assert not bad, f"{block.id}: statuses {got} as printed:\n{shown(result)}"


@pytest.fixture(scope="module")
def make_run() -> Iterator[Served]:
    """What ``make run`` serves (the docs profile, the default fixtures), on a free port."""
    served = start()
    yield served
    stop(served)


@pytest.fixture
def address(make_run: Served) -> str:
    """The served fake's ``host:port``, reset to its start."""
    with urlopen(
        Request(make_run.url.removesuffix("/v1.0") + "/_fake/reset", method="POST"), timeout=10
    ) as r:
        assert r.status == 200
    return urlsplit(make_run.url).netloc


# --- the classification --------------------------------------------------------------


def test_every_block_is_run_or_marked_with_its_reason() -> None:
    assert len(BLOCKS) > 30
    problems = unplaced(BLOCKS)
    assert not problems, problems
    for block in BLOCKS:
        assert block.not_run is None or len(block.not_run) > 20, f"{block.id}: say why"


def test_the_classification_check_fails_on_a_stray_block_or_bad_json() -> None:
    stray = Block("yaml", "version: 1\n", 1, "docs/page.md")
    assert unplaced([*BLOCKS, stray]) == [
        "docs/page.md:line1-yaml is neither run nor marked not-run"
    ]
    assert unplaced([*BLOCKS, Block("json", '{"a": 1}\n', 2)]) == []
    [problem] = unplaced([*BLOCKS, Block("json", '{"a": 1,}\n', 3)])
    assert problem.startswith("README.md:line3-json is not JSON: "), problem
    marked = "<!-- not-run: a reason long enough to say why -->\n```yaml\nversion: 1\n```\n"
    [block] = blocks(marked, "docs/page.md")
    assert block.not_run == "a reason long enough to say why" and unplaced([block]) == []
    with pytest.raises(ValueError, match="a not-run mark with no code block under it"):
        blocks("<!-- not-run: a reason -->\n\ntext\n", "docs/page.md")


def test_each_kind_of_sample_is_there_on_every_page_and_the_census_counts_them() -> None:
    kinds = [kind_of(b) for b in BLOCKS if runs_here(b)]
    assert {"script", "pytest", "curl", "command"} <= set(kinds), kinds
    assert INLINE, "the inline curl of the login"
    pages = {b.page for b in BLOCKS}
    assert "README.md" in pages and "docs/tutorial.md" in pages and set(RUN_ELSEWHERE) <= pages
    line = census(BLOCKS, INLINE)
    run = len(of_kind("script", "pytest", "curl", "command", "json")) + len(INLINE)
    marked = sum(1 for b in BLOCKS if b.page not in RUN_ELSEWHERE and b.not_run)
    elsewhere = sum(1 for b in BLOCKS if b.page in RUN_ELSEWHERE)
    assert run + marked + elsewhere == len(BLOCKS) + len(INLINE)
    assert line.startswith(f"doc samples: {run} run (") and f"; {marked} marked not-run; " in line
    assert f"; {elsewhere} run elsewhere (" in line and elsewhere > 5
    print(line)


# --- Python ----------------------------------------------------------------------------


@pytest.mark.parametrize("block", of_kind("script"), ids=lambda b: b.id)
def test_a_python_sample_runs_as_printed(block: Block, tmp_path: Path) -> None:
    check_exit(run_python(block, tmp_path), block)


@pytest.mark.parametrize("block", of_kind("pytest"), ids=lambda b: b.id)
def test_a_pytest_sample_passes_as_printed(block: Block, tmp_path: Path) -> None:
    result = run_pytest(block, tmp_path)
    check_exit(result, block)
    assert " passed" in result.stdout, shown(result)


def test_a_sample_that_asserts_a_call_it_never_made_fails(tmp_path: Path) -> None:
    broken = Block("python", BROKEN_SAMPLE, 0)
    result = run_python(broken, tmp_path)
    assert result.returncode == 1, shown(result)
    assert "expected PostAccesskeys to be called 1 time(s)" in result.stderr
    with pytest.raises(AssertionError, match="failed as printed"):
        check_exit(result, broken)


# --- curl against make run's server ---------------------------------------------------

CURL_SAMPLES = of_kind("curl") + INLINE


@pytest.mark.parametrize("block", CURL_SAMPLES, ids=lambda b: b.id)
def test_a_curl_sample_answers_as_printed(block: Block, address: str, tmp_path: Path) -> None:
    result, statuses = run_curls(block, tmp_path, address, shim=not real_curl())
    check_statuses(block, result, statuses)


@pytest.mark.parametrize("block", CURL_SAMPLES, ids=lambda b: b.id)
def test_the_curl_shim_runs_each_curl_sample_as_curl_does(
    block: Block, address: str, tmp_path: Path
) -> None:
    """The stand-in used where curl is missing reads each sample's flags as curl does."""
    result, statuses = run_curls(block, tmp_path, address, shim=True)
    check_statuses(block, result, statuses)


def test_a_curl_sample_with_a_wrong_key_fails(address: str, tmp_path: Path) -> None:
    tutorial = next(b for b in CURL_SAMPLES if "My New Accesskey" in b.text)
    broken = Block("sh", tutorial.text.replace("vb_a3Bf9xKm", "vb_a3Bf9xKn"), 0)
    for shim in (False, True) if real_curl() else (True,):
        result, statuses = run_curls(broken, tmp_path, address, shim=shim)
        assert statuses == [401, 401, 401], shown(result)
        with pytest.raises(AssertionError, match=r"statuses \[401, 401, 401\] as printed"):
            check_statuses(broken, result, statuses)


# --- fakevoipbin commands -------------------------------------------------------------

#: Each command block's folder and result, by its text, run once per process.
_COMMAND_RUNS: dict[str, tuple[Path, subprocess.CompletedProcess[str]]] = {}


def command_run(
    block: Block, address: str, factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``block`` run once, in a folder whose tests/ holds every pytest sample (a block
    printed twice, word for word, on two pages runs once)."""
    if block.text not in _COMMAND_RUNS:
        folder = factory.mktemp("commands")
        write_pytest_samples(of_kind("pytest"), folder)
        _COMMAND_RUNS[block.text] = (folder, run_commands(block, folder, address))
    return _COMMAND_RUNS[block.text]


@pytest.mark.parametrize("block", of_kind("command"), ids=lambda b: b.id)
def test_a_command_sample_exits_0_and_writes_its_report(
    block: Block, address: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder, result = command_run(block, address, tmp_path_factory)
    check_exit(result, block)
    for name, report in reports_named(block, folder).items():
        operations = report["operations"]
        assert isinstance(operations, dict)
        calls = sum(op["calls"] for op in operations.values())
        assert calls > 0, f"{block.id}: {name} counts no request of the pytest samples"


def test_the_report_example_has_the_header_run_prints(
    address: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    examples = [
        b for b in BLOCKS if b.not_run and " ".join(b.text.split()).startswith(REPORT_EXAMPLE)
    ]
    assert examples
    runs = [b for b in of_kind("command") if "--report" in b.text]
    _folder, result = command_run(runs[0], address, tmp_path_factory)
    printed = [" ".join(line.split()) for line in (result.stdout + result.stderr).splitlines()]
    for example in examples:
        header = " ".join(example.text.splitlines()[0].split())
        assert header in printed, (example.id, printed)
