"""The docs site's reference pages, rendered from the code they describe, so none of it
is written twice and none can drift: the docs site's build (``mkdocs_hooks.py``) puts
each one where a page says ``<!-- reference: NAME -->``.

- ``options``: every setting of ``options.Options``: its flags, its environment
  variable, its default on each face, the faces that take it and its help;
- ``cli``: every command and option, from the command line's own parser (``cli.parser``);
- ``variables``: every environment variable, the settings' and ``envnames``' others;
- ``control-api`` and ``journal-entry``: from ``openapi-control.yaml``;
- ``profiles``: ``core/profiles.py``'s two profiles side by side;
- ``fault-statuses``, ``fault-kinds``, ``fault-operations``: from ``core/faults.py`` and
  ``openapi.yaml``'s operationIds;
- ``modelled-routes`` and ``route-table``: ``openapi.yaml`` and ``data/routes.tsv``;
- ``exit-codes``: ``exitcodes.EXIT_CODES``;
- ``default-fixtures``: ``fixtures/default.yaml``'s customers, keys and login users.

``python -m fakevoipbin.reference [NAME]`` prints one (``options`` when none is named)."""

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

Generated from `fakevoipbin/options.py` when the site is built (`make docs`);
`python -m fakevoipbin.reference options` prints it.

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


# --- the command line ----------------------------------------------------------------


