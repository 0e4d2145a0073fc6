"""Property tests: a Hypothesis state machine over HTTP, plus expiry and paging properties.

The state machine drives the tutorial customer's keys through the in-process
harness (create, get, list, update, delete, clock moves, authentication with the
created keys) in both profiles, and keeps a model of those keys to check every
answer against. The separate ``@given`` tests check the expiry arithmetic at the
core level, ``expire``'s int32 wrap over HTTP, and paging over many keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from fakevoipbin.core import rules
from fakevoipbin.core.auth import Identity
from fakevoipbin.core.clock import Clock
from fakevoipbin.core.fixtureset import FixtureSet
from fakevoipbin.core.profiles import get_profile
from fakevoipbin.core.state import State
from fakevoipbin.core.store import PERMISSION_CUSTOMER_ADMIN
from fakevoipbin.core.views import key_view
from fakevoipbin.fixtures import load_fixtures

from ..conftest import (
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
    TUTORIAL_TOKEN,
    Harness,
)

US = 1_000_000
DAY = 86_400
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US_2200 = (datetime(2200, 1, 1, tzinfo=timezone.utc) - EPOCH) // timedelta(microseconds=1)
INT32_MAX = 2**31 - 1
DOCS_SENTINEL = "9999-01-01T00:00:00.000000Z"
TUTORIAL_NAME = "My New Accesskey"
TUTORIAL_DETAIL = "This key is used for reporting"
TUTORIAL_EXPIRE = 31_536_000

TOKEN_RE = re.compile(r"^vb_[A-Za-z0-9_-]{32}$")
TOKEN_KEY_RE = re.compile(r'"token"\s*:')
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$")

BAD_CREDENTIALS = (401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
INVALID_ARGUMENT = (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
DELETED_ERROR = {
    "docs": (404, "NOT_FOUND", "ACCESSKEY_NOT_FOUND"),
    "live": (409, "FAILED_PRECONDITION", "STATE_INVALID"),
}
UNKNOWN_ERROR = {
    "docs": (404, "NOT_FOUND", "ACCESSKEY_NOT_FOUND"),
    "live": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
}

FIXTURES = load_fixtures()


# --- helpers --------------------------------------------------------------------


def parse_ts(text: Any, profile: str) -> int:
    """A response timestamp in microseconds; its layout must be the profile's."""
    assert isinstance(text, str), f"timestamp is not a string: {text!r}"
    m = TS_RE.match(text)
    assert m, f"not a timestamp: {text!r}"
    frac = m.group(7)
    if profile == "docs":
        assert frac is not None and len(frac) == 6, f"docs wants 6 fraction digits: {text!r}"
    else:
        assert frac is None or not frac.endswith("0"), f"live trims trailing zeros: {text!r}"
    y, mo, d, hh, mm, ss = (int(g) for g in m.groups()[:6])
    dt = datetime(y, mo, d, hh, mm, ss, tzinfo=timezone.utc)
    return (dt - EPOCH) // timedelta(microseconds=1) + int((frac or "").ljust(6, "0"))


def fixed(us: int) -> str:
    """The 6-digit cursor layout of next_page_token."""
    secs, frac = divmod(us, US)
    return (EPOCH + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:06d}Z"


def wrap_int32(e: int) -> int:
    return ((e + 2**31) % 2**32) - 2**31


def assert_error(r: httpx.Response, expected: tuple[int, str, str]) -> None:
    http, status, reason = expected
    assert r.status_code == http, f"wanted {http} {reason}, got {r.status_code}: {r.text}"
    err = r.json()["error"]
    assert (err["status"], err["reason"]) == (status, reason), r.text


def strictly_decreasing(xs: list[int]) -> bool:
    return all(xs[i] > xs[i + 1] for i in range(len(xs) - 1))


def clamp(page_size: int | None) -> int:
    return page_size if page_size is not None and 1 <= page_size <= 100 else 100


