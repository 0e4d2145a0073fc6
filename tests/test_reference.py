"""The reference pages ``fakevoipbin/reference.py`` renders from the code, for the docs
site's build: the options from ``Options`` (every setting, its flags, its variable, its
defaults and faces), every command's options from the parser, the control API, the
profiles, the faults, the routes and the exit codes. Never written by hand: each page
of docs/ holds ``<!-- reference: NAME -->`` where the build puts one."""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakevoipbin import exitcodes
from fakevoipbin.cli import parser
from fakevoipbin.contract.verify import EXIT_BROKEN, EXIT_HELD, EXIT_UNPROVEN, EXIT_UNUSABLE
from fakevoipbin.core.faults import FAULT_KINDS, NETWORK_KINDS
from fakevoipbin.core.profiles import Profile
from fakevoipbin.core.routetable import default_table
from fakevoipbin.exitcodes import EXIT_CODES
from fakevoipbin.options import Options, defaults, env_name, setting_of
from fakevoipbin.reference import (
    RENDERERS,
    cli_markdown,
    control_api_markdown,
    exit_codes_markdown,
    fault_kinds_markdown,
    fault_operations_markdown,
    fault_statuses_markdown,
    filled,
    flags,
    modelled_routes_markdown,
    operation_ids,
    options_markdown,
    profiles_markdown,
    route_table_markdown,
    variables_markdown,
)


def _section(text: str, name: str) -> str:
    return text.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0]


def test_the_module_prints_the_reference_as_documented() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "fakevoipbin.reference"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == options_markdown()


def test_every_field_has_its_row_and_section_with_its_variable() -> None:
    text = options_markdown()
    fields = [f.name for f in dataclasses.fields(Options)]
    assert len(fields) > 20
    for name in fields:
        var = env_name(name)
        row = [line for line in text.splitlines() if line.startswith(f"| [`{name}`]")]
        assert len(row) == 1, name
        section = _section(text, name)
        if var is None:
            assert "- variable: none: " in section, name
        else:
            assert f"`{var}`" in row[0] and f"- variable: `{var}`" in section, name
        for flag in flags(name):
            assert f"`{flag}`" in row[0] and f"`{flag}`" in section, (name, flag)


def test_each_face_default_and_help_is_shown_expanded() -> None:
    text = options_markdown()
    port = _section(text, "port")
    assert "`8088` (`serve`)" in port and "`8089` (`proxy`)" in port
    assert "`0` (`run`, `FakeVoipbin(...)`)" in port
    assert "port to listen on (default 8088; 0 picks a free one)" in port
    assert "%(default)" not in text
    assert "- flags: `--control`, `--no-control`" in _section(text, "control")
    assert "(repeatable)" in _section(text, "tls_names")
    assert "`FAKEVOIPBIN_TLS_NAMES`" in _section(text, "tls_names")
    key = _section(text, "accesskey")
    assert "VOIPBIN_API_KEY" in key and "not FAKEVOIPBIN_ACCESSKEY" in key
    assert defaults("serve")["access_log"] is True
    assert "on (`serve`, `proxy`); off (`run`, `FakeVoipbin(...)`)" in _section(text, "access_log")
    assert setting_of("control").unset in _section(text, "control")


# --- the other pages: each names everything its source holds ---------------------------

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    return loaded


def test_the_cli_page_names_every_option_of_serve_run_proxy_and_verify() -> None:
    text = cli_markdown()
    commands = {a.dest: a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)}[
        "command"
    ].choices
    assert set(commands) >= {"serve", "run", "proxy", "verify"}
    for name, sub in commands.items():
        section = text.split(f"## `fakevoipbin {name}`\n", 1)[1].split("\n## ", 1)[0]
        spelled = {s for a in sub._actions for s in a.option_strings}
        assert len(spelled) > (3 if name in ("serve", "run", "proxy", "verify") else 0), name
        for flag in spelled:
            assert re.search(rf"`{re.escape(flag)}[ `]", section), (name, flag)
    verify = text.split("## `fakevoipbin verify`\n", 1)[1]
    assert "`--max-requests N`" in verify and "make at most N API requests" in verify


def test_the_control_page_names_every_path_method_and_operation_id() -> None:
    text = control_api_markdown()
    spec = _load("openapi-control.yaml")
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert f"### `{method.upper()} {path}`" in text, (method, path)
            assert f"`{op['operationId']}`" in text
    assert "| `advance` | number |" in text  # a body's field, with its type


