"""Who is calling: credentials in production's order, access keys, login (agent), delegate
and direct JWTs, frozen accounts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from . import errors
from .agents import check_password
from .clock import US, format_fixed
from .formats import NIL_UUID, TOKEN_LEAD, UUID_RE
from .store import (
    PERMISSION_CUSTOMER_ADMIN,
    PERMISSION_PROJECT_SUPER_ADMIN,
    token_hash,
)
from .views import agent_claim

if TYPE_CHECKING:
    from .state import State

LOGIN_LIFETIME_S = 7 * 86_400
DELEGATE_LIFETIME_S = 8 * 3_600
DELEGATE_AUDIENCE = "voipbin-api"
FROZEN_GRACE_S = 30 * 86_400


@dataclass(slots=True)
class Credentials:
    """The five places production reads a credential from, raw."""

    token_cookie: str | None = None
    token_query: str | None = None
    authorization: str | None = None
    accesskey_cookie: str | None = None
    accesskey_query: str | None = None


_ADMIN_BITS = PERMISSION_CUSTOMER_ADMIN | PERMISSION_PROJECT_SUPER_ADMIN


class Identity(NamedTuple):
    """Who is calling (immutable; a tuple, as one is made per request)."""

    kind: str  # "accesskey", "agent", "delegate" or "direct"
    customer_id: str
    permission: int
    #: token_prefix of the authenticating key, or the agent's username: never a secret.
    label: str = ""
    #: The agent's id, as its JWT names it ("" for any other kind).
    agent_id: str = ""

    @property
    def note(self) -> str:
        """How the journal names the caller: kind and label, never a secret."""
        return f"{self.kind} {self.label}" if self.label else self.kind

    @property
    def is_admin(self) -> bool:
        return bool(self.permission & _ADMIN_BITS)

    @property
    def is_super_admin(self) -> bool:
        return bool(self.permission & PERMISSION_PROJECT_SUPER_ADMIN)


def bearer_value(authorization: str | None) -> str:
    """Production splits the header on ``"Bearer "`` and takes the second piece."""
    if not authorization:
        return ""
    parts = authorization.split("Bearer ")
    return parts[1] if len(parts) >= 2 else ""


def pick_credential(creds: Credentials) -> tuple[str, str, str] | None:
    """(kind, source, value) of the first non-empty credential, in production's order:
    cookie ``token``, query ``token``, ``Authorization: Bearer``, cookie ``accesskey``,
    query ``accesskey``. The first three are always read as a JWT."""
    if creds.token_cookie:
        return "token", "cookie", creds.token_cookie
    if creds.token_query:
        return "token", "query", creds.token_query
    bearer = bearer_value(creds.authorization)
    if bearer:
        return "token", "bearer", bearer
    if creds.accesskey_cookie:
        return "accesskey", "cookie", creds.accesskey_cookie
    if creds.accesskey_query:
        return "accesskey", "query", creds.accesskey_query
    return None


class AuthFailure(errors.ApiError):
    """A 401, with the reason kept for the journal (never the credential itself)."""

    def __init__(self, kind: errors.ErrorKind, why: str) -> None:
        super().__init__(kind)
        self.why = why


def identify(state: State, creds: Credentials) -> Identity:
    """Who the credential names (401 when nobody). The frozen check is a stage of its
    own (``refuse_frozen``), after the per-customer rate limit, as in production."""
    picked = pick_credential(creds)
    if picked is None:
        raise AuthFailure(errors.AUTHENTICATION_REQUIRED, "no credential")
    kind, source, value = picked
    # No lock: a key is an immutable record, found with one dict lookup.
    if kind == "accesskey" or (
        source == "bearer"
        and state.profile.bearer_accepts_accesskey
        and value.startswith(TOKEN_LEAD)
    ):
        return _accesskey_identity(state, value)
    return _jwt_identity(state, value)


def _accesskey_identity(state: State, raw: str) -> Identity:
    key = state.store.by_hash.get(_hash_of(raw))
    if key is None or key.tm_delete is not None:
        raise AuthFailure(errors.INVALID_CREDENTIALS, "unknown or deleted access key")
    if key.tm_expire is not None and key.tm_expire < state.clock.now_us():
        raise AuthFailure(errors.INVALID_CREDENTIALS, f"access key {key.token_prefix} expired")
    return Identity("accesskey", key.customer_id, PERMISSION_CUSTOMER_ADMIN, key.token_prefix)


#: Clients send the same few tokens again and again: hash each once (a pure function).
_hash_of = lru_cache(maxsize=1024)(token_hash)


# PyJWT is imported on first use: it brings in cryptography, which would slow down
# every start for the few tests that log in.


def encode_jwt(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWT, as production's login issues them: ``type``, ``agent`` (or
    ``direct``) and ``expire`` as text, compared as a string; no ``exp`` claim."""
    import jwt

    return jwt.encode(claims, secret, algorithm="HS256")


def decode_jwt(token: str, secret: bytes) -> dict[str, Any]:
    """The claims of a token signed with ``secret``; ``jwt.InvalidTokenError`` (or a
    ValueError) for anything else. Expiry is production's ``expire`` claim, checked
    by the caller, so PyJWT's own ``exp`` check is not asked for."""
    import jwt

    try:
        # ``aud`` is checked by the caller, for delegate tokens only, as production does.
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options={"verify_aud": False}
        )
    except RecursionError:  # a header nested past the parser's depth
        raise jwt.DecodeError("the token's header is nested too deeply") from None
    return claims


