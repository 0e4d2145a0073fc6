"""Bytes on the wire: JSON as production's Go server writes it, and the error envelope."""

from __future__ import annotations

import json
from typing import Any

from ..core.errors import ErrorKind

JSON_TYPE = b"application/json; charset=utf-8"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def encode_json(obj: Any) -> bytes:
    """Compact JSON, no trailing newline, HTML characters escaped as Go does."""
    text = _dumps(obj)
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_GO_ESCAPES)
    return text.encode("utf-8")


def envelope(
    kind: ErrorKind, request_id: str, details: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The error envelope, keys in alphabetical order as production's Go map prints them."""
    inner: dict[str, Any] = {}
    if details:
        inner["details"] = details
    inner["message"] = kind.message
    inner["reason"] = kind.reason
    inner["request_id"] = request_id
    inner["status"] = kind.status
    return {"error": inner}
