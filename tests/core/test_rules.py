"""The business rules of fakevoipbin.core.rules, driven directly (no HTTP, no web layer):
input parsing, expire per profile, and each operation's checks in production's order."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from fakevoipbin.assemble import build_state
from fakevoipbin.core import rules
from fakevoipbin.core.auth import Identity
from fakevoipbin.core.clock import US, format_fixed, format_trimmed, parse_instant
from fakevoipbin.core.errors import ApiError
from fakevoipbin.core.formats import NIL_UUID
from fakevoipbin.core.state import State
from fakevoipbin.core.store import (
    PERMISSION_CUSTOMER_ADMIN,
    PERMISSION_CUSTOMER_MANAGER,
    PERMISSION_PROJECT_SUPER_ADMIN,
)
from fakevoipbin.options import Options

from ..conftest import (
    EXPIRED_KEY_ID,
    EXPIRING_KEY_ID,
    NOW,
    SECOND_CUSTOMER,
    SECOND_KEY_ID,
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
)

ADMIN = Identity("accesskey", TUTORIAL_CUSTOMER, PERMISSION_CUSTOMER_ADMIN, "test")
MANAGER = Identity("agent", TUTORIAL_CUSTOMER, PERMISSION_CUSTOMER_MANAGER, "m")
DIRECT = Identity("direct", TUTORIAL_CUSTOMER, 0, "direct")
SECOND_ADMIN = Identity("accesskey", SECOND_CUSTOMER, PERMISSION_CUSTOMER_ADMIN, "second")
OTHER_SUPER_ADMIN = Identity("agent", SECOND_CUSTOMER, PERMISSION_PROJECT_SUPER_ADMIN, "super")
OTHER_MANAGER = Identity("agent", SECOND_CUSTOMER, PERMISSION_CUSTOMER_MANAGER, "m2")
#: A customer the fixtures do not have: it has no keys until a test creates some.
FRESH_CUSTOMER = "11111111-2222-4333-8444-555555555555"
FRESH_ADMIN = Identity("accesskey", FRESH_CUSTOMER, PERMISSION_CUSTOMER_ADMIN, "fresh")
UNKNOWN_ID = "99999999-9999-4999-8999-999999999999"
DAY = 86_400
NAME_TOO_LONG = [{"field": "name", "rule": "maxLength", "description": "name is too long"}]

#: (http, status, reason) per profile, for an id that names no key and for a deleted key.
UNKNOWN_KEY = {
    "docs": (404, "NOT_FOUND", "ACCESSKEY_NOT_FOUND"),
    "live": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
}
DELETED_KEY = {
    "docs": (404, "NOT_FOUND", "ACCESSKEY_NOT_FOUND"),
    "live": (409, "FAILED_PRECONDITION", "STATE_INVALID"),
}
RESOURCE_NOT_FOUND = (404, "NOT_FOUND", "RESOURCE_NOT_FOUND")
PERMISSION_DENIED = (403, "PERMISSION_DENIED", "PERMISSION_DENIED")
DIRECT_REFUSED = (403, "PERMISSION_DENIED", "DIRECT_ACCESS_NOT_SUPPORTED")
INVALID_ARGUMENT = (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
INVALID_ID = (400, "INVALID_ARGUMENT", "INVALID_ID")
BAD_PAGE_TOKEN = (400, "INVALID_ARGUMENT", "INVALID_REQUEST_PARAMETER")
SIX_DIGITS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


def _state(profile: str) -> State:
    return build_state(Options(profile=profile, now=NOW))


@pytest.fixture(params=["docs", "live"])
def state(request: pytest.FixtureRequest) -> State:
    """The default fixtures, clock frozen at NOW, once per profile."""
    return _state(request.param)


@pytest.fixture
def docs_state() -> State:
    return _state("docs")


@pytest.fixture
def live_state() -> State:
    return _state("live")


def _kind(exc: pytest.ExceptionInfo[ApiError]) -> tuple[int, str, str]:
    kind = exc.value.kind
    return kind.http, kind.status, kind.reason


def _create(state: State, identity: Identity = ADMIN, expire: int | None = DAY) -> Any:
    key, _ = rules.create_key(state, identity, "n", "d", expire)
    return key


def _deleted_key_id(state: State) -> str:
    key = _create(state)
    rules.delete_key(state, ADMIN, key.id)
    return str(key.id)


# --- parse_key_id ----------------------------------------------------------------

_HEX = TUTORIAL_KEY_ID.replace("-", "")


@pytest.mark.parametrize(
    "text",
    [
        TUTORIAL_KEY_ID,
        _HEX,
        "{" + TUTORIAL_KEY_ID + "}",
        "{" + _HEX + "}",
        "urn:uuid:" + TUTORIAL_KEY_ID,
        "urn:uuid:" + _HEX,
        TUTORIAL_KEY_ID.upper(),
        _HEX.upper(),
        "{" + TUTORIAL_KEY_ID.upper() + "}",
        "urn:uuid:" + _HEX.upper(),
    ],
)
def test_parse_key_id_accepts_every_gofrs_spelling(text: str) -> None:
    """Canonical, 32 hex, braces, urn:uuid: and upper case all give the canonical id."""
    assert rules.parse_key_id(text) == TUTORIAL_KEY_ID


@pytest.mark.parametrize(
    "text",
    [
        NIL_UUID,
        "0" * 32,
        "{" + NIL_UUID + "}",
        "urn:uuid:" + "0" * 32,
        "",
        "junk",
        "g" * 32,
        _HEX + "0",
        _HEX[:-1],
        TUTORIAL_KEY_ID + "\n",
        " " + TUTORIAL_KEY_ID,
        "{" + TUTORIAL_KEY_ID,
        "(" + TUTORIAL_KEY_ID + ")",
        "urn:uuid:{" + TUTORIAL_KEY_ID + "}",
        TUTORIAL_KEY_ID.replace("-", "", 1) + "-",
        "2f1f8f7e9-b3d-4c60-8465-b69e9f28b6dc",
    ],
)
def test_parse_key_id_refuses_nil_and_junk(text: str) -> None:
    """The nil UUID (in any spelling) and anything not a UUID are 400 INVALID_ID."""
    with pytest.raises(ApiError) as exc:
        rules.parse_key_id(text)
    assert _kind(exc) == INVALID_ID
    assert exc.value.details is not None
    assert exc.value.details[0]["field"] == "id"


# --- clamp_page_size / parse_page_token -----------------------------------------


@pytest.mark.parametrize(
    ("asked", "used"),
    [(None, 100), (0, 100), (-1, 100), (-100, 100), (101, 100), (10**9, 100)]
    + [(1, 1), (2, 2), (50, 50), (99, 99), (100, 100)],
)
def test_clamp_page_size(asked: int | None, used: int) -> None:
    """Missing, 0, negative or over 100 mean 100; 1..100 are kept."""
    assert rules.clamp_page_size(asked) == used


def test_parse_page_token_empty_means_no_bound() -> None:
    """An empty or missing cursor is no bound (None)."""
    assert rules.parse_page_token("") is None
    assert rules.parse_page_token(None) is None


@pytest.mark.parametrize("us", [parse_instant(NOW), parse_instant(NOW) + 1, 0, 1_000_000])
def test_parse_page_token_reads_a_tm_create(us: int) -> None:
    """A tm_create text (six digits, or trimmed) is that instant in microseconds."""
    assert rules.parse_page_token(format_fixed(us)) == us
    assert rules.parse_page_token(format_trimmed(us)) == us


def test_parse_page_token_date_only_is_midnight() -> None:
    """A date alone is that day's midnight, UTC."""
    assert rules.parse_page_token("2026-12-01") == parse_instant("2026-12-01T00:00:00Z")


