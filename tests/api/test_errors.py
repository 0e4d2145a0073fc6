"""Every error triple of facts §3 these endpoints and POST /auth/login can produce,
each provoked for real and checked exactly: HTTP code, status, reason, message, the
envelope's key order in the raw text, request_id == X-Request-Id, Content-Type and
``details`` naming the failing field: in the body in ``docs``, and in ``live``, whose
400s carry no ``details`` (as production's), in the journal's request_violations."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

import pytest

from fakevoipbin.core.auth import mint_direct_token

from ..conftest import (
    ADMIN_LOGIN,
    EXPIRED_TOKEN,
    FROZEN_CUSTOMER,
    FROZEN_TOKEN,
    MANAGER_LOGIN,
    SECOND_KEY_ID,
    SECOND_TOKEN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
    TUTORIAL_TOKEN,
)

JSON_UTF8 = "application/json; charset=utf-8"
GENERATED_ID = re.compile(r"^req_[A-Z2-7]{26}$")
UNKNOWN_ID = "6b1c1c5e-0f55-4f67-9d0a-0c2f3e4d5a6b"
NIL_UUID = "00000000-0000-0000-0000-000000000000"

INVALID_ID = (400, "INVALID_ARGUMENT", "INVALID_ID", "The provided id is not a valid UUID.")
INVALID_JSON_BODY = (
    400,
    "INVALID_ARGUMENT",
    "INVALID_JSON_BODY",
    "The request body is not valid JSON.",
)
INVALID_REQUEST = (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The request is invalid.")
INVALID_DATA = (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The request contains invalid data.")
AUTHENTICATION_REQUIRED = (
    401,
    "UNAUTHENTICATED",
    "AUTHENTICATION_REQUIRED",
    "Authentication is required.",
)
INVALID_CREDENTIALS = (
    401,
    "UNAUTHENTICATED",
    "INVALID_CREDENTIALS",
    "The provided credentials are invalid.",
)
PERMISSION_DENIED = (
    403,
    "PERMISSION_DENIED",
    "PERMISSION_DENIED",
    "You do not have permission to access this resource.",
)
DIRECT_ACCESS = (
    403,
    "PERMISSION_DENIED",
    "DIRECT_ACCESS_NOT_SUPPORTED",
    "Direct access is not supported for this endpoint.",
)
ACCOUNT_FROZEN = (
    403,
    "PERMISSION_DENIED",
    "ACCOUNT_FROZEN",
    "This account is frozen. Contact support.",
)
RESOURCE_NOT_FOUND = (
    404,
    "NOT_FOUND",
    "RESOURCE_NOT_FOUND",
    "The requested resource was not found.",
)
ROUTE_NOT_FOUND = (
    404,
    "NOT_FOUND",
    "ROUTE_NOT_FOUND",
    "The requested endpoint does not exist.",
)
STATE_INVALID = (
    409,
    "FAILED_PRECONDITION",
    "STATE_INVALID",
    "The operation is invalid for the current resource state.",
)
ACCESSKEY_NOT_FOUND = (404, "NOT_FOUND", "ACCESSKEY_NOT_FOUND", "The access key was not found.")


def page_param_error(name: str) -> tuple[int, str, str, str]:
    return (
        400,
        "INVALID_ARGUMENT",
        "INVALID_REQUEST_PARAMETER",
        f'The parameter "{name}" has an invalid format.',
    )


def violations(fake, r, error) -> list:
    """What a 400 names as wrong: its ``details`` (docs), or, in ``live``, which sends
    none on a 400 (as production), the journal's request_violations for it."""
    if fake.state.profile.name == "live" and r.status_code == 400:
        assert "details" not in error, r.text
        entry = fake.state.journal.entries()[-1]
        assert entry.request_id == error["request_id"]
        return list(entry.request_violations)
    return list(error["details"])


