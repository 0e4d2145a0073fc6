"""Every setting from the environment (``options.from_environment``, under the flags:
``options.from_command_line``, ``cli.face_options``), and the control API on only
where it is safe when not told (``options.control_rule``), as a user of
``fakevoipbin serve``, ``run`` and ``proxy`` meets them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from fakevoipbin.cli import face_options, parser
from fakevoipbin.envnames import CONTROL_TOKEN_ENV, OTHER_USES
from fakevoipbin.options import (
    ENV_PREFIX,
    FALSE_WORDS,
    TRUE_WORDS,
    OptionError,
    Options,
    env_name,
    env_names,
    from_environment,
    misspelt_variables,
    names,
    setting_of,
)

from .proxy.test_app import closed_port
from .proxy.test_session import Proc
from .test_server import CLI, Served, stop

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = "https://api.voipbin.net/v1.0"
TOKEN = "s3cr3t-c0ntrol-t0ken"


def _env(**variables: str) -> dict[str, str]:
    """The test's environment without any setting's variable, plus ``variables``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return {**clean, "PYTHONUNBUFFERED": "1", **variables}


def _options(face: str, argv: list[str], **variables: str) -> Options:
    tail = ["--", "true"] if face == "run" else []
    return face_options(parser(), [face, *argv, *tail], face, variables)


