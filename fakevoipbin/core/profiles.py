"""The two profiles side by side, as data. A new difference is one field here.

``docs`` follows the published tutorial; ``live`` follows the production server.
Everything the tutorial does not settle follows production in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import errors
from .clock import format_fixed, format_trimmed

INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Profile:
    name: str
    #: tm_update of a key never updated: a copy of tm_create (docs) or null (live).
    tm_update_mirrors_create: bool
    #: tm_delete of a live key: the tutorial's sentinel (docs) or null (live).
    live_tm_delete: str | None
    #: How timestamps in objects are printed.
    format_time: Callable[[int], str]
    #: next_page_token: null once there is no next page (docs), or production's
    #: last-tm_create cursor on every non-empty page and "" on an empty one (live).
    null_token_at_end: bool
    #: The error for an id that names no key, and for a deleted key of the caller's.
    unknown_key_error: errors.ErrorKind
    deleted_key_error: errors.ErrorKind
    #: Whether an access key sent as ``Authorization: Bearer vb_…`` authenticates.
    bearer_accepts_accesskey: bool
    #: ``expire`` above 2147483647: refused (docs) or wrapped as int32 (live).
    wraps_expire_int32: bool
    #: The reasons whose error bodies carry ``details``: None for every error (docs: a
    #: 400 names the failing field), or production's ACCOUNT_FROZEN and 429 alone
    #: (live: no 400 has details; the journal keeps them as request_violations).
    details_only_for: frozenset[str] | None


DOCS = Profile(
    name="docs",
    tm_update_mirrors_create=True,
    live_tm_delete="9999-01-01T00:00:00.000000Z",
    format_time=format_fixed,
    null_token_at_end=True,
    unknown_key_error=errors.ACCESSKEY_NOT_FOUND,
    deleted_key_error=errors.ACCESSKEY_NOT_FOUND,
    bearer_accepts_accesskey=True,
    wraps_expire_int32=False,
    details_only_for=None,
)

LIVE = Profile(
    name="live",
    tm_update_mirrors_create=False,
    live_tm_delete=None,
    format_time=format_trimmed,
    null_token_at_end=False,
    unknown_key_error=errors.INVALID_DATA,
    deleted_key_error=errors.STATE_INVALID,
    bearer_accepts_accesskey=False,
    wraps_expire_int32=True,
    details_only_for=frozenset({errors.ACCOUNT_FROZEN.reason, errors.RATE_LIMIT_EXCEEDED.reason}),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (DOCS, LIVE)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}: choose one of {sorted(PROFILES)}") from None