@pytest.mark.parametrize(
    "text",
    ["junk", "yesterday", "2026-13-01T00:00:00Z", "2026-12-01T25:00:00Z", "2026-12-01T10:15"]
    + ["2026-12-01T10:15:30+01:00", "1701425730", "2026-12-01T10:15:30.1234567Z"],
)
def test_parse_page_token_refuses_junk(text: str) -> None:
    """Anything that is not a timestamp is 400 INVALID_REQUEST_PARAMETER on page_token."""
    with pytest.raises(ApiError) as exc:
        rules.parse_page_token(text)
    assert _kind(exc) == BAD_PAGE_TOKEN
    assert "page_token" in exc.value.kind.message
    assert exc.value.details is not None
    assert exc.value.details[0]["field"] == "page_token"


# --- effective_expire ------------------------------------------------------------


def _rules_of(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(v["field"], v["rule"]) for v in found]


def test_effective_expire_minimum_and_required(state: State) -> None:
    """86400 s is the shortest lifetime; 86399 breaks "minimum", missing is "required"."""
    assert rules.effective_expire(state, DAY) == (DAY, [])
    assert rules.effective_expire(state, 31_536_000) == (31_536_000, [])
    value, found = rules.effective_expire(state, DAY - 1)
    assert value == DAY - 1
    assert _rules_of(found) == [("expire", "minimum")]
    value, found = rules.effective_expire(state, None)
    assert value == 0
    assert _rules_of(found) == [("expire", "required")]
    assert _rules_of(rules.effective_expire(state, 0)[1]) == [("expire", "minimum")]


