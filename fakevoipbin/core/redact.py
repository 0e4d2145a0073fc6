"""Credentials and secrets out of everything the fake writes down: paths, queries,
headers and request bodies."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote

from .formats import TOKEN_ALPHABET, TOKEN_LEAD, TOKEN_PREFIX_LEN

REDACTED = "[REDACTED]"
SECRET_PARAMS = frozenset({"accesskey", "token"})
#: A token (its prefix kept, as group 1) or a JWT.
_TOKENISH = re.compile(
    f"({TOKEN_LEAD}[{TOKEN_ALPHABET}]{{{TOKEN_PREFIX_LEN - len(TOKEN_LEAD)}}})[{TOKEN_ALPHABET}]+"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+"
)


def redact_text(text: str) -> str:
    """Any access-key token shrinks to its prefix; any JWT goes entirely."""
    return _TOKENISH.sub(lambda m: (m.group(1) + "…") if m.group(1) else REDACTED, text)


def redact_query(raw: bytes) -> str:
    """A query string with each credential's value ``[REDACTED]`` and tokens in other
    values cut to their prefix; every other byte as sent (percent-encoded where it was
    decoded)."""
    if not raw:
        return ""
    text = raw.decode("latin-1")
    if "%" not in text and "+" not in text:  # nothing encoded: no need to parse
        out = []
        for part in text.split("&"):
            name, eq, value = part.partition("=")
            if name in SECRET_PARAMS and value:
                out.append(f"{name}={REDACTED}")
            elif TOKEN_LEAD in part or "eyJ" in part:
                out.append(redact_text(part))
            else:
                out.append(part)
        return "&".join(p for p in out if p)
    # Bytes that are not UTF-8 are kept as sent: decoded to lone surrogates and encoded
    # back to the same bytes, so ``%FF`` stays ``%FF`` (never ``%EF%BF%BD``).
    parts = []
    for k, v in parse_qsl(text, keep_blank_values=True, errors="surrogateescape"):
        value = REDACTED if k in SECRET_PARAMS and v else redact_text(v)
        name = quote(k, safe="", errors="surrogateescape")
        parts.append(f"{name}={quote(value, safe='[]…', errors='surrogateescape')}")
    return "&".join(parts)


def redact_target(path: str, raw_query: bytes) -> str:
    """The request target as the journal and the access log show it."""
    query = redact_query(raw_query)
    return redact_text(path) + (f"?{query}" if query else "")


#: Body fields whose values are never written down (at any depth, in any case: Go's
#: JSON decoding matches a field's name whatever its case).
SECRET_FIELDS = frozenset({"token", "accesskey", "password", "webhook_secret"})
#: How deep a body's objects and arrays may nest before it is shown as text.
MAX_DEPTH = 64
_NAMES = "(?:token|accesskey|password|webhook_secret)"
# ``name": value`` (JSON, or text like YAML): a quoted value to its closing quote,
# escapes included (or to the end of a cut body); an unquoted one to the line's end,
# a comma or a closing bracket.
_COLON_PAIR = re.compile(
    _NAMES + r"""("?\s*:\s*)("(?:[^"\\]|\\.)*(?:"|\\?\Z)|[^,}\]\r\n]*)""",
    re.IGNORECASE | re.DOTALL,
)
# ``name=value`` (a form, a query): the value to the next ``&`` or the line's end.
_EQUALS_PAIR = re.compile(_NAMES + r"(\s*=\s*)([^&\r\n]*)", re.IGNORECASE)


class TooDeep(ValueError):
    """A body nested deeper than ``MAX_DEPTH``."""


def redact_json(value: Any, depth: int = 0) -> Any:
    """A parsed JSON body with every secret field's value ``[REDACTED]`` and any token
    left in another string shrunk to its prefix. A lone surrogate (a ``"\\ud800"``
    escape, in a key or a value) becomes U+FFFD, as Go's decoder reads it, so every
    string can be written as UTF-8. Raises ``TooDeep`` past ``MAX_DEPTH``."""
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise TooDeep("the body nests too deep")
        return {
            (k if k.isascii() else whole_text(k)): (
                REDACTED if k.lower() in SECRET_FIELDS else redact_json(v, depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise TooDeep("the body nests too deep")
        return [redact_json(v, depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value if value.isascii() else whole_text(value))
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def whole_text(text: str) -> str:
    """``text`` with each lone surrogate U+FFFD (JSON's ``\\ud800`` escapes give them;
    UTF-8 cannot carry them)."""
    return _SURROGATE.sub("\ufffd", text)


def redact_body_text(text: str) -> str:
    """A body that is not JSON (or was cut), best effort: the value of each secret
    field written ``"name": "value"`` (JSON; a quoted value whole, escapes and spaces
    included) or ``name=value`` (a form) becomes ``[REDACTED]``, whatever the name's
    case; then tokens shrink to a prefix and JWTs go."""
    text = _COLON_PAIR.sub(_redact_colon, text)
    text = _EQUALS_PAIR.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + REDACTED, text)
    return redact_text(text)


def _redact_colon(m: re.Match[str]) -> str:
    head = m.group(0)[: m.start(2) - m.start(0)]
    return head + (f'"{REDACTED}"' if m.group(2).startswith('"') else REDACTED)