def page_through(
    client: httpx.Client,
    profile: str,
    page_size: int | None,
    expected_total: int,
    on_response: Callable[[httpx.Response], None],
) -> tuple[list[dict[str, Any]], list[int]]:
    """Every item of the list, following the cursor to the profile's end of list.

    Checks each page's size and next_page_token; returns the items and page lengths."""
    size = clamp(page_size)
    max_pages = expected_total // size + 3
    items: list[dict[str, Any]] = []
    pages: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {}
        if page_size is not None:
            params["page_size"] = page_size
        if cursor is not None:
            params["page_token"] = cursor
        r = client.get("/accesskeys", params=params)
        assert r.status_code == 200, r.text
        on_response(r)
        body = r.json()
        assert set(body) == {"result", "next_page_token"}, body
        page, nxt = body["result"], body["next_page_token"]
        assert len(page) <= size, (len(page), size)
        pages.append(len(page))
        assert len(pages) <= max_pages, f"paging does not end: pages {pages}"
        last = fixed(parse_ts(page[-1]["tm_create"], profile)) if page else None
        if profile == "docs":
            if nxt is None:
                items += page
                break
            assert page, "docs: a non-null next_page_token on an empty page"
            assert nxt == last, (nxt, last)
            assert len(page) == size, f"docs: a page before the last is short: {pages}"
        else:
            assert isinstance(nxt, str), f"live: next_page_token must be a string, got {nxt!r}"
            if not page:
                assert nxt == "", f"live: an empty page's next_page_token is '': {nxt!r}"
                break
            assert nxt == last, (nxt, last)
        items += page
        cursor = nxt
    if profile == "docs":
        assert all(n == size for n in pages[:-1]), pages
        assert pages[-1] > 0 or len(pages) == 1, pages
    else:
        assert pages[-1] == 0, pages
        assert all(n == size for n in pages[:-2]), pages
    return items, pages


# --- the state machine ------------------------------------------------------------


@dataclasses.dataclass
class KeyModel:
    id: str
    token: str
    name: str
    detail: str
    expire_s: int
    tm_create: int
    tm_expire: int
    tm_update: int | None = None
    tm_delete: int | None = None

    @property
    def deleted(self) -> bool:
        return self.tm_delete is not None


optional_name = st.one_of(st.none(), st.text(max_size=40))
optional_detail = st.one_of(st.none(), st.text(max_size=120))


