"""docs/options.md is what ``fakevoipbin/reference.py`` renders from ``Options``: every
setting, its flags, its variable, its defaults and faces; never written by hand."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from fakevoipbin.options import Options, defaults, env_name, setting_of
from fakevoipbin.reference import flags, options_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "options.md"
REGENERATE = "regenerate it: python -m fakevoipbin.reference > docs/options.md"


def _section(text: str, name: str) -> str:
    return text.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0]


def test_docs_options_md_is_what_the_reference_renders() -> None:
    assert DOC.read_text(encoding="utf-8") == options_markdown(), (
        f"docs/options.md differs from fakevoipbin/reference.py's rendering: {REGENERATE}"
    )


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
