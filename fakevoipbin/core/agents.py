"""Agents (production's login users, bin-agent-manager): how their passwords are kept,
their direct hash, and ``GET /v1.0/me``.

- A password is kept as production keeps it, as a salted hash, never in clear:
  PBKDF2-HMAC-SHA256 (``pbkdf2_sha256$<iterations>$<salt>$<hash>``, base64) with a
  salt of the agent's own. The fixture passwords are hashed once, when the fixture
  file is parsed (``fakevoipbin.fixtures``), so a reset copies hashes and costs no
  hashing; the cost is modest on purpose (this is a fake: the hash keeps a dump free
  of passwords, it does not have to resist a cracker).
- ``direct_id`` and ``direct_hash`` (production's bin-direct-manager record:
  ``direct.`` and 12 hex digits) are drawn from the seed and the agent id, so a dump
  need not carry them and a restart gives the same ones.
- ``GET /v1.0/me`` answers only agent JWTs, with the agent read fresh from the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache
from typing import Protocol

from . import errors
from .store import Store, User


class Caller(Protocol):
    """What ``get_me`` reads of an ``auth.Identity`` (which imports this module)."""

    @property
    def kind(self) -> str: ...
    @property
    def agent_id(self) -> str: ...


#: Production's defaults for a new agent (bin-agent-manager's agenthandler.dbCreate).
DEFAULT_RING_METHOD = "ringall"
DEFAULT_STATUS = "offline"
RING_METHODS = ("ringall", "linear")
STATUSES = ("", "available", "away", "busy", "offline", "ringing")
#: The fields of one of an agent's addresses, in production's order (each omitted when
#: empty: bin-common-handler's address model).
ADDRESS_FIELDS = ("type", "target", "target_name", "name", "detail")

_SCHEME = "pbkdf2_sha256"
#: Modest on purpose: a fixture file of a few users hashes in a few milliseconds.
ITERATIONS = 1000


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def salt_for(username: str) -> bytes:
    """The agent's own salt, from its username: the same fixture file always gives the
    same hash (same state, same dump bytes), and no two agents share one."""
    return hashlib.sha256(b"fakevoipbin:password-salt:" + username.encode("utf-8")).digest()[:16]


@lru_cache(maxsize=256)
def hash_password(password: str, username: str) -> str:
    """The stored form of a password. A pure function, so each fixture user is hashed
    once per process however often its file is read."""
    salt = salt_for(username)
    digest = hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8", "surrogatepass"), salt, ITERATIONS
    )
    return f"{_SCHEME}${ITERATIONS}${_b64(salt)}${_b64(digest)}"


def is_password_hash(text: str) -> bool:
    return _parse(text) is not None


def _parse(text: str) -> tuple[int, bytes, bytes] | None:
    parts = text.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME or not parts[1].isdigit():
        return None
    iterations = int(parts[1])
    if not 1 <= iterations <= 100_000:
        return None
    try:
        salt, digest = _unb64(parts[2]), _unb64(parts[3])
    except (binascii.Error, ValueError):
        return None
    if not salt or len(digest) != 32:
        return None
    return iterations, salt, digest


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (in constant time)."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    iterations, salt, digest = parsed
    given = hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8", "surrogatepass"), salt, iterations
    )
    return hmac.compare_digest(given, digest)


def direct_for(seed: int, agent_id: str) -> tuple[str, str]:
    """(direct_id, direct_hash) of an agent: a v4 UUID and ``direct.`` + 12 hex digits
    (production draws 6 random bytes), both from the seed and the agent id."""
    raw = hashlib.sha256(f"fakevoipbin:{seed}:direct:{agent_id}".encode()).digest()
    h = bytearray(raw[:16])
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    direct_id = "-".join((x[:8], x[8:12], x[12:16], x[16:20], x[20:]))
    return direct_id, "direct." + raw[16:22].hex()


def get_me(store: Store, identity: Caller) -> User:
    """``GET /v1.0/me``: the caller's own agent, read fresh from the store. Only an
    agent JWT gets one (403 AGENT_AUTH_REQUIRED for an access key, a delegate or a
    direct token); no permission bit is needed to read oneself; an agent that is no
    longer there is 404 AGENT_NOT_FOUND."""
    if identity.kind != "agent":
        raise errors.ApiError(errors.AGENT_AUTH_REQUIRED)
    agent = store.users_by_id.get(identity.agent_id)
    if agent is None:
        raise errors.ApiError(errors.AGENT_NOT_FOUND)
    return agent