def test_effective_expire_docs_refuses_above_int32(docs_state: State) -> None:
    """docs: 2147483647 is accepted, anything above breaks "maximum" (no wrap)."""
    assert rules.effective_expire(docs_state, 2**31 - 1) == (2**31 - 1, [])
    for expire in (2**31, 2**32 + DAY):
        value, found = rules.effective_expire(docs_state, expire)
        assert value == expire
        assert _rules_of(found) == [("expire", "maximum")]


def test_effective_expire_live_wraps_int32(live_state: State) -> None:
    """live: expire is cast to int32, so 2**32 + 86400 is 86400 and 2**31 is negative."""
    assert rules.effective_expire(live_state, 2**32 + DAY) == (DAY, [])
    assert rules.effective_expire(live_state, 2**31 - 1) == (2**31 - 1, [])
    value, found = rules.effective_expire(live_state, 2**31)
    assert value == -(2**31)
    assert _rules_of(found) == [("expire", "minimum")]


# --- create_key --------------------------------------------------------------------


@pytest.mark.parametrize("expire", [DAY, 31_536_000, 2**31 - 1])
def test_create_tm_expire_is_create_plus_expire(state: State, expire: int) -> None:
    """tm_expire == tm_create + expire * 1_000_000, exactly."""
    key = _create(state, expire=expire)
    assert key.tm_expire == key.tm_create + expire * US
    assert state.store.keys[key.id] is key


def test_create_live_uses_the_wrapped_expire(live_state: State) -> None:
    """live: 2**32 + 86400 is accepted, and the key lives 86400 s."""
    key = _create(live_state, expire=2**32 + DAY)
    assert key.tm_expire == key.tm_create + DAY * US


def test_create_docs_refuses_above_int32(docs_state: State) -> None:
    """docs: 2**31 is a 400 INVALID_ARGUMENT naming expire's maximum; no key is made."""
    before = len(docs_state.store.keys)
    with pytest.raises(ApiError) as exc:
        _create(docs_state, expire=2**31)
    assert _kind(exc) == INVALID_ARGUMENT
    assert _rules_of(exc.value.details or []) == [("expire", "maximum")]
    assert len(docs_state.store.keys) == before


@pytest.mark.parametrize(("expire", "rule"), [(DAY - 1, "minimum"), (None, "required")])
def test_create_refuses_a_short_or_missing_expire(
    state: State, expire: int | None, rule: str
) -> None:
    """An admin asking for under 86400 s, or none, gets 400 INVALID_ARGUMENT; no key."""
    before = len(state.store.keys)
    with pytest.raises(ApiError) as exc:
        _create(state, expire=expire)
    assert _kind(exc) == INVALID_ARGUMENT
    assert _rules_of(exc.value.details or []) == [("expire", rule)]
    assert len(state.store.keys) == before


def test_create_token_shape_and_only_its_hash_is_kept(state: State) -> None:
    """The token is vb_ + 32 of [A-Za-z0-9_-], its prefix its first 11 characters, and
    only its SHA-256 is stored."""
    key, token = rules.create_key(state, ADMIN, "n", "d", DAY)
    assert re.fullmatch(r"vb_[A-Za-z0-9_-]{32}", token)
    assert key.token_prefix == token[:11]
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert key.token_hash == digest
    assert state.store.by_hash[digest] is key
    assert token not in key
    assert token not in repr(key)
    assert token not in state.store.by_hash


def test_create_twice_on_a_frozen_clock(state: State) -> None:
    """Two creates on a frozen clock get distinct, increasing tm_create (and tokens)."""
    assert state.clock.frozen
    (a, token_a), (b, token_b) = (rules.create_key(state, ADMIN, "", "", DAY) for _ in "ab")
    assert b.tm_create > a.tm_create >= parse_instant(NOW)
    assert a.id != b.id
    assert token_a != token_b


