"""What the API sends for an access key, a list page, a customer and an agent, in field
order, per profile."""

from __future__ import annotations

from typing import Any

from .clock import format_fixed
from .customer_fields import put_at
from .profiles import Profile
from .store import CUSTOMER_FIELDS, AccessKey, Customer, User


def key_view(profile: Profile, key: AccessKey, raw_token: str | None = None) -> dict[str, Any]:
    """The access-key object. ``token`` only when ``raw_token`` is given (create)."""
    fmt = profile.format_time
    created = fmt(key.tm_create)
    if key.name and key.detail and key.token_prefix and raw_token is None:
        # The usual key, as one literal (the fields below, in the same order).
        return {
            "id": key.id,
            "customer_id": key.customer_id,
            "name": key.name,
            "detail": key.detail,
            "token_prefix": key.token_prefix,
            "tm_expire": None if key.tm_expire is None else fmt(key.tm_expire),
            "tm_create": created,
            "tm_update": _tm_update(profile, key, created),
            "tm_delete": profile.live_tm_delete if key.tm_delete is None else fmt(key.tm_delete),
        }
    out: dict[str, Any] = {"id": key.id, "customer_id": key.customer_id}
    if key.name:
        out["name"] = key.name
    if key.detail:
        out["detail"] = key.detail
    if raw_token is not None:
        out["token"] = raw_token
    if key.token_prefix:
        out["token_prefix"] = key.token_prefix
    out["tm_expire"] = None if key.tm_expire is None else fmt(key.tm_expire)
    out["tm_create"] = created
    out["tm_update"] = _tm_update(profile, key, created)
    out["tm_delete"] = profile.live_tm_delete if key.tm_delete is None else fmt(key.tm_delete)
    return out


def _tm_update(profile: Profile, key: AccessKey, created: str) -> str | None:
    """Set by PUT and DELETE; until then a copy of tm_create (docs) or null (live)."""
    if key.tm_update is not None:
        return profile.format_time(key.tm_update)
    return created if profile.tm_update_mirrors_create else None


def cursor(tm_create: int) -> str:
    """next_page_token: a tm_create in the fixed six-digit layout."""
    return format_fixed(tm_create)


#: What the customer object shows: (attribute, where in the object, kind), in
#: production's key order (the fields ``store.Customer`` marks ``view``).
_CUSTOMER_VIEW = tuple((f.name, f.path, f.kind) for f in CUSTOMER_FIELDS if f.view)


def customer_view(
    profile: Profile, customer: Customer, webhook_secret: str | None = None
) -> dict[str, Any]:
    """The customer object in production's key order (``store.Customer``'s): ``id``;
    the seven text fields, each omitted when empty; ``billing_account_id`` always;
    ``metadata``, ``email_verified``, ``status``, ``identity_verification_status``; the
    four times (null when unset, never omitted); ``webhook_secret`` last, only when
    given (GET)."""
    fmt = profile.format_time
    out: dict[str, Any] = {}
    for name, path, kind in _CUSTOMER_VIEW:
        value = getattr(customer, name)
        if kind == "text" and not value:
            continue
        if kind == "stamp" and value is not None:
            value = fmt(value)
        put_at(out, path, value)
    if webhook_secret:
        out["webhook_secret"] = webhook_secret
    return out


def agent_view(profile: Profile, agent: User) -> dict[str, Any]:
    """An agent as ``GET /v1.0/me`` shows it (bin-agent-manager's WebhookMessage): the
    strings always present, even when empty; ``tag_ids`` and ``addresses`` ``[]`` when
    none, each address without its empty fields; the timestamps omitted when null.
    Never ``direct_id`` nor ``password_hash``."""
    out: dict[str, Any] = {
        "id": agent.id,
        "customer_id": agent.customer_id,
        "username": agent.username,
        "name": agent.name,
        "detail": agent.detail,
        "ring_method": agent.ring_method,
        "status": agent.status,
        "permission": agent.permission,
        "tag_ids": list(agent.tag_ids),
        "addresses": [dict(a) for a in agent.addresses],
        "direct_hash": agent.direct_hash,
    }
    _stamps(profile, agent, out)
    return out


def agent_claim(profile: Profile, agent: User) -> dict[str, Any]:
    """The agent object a login JWT carries (production's Agent model): the fields of
    ``agent_view`` with ``direct_id`` before ``direct_hash``; never ``password_hash``."""
    out: dict[str, Any] = {
        "id": agent.id,
        "customer_id": agent.customer_id,
        "username": agent.username,
        "name": agent.name,
        "detail": agent.detail,
        "ring_method": agent.ring_method,
        "status": agent.status,
        "permission": agent.permission,
        "tag_ids": list(agent.tag_ids),
        "addresses": [dict(a) for a in agent.addresses],
        "direct_id": agent.direct_id,
        "direct_hash": agent.direct_hash,
    }
    _stamps(profile, agent, out)
    return out


def _stamps(profile: Profile, agent: User, out: dict[str, Any]) -> None:
    fmt = profile.format_time
    for name, value in (
        ("tm_create", agent.tm_create),
        ("tm_update", agent.tm_update),
        ("tm_delete", agent.tm_delete),
    ):
        if value is not None:
            out[name] = fmt(value)