def check_error(r, expected, fields=None, fake=None) -> dict:
    """Assert one error response exactly; return its inner ``error`` object.

    ``fields``: the names the details must carry (None: no check; ``()``: no details);
    with ``fake``, a live 400's details are looked for in the journal (``violations``).
    """
    http, status, reason, message = expected
    assert r.status_code == http, r.text
    assert r.headers["content-type"] == JSON_UTF8
    # Key order as the raw text has it: {"error": {details?, message, reason, request_id, status}}.
    pairs = json.loads(r.text, object_pairs_hook=list)
    assert [k for k, _ in pairs] == ["error"]
    inner_keys = [k for k, _ in pairs[0][1]]
    assert inner_keys in (
        ["details", "message", "reason", "request_id", "status"],
        ["message", "reason", "request_id", "status"],
    ), r.text
    assert r.text.startswith(
        '{"error":{"details":[' if "details" in inner_keys else '{"error":{"message":'
    )
    error = r.json()["error"]
    assert (error["status"], error["reason"], error["message"]) == (status, reason, message)
    assert error["request_id"] == r.headers["x-request-id"]
    assert GENERATED_ID.match(error["request_id"]) or "x-request-id" in r.request.headers
    if "details" in error:
        assert isinstance(error["details"], list) and error["details"]
    if fields is not None:
        found = violations(fake, r, error) if fake is not None and fields else error.get("details")
        named = [d.get("field") for d in found or []]
        for name in fields:
            assert name in named, (name, error)
        if not fields:
            assert "details" not in error
    return error


def call(client, method: str, url: str, params=(), **kw):
    """A request; a query string in ``url`` is sent as written, repeats and blanks kept.

    (httpx drops a URL's own query when the client has params, so pass it as params.)"""
    path, _, query = url.partition("?")
    items = parse_qsl(query, keep_blank_values=True)
    items += list(params.items()) if isinstance(params, dict) else list(params)
    return client.request(method, path, params=items, **kw)


#: The five access-key operations, with a request that succeeds for an admin.
OPERATIONS = [
    ("GET", "/accesskeys", {}),
    ("POST", "/accesskeys", {"json": {"name": "n", "expire": 86_400}}),
    ("GET", f"/accesskeys/{TUTORIAL_KEY_ID}", {}),
    ("PUT", f"/accesskeys/{TUTORIAL_KEY_ID}", {"json": {"name": "renamed"}}),
    ("DELETE", f"/accesskeys/{TUTORIAL_KEY_ID}", {}),
]
OP_IDS = ["list", "create", "get", "put", "delete"]


def jwt_client(fake, credentials):
    return fake.client(None, headers={"Authorization": f"Bearer {fake.login(credentials)}"})


def tutorial_key_unchanged(fake) -> None:
    got = fake.client().get(f"/accesskeys/{TUTORIAL_KEY_ID}")
    assert got.status_code == 200
    assert got.json()["name"] == "My New Accesskey"
    assert [k["id"] for k in fake.client().get("/accesskeys").json()["result"]] == [TUTORIAL_KEY_ID]


# --- the envelope itself ----------------------------------------------------------


def test_envelope_raw_text_without_details(fake):
    r = fake.client(None).get("/accesskeys")
    check_error(r, AUTHENTICATION_REQUIRED, ())
    rid = r.headers["x-request-id"]
    assert r.text == (
        '{"error":{"message":"Authentication is required.",'
        '"reason":"AUTHENTICATION_REQUIRED",'
        f'"request_id":"{rid}","status":"UNAUTHENTICATED"}}}}'
    )


def test_envelope_raw_text_with_details(docs):
    r = docs.client().get("/accesskeys/junk")
    error = check_error(r, INVALID_ID, ["id"])
    text = r.text
    positions = [text.index(f'"{k}":') for k in ("details", "message", "reason", "request_id")]
    positions.append(text.rindex('"status":'))
    assert positions == sorted(positions)
    assert all(set(d) >= {"field"} for d in error["details"])


def _bad_requests(c):
    return (
        lambda: c.get("/accesskeys/junk"),
        lambda: c.get(f"/accesskeys/{NIL_UUID}"),
        lambda: c.post("/accesskeys", content=b"not json"),
        lambda: c.post("/accesskeys", json={"expire": 5}),
        lambda: c.get("/accesskeys", params={"page_size": "x"}),
        lambda: c.get("/accesskeys", params={"page_token": "2026-13-45T00:00:00Z"}),
        lambda: c.put("/customer", content=b"[1]"),
        lambda: c.put("/customer/billing_account_id", json={"billing_account_id": "junk"}),
    )


def test_docs_400s_name_the_field_in_details(docs):
    for send in _bad_requests(docs.client()):
        r = send()
        assert r.status_code == 400
        error = r.json()["error"]
        assert list(error) == ["details", "message", "reason", "request_id", "status"], r.text
        assert all("field" in d for d in error["details"])