def test_create_omitted_name_and_detail_are_empty(state: State) -> None:
    """A create without name or detail stores "" for both."""
    key, _ = rules.create_key(state, ADMIN, None, None, DAY)
    assert (key.name, key.detail) == ("", "")


def test_create_manager_gets_403_before_the_expire_check(state: State) -> None:
    """The permission check comes before expire: a manager gets 403, not 400; no key."""
    before = len(state.store.keys)
    for expire in (DAY, DAY - 1, None, 2**31):
        with pytest.raises(ApiError) as exc:
            rules.create_key(state, MANAGER, "n", "d", expire)
        assert _kind(exc) == PERMISSION_DENIED
    with pytest.raises(ApiError) as exc:
        rules.create_key(state, MANAGER, "n", "d", None, NAME_TOO_LONG)
    assert _kind(exc) == PERMISSION_DENIED
    assert len(state.store.keys) == before


def test_create_direct_is_refused_first(state: State) -> None:
    """A direct token gets 403 DIRECT_ACCESS_NOT_SUPPORTED before any other check."""
    for expire in (DAY, None):
        with pytest.raises(ApiError) as exc:
            rules.create_key(state, DIRECT, "n", "d", expire, NAME_TOO_LONG)
        assert _kind(exc) == DIRECT_REFUSED


def test_create_violations_come_after_the_permission_check(state: State) -> None:
    """Business-rule violations passed in are a 400 INVALID_ARGUMENT for an admin, with
    the violations as details, and a 403 for a manager; no key is made either way."""
    before = len(state.store.keys)
    with pytest.raises(ApiError) as exc:
        rules.create_key(state, ADMIN, "x" * 300, "d", DAY, NAME_TOO_LONG)
    assert _kind(exc) == INVALID_ARGUMENT
    assert exc.value.details == NAME_TOO_LONG
    with pytest.raises(ApiError) as exc:
        rules.create_key(state, ADMIN, "x" * 300, "d", DAY - 1, NAME_TOO_LONG)
    assert _kind(exc) == INVALID_ARGUMENT
    assert _rules_of(exc.value.details or []) == [("name", "maxLength"), ("expire", "minimum")]
    assert len(state.store.keys) == before


def test_create_expire_is_judged_by_the_rules_not_the_spec(live_state: State) -> None:
    """A spec finding on expire is dropped: live judges the wrapped value, so
    2**32 + 86400 passes even with a spec "maximum" finding passed in."""
    spec_says = [{"field": "expire", "rule": "maximum", "description": "too big"}]
    key, _ = rules.create_key(live_state, ADMIN, "n", "d", 2**32 + DAY, spec_says)
    assert key.tm_expire == key.tm_create + DAY * US


# --- get / update / delete: the order of checks ------------------------------------

Op = Callable[[State, Identity, str], Any]


def _get(state: State, identity: Identity, key_id: str) -> Any:
    return rules.get_key(state, identity, key_id)


def _update(state: State, identity: Identity, key_id: str) -> Any:
    return rules.update_key(state, identity, key_id, "new name", "new detail")


def _delete(state: State, identity: Identity, key_id: str) -> Any:
    return rules.delete_key(state, identity, key_id)


OPS = pytest.mark.parametrize("op", [_get, _update, _delete], ids=["get", "update", "delete"])


@OPS
def test_key_op_refuses_direct_first(state: State, op: Op) -> None:
    """A direct token is 403 DIRECT_ACCESS_NOT_SUPPORTED, whatever the id names."""
    deleted = _deleted_key_id(state)
    for key_id in (TUTORIAL_KEY_ID, UNKNOWN_ID, SECOND_KEY_ID, deleted):
        with pytest.raises(ApiError) as exc:
            op(state, DIRECT, key_id)
        assert _kind(exc) == DIRECT_REFUSED
    assert state.store.keys[TUTORIAL_KEY_ID].tm_delete is None


@OPS
def test_key_op_unknown_id_before_permission(state: State, op: Op) -> None:
    """An unknown id answers the profile's error, for an admin and a manager alike."""
    for identity in (ADMIN, MANAGER):
        with pytest.raises(ApiError) as exc:
            op(state, identity, UNKNOWN_ID)
        assert _kind(exc) == UNKNOWN_KEY[state.profile.name]


