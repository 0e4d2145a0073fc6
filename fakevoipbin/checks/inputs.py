"""Reading a request as production's Go server reads it: the query, cookies, a Go integer,
the JSON body (``core/jsonbody.py``'s parser, which the journal shares) and its binding
into a struct. Pure parsing, below every face: the
fake's pipeline and the proxy both read requests with these (through
``checks/request.py``)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from ..core.jsonbody import BodyError, parse_json_body

__all__ = [
    "BodyError",
    "bind_object",
    "parse_cookies",
    "parse_go_int",
    "parse_json_body",
    "parse_query",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
_INT = re.compile(r"^[+-]?[0-9]+$")


def parse_query(raw: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if raw:
        text = raw.decode("latin-1")
        for k, v in parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"):
            out.setdefault(k, []).append(v)
    return out


def parse_cookies(header: str) -> dict[str, str]:
    """Name → the first value, as Go's ``c.Cookie`` picks it."""
    out: dict[str, str] = {}
    if not header:
        return out
    for chunk in header.split(";"):
        name, sep, value = chunk.strip().partition("=")
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out.setdefault(name, value)
    return out


def parse_go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): None when it would fail."""
    if not _INT.match(text) or len(text.lstrip("+-").lstrip("0")) > 19:
        return None  # (and no 5000-digit int() for Python to refuse)
    value = int(text)
    if not -(2**63) <= value < 2**63:
        return None
    return value


@lru_cache(maxsize=64)
def _lowered(fields: tuple[str, ...]) -> dict[str, str]:
    return {f.lower(): f for f in fields}


def bind_object(value: Any, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """Go's binding of a JSON value into a struct: None when it is not an object.

    ``null`` binds as an empty object, a ``null`` field counts as missing, a key
    matches a field case-insensitively (an exact match is preferred), and unknown keys
    are dropped, as production ignores them."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():  # a JSON object's keys are strings
        if key in fields:
            target = key
        else:
            target = _lowered(fields).get(key.lower(), "")
            if not target:
                continue
        if item is None:
            out.pop(target, None)
            continue
        if isinstance(item, str) and not item.isascii() and target in fields:
            item = _SURROGATE.sub("\ufffd", item)
        out[target] = item
    return out