def test_live_400s_have_no_details_and_the_journal_keeps_them(live):
    """Production's 400s carry the envelope's four fields alone (facts §14)."""
    c = live.client()
    for send in (
        lambda: c.get("/accesskeys/junk"),
        lambda: c.get(f"/accesskeys/{NIL_UUID}"),
        lambda: c.post("/accesskeys", content=b"not json"),
        lambda: c.post("/accesskeys", json={"expire": 5}),
        lambda: c.post("/accesskeys", json={"expire": 2**32 + 5}),  # wraps to 5
        lambda: c.get("/accesskeys", params={"page_size": "x"}),
        lambda: c.get("/accesskeys", params={"page_token": "2026-13-45T00:00:00Z"}),
        lambda: c.put("/customer", content=b"[1]"),
        lambda: c.put("/customer/billing_account_id", json={"billing_account_id": "junk"}),
    ):
        r = send()
        assert r.status_code == 400
        assert list(r.json()["error"]) == ["message", "reason", "request_id", "status"], r.text
        entry = live.state.journal.entries()[-1]
        assert entry.request_id == r.headers["x-request-id"]
        assert entry.request_violations, entry


@pytest.mark.parametrize("supplied", ["client-id_42", "a", "x" * 64])
def test_request_id_echoed(fake, supplied):
    r = fake.client(None).get("/accesskeys", headers={"X-Request-Id": supplied})
    error = check_error(r, AUTHENTICATION_REQUIRED)
    assert r.headers["x-request-id"] == error["request_id"] == supplied


@pytest.mark.parametrize("supplied", ["has space", "x" * 65, "semi;colon", ""])
def test_request_id_replaced_when_unfit(fake, supplied):
    r = fake.client(None).get("/accesskeys", headers={"X-Request-Id": supplied})
    error = check_error(r, AUTHENTICATION_REQUIRED)
    assert GENERATED_ID.match(error["request_id"])
    assert r.headers["x-request-id"] == error["request_id"]


