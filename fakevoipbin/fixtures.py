"""Fixture files (YAML) into fixture data; see fixtures/default.yaml for the format.

A file that cannot be loaded is one ``FixtureError`` line naming the file and the place
(a path such as ``customers/0/keys/1/expire``, a line and column) and what is wrong,
never the file's content: the control API's reset reads any path it is given, so a
message must not echo a file that is not a fixture file.
"""

from __future__ import annotations

import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .compiled import Check, Compiler, Unsupported
from .core import agents
from .core.clock import MAX_EXPIRE_S
from .core.customer_fields import ABSENT, nested_properties, value_at
from .core.fixtureset import (
    PERMISSIONS,
    FixtureCustomer,
    FixtureError,
    FixtureKey,
    FixtureSet,
    FixtureUser,
)
from .core.formats import TOKEN_PATTERN, UUID_PATTERN
from .core.store import CUSTOMER_FIELDS
from .resources import default_fixtures_path

__all__ = ["FixtureError", "load_fixtures", "parse_fixtures"]

#: libyaml's safe loader when PyYAML has it (several times faster), else PyYAML's own.
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_BASE_LOADER):  # type: ignore[misc]
    """The safe loader, but a mapping that gives a key twice is an error (YAML says
    keys are unique; PyYAML would keep the last one)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        first: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                earlier = first.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the constructor says so
            if earlier is not key_node:
                raise _DuplicateKey(key, earlier.start_mark, key_node.start_mark)
        return super().construct_mapping(node, deep)


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, first: Any, again: Any) -> None:
        super().__init__("duplicate key")
        self.key = key
        self.first = first
        self.again = again


_UUID = UUID_PATTERN
#: The customer fields a fixture file may set (``store.Customer`` marks them).
_FIXTURE_FIELDS = tuple(f for f in CUSTOMER_FIELDS if f.fixture)
_PERMISSION: dict[str, Any] = {
    "oneOf": [{"enum": sorted(PERMISSIONS)}, {"type": "integer", "minimum": 0}]
}
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "version": {"const": 1},
        "customers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    **nested_properties(_FIXTURE_FIELDS),
                    # The file's own: tm_create as seconds before the clock's start,
                    # the customer's keys and its login users.
                    "created_ago": {"type": "number", "minimum": 0},
                    "keys": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string", "pattern": _UUID},
                                "name": {"type": "string", "maxLength": 255},
                                "detail": {"type": "string"},
                                "token": {"type": "string", "pattern": TOKEN_PATTERN},
                                "expire": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": MAX_EXPIRE_S,
                                },
                                "created_ago": {"type": "number", "minimum": 0},
                                "deleted_ago": {"type": "number", "minimum": 0},
                            },
                            "additionalProperties": False,
                        },
                    },
                    "users": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string", "pattern": _UUID},
                                "username": {"type": "string", "minLength": 1},
                                "password": {"type": "string", "minLength": 1},
                                "name": {"type": "string"},
                                "permission": _PERMISSION,
                                "detail": {"type": "string"},
                                "ring_method": {"enum": list(agents.RING_METHODS)},
                                "status": {"enum": list(agents.STATUSES)},
                                "tag_ids": {
                                    "type": "array",
                                    "items": {"type": "string", "pattern": _UUID},
                                },
                                "addresses": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            f: {"type": "string"} for f in agents.ADDRESS_FIELDS
                                        },
                                        "additionalProperties": False,
                                    },
                                },
                            },
                            "required": ["username", "password", "permission"],
                            "additionalProperties": False,
                        },
                    },
                },
                "additionalProperties": False,
            },
        },
    },
    "required": ["customers"],
    "additionalProperties": False,
}
_CHECK_LOCK = threading.Lock()


def _no_refs(ref: str) -> dict[str, Any]:
    raise Unsupported(f"the fixture schema has no $ref: {ref}")


@lru_cache(maxsize=1)
def _fast_check() -> Check | None:
    """The schema compiled (compiled.py), once: a quick yes for a good file."""
    try:
        return Compiler(_no_refs).compile(_SCHEMA)
    except Unsupported:
        return None


@lru_cache(maxsize=1)
def _jsonschema() -> Any:
    """jsonschema's validator for the schema, made on first need (importing jsonschema
    costs about 40 ms of a fake's start)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_SCHEMA)