def cli_markdown() -> str:
    """Every command of ``fakevoipbin`` with every option, from its own parser: the
    usage line, the description, and a row per option with its help."""
    from .cli import parser

    root = parser()
    parts = [
        "# Command line\n",
        "Rendered from the command line's own parser (`fakevoipbin/cli.py`) when the site "
        "is built; `fakevoipbin COMMAND --help` prints the same. Each setting that "
        "`serve`, `run` and `proxy` share is one field of `Options`: its row links to "
        "[the options reference](../options.md), which also gives its variable and its "
        "default on each command.\n",
        f"`{root.format_usage().strip().removeprefix('usage: ')}`\n",
        "`python -m fakevoipbin` is the same tool. `fakevoipbin --version` prints the "
        "version and the production commit the `live` profile follows, in one line.\n",
    ]
    for name, sub in _subcommands(root).items():
        usage = " ".join(sub.format_usage().split()).removeprefix("usage: ")
        parts += [f"## `fakevoipbin {name}`\n", f"`{usage}`\n", (sub.description or "") + "\n"]
        rows = ["| option | what it does |", "|---|---|"]
        for action in sub._actions:
            if not action.option_strings or action.help == "==SUPPRESS==":
                continue
            spelled = ", ".join(_spelled(action, s) for s in action.option_strings)
            if action.dest in _option_names():
                spelled += f" ([`{action.dest}`](../options.md#{action.dest}))"
            rows.append(f"| {spelled} | {_cell(_expanded(action))} |")
        parts += ["\n".join(rows), ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def _subcommands(root: Any) -> dict[str, Any]:
    import argparse

    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _option_names() -> set[str]:
    return {f.name for f in dataclasses.fields(Options)}


def _spelled(action: Any, flag: str) -> str:
    if action.nargs == 0:
        return f"`{flag}`"
    if action.choices is not None:
        return f"`{flag} {{{','.join(map(str, action.choices))}}}`"
    return f"`{flag} {action.metavar or action.dest.upper()}`"


def _expanded(action: Any) -> str:
    text = action.help or ""
    return text % {"default": action.default} if "%(" in text else text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


# --- the environment -------------------------------------------------------------------


def variables_markdown() -> str:
    """Every environment variable: each setting's, and the ones ``run`` exports and
    attach mode reads (``envnames``)."""
    from . import envnames

    rows = ["| variable | setting | commands |", "|---|---|---|"]
    for f in dataclasses.fields(Options):
        var = env_name(f.name)
        if var is None:
            continue
        faces = ", ".join(FACE_NAMES[x] for x in COMMAND_LINE if x in setting_of(f.name).faces)
        rows.append(f"| `{var}` | [`{f.name}`](../options.md#{f.name}) | {faces} |")
    others = ["| variable | what |", "|---|---|"]
    for name, value, note in _module_constants(envnames):
        if name in ("INTERCEPT_URL", "OTHER_USES"):
            continue
        values = value if isinstance(value, tuple) else (value,)
        others.append(f"| {', '.join(f'`{v}`' for v in values)} | {_cell(note)} |")
    return "\n".join(
        [
            "## The settings' variables\n",
            "`fakevoipbin serve`, `run` and `proxy` (and so the image) read each setting "
            "from its variable; the rules (a flag wins, an empty variable is unset, the "
            "on/off words) are in [the options reference](../options.md#from-the-environment).\n",
            "\n".join(rows),
            "",
            "## What `run` exports, and attach mode reads\n",
            "`fakevoipbin run -- CMD` sets these for CMD (the CA and proxy ones under "
            "`--tls` and `--intercept`); the pytest plugin attaches to the fake that "
            "`FAKEVOIPBIN_URL` names. Rendered from `fakevoipbin/envnames.py`.\n",
            "\n".join(others),
            "",
        ]
    )


def _module_constants(module: Any) -> list[tuple[str, Any, str]]:
    """Each ``NAME = value`` of a module with the ``#:`` comment above it, in order."""
    import inspect

    found, comment = [], []
    for line in inspect.getsource(module).splitlines():
        if line.startswith("#:"):
            comment.append(line.removeprefix("#:").strip())
        elif "=" in line and line.split("=", 1)[0].strip().isupper() and comment:
            name = line.split("=", 1)[0].strip()
            found.append((name, getattr(module, name), " ".join(comment)))
            comment = []
        elif not line.startswith("#"):
            comment = []
    return found


# --- the control API and the journal entry ----------------------------------------------


def _load_yaml(name: str) -> dict[str, Any]:
    import yaml

    from .resources import data_path

    loaded: dict[str, Any] = yaml.safe_load(data_path(name).read_text(encoding="utf-8"))
    return loaded


METHODS = ("get", "put", "post", "delete", "patch")


def control_api_markdown() -> str:
    """Each path and method of ``openapi-control.yaml``: its operationId, what it does,
    its body's fields and its answers."""
    spec = _load_yaml("openapi-control.yaml")
    parts = [spec["info"]["description"].strip() + "\n"]
    rows = ["| call | operationId | does |", "|---|---|---|"]
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                anchor = op["operationId"].lower()
                rows.append(
                    f"| [`{method.upper()} {path}`](#{anchor}) | `{op['operationId']}` "
                    f"| {_cell(op.get('summary', ''))} |"
                )
    parts += ["\n".join(rows), ""]
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            parts += [
                f'<a id="{op["operationId"].lower()}"></a>',
                f"### `{method.upper()} {path}`\n",
                f"operationId `{op['operationId']}`. {op.get('summary', '')}\n",
            ]
            if op.get("description"):
                parts.append(op["description"].strip() + "\n")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = _resolved(spec, body.get("schema", {}))
            if schema.get("properties"):
                required = "required" if op["requestBody"].get("required") else "optional"
                parts += [f"Body ({required}):\n", _fields_table(spec, schema), ""]
            answers = [
                f"- **{code}**: {_cell(_resolved(spec, answer).get('description', ''))}"
                for code, answer in op.get("responses", {}).items()
            ]
            parts += ["Answers:\n", "\n".join(answers), ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def journal_entry_markdown() -> str:
    """The journal entry's fields, from ``openapi-control.yaml``'s ``JournalEntry``."""
    spec = _load_yaml("openapi-control.yaml")
    schema = spec["components"]["schemas"]["JournalEntry"]
    return _fields_table(spec, schema) + "\n"


def fault_rule_markdown() -> str:
    """A fault rule's fields, from ``openapi-control.yaml``'s ``FaultRule``."""
    spec = _load_yaml("openapi-control.yaml")
    return _fields_table(spec, spec["components"]["schemas"]["FaultRule"]) + "\n"


def _resolved(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _fields_table(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    rows = ["| field | type | what |", "|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        prop = _resolved(spec, prop)
        rows.append(f"| `{name}` | {_type_of(prop)} | {_cell(prop.get('description', ''))} |")
    return "\n".join(rows)


def _type_of(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join("`null`" if v is None else f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    shown = " or ".join(str(k) for k in kinds)
    limits = [f"{k} {prop[k]}" for k in ("minimum", "maximum", "maxLength") if k in prop]
    if "default" in prop:
        limits.append(f"default {prop['default']}")
    return shown + (f" ({', '.join(limits)})" if limits else "")


# --- the profiles ----------------------------------------------------------------------


def profiles_markdown() -> str:
    """``core/profiles.py``'s ``Profile`` fields, each with its comment and its value in
    ``docs`` and ``live``."""
    from .core import profiles

    notes = _field_comments(profiles)
    rows = ["| field | what it decides | `docs` | `live` |", "|---|---|---|---|"]
    for f in dataclasses.fields(profiles.Profile):
        if f.name == "name":
            continue
        shown = [_profile_value(getattr(p, f.name)) for p in (profiles.DOCS, profiles.LIVE)]
        rows.append(f"| `{f.name}` | {_cell(notes.get(f.name, ''))} | {shown[0]} | {shown[1]} |")
    return "\n".join(rows) + "\n"


def _field_comments(module: Any) -> dict[str, str]:
    """The ``#:`` comment above each field of ``Profile``; a field right under another
    with no comment of its own shares that one (as ``deleted_key_error`` does)."""
    import inspect

    notes: dict[str, str] = {}
    comment: list[str] = []
    last = ""
    for line in inspect.getsource(module.Profile).splitlines()[1:]:
        text = line.strip()
        if text.startswith("#:"):
            if last and not comment:
                last = ""
            comment.append(text.removeprefix("#:").strip())
        elif ":" in text and not text.startswith(("#", '"')):
            name = text.split(":", 1)[0]
            if comment:
                last = " ".join(comment)
            notes[name] = last
            comment = []
    return notes


def _profile_value(value: Any) -> str:
    from .core.errors import ErrorKind

    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "`null` / none"
    if isinstance(value, ErrorKind):
        return f"{value.http} `{value.status}` / `{value.reason}`"
    if isinstance(value, frozenset):
        return ", ".join(f"`{v}`" for v in sorted(value))
    if callable(value):
        doc = (value.__doc__ or value.__name__).strip().splitlines()[0]
        return _cell(doc.replace("``", "`"))
    return f"`{value}`"


# --- faults ----------------------------------------------------------------------------


def fault_statuses_markdown() -> str:
    """The statuses a fault may answer, each as the error it is rendered as."""
    from .core.faults import FAULT_KINDS

    rows = ["| status | status text | reason | message |", "|---|---|---|---|"]
    for code, kind in FAULT_KINDS.items():
        rows.append(f"| {code} | `{kind.status}` | `{kind.reason}` | {_cell(kind.message)} |")
    return "\n".join(rows) + "\n"


def fault_kinds_markdown() -> str:
    """The network-level kinds, what the client sees, and when each may come."""
    from .core.faults import AFTER_ONLY_KINDS, NETWORK_KINDS, SLOW_KINDS

    rows = ["| `kind` | what the client sees | needs | `when` |", "|---|---|---|---|"]
    for kind, seen in NETWORK_KINDS.items():
        needs = "a `delay_ms`" if kind in SLOW_KINDS else ""
        when = "after only" if kind in AFTER_ONLY_KINDS else "after (default) or before"
        rows.append(f"| `{kind}` | {_cell(seen)} | {needs} | {when} |")
    return "\n".join(rows) + "\n"


def api_operations() -> list[tuple[str, str, str, str]]:
    """Each operation of ``openapi.yaml``, in the spec's order: method, the whole path
    (under its server's: ``/v1.0`` but for ``/auth/login``), operationId and summary."""
    from urllib.parse import urlsplit

    spec = _load_yaml("openapi.yaml")
    default = urlsplit(spec["servers"][0]["url"]).path
    found = []
    for path, item in spec["paths"].items():
        servers = item.get("servers")
        prefix = urlsplit(servers[0]["url"]).path if servers else default
        for m in METHODS:
            if m in item and "operationId" in item[m]:
                op = item[m]
                found.append((m.upper(), prefix + path, op["operationId"], op.get("summary", "")))
    return found


def operation_ids() -> list[str]:
    """Every operationId of ``openapi.yaml``, in the spec's order."""
    return [op for _m, _p, op, _s in api_operations()]


def fault_operations_markdown() -> str:
    """What a rule's ``operation`` may name: each operationId of ``openapi.yaml``, or ``*``."""
    rows = ["| `operation` | route |", "|---|---|"]
    for method, path, op, _summary in api_operations():
        rows.append(f"| `{op}` | `{method} {path}` |")
    rows.append("| `*` | every operation above |")
    return "\n".join(rows) + "\n"


# --- routes ----------------------------------------------------------------------------


def modelled_routes_markdown() -> str:
    """The routes ``openapi.yaml`` models: method, path, operationId and summary."""
    rows = ["| route | operationId | what |", "|---|---|---|"]
    for method, path, op, summary in api_operations():
        rows.append(f"| `{method} {path}` | `{op}` | {_cell(summary)} |")
    return "\n".join(rows) + "\n"


def route_table_markdown() -> str:
    """Every row of ``data/routes.tsv``, and whether ``openapi.yaml`` models it."""
    from .core.routetable import default_table

    modelled = {(method, path) for method, path, _op, _s in api_operations()}
    table = default_table()
    rows = [
        f"{len(table)} routes, read from production's router at the commit "
        "`fakevoipbin --version` names.\n",
        "| method | path | operation | group | modelled |",
        "|---|---|---|---|---|",
    ]
    for route in table:
        mark = "yes" if (route.method, route.path) in modelled else ""
        rows.append(
            f"| {route.method} | `{route.path}` | `{route.operation}` | {route.group} | {mark} |"
        )
    return "\n".join(rows) + "\n"


# --- the default fixtures ------------------------------------------------------------


def default_fixtures_markdown() -> str:
    """``fixtures/default.yaml``'s customers, keys and login users, with their public
    test credentials and times relative to the clock's start."""
    data = _load_yaml("fixtures/default.yaml")
    rows = ["| customer | what | credential |", "|---|---|---|"]
    for customer in data["customers"]:
        first = f"{customer.get('name', '')} `{customer.get('id', '')}`"
        if customer.get("frozen"):
            first += " (frozen: every call 403 `ACCOUNT_FROZEN`)"
        for key in customer.get("keys", []):
            what = f"key {key.get('name', '')!s} `{key.get('id', '')}`: " + _key_times(key)
            rows.append(f"| {first} | {_cell(what)} | `{key.get('token', '')}` |")
            first = ""
        for user in customer.get("users", []):
            what = f"login user, {user.get('permission', '')}"
            rows.append(f"| {first} | {what} | `{user['username']}` / `{user['password']}` |")
            first = ""
    return "\n".join(rows) + "\n"


def _key_times(key: dict[str, Any]) -> str:
    ago = key.get("created_ago", 0)
    expire = key["expire"]
    left = expire - ago
    made = f"made {ago} s before the start, " if ago else "made at the start, "
    if left < 0:
        return made + f"expired {-left} s before it"
    return made + f"expires {left} s after it"


# --- exit codes ------------------------------------------------------------------------


def exit_codes_markdown() -> str:
    """``exitcodes.EXIT_CODES`` as a table, command by command."""
    from .exitcodes import EXIT_CODES

    rows = ["| command | exit code | means |", "|---|---|---|"]
    for row in EXIT_CODES:
        rows.append(f"| `{row.command}` | {row.code} | {_cell(row.meaning)} |")
    return "\n".join(rows) + "\n"


#: Each page part by the name a page's ``<!-- reference: NAME -->`` gives.
RENDERERS = {
    "options": options_markdown,
    "cli": cli_markdown,
    "variables": variables_markdown,
    "control-api": control_api_markdown,
    "journal-entry": journal_entry_markdown,
    "profiles": profiles_markdown,
    "fault-rule": fault_rule_markdown,
    "fault-statuses": fault_statuses_markdown,
    "fault-kinds": fault_kinds_markdown,
    "fault-operations": fault_operations_markdown,
    "modelled-routes": modelled_routes_markdown,
    "route-table": route_table_markdown,
    "exit-codes": exit_codes_markdown,
    "default-fixtures": default_fixtures_markdown,
}
#: What a page writes where a renderer's output goes.
PLACEHOLDER = "<!-- reference: {} -->"


def filled(markdown: str) -> str:
    """``markdown`` with each ``<!-- reference: NAME -->`` line replaced by its render;
    an unknown NAME is a ``KeyError`` naming it (so a typo fails the build)."""
    import re

    def render(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in RENDERERS:
            raise KeyError(f"no reference named {name!r}: one of {', '.join(RENDERERS)}")
        return RENDERERS[name]().rstrip("\n")

    return re.sub(r"^<!-- reference: ([a-z-]+) -->$", render, markdown, flags=re.M)


def main(argv: list[str] | None = None) -> int:
    import sys

    names = sys.argv[1:] if argv is None else argv
    name = names[0] if names else "options"
    if name not in RENDERERS or len(names) > 1:
        print(f"usage: python -m fakevoipbin.reference [{'|'.join(RENDERERS)}]", file=sys.stderr)
        return 2
    print(RENDERERS[name](), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