def test_the_faults_and_routes_pages_name_every_kind_status_and_operation_id() -> None:
    kinds = fault_kinds_markdown()
    for kind in NETWORK_KINDS:
        assert f"| `{kind}` |" in kinds
    assert (
        "| `slow_body` | the answer's body trickles out over delay_ms | a `delay_ms` | after only |"
        in kinds
    )
    statuses = fault_statuses_markdown()
    for status, error in FAULT_KINDS.items():
        assert f"| {status} | `{error.status}` | `{error.reason}` |" in statuses
    spec = _load("openapi.yaml")
    ids = [
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == 11 and ids == operation_ids()
    operations, routes = fault_operations_markdown(), modelled_routes_markdown()
    for op in ids:
        assert f"| `{op}` |" in operations and f"| `{op}` |" in routes
    assert "| `POST /auth/login` | `PostAuthLogin` |" in routes
    assert "| `GET /v1.0/accesskeys` | `GetAccesskeys` |" in routes
    table = route_table_markdown()
    assert table.count("\n| ") - 1 == len(default_table()) > 400
    assert "| GET | `/v1.0/me` | `GetMe` | v1 | yes |" in table


def test_the_profiles_page_shows_each_field_in_both_profiles() -> None:
    text = profiles_markdown()
    for f in dataclasses.fields(Profile):
        if f.name != "name":
            assert f"| `{f.name}` |" in text, f.name
    row = next(line for line in text.splitlines() if line.startswith("| `deleted_key_error`"))
    assert row.endswith(
        "| 404 `NOT_FOUND` / `ACCESSKEY_NOT_FOUND` | 409 `FAILED_PRECONDITION` / `STATE_INVALID` |"
    )
    assert "for a deleted key of the caller's" in row  # the comment it shares
    bearer = next(line for line in text.splitlines() if "`bearer_accepts_accesskey`" in line)
    assert bearer.endswith("| yes | no |")


def test_the_exit_codes_page_is_what_the_commands_return() -> None:
    text = exit_codes_markdown()
    for row in EXIT_CODES:
        assert f"| `{row.command}` | {row.code} |" in text
    assert {row.command for row in EXIT_CODES} >= {"serve", "run", "proxy", "verify"}
    assert (EXIT_HELD, EXIT_BROKEN, EXIT_UNUSABLE, EXIT_UNPROVEN) == (
        0,
        1,
        2,
        3,
    )
    missing = ROOT / "no-such-fixtures.yaml"
    r = subprocess.run(
        [sys.executable, "-m", "fakevoipbin", "serve", "--port", "0", "--fixtures", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == exitcodes.CANNOT_START == 1, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "fakevoipbin", "serve", "--port", "abc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == exitcodes.USAGE == 2, r.stderr


def test_the_variables_page_names_every_settings_variable_and_what_run_exports() -> None:
    text = variables_markdown()
    for f in dataclasses.fields(Options):
        var = env_name(f.name)
        if var is not None:
            assert f"| `{var}` | [`{f.name}`]" in text
    for name in ("FAKEVOIPBIN_URL", "VOIPBIN_API_KEY", "SSL_CERT_FILE", "HTTPS_PROXY"):
        assert f"`{name}`" in text


def test_a_placeholder_is_filled_and_an_unknown_one_fails_the_build() -> None:
    page = "# A page\n\n<!-- reference: exit-codes -->\n\nafter\n"
    filled_page = filled(page)
    assert "<!-- reference" not in filled_page and "| `verify` | 3 |" in filled_page
    assert filled_page.endswith("after\n")
    with pytest.raises(KeyError, match="no reference named 'exit-code'"):
        filled("<!-- reference: exit-code -->\n")
    r = subprocess.run(
        [sys.executable, "-m", "fakevoipbin.reference", "profiles"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout == profiles_markdown()
    assert set(RENDERERS) >= {"options", "cli", "control-api", "profiles", "exit-codes"}


def test_the_fixtures_page_names_every_default_key_and_login_user() -> None:
    text = RENDERERS["default-fixtures"]()
    data = _load("fixtures/default.yaml")
    keys = [k for c in data["customers"] for k in c.get("keys", [])]
    users = [u for c in data["customers"] for u in c.get("users", [])]
    assert len(keys) >= 5 and len(users) >= 3
    for key in keys:
        assert f"| `{key['token']}` |" in text and f"`{key['id']}`" in text
    for user in users:
        assert f"| `{user['username']}` / `{user['password']}` |" in text
    expired = next(line for line in text.splitlines() if "Expired key" in line)
    assert "expired 86400 s before it" in expired
