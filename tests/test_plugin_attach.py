"""The pytest plugin in attach mode, and a marker that cannot be applied: a client's
pytest suite run by ``fakevoipbin run``, whose fixture drives run's fake (so the
report counts its requests), and the errors a user gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_plugin import (
    CUSTOM_FIXTURES,
    MARKER_TESTS,
    RESET_TESTS,
    UNRELATED_PLUGINS,
    inner,
    run_inner,
)

pytest_plugins = ["pytester"]

CLI = [sys.executable, "-m", "fakevoipbin"]
OFF = [arg for name in UNRELATED_PLUGINS for arg in ("-p", f"no:{name}")]

ATTACHED_TESTS = inner(
    """
    import os


    def test_the_fixture_drives_runs_fake(fakevoipbin):
        assert fakevoipbin.attached
        assert fakevoipbin.url == os.environ["FAKEVOIPBIN_URL"]
        create(fakevoipbin)
        fakevoipbin.journal.assert_called("PostAccesskeys", times=1, status=200)
        with pytest.raises(RuntimeError, match="attached to"):
            fakevoipbin.state
    """
)


def run_client_suite(
    path: Path, *pytest_args: str, run_args: tuple[str, ...] = ()
) -> tuple[subprocess.CompletedProcess[str], dict[str, object] | None]:
    """``fakevoipbin run ... -- python -m pytest`` in ``path``; the JSON report."""
    report = path / "out" / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEVOIPBIN_", "PYTEST_"))}
    proc = subprocess.run(
        [
            *CLI,
            "run",
            *run_args,
            "--report",
            str(report),
            "--",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *OFF,
            *pytest_args,
        ],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    loaded = json.loads(report.read_text()) if report.exists() else None
    return proc, loaded


def test_run_counts_what_fixture_based_tests_send(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", custom=CUSTOM_FIXTURES)
    pytester.makepyfile(
        test_reset=RESET_TESTS, test_markers=MARKER_TESTS, test_attached=ATTACHED_TESTS
    )
    proc, report = run_client_suite(pytester.path, "--strict-markers")
    out = proc.stdout + proc.stderr
    # Every test of the plugin's own reset and marker suites passes against run's fake.
    assert proc.returncode == 0, out
    assert "17 passed" in proc.stdout, out
    assert report is not None
    ops = report["operations"]
    assert isinstance(ops, dict)
    assert report["requests"] > 100, "the tests' requests reached run's fake"
    assert ops["PostAccesskeys"]["statuses"]["200"] >= 8
    assert ops["GetAccesskeys"]["statuses"]["429"] == 1  # the rate-limit marker's
    assert "made no request" not in proc.stdout


def test_markers_reach_runs_fake_on_top_of_its_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_on_top=inner(
            """
            def test_runs_profile_is_the_base(fakevoipbin):
                assert fakevoipbin.profile == "live"
                status, health = http("GET", f"{fakevoipbin.base_url}/_fake/health")
                assert health["seed"] == 9


            @pytest.mark.fakevoipbin(profile="docs")
            def test_a_marker_changes_one_setting(fakevoipbin):
                status, health = http("GET", f"{fakevoipbin.base_url}/_fake/health")
                assert (health["profile"], health["seed"]) == ("docs", 9)


            def test_and_only_for_its_test(fakevoipbin):
                assert fakevoipbin.profile == "live"
            """
        )
    )
    proc, _ = run_client_suite(pytester.path, run_args=("--profile", "live", "--seed", "9"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout


def test_a_tls_marker_needs_runs_fake_to_serve_tls(pytester: pytest.Pytester) -> None:
    """Attached, a marker cannot give a test a server of its own: ``tls=True`` errors
    the test under plain ``run``, saying how to start run, and passes under ``run
    --tls``, on run's own fake."""
    pytester.makepyfile(
        test_tls_attached=inner(
            """
            @pytest.mark.fakevoipbin(tls=True)
            def test_tls(fakevoipbin):
                assert fakevoipbin.url.startswith("https://")
                assert fakevoipbin.url == os.environ["FAKEVOIPBIN_URL"]
            """
        ).replace("import json", "import json\nimport os", 1)
    )
    plain, _ = run_client_suite(pytester.path)
    assert plain.returncode != 0
    assert "start it with run --tls" in plain.stdout + plain.stderr
    assert "1 error" in plain.stdout, plain.stdout
    secure, report = run_client_suite(pytester.path, run_args=("--tls",))
    assert secure.returncode == 0, secure.stdout + secure.stderr
    assert "1 passed" in secure.stdout