def test_request_ids_differ_between_requests(fake):
    c = fake.client(None)
    ids = {c.get("/accesskeys").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(GENERATED_ID.match(i) for i in ids)


# --- 400 INVALID_ID ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    [
        "junk",
        "1234",
        NIL_UUID,
        "00000000000000000000000000000000",
        "{00000000-0000-0000-0000-000000000000}",
        TUTORIAL_KEY_ID[:-1],
        TUTORIAL_KEY_ID + "0",
        TUTORIAL_KEY_ID.replace("-", "_"),
        "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dz",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_invalid_id(fake, method, bad_id):
    kw = {"json": {"name": "x"}} if method == "PUT" else {}
    r = call(fake.client(), method, f"/accesskeys/{bad_id}", **kw)
    check_error(r, INVALID_ID, ["id"], fake)


@pytest.mark.parametrize(
    "spelling",
    [
        TUTORIAL_KEY_ID.upper(),
        TUTORIAL_KEY_ID.replace("-", ""),
        "{" + TUTORIAL_KEY_ID + "}",
        "urn:uuid:" + TUTORIAL_KEY_ID,
    ],
)
def test_other_uuid_spellings_are_not_invalid_id(fake, spelling):
    r = fake.client().get(f"/accesskeys/{spelling}")
    assert r.status_code == 200
    assert r.json()["id"] == TUTORIAL_KEY_ID


def test_invalid_id_before_body(fake):
    r = fake.client().put("/accesskeys/junk", content=b"not json")
    check_error(r, INVALID_ID, ["id"], fake)


# --- 400 INVALID_JSON_BODY --------------------------------------------------------

BAD_CREATE_BODIES = [
    pytest.param(b"", None, id="empty"),
    pytest.param(b"   ", None, id="blank"),
    pytest.param(b"{", None, id="truncated"),
    pytest.param(b"not json", None, id="invalid"),
    pytest.param(b"{'expire': 86400}", None, id="single-quotes"),
    pytest.param(b'[{"expire": 86400}]', None, id="array"),
    pytest.param(b'"text"', None, id="string"),
    pytest.param(b"86400", None, id="number"),
    pytest.param(b'{"expire":"86400"}', "expire", id="expire-string"),
    pytest.param(b'{"expire":86400.0}', "expire", id="expire-float"),
    pytest.param(b'{"expire":1e5}', "expire", id="expire-exponent"),
    pytest.param(b'{"expire":true}', "expire", id="expire-bool"),
    pytest.param(b'{"expire":9223372036854775808}', "expire", id="expire-over-int64"),
    pytest.param(b'{"expire":86400,"name":1}', "name", id="name-number"),
    pytest.param(b'{"expire":86400,"detail":["d"]}', "detail", id="detail-array"),
]


@pytest.mark.parametrize("body, field", BAD_CREATE_BODIES)
def test_invalid_json_body_on_create(fake, body, field):
    r = fake.client().post("/accesskeys", content=body)
    error = check_error(r, INVALID_JSON_BODY)
    found = violations(fake, r, error)
    assert found and all("field" in d for d in found)
    if field is not None:
        assert field in [d["field"] for d in found]
    tutorial_key_unchanged(fake)


@pytest.mark.parametrize(
    "body, field",
    [
        pytest.param(b"", None, id="empty"),
        pytest.param(b"{", None, id="invalid"),
        pytest.param(b'["x"]', None, id="array"),
        pytest.param(b'{"name":1}', "name", id="name-number"),
        pytest.param(b'{"detail":false}', "detail", id="detail-bool"),
    ],
)
def test_invalid_json_body_on_update(fake, body, field):
    r = fake.client().put(f"/accesskeys/{TUTORIAL_KEY_ID}", content=body)
    error = check_error(r, INVALID_JSON_BODY)
    found = violations(fake, r, error)
    assert found and all("field" in d for d in found)
    if field is not None:
        assert field in [d["field"] for d in found]
    tutorial_key_unchanged(fake)


def test_invalid_json_body_before_permission(fake):
    manager = jwt_client(fake, MANAGER_LOGIN)
    check_error(manager.post("/accesskeys", content=b"[1]"), INVALID_JSON_BODY)


def test_put_body_checked_before_fetch(fake):
    r = fake.client().put(f"/accesskeys/{UNKNOWN_ID}", content=b"{")
    check_error(r, INVALID_JSON_BODY)


def test_tolerated_bodies(fake):
    """What production tolerates: unknown fields, any Content-Type, bytes after the value."""
    c = fake.client()
    for body, headers in (
        (b'{"expire":86400,"unknown":1}', {}),
        (b'{"expire":86400}', {"Content-Type": "text/plain"}),
        (b'{"expire":86400} trailing', {}),
        (b'{"expire":86400,"name":null,"detail":null}', {}),
    ):
        r = c.post("/accesskeys", content=body, headers=headers)
        assert r.status_code == 200, (body, r.text)
        assert r.headers["content-type"] == JSON_UTF8


# --- 400 INVALID_ARGUMENT ---------------------------------------------------------


@pytest.mark.parametrize("expire", [86_399, 0, -86_400, None])
def test_expire_below_minimum(fake, expire):
    body = {"name": "n"} if expire is None else {"expire": expire}
    r = fake.client().post("/accesskeys", json=body)
    error = check_error(r, INVALID_REQUEST, ["expire"], fake)
    assert [d["field"] for d in violations(fake, r, error)] == ["expire"]


def test_name_too_long_on_create(fake):
    c = fake.client()
    r = c.post("/accesskeys", json={"name": "n" * 256, "expire": 86_400})
    check_error(r, INVALID_REQUEST, ["name"], fake)
    ok = c.post("/accesskeys", json={"name": "n" * 255, "expire": 86_400})
    assert ok.status_code == 200
    assert ok.json()["name"] == "n" * 255


def test_name_too_long_on_update(fake):
    c = fake.client()
    url = f"/accesskeys/{TUTORIAL_KEY_ID}"
    check_error(c.put(url, json={"name": "é" * 256}), INVALID_REQUEST, ["name"], fake)
    assert c.get(url).json()["name"] == "My New Accesskey"
    ok = c.put(url, json={"name": "é" * 255})
    assert ok.status_code == 200
    assert ok.json()["name"] == "é" * 255


def test_unknown_key_id_live(live):
    c = live.client()
    check_error(c.get(f"/accesskeys/{UNKNOWN_ID}"), INVALID_DATA)
    check_error(c.put(f"/accesskeys/{UNKNOWN_ID}", json={"name": "x"}), INVALID_DATA)
    check_error(c.delete(f"/accesskeys/{UNKNOWN_ID}"), INVALID_DATA)


def test_unknown_key_id_docs(docs):
    c = docs.client()
    check_error(c.get(f"/accesskeys/{UNKNOWN_ID}"), ACCESSKEY_NOT_FOUND)
    check_error(c.put(f"/accesskeys/{UNKNOWN_ID}", json={"name": "x"}), ACCESSKEY_NOT_FOUND)
    check_error(c.delete(f"/accesskeys/{UNKNOWN_ID}"), ACCESSKEY_NOT_FOUND)


# --- 400 INVALID_REQUEST_PARAMETER ------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "page_size=abc",
        "page_size=",
        "page_size=1.5",
        "page_size=10&page_size=10",
        "page_size=1&page_size=2",
        "page_size=99999999999999999999",
    ],
)
def test_invalid_page_size(fake, query):
    r = call(fake.client(), "GET", f"/accesskeys?{query}")
    assert r.request.url.query.decode().endswith(query)
    check_error(r, page_param_error("page_size"), ["page_size"], fake)