@OPS
def test_key_op_other_customers_key_is_not_found(state: State, op: Op) -> None:
    """Another customer's key is 404 RESOURCE_NOT_FOUND, even for a super admin (or a
    manager) of another customer; the key is left as it was."""
    stored = state.store.keys[TUTORIAL_KEY_ID]
    for identity in (OTHER_SUPER_ADMIN, OTHER_MANAGER, SECOND_ADMIN):
        with pytest.raises(ApiError) as exc:
            op(state, identity, TUTORIAL_KEY_ID)
        assert _kind(exc) == RESOURCE_NOT_FOUND
    assert state.store.keys[TUTORIAL_KEY_ID] is stored


@OPS
def test_key_op_deleted_key_before_permission(state: State, op: Op) -> None:
    """A deleted key answers the profile's deleted-key error, for a manager too."""
    deleted = _deleted_key_id(state)
    stored = state.store.keys[deleted]
    for identity in (ADMIN, MANAGER):
        with pytest.raises(ApiError) as exc:
            op(state, identity, deleted)
        assert _kind(exc) == DELETED_KEY[state.profile.name]
    assert state.store.keys[deleted] is stored


@OPS
def test_key_op_manager_of_the_right_customer_gets_403(state: State, op: Op) -> None:
    """Once the key is found, a manager-only caller gets 403 and the key is untouched;
    an admin succeeds."""
    stored = state.store.keys[TUTORIAL_KEY_ID]
    with pytest.raises(ApiError) as exc:
        op(state, MANAGER, TUTORIAL_KEY_ID)
    assert _kind(exc) == PERMISSION_DENIED
    assert state.store.keys[TUTORIAL_KEY_ID] is stored
    assert op(state, ADMIN, TUTORIAL_KEY_ID).id == TUTORIAL_KEY_ID


def test_get_key_answers_the_stored_record(state: State) -> None:
    """get_key answers the current record of the caller's key."""
    assert rules.get_key(state, ADMIN, TUTORIAL_KEY_ID) is state.store.keys[TUTORIAL_KEY_ID]


def test_update_violations_after_lookup_and_permission(state: State) -> None:
    """update: violations passed in come after the lookup and the permission check."""
    stored = state.store.keys[TUTORIAL_KEY_ID]
    with pytest.raises(ApiError) as exc:
        rules.update_key(state, ADMIN, UNKNOWN_ID, "n", "d", NAME_TOO_LONG)
    assert _kind(exc) == UNKNOWN_KEY[state.profile.name]
    with pytest.raises(ApiError) as exc:
        rules.update_key(state, OTHER_SUPER_ADMIN, TUTORIAL_KEY_ID, "n", "d", NAME_TOO_LONG)
    assert _kind(exc) == RESOURCE_NOT_FOUND
    with pytest.raises(ApiError) as exc:
        rules.update_key(state, MANAGER, TUTORIAL_KEY_ID, "n", "d", NAME_TOO_LONG)
    assert _kind(exc) == PERMISSION_DENIED
    with pytest.raises(ApiError) as exc:
        rules.update_key(state, ADMIN, TUTORIAL_KEY_ID, "n", "d", NAME_TOO_LONG)
    assert _kind(exc) == INVALID_ARGUMENT
    assert exc.value.details == NAME_TOO_LONG
    assert state.store.keys[TUTORIAL_KEY_ID] is stored


# --- update_key ----------------------------------------------------------------------


def test_update_writes_both_columns_in_a_new_record(state: State) -> None:
    """PUT: an omitted field becomes "", tm_update gets a new stamp, and a new record
    with a higher version is stored; the old record is unchanged."""
    old = state.store.keys[TUTORIAL_KEY_ID]
    snapshot = tuple(old)
    assert old.name and old.detail
    new = rules.update_key(state, ADMIN, TUTORIAL_KEY_ID, None, "only detail")
    assert (new.name, new.detail) == ("", "only detail")
    assert new is not old
    assert new.version > old.version
    assert tuple(old) == snapshot
    assert new.tm_update is not None and new.tm_update > old.tm_create
    assert (new.id, new.tm_create, new.tm_expire, new.token_hash, new.tm_delete) == (
        old.id,
        old.tm_create,
        old.tm_expire,
        old.token_hash,
        None,
    )
    assert state.store.keys[TUTORIAL_KEY_ID] is new
    assert state.store.by_hash[old.token_hash] is new
    assert rules.get_key(state, ADMIN, TUTORIAL_KEY_ID) is new

    newer = rules.update_key(state, ADMIN, TUTORIAL_KEY_ID, "only name", None)
    assert (newer.name, newer.detail) == ("only name", "")
    assert newer.version > new.version
    assert newer.tm_update is not None and newer.tm_update > new.tm_update
    assert (new.name, new.detail) == ("", "only detail")


