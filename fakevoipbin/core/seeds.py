"""One seed, one independent random stream per purpose.

Each purpose (key ids, tokens, request ids, …) draws from its own stream, so a
health check that consumes request ids never shifts the ids and tokens of keys. The
API's request ids ("request-ids") are the seed's and the API requests' alone: the
control API, ``/ping`` and the spec file draw theirs from "side-request-ids", so a
test reads the same X-Request-Ids in-process and attached (where the journal is read
over HTTP).

A draw is one call of a ``random.Random`` method, which is atomic (a single C call,
under the GIL, or under the object's own lock on a free-threaded build), so draws
take no lock of ours.
"""

from __future__ import annotations

import binascii
import random

from .formats import TOKEN_BODY_CHARS, TOKEN_LEAD

_B32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: A base64 character's 6-bit value v becomes base32's character for v mod 32.
_B64_TO_B32 = bytes.maketrans(_B64, bytes(_B32[i % 32] for i in range(64)))
_URLSAFE = bytes.maketrans(b"+/", b"-_")
#: A v4 UUID's version nibble (4) and variant bits (10), over 128 random bits.
_UUID4_KEEP = ~(0xF000 << 64) & ~(0xC000 << 48) & (2**128 - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)
PURPOSES = (
    "key-ids",
    "tokens",
    "request-ids",
    # the control API's, /ping's and the spec file's request ids: never the API's.
    "side-request-ids",
    "jwt-secret",
    "customers",
    "faults",
    # --record's fresh tokens: never a same-seed fake's own (an upstream fake's keys).
    "record-tokens",
)


class Seeds:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}
        self.restart()

    def restart(self) -> None:
        """Every stream back to its first draw (the streams are replaced at once)."""
        self._streams = {p: random.Random(f"fakevoipbin:{self.seed}:{p}") for p in PURPOSES}

    def stream(self, purpose: str) -> random.Random:
        return self._streams[purpose]

    def uuid4(self, purpose: str) -> str:
        """A version-4 UUID, canonical lowercase text (what uuid.UUID would print)."""
        bits = self._streams[purpose].getrandbits(128) & _UUID4_KEEP | _UUID4_SET
        h = bits.to_bytes(16, "big").hex()
        return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))

    def token(self, purpose: str = "tokens") -> str:
        """``vb_`` + 32 characters of unpadded URL-safe base64 of 32 random bytes."""
        raw = self._streams[purpose].getrandbits(256).to_bytes(32, "little")
        body = binascii.b2a_base64(raw, newline=False)[:TOKEN_BODY_CHARS].translate(_URLSAFE)
        return TOKEN_LEAD + body.decode()

    def request_id(self, purpose: str = "request-ids") -> str:
        """``req_`` + 26 characters of base32's alphabet (``A-Z2-7``), as production's
        ids look: each character is 5 of the 6 bits of one base64 character of 20
        random bytes, mapped in C (a table lookup per character is slower). The API's
        from "request-ids"; every other answer's from "side-request-ids"."""
        raw = self._streams[purpose].getrandbits(160).to_bytes(20, "little")
        return "req_" + binascii.b2a_base64(raw, newline=False)[:26].translate(_B64_TO_B32).decode()

    def secret(self) -> bytes:
        return self._streams["jwt-secret"].randbytes(32)
