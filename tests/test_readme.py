"""Every sample in README.md runs as printed.

Each fenced block is classified (``readme_samples.kind_of``) and run the way a reader
would run it, in a folder of its own:

- a Python block runs as ``python sample.py``, or, when it holds ``def test_``, as a
  pytest module (its ``fakevoipbin`` fixture from the installed plugin);
- a shell block of ``curl`` calls runs against one ``fakevoipbin serve`` (what ``make
  run`` starts), on a free port in place of 8088, reset before each block; every call
  must answer 2xx, unless ``EXPECTED_STATUSES`` says what the sample shows instead;
  the inline ``curl`` commands of the prose run the same way;
- a shell block of ``fakevoipbin`` commands runs with the pytest samples as its
  ``tests/`` folder, and must exit 0;
- a ``json`` block must parse.

A block that cannot run here is in ``NOT_RUN``, with the reason; an entry that no
longer names a block fails, so the list cannot outgrow the README.
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
    README,
    Block,
    blocks,
    commands,
    inline_curls,
    kind_of,
    real_curl,
    reports_named,
    run_commands,
    run_curls,
    run_pytest,
    run_python,
    shown,
    write_pytest_samples,
)
from .test_server import Served, start, stop

#: Blocks that are not run, each named by a text only it holds, with the reason.
NOT_RUN = {
    "make run     # serves the fake": (
        "make run serves on the fixed port 8088 until stopped, and make test is the whole "
        "suite this test belongs to; the curl samples run against the `fakevoipbin serve` "
        "that make run starts"
    ),
    "operation           calls  statuses met": (
        "an example of run's report (its header is checked against the run sample's own "
        "output: test_the_report_example_has_the_header_run_prints)"
    ),
    "fakevoipbin proxy --upstream https://api.voipbin.net/v1.0": (
        "a proxy in front of the real api.voipbin.net, with a real access key"
    ),
    "production drift: 1 upstream answer(s)": (
        "an example of the proxy's report on drift of the real API"
    ),
    "VOIPBIN_API_KEY=vb_… fakevoipbin run --upstream https://api.voipbin.net": (
        "run through a proxy to the real api.voipbin.net, with a real access key"
    ),
    "fakevoipbin serve --tls --tls-dir ~/.fakevoipbin-tls": (
        "serves on the fixed port 8088 until stopped, with a CA kept in the home folder; "
        "tests/test_server.py::test_serve_tls_answers_curl_that_trusts_the_ca runs the same "
        "serve and curl on a free port"
    ),
    "fakevoipbin serve --intercept --tls-dir ~/.fakevoipbin-tls": (
        "serves on the fixed port 8088 until stopped, with a CA kept in the home folder; "
        "tests/web/test_intercept.py::test_curl_through_the_proxy_gets_the_tutorial_key_and_"
        "the_journal_marks_it runs the same serve and curl on a free port, and "
        "test_run_intercept_gives_the_command_the_proxy_and_counts_its_calls the run"
    ),
    "openapi.yaml              the spec": (
        "the Layout tree, not a command: tests/test_layout.py holds it to the package"
    ),
    "make image                                  # docker, or podman": (
        "needs a container engine: make test-image builds the image and runs the same "
        "docker run lines from docs/any-language.md (tests/image/test_image.py)"
    ),
}
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

TEXT = README.read_text(encoding="utf-8")
BLOCKS = blocks(TEXT)
INLINE = inline_curls(TEXT)


def listed(block: Block) -> str | None:
    """The NOT_RUN entry that names ``block``, if any."""
    names = [name for name in NOT_RUN if name in block.text]
    assert len(names) <= 1, f"{block.id} is named by several NOT_RUN entries: {names}"
    return names[0] if names else None


def of_kind(*kinds: str) -> list[Block]:
    return [b for b in BLOCKS if listed(b) is None and kind_of(b) in kinds]


def unplaced(found: list[Block], not_run: dict[str, str]) -> list[str]:
    """What keeps the classification honest: a block neither run nor listed, a JSON
    block that does not parse, an entry that names no block, or one that names several."""
    problems = []
    for block in found:
        names = [name for name in not_run if name in block.text]
        if not names and kind_of(block) == "unknown":
            problems.append(f"{block.id} is neither run nor listed in NOT_RUN")
        if not names and kind_of(block) == "json":
            try:
                json.loads(block.text)
            except ValueError as err:
                problems.append(f"{block.id} is not JSON: {err}")
    for name in not_run:
        hits = [b.id for b in found if name in b.text]
        if len(hits) != 1:
            problems.append(f"NOT_RUN entry {name!r} names {len(hits)} blocks: {hits}")
    return problems


def check_exit(result: subprocess.CompletedProcess[str], block: Block) -> None:
    assert result.returncode == 0, f"README.md {block.id} failed as printed:\n{shown(result)}"


def check_statuses(block: Block, result: subprocess.CompletedProcess[str], got: list[int]) -> None:
    check_exit(result, block)
    calls = [line for line in commands(block) if line.startswith("curl ")]
    assert len(got) == len(calls), f"{block.id}: {len(calls)} calls, {got} statuses"
    wanted = next((s for name, s in EXPECTED_STATUSES.items() if name in block.text), None)
    if wanted is not None:
        assert got == wanted, f"README.md {block.id}: statuses {got}, not {wanted}\n{shown(result)}"
    else:
        bad = [s for s in got if not 200 <= s < 300]
        assert not bad, f"README.md {block.id}: statuses {got} as printed:\n{shown(result)}"


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


def test_every_block_is_run_or_listed_with_its_reason() -> None:
    assert len(BLOCKS) > 10
    problems = unplaced(BLOCKS, NOT_RUN)
    assert not problems, problems


def test_the_classification_check_fails_on_a_stale_entry_or_a_stray_block() -> None:
    stray = Block("yaml", "version: 1\n", 1)
    assert unplaced([*BLOCKS, stray], NOT_RUN) == [
        "line1-yaml is neither run nor listed in NOT_RUN"
    ]
    assert unplaced([*BLOCKS, Block("json", '{"a": 1}\n', 2)], NOT_RUN) == []
    [problem] = unplaced([*BLOCKS, Block("json", '{"a": 1,}\n', 3)], NOT_RUN)
    assert problem.startswith("line3-json is not JSON: "), problem
    stale = {**NOT_RUN, "a block that was removed": "reason"}
    assert unplaced(BLOCKS, stale) == [
        "NOT_RUN entry 'a block that was removed' names 0 blocks: []"
    ]


def test_each_kind_of_sample_is_there() -> None:
    kinds = [kind_of(b) for b in BLOCKS if listed(b) is None]
    assert {"script", "pytest", "curl", "command"} <= set(kinds), kinds
    assert INLINE, "the inline curl of the login"


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


@pytest.fixture(scope="module")
def command_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> list[tuple[Block, Path, subprocess.CompletedProcess[str]]]:
    """Each command block run once, in a folder whose tests/ holds the pytest samples:
    the block, its folder and its result."""
    runs = []
    for block in of_kind("command"):
        folder = tmp_path_factory.mktemp(block.id)
        write_pytest_samples(of_kind("pytest"), folder)
        runs.append((block, folder, run_commands(block, folder)))
    return runs


def test_a_command_sample_exits_0_and_writes_its_report(
    command_runs: list[tuple[Block, Path, subprocess.CompletedProcess[str]]],
) -> None:
    assert command_runs
    for block, folder, result in command_runs:
        check_exit(result, block)
        for name, report in reports_named(block, folder).items():
            operations = report["operations"]
            assert isinstance(operations, dict)
            calls = sum(op["calls"] for op in operations.values())
            assert calls > 0, f"{block.id}: {name} counts no request of the pytest samples"


def test_the_report_example_has_the_header_run_prints(
    command_runs: list[tuple[Block, Path, subprocess.CompletedProcess[str]]],
) -> None:
    example = next(b for b in BLOCKS if listed(b) == "operation           calls  statuses met")
    header = " ".join(example.text.splitlines()[0].split())
    printed = [
        " ".join(line.split())
        for _block, _folder, result in command_runs
        for line in (result.stdout + result.stderr).splitlines()
    ]
    assert header in printed, printed