# --- delete_key ------------------------------------------------------------------------


def test_delete_is_a_soft_delete(state: State) -> None:
    """DELETE: tm_delete == tm_update, the key leaves the list and the token index, and
    a second delete answers the profile's deleted-key error."""
    key = _create(state)
    assert key.id in [k.id for k in rules.list_keys(state, ADMIN, None, None).keys]
    gone = rules.delete_key(state, ADMIN, key.id)
    assert gone.tm_delete is not None
    assert gone.tm_delete == gone.tm_update
    assert gone.tm_delete > key.tm_create
    assert gone.version > key.version
    assert key.tm_delete is None
    assert state.store.keys[key.id] is gone
    assert key.token_hash not in state.store.by_hash
    assert key.id not in [k.id for k in rules.list_keys(state, ADMIN, None, None).keys]
    with pytest.raises(ApiError) as exc:
        rules.delete_key(state, ADMIN, key.id)
    assert _kind(exc) == DELETED_KEY[state.profile.name]
    assert state.store.keys[key.id] is gone


# --- list_keys ---------------------------------------------------------------------------


def _ids(page: rules.Page) -> list[str]:
    return [k.id for k in page.keys]


def test_list_newest_first_expired_listed_deleted_not(state: State) -> None:
    """Live keys newest first; an expired key is listed, a deleted one is not."""
    page = rules.list_keys(state, SECOND_ADMIN, None, None)
    assert _ids(page) == [SECOND_KEY_ID, EXPIRING_KEY_ID, EXPIRED_KEY_ID]
    expired = state.store.keys[EXPIRED_KEY_ID]
    assert expired.tm_expire is not None and expired.tm_expire < state.clock.now_us()
    rules.delete_key(state, SECOND_ADMIN, EXPIRING_KEY_ID)
    assert _ids(rules.list_keys(state, SECOND_ADMIN, None, None)) == [SECOND_KEY_ID, EXPIRED_KEY_ID]
    new = _create(state, SECOND_ADMIN)
    assert _ids(rules.list_keys(state, SECOND_ADMIN, None, None)) == [
        new.id,
        SECOND_KEY_ID,
        EXPIRED_KEY_ID,
    ]


def test_list_shows_only_the_callers_keys(state: State) -> None:
    """A list answers the caller's customer's keys only."""
    assert _ids(rules.list_keys(state, ADMIN, None, None)) == [TUTORIAL_KEY_ID]
    assert _ids(rules.list_keys(state, FRESH_ADMIN, None, None)) == []


def test_list_refuses_direct_then_manager(state: State) -> None:
    """list and name_page: a direct token is 403 DIRECT_ACCESS_NOT_SUPPORTED, a
    manager-only caller 403 PERMISSION_DENIED."""
    for call in (rules.list_keys, rules.name_page):
        with pytest.raises(ApiError) as exc:
            call(state, DIRECT, None, None)
        assert _kind(exc) == DIRECT_REFUSED
        with pytest.raises(ApiError) as exc:
            call(state, MANAGER, None, None)
        assert _kind(exc) == PERMISSION_DENIED


def test_list_refuses_a_bad_page_token(state: State) -> None:
    """An admin's unreadable page_token is 400 INVALID_REQUEST_PARAMETER."""
    for call in (rules.list_keys, rules.name_page):
        with pytest.raises(ApiError) as exc:
            call(state, ADMIN, None, "junk")
        assert _kind(exc) == BAD_PAGE_TOKEN


