"""Authentication, credential lookup, expiry, id spellings, body tolerance, request ids,
CORS, routing and the wire shape of success bodies (facts §0, §2, §4, §5, §7; product §1,
§5, §7, §10)."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import datetime, timezone
from typing import Any

import httpx
import jwt as pyjwt
import pytest
import yaml

from fakevoipbin.core.clock import format_fixed

from ..conftest import (
    ADMIN_LOGIN,
    CREATED_FIELDS,
    EXPIRED_TOKEN,
    EXPIRING_KEY_ID,
    EXPIRING_TOKEN,
    NOW,
    SECOND_CUSTOMER,
    SECOND_KEY_ID,
    SECOND_TOKEN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
    TUTORIAL_TOKEN,
)

US = 1_000_000
SECOND_LOGIN = {"username": "second-admin@example.com", "password": "second-password"}
GENERATED_ID = re.compile(r"^req_[A-Z2-7]{26}$")
SLOTS = ("token_cookie", "token_query", "bearer", "accesskey_cookie", "accesskey_query")
KEY_FIELDS = CREATED_FIELDS
SET_COOKIE = "token={}; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict"
FOREIGN_ORIGIN = "https://app.example.com"


def to_us(ts: str) -> int:
    """Microseconds since the epoch of a ``...Z`` timestamp (6-digit or trimmed)."""
    head, _, frac = ts.rstrip("Z").partition(".")
    dt = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * US + int(frac.ljust(6, "0"))


NOW_US = to_us(NOW)


def error_of(r: httpx.Response, status: int, reason: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["reason"] == reason, r.text
    assert err["request_id"] == r.headers["x-request-id"]
    return err


def send(client: httpx.Client, creds: dict[str, str], path: str = "/accesskeys", **kw: Any):
    """GET ``path`` with credentials placed in the named slots."""
    params: dict[str, str] = {}
    headers: dict[str, str] = dict(kw.pop("headers", {}))
    cookies = []
    for slot, value in creds.items():
        if slot == "token_cookie":
            cookies.append(f"token={value}")
        elif slot == "token_query":
            params["token"] = value
        elif slot == "bearer":
            headers["Authorization"] = f"Bearer {value}"
        elif slot == "accesskey_cookie":
            cookies.append(f"accesskey={value}")
        else:
            assert slot == "accesskey_query"
            params["accesskey"] = value
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    return client.get(path, params=params, headers=headers, **kw)


def credentials(fake: Any) -> dict[str, dict[str, str]]:
    """For each customer: a JWT (for the token slots) and an access key."""
    return {
        TUTORIAL_CUSTOMER: {"token": fake.login(ADMIN_LOGIN), "accesskey": TUTORIAL_TOKEN},
        SECOND_CUSTOMER: {"token": fake.login(SECOND_LOGIN), "accesskey": SECOND_TOKEN},
    }


def kind_of(slot: str) -> str:
    return "accesskey" if slot.startswith("accesskey") else "token"


def listed_customer(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    owners = {k["customer_id"] for k in r.json()["result"]}
    assert len(owners) == 1
    return owners.pop()


# --- credential lookup order ----------------------------------------------------------

PAIRS = list(itertools.combinations(SLOTS, 2))


@pytest.mark.parametrize(("first", "later"), PAIRS, ids=[f"{a}>{b}" for a, b in PAIRS])
def test_earlier_credential_slot_wins(fake, first, later):
    creds = credentials(fake)
    c = fake.client(None)
    for winner, loser in (
        (TUTORIAL_CUSTOMER, SECOND_CUSTOMER),
        (SECOND_CUSTOMER, TUTORIAL_CUSTOMER),
    ):
        r = send(c, {first: creds[winner][kind_of(first)], later: creds[loser][kind_of(later)]})
        assert listed_customer(r) == winner


@pytest.mark.parametrize(("first", "later"), PAIRS, ids=[f"{a}>{b}" for a, b in PAIRS])
def test_bad_earlier_credential_is_not_rescued(fake, first, later):
    creds = credentials(fake)
    bad = {"token": "not.a.jwt", "accesskey": "vb_" + "x" * 32}[kind_of(first)]
    r = send(fake.client(None), {first: bad, later: creds[TUTORIAL_CUSTOMER][kind_of(later)]})
    error_of(r, 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize(("first", "later"), PAIRS, ids=[f"{a}>{b}" for a, b in PAIRS])
def test_empty_credential_counts_as_absent(fake, first, later):
    creds = credentials(fake)
    r = send(fake.client(None), {first: "", later: creds[SECOND_CUSTOMER][kind_of(later)]})
    assert listed_customer(r) == SECOND_CUSTOMER


def test_no_or_empty_credentials_need_authentication(fake):
    c = fake.client(None)
    error_of(c.get("/accesskeys"), 401, "AUTHENTICATION_REQUIRED")
    error_of(c.get("/accesskeys?accesskey="), 401, "AUTHENTICATION_REQUIRED")
    error_of(send(c, dict.fromkeys(SLOTS, "")), 401, "AUTHENTICATION_REQUIRED")
    # "Bearer " is case-sensitive: anything else is no bearer credential at all
    for header in ("bearer " + TUTORIAL_TOKEN, "Token " + TUTORIAL_TOKEN, TUTORIAL_TOKEN):
        r = c.get("/accesskeys", headers={"Authorization": header})
        error_of(r, 401, "AUTHENTICATION_REQUIRED")


@pytest.mark.parametrize("slot", ["accesskey_cookie", "accesskey_query"])
def test_accesskey_in_cookie_or_query(fake, slot):
    r = send(fake.client(None), {slot: SECOND_TOKEN})
    assert listed_customer(r) == SECOND_CUSTOMER


@pytest.mark.parametrize("slot", ["accesskey_cookie", "accesskey_query"])
def test_unknown_accesskey_is_invalid(fake, slot):
    r = send(fake.client(None), {slot: "vb_" + "Q" * 32})
    error_of(r, 401, "INVALID_CREDENTIALS")


def test_login_response_body_and_cookie(fake):
    r = fake.client(None, root=True).post("/auth/login", json=ADMIN_LOGIN)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert GENERATED_ID.match(r.headers["x-request-id"])
    body = r.json()
    assert list(body) == ["username", "token"]
    assert body["username"] == ADMIN_LOGIN["username"]
    jwt = body["token"]
    assert jwt.count(".") == 2
    assert r.headers.get_list("set-cookie") == [SET_COOKIE.format(jwt)]


def test_login_jwt_carries_productions_claims(fake):
    """HS256, claims ``type``, ``agent`` and ``expire`` as text (seven days of the
    fake's clock, compared as a string); no ``exp``, as production issues them."""
    token = fake.login(ADMIN_LOGIN)
    assert pyjwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = pyjwt.decode(token, fake.state.secret, algorithms=["HS256"])
    assert set(claims) == {"type", "agent", "expire"}
    assert claims["type"] == "agent"
    assert claims["agent"]["customer_id"] == TUTORIAL_CUSTOMER
    assert claims["agent"]["username"] == ADMIN_LOGIN["username"]
    assert claims["expire"] == format_fixed(fake.clock.now_us() + 7 * 86400 * 1_000_000)


@pytest.mark.parametrize(
    "login",
    [
        {"username": ADMIN_LOGIN["username"], "password": "wrong"},
        {"username": "nobody@example.com", "password": "admin-password"},
        {"username": ADMIN_LOGIN["username"]},
        {"username": "", "password": ""},
        "not json",
    ],
)
def test_login_failure_is_a_bare_400(fake, login):
    c = fake.client(None, root=True)
    r = (
        c.post("/auth/login", content=login)
        if isinstance(login, str)
        else c.post("/auth/login", json=login)
    )
    assert r.status_code == 400
    assert r.content == b""
    assert "set-cookie" not in r.headers
    assert GENERATED_ID.match(r.headers["x-request-id"])


@pytest.mark.parametrize("slot", ["token_cookie", "token_query", "bearer"])
def test_login_jwt_authenticates_in_every_token_slot(fake, slot):
    r = send(fake.client(None), {slot: fake.login(ADMIN_LOGIN)})
    assert listed_customer(r) == TUTORIAL_CUSTOMER
    r = send(fake.client(None), {slot: fake.login(SECOND_LOGIN)})
    assert listed_customer(r) == SECOND_CUSTOMER


@pytest.mark.parametrize("slot", ["token_cookie", "token_query", "bearer"])
def test_login_jwt_lasts_seven_days(fake, slot):
    jwt = fake.login(ADMIN_LOGIN)
    c = fake.client(None)
    fake.clock.advance(7 * 86400 - 1)
    assert send(c, {slot: jwt}).status_code == 200
    fake.clock.advance(2)
    error_of(send(c, {slot: jwt}), 401, "INVALID_CREDENTIALS")
    # a fresh login works again
    assert send(c, {slot: fake.login(ADMIN_LOGIN)}).status_code == 200


@pytest.mark.parametrize("slot", ["token_cookie", "token_query", "bearer"])
def test_jwt_signed_with_another_seeds_secret_is_refused(fake, make_fake, slot):
    other = make_fake(profile=fake.state.profile.name, seed=1)
    foreign = other.login(ADMIN_LOGIN)
    assert send(other.client(None), {slot: foreign}).status_code == 200
    error_of(send(fake.client(None), {slot: foreign}), 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "x", "eyJ.eyJ.sig", TUTORIAL_TOKEN])
