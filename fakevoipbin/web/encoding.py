"""Bytes on the wire: JSON as production's Go server writes it, and the error envelope."""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring
from typing import Any

from ..core.errors import ErrorKind

JSON_TYPE = b"application/json; charset=utf-8"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


_GO_UNSAFE = re.compile("[<>&\u2028\u2029]")


def encode_json(obj: Any) -> bytes:
    """Compact JSON, no trailing newline, HTML characters escaped as Go does."""
    text = _dumps(obj)
    if _GO_UNSAFE.search(text):
        text = text.translate(_GO_ESCAPES)
    return text.encode("utf-8")


def encode_flat(obj: dict[str, Any]) -> bytes:
    """``encode_json`` of an object whose values are all strings or null (an access
    key), byte for byte, without the general encoder's set-up; any other object goes
    to ``encode_json``."""
    enc = encode_basestring
    try:
        text = ",".join([f"{enc(k)}:{'null' if v is None else enc(v)}" for k, v in obj.items()])
    except TypeError:  # a value that is not a string: the general encoder
        return encode_json(obj)
    text = "{" + text + "}"
    if _GO_UNSAFE.search(text):
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
