"""What ``fakevoipbin verify`` tells a user at its edges: a bad ``--examples`` is a
usage error, a fake served with ``--rate-limit`` still gets a verdict, ``--profile``
against a fake's own is warned about, progress never passes the total, and a cut
text is cut at a word boundary."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakevoipbin.contract import RULES, verify
from fakevoipbin.contract.target import clip
from fakevoipbin.testing import FakeVoipbin

from ..conftest import NOW
from .test_verify import IN_PROCESS, verdicts

CLI = [sys.executable, "-m", "fakevoipbin"]


@pytest.mark.parametrize("examples", ["0", "-3", "many"])
def test_a_bad_examples_count_is_a_usage_error(examples: str) -> None:
    proc = subprocess.run(
        [*CLI, "verify", "--base-url", "http://127.0.0.1:9/v1.0", "--accesskey", "x"]
        + ["--examples", examples],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        "fakevoipbin verify: error: argument --examples: "
    ), proc.stderr
    assert proc.stdout == ""


def test_verify_against_a_rate_limited_fake_holds_by_moving_its_clock() -> None:
    """The per-customer bucket only refills as time passes: verify must move the fake's
    clock by Retry-After, or it never gets a verdict."""
    with FakeVoipbin(profile="docs", now=NOW, rate_limit=True) as fake:
        url = fake.url
        proc = subprocess.run(
            [*CLI, "verify", "--base-url", url, "--accesskey", fake.accesskey]
            + ["--examples", "30", "--seed", "3"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        limited = [e for e in fake.journal.entries() if e.status == 429]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert verdicts(proc.stdout) == dict.fromkeys(RULES, "held"), proc.stdout
    # The run met the limit, and got past it.
    assert limited, "verify never met a 429: the test proves nothing"


def test_a_profile_other_than_the_fakes_own_is_warned_about() -> None:
    with FakeVoipbin(profile="docs", now=NOW) as fake:
        out, err = io.StringIO(), io.StringIO()
        verify(
            IN_PROCESS,
            fake.accesskey,
            profile="live",
            examples=2,
            client=fake.client(),
            out=out,
            err=err,
        )
    warnings = [ln for ln in err.getvalue().splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1, err.getvalue()
    assert "live" in warnings[0] and "docs" in warnings[0]


def test_the_same_profile_is_not_warned_about() -> None:
    with FakeVoipbin(profile="docs", now=NOW) as fake:
        out, err = io.StringIO(), io.StringIO()
        code = verify(
            IN_PROCESS,
            fake.accesskey,
            profile="docs",
            examples=2,
            client=fake.client(),
            out=out,
            err=err,
        )
    assert code == 0, out.getvalue()
    assert "warning:" not in err.getvalue()


def _ticking(step: float) -> Iterator[float]:
    t = 0.0
    while True:
        t += step
        yield t


def test_progress_never_passes_the_total() -> None:
    """A clock that moves 10 s a reading makes every request print progress; Hypothesis
    runs more examples than asked (the replay, the explicit ones), and the count must
    still stop at the total."""
    ticks = _ticking(10.0)
    total = 4
    with FakeVoipbin(profile="docs", now=NOW) as fake:
        out, err = io.StringIO(), io.StringIO()
        code = verify(
            IN_PROCESS,
            fake.accesskey,
            examples=total,
            client=fake.client(),
            out=out,
            err=err,
            monotonic=lambda: next(ticks),
            sleep=lambda s: None,
        )
    assert code == 0, out.getvalue() + err.getvalue()
    counts = [
        (int(m[1]), int(m[2]))
        for m in re.finditer(r"^verify: (\d+)/(\d+) examples", err.getvalue(), re.M)
    ]
    assert counts, err.getvalue()
    assert all(done <= of == total for done, of in counts), counts


@pytest.mark.parametrize(
    ("text", "limit", "want"),
    [
        ("short", 200, "short"),
        ("the access key was not found", 14, "the access key…"),
        ("the access key was not found", 13, "the access…"),
        ("line one\n  line two", 200, "line one line two"),
        ("abcdefghijklmnop", 8, "…"),
        ('{"reason":"ACCESSKEY_NOT_FOUND","x":"y"}', 32, '{"reason":"ACCESSKEY_NOT_FOUND",…'),
    ],
)
def test_clip_cuts_at_a_word_boundary(text: str, limit: int, want: str) -> None:
    got = clip(text, limit)
    assert got == want
    assert len(got) <= limit + 1
    if got.endswith("…"):
        kept = got[:-1]
        # what is kept is a prefix of the text, ending where a word ended
        flat = " ".join(text.split())
        assert flat.startswith(kept)
        nxt = flat[len(kept) : len(kept) + 1]
        assert not (kept and kept[-1].isalnum() and nxt.isalnum())


def test_progress_counts_stop_at_the_total_when_hypothesis_runs_more() -> None:
    """Hypothesis does not count an example it rejected towards ``max_examples``, so
    the examples begun can pass the total (a user once saw ``306/300 examples``)."""
    from fakevoipbin.contract.machine import Recorder
    from fakevoipbin.contract.verify import _Progress, _Redacted

    class Requests:
        requests = 1234

    stream = io.StringIO()
    ticks = _ticking(10.0)
    recorder = Recorder()
    progress = _Progress(
        _Redacted(stream, set),
        Requests(),
        recorder,
        300,
        lambda: next(ticks),  # type: ignore[arg-type]
    )
    recorder.examples = 306
    progress.tick()
    assert stream.getvalue() == "verify: 300/300 examples, 1234 requests\n"


def test_verify_documents_its_bounds_and_exit_code_3_in_help_and_readme() -> None:
    """--max-requests, --timeout and exit 3 were in the code and nowhere a user reads."""
    help_text = subprocess.run(
        [sys.executable, "-m", "fakevoipbin", "verify", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    flat = " ".join(help_text.split())
    assert "--max-requests N" in flat and "--timeout S" in flat
    assert "3 a bound (--max-requests, --timeout) stopped the run" in flat
    assert "the credential check and shrinking included" in flat
    page = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "ci.md"
    section = page.read_text(encoding="utf-8").split("**`fakevoipbin verify ", 1)[1]
    flat = " ".join(section.split())
    assert "[--max-requests N] [--timeout S]" in flat
    assert "`--max-requests N` makes at most N API requests" in flat
    assert "`--timeout S` makes no request after S seconds" in flat
    assert "3 a bound stopped the run before anything broke" in flat
