"""One ``Options`` (fakevoipbin/options.py): every face builds from it, and ``run``
takes every option ``serve`` takes, with the same rules."""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.cli import face_options, parser
from fakevoipbin.options import (
    OptionError,
    Options,
    defaults,
    marker_help,
    names,
    setting_of,
)
from fakevoipbin.reference import options_markdown

CLI = [sys.executable, "-m", "fakevoipbin"]


def _options(command: str, *argv: str) -> Options:
    """The options ``fakevoipbin COMMAND ARGV`` starts with, read as main reads them (no
    environment)."""
    return face_options(parser(), [command, *argv], command, {})


def _subcommand(name: str) -> argparse.ArgumentParser:
    p = parser()
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen: argparse.ArgumentParser = action.choices[name]
            return chosen
    raise AssertionError(name)


def _flags(p: argparse.ArgumentParser) -> dict[str, str]:
    """Each setting's flag; for a boolean, the spelling that changes the face's
    default (its other spelling comes after it)."""
    found: dict[str, str] = {}
    for a in p._actions:
        if a.option_strings and a.dest != "help":
            found.setdefault(a.dest, a.option_strings[0])
    return found


def _spellings(p: argparse.ArgumentParser, dest: str) -> set[str]:
    return {s for a in p._actions if a.dest == dest for s in a.option_strings}


def test_every_field_says_what_it_is_for_and_which_faces_take_it() -> None:
    for f in dataclasses.fields(Options):
        meta = setting_of(f.name)
        assert meta.help, f.name
        assert meta.faces, f.name


def test_run_takes_every_option_serve_takes() -> None:
    serve, run = _flags(_subcommand("serve")), _flags(_subcommand("run"))
    assert set(serve) == set(names("serve"))
    assert set(serve) <= set(run)
    assert set(run) - set(serve) == {
        "report",
        "junit",
        "html",
        "har",
        "strict",
        "upstream",
        "allow_insecure_upstream",
        "upstream_timeout",
        "accesskey",
        "record",
    }


def test_proxy_takes_the_listeners_options_the_reports_and_the_upstreams() -> None:
    proxy = _flags(_subcommand("proxy"))
    assert set(proxy) == set(names("proxy"))
    assert set(proxy) == {
        "host",
        "port",
        "profile",
        "seed",
        "control",
        "control_token",
        "access_log",
        "log_level",
        "upstream",
        "allow_insecure_upstream",
        "upstream_timeout",
        "record",
        "report",
        "junit",
        "html",
        "har",
        "strict",
    }
    assert defaults("proxy")["port"] == 8089
    assert defaults("proxy")["profile"] == "live"
    assert proxy["access_log"] == "--no-access-log"


def test_the_profile_follows_the_upstream_unless_given() -> None:
    assert _options("run", "--", "true").profile == "docs"
    up = ["--upstream", "https://api.voipbin.net/v1.0", "--", "true"]
    assert _options("run", *up).profile == "live"
    assert _options("run", "--profile", "docs", *up).profile == "docs"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://api.voipbin.net/v1.0", "not a loopback address"),
        ("http://10.0.0.1:8088/v1.0", "not a loopback address"),
        ("ftp://api.voipbin.net/v1.0", "not an http:// or https:// URL"),
        ("https://api.voipbin.net", "including /v1.0"),
        ("https://api.voipbin.net/v1.0?x=1", "including /v1.0"),
        ("https://api.voipbin.net:99999/v1.0", "not a URL"),
    ],
)
def test_an_upstream_is_checked_from_its_text(url: str, words: str) -> None:
    with pytest.raises(OptionError, match=words):
        Options(upstream=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8088/v1.0",
        "http://127.9.9.9/v1.0/",
        "http://[::1]:8088/v1.0",
        "http://LOCALHOST:8088/v1.0",
        "https://api.voipbin.net/v1.0",
        "https://staging.example/api/v1.0",
    ],
)
def test_loopback_or_https_upstreams_are_taken(url: str) -> None:
    assert Options(upstream=url).upstream == url.rstrip("/")


