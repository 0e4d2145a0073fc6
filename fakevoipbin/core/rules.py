"""The access-key operations and their business rules, in production's check order.

Each operation takes the caller's identity and input already checked for shape
(the web layer validates against openapi.yaml). ``violations`` are the spec's
business-rule findings (a minimum, a maximum length), which production reports
only after the permission check; they are raised here, at that point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from . import errors
from .auth import Identity
from .clock import US, ClockError, parse_instant
from .formats import NIL_UUID, UUID_RE, token_prefix
from .profiles import INT32_MAX, Profile
from .state import State
from .store import AccessKey, Customer, next_version, token_hash
from .views import cursor

MIN_EXPIRE_S = 86_400
MAX_PAGE_SIZE = 100

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}\Z")
_PAGE_TOKEN = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?Z?$"
)


class PageName(NamedTuple):
    """What names a list page for good, read under the state's lock: the customer,
    its version (any change to its keys renews it), and the cursor and size asked for.
    A rendering of the page can be reused for as long as the name is current."""

    customer_id: str
    #: The customer's version; None: the customer has no keys yet.
    version: int | None
    before: int | None
    size: int


class Page(NamedTuple):
    """A list page, as read under the state's lock: the keys, the cursor to send, and
    the page's name."""

    keys: list[AccessKey]
    next_page_token: str | None
    name: PageName


# --- input rules -------------------------------------------------------------


def parse_key_id(text: str) -> str:
    """The canonical id for any spelling gofrs/uuid accepts: canonical, 32 hex digits,
    ``{…}`` around either, or ``urn:uuid:`` before either; hex in any case. The nil
    UUID and anything else are 400 INVALID_ID."""
    if UUID_RE.fullmatch(text):
        if text == NIL_UUID:
            raise errors.ApiError(errors.INVALID_ID, [_id_violation()])
        return text
    s = text
    if len(s) in (41, 45) and s.startswith("urn:uuid:"):
        s = s[9:]
    elif len(s) in (34, 38) and s[0] == "{" and s[-1] == "}":
        s = s[1:-1]
    if len(s) == 36:
        if s[8] != "-" or s[13] != "-" or s[18] != "-" or s[23] != "-":
            raise errors.ApiError(errors.INVALID_ID, [_id_violation()])
        s = s.replace("-", "", 4)
    if not _HEX32.match(s):
        raise errors.ApiError(errors.INVALID_ID, [_id_violation()])
    s = s.lower()
    canonical = f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"
    if canonical == NIL_UUID:
        raise errors.ApiError(errors.INVALID_ID, [_id_violation()])
    return canonical


def _id_violation() -> dict[str, Any]:
    return errors.violation("id", "format", "id must be a UUID")


def clamp_page_size(page_size: int | None) -> int:
    """Missing, 0, negative or over 100 all mean 100, as in production."""
    if page_size is None or not 1 <= page_size <= MAX_PAGE_SIZE:
        return MAX_PAGE_SIZE
    return page_size


def parse_page_token(text: str | None) -> int | None:
    """A cursor (a tm_create) in microseconds; None for no bound (empty means now)."""
    if not text:
        return None
    m = _PAGE_TOKEN.match(text)
    if m is None:
        raise _bad_page_token()
    y, mo, d, hh, mm, ss, frac = m.groups()
    stamp = f"{y}-{mo}-{d}T{hh or '00'}:{mm or '00'}:{ss or '00'}.{(frac or '0').ljust(6, '0')}Z"
    try:
        return parse_instant(stamp)
    except ClockError:
        raise _bad_page_token() from None


def _bad_page_token() -> errors.ApiError:
    return errors.ApiError(
        errors.invalid_request_parameter("page_token"),
        [errors.violation("page_token", "format", "page_token must be a timestamp")],
    )


def wrapped_expire(profile: Profile, expire: int) -> int:
    """``expire`` as the profile reads it: cast to int32 (live, as production's Go
    does), or as sent (docs, which refuses what is over 2147483647)."""
    if profile.wraps_expire_int32:
        return (expire + 2**31) % 2**32 - 2**31
    return expire


def effective_expire(state: State, expire: int | None) -> tuple[int, list[dict[str, Any]]]:
    """The lifetime in seconds that production would use, and what is wrong with it.

    Missing means 0. ``live`` casts to int32 as production does, so 2**32 + 86400
    is accepted as 86400; ``docs`` refuses anything above 2147483647."""
    found: list[dict[str, Any]] = []
    value = wrapped_expire(state.profile, 0 if expire is None else expire)
    if not state.profile.wraps_expire_int32 and value > INT32_MAX:
        found.append(
            errors.violation("expire", "maximum", f"expire must be at most {INT32_MAX} seconds")
        )
        return value, found
    if value < MIN_EXPIRE_S:
        rule = "required" if expire is None else "minimum"
        found.append(
            errors.violation("expire", rule, f"expire must be at least {MIN_EXPIRE_S} seconds")
        )
    return value, found


def _raise_violations(violations: list[dict[str, Any]]) -> None:
    if violations:
        seen: set[str] = set()
        unique = []
        for v in violations:
            if v.get("field") not in seen:
                seen.add(str(v.get("field")))
                unique.append(v)
        raise errors.ApiError(errors.INVALID_REQUEST, unique)


# --- who may do what ---------------------------------------------------------


def _refuse_direct(identity: Identity) -> None:
    if identity.kind == "direct":
        raise errors.ApiError(errors.DIRECT_ACCESS_NOT_SUPPORTED)