def _problems(doc: Any) -> list[Any]:
    """How ``doc`` breaks the schema (jsonschema's errors, the first path first). The
    compiled check is never looser than jsonschema (its integers are stricter), so its
    yes is final and jsonschema decides, and explains, the rest; with
    ``FAKEVOIPBIN_CROSSCHECK=1`` (the test suite) jsonschema checks each yes too."""
    with _CHECK_LOCK:
        fast = _fast_check()
        if fast is not None and fast(doc):
            if os.environ.get("FAKEVOIPBIN_CROSSCHECK") == "1" and not _jsonschema().is_valid(doc):
                raise AssertionError(f"the compiled fixture check accepts {doc!r:.300}")
            return []
        slow = _jsonschema()
    return sorted(slow.iter_errors(doc), key=lambda e: list(e.absolute_path))


def _names(schema: Any) -> set[str]:
    """Every field name the fixture format has, at any level."""
    out: set[str] = set()
    if isinstance(schema, dict):
        out |= set(schema.get("properties", {}))
        for value in schema.values():
            out |= _names(value)
    elif isinstance(schema, list):
        for value in schema:
            out |= _names(value)
    return out


#: The format's own words: a message may name these, never any other text of a file.
_FORMAT_NAMES = _names(_SCHEMA)
_TYPES: dict[str, str] = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
}
_PATTERNS = {
    UUID_PATTERN: "a UUID",
    TOKEN_PATTERN: "a token (vb_ and 32 URL-safe characters)",
}


def _describe(error: Any) -> str:
    """What a schema error says is wrong, from the schema alone: jsonschema's own
    message quotes the value, which may be any text of any file."""
    rule: str = error.validator
    want: Any = error.validator_value
    if rule == "type":
        kinds = want if isinstance(want, list) else [want]
        return "must be " + " or ".join(_TYPES.get(str(k), str(k)) for k in kinds)
    if rule == "const":
        return f"must be {want!r}"
    if rule == "enum":
        return "must be one of " + ", ".join(str(v) for v in want)
    if rule == "pattern":
        return "must be " + _PATTERNS.get(want, f"text matching {want}")
    if rule == "minimum":
        return f"must be at least {want}"
    if rule == "maximum":
        return f"must be at most {want}"
    if rule == "minLength":
        return "must not be empty" if want == 1 else f"must be at least {want} characters"
    if rule == "maxLength":
        return f"must be at most {want} characters"
    if rule == "required":
        missing = [f for f in want if f not in error.instance]
        return f"needs {', '.join(missing)}"
    if rule == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        named = [k for k in extra if isinstance(k, str) and k in _FORMAT_NAMES]
        what = f"the field {named[0]}, which does not belong here" if named else "a field"
        what += " the format does not have" if not named else ""
        return f"has {what}; it takes {', '.join(allowed)}"
    if rule == "oneOf" and error.schema is _PERMISSION:
        return f"must be one of {', '.join(sorted(PERMISSIONS))}, or an integer of at least 0"
    return f"breaks the format's {rule} rule"


def _place(path: list[Any], text: str | None, key: Any = None) -> str:
    """``at customers/0/id``, with the line and column where the file has it (found
    again only for a refused file, so a good file is read once); ``key``: of the
    mapping at ``path``, the key to point at, not shown."""
    where = "/".join(str(p) for p in path) or "(top)"
    mark = _mark_at(text, path, key) if text is not None else None
    if mark is None:
        return f"at {where}"
    return f"at {where} (line {mark.line + 1}, column {mark.column + 1})"