def test_an_insecure_upstream_is_taken_only_when_allowed() -> None:
    url = "http://api.voipbin.net/v1.0"
    assert Options(upstream=url, allow_insecure_upstream=True).upstream == url


def test_fake_only_settings_clash_with_an_upstream() -> None:
    up = "https://api.voipbin.net/v1.0"
    for settings in ({"fixtures": "f.yaml"}, {"rate_limit": True}, {"state_file": "s"}):
        with pytest.raises(OptionError, match="with --upstream the upstream answers"):
            Options(upstream=up, **settings)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="--accesskey needs --upstream"):
        Options(accesskey="vb_" + "x" * 32)


def test_secrets_are_not_in_the_options_repr() -> None:
    options = Options(upstream="https://api.voipbin.net/v1.0", accesskey="vb_" + "s" * 32)
    assert "s" * 32 not in repr(options)
    assert "control_token" not in repr(Options(control_token="t0ps3cret"))


def test_a_boolean_flag_is_named_for_the_faces_default() -> None:
    serve, run = _flags(_subcommand("serve")), _flags(_subcommand("run"))
    assert serve["access_log"] == "--no-access-log"  # on by default for serve
    assert run["access_log"] == "--access-log"  # off by default for run
    assert serve["control"] == run["control"] == "--no-control"
    assert serve["rate_limit"] == "--rate-limit"


@pytest.mark.parametrize("command", ["serve", "run", "proxy"])
def test_every_boolean_takes_both_spellings_with_the_faces_own_default(command: str) -> None:
    p = _subcommand(command)
    face_defaults = defaults(command)
    switches = [n for n in names(command) if setting_of(n).switch]
    assert {"access_log", "control"} <= set(switches)
    assert face_defaults["control"] is None  # the rule decides (options.control_rule)
    for name in switches:
        flag = "--" + name.replace("_", "-")
        no_flag = "--no-" + name.replace("_", "-")
        assert _spellings(p, name) == {flag, no_flag}, name
        tail = ["--", "true"] if command == "run" else []
        upstream = ["--upstream", "https://api.voipbin.net/v1.0"] if command == "proxy" else []
        for given, want in (([], face_defaults[name]), ([flag], True), ([no_flag], False)):
            args = p.parse_args([*upstream, *given, *tail])
            assert getattr(args, name) is want, (command, name, given)
        with pytest.raises(SystemExit):  # one or the other
            p.parse_args([*upstream, flag, no_flag, *tail])
    assert face_defaults["access_log"] is (command != "run")


