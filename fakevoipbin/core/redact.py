"""Credentials and secrets out of everything the fake writes down: paths, queries,
headers and request bodies."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote

REDACTED = "[REDACTED]"
SECRET_PARAMS = frozenset({"accesskey", "token"})
_TOKENISH = re.compile(r"(vb_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+")


def redact_text(text: str) -> str:
    """Any access-key token shrinks to its prefix; any JWT goes entirely."""
    return _TOKENISH.sub(lambda m: (m.group(1) + "…") if m.group(1) else REDACTED, text)


def redact_query(raw: bytes) -> str:
    if not raw:
        return ""
    text = raw.decode("latin-1")
    if "%" not in text and "+" not in text:  # nothing encoded: no need to parse
        out = []
        for part in text.split("&"):
            name, eq, value = part.partition("=")
            if name in SECRET_PARAMS and value:
                out.append(f"{name}={REDACTED}")
            elif "vb_" in part or "eyJ" in part:
                out.append(redact_text(part))
            else:
                out.append(part)
        return "&".join(p for p in out if p)
    parts = []
    for k, v in parse_qsl(text, keep_blank_values=True, errors="replace"):
        value = REDACTED if k in SECRET_PARAMS and v else redact_text(v)
        parts.append(f"{quote(k, safe='')}={quote(value, safe='[]…')}")
    return "&".join(parts)


def redact_target(path: str, raw_query: bytes) -> str:
    """The request target as the journal and the access log show it."""
    query = redact_query(raw_query)
    return redact_text(path) + (f"?{query}" if query else "")


#: Body fields whose values are never written down (at any depth).
SECRET_FIELDS = frozenset({"token", "accesskey", "password", "webhook_secret"})
_SECRET_PAIR = re.compile(
    r"""("?(?:token|accesskey|password|webhook_secret)"?\s*[:=]\s*"?)([^"&,\s}]*)""",
    re.IGNORECASE,
)


def redact_json(value: Any) -> Any:
    """A parsed JSON body with every secret field's value ``[REDACTED]`` and any token
    left in another string shrunk to its prefix."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_FIELDS else redact_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_body_text(text: str) -> str:
    """A body that is not JSON (or was cut): ``name=value`` and ``"name": "value"``
    pairs of the secret fields lose their value, and tokens shrink to a prefix."""
    return redact_text(_SECRET_PAIR.sub(lambda m: m.group(1) + REDACTED, text))
