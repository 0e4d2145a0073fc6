"""A JSON request body read as production's Go decoder reads it: one parser for the
API and the journal, so the journal shows what the API read.

``parse_json_body`` takes the first JSON value of the body and ignores any bytes after
it; invalid UTF-8 reads as U+FFFD; a byte-order mark is not whitespace, so a body that
starts with one is not JSON (no other encoding is guessed); ``NaN`` and
``Infinity`` are not JSON; nesting up to Go's 10,000 levels is taken. The API reads
numbers as Python does (``1e309`` is a float, infinity); the journal asks for
``keep_text=True``: a number no double holds stays its text, a string, so the journal
can write back the digits the client sent (an integer stays whole either way).
"""

from __future__ import annotations

import json
import math
import sys
import threading
from typing import Any


class BodyError(ValueError):
    """The body is not one JSON value production's decoder would take."""


def _reject(name: str) -> Any:
    raise BodyError(f"{name} is not JSON")


def _finite_or_text(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


# Made once (json.loads with hooks would make a decoder per body).
_AS_READ = json.JSONDecoder(parse_constant=_reject)
_WITH_TEXT = json.JSONDecoder(parse_float=_finite_or_text, parse_constant=_reject)


def parse_json_body(raw: bytes, *, keep_text: bool = False) -> Any:
    """The first JSON value in the body; bytes after it are ignored, as production does.
    Invalid UTF-8 becomes U+FFFD and lone surrogates too (``bind_object`` replaces
    them in the fields it binds), as Go's decoder does. ``keep_text``: a number no
    double holds is its text (the journal's view) rather than an infinite float.
    Raises ``BodyError`` for anything production's decoder refuses."""
    decoder = _WITH_TEXT if keep_text else _AS_READ
    text = raw.decode("utf-8", "replace").lstrip(" \t\r\n")
    if not text:
        raise BodyError("empty body")
    try:
        value, _end = decoder.raw_decode(text)
    except BodyError:
        raise
    except RecursionError:
        value = _parse_deep(text, decoder)
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


def _parse_deep(text: str, decoder: json.JSONDecoder) -> Any:
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
                result["value"] = decoder.raw_decode(text)[0]
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
        error = result["error"]
        if isinstance(error, BodyError):
            raise error
        raise BodyError(str(error)[:200])
    return result["value"]


_DEEP_LOCK = threading.RLock()