def _jwt_identity(state: State, token: str) -> Identity:
    import jwt

    try:
        claims = decode_jwt(token, state.secret)
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise AuthFailure(errors.INVALID_CREDENTIALS, f"bad token: {exc}") from None
    expire = claims.get("expire")
    if not isinstance(expire, str) or expire < format_fixed(state.clock.now_us()):
        raise AuthFailure(errors.INVALID_CREDENTIALS, "token expired")
    kind = claims.get("type")
    kind = kind if isinstance(kind, str) else ""
    if kind == "direct":
        scope = claims.get("direct")
        cid = scope.get("customer_id") if isinstance(scope, dict) else None
        if not isinstance(cid, str):
            raise AuthFailure(errors.INVALID_CREDENTIALS, "direct token without scope")
        return Identity("direct", cid, 0, "direct")
    if kind == "delegate":
        # A super admin's delegate token: customer-admin rights on one customer.
        cid = claims.get("customer_id")
        if claims.get("aud") != DELEGATE_AUDIENCE:
            raise AuthFailure(errors.INVALID_CREDENTIALS, "delegate token for another audience")
        if not isinstance(cid, str) or not UUID_RE.match(cid):
            raise AuthFailure(errors.INVALID_CREDENTIALS, "delegate token without customer_id")
        return Identity("delegate", cid, PERMISSION_CUSTOMER_ADMIN, "delegate")
    if kind not in ("agent", ""):
        raise AuthFailure(errors.INVALID_CREDENTIALS, "token of an unknown type")
    agent = claims.get("agent")
    if not isinstance(agent, dict):
        raise AuthFailure(errors.INVALID_CREDENTIALS, "token without agent")
    cid, perm, aid = agent.get("customer_id"), agent.get("permission"), agent.get("id", "")
    if not isinstance(cid, str) or not isinstance(perm, int) or isinstance(perm, bool):
        raise AuthFailure(errors.INVALID_CREDENTIALS, "token with a malformed agent")
    if not isinstance(aid, str):
        raise AuthFailure(errors.INVALID_CREDENTIALS, "token with a malformed agent id")
    return Identity("agent", cid, perm, str(agent.get("username", "")), aid)


def refuse_frozen(state: State, identity: Identity) -> None:
    """403 ACCOUNT_FROZEN for a frozen customer's callers, but super admins and direct."""
    if identity.kind == "direct" or identity.is_super_admin:
        return
    customer = state.store.customers.get(identity.customer_id)
    if customer is None or not customer.frozen:
        return
    fmt = state.profile.format_time
    scheduled = customer.tm_deletion_scheduled
    raise errors.ApiError(
        errors.ACCOUNT_FROZEN,
        details=[
            errors.go_map(
                {
                    "deletion_scheduled_at": None if scheduled is None else fmt(scheduled),
                    "deletion_effective_at": (
                        None if scheduled is None else fmt(scheduled + FROZEN_GRACE_S * US)
                    ),
                    "recovery_endpoint": "DELETE /auth/unregister",
                }
            )
        ],
    )


def login(state: State, username: str, password: str) -> str:
    """``POST /auth/login``: a JWT for an agent whose password matches its stored hash,
    valid for seven days of the fake's clock. An agent of a frozen customer logs in
    (production checks the account on the calls that follow, not here)."""
    with state.lock:
        user = state.store.users.get(username)
        if user is None:
            raise errors.LoginFailed("wrong username or password")
        agent = agent_claim(state.profile, user)
        stored = user.password_hash
        expire = format_fixed(state.clock.now_us() + LOGIN_LIFETIME_S * US)
    # Outside the lock: the hash costs a fraction of a millisecond.
    if not check_password(password, stored):
        raise errors.LoginFailed("wrong username or password")
    # Production's claims are a Go map, whose keys JSON writes in sorted order.
    return encode_jwt({"agent": agent, "expire": expire, "type": "agent"}, state.secret)


def mint_direct_token(state: State, customer_id: str) -> str:
    """A direct (boot) JWT, which production refuses on every access-key endpoint."""
    claims = {
        "type": "direct",
        "direct": {"customer_id": customer_id},
        "expire": format_fixed(state.clock.now_us() + LOGIN_LIFETIME_S * US),
    }
    return encode_jwt(claims, state.secret)


def mint_delegate_token(state: State, customer_id: str, issued_by: str = NIL_UUID) -> str:
    """A delegate JWT, as production's ``POST /auth/delegate`` issues one to a project
    super admin (``issued_by``, its agent id, is the ``sub``): customer-admin rights on
    ``customer_id`` for eight hours, and no ``/me``. The fake does not serve
    ``/auth/delegate``; tests mint these here. Its ``jti`` is drawn from the JWT secret
    (so from the seed), the customer and the instant, and takes no seeded draw."""
    now = state.clock.now_us()
    jti = hashlib.sha256(state.secret + f":delegate:{customer_id}:{now}".encode()).hexdigest()
    claims = {
        "aud": DELEGATE_AUDIENCE,
        "customer_id": customer_id,
        "expire": format_fixed(now + DELEGATE_LIFETIME_S * US),
        "jti": f"{jti[:8]}-{jti[8:12]}-4{jti[13:16]}-a{jti[17:20]}-{jti[20:32]}",
        "sub": issued_by,
        "type": "delegate",
    }
    return encode_jwt(claims, state.secret)
