"""Fixture files (YAML) into fixture data; see fixtures/default.yaml for the format."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .compiled import Check, Compiler, Unsupported
from .core import agents
from .core.customer_fields import ABSENT, nested_properties, value_at
from .core.fixtureset import (
    PERMISSIONS,
    FixtureCustomer,
    FixtureKey,
    FixtureSet,
    FixtureUser,
)
from .core.formats import TOKEN_PATTERN, UUID_PATTERN, token_prefix
from .core.store import CUSTOMER_FIELDS
from .resources import default_fixtures_path

#: libyaml's safe loader when PyYAML has it (several times faster), else PyYAML's own.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_UUID = UUID_PATTERN
#: The customer fields a fixture file may set (``store.Customer`` marks them).
_FIXTURE_FIELDS = tuple(f for f in CUSTOMER_FIELDS if f.fixture)
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
                                "expire": {"type": "integer", "minimum": 1},
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
                                "permission": {
                                    "oneOf": [
                                        {"enum": sorted(PERMISSIONS)},
                                        {"type": "integer", "minimum": 0},
                                    ]
                                },
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


class FixtureError(ValueError):
    """A fixture file that cannot be loaded, with the reason."""


def parse_fixtures(doc: Any, source: str = "<data>") -> FixtureSet:
    """Fixture data from an already-parsed YAML/JSON document."""
    problems = _problems(doc)
    if problems:
        first = problems[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        raise FixtureError(f"{source}: at {where}: {first.message}")
    customers = []
    for c in doc.get("customers", []):
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
                fields=_customer_fields(c, source),
                keys=keys,
                users=users,
                created_ago=c.get("created_ago"),
            )
        )
    _check_unique(customers, source)
    return FixtureSet(customers=tuple(customers), source=source)


def _customer_fields(c: dict[str, Any], source: str) -> tuple[tuple[str, Any], ...]:
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
        where = c.get("id") or c.get("name") or "a customer"
        raise FixtureError(
            f"{source}: {where}: frozen: {str(frozen).lower()} contradicts status {status}"
        )
    out["frozen"] = frozen
    out["status"] = status or ("frozen" if frozen else "active")
    return tuple((f.name, out[f.name]) for f in _FIXTURE_FIELDS if f.name in out)


def _permission(value: str | int) -> int:
    return PERMISSIONS[value] if isinstance(value, str) else value


def _check_unique(customers: list[FixtureCustomer], source: str) -> None:
    seen: set[tuple[str, str]] = set()
    for c in customers:
        for label, value in (
            [("customer id", c.id)]
            + [("key id", k.id) for k in c.keys]
            + [("token", k.token) for k in c.keys]
            + [("username", u.username) for u in c.users]
        ):
            if value is None:
                continue
            if (label, value) in seen:
                shown = token_prefix(value) + "…" if label == "token" else value
                raise FixtureError(f"{source}: {label} {shown} appears twice")
            seen.add((label, value))


def load_fixtures(path: str | Path | None = None) -> FixtureSet:
    """Read a fixture file; the default set when ``path`` is None."""
    file = Path(path) if path is not None else default_fixtures_path()
    try:
        doc = yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        raise FixtureError(f"cannot read fixtures {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise FixtureError(f"{file}: {_yaml_problem(exc)}") from None
    return parse_fixtures(doc, str(file))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: where (line and column, from 1) and what."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    problem = " ".join(str(problem).split())
    if mark is None:
        return f"not valid YAML: {problem}"
    return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