def _require_admin(identity: Identity) -> None:
    if not identity.is_admin:
        raise errors.ApiError(errors.PERMISSION_DENIED)


def _customer(state: State, identity: Identity) -> Customer:
    customer = state.store.customers.get(identity.customer_id)
    if customer is None:
        customer = state.store.add_customer(Customer(id=identity.customer_id))
    return customer


def _lookup(state: State, identity: Identity, key_id: str) -> AccessKey:
    """Fetch checks, in production's order: exists, same customer, not deleted."""
    key = state.store.keys.get(key_id)
    if key is None:
        raise errors.ApiError(state.profile.unknown_key_error)
    if key.customer_id != identity.customer_id:
        raise errors.ApiError(errors.RESOURCE_NOT_FOUND)
    if key.tm_delete is not None:
        raise errors.ApiError(state.profile.deleted_key_error)
    return key


# --- the five operations -----------------------------------------------------


def name_page(
    state: State, identity: Identity, page_size: int | None, page_token: str | None
) -> PageName:
    """A list's checks, in production's order, and the name of the page it answers,
    without reading a key: a caller that rendered this page before may answer it."""
    size, before = _list_checks(identity, page_size, page_token)
    with state.lock:
        customer = state.store.customers.get(identity.customer_id)
        version = None if customer is None else customer.version
    return PageName(identity.customer_id, version, before, size)


def _list_checks(
    identity: Identity, page_size: int | None, page_token: str | None
) -> tuple[int, int | None]:
    """A list's checks in production's order: direct 403, permission 403, the cursor
    (400); the page size and the cursor in microseconds."""
    _refuse_direct(identity)
    _require_admin(identity)
    return clamp_page_size(page_size), parse_page_token(page_token)


def list_keys(
    state: State, identity: Identity, page_size: int | None, page_token: str | None
) -> Page:
    """Live keys of the caller's customer, newest first; expired keys are listed."""
    size, before = _list_checks(identity, page_size, page_token)
    with state.lock:
        customer = state.store.customers.get(identity.customer_id)
        if customer is None:
            keys: list[AccessKey] = []
        else:
            keys = state.store.page(customer, before, size)
        if state.profile.null_token_at_end:
            more = (
                bool(keys)
                and customer is not None
                and state.store.has_older(customer, keys[-1].tm_create)
            )
            token = cursor(keys[-1].tm_create) if more else None
        else:
            token = cursor(keys[-1].tm_create) if keys else ""
        version = None if customer is None else customer.version
    return Page(keys, token, PageName(identity.customer_id, version, before, size))


def create_key(
    state: State,
    identity: Identity,
    name: str | None,
    detail: str | None,
    expire: int | None,
    violations: Sequence[dict[str, Any]] | None = None,
) -> tuple[AccessKey, str]:
    """A new key and its raw token, which is shown once. tm_expire = tm_create + expire."""
    _refuse_direct(identity)
    _require_admin(identity)
    lifetime, found = effective_expire(state, expire)
    if violations or found:
        # The expire rule is this module's alone: the spec's minimum applies to the raw
        # number, but live wraps it to int32 first (-2147483649 becomes 2147483647).
        others = [v for v in violations or [] if v.get("field") != "expire"]
        _raise_violations(others + found)
    with state.lock:
        return insert_new_key(state, _customer(state, identity), name, detail, lifetime)


def insert_new_key(
    state: State, customer: Customer, name: str | None, detail: str | None, lifetime: int
) -> tuple[AccessKey, str]:
    """Mint a token and store a key for it, stamped now; no checks. The caller makes
    them, and holds the state's lock."""
    raw = state.seeds.token()
    digest = token_hash(raw)
    while state.store.hash_used(digest):  # after a restart from a file
        raw = state.seeds.token()
        digest = token_hash(raw)
    t = state.store.unique_tm_create(customer, state.clock.stamp())
    key = state.store.insert_key(
        AccessKey(
            _fresh_id(state),
            customer.id,
            name or "",
            detail or "",
            digest,
            token_prefix(raw),
            t,
            t + lifetime * US,
            None,
            None,
            next_version(),
        )
    )
    state.touch()
    return key, raw


def _fresh_id(state: State) -> str:
    while True:
        kid = state.seeds.uuid4("key-ids")
        if kid not in state.store.keys:
            return kid


def get_key(state: State, identity: Identity, key_id: str) -> AccessKey:
    _refuse_direct(identity)
    with state.lock:
        key = _lookup(state, identity, key_id)
    _require_admin(identity)
    return key


def update_key(
    state: State,
    identity: Identity,
    key_id: str,
    name: str | None,
    detail: str | None,
    violations: Sequence[dict[str, Any]] | None = None,
) -> AccessKey:
    """PUT writes both columns: an omitted field becomes ""."""
    _refuse_direct(identity)
    with state.lock:
        key = _lookup(state, identity, key_id)
        _require_admin(identity)
        _raise_violations(list(violations or []))
        key = state.store.rename(key, name or "", detail or "", state.clock.stamp())
        state.touch()
    return key


def delete_key(state: State, identity: Identity, key_id: str) -> AccessKey:
    """Soft delete: tm_update and tm_delete get one instant; the key leaves the list and
    stops authenticating."""
    _refuse_direct(identity)
    with state.lock:
        key = _lookup(state, identity, key_id)
        _require_admin(identity)
        key = state.store.soft_delete(key, state.clock.stamp())
        state.touch()
    return key