@pytest.mark.parametrize(
    "token",
    ["garbage", "2026-13-45T00:00:00.000000Z", "2026-12-01T10:15:30.1234567Z", "yesterday"],
)
def test_invalid_page_token(fake, token):
    r = fake.client().get("/accesskeys", params={"page_token": token})
    check_error(r, page_param_error("page_token"), ["page_token"], fake)


def test_empty_page_token_means_now(fake):
    page = fake.client().get("/accesskeys", params={"page_token": ""})
    assert page.status_code == 200
    assert [k["id"] for k in page.json()["result"]] == [TUTORIAL_KEY_ID]


# --- 401 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, headers",
    [
        pytest.param({}, {}, id="nothing"),
        pytest.param({"accesskey": ""}, {}, id="empty-accesskey"),
        pytest.param({"token": ""}, {}, id="empty-token"),
        pytest.param({}, {"Cookie": "accesskey=; token="}, id="empty-cookies"),
        pytest.param({}, {"Authorization": f"Basic {TUTORIAL_TOKEN}"}, id="basic-auth"),
        pytest.param({}, {"Authorization": "Bearer "}, id="empty-bearer"),
    ],
)
@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
def test_authentication_required(fake, op, params, headers):
    method, url, kw = op
    r = call(fake.client(None), method, url, params=params, headers=headers, **kw)
    check_error(r, AUTHENTICATION_REQUIRED, ())
    tutorial_key_unchanged(fake)


def test_accesskey_cookie_authenticates(fake):
    c = fake.client(None, headers={"Cookie": f"accesskey={TUTORIAL_TOKEN}"})
    assert c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code == 200


@pytest.mark.parametrize(
    "params, headers",
    [
        pytest.param({"accesskey": "vb_" + "Z" * 32}, {}, id="unknown-key"),
        pytest.param({"accesskey": "not-a-key"}, {}, id="malformed-key"),
        pytest.param({"accesskey": EXPIRED_TOKEN}, {}, id="expired-key"),
        pytest.param({"token": "garbage.jwt.value"}, {}, id="garbage-jwt-query"),
        pytest.param({"token": "nope"}, {}, id="not-a-jwt-query"),
        pytest.param(
            {"accesskey": TUTORIAL_TOKEN}, {"Cookie": "token=garbage"}, id="bad-token-cookie"
        ),
        pytest.param({"accesskey": TUTORIAL_TOKEN, "token": "garbage"}, {}, id="bad-token-query"),
        pytest.param(
            {"accesskey": TUTORIAL_TOKEN}, {"Authorization": "Bearer x.y.z"}, id="bad-bearer"
        ),
        pytest.param(
            {"accesskey": TUTORIAL_TOKEN},
            {"Cookie": "accesskey=vb_" + "Q" * 32},
            id="bad-accesskey-cookie",
        ),
    ],
)
@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
def test_invalid_credentials(fake, op, params, headers):
    method, url, kw = op
    r = call(fake.client(None), method, url, params=params, headers=headers, **kw)
    check_error(r, INVALID_CREDENTIALS, ())
    tutorial_key_unchanged(fake)


def test_deleted_key_invalid_credentials(fake):
    c = fake.client()
    created = c.post("/accesskeys", json={"expire": 86_400}).json()
    assert c.delete(f"/accesskeys/{created['id']}").status_code == 200
    gone = fake.client(created["token"])
    for method, url, kw in OPERATIONS:
        check_error(call(gone, method, url, **kw), INVALID_CREDENTIALS, ())


def test_expired_login_jwt(fake):
    jwt = fake.login(ADMIN_LOGIN)
    c = fake.client(None)
    fake.clock.advance(7 * 86_400 - 1)
    assert c.get("/accesskeys", params={"token": jwt}).status_code == 200
    fake.clock.advance(2)
    check_error(c.get("/accesskeys", params={"token": jwt}), INVALID_CREDENTIALS, ())


def test_jwt_signed_with_another_secret(fake, make_fake):
    other = make_fake(profile=fake.state.profile.name, seed=99)
    jwt = other.login(ADMIN_LOGIN)
    check_error(fake.client(None).get("/accesskeys", params={"token": jwt}), INVALID_CREDENTIALS)