@pytest.mark.parametrize(
    ("command", "flag", "logged"),
    [
        ("run", "--no-access-log", False),
        ("run", "--access-log", True),
    ],
)
def test_run_takes_both_spellings_of_the_access_log(command: str, flag: str, logged: bool) -> None:
    client = (
        "import os, urllib.request; urllib.request.urlopen(os.environ['FAKEVOIPBIN_URL']"
        " + '/accesskeys?accesskey=' + os.environ['VOIPBIN_API_KEY'], timeout=10).read()"
    )
    r = subprocess.run(
        [*CLI, command, flag, "--", sys.executable, "-c", client],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert ("GET /v1.0/accesskeys" in r.stderr) is logged, r.stderr


def test_help_says_what_the_seed_drives_on_each_face() -> None:
    serve, run, proxy = (_subcommand(c).format_help() for c in ("serve", "run", "proxy"))
    assert "--record" not in serve  # serve has no --record
    assert "JWT" in serve
    assert "--record's tokens" in run and "JWT" in run
    assert "seed for --record's tokens" in " ".join(proxy.split())
    assert "JWT" not in proxy  # a proxy mints no JWT


def test_faces_have_their_own_defaults_stated_beside_the_field() -> None:
    assert defaults("serve")["port"] == 8088
    assert defaults("run")["port"] == 0
    assert defaults("python")["port"] == 0
    assert defaults("run")["response_validation"] == "log"
    assert set(names("marker")) == {"profile", "seed", "now", "fixtures", "rate_limit"}
    assert "log_level" not in names("python")


def test_the_command_line_gives_the_same_options_as_keywords() -> None:
    options = _options(
        "serve", "--profile", "live", "--seed", "4", "--now", "2026-12-01T00:00:00Z", "--no-control"
    )
    assert options == Options(
        profile="live", seed=4, now="2026-12-01T00:00:00Z", control=False, access_log=True
    )


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"profile": "staging"}, "unknown profile"),
        ({"port": 70000}, "0 to 65535"),
        ({"now": "yesterday"}, "RFC 3339"),
        ({"response_validation": "loud"}, "strict, log, off"),
        ({"host": "0.0.0.0", "control": True}, "--control-token"),
        ({"tls_dir": "/tmp/x"}, "--tls-dir needs --tls"),
        ({"tls_names": ("db",)}, "--tls-name needs --tls"),
        ({"tls": True, "tls_names": ("*.example.com",)}, "not a TLS name"),
        ({"tls": True, "tls_names": "db"}, "a list of names"),
        ({"tls": "yes"}, "tls is true or false"),
    ],
)
def test_options_check_themselves(settings: dict[str, object], words: str) -> None:
    with pytest.raises(OptionError, match=words):
        Options(**settings)  # type: ignore[arg-type]


def test_a_non_loopback_host_is_fine_with_a_token_or_without_control() -> None:
    assert Options(host="0.0.0.0", control_token="t").control is True
    assert Options(host="0.0.0.0", control=False).control is False


def test_the_control_api_is_on_only_where_safe_unless_told() -> None:
    """Left to the rule, it is on for a loopback host or behind a token, off on any
    other address without one; ``changed`` judges it again for a new host."""
    for host in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert Options(host=host).control is True, host
    for host in ("0.0.0.0", "::", "10.0.0.5", "fakevoipbin"):
        off = Options(host=host)
        assert off.control is False and not off.control_given, host
        assert Options(host=host, control_token="t").control is True
    assert Options().changed(host="0.0.0.0").control is False
    assert Options(host="0.0.0.0").changed(host="127.0.0.1").control is True
    with pytest.raises(OptionError, match="refusing to serve the control API"):
        Options(control=True).changed(host="0.0.0.0")
    assert Options(control=False).changed(host="127.0.0.1").control is False


