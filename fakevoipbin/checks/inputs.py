"""Reading a request as production's Go server reads it: the query, cookies, a Go integer,
the JSON body and its binding into a struct. Pure parsing, below every face: the
fake's pipeline and the proxy both read requests with these (through
``checks/request.py``)."""

from __future__ import annotations

import json
import re
import sys
import threading
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

_decoder = json.JSONDecoder(parse_constant=lambda name: _reject(name))
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT = re.compile(r"^[+-]?[0-9]+$")


class BodyError(ValueError):
    """The body is not one JSON value production's decoder would take."""


def _reject(name: str) -> Any:
    raise BodyError(f"{name} is not JSON")


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


def parse_json_body(raw: bytes) -> Any:
    """The first JSON value in the body; bytes after it are ignored, as production does.
    Invalid UTF-8 becomes U+FFFD and lone surrogates too, as Go's decoder does."""
    text = raw.decode("utf-8", "replace").lstrip(" \t\r\n")
    if not text:
        raise BodyError("empty body")
    try:
        value, _end = _decoder.raw_decode(text)
    except BodyError:
        raise
    except RecursionError:
        value = _parse_deep(text)
    except ValueError as exc:
        raise BodyError(str(exc)[:200]) from None
    return value


#: Go's encoding/json refuses nesting deeper than this, and takes anything up to it.
GO_MAX_DEPTH = 10_000


def nesting_depth(text: str) -> int:
    """The deepest nesting of the first JSON value (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
            if depth <= 0:
                break
    return deepest


def _parse_deep(text: str) -> Any:
    """Python's parser stops near 1,000 levels; production's at 10,000. Between the
    two, parse on a thread with a large stack and a raised recursion limit."""
    if nesting_depth(text) > GO_MAX_DEPTH:
        raise BodyError(f"the body is nested deeper than {GO_MAX_DEPTH} levels")
    result: dict[str, Any] = {}

    def work() -> None:
        with _DEEP_LOCK:
            old = sys.getrecursionlimit()
            sys.setrecursionlimit(max(old, 4 * GO_MAX_DEPTH))
            try:
                result["value"] = _decoder.raw_decode(text)[0]
            except (ValueError, RecursionError) as exc:
                result["error"] = exc
            finally:
                sys.setrecursionlimit(old)

    with _DEEP_LOCK:
        previous = threading.stack_size(256 << 20)
        try:
            worker = threading.Thread(target=work, name="fakevoipbin-deep-json")
        finally:
            threading.stack_size(previous)
    worker.start()
    worker.join()
    if "error" in result:
        raise BodyError(str(result["error"])[:200])
    return result["value"]


_DEEP_LOCK = threading.RLock()


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