def test_garbage_jwt_is_invalid(fake, token):
    # the token slots are always read as a JWT, even when they hold a valid access key
    r = fake.client(None).get("/accesskeys", params={"token": token})
    error_of(r, 401, "INVALID_CREDENTIALS")


def test_accesskey_as_bearer_docs_accepts(docs):
    r = docs.client(None).get("/accesskeys", headers={"Authorization": f"Bearer {SECOND_TOKEN}"})
    assert listed_customer(r) == SECOND_CUSTOMER


def test_accesskey_as_bearer_live_refuses(live):
    c = live.client(None)
    r = c.get("/accesskeys", headers={"Authorization": f"Bearer {SECOND_TOKEN}"})
    error_of(r, 401, "INVALID_CREDENTIALS")
    # and a valid accesskey behind it does not rescue it
    r = c.get(
        "/accesskeys",
        params={"accesskey": SECOND_TOKEN},
        headers={"Authorization": f"Bearer {SECOND_TOKEN}"},
    )
    error_of(r, 401, "INVALID_CREDENTIALS")


# --- expiry and isolation ----------------------------------------------------------


def test_expiring_key_is_valid_until_its_exact_tm_expire(fake):
    tm_expire = NOW_US + 300 * US
    shown = fake.client(SECOND_TOKEN).get(f"/accesskeys/{EXPIRING_KEY_ID}").json()
    assert to_us(shown["tm_expire"]) == tm_expire
    c = fake.client(EXPIRING_TOKEN)
    assert listed_customer(c.get("/accesskeys")) == SECOND_CUSTOMER
    fake.clock.set(tm_expire)
    assert c.get(f"/accesskeys/{EXPIRING_KEY_ID}").status_code == 200
    fake.clock.set(tm_expire + 1)
    error_of(c.get(f"/accesskeys/{EXPIRING_KEY_ID}"), 401, "INVALID_CREDENTIALS")
    # an expired key is still listed and shown to its customer
    ids = [k["id"] for k in fake.client(SECOND_TOKEN).get("/accesskeys").json()["result"]]
    assert EXPIRING_KEY_ID in ids