@pytest.mark.parametrize("command", ["serve", "run", "proxy"])
def test_serve_run_and_proxy_refuse_an_open_control_api_alike(command: str) -> None:
    """Asked for (``--control``) on a non-loopback host without a token."""
    tail = ["--", sys.executable, "-c", "raise SystemExit(9)"] if command == "run" else []
    up = ["--upstream", "https://api.voipbin.net/v1.0"] if command == "proxy" else []
    r = subprocess.run(
        [*CLI, command, "--host", "0.0.0.0", "--port", "0", "--control", *up, *tail],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    (line,) = r.stderr.splitlines()
    assert line.startswith("fakevoipbin: refusing to serve the control API on 0.0.0.0")
    assert "not a loopback address" in line
    assert "--control-token" in line
    assert "Traceback" not in r.stderr


def test_fake_voipbin_takes_the_python_faces_settings_and_names_them_when_wrong() -> None:
    fake = FakeVoipbin(profile="live", seed=3)
    assert fake.options.profile == "live" and fake.options.seed == 3
    assert fake.options.port == 0
    with pytest.raises(TypeError, match="colour") as info:
        FakeVoipbin(colour="red")
    assert "profile" in str(info.value)  # it lists what it takes
    with pytest.raises(TypeError, match="log_level"):
        FakeVoipbin(log_level="debug")


def test_configure_takes_the_markers_settings_only() -> None:
    fake = FakeVoipbin()
    with pytest.raises(TypeError, match="port"):
        fake.configure(port=1234)


def test_the_marker_help_lists_its_settings() -> None:
    text = marker_help()
    for name in names("marker"):
        assert f"{name}=" in text


def test_the_options_reference_lists_every_flag_of_every_command_and_no_other() -> None:
    """The options reference (rendered by fakevoipbin/reference.py into the docs site)
    against the parsers themselves; the server's how-to links it instead of a table of
    its own."""
    root = Path(__file__).resolve().parent.parent
    text = options_markdown()
    listed = set(re.findall(r"`(--[a-z-]+)[ `]", text.split("## Settings", 1)[1]))
    spelled = {
        s
        for command in ("serve", "run", "proxy")
        for a in _subcommand(command)._actions
        if a.dest in names(command)
        for s in a.option_strings
    }
    assert "--no-control" in spelled and "--tls-name" in spelled
    assert listed == spelled
    page = (root / "docs" / "how-to" / "any-language-server.md").read_text(encoding="utf-8")
    section = page.split("## The server: `fakevoipbin serve`", 1)[1].split("\n## ", 1)[0]
    assert "(../options.md)" in section
    assert not re.findall(r"^\| `--", section, re.MULTILINE)  # no second table


@pytest.mark.parametrize("command", ["serve", "run"])
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--no-control", "--control-token", "s3cr3t-t0ken"], "--no-control turns off"),
        (["--control-token", ""], "the control token is empty"),
        (["--control-token", " s3cr3t-t0ken"], "starts or ends with a space"),
    ],
    ids=["no-control", "empty", "spaced"],
)
def test_a_control_token_that_cannot_guard_anything_is_refused_in_one_line(
    command: str, args: list[str], words: str
) -> None:
    tail = ["--", sys.executable, "-c", "raise SystemExit(9)"] if command == "run" else []
    r = subprocess.run(
        [*CLI, command, "--port", "0", *args, *tail], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fakevoipbin: ") and words in lines[0], lines
    assert "s3cr3t" not in r.stdout + r.stderr  # never quoted


def test_options_refuse_a_token_without_the_control_api_and_an_empty_one() -> None:
    with pytest.raises(OptionError, match="--no-control"):
        Options(control=False, control_token="t")
    with pytest.raises(OptionError, match="empty"):
        Options(control_token="")
    assert Options(host="[::1]").host == "::1"
    with pytest.raises(OptionError, match=r"\[::1\]"):
        Options(host="[localhost]")


def test_tls_names_are_checked_once_and_kept_without_repeats() -> None:
    options = Options(tls=True, tls_names=["DB.", "10.0.0.5", "db"])
    assert options.tls_names == ("db", "10.0.0.5")
    assert Options().tls_names == () and not Options().tls


@pytest.mark.parametrize("command", ["serve", "run"])
def test_tls_name_is_repeatable_and_a_bad_one_is_refused_in_one_line(command: str) -> None:
    argv = ["--tls", "--tls-name", "db", "--tls-name", "10.0.0.5"]
    argv += ["--", "true"] if command == "run" else []
    assert _options(command, *argv).tls_names == ("db", "10.0.0.5")
    r = subprocess.run(
        [*CLI, command, "--tls", "--tls-name", "not a name"]
        + (["--", "true"] if command == "run" else []),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert "not a TLS name: 'not a name'" in last and "Traceback" not in r.stderr


def test_tls_is_the_servers_and_no_reset_setting() -> None:
    """The Python face takes TLS; a reset (and so the marker's reset) does not: the
    marker's ``tls`` and ``intercept`` give a test a fake of its own instead
    (``pytest_plugin.SERVER_SETTINGS``, tests/test_plugin.py)."""
    assert {"tls", "tls_dir", "tls_names", "intercept"} <= set(names("python"))
    assert not {"tls", "tls_dir", "tls_names", "intercept"} & set(names("marker"))