def test_list_docs_next_page_token(docs_state: State) -> None:
    """docs: next_page_token is None on the last page, else the last item's tm_create in
    the six-digit layout."""
    page = rules.list_keys(docs_state, ADMIN, None, None)
    assert _ids(page) == [TUTORIAL_KEY_ID]
    assert page.next_page_token is None
    _create(docs_state)
    _create(docs_state)
    assert rules.list_keys(docs_state, ADMIN, 3, None).next_page_token is None
    first = rules.list_keys(docs_state, ADMIN, 2, None)
    assert len(first.keys) == 2
    assert first.next_page_token == format_fixed(first.keys[-1].tm_create)
    assert SIX_DIGITS.match(first.next_page_token)
    last = rules.list_keys(docs_state, ADMIN, 2, first.next_page_token)
    assert _ids(last) == [TUTORIAL_KEY_ID]
    assert last.next_page_token is None


def test_list_live_next_page_token(live_state: State) -> None:
    """live: the last item's tm_create on every non-empty page, "" on an empty one."""
    page = rules.list_keys(live_state, ADMIN, None, None)
    assert _ids(page) == [TUTORIAL_KEY_ID]
    assert page.next_page_token == format_fixed(page.keys[0].tm_create)
    assert SIX_DIGITS.match(page.next_page_token)
    after = rules.list_keys(live_state, ADMIN, None, page.next_page_token)
    assert after.keys == []
    assert after.next_page_token == ""
    empty = rules.list_keys(live_state, FRESH_ADMIN, None, None)
    assert (empty.keys, empty.next_page_token) == ([], "")


def test_list_pages_yield_each_key_once(state: State) -> None:
    """Paging with page_size 2 through 5 keys yields each exactly once, newest first."""
    made = [_create(state, FRESH_ADMIN).id for _ in range(5)]
    seen: list[str] = []
    sizes: list[int] = []
    token: str | None = None
    for _ in range(10):
        page = rules.list_keys(state, FRESH_ADMIN, 2, token)
        seen += _ids(page)
        sizes.append(len(page.keys))
        token = page.next_page_token
        if not token:
            break
    assert seen == made[::-1]
    expected_sizes = {"docs": [2, 2, 1], "live": [2, 2, 1, 0]}[state.profile.name]
    assert sizes == expected_sizes


def test_name_page_is_the_lists_name(state: State) -> None:
    """name_page answers the same PageName as list_keys(...).name, for any size/cursor."""
    token = format_fixed(parse_instant(NOW) + 5)
    for identity in (ADMIN, SECOND_ADMIN, FRESH_ADMIN):
        for size, page_token in [(None, None), (0, ""), (2, token), (500, None), (7, "2026-12-01")]:
            name = rules.name_page(state, identity, size, page_token)
            assert name == rules.list_keys(state, identity, size, page_token).name
            assert name.customer_id == identity.customer_id
            assert name.size == rules.clamp_page_size(size)
            assert name.before == rules.parse_page_token(page_token)
    assert rules.name_page(state, FRESH_ADMIN, None, None).version is None
    customer = state.store.customers[TUTORIAL_CUSTOMER]
    assert rules.name_page(state, ADMIN, None, None).version == customer.version


def test_name_page_version_moves_on_writes_only(state: State) -> None:
    """The page name's version changes after a create, update or delete of the
    customer's keys, and not after a read (get, list) or another customer's write."""

    def version() -> int | None:
        return rules.name_page(state, ADMIN, None, None).version

    seen = [version()]
    rules.get_key(state, ADMIN, TUTORIAL_KEY_ID)
    rules.list_keys(state, ADMIN, None, None)
    with pytest.raises(ApiError):
        rules.update_key(state, MANAGER, TUTORIAL_KEY_ID, "n", "d")
    _create(state, SECOND_ADMIN)
    assert version() == seen[-1]
    key = _create(state)
    seen.append(version())
    rules.update_key(state, ADMIN, key.id, "renamed", "")
    seen.append(version())
    rules.delete_key(state, ADMIN, key.id)
    seen.append(version())
    assert None not in seen
    assert len(set(seen)) == len(seen)
    rules.list_keys(state, ADMIN, 1, None)
    assert version() == seen[-1]


def test_name_page_version_appears_with_a_new_customers_first_key(state: State) -> None:
    """A customer without keys has no version; its first key gives it one."""
    assert rules.name_page(state, FRESH_ADMIN, None, None).version is None
    _create(state, FRESH_ADMIN)
    name = rules.name_page(state, FRESH_ADMIN, None, None)
    assert name.version is not None
    assert name == rules.list_keys(state, FRESH_ADMIN, None, None).name