def test_valid_jwt_wins_over_bad_accesskey(fake):
    jwt = fake.login(ADMIN_LOGIN)
    r = fake.client("vb_" + "Z" * 32).get("/accesskeys", params={"token": jwt})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "method, url, kw",
    [
        ("GET", "/accesskeys/junk", {}),
        ("GET", f"/accesskeys/{NIL_UUID}", {}),
        ("GET", "/accesskeys?page_size=abc", {}),
        ("GET", "/accesskeys?page_token=garbage", {}),
        ("POST", "/accesskeys", {"content": b"not json"}),
        ("POST", "/accesskeys", {"json": {"expire": 5}}),
        ("POST", "/accesskeys", {"json": {"expire": 86_400, "name": "n" * 300}}),
        ("PUT", "/accesskeys/junk", {"content": b"["}),
        ("PUT", f"/accesskeys/{UNKNOWN_ID}", {"json": {"name": "x"}}),
        ("DELETE", f"/accesskeys/{UNKNOWN_ID}", {}),
        ("DELETE", f"/accesskeys/{SECOND_KEY_ID}", {}),
    ],
)
def test_auth_before_validation(fake, method, url, kw):
    check_error(call(fake.client(None), method, url, **kw), AUTHENTICATION_REQUIRED, ())
    bad = fake.client("vb_" + "Z" * 32)
    check_error(call(bad, method, url, **kw), INVALID_CREDENTIALS, ())
    expired = fake.client(EXPIRED_TOKEN)
    check_error(call(expired, method, url, **kw), INVALID_CREDENTIALS, ())


# --- 403 --------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
def test_permission_denied_manager(fake, op):
    method, url, kw = op
    r = call(jwt_client(fake, MANAGER_LOGIN), method, url, **kw)
    check_error(r, PERMISSION_DENIED, ())
    tutorial_key_unchanged(fake)


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
def test_admin_login_allowed(fake, op):
    method, url, kw = op
    r = call(jwt_client(fake, ADMIN_LOGIN), method, url, **kw)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "body",
    [
        {"expire": 5},
        {"name": "m"},
        {"expire": 86_400, "name": "n" * 256},
        {"expire": -1, "name": "n" * 256},
    ],
)
def test_permission_before_business_rules(fake, body):
    r = jwt_client(fake, MANAGER_LOGIN).post("/accesskeys", json=body)
    check_error(r, PERMISSION_DENIED, ())


def test_manager_update_with_long_name_is_403(fake):
    r = jwt_client(fake, MANAGER_LOGIN).put(
        f"/accesskeys/{TUTORIAL_KEY_ID}", json={"name": "n" * 256}
    )
    check_error(r, PERMISSION_DENIED, ())


def test_manager_fetch_checks_before_permission(fake):
    manager = jwt_client(fake, MANAGER_LOGIN)
    # Another customer's key: 404, checked before permission.
    check_error(manager.get(f"/accesskeys/{SECOND_KEY_ID}"), RESOURCE_NOT_FOUND, ())
    unknown = manager.get(f"/accesskeys/{UNKNOWN_ID}")
    if fake.state.profile.name == "live":
        check_error(unknown, INVALID_DATA)
    else:
        check_error(unknown, ACCESSKEY_NOT_FOUND)


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
def test_account_frozen(fake, op):
    method, url, kw = op
    r = call(fake.client(FROZEN_TOKEN), method, url, **kw)
    error = check_error(r, ACCOUNT_FROZEN)
    assert isinstance(error["details"], list) and len(error["details"]) >= 1
    assert all(isinstance(d, dict) and d for d in error["details"])


def test_account_frozen_details_are_a_go_map_in_the_raw_body(fake):
    """Production builds the details as a Go map (``[]map[string]any``), which
    encoding/json writes with its keys sorted: ``deletion_effective_at`` first. VoIPbin's
    CLI prints the raw body, so the bytes are what a user sees."""
    fmt = fake.state.profile.format_time
    scheduled = fake.state.store.customers[FROZEN_CUSTOMER].tm_deletion_scheduled
    assert scheduled is not None
    effective = scheduled + 30 * 86_400 * 1_000_000
    r = fake.client(FROZEN_TOKEN).get("/accesskeys")
    check_error(r, ACCOUNT_FROZEN)
    details = (
        f'"details":[{{"deletion_effective_at":"{fmt(effective)}",'
        f'"deletion_scheduled_at":"{fmt(scheduled)}",'
        '"recovery_endpoint":"DELETE /auth/unregister"}]'
    )
    assert r.content.startswith(b'{"error":{' + details.encode() + b',"message":'), r.text


