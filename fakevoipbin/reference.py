"""The options reference, ``docs/options.md``, rendered from ``options.Options``: each
setting's flags, its environment variable, its default on each face, the faces that
take it and its help, so none of it is written twice. ``tests/test_reference.py``
fails when the file differs from ``options_markdown()``; regenerate it with
``python -m fakevoipbin.reference > docs/options.md``."""

from __future__ import annotations

import dataclasses
from typing import Any

from .options import (
    ENV_PREFIX,
    FACES,
    FALSE_WORDS,
    MARKER,
    PROXY,
    PYTHON,
    RUN,
    SERVE,
    TRUE_WORDS,
    Options,
    defaults,
    env_name,
    setting_of,
)

#: How the reference names each face.
FACE_NAMES = {
    SERVE: "`serve`",
    RUN: "`run`",
    PROXY: "`proxy`",
    PYTHON: "`FakeVoipbin(...)`",
    MARKER: "the pytest marker",
}
#: The faces that read the environment.
COMMAND_LINE = (SERVE, RUN, PROXY)

INTRO = f"""\
# Options reference

Generated from `fakevoipbin/options.py` by `python -m fakevoipbin.reference >
docs/options.md`; a test fails when this file differs from what it renders.

Every setting is one field of `Options`. The faces that take a setting are `serve`,
`run` and `proxy` (`fakevoipbin COMMAND`), `FakeVoipbin(...)` (a keyword of the same
name), and the pytest marker (`@pytest.mark.fakevoipbin(...)`).

## From the environment

`fakevoipbin serve`, `run` and `proxy` (and so the container image) read each setting
they take from the variable `{ENV_PREFIX}` + the setting's name in capitals, as listed
below: `FAKEVOIPBIN_PROFILE=live`, `FAKEVOIPBIN_SEED=7`, `FAKEVOIPBIN_PORT=0`.

- A flag wins over its variable. A repeatable flag replaces its variable's list: it
  does not add to it.
- An on/off setting takes, in any case, {", ".join(f"`{w}`" for w in TRUE_WORDS)}
  or {", ".join(f"`{w}`" for w in FALSE_WORDS)}.
- A repeatable setting's variable holds its values apart by commas or spaces
  (`FAKEVOIPBIN_TLS_NAMES=fakevoipbin,10.0.0.5`).
- An empty variable counts as unset (`-e FAKEVOIPBIN_NOW=` clears it).
- A value is read as its flag reads it. A bad one stops the command with one line
  naming the variable, exit 2: `fakevoipbin: FAKEVOIPBIN_PORT: not a port number:
  'abc'`. A clash a variable took part in names the variables in play.
- A variable of a setting the command does not take is ignored. A `FAKEVOIPBIN_…`
  variable close to a setting's name but not one (a misspelling) is a warning naming
  the closest.
- `FakeVoipbin(...)` and the pytest marker take keywords only: they read no setting
  from the environment.

## The control API

`control` is on where it is safe: on a loopback host, or behind a control token on
any host. On another address without a token (`--host 0.0.0.0`, as in the container
image) the fake serves the API with the control API off, and the banner says how to
turn it on: `--control-token TOKEN` or `FAKEVOIPBIN_CONTROL_TOKEN`, sent by each
control call as `X-Fake-Control-Token`. `--control` there without a token is refused,
and so is `--no-control` with a token. Attach mode (`FakeVoipbin.attach`, the pytest
plugin under `fakevoipbin run` or `FAKEVOIPBIN_URL`) drives a fake through its control
API, so it needs it on (and the token, when there is one: `FAKEVOIPBIN_CONTROL_TOKEN`).
"""


def options_markdown() -> str:
    """The whole reference, as Markdown."""
    names = [f.name for f in dataclasses.fields(Options)]
    parts = [INTRO, "## Settings\n", _summary(names), ""]
    for name in names:
        parts.append(_section(name))
    return "\n".join(parts).rstrip("\n") + "\n"


def flags(name: str) -> list[str]:
    """The flags of a setting as its faces' parsers spell them (both of a switch)."""
    meta = setting_of(name)
    flag = meta.flag or "--" + name.replace("_", "-")
    if meta.switch:
        return [flag, "--no-" + flag.removeprefix("--")]
    if meta.choices is not None:
        return [f"{flag} {{{','.join(meta.choices)}}}"]
    return [f"{flag} {meta.metavar}" if meta.metavar else flag]


def variable(name: str) -> str:
    """A setting's variable, or where it comes from instead, or that no command-line
    face takes it."""
    var = env_name(name)
    if not set(COMMAND_LINE) & setting_of(name).faces:
        return "none (no command-line face takes it)"
    if var is None:
        return "none: " + (setting_of(name).env_note or "not read from the environment")
    return f"`{var}`"


def _faces(name: str) -> list[str]:
    return [f for f in FACES if f in setting_of(name).faces]


def _summary(names: list[str]) -> str:
    rows = ["| setting | flags | variable | faces |", "|---|---|---|---|"]
    for name in names:
        shown_flags = ", ".join(f"`{f}`" for f in flags(name))
        var = env_name(name)
        shown_var = f"`{var}`" if var else "none"
        faces = ", ".join(FACE_NAMES[f] for f in _faces(name))
        rows.append(f"| [`{name}`](#{name}) | {shown_flags} | {shown_var} | {faces} |")
    return "\n".join(rows)


def _section(name: str) -> str:
    meta = setting_of(name)
    faces = _faces(name)
    lines = [
        f'<a id="{name}"></a>',
        f"### `{name}`",
        "",
        "- flags: " + ", ".join(f"`{f}`" for f in flags(name)) + " (repeatable)" * meta.repeat,
        "- variable: " + variable(name),
        "- faces: " + ", ".join(FACE_NAMES[f] for f in faces),
        "- default: " + _grouped({f: _shown_default(name, defaults(f)[name]) for f in faces}),
        "",
    ]
    helps = {f: _help(name, f) for f in faces}
    if len(set(helps.values())) == 1:
        lines.append(next(iter(helps.values())))
    else:
        for text, group in _groups(helps):
            lines.append(f"- {', '.join(FACE_NAMES[f] for f in group)}: {text}")
    lines.append("")
    return "\n".join(lines)


def _help(name: str, face: str) -> str:
    """The help ``face`` shows, with argparse's ``%(default)s`` filled in."""
    text = setting_of(name).help_for(face)
    return text % {"default": defaults(face)[name]} if "%(" in text else text


def _shown_default(name: str, value: Any) -> str:
    if value is None:
        return setting_of(name).unset
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == ():
        return "none"
    return f"`{value}`"


def _groups(by_face: dict[str, str]) -> list[tuple[str, list[str]]]:
    """The faces sharing each value, in the order the values first appear."""
    groups: dict[str, list[str]] = {}
    for face, value in by_face.items():
        groups.setdefault(value, []).append(face)
    return list(groups.items())


def _grouped(by_face: dict[str, str]) -> str:
    groups = _groups(by_face)
    if len(groups) == 1:
        return groups[0][0]
    return "; ".join(f"{v} ({', '.join(FACE_NAMES[f] for f in fs)})" for v, fs in groups)


def main() -> None:
    print(options_markdown(), end="")


if __name__ == "__main__":
    main()
