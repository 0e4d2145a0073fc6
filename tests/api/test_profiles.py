"""The two profiles (product.md §1) side by side, and the rules both share.

Every row of the profile table is asserted in both ``docs`` and ``live`` with exact
values; expected timestamps are computed here from the fake's clock, with this
file's own formatters, not the package's.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from ..conftest import (
    ADMIN_LOGIN,
    CREATED_FIELDS,
    EXPIRED_KEY_ID,
    EXPIRING_KEY_ID,
    EXPIRING_TOKEN,
    SECOND_KEY_ID,
    SECOND_TOKEN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
    TUTORIAL_TOKEN,
)

US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SENTINEL = "9999-01-01T00:00:00.000000Z"
TOKEN_RE = re.compile(r"^vb_[A-Za-z0-9_-]{32}$")
_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$")
ONE_YEAR = 31_536_000
FRACTIONAL_NOW = "2026-12-01T10:15:30.120000Z"
WHOLE_NOW = "2026-12-01T10:15:30Z"


# --- time, independently of fakevoipbin ---------------------------------------------


def to_us(text: str) -> int:
    """Microseconds since the epoch of a timestamp the API printed (either layout)."""
    m = _STAMP.match(text)
    assert m, f"not an API timestamp: {text!r}"
    y, mo, d, hh, mm, ss, frac = m.groups()
    dt = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss), tzinfo=timezone.utc)
    return (dt - EPOCH) // timedelta(microseconds=1) + int((frac or "0").ljust(6, "0"))


def fixed(us: int) -> str:
    dt = EPOCH + timedelta(microseconds=us)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{us % US:06d}Z"


def trimmed(us: int) -> str:
    dt = EPOCH + timedelta(microseconds=us)
    frac = f"{us % US:06d}".rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def fmt(profile: str, us: int) -> str:
    return fixed(us) if profile == "docs" else trimmed(us)


def profile_of(fake) -> str:
    return fake.state.profile.name


def create(client, expire: int = 86_400, **fields):
    r = client.post("/accesskeys", json={"expire": expire, **fields})
    assert r.status_code == 200, r.text
    return r.json()


def error_of(r) -> tuple[int, str, str, str]:
    e = r.json()["error"]
    return r.status_code, e["status"], e["reason"], e["message"]


NOT_FOUND_DOCS = (404, "NOT_FOUND", "ACCESSKEY_NOT_FOUND", "The access key was not found.")
INVALID_DATA = (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The request contains invalid data.")
STATE_INVALID = (
    409,
    "FAILED_PRECONDITION",
    "STATE_INVALID",
    "The operation is invalid for the current resource state.",
)
INVALID_CREDENTIALS = (
    401,
    "UNAUTHENTICATED",
    "INVALID_CREDENTIALS",
    "The provided credentials are invalid.",
)
INVALID_REQUEST = (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The request is invalid.")


def by_id(method: str, client, key_id: str):
    url = f"/accesskeys/{key_id}"
    if method == "PUT":
        return client.put(url, json={"name": "renamed"})
    return client.request(method, url)


# --- the profile table, row by row --------------------------------------------------


def test_tm_update_on_create(fake):
    c = fake.client()
    created = create(c, name="k")
    got = c.get(f"/accesskeys/{created['id']}").json()
    listed = c.get("/accesskeys").json()["result"][0]
    tutorial = c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()
    assert listed["id"] == created["id"]
    if profile_of(fake) == "docs":
        for obj in (created, got, listed, tutorial):
            assert obj["tm_update"] == obj["tm_create"]
    else:
        for obj in (created, got, listed, tutorial):
            assert obj["tm_update"] is None
            assert "tm_update" in obj


def test_tm_delete_of_live_key(fake):
    c = fake.client()
    created = create(c)
    objects = [
        created,
        c.get(f"/accesskeys/{created['id']}").json(),
        c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").json(),
        *c.get("/accesskeys").json()["result"],
        c.put(f"/accesskeys/{created['id']}", json={"name": "x"}).json(),
    ]
    expected = SENTINEL if profile_of(fake) == "docs" else None
    for obj in objects:
        assert "tm_delete" in obj
        assert obj["tm_delete"] == expected


@pytest.mark.parametrize(
    "profile, tm_create, tm_expire",
    [
        ("docs", "2026-12-01T10:15:30.120000Z", "2027-12-01T10:15:30.120000Z"),
        ("live", "2026-12-01T10:15:30.12Z", "2027-12-01T10:15:30.12Z"),
    ],
)
def test_timestamp_text_fixture_key_fractional(make_fake, profile, tm_create, tm_expire):
    fake = make_fake(profile=profile, now=FRACTIONAL_NOW)
    got = fake.client().get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()
    assert got["tm_create"] == tm_create
    assert got["tm_expire"] == tm_expire


@pytest.mark.parametrize(
    "profile, tm_create, tm_expire",
    [
        ("docs", "2026-12-01T10:15:30.000000Z", "2027-12-01T10:15:30.000000Z"),
        ("live", "2026-12-01T10:15:30Z", "2027-12-01T10:15:30Z"),
    ],
)
def test_timestamp_text_fixture_key_whole_second(make_fake, profile, tm_create, tm_expire):
    fake = make_fake(profile=profile, now=WHOLE_NOW)
    c = fake.client()
    got = c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()
    assert got["tm_create"] == tm_create
    assert got["tm_expire"] == tm_expire
    listed = c.get("/accesskeys").json()["result"]
    assert [(k["tm_create"], k["tm_expire"]) for k in listed] == [(tm_create, tm_expire)]


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_timestamp_text_created_key_steps_after_fixture(make_fake, profile):
    # The fixture key holds .120000; a create on the frozen clock gets 1 µs later.
    fake = make_fake(profile=profile, now=FRACTIONAL_NOW)
    created = create(fake.client(), expire=86_400)
    t = fake.clock.now_us()
    assert t == to_us(FRACTIONAL_NOW) + 1
    expected = ("2026-12-01T10:15:30.120001Z", "2026-12-02T10:15:30.120001Z")
    assert (created["tm_create"], created["tm_expire"]) == expected
    assert created["tm_create"] == fmt(profile, t)


@pytest.mark.parametrize(
    "profile, text",
    [("docs", "2026-12-05T08:00:00.000000Z"), ("live", "2026-12-05T08:00:00Z")],
)
def test_timestamp_text_created_at_whole_second(make_fake, profile, text):
    fake = make_fake(profile=profile, now=FRACTIONAL_NOW)
    fake.clock.set(to_us("2026-12-05T08:00:00Z"))
    c = fake.client()
    created = create(c, expire=86_400)
    assert fake.clock.now_us() == to_us("2026-12-05T08:00:00Z")
    assert created["tm_create"] == text
    assert created["tm_expire"] == text.replace("12-05", "12-06")
    assert c.get(f"/accesskeys/{created['id']}").json()["tm_create"] == text

    fake.clock.set(to_us("2026-12-07T00:00:00.500000Z"))
    updated = c.put(f"/accesskeys/{created['id']}", json={"name": "n"}).json()
    half = {"docs": "2026-12-07T00:00:00.500000Z", "live": "2026-12-07T00:00:00.5Z"}[profile]
    assert updated["tm_update"] == half
    assert updated["tm_create"] == text


@pytest.mark.parametrize(
    "profile, text",
    [("docs", "2026-12-09T00:00:00.000000Z"), ("live", "2026-12-09T00:00:00Z")],
)
def test_timestamp_text_delete(make_fake, profile, text):
    fake = make_fake(profile=profile, now=WHOLE_NOW)
    c = fake.client()
    created = create(c)
    fake.clock.set(to_us("2026-12-09T00:00:00Z"))
    deleted = c.delete(f"/accesskeys/{created['id']}").json()
    assert deleted["tm_delete"] == text
    assert deleted["tm_update"] == text


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_next_page_token(make_fake, profile):
    fake = make_fake(profile=profile, now=WHOLE_NOW)
    c = fake.client()
    a = create(c, name="a")  # tm_create .000001
    b = create(c, name="b")  # tm_create .000002
    assert (to_us(a["tm_create"]), to_us(b["tm_create"])) == (
        to_us(WHOLE_NOW) + 1,
        to_us(WHOLE_NOW) + 2,
    )

    first = c.get("/accesskeys", params={"page_size": 2}).json()
    assert [k["id"] for k in first["result"]] == [b["id"], a["id"]]
    # Both profiles: a next page exists, and the cursor is the last tm_create, 6 digits.
    assert first["next_page_token"] == "2026-12-01T10:15:30.000001Z"

    second = c.get(
        "/accesskeys", params={"page_size": 2, "page_token": first["next_page_token"]}
    ).json()
    assert [k["id"] for k in second["result"]] == [TUTORIAL_KEY_ID]
    tutorial_text = second["result"][0]["tm_create"]
    if profile == "docs":
        assert tutorial_text == "2026-12-01T10:15:30.000000Z"
        assert second["next_page_token"] is None
    else:
        # A short last page still carries a cursor, in the fixed layout though the
        # object's own timestamp is trimmed.
        assert tutorial_text == "2026-12-01T10:15:30Z"
        assert second["next_page_token"] == "2026-12-01T10:15:30.000000Z"

    third = c.get(
        "/accesskeys", params={"page_size": 2, "page_token": "2026-12-01T10:15:30.000000Z"}
    ).json()
    assert third["result"] == []
    assert third["next_page_token"] == (None if profile == "docs" else "")


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_next_page_token_exactly_full_page(make_fake, profile):
    fake = make_fake(profile=profile, now=WHOLE_NOW)
    c = fake.client()
    create(c)
    create(c)
    page = c.get("/accesskeys", params={"page_size": 3}).json()
    assert len(page["result"]) == 3
    if profile == "docs":
        assert page["next_page_token"] is None
    else:
        assert page["next_page_token"] == "2026-12-01T10:15:30.000000Z"
    whole = c.get("/accesskeys").json()
    assert len(whole["result"]) == 3
    assert whole["next_page_token"] == (
        None if profile == "docs" else "2026-12-01T10:15:30.000000Z"
    )


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_next_page_token_empty_page(make_fake, profile):
    fake = make_fake(profile=profile)
    empty = None if profile == "docs" else ""
    c = fake.client()
    page = c.get("/accesskeys", params={"page_token": "2000-01-01T00:00:00.000000Z"}).json()
    assert page == {"result": [], "next_page_token": empty}
    # A customer with no live key at all: the admin's login deletes the only one.
    admin = fake.client(None, headers={"Authorization": f"Bearer {fake.login(ADMIN_LOGIN)}"})
    assert admin.delete(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code == 200
    assert admin.get("/accesskeys").json() == {"result": [], "next_page_token": empty}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_key_id(fake, method):
    r = by_id(method, fake.client(), str(uuid.UUID(int=0x1234_5678)))
    expected = NOT_FOUND_DOCS if profile_of(fake) == "docs" else INVALID_DATA
    assert error_of(r) == expected


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_deleted_key_id(fake, method):
    c = fake.client()
    created = create(c, name="doomed")
    assert c.delete(f"/accesskeys/{created['id']}").status_code == 200
    r = by_id(method, c, created["id"])
    expected = NOT_FOUND_DOCS if profile_of(fake) == "docs" else STATE_INVALID
    assert error_of(r) == expected


def test_deleted_fixture_key_second_delete(fake):
    c = fake.client(SECOND_TOKEN)
    assert c.delete(f"/accesskeys/{EXPIRED_KEY_ID}").status_code == 200
    r = c.delete(f"/accesskeys/{EXPIRED_KEY_ID}")
    expected = NOT_FOUND_DOCS if profile_of(fake) == "docs" else STATE_INVALID
    assert error_of(r) == expected


def test_accesskey_as_bearer(fake):
    c = fake.client(None, headers={"Authorization": f"Bearer {TUTORIAL_TOKEN}"})
    r = c.get(f"/accesskeys/{TUTORIAL_KEY_ID}")
    if profile_of(fake) == "docs":
        assert r.status_code == 200
        assert r.json()["id"] == TUTORIAL_KEY_ID
        assert c.get("/accesskeys").status_code == 200
    else:
        assert error_of(r) == INVALID_CREDENTIALS
        assert error_of(c.get("/accesskeys")) == INVALID_CREDENTIALS


def test_login_jwt_as_bearer_in_both_profiles(fake):
    jwt = fake.login(ADMIN_LOGIN)
    r = fake.client(None, headers={"Authorization": f"Bearer {jwt}"}).get("/accesskeys")
    assert r.status_code == 200
    assert r.json()["result"][0]["id"] == TUTORIAL_KEY_ID


@pytest.mark.parametrize("expire", [2_147_483_648, 4_294_967_296 + 86_400, 2**40])
def test_expire_above_int32_docs_refused(docs, expire):
    r = docs.client().post("/accesskeys", json={"expire": expire})
    assert error_of(r) == INVALID_REQUEST
    assert "expire" in [d["field"] for d in r.json()["error"]["details"]]


def test_expire_int32_max_accepted_in_both(fake):
    created = create(fake.client(), expire=2_147_483_647)
    span = to_us(created["tm_expire"]) - to_us(created["tm_create"])
    assert span == 2_147_483_647 * US


def test_expire_above_int32_live_wraps(live):
    c = live.client()
    created = create(c, expire=4_294_967_296 + 86_400)
    assert to_us(created["tm_expire"]) - to_us(created["tm_create"]) == 86_400 * US
    assert to_us(created["tm_create"]) == live.clock.now_us()
    # 2**31 wraps to -2**31: below the minimum.
    r = c.post("/accesskeys", json={"expire": 2_147_483_648})
    assert error_of(r) == INVALID_REQUEST
    assert "details" not in r.json()["error"]  # live: production's four fields alone
    assert "expire" in [d["field"] for d in live.state.journal.entries()[-1].request_violations]
    # 2**32 + 2**31 - 1 wraps to 2**31 - 1.
    big = create(c, expire=2**32 + 2**31 - 1)
    assert to_us(big["tm_expire"]) - to_us(big["tm_create"]) == (2**31 - 1) * US


# --- rules both profiles share ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"expire": 86_399}, {"expire": 0}, {"expire": -1}, {}, {"expire": None}, {"name": "n"}],
    ids=["86399", "zero", "negative", "missing", "null", "name-only"],
)
def test_expire_minimum(fake, body):
    r = fake.client().post("/accesskeys", json=body)
    assert error_of(r) == INVALID_REQUEST
    if fake.state.profile.name == "live":  # no details on a 400: the journal keeps them
        assert "details" not in r.json()["error"]
        details = fake.state.journal.entries()[-1].request_violations
    else:
        details = r.json()["error"]["details"]
    assert [d["field"] for d in details] == ["expire"]
    # Nothing was created.
    assert [k["id"] for k in fake.client().get("/accesskeys").json()["result"]] == [TUTORIAL_KEY_ID]


@pytest.mark.parametrize("expire", [86_400, 86_401, 2_592_000 + 7, ONE_YEAR])
def test_tm_expire_is_tm_create_plus_expire(fake, expire):
    c = fake.client()
    fake.clock.advance(12.345678)
    created = create(c, expire=expire)
    t = fake.clock.now_us()
    assert to_us(created["tm_create"]) == t
    assert to_us(created["tm_expire"]) == t + expire * US
    assert created["tm_create"] == fmt(profile_of(fake), t)
    assert created["tm_expire"] == fmt(profile_of(fake), t + expire * US)
    got = c.get(f"/accesskeys/{created['id']}").json()
    assert (got["tm_create"], got["tm_expire"]) == (created["tm_create"], created["tm_expire"])


def test_create_response_fields(fake):
    c = fake.client()
    created = create(c, name="My key", detail="For tests", expire=ONE_YEAR)
    assert list(created) == CREATED_FIELDS
    assert str(uuid.UUID(created["id"])) == created["id"]
    assert created["customer_id"] == TUTORIAL_CUSTOMER
    assert (created["name"], created["detail"]) == ("My key", "For tests")


def test_token_format_and_prefix(fake):
    c = fake.client()
    tokens = set()
    for _ in range(5):
        created = create(c)
        token = created["token"]
        assert TOKEN_RE.match(token), token
        assert len(token) == 35
        assert created["token_prefix"] == token[:11]
        tokens.add(token)
        got = c.get(f"/accesskeys/{created['id']}").json()
        assert "token" not in got
        assert got["token_prefix"] == token[:11]
        # The new token works as a credential.
        assert fake.client(token).get(f"/accesskeys/{created['id']}").status_code == 200
    assert len(tokens) == 5
    for item in c.get("/accesskeys").json()["result"]:
        assert "token" not in item


def test_page_size_clamping(fake):
    c = fake.client()
    ids = [create(c)["id"] for _ in range(101)]
    newest_first = [*reversed(ids), TUTORIAL_KEY_ID]
    for params in ({"page_size": 0}, {"page_size": -1}, {"page_size": 101}, {}, {"page_size": 100}):
        page = c.get("/accesskeys", params=params).json()
        assert [k["id"] for k in page["result"]] == newest_first[:100], params
    for size in (1, 5, 99):
        page = c.get("/accesskeys", params={"page_size": size}).json()
        assert [k["id"] for k in page["result"]] == newest_first[:size]
    rest = c.get(
        "/accesskeys", params={"page_token": c.get("/accesskeys").json()["next_page_token"]}
    ).json()
    assert [k["id"] for k in rest["result"]] == newest_first[100:]


def test_cursor_newest_first(fake):
    c = fake.client()
    made = []
    for i in range(6):
        fake.clock.advance(7 if i % 2 else 0.25)
        made.append(create(c, name=f"k{i}"))
    everything = c.get("/accesskeys").json()["result"]
    expected = [k["id"] for k in reversed(made)] + [TUTORIAL_KEY_ID]
    assert [k["id"] for k in everything] == expected
    stamps = [to_us(k["tm_create"]) for k in everything]
    assert stamps == sorted(stamps, reverse=True)
    assert len(set(stamps)) == len(stamps)

    # Walk with page_size 2: each page holds keys strictly older than its token.
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = c.get("/accesskeys", params={"page_size": 2, "page_token": token}).json()
        if not page["result"]:
            break
        if token:
            assert all(to_us(k["tm_create"]) < to_us(token) for k in page["result"])
        seen += [k["id"] for k in page["result"]]
        token = page["next_page_token"]
        assert token is None or token == fixed(to_us(page["result"][-1]["tm_create"]))
        if token is None:
            break
    assert seen == expected

    # The token is exclusive: a key's own tm_create leaves it out.
    third = everything[2]
    page = c.get("/accesskeys", params={"page_token": fixed(to_us(third["tm_create"]))}).json()
    assert [k["id"] for k in page["result"]] == expected[3:]


def test_deleted_keys_left_out_of_list(fake):
    c = fake.client()
    a, b, d = create(c, name="a"), create(c, name="b"), create(c, name="d")
    assert c.delete(f"/accesskeys/{b['id']}").status_code == 200
    ids = [k["id"] for k in c.get("/accesskeys").json()["result"]]
    assert ids == [d["id"], a["id"], TUTORIAL_KEY_ID]
    token = fixed(to_us(d["tm_create"]))
    page = c.get("/accesskeys", params={"page_size": 1, "page_token": token}).json()
    assert [k["id"] for k in page["result"]] == [a["id"]]


def test_expired_keys_still_listed(fake):
    c = fake.client(SECOND_TOKEN)
    now = fake.clock.now_us()
    listed = c.get("/accesskeys").json()["result"]
    assert [k["id"] for k in listed] == [SECOND_KEY_ID, EXPIRING_KEY_ID, EXPIRED_KEY_ID]
    expired = listed[2]
    assert to_us(expired["tm_expire"]) < now
    assert to_us(expired["tm_expire"]) == now - 86_400 * US
    assert c.get(f"/accesskeys/{EXPIRED_KEY_ID}").status_code == 200
    # Once the expiring key passes its tm_expire it is still listed too.
    fake.clock.advance(301)
    listed = c.get("/accesskeys").json()["result"]
    assert [k["id"] for k in listed] == [SECOND_KEY_ID, EXPIRING_KEY_ID, EXPIRED_KEY_ID]


def test_key_valid_until_the_instant_of_tm_expire(fake):
    c = fake.client(EXPIRING_TOKEN)
    fake.clock.advance(300)
    assert c.get("/accesskeys").status_code == 200
    fake.clock.advance(0.000001)
    assert error_of(c.get("/accesskeys")) == INVALID_CREDENTIALS


def test_put_overwrites_omitted_fields(fake):
    c = fake.client()
    created = create(c, name="n", detail="d")
    url = f"/accesskeys/{created['id']}"

    only_name = c.put(url, json={"name": "new name"}).json()
    assert only_name["name"] == "new name"
    assert "detail" not in only_name
    assert "detail" not in c.get(url).json()

    only_detail = c.put(url, json={"detail": "new detail"}).json()
    assert only_detail["detail"] == "new detail"
    assert "name" not in only_detail

    blank = c.put(url, json={}).json()
    assert "name" not in blank and "detail" not in blank
    got = c.get(url).json()
    assert "name" not in got and "detail" not in got
    assert list(got) == [
        "id",
        "customer_id",
        "token_prefix",
        "tm_expire",
        "tm_create",
        "tm_update",
        "tm_delete",
    ]

    explicit_null = c.put(url, json={"name": "x", "detail": None}).json()
    assert explicit_null["name"] == "x" and "detail" not in explicit_null


def test_put_sets_tm_update(fake):
    c = fake.client()
    created = create(c)
    fake.clock.advance(60)
    updated = c.put(f"/accesskeys/{created['id']}", json={"name": "x"}).json()
    t = fake.clock.now_us()
    assert updated["tm_update"] == fmt(profile_of(fake), t)
    assert to_us(updated["tm_update"]) == to_us(created["tm_create"]) + 60 * US
    assert updated["tm_create"] == created["tm_create"]
    assert "token" not in updated


def test_put_ignores_expire_and_token(fake):
    c = fake.client()
    created = create(c, name="n", expire=86_400)
    other_token = "vb_" + "A" * 32
    r = c.put(
        f"/accesskeys/{created['id']}",
        json={"name": "m", "expire": ONE_YEAR, "token": other_token, "id": str(uuid.uuid4())},
    )
    assert r.status_code == 200
    updated = r.json()
    assert updated["id"] == created["id"]
    assert updated["tm_expire"] == created["tm_expire"]
    assert updated["token_prefix"] == created["token_prefix"]
    assert "token" not in updated
    assert fake.client(created["token"]).get("/accesskeys").status_code == 200
    assert error_of(fake.client(other_token).get("/accesskeys")) == INVALID_CREDENTIALS


def test_soft_delete(fake):
    c = fake.client()
    created = create(c, name="n", detail="d")
    fake.clock.advance(5)
    r = c.delete(f"/accesskeys/{created['id']}")
    assert r.status_code == 200
    deleted = r.json()
    t = fake.clock.now_us()
    assert "token" not in deleted
    assert deleted["tm_delete"] == deleted["tm_update"] == fmt(profile_of(fake), t)
    assert {k: deleted[k] for k in ("id", "customer_id", "name", "detail", "token_prefix")} == {
        k: created[k] for k in ("id", "customer_id", "name", "detail", "token_prefix")
    }
    assert (deleted["tm_create"], deleted["tm_expire"]) == (
        created["tm_create"],
        created["tm_expire"],
    )


def test_key_may_delete_itself(fake):
    c = fake.client()
    created = create(c)
    own = fake.client(created["token"])
    r = own.delete(f"/accesskeys/{created['id']}")
    assert r.status_code == 200
    assert r.json()["id"] == created["id"]
    assert error_of(own.get("/accesskeys")) == INVALID_CREDENTIALS

    # The tutorial key too.
    r = c.delete(f"/accesskeys/{TUTORIAL_KEY_ID}")
    assert r.status_code == 200
    assert error_of(c.get("/accesskeys")) == INVALID_CREDENTIALS


def test_deleted_key_stops_authenticating(fake):
    c = fake.client()
    created = create(c)
    other = fake.client(created["token"])
    assert other.get("/accesskeys").status_code == 200
    assert c.delete(f"/accesskeys/{created['id']}").status_code == 200
    for r in (
        other.get("/accesskeys"),
        other.get(f"/accesskeys/{TUTORIAL_KEY_ID}"),
        other.post("/accesskeys", json={"expire": 86_400}),
    ):
        assert error_of(r) == INVALID_CREDENTIALS