def test_a_429s_details_are_one_key(fake):
    """The 429's details (production's ``[]map[string]any{{"limited_by": …}}``) hold one
    key, so no order can differ; the bytes are pinned all the same."""
    r = fake.client().get("/accesskeys", headers={"X-Fake-Fault": "429; limited_by=customer"})
    assert r.status_code == 429, r.text
    assert r.content.startswith(b'{"error":{"details":[{"limited_by":"customer"}],"message":')


@pytest.mark.parametrize(
    "method, url, kw",
    [
        ("GET", "/accesskeys?page_size=abc", {}),
        ("GET", "/accesskeys/junk", {}),
        ("POST", "/accesskeys", {"content": b"not json"}),
        ("POST", "/accesskeys", {"json": {"expire": 5}}),
    ],
)
def test_account_frozen_before_validation(fake, method, url, kw):
    check_error(call(fake.client(FROZEN_TOKEN), method, url, **kw), ACCOUNT_FROZEN)


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
def test_direct_access_not_supported(fake, op):
    method, url, kw = op
    token = mint_direct_token(fake.state, TUTORIAL_CUSTOMER)
    r = call(fake.client(None), method, url, params={"token": token}, **kw)
    check_error(r, DIRECT_ACCESS, ())
    tutorial_key_unchanged(fake)


def test_direct_access_order(fake):
    c = fake.client(None)
    params = {"token": mint_direct_token(fake.state, TUTORIAL_CUSTOMER)}
    # INVALID_ID and body parsing come first ...
    check_error(c.get("/accesskeys/junk", params=params), INVALID_ID, ["id"], fake)
    check_error(c.post("/accesskeys", params=params, content=b"["), INVALID_JSON_BODY)
    # ... then the direct check, before the fetch, the permission and business rules.
    check_error(c.get(f"/accesskeys/{UNKNOWN_ID}", params=params), DIRECT_ACCESS, ())
    check_error(c.get(f"/accesskeys/{SECOND_KEY_ID}", params=params), DIRECT_ACCESS, ())
    check_error(c.post("/accesskeys", params=params, json={"expire": 5}), DIRECT_ACCESS, ())
    other = {"token": mint_direct_token(fake.state, FROZEN_CUSTOMER)}
    check_error(c.get("/accesskeys", params=other), DIRECT_ACCESS, ())


# --- 404 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, kw",
    [("GET", {}), ("PUT", {"json": {"name": "stolen"}}), ("DELETE", {})],
)
def test_resource_not_found_cross_customer(fake, method, kw):
    r = call(fake.client(SECOND_TOKEN), method, f"/accesskeys/{TUTORIAL_KEY_ID}", **kw)
    check_error(r, RESOURCE_NOT_FOUND, ())
    tutorial_key_unchanged(fake)
    r = call(fake.client(), method, f"/accesskeys/{SECOND_KEY_ID}", **kw)
    check_error(r, RESOURCE_NOT_FOUND, ())
    assert fake.client(SECOND_TOKEN).get(f"/accesskeys/{SECOND_KEY_ID}").status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1.0/nope"),
        ("GET", "/nope"),
        ("GET", "/accesskeys"),
        ("GET", "/v1.0"),
        ("GET", "/v1.0/Accesskeys"),
        ("GET", "/V1.0/accesskeys"),
        ("PATCH", "/v1.0/accesskeys"),
        ("PATCH", f"/v1.0/accesskeys/{TUTORIAL_KEY_ID}"),
        ("DELETE", "/v1.0/accesskeys"),
        ("PUT", "/v1.0/accesskeys"),
        ("POST", f"/v1.0/accesskeys/{TUTORIAL_KEY_ID}"),
        ("OPTIONS", "/v1.0/accesskeys"),
        ("POST", "/v1.0/auth/login"),
        ("GET", "/auth/login"),
        ("GET", f"/v1.0/accesskeys/{TUTORIAL_KEY_ID}/extra"),
    ],
)
@pytest.mark.parametrize("credential", [None, TUTORIAL_TOKEN, "vb_bad"])
def test_route_not_found(fake, method, path, credential):
    c = fake.client(credential, root=True)
    r = c.request(method, path, json={"expire": 86_400} if method in ("POST", "PUT") else None)
    check_error(r, ROUTE_NOT_FOUND, ())
    tutorial_key_unchanged(fake)


