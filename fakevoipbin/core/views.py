"""What the API sends for an access key and a list page, in field order, per profile."""

from __future__ import annotations

from typing import Any

from .clock import format_fixed
from .profiles import Profile
from .store import AccessKey


def key_view(profile: Profile, key: AccessKey, raw_token: str | None = None) -> dict[str, Any]:
    """The access-key object. ``token`` only when ``raw_token`` is given (create)."""
    fmt = profile.format_time
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
    out["tm_create"] = fmt(key.tm_create)
    if key.tm_update is not None:
        out["tm_update"] = fmt(key.tm_update)
    elif profile.tm_update_mirrors_create:
        out["tm_update"] = out["tm_create"]
    else:
        out["tm_update"] = None
    out["tm_delete"] = profile.live_tm_delete if key.tm_delete is None else fmt(key.tm_delete)
    return out


def cursor(tm_create: int) -> str:
    """next_page_token: a tm_create in the fixed six-digit layout."""
    return format_fixed(tm_create)