def _mark_at(text: str, path: list[Any], key: Any = None) -> Any:
    """The start of the node at ``path`` in the YAML ``text``, or of its key ``key``
    (None if not found)."""
    try:
        node = yaml.compose(text, Loader=_BASE_LOADER)
    except yaml.YAMLError:
        return None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if getattr(k, "value", None) == str(step)]
            if not found:
                return None
            node = found[-1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                return None
            node = node.value[step]
        else:
            return None
    if key is not None and isinstance(node, yaml.MappingNode):
        keys = [k for k, _ in node.value if getattr(k, "value", None) == str(key)]
        return keys[0].start_mark if keys else node.start_mark
    return None if node is None else node.start_mark


def parse_fixtures(doc: Any, source: str = "<data>", text: str | None = None) -> FixtureSet:
    """Fixture data from an already-parsed YAML/JSON document (``text``: the file it
    came from, for the line and column of a refusal)."""
    problems = _problems(doc)
    if problems:
        first = problems[0]
        extra = None
        if first.validator == "additionalProperties" and isinstance(first.instance, dict):
            allowed = first.schema.get("properties", {})
            extra = next((k for k in first.instance if k not in allowed), None)
        place = _place(list(first.absolute_path), text, extra)
        raise FixtureError(f"{source}: {place}: {_describe(first)}")
    customers = []
    for i, c in enumerate(doc.get("customers", [])):
        keys = tuple(FixtureKey(**k) for k in c.get("keys", []))
        users = tuple(
            FixtureUser(
                username=u["username"],
                password=u["password"],
                permission=_permission(u["permission"]),
                name=u.get("name", ""),
                id=u.get("id"),
                detail=u.get("detail", ""),
                ring_method=u.get("ring_method", agents.DEFAULT_RING_METHOD),
                status=u.get("status", agents.DEFAULT_STATUS),
                tag_ids=tuple(u.get("tag_ids", ())),
                addresses=tuple(
                    tuple((f, a[f]) for f in agents.ADDRESS_FIELDS if a.get(f))
                    for a in u.get("addresses", ())
                ),
                # Hashed here, once per file read: a reset only copies the hash.
                password_hash=agents.hash_password(u["password"], u["username"]),
            )
            for u in c.get("users", [])
        )
        customers.append(
            FixtureCustomer(
                id=c.get("id"),
                fields=_customer_fields(c, f"{source}: at customers/{i}"),
                keys=keys,
                users=users,
                created_ago=c.get("created_ago"),
            )
        )
    _check_unique(customers, source)
    return FixtureSet(customers=tuple(customers), source=source)


def _customer_fields(c: dict[str, Any], where: str) -> tuple[tuple[str, Any], ...]:
    """The customer fields a file's customer sets, by attribute name (the id aside):
    each one the file gives, ``frozen`` and ``status`` always. Either says the other
    (``status: frozen`` is frozen; frozen without a status is ``frozen``, else
    ``active``); a file that gives both must have them agree."""
    out = {}
    for f in _FIXTURE_FIELDS:
        value = value_at(c, f.path)
        if value is not ABSENT and f.kind != "id":
            out[f.name] = value
    status = out.get("status")
    frozen = bool(out.get("frozen", status == "frozen"))
    if status is not None and frozen != (status == "frozen"):
        raise FixtureError(f"{where}: frozen: {str(frozen).lower()} contradicts status {status}")
    out["frozen"] = frozen
    out["status"] = status or ("frozen" if frozen else "active")
    return tuple((f.name, out[f.name]) for f in _FIXTURE_FIELDS if f.name in out)


def _permission(value: str | int) -> int:
    return PERMISSIONS[value] if isinstance(value, str) else value


def _check_unique(customers: list[FixtureCustomer], source: str) -> None:
    """No id, token or username given twice; the message names both places."""
    seen: dict[tuple[str, str], str] = {}
    for i, c in enumerate(customers):
        for label, value, where in (
            [("customer id", c.id, f"customers/{i}/id")]
            + [("key id", k.id, f"customers/{i}/keys/{j}/id") for j, k in enumerate(c.keys)]
            + [("token", k.token, f"customers/{i}/keys/{j}/token") for j, k in enumerate(c.keys)]
            + [
                ("username", u.username, f"customers/{i}/users/{j}/username")
                for j, u in enumerate(c.users)
            ]
        ):
            if value is None:
                continue
            earlier = seen.setdefault((label, value), where)
            if earlier != where:
                raise FixtureError(f"{source}: at {where}: the same {label} as {earlier}")


def load_fixtures(path: str | Path | None = None) -> FixtureSet:
    """Read a fixture file; the default set when ``path`` is None."""
    file = Path(path) if path is not None else default_fixtures_path()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise FixtureError(f"cannot read fixtures {file}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FixtureError(
            f"{file}: not UTF-8 text: byte {exc.start + 1} (line {line}, column {column}) "
            "is not UTF-8; save the file as UTF-8"
        ) from None
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise FixtureError(f"{file}: {_yaml_problem(exc)}") from None
    if doc is None:
        raise FixtureError(
            f"{file}: the file is empty (no YAML document); a fixture file holds at least "
            "'customers:' (see fixtures/default.yaml)"
        )
    return parse_fixtures(doc, str(file), text)


#: What a YAML error may say: PyYAML's problems are fixed phrases, but some quote the
#: text they met ("found unknown escape character 'q'"), so only the phrase is kept.
_QUOTED = re.compile(r"""\s*(?:'(?!<)[^']*'|"[^"]*")""")


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: where (line and column, from 1) and what, never the
    file's text (PyYAML's messages can show the line they fail on)."""
    if isinstance(exc, _DuplicateKey):
        key = exc.key if isinstance(exc.key, str) and exc.key in _FORMAT_NAMES else None
        what = f"the key '{key}'" if key else "a key"
        return (
            f"not valid YAML at line {exc.again.line + 1}, column {exc.again.column + 1}: "
            f"{what} given twice in one mapping (first at line {exc.first.line + 1})"
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "a YAML error"
    problem = " ".join(_QUOTED.sub("", str(problem)).split())
    if mark is None:
        return f"not valid YAML: {problem}"
    return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