def test_route_not_found_head(fake):
    r = fake.client(None, root=True).head("/v1.0/accesskeys")
    assert r.status_code == 404
    assert GENERATED_ID.match(r.headers["x-request-id"])
    assert r.headers["content-type"] == JSON_UTF8


# --- 409 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, kw", [("GET", {}), ("PUT", {"json": {"name": "x"}}), ("DELETE", {})]
)
def test_state_invalid_live(live, method, kw):
    c = live.client()
    created = c.post("/accesskeys", json={"expire": 86_400}).json()
    assert c.delete(f"/accesskeys/{created['id']}").status_code == 200
    check_error(call(c, method, f"/accesskeys/{created['id']}", **kw), STATE_INVALID, ())
    # Another customer asking about it still gets 404.
    other = call(live.client(SECOND_TOKEN), method, f"/accesskeys/{created['id']}", **kw)
    check_error(other, RESOURCE_NOT_FOUND, ())


@pytest.mark.parametrize(
    "method, kw", [("GET", {}), ("PUT", {"json": {"name": "x"}}), ("DELETE", {})]
)
def test_deleted_key_docs(docs, method, kw):
    c = docs.client()
    created = c.post("/accesskeys", json={"expire": 86_400}).json()
    assert c.delete(f"/accesskeys/{created['id']}").status_code == 200
    check_error(call(c, method, f"/accesskeys/{created['id']}", **kw), ACCESSKEY_NOT_FOUND, ())


# --- 413 --------------------------------------------------------------------------


def _padded(size: int) -> bytes:
    head = b'{"expire":86400,"pad":"'
    tail = b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_request_body_too_large(fake, method):
    url = "/accesskeys" if method == "POST" else f"/accesskeys/{TUTORIAL_KEY_ID}"
    body = _padded((1 << 20) + 1)
    assert len(body) == (1 << 20) + 1
    r = fake.client().request(method, url, content=body)
    assert r.status_code == 413
    assert r.headers["content-type"] == JSON_UTF8
    pairs = json.loads(r.text, object_pairs_hook=list)
    assert [k for k, _ in pairs[0][1]][-4:] == ["message", "reason", "request_id", "status"]
    error = r.json()["error"]
    assert (error["status"], error["reason"]) == ("INVALID_ARGUMENT", "REQUEST_BODY_TOO_LARGE")
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == r.headers["x-request-id"]
    tutorial_key_unchanged(fake)


def test_body_of_exactly_one_mib_is_accepted(fake):
    body = _padded(1 << 20)
    assert len(body) == 1 << 20
    r = fake.client().post("/accesskeys", content=body)
    assert r.status_code == 200, r.text[:300]


# --- POST /auth/login -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="bad-json"),
        pytest.param(b"[]", id="array"),
        pytest.param(b"{}", id="no-fields"),
        pytest.param(b'{"username":"admin@example.com"}', id="missing-password"),
        pytest.param(b'{"password":"admin-password"}', id="missing-username"),
        pytest.param(b'{"username":"admin@example.com","password":""}', id="empty-password"),
        pytest.param(b'{"username":"","password":"admin-password"}', id="empty-username"),
        pytest.param(b'{"username":"admin@example.com","password":"wrong"}', id="wrong-password"),
        pytest.param(b'{"username":"nobody@example.com","password":"x"}', id="unknown-user"),
        pytest.param(b'{"username":1,"password":"admin-password"}', id="username-number"),
    ],
)
def test_login_failures_are_bare_400(fake, body):
    r = fake.client(None, root=True).post("/auth/login", content=body)
    assert r.status_code == 400
    assert r.content == b""
    assert GENERATED_ID.match(r.headers["x-request-id"])
    assert "set-cookie" not in r.headers


def test_login_failure_echoes_request_id(fake):
    r = fake.client(None, root=True).post(
        "/auth/login", content=b"{", headers={"X-Request-Id": "login-1"}
    )
    assert (r.status_code, r.content, r.headers["x-request-id"]) == (400, b"", "login-1")


def test_login_success(fake):
    r = fake.client(None, root=True).post("/auth/login", json=ADMIN_LOGIN)
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON_UTF8
    body = r.json()
    assert list(body) == ["username", "token"]
    assert body["username"] == ADMIN_LOGIN["username"]
    assert r.headers["set-cookie"] == (
        f"token={body['token']}; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict"
    )
    # The cookie works as a credential.
    c = fake.client(None, headers={"Cookie": f"token={body['token']}"})
    assert c.get("/accesskeys").status_code == 200