def test_expired_fixture_key_is_refused(fake):
    error_of(fake.client(EXPIRED_TOKEN).get("/accesskeys"), 401, "INVALID_CREDENTIALS")


def test_created_key_works_until_its_tm_expire(fake):
    r = fake.client().post("/accesskeys", json={"expire": 86400, "name": "short"})
    assert r.status_code == 200
    created = r.json()
    tm_expire = to_us(created["tm_expire"])
    assert tm_expire == to_us(created["tm_create"]) + 86400 * US
    c = fake.client(created["token"])
    assert listed_customer(c.get("/accesskeys")) == TUTORIAL_CUSTOMER
    fake.clock.set(tm_expire)
    assert c.get(f"/accesskeys/{created['id']}").status_code == 200
    fake.clock.set(tm_expire + 1)
    error_of(c.get(f"/accesskeys/{created['id']}"), 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize(
    ("caller_login", "caller_token", "owner_token", "key_id"),
    [
        (ADMIN_LOGIN, TUTORIAL_TOKEN, SECOND_TOKEN, SECOND_KEY_ID),
        (SECOND_LOGIN, SECOND_TOKEN, TUTORIAL_TOKEN, TUTORIAL_KEY_ID),
    ],
    ids=["tutorial->second", "second->tutorial"],
)
def test_other_customers_key_is_404_and_untouched(
    fake, caller_login, caller_token, owner_token, key_id
):
    owner = fake.client(owner_token)
    before = owner.get(f"/accesskeys/{key_id}")
    assert before.status_code == 200
    fresh = fake.client(caller_token).post("/accesskeys", json={"expire": 86400}).json()["token"]
    callers = [
        fake.client(caller_token),
        fake.client(fresh),
        fake.client(None, headers={"Authorization": "Bearer " + fake.login(caller_login)}),
    ]
    for c in callers:
        for r in (
            c.get(f"/accesskeys/{key_id}"),
            c.put(f"/accesskeys/{key_id}", json={"name": "hijacked", "detail": "x"}),
            c.delete(f"/accesskeys/{key_id}"),
        ):
            err = error_of(r, 404, "RESOURCE_NOT_FOUND")
            assert err["status"] == "NOT_FOUND"
            assert err["message"] == "The requested resource was not found."
    after = owner.get(f"/accesskeys/{key_id}")
    assert after.content == before.content
    assert key_id in [k["id"] for k in owner.get("/accesskeys").json()["result"]]


# --- id spellings ------------------------------------------------------------------

KID = TUTORIAL_KEY_ID
HEX = KID.replace("-", "")
GOOD_IDS = {
    "canonical": KID,
    "upper": KID.upper(),
    "hex32": HEX,
    "hex32-upper": HEX.upper(),
    "braced": "{" + KID + "}",
    "braced-hex32": "{" + HEX + "}",
    "braced-upper": "{" + KID.upper() + "}",
    "urn": "urn:uuid:" + KID,
    "urn-hex32": "urn:uuid:" + HEX,
    "urn-upper-digits": "urn:uuid:" + KID.upper(),
}
BAD_IDS = {
    "nil": "00000000-0000-0000-0000-000000000000",
    "nil-hex32": "0" * 32,
    "dash-moved": KID[:8] + KID[9] + "-" + KID[10:],
    "one-dash-only": HEX[:8] + "-" + HEX[8:],
    "35-chars": KID[:-1],
    "37-chars": KID + "0",
    "non-hex": "g" + KID[1:],
    "URN-UUID-upper-prefix": "URN:UUID:" + KID,
    "urn-braced": "urn:uuid:{" + KID + "}",
    "unbalanced-brace": "{" + KID,
    "31-hex": HEX[:-1],
    "word": "tutorial",
}


@pytest.mark.parametrize("spelling", list(GOOD_IDS.values()), ids=list(GOOD_IDS))
def test_accepted_id_spellings(fake, spelling):
    r = fake.client().get(f"/accesskeys/{spelling}")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == TUTORIAL_KEY_ID
    assert r.json()["name"] == "My New Accesskey"


def test_odd_spelling_works_for_put_and_delete(fake):
    c = fake.client()
    r = c.put("/accesskeys/urn:uuid:" + HEX.upper(), json={"name": "renamed"})
    assert r.status_code == 200
    assert r.json()["id"] == TUTORIAL_KEY_ID
    assert c.get(f"/accesskeys/{KID}").json()["name"] == "renamed"
    r = c.delete("/accesskeys/{" + KID.upper() + "}")
    assert r.status_code == 200
    assert r.json()["id"] == TUTORIAL_KEY_ID
    assert r.json()["tm_delete"] == r.json()["tm_update"]


@pytest.mark.parametrize("spelling", list(BAD_IDS.values()), ids=list(BAD_IDS))
def test_rejected_id_spellings(fake, spelling):
    for method in ("GET", "PUT", "DELETE"):
        kw = {"json": {"name": "x"}} if method == "PUT" else {}
        r = fake.client().request(method, f"/accesskeys/{spelling}", **kw)
        err = error_of(r, 400, "INVALID_ID")
        assert err["status"] == "INVALID_ARGUMENT"
        assert err["message"] == "The provided id is not a valid UUID."
    # credentials are checked before the id
    error_of(fake.client(None).get(f"/accesskeys/{spelling}"), 401, "AUTHENTICATION_REQUIRED")
    assert fake.client().get(f"/accesskeys/{KID}").json()["name"] == "My New Accesskey"


# --- body tolerance ------------------------------------------------------------------


def test_unknown_fields_are_ignored(fake):
    sent_token = "vb_" + "A" * 32
    r = fake.client().post(
        "/accesskeys",
        json={
            "expire": 86400,
            "name": "n",
            "colour": "red",
            "id": SECOND_KEY_ID,
            "customer_id": SECOND_CUSTOMER,
            "token": sent_token,
            "nested": {"a": [1, 2]},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer_id"] == TUTORIAL_CUSTOMER
    assert body["id"] != SECOND_KEY_ID
    assert body["token"] != sent_token
    assert "colour" not in body and "nested" not in body
    r = fake.client().put(
        f"/accesskeys/{KID}", json={"name": "p", "expire": 999999, "token": sent_token, "x": 1}
    )
    assert r.status_code == 200
    assert r.json()["tm_expire"] == fake.client().get(f"/accesskeys/{KID}").json()["tm_expire"]


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/xml", "bogus"],
)
def test_any_content_type_is_read_as_json(fake, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    c = fake.client()
    r = c.post("/accesskeys", content=b'{"expire":86400,"name":"typed"}', headers=headers)
    assert r.request.headers.get("content-type") == content_type
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "typed"
    r = c.put(f"/accesskeys/{KID}", content=b'{"name":"put-typed"}', headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "put-typed"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"expire":86400,"name":"t"} garbage',
        b'{"expire":86400,"name":"t"}{"name":"second value"}',
        b'{"expire":86400,"name":"t"}]]]',
        b'  \n{"expire":86400,"name":"t"}\n\n',
    ],
)
def test_bytes_after_the_json_value_are_ignored(fake, raw):
    r = fake.client().post("/accesskeys", content=raw)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "t"
    r = fake.client().put(f"/accesskeys/{KID}", content=raw.replace(b'"expire":86400,', b""))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "t"
    assert "detail" not in r.json()


def test_null_field_counts_as_missing(fake):
    c = fake.client()
    r = c.post("/accesskeys", json={"expire": 86400, "name": None, "detail": "d"})
    assert r.status_code == 200, r.text
    assert "name" not in r.json()
    assert r.json()["detail"] == "d"
    r = c.post("/accesskeys", json={"expire": None, "name": "n"})
    assert error_of(r, 400, "INVALID_ARGUMENT")["message"] == "The request is invalid."
    r = c.put(f"/accesskeys/{KID}", json={"name": None, "detail": "only detail"})
    assert r.status_code == 200
    assert "name" not in r.json()
    assert r.json()["detail"] == "only detail"


def test_json_null_body_on_put_blanks_both_fields(fake):
    c = fake.client()
    r = c.put(f"/accesskeys/{KID}", content=b"null")
    assert r.status_code == 200, r.text
    assert "name" not in r.json() and "detail" not in r.json()
    shown = c.get(f"/accesskeys/{KID}").json()
    assert "name" not in shown and "detail" not in shown
    # on POST, null binds as {}: no expire, so the business rule refuses it
    r = c.post("/accesskeys", content=b"null")
    assert error_of(r, 400, "INVALID_ARGUMENT")["message"] == "The request is invalid."


def test_body_keys_match_case_insensitively(fake):
    c = fake.client()
    r = c.post("/accesskeys", json={"EXPIRE": 86400, "Name": "cased", "dEtAiL": "dd"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "cased"
    assert r.json()["detail"] == "dd"
    assert to_us(r.json()["tm_expire"]) - to_us(r.json()["tm_create"]) == 86400 * US
    r = c.put(f"/accesskeys/{KID}", json={"NAME": "upper"})
    assert r.status_code == 200
    assert r.json()["name"] == "upper"
    assert "detail" not in r.json()


def test_html_characters_are_escaped_in_output(fake):
    name = "<script>a&b</script>"
    c = fake.client()
    r = c.post("/accesskeys", json={"expire": 86400, "name": name, "detail": "x > y"})
    assert r.status_code == 200
    for raw in (r.content, c.get(f"/accesskeys/{r.json()['id']}").content):
        text = raw.decode("utf-8")
        assert '"name":"\\u003cscript\\u003ea\\u0026b\\u003c/script\\u003e"' in text
        assert '"detail":"x \\u003e y"' in text
        assert not set("<>&") & set(text)
    assert r.json()["name"] == name
    listed = c.get("/accesskeys")
    assert b"<" not in listed.content and b"\\u003cscript" in listed.content


def test_non_ascii_names_round_trip(fake):
    name, detail = "Zürich – 東京 🚀", "naïve café"
    c = fake.client()
    r = c.post("/accesskeys", json={"expire": 86400, "name": name, "detail": detail})
    assert r.status_code == 200
    assert r.json()["name"] == name and r.json()["detail"] == detail
    assert name.encode("utf-8") in r.content
    shown = c.get(f"/accesskeys/{r.json()['id']}")
    assert shown.json()["name"] == name and shown.json()["detail"] == detail
    r = c.put(f"/accesskeys/{KID}", json={"name": "ñandú", "detail": "Ελληνικά"})
    assert r.json()["name"] == "ñandú"
    assert c.get(f"/accesskeys/{KID}").json()["detail"] == "Ελληνικά"


# --- X-Request-Id --------------------------------------------------------------------


def sample_requests(fake: Any, headers: dict[str, Any] | None = None) -> list[httpx.Response]:
    """One of each kind of response: success, errors, route 404, preflight, login."""
    h = dict(headers or {})
    c, anon = fake.client(), fake.client(None)
    root = fake.client(None, root=True)
    return [
        c.get("/accesskeys", headers=h),
        c.post("/accesskeys", json={"expire": 86400}, headers=h),
        c.get(f"/accesskeys/{KID}", headers=h),
        anon.get("/accesskeys", headers=h),
        c.get("/accesskeys/nope", headers=h),
        c.post("/accesskeys", content=b"{", headers=h),
        anon.get("/nowhere", headers=h),
        anon.patch("/accesskeys", headers=h),
        anon.options("/accesskeys", headers={**h, "Origin": FOREIGN_ORIGIN}),
        root.post("/auth/login", json=ADMIN_LOGIN, headers=h),
        root.post("/auth/login", json={"username": "x", "password": "y"}, headers=h),
    ]


def test_every_response_carries_a_generated_request_id(fake):
    responses = sample_requests(fake)
    assert [r.status_code for r in responses] == [
        200,
        200,
        200,
        401,
        400,
        400,
        404,
        404,
        204,
        200,
        400,
    ]
    ids = [r.headers.get("x-request-id", "") for r in responses]
    for r, rid in zip(responses, ids, strict=True):
        assert GENERATED_ID.match(rid), (r.request.method, r.request.url, rid)
        if r.content and "error" in r.json():
            assert r.json()["error"]["request_id"] == rid
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("value", ["a", "Z" * 64, "abc-DEF_123", "0", "-_-", "req_OURS"])
def test_valid_client_request_id_is_echoed(fake, value):
    for r in sample_requests(fake, {"X-Request-Id": value}):
        assert r.headers["x-request-id"] == value, (r.request.method, r.request.url)
        if r.content and "error" in r.json():
            assert r.json()["error"]["request_id"] == value


@pytest.mark.parametrize(
    "value",
    ["A" * 65, "has space", "dot.ted", "slash/x", "a+b", "a=b", "", "é".encode()],
    ids=["65-chars", "space", "dot", "slash", "plus", "equals", "empty", "non-ascii"],
)
def test_invalid_client_request_id_is_replaced(fake, value):
    for r in sample_requests(fake, {"X-Request-Id": value}):
        rid = r.headers["x-request-id"]
        assert GENERATED_ID.match(rid), (r.request.method, r.request.url, rid)
        if r.content and "error" in r.json():
            assert r.json()["error"]["request_id"] == rid


def test_generated_request_ids_follow_the_seed(fake, make_fake):
    profile = fake.state.profile.name
    runs = [
        [r.headers["x-request-id"] for r in sample_requests(make_fake(profile=profile, seed=s))]
        for s in (5, 5, 6)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_request_ids_do_not_shift_key_ids_or_tokens(fake, make_fake):
    profile = fake.state.profile.name
    quiet, busy = make_fake(profile=profile), make_fake(profile=profile)
    for _ in range(3):
        busy.client(None).get("/nowhere")
        busy.client(None).get("/accesskeys")
    a = quiet.client().post("/accesskeys", json={"expire": 86400}).json()
    b = busy.client().post("/accesskeys", json={"expire": 86400}).json()
    assert (a["id"], a["token"]) == (b["id"], b["token"])


# --- CORS ----------------------------------------------------------------------------

CORS_PATHS = ["/v1.0/accesskeys", f"/v1.0/accesskeys/{KID}", "/auth/login", "/v1.0/nowhere"]


@pytest.mark.parametrize("path", CORS_PATHS)
def test_preflight_answers_204_without_credentials(fake, path):
    r = fake.client(None, root=True).options(
        path,
        headers={
            "Origin": FOREIGN_ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-methods"] == "POST,GET,PUT,DELETE,PATCH,HEAD,OPTIONS"
    assert (
        r.headers["access-control-allow-headers"]
        == "Origin,X-Requested-With,Content-Type,Accept,Authorization"
    )
    assert r.headers["access-control-max-age"] == "43200"
    assert "access-control-allow-credentials" not in r.headers
    assert GENERATED_ID.match(r.headers["x-request-id"])


@pytest.mark.parametrize("path", CORS_PATHS)
def test_options_without_origin_is_route_not_found(fake, path):
    r = fake.client(None, root=True).options(path)
    err = error_of(r, 404, "ROUTE_NOT_FOUND")
    assert err["message"] == "The requested endpoint does not exist."
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


def test_foreign_origin_gets_cors_headers(fake):
    c = fake.client()
    for r in (
        c.get("/accesskeys", headers={"Origin": FOREIGN_ORIGIN}),
        c.get(f"/accesskeys/{KID}", headers={"Origin": "http://localhost:3000"}),
        fake.client(None).get("/accesskeys", headers={"Origin": FOREIGN_ORIGIN}),
    ):
        assert r.status_code in (200, 401)
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["access-control-expose-headers"] == "Content-Length"
        assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize("origin", [None, "http://testserver"])
def test_same_origin_or_no_origin_gets_no_cors_headers(fake, origin):
    headers = {} if origin is None else {"Origin": origin}
    r = fake.client().get("/accesskeys", headers=headers)
    assert r.status_code == 200
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


# --- routes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "location"),
    [
        ("GET", "/v1.0/accesskeys/", 301, "/v1.0/accesskeys?accesskey=" + TUTORIAL_TOKEN),
        ("POST", "/v1.0/accesskeys/", 307, "/v1.0/accesskeys?accesskey=" + TUTORIAL_TOKEN),
        (
            "GET",
            f"/v1.0/accesskeys/{KID}/",
            301,
            f"/v1.0/accesskeys/{KID}?accesskey=" + TUTORIAL_TOKEN,
        ),
        (
            "PUT",
            f"/v1.0/accesskeys/{KID}/",
            307,
            f"/v1.0/accesskeys/{KID}?accesskey=" + TUTORIAL_TOKEN,
        ),
        (
            "DELETE",
            f"/v1.0/accesskeys/{KID}/",
            307,
            f"/v1.0/accesskeys/{KID}?accesskey=" + TUTORIAL_TOKEN,
        ),
        ("POST", "/auth/login/", 307, "/auth/login?accesskey=" + TUTORIAL_TOKEN),
    ],
)
def test_trailing_slash_redirects(fake, method, path, status, location):
    c = fake.client(None, root=True)
    kw = {"json": {"name": "x", "expire": 86400}} if method in ("POST", "PUT") else {}
    r = c.request(method, path, params={"accesskey": TUTORIAL_TOKEN}, **kw)
    assert r.status_code == status
    assert r.headers["location"] == location
    assert "x-request-id" not in r.headers
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    # nothing happened: the tutorial key is alone and unchanged
    listed = fake.client().get("/accesskeys").json()["result"]
    assert [k["id"] for k in listed] == [KID]
    assert listed[0]["name"] == "My New Accesskey"


def test_trailing_slash_redirect_without_query(fake):
    r = fake.client(None, root=True).get("/v1.0/accesskeys/", headers={"Origin": FOREIGN_ORIGIN})
    assert r.status_code == 301
    assert r.headers["location"] == "/v1.0/accesskeys"
    assert "x-request-id" not in r.headers
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1.0/accesskeys/"),
        ("DELETE", "/v1.0/accesskeys"),
        ("PUT", "/v1.0/accesskeys"),
        ("PATCH", "/v1.0/accesskeys"),
        ("POST", f"/v1.0/accesskeys/{KID}"),
        ("PATCH", f"/v1.0/accesskeys/{KID}"),
        ("GET", "/v1.0/Accesskeys"),
        ("GET", "/v1.0/nowhere"),
        ("GET", "/accesskeys"),
        ("POST", "/v1.0/auth/login"),
        ("GET", "/auth/login"),
        ("GET", "/"),
    ],
)
def test_unknown_routes_are_404_without_credentials(fake, method, path):
    for c in (
        fake.client(None, root=True),
        fake.client(None, root=True, headers={"Cookie": "accesskey=vb_x"}),
    ):
        r = c.request(method, path)
        err = error_of(r, 404, "ROUTE_NOT_FOUND")
        assert err["status"] == "NOT_FOUND"
        assert err["message"] == "The requested endpoint does not exist."
        assert GENERATED_ID.match(r.headers["x-request-id"])


def test_openapi_yaml_is_served(fake):
    with httpx.Client(transport=fake.transport, base_url="http://testserver") as c:
        r = c.get("/openapi.yaml")
    assert r.status_code == 200
    doc = yaml.safe_load(r.text)
    assert doc["openapi"].startswith("3.")
    op_ids = {
        op["operationId"]
        for item in doc["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "delete", "patch")
    }
    assert op_ids == {
        "GetAccesskeys",
        "PostAccesskeys",
        "GetAccesskeysId",
        "PutAccesskeysId",
        "DeleteAccesskeysId",
        "PostAuthLogin",
        "GetCustomer",
        "PutCustomer",
        "PutCustomerMetadata",
        "PutCustomerBillingAccountId",
        "GetMe",
    }


# --- success bodies on the wire -------------------------------------------------------


def test_success_bodies_shape(fake):
    c = fake.client()
    created = c.post("/accesskeys", json={"name": "shape", "detail": "all fields", "expire": 86400})
    kid = created.json()["id"]
    responses = {
        "create": created,
        "get": c.get(f"/accesskeys/{kid}"),
        "put": c.put(f"/accesskeys/{kid}", json={"name": "shape2", "detail": "still"}),
        "list": c.get("/accesskeys"),
        "delete": c.delete(f"/accesskeys/{kid}"),
    }
    without_token = [f for f in KEY_FIELDS if f != "token"]
    for op, r in responses.items():
        assert r.status_code == 200, (op, r.text)
        assert r.headers["content-type"] == "application/json; charset=utf-8", op
        assert not r.content.endswith(b"\n"), op
        assert int(r.headers["content-length"]) == len(r.content)
        assert b"\n" not in r.content and b": " not in r.content  # compact, as Go writes it
    assert list(created.json()) == KEY_FIELDS
    assert created.json()["token"].startswith("vb_")
    for op in ("get", "put", "delete"):
        assert list(responses[op].json()) == without_token, op
    listed = responses["list"].json()
    assert list(listed) == ["result", "next_page_token"]
    for item in listed["result"]:
        assert list(item) == without_token
    assert created.json()["token"].encode() not in b"".join(
        r.content for op, r in responses.items() if op != "create"
    )


# --- determinism -----------------------------------------------------------------------


def scripted_session(h: Any) -> list[tuple[int, str, bytes]]:
    c = h.client()
    out = []

    def note(r: httpx.Response) -> httpx.Response:
        out.append((r.status_code, r.headers["x-request-id"], r.content))
        return r

    a = note(c.post("/accesskeys", json={"name": "a", "expire": 86400})).json()
    b = note(c.post("/accesskeys", json={"name": "b", "detail": "d", "expire": 2 * 86400})).json()
    note(c.get("/accesskeys"))
    note(c.get("/accesskeys", params={"page_size": 1}))
    note(c.get(f"/accesskeys/{a['id']}"))
    note(c.put(f"/accesskeys/{a['id']}", json={"name": "a2"}))
    note(c.delete(f"/accesskeys/{b['id']}"))
    note(c.get(f"/accesskeys/{b['id']}"))
    note(c.get("/accesskeys"))
    note(h.client(b["token"]).get("/accesskeys"))
    return out


def test_same_seed_gives_byte_identical_answers(fake, make_fake):
    profile = fake.state.profile.name
    first = scripted_session(make_fake(profile=profile, seed=11))
    second = scripted_session(make_fake(profile=profile, seed=11))
    assert first == second


def test_different_seeds_give_different_ids_and_tokens(fake, make_fake):
    profile = fake.state.profile.name
    made = []
    for seed in (0, 1, 2):
        c = make_fake(profile=profile, seed=seed).client()
        made.append(c.post("/accesskeys", json={"expire": 86400}).json())
    assert len({m["id"] for m in made}) == 3
    assert len({m["token"] for m in made}) == 3
    assert len({m["token_prefix"] for m in made}) == 3


# --- tokens are stored only as SHA-256 ---------------------------------------------------


def test_store_keeps_only_token_hashes(fake):
    c = fake.client()
    created = [
        c.post("/accesskeys", json={"expire": 86400, "name": f"k{i}"}).json() for i in range(3)
    ]
    fake.client(created[2]["token"]).delete(f"/accesskeys/{created[2]['id']}")
    raw_tokens = [k["token"] for k in created] + [
        TUTORIAL_TOKEN,
        SECOND_TOKEN,
        EXPIRED_TOKEN,
        EXPIRING_TOKEN,
    ]
    store = fake.state.store
    dumps = [repr(vars(store))]
    for key in store.keys.values():
        dumps.append(repr(key))
        dumps.extend(repr(value) for value in key._asdict().values())
    blob = "\n".join(dumps)
    for token in raw_tokens:
        assert token not in blob
        assert token[3:] not in blob  # not even without its prefix
    for k in created:
        digest = hashlib.sha256(k["token"].encode()).hexdigest()
        stored = store.keys[k["id"]]
        assert stored.token_hash == digest
        if k is created[2]:
            assert digest not in store.by_hash  # deleted: no longer authenticates
        else:
            assert store.by_hash[digest] is stored
    for digest, key in store.by_hash.items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert key.token_hash == digest
    assert store.by_hash[hashlib.sha256(TUTORIAL_TOKEN.encode()).hexdigest()].id == KID
