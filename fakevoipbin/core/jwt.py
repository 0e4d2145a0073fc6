"""HS256 JSON Web Tokens, as ``POST /auth/login`` issues them.

Production's tokens carry ``type``, ``agent`` and ``expire`` (a fixed-layout
UTC time compared as a string); there is no ``exp`` claim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

_HEADER = {"alg": "HS256", "typ": "JWT"}


class JWTError(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JWTError("bad base64") from exc


def encode(claims: dict[str, Any], secret: bytes) -> str:
    head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def decode(token: str, secret: bytes) -> dict[str, Any]:
    """The claims of a token signed with ``secret``; JWTError for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        raise JWTError("not a JWT")
    head_b, body_b, sig_b = parts
    try:
        header = json.loads(_unb64(head_b))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise JWTError("bad header") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise JWTError("unsupported algorithm")
    expected = hmac.new(secret, f"{head_b}.{body_b}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(sig_b)):
        raise JWTError("bad signature")
    try:
        claims = json.loads(_unb64(body_b))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise JWTError("bad claims") from exc
    if not isinstance(claims, dict):
        raise JWTError("claims are not an object")
    return claims