BAD_MARKER_TESTS = inner(
    """
    @pytest.mark.fakevoipbin(profile="live")
    def test_a_live(fakevoipbin):
        create(fakevoipbin)
        assert fakevoipbin.profile == "live"


    @pytest.mark.fakevoipbin(profile="docs", fixtures="does-not-exist.yaml")
    def test_b_bad(fakevoipbin):
        pass


    @pytest.mark.fakevoipbin(profile="docs", fixtures="does-not-exist.yaml")
    def test_c_bad_too(fakevoipbin):
        pass


    def test_d_fine_afterwards(fakevoipbin):
        assert fakevoipbin.profile == "docs"
        url = f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}"
        assert [k["id"] for k in http("GET", url)[1]["result"]] == [TUTORIAL_KEY_ID]
    """
)


def _check_bad_marker_outcome(text: str) -> None:
    assert "test_b_bad" in text and "test_c_bad_too" in text
    assert text.count("does-not-exist.yaml") >= 2, text


def test_a_marker_that_fails_errors_every_test_that_has_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad=BAD_MARKER_TESTS)
    result = run_inner(pytester, "-rE", timeout=120)
    result.assert_outcomes(passed=2, errors=2)
    _check_bad_marker_outcome(result.stdout.str())


def test_a_marker_that_fails_in_attach_mode_errors_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad=BAD_MARKER_TESTS)
    proc, _ = run_client_suite(pytester.path, "-rE")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "2 passed, 2 errors" in proc.stdout, proc.stdout
    _check_bad_marker_outcome(proc.stdout)


def test_attach_mode_refuses_xdist_workers_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_attached=ATTACHED_TESTS)
    proc, report = run_client_suite(pytester.path, "-n", "2", "-p", "xdist")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    said = [line for line in proc.stderr.splitlines() if "pytest-xdist" in line]
    assert len(said) == 1, proc.stderr
    assert "run without -n" in said[0] and "FAKEVOIPBIN_URL" in said[0]
    assert "Traceback" not in proc.stderr
    assert report is not None and report["requests"] == 0


def test_a_url_with_no_fake_behind_it_names_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_attached=ATTACHED_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKEVOIPBIN_", "PYTEST_"))}
    env["FAKEVOIPBIN_URL"] = "http://127.0.0.1:9/v1.0"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *OFF],
        cwd=pytester.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "FAKEVOIPBIN_URL=http://127.0.0.1:9/v1.0: cannot reach" in proc.stdout, proc.stdout


NUMBERS_TESTS = inner(
    """
    BIG = 123456789012345678901234567890123


    def test_the_journal_shows_numbers_no_machine_type_holds(fakevoipbin):
        body = b'{"expire": 86400, "a": 123456789012345678901234567890123, "b": 1e309}'
        with fakevoipbin.client(params={"accesskey": fakevoipbin.accesskey}) as c:
            r = c.post("/accesskeys", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 200
        fakevoipbin.journal.assert_called("PostAccesskeys", times=1, json={"a": BIG, "b": "1e309"})
    """
)


def test_a_journal_of_numbers_no_machine_type_holds_reads_alike_under_run(
    pytester: pytest.Pytester,
) -> None:
    """The same client test passes in-process and under ``fakevoipbin run`` (whose
    fake's ``GET /_fake/journal`` answered 500 for such a body, with a traceback in
    run's output)."""
    pytester.makepyfile(test_numbers=NUMBERS_TESTS)
    run_inner(pytester, timeout=120).assert_outcomes(passed=1)
    proc, report = run_client_suite(pytester.path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "1 passed" in proc.stdout, out
    assert "Traceback" not in out and "AttachError" not in out, out
    assert report is not None and report["requests"] == 1


def test_under_run_upstream_the_fixture_says_a_proxy_cannot_be_reset(
    pytester: pytest.Pytester,
) -> None:
    """``run --upstream`` exports the proxy's URL; the proxy's health says
    ``"proxy": "fakevoipbin"``: the fixture says it is a proxy that cannot be reset,
    not that it is no fakevoipbin fake."""
    from .conftest import TUTORIAL_TOKEN
    from .test_server import start, stop

    upstream = start("--no-access-log")
    try:
        pytester.makepyfile(test_attached=ATTACHED_TESTS)
        proc, _report = run_client_suite(
            pytester.path,
            run_args=("--upstream", upstream.url, "--accesskey", TUTORIAL_TOKEN),
        )
    finally:
        stop(upstream)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    said = [line for line in out.splitlines() if "FAKEVOIPBIN_URL=" in line]
    assert said, out
    assert "is a fakevoipbin proxy of" in said[0] and "cannot be reset" in said[0], out
    assert "not a fakevoipbin fake" not in out
    assert "Traceback" not in out