def _serve(variables: Mapping[str, str], *args: str) -> Served:
    """``fakevoipbin serve`` with ``variables`` in its environment, once ready."""
    proc = subprocess.Popen(
        [*CLI, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(**variables),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        found = re.search(r"ready on (https?://\S+)", line)
        if found:
            return Served(proc, lines, found.group(1))
    proc.wait(timeout=15)
    raise AssertionError("serve did not become ready:\n" + "\n".join(lines))


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """The fakes a test starts, each stopped after it."""
    started: list[Served] = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            stop(s)


def _get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _root(s: Served) -> str:
    return s.url.removesuffix("/v1.0")


# --- the reader -------------------------------------------------------------------


def test_each_kind_of_value_reaches_the_options_from_its_variable(tmp_path: Path) -> None:
    state = str(tmp_path / "state.json")
    options = _options(
        "serve",
        [],
        FAKEVOIPBIN_PROFILE="live",  # a choice
        FAKEVOIPBIN_SEED="7",  # an integer
        FAKEVOIPBIN_NOW="1796120130",  # an instant, as epoch seconds
        FAKEVOIPBIN_HOST="[::1]",  # parsed as --host parses it
        FAKEVOIPBIN_PORT="0",
        FAKEVOIPBIN_TLS="Yes",  # a switch turned on
        FAKEVOIPBIN_ACCESS_LOG="OFF",  # a switch turned off (serve's default is on)
        FAKEVOIPBIN_TLS_NAMES="fakevoipbin, 10.0.0.5 db.",  # a list
        FAKEVOIPBIN_TLS_DIR=str(tmp_path),  # a path
        FAKEVOIPBIN_STATE_FILE=state,
        FAKEVOIPBIN_CONTROL_TOKEN=TOKEN,
        FAKEVOIPBIN_LOG_LEVEL="debug",
    )
    assert (options.profile, options.seed, options.port) == ("live", 7, 0)
    assert options.now == "2026-12-01T10:15:30.000000Z"
    assert options.host == "::1"
    assert options.tls is True and options.access_log is False
    assert options.tls_names == ("fakevoipbin", "10.0.0.5", "db")
    assert (options.tls_dir, options.state_file) == (str(tmp_path), state)
    assert options.control_token == TOKEN and options.control is True
    assert options.log_level == "debug"
    proxy = _options("proxy", [], FAKEVOIPBIN_UPSTREAM=UPSTREAM, FAKEVOIPBIN_UPSTREAM_TIMEOUT="2.5")
    assert (proxy.upstream, proxy.upstream_timeout, proxy.profile) == (UPSTREAM, 2.5, "live")


@pytest.mark.parametrize("word", [*TRUE_WORDS, "TRUE", "On", *FALSE_WORDS, "FALSE", "Off"])
def test_a_switch_takes_each_word_for_on_and_off_in_any_case(word: str) -> None:
    want = word.lower() in TRUE_WORDS
    assert from_environment("serve", {"FAKEVOIPBIN_RATE_LIMIT": word}) == {"rate_limit": want}
    # run's access log is off unless told, serve's on: both ways reach the options
    assert _options("run", [], FAKEVOIPBIN_ACCESS_LOG=word).access_log is want
    assert _options("serve", [], FAKEVOIPBIN_ACCESS_LOG=word).access_log is want


def test_a_flag_beats_its_variable() -> None:
    env = {
        "FAKEVOIPBIN_PROFILE": "live",
        "FAKEVOIPBIN_SEED": "7",
        "FAKEVOIPBIN_RATE_LIMIT": "1",
        "FAKEVOIPBIN_TLS": "1",
        "FAKEVOIPBIN_TLS_NAMES": "from-env.example other.example",
        "FAKEVOIPBIN_CONTROL": "1",
    }
    flags = ["--profile", "docs", "--seed", "3", "--no-rate-limit", "--tls-name", "db"]
    options = _options("serve", [*flags, "--no-control"], **env)
    assert (options.profile, options.seed, options.rate_limit) == ("docs", 3, False)
    assert options.tls_names == ("db",)  # the flags replace the variable's list
    assert options.control is False
    # and the variables stand where no flag is given
    alone = _options("serve", [], **env)
    assert (alone.profile, alone.seed, alone.rate_limit, alone.control) == ("live", 7, True, True)
    assert alone.tls_names == ("from-env.example", "other.example")


def test_an_empty_variable_is_unset() -> None:
    empty = {var: "" for var in env_names()}
    for face in ("serve", "run"):
        assert _options(face, [], **empty) == _options(face, [])
    assert from_environment("serve", empty) == {}


def test_a_variable_of_a_setting_the_face_does_not_take_is_left_alone() -> None:
    options = _options("serve", [], FAKEVOIPBIN_UPSTREAM="not a url", FAKEVOIPBIN_STRICT="x")
    assert options == _options("serve", [])
    assert from_environment("proxy", {"FAKEVOIPBIN_NOW": "yesterday"}) == {}


def test_a_bad_value_names_its_variable() -> None:
    for var, text, words in (
        ("FAKEVOIPBIN_PORT", "abc", "not a port number: 'abc'"),
        ("FAKEVOIPBIN_SEED", "7.5", "not an integer: '7.5'"),
        ("FAKEVOIPBIN_PROFILE", "staging", "not one of docs, live: 'staging'"),
        ("FAKEVOIPBIN_TLS", "maybe", "not on or off: 'maybe'"),
        ("FAKEVOIPBIN_NOW", "yesterday", "RFC 3339"),
        ("FAKEVOIPBIN_TLS_NAMES", "db *.example.com", "not a TLS name"),
    ):
        with pytest.raises(OptionError, match=re.escape(var + ": ")) as info:
            from_environment("serve", {var: text})
        assert words in str(info.value)


def test_a_clash_a_variable_took_part_in_names_the_variables_in_play() -> None:
    with pytest.raises(OptionError) as info:
        _options("serve", ["--no-tls"], FAKEVOIPBIN_TLS_DIR="/tmp/x", FAKEVOIPBIN_SEED="3")
    text = str(info.value)
    assert text.startswith("--tls-dir needs --tls") and "FAKEVOIPBIN_TLS_DIR" in text
    with pytest.raises(OptionError) as flags_only:  # a variable its flag beat is not in play
        _options("serve", ["--tls-dir", "/tmp/x", "--seed", "1"], FAKEVOIPBIN_SEED="3")
    assert str(flags_only.value) == "--tls-dir needs --tls"


def test_every_setting_a_command_takes_has_its_variable_derived_from_its_name() -> None:
    for face in ("serve", "run", "proxy"):
        for name in names(face):
            var = env_name(name)
            assert var == (ENV_PREFIX + name.upper() if setting_of(name).env else None)
    assert env_name("control_token") == CONTROL_TOKEN_ENV  # the one attach mode reads
    assert env_name("tls_names") == "FAKEVOIPBIN_TLS_NAMES"


def test_the_upstreams_access_key_is_not_read_from_the_fakes_fixture_key() -> None:
    """``run`` exports FAKEVOIPBIN_ACCESSKEY (the fake's fixture key) to CMD: a
    ``fakevoipbin run`` inside CMD must not take it for an upstream's key."""
    assert env_name("accesskey") is None and setting_of("accesskey").env_note
    assert "FAKEVOIPBIN_ACCESSKEY" not in env_names()
    assert _options("run", [], FAKEVOIPBIN_ACCESSKEY="vb_" + "k" * 32).accesskey is None


def test_a_nested_run_starts_under_the_outer_runs_exports() -> None:
    inner = f"import subprocess, sys; sys.exit(subprocess.call({[*CLI, 'run', '--', 'true']!r}))"
    r = subprocess.run(
        [*CLI, "run", "--control-token", TOKEN, "--", sys.executable, "-c", inner],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("fakevoipbin contract report") == 2
    assert "warning" not in r.stderr and TOKEN not in r.stdout + r.stderr


def test_a_misspelt_variable_is_warned_of_with_the_closest_setting() -> None:
    said = misspelt_variables(
        {
            "FAKEVOIPBIN_PROFLE": "live",
            "FAKEVOIPBIN_TLS_NAME": "db",
            "FAKEVOIPBIN_CONTROLTOKEN": "t",
            "FAKEVOIPBIN_PROFILE": "live",  # a setting's own
            "FAKEVOIPBIN_ZZZZZZZZZZ": "1",  # like no setting
            "VOIPBIN_PROFLE": "live",  # not ours
            **{var: "x" for var in OTHER_USES},  # the package's other variables
        }
    )
    assert said == [
        "FAKEVOIPBIN_CONTROLTOKEN is not a setting of fakevoipbin; did you mean "
        "FAKEVOIPBIN_CONTROL_TOKEN?",
        "FAKEVOIPBIN_PROFLE is not a setting of fakevoipbin; did you mean FAKEVOIPBIN_PROFILE?",
        "FAKEVOIPBIN_TLS_NAME is not a setting of fakevoipbin; did you mean FAKEVOIPBIN_TLS_NAMES?",
    ]


def test_every_fakevoipbin_variable_the_package_names_is_a_setting_or_another_use() -> None:
    """So no variable the package itself sets or reads is ever warned of."""
    seen: set[str] = set()
    for path in (ROOT / "fakevoipbin").rglob("*.py"):
        seen |= set(re.findall(r"\bFAKEVOIPBIN_[A-Z_]*[A-Z]\b", path.read_text("utf-8")))
    assert {"FAKEVOIPBIN_URL", "FAKEVOIPBIN_CROSSCHECK"} <= seen
    assert seen - set(env_names()) - OTHER_USES == set()
    assert misspelt_variables(dict.fromkeys(seen, "1")) == []


# --- the command line, as a user meets it ------------------------------------------


@pytest.mark.parametrize(
    ("command", "var", "text", "words"),
    [
        ("serve", "FAKEVOIPBIN_PORT", "abc", "not a port number: 'abc'"),
        ("run", "FAKEVOIPBIN_NOW", "yesterday", "RFC 3339"),
        ("proxy", "FAKEVOIPBIN_STRICT", "sometimes", "not on or off: 'sometimes'"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it_exit_2(
    command: str, var: str, text: str, words: str
) -> None:
    tail = ["--", sys.executable, "-c", "raise SystemExit(9)"] if command == "run" else []
    up = {"FAKEVOIPBIN_UPSTREAM": UPSTREAM} if command == "proxy" else {}
    r = subprocess.run(
        [*CLI, command, *tail],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(**{var: text}, **up),
    )
    assert r.returncode == 2, r.stdout + r.stderr
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"fakevoipbin: {var}: ") and words in line
    assert "Traceback" not in r.stderr
    assert r.stdout == ""


def test_a_clash_with_a_variable_in_play_is_one_line_naming_it() -> None:
    r = subprocess.run(
        [*CLI, "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(FAKEVOIPBIN_TLS_DIR="/tmp/nowhere"),
    )
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "fakevoipbin: --tls-dir needs --tls (from the environment: FAKEVOIPBIN_TLS_DIR)"
    ]


def test_a_misspelt_variable_warns_and_the_fake_still_starts(served: list[Served]) -> None:
    s = _serve({"FAKEVOIPBIN_PROFLE": "live", "FAKEVOIPBIN_PORT": "0"})
    served.append(s)
    warned = [line for line in s.banner if "warning" in line]
    assert warned == [
        "fakevoipbin: warning: FAKEVOIPBIN_PROFLE is not a setting of fakevoipbin; "
        "did you mean FAKEVOIPBIN_PROFILE?"
    ]
    assert _get(_root(s) + "/_fake/health")[1]["profile"] == "docs"


def test_a_served_fake_takes_its_settings_from_the_environment(served: list[Served]) -> None:
    env = {"FAKEVOIPBIN_PROFILE": "live", "FAKEVOIPBIN_SEED": "7", "FAKEVOIPBIN_PORT": "0"}
    s = _serve({**env, "FAKEVOIPBIN_NOW": "2026-12-01T10:15:30Z", "FAKEVOIPBIN_LOG_LEVEL": ""})
    served.append(s)
    status, health = _get(_root(s) + "/_fake/health")
    assert status == 200
    assert (health["profile"], health["seed"]) == ("live", 7)
    assert "  profile:  live" in s.banner and "  seed:     7" in s.banner
    # a flag beats the variable, on the command line itself
    flagged = _serve(env, "--profile", "docs", "--seed", "3")
    served.append(flagged)
    health = _get(_root(flagged) + "/_fake/health")[1]
    assert (health["profile"], health["seed"]) == ("docs", 3)


@pytest.mark.parametrize("how", ["variable", "flag"])
def test_on_a_public_host_without_a_token_the_api_serves_and_control_is_off(
    how: str, served: list[Served]
) -> None:
    if how == "variable":
        s = _serve({"FAKEVOIPBIN_HOST": "0.0.0.0", "FAKEVOIPBIN_PORT": "0"})
    else:
        s = _serve({}, "--host", "0.0.0.0", "--port", "0")
    served.append(s)
    root = "http://127.0.0.1:" + s.url.rsplit(":", 1)[1].split("/")[0]
    assert _get(root + "/_fake/health")[0] == 404
    assert _get(root + "/ping")[0] == 200
    status, page = _get(root + "/v1.0/accesskeys?accesskey=" + _admin_key(s))
    assert status == 200 and page["result"]
    (line,) = [line for line in s.banner if line.startswith("  control:")]
    assert "off" in line and "0.0.0.0 is not a loopback address" in line
    assert "--control-token TOKEN" in line and "FAKEVOIPBIN_CONTROL_TOKEN" in line
    assert "X-Fake-Control-Token" in line


def _admin_key(s: Served) -> str:
    at = s.banner.index("  admin keys (fixture test data; use as ?accesskey=…):")
    return s.banner[at + 1].split()[0]


def test_with_a_control_token_from_the_environment_control_is_on_behind_it(
    served: list[Served],
) -> None:
    s = _serve(
        {"FAKEVOIPBIN_HOST": "0.0.0.0", "FAKEVOIPBIN_PORT": "0", "FAKEVOIPBIN_CONTROL_TOKEN": TOKEN}
    )
    served.append(s)
    root = "http://127.0.0.1:" + s.url.rsplit(":", 1)[1].split("/")[0]
    assert _get(root + "/_fake/health")[0] == 401
    assert _get(root + "/_fake/health", {"X-Fake-Control-Token": "wrong"})[0] == 401
    status, health = _get(root + "/_fake/health", {"X-Fake-Control-Token": TOKEN})
    assert status == 200 and health["fake"] == "fakevoipbin"
    (line,) = [line for line in s.banner if line.startswith("  control:")]
    assert "send X-Fake-Control-Token" in line
    code, out = stop(s)
    assert code == 0
    assert TOKEN not in out and TOKEN not in "\n".join(s.banner)


def test_no_control_beats_control_from_the_environment_on_a_public_host(
    served: list[Served],
) -> None:
    env = {"FAKEVOIPBIN_HOST": "0.0.0.0", "FAKEVOIPBIN_PORT": "0", "FAKEVOIPBIN_CONTROL": "1"}
    refused = subprocess.run(
        [*CLI, "serve"], capture_output=True, text=True, timeout=30, env=_env(**env)
    )
    assert refused.returncode == 2
    (line,) = refused.stderr.splitlines()
    assert "refusing to serve the control API on 0.0.0.0" in line
    assert "(from the environment: FAKEVOIPBIN_HOST, FAKEVOIPBIN_PORT, FAKEVOIPBIN_CONTROL)" in line
    s = _serve(env, "--no-control")
    served.append(s)
    root = "http://127.0.0.1:" + s.url.rsplit(":", 1)[1].split("/")[0]
    assert _get(root + "/_fake/health")[0] == 404
    assert "  control:  off (--no-control)" in s.banner


def test_run_on_a_public_host_starts_with_control_off_and_says_so() -> None:
    client = (
        "import os, urllib.request, urllib.error\n"
        "root = os.environ['FAKEVOIPBIN_URL'].removesuffix('/v1.0')\n"
        "try:\n"
        "    urllib.request.urlopen(root + '/_fake/health', timeout=10)\n"
        "except urllib.error.HTTPError as e:\n"
        "    raise SystemExit(0 if e.code == 404 else 3)\n"
        "raise SystemExit(4)\n"
    )
    r = subprocess.run(
        [*CLI, "run", "--", sys.executable, "-c", client],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(FAKEVOIPBIN_HOST="0.0.0.0"),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "fakevoipbin contract report" in r.stdout
    (said,) = [line for line in r.stderr.splitlines() if "control API" in line]
    assert said.startswith("fakevoipbin run: control API off: 0.0.0.0 is not a loopback")
    assert "FAKEVOIPBIN_CONTROL_TOKEN" in said


@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token"])
def test_a_proxy_on_a_public_host_follows_the_same_control_rule(
    token: str | None, tmp_path: Path
) -> None:
    env = _env(
        FAKEVOIPBIN_HOST="0.0.0.0",
        FAKEVOIPBIN_PORT="0",
        FAKEVOIPBIN_UPSTREAM=f"http://127.0.0.1:{closed_port()}/v1.0",
        **({} if token is None else {"FAKEVOIPBIN_CONTROL_TOKEN": token}),
    )
    p = Proc(["proxy"], tmp_path, env)
    try:
        p.ready()
        root = "http://127.0.0.1:" + p.url.rsplit(":", 1)[1].split("/")[0]
        (line,) = [line for line in p.out if line.startswith("  control:")]
        if token is None:
            assert "off: 0.0.0.0 is not a loopback address" in line
            assert "FAKEVOIPBIN_CONTROL_TOKEN" in line
            # not the proxy's own: forwarded to the (closed) upstream
            assert _get(root + "/_fake/health")[0] == 502
        else:
            assert _get(root + "/_fake/health")[0] == 401
            status, health = _get(root + "/_fake/health", {"X-Fake-Control-Token": token})
            assert status == 200 and health["proxy"] == "fakevoipbin"
        code, out, err = p.stop()
    finally:
        p.kill()
    assert code == 0, out + err
    assert TOKEN not in out + err


@pytest.mark.parametrize("command", ["serve", "run", "proxy"])
def test_help_names_each_variable_and_the_control_rule(command: str) -> None:
    r = subprocess.run(
        [*CLI, command, "--help"], capture_output=True, text=True, timeout=30, env=_env()
    )
    text = " ".join(r.stdout.split())
    assert r.returncode == 0
    for name in names(command):
        var = env_name(name)
        assert (f"[env {var}]" in text) is (var is not None), name
    for spelling, verb in (("--control", "serve"), ("--no-control", "do not serve")):
        found = re.search(
            rf"{spelling} {verb} the control API(.*?)\[env FAKEVOIPBIN_CONTROL\]", text
        )
        assert found is not None, spelling
        said = found.group(1)
        assert "default: on when the host is loopback or a control token is given" in said
        assert "off on another address without one, where --control is refused" in said
        assert "attach mode" in said