class AccessKeyMachine(RuleBasedStateMachine):
    """The tutorial customer's keys, through HTTP, against a model."""

    profile = "docs"

    def __init__(self) -> None:
        super().__init__()
        self.h = Harness(profile=self.profile, fixtures=FIXTURES)
        self._clients: dict[str, httpx.Client] = {}
        self.keys: dict[str, KeyModel] = {}
        self.minted: list[str] = []
        self.admin = TUTORIAL_KEY_ID
        r = self.c(TUTORIAL_TOKEN).get(f"/accesskeys/{TUTORIAL_KEY_ID}")
        assert r.status_code == 200, r.text
        obj = r.json()
        tc = parse_ts(obj["tm_create"], self.profile)
        tutorial = KeyModel(
            TUTORIAL_KEY_ID,
            TUTORIAL_TOKEN,
            TUTORIAL_NAME,
            TUTORIAL_DETAIL,
            TUTORIAL_EXPIRE,
            tc,
            tc + TUTORIAL_EXPIRE * US,
        )
        self.keys[TUTORIAL_KEY_ID] = tutorial
        self.check_object(obj, tutorial)

    def teardown(self) -> None:
        self.h.close()

    # --- plumbing

    def c(self, token: str) -> httpx.Client:
        if token not in self._clients:
            self._clients[token] = self.h.client(token)
        return self._clients[token]

    @property
    def admin_client(self) -> httpx.Client:
        return self.c(self.keys[self.admin].token)

    def now(self) -> int:
        return self.h.clock.now_us()

    def all_tokens(self) -> list[str]:
        return [TUTORIAL_TOKEN, *self.minted]

    def live(self) -> list[KeyModel]:
        return [k for k in self.keys.values() if not k.deleted]

    def live_ids(self) -> list[str]:
        return [k.id for k in self.live()]

    def deleted_ids(self) -> list[str]:
        return [k.id for k in self.keys.values() if k.deleted]

    def no_token(self, r: httpx.Response) -> None:
        """No response but create carries a token: not as a field, not in the raw text."""
        text = r.text
        assert not TOKEN_KEY_RE.search(text), f"a token field in {r.request.method}: {text}"
        for t in self.all_tokens():
            assert t not in text, f"a raw token in {r.request.method} {r.request.url.path}"

    def check_object(self, obj: dict[str, Any], k: KeyModel, created: bool = False) -> None:
        p = self.profile
        assert obj["id"] == k.id
        assert obj["customer_id"] == TUTORIAL_CUSTOMER
        if k.name:
            assert obj.get("name") == k.name, (obj.get("name"), k.name)
        else:
            assert "name" not in obj, obj
        if k.detail:
            assert obj.get("detail") == k.detail, (obj.get("detail"), k.detail)
        else:
            assert "detail" not in obj, obj
        if created:
            assert obj["token"] == k.token
        else:
            assert "token" not in obj, obj
        assert obj["token_prefix"] == k.token[:11]
        tc = parse_ts(obj["tm_create"], p)
        te = parse_ts(obj["tm_expire"], p)
        assert tc == k.tm_create, (tc, k.tm_create)
        assert te == k.tm_expire, (te, k.tm_expire)
        assert te - tc == k.expire_s * US, (te - tc, k.expire_s)
        if k.tm_update is None:
            if p == "docs":
                assert obj["tm_update"] == obj["tm_create"], obj
            else:
                assert obj["tm_update"] is None, obj
        else:
            assert parse_ts(obj["tm_update"], p) == k.tm_update, obj
        if k.tm_delete is None:
            assert obj["tm_delete"] == (DOCS_SENTINEL if p == "docs" else None), obj
        else:
            assert parse_ts(obj["tm_delete"], p) == k.tm_delete, obj

    def create_key(self, name: str | None, detail: str | None, expire: int) -> KeyModel:
        body: dict[str, Any] = {"expire": expire}
        if name is not None:
            body["name"] = name
        if detail is not None:
            body["detail"] = detail
        before = self.now()
        r = self.admin_client.post("/accesskeys", json=body)
        assert r.status_code == 200, r.text
        obj = r.json()
        token = obj["token"]
        assert TOKEN_RE.match(token), token
        assert token not in self.all_tokens(), "a token minted twice"
        assert obj["id"] not in self.keys, "a key id reused"
        tc = parse_ts(obj["tm_create"], self.profile)
        te = parse_ts(obj["tm_expire"], self.profile)
        assert te - tc == expire * US, (te, tc, expire)
        assert before <= tc <= self.now(), (before, tc, self.now())
        assert all(tc > k.tm_create for k in self.keys.values()), "a new key is not the newest"
        k = KeyModel(obj["id"], token, name or "", detail or "", expire, tc, te)
        self.check_object(obj, k, created=True)
        self.keys[k.id] = k
        self.minted.append(token)
        return k

    def valid_until(self, k: KeyModel, until_us: int) -> bool:
        return not k.deleted and k.tm_expire >= until_us

    def ensure_admin(self, until_us: int) -> None:
        """Keep an admin credential that still authenticates a day after ``until_us``."""
        need = until_us + DAY * US
        if self.valid_until(self.keys[self.admin], need):
            return
        for k in self.live():
            if self.valid_until(k, need):
                self.admin = k.id
                return
        lifetime = -(-(need - self.now()) // US) + 30 * DAY
        self.admin = self.create_key("admin", None, lifetime).id

    # --- rules

    @rule(name=optional_name, detail=optional_detail, expire=st.integers(DAY, 10 * 365 * DAY))
    def create(self, name: str | None, detail: str | None, expire: int) -> None:
        self.create_key(name, detail, expire)

    @precondition(lambda self: self.live_ids())
    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        k = self.keys[data.draw(st.sampled_from(self.live_ids()), label="key")]
        r = self.admin_client.get(f"/accesskeys/{k.id}")
        assert r.status_code == 200, r.text
        self.no_token(r)
        self.check_object(r.json(), k)

    @rule(key_id=st.uuids(version=4))
    def get_unknown(self, key_id: Any) -> None:
        if str(key_id) in self.h.state.store.keys:
            return
        r = self.admin_client.get(f"/accesskeys/{key_id}")
        assert_error(r, UNKNOWN_ERROR[self.profile])
        self.no_token(r)

    @rule(page_size=st.one_of(st.none(), st.integers(-5, 120)))
    def list_all(self, page_size: int | None) -> None:
        live = self.live()
        items, _pages = page_through(
            self.admin_client, self.profile, page_size, len(live), self.no_token
        )
        ids = [o["id"] for o in items]
        assert len(ids) == len(set(ids)), f"a key listed twice: {ids}"
        assert set(ids) == {k.id for k in live}, (sorted(ids), sorted(k.id for k in live))
        creates = [parse_ts(o["tm_create"], self.profile) for o in items]
        assert strictly_decreasing(creates), "not newest first"
        for o in items:
            self.check_object(o, self.keys[o["id"]])

    @precondition(lambda self: self.live_ids())
    @rule(data=st.data(), name=optional_name, detail=optional_detail)
    def update(self, data: st.DataObject, name: str | None, detail: str | None) -> None:
        k = self.keys[data.draw(st.sampled_from(self.live_ids()), label="key")]
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if detail is not None:
            body["detail"] = detail
        before = self.now()
        r = self.admin_client.put(f"/accesskeys/{k.id}", json=body)
        assert r.status_code == 200, r.text
        self.no_token(r)
        obj = r.json()
        tu = parse_ts(obj["tm_update"], self.profile)
        assert before <= tu <= self.now(), (before, tu)
        assert tu > k.tm_create and (k.tm_update is None or tu > k.tm_update)
        k.name, k.detail, k.tm_update = name or "", detail or "", tu
        self.check_object(obj, k)

    @precondition(lambda self: self.live_ids())
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        now = self.now()
        others = [
            k for k in self.live() if k.id != self.admin and self.valid_until(k, now + DAY * US)
        ]
        choices = self.live_ids() if others else [i for i in self.live_ids() if i != self.admin]
        if not choices:
            return
        k = self.keys[data.draw(st.sampled_from(choices), label="key")]
        r = self.admin_client.delete(f"/accesskeys/{k.id}")  # a key may delete itself
        assert r.status_code == 200, r.text
        self.no_token(r)
        obj = r.json()
        td = parse_ts(obj["tm_delete"], self.profile)
        assert obj["tm_update"] == obj["tm_delete"], obj
        assert now <= td <= self.now(), (now, td)
        k.tm_update = k.tm_delete = td
        self.check_object(obj, k)
        if k.id == self.admin:
            self.admin = others[0].id
        r = self.c(k.token).get(f"/accesskeys/{k.id}")
        assert_error(r, BAD_CREDENTIALS)

    @precondition(lambda self: self.deleted_ids())
    @rule(data=st.data(), name=optional_name)
    def touch_deleted(self, data: st.DataObject, name: str | None) -> None:
        k = self.keys[data.draw(st.sampled_from(self.deleted_ids()), label="key")]
        c = self.admin_client
        for r in (
            c.get(f"/accesskeys/{k.id}"),
            c.put(f"/accesskeys/{k.id}", json={} if name is None else {"name": name}),
            c.delete(f"/accesskeys/{k.id}"),
        ):
            assert_error(r, DELETED_ERROR[self.profile])
            self.no_token(r)

    @rule(
        seconds=st.integers(0, 3 * DAY),
        micros=st.one_of(st.just(0), st.integers(1, US - 1)),
    )
    def advance_clock(self, seconds: int, micros: int) -> None:
        delta = seconds * US + micros
        self.ensure_admin(self.now() + delta)
        before = self.now()
        self.h.clock.advance(seconds if micros == 0 else seconds + micros / US)
        assert self.now() == before + delta, (self.now(), before, delta)

    @precondition(lambda self: any(k.tm_expire >= self.now() for k in self.live()))
    @rule(data=st.data())
    def expire_boundary(self, data: st.DataObject) -> None:
        """A key authenticates at tm_expire exactly and gets 401 one microsecond later."""
        candidates = [k.id for k in self.live() if k.tm_expire >= self.now()]
        k = self.keys[data.draw(st.sampled_from(candidates), label="key")]
        target = k.tm_expire
        self.ensure_admin(target + 1)
        if self.now() < target:
            self.h.clock.set(target)
        if self.now() == target:
            r = self.c(k.token).get(f"/accesskeys/{k.id}")
            assert r.status_code == 200, f"401 at tm_expire exactly: {r.text}"
            self.no_token(r)
            self.check_object(r.json(), k)
        if self.now() <= target:
            self.h.clock.set(target + 1)
        assert self.now() > target
        r = self.c(k.token).get(f"/accesskeys/{k.id}")
        assert_error(r, BAD_CREDENTIALS)
        self.no_token(r)

    @rule(data=st.data())
    def authenticate(self, data: st.DataObject) -> None:
        """Each key's own token reads its own key while live and unexpired, and only then."""
        k = self.keys[data.draw(st.sampled_from(list(self.keys)), label="key")]
        r = self.c(k.token).get(f"/accesskeys/{k.id}")
        self.no_token(r)
        if not k.deleted and self.now() <= k.tm_expire:
            assert r.status_code == 200, r.text
            self.check_object(r.json(), k)
        else:
            assert_error(r, BAD_CREDENTIALS)

    # --- invariants

    @invariant()
    def admin_is_usable(self) -> None:
        assert self.valid_until(self.keys[self.admin], self.now())

    @invariant()
    def store_keeps_only_hashes(self) -> None:
        store = self.h.state.store
        tokens = self.all_tokens()
        for k in self.keys.values():
            h = hashlib.sha256(k.token.encode()).hexdigest()
            if k.deleted:
                assert h not in store.by_hash, "a deleted key's hash still authenticates"
            else:
                assert h in store.by_hash, "a live key's hash is missing"
                assert store.by_hash[h].id == k.id
                assert store.keys[k.id].token_hash == h
        fields_text = "\x00".join(
            repr(value) for key in store.keys.values() for value in key._asdict().values()
        )
        dump = "\x00".join(
            (
                fields_text,
                repr(store.keys),
                repr(store.by_hash),
                repr(store.customers),
                repr(store.users),
            )
        )
        for t in tokens:
            assert t not in dump, "a raw token is kept in the store"
        customer = store.customers[TUTORIAL_CUSTOMER]
        stored_live = {key.id for key in store.live_keys(customer)}
        assert stored_live == set(self.live_ids())


class DocsMachine(AccessKeyMachine):
    profile = "docs"


class LiveMachine(AccessKeyMachine):
    profile = "live"


STATEFUL = settings(max_examples=25, stateful_step_count=30)
TestDocsMachine = DocsMachine.TestCase
TestDocsMachine.settings = STATEFUL
TestLiveMachine = LiveMachine.TestCase
TestLiveMachine.settings = STATEFUL


# --- (a) expiry arithmetic at the core level -----------------------------------------


@pytest.mark.parametrize("profile", ["docs", "live"])
@settings(max_examples=60)
@given(
    start=st.integers(0, US_2200),
    expires=st.lists(st.integers(DAY, INT32_MAX), min_size=1, max_size=5),
)
def test_core_expiry_is_exact(profile: str, start: int, expires: list[int]) -> None:
    prof = get_profile(profile)
    state = State(prof, 0, FixtureSet(), Clock(start, frozen=True))
    who = Identity("accesskey", TUTORIAL_CUSTOMER, PERMISSION_CUSTOMER_ADMIN)
    previous = None
    for i, expire in enumerate(expires):
        key, raw = rules.create_key(state, who, "n", "", expire)
        assert key.tm_expire is not None
        assert key.tm_expire - key.tm_create == expire * US, (key.tm_create, key.tm_expire)
        # a frozen clock steps 1 µs per write (loading fixtures counts as one)
        assert start <= key.tm_create <= start + i + 1, (start, key.tm_create)
        assert previous is None or key.tm_create > previous
        previous = key.tm_create
        view = key_view(prof, key, raw)
        assert parse_ts(view["tm_create"], profile) == key.tm_create
        assert parse_ts(view["tm_expire"], profile) == key.tm_expire
        assert raw not in repr(state.store.keys) + repr(state.store.by_hash)


# --- (b) expire's int32 wrap ---------------------------------------------------------

int64 = st.integers(-(2**63), 2**63 - 1)
expire_values = st.one_of(
    int64,
    # values that wrap onto an acceptable lifetime, from either sign
    st.builds(
        lambda hi, lo: hi * 2**32 + lo,
        st.integers(-(2**31), 2**31 - 1),
        st.integers(DAY, INT32_MAX),
    ),
    st.integers(DAY - 2, DAY + 2),
    st.integers(INT32_MAX - 2, INT32_MAX + 3),
)


@settings(max_examples=150)
@given(expire=expire_values)
def test_expire_int32(fake: Harness, expire: int) -> None:
    fake.state.reset()
    profile = fake.state.profile.name
    r = fake.client().post("/accesskeys", json={"name": "wrap", "expire": expire})
    if profile == "docs":
        accepted = DAY <= expire <= INT32_MAX
        lifetime = expire
    else:
        lifetime = wrap_int32(expire)
        accepted = lifetime >= DAY
    if not accepted:
        assert_error(r, INVALID_ARGUMENT)
        return
    assert r.status_code == 200, f"expire={expire} should give {lifetime} s: {r.text}"
    obj = r.json()
    tc = parse_ts(obj["tm_create"], profile)
    te = parse_ts(obj["tm_expire"], profile)
    assert te - tc == lifetime * US, (te - tc, lifetime)


# --- (c) paging many keys on a frozen clock -----------------------------------------


@settings(max_examples=20)
@given(n=st.integers(0, 150), page_size=st.integers(1, 100))
def test_paging_many_keys(fake: Harness, n: int, page_size: int) -> None:
    fake.state.reset()
    profile = fake.state.profile.name
    c = fake.client()
    created = []
    for i in range(n):
        r = c.post("/accesskeys", json={"name": f"k{i}", "expire": DAY})
        assert r.status_code == 200, r.text
        created.append(r.json()["id"])
    expected = [*reversed(created), TUTORIAL_KEY_ID]

    def no_token(r: httpx.Response) -> None:
        assert not TOKEN_KEY_RE.search(r.text)

    items, pages = page_through(c, profile, page_size, len(expected), no_token)
    assert [o["id"] for o in items] == expected
    creates = [parse_ts(o["tm_create"], profile) for o in items]
    assert strictly_decreasing(creates), "not newest first"
    full = -(-len(expected) // page_size)
    assert len(pages) == (full if profile == "docs" else full + 1), pages
