"""``/v1.0/customer`` (facts §12) in both profiles: the body in production's key order,
the check order and permissions of GET and PUT, the metadata and billing-account
sub-resources, and ``webhook_secret``: shown by GET alone, derived from the seed (so a
dump carries none and a restart shows the same one), never in the journal, the log, a
dump or another answer. ``docs`` follows production here, with its own timestamp text.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.core import admin
from fakevoipbin.core.auth import mint_direct_token
from fakevoipbin.core.clock import US, format_fixed, format_trimmed, parse_instant
from fakevoipbin.core.customers import webhook_secret
from fakevoipbin.core.fixtureset import PERMISSIONS, FixtureSet, FixtureUser
from fakevoipbin.fixtures import FixtureError, load_fixtures, parse_fixtures
from fakevoipbin.journal_queries import LocalJournal
from fakevoipbin.spec import default_spec

from ..conftest import (
    ADMIN_LOGIN,
    FROZEN_CUSTOMER,
    FROZEN_TOKEN,
    MANAGER_LOGIN,
    NOW,
    SECOND_CUSTOMER,
    SECOND_TOKEN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_TOKEN,
    Harness,
)

NIL = "00000000-0000-0000-0000-000000000000"
SECRET = re.compile(r"^[A-Za-z0-9_-]{32}$")
#: Production's key order (bin-customer-manager/models/customer/webhook.go), with every
#: text field set.
ORDER = [
    "id",
    "name",
    "detail",
    "email",
    "phone_number",
    "address",
    "webhook_method",
    "webhook_uri",
    "billing_account_id",
    "metadata",
    "email_verified",
    "status",
    "identity_verification_status",
    "tm_deletion_scheduled",
    "tm_create",
    "tm_update",
    "tm_delete",
    "webhook_secret",
]
TEXT = ["name", "detail", "email", "phone_number", "address", "webhook_method", "webhook_uri"]
#: A clock whose fraction has trailing zeros, so the two profiles' time text differs.
ROUND_NOW = "2026-12-01T10:15:30.100000Z"
TIME_TEXT = {"docs": "2026-12-01T10:15:30.100000Z", "live": "2026-12-01T10:15:30.1Z"}
FORMAT = {"docs": format_fixed, "live": format_trimmed}
AGENT_LOGIN = {"username": "agent@example.com", "password": "agent-password"}
ROOT_LOGIN = {"username": "root@example.com", "password": "root-password"}

PERMISSION_DENIED = (403, "PERMISSION_DENIED")
DIRECT = (403, "DIRECT_ACCESS_NOT_SUPPORTED")
FROZEN = (403, "ACCOUNT_FROZEN")
INVALID_JSON_BODY = (400, "INVALID_JSON_BODY")
INVALID_ID = (400, "INVALID_ID")


def keys_of(r: httpx.Response) -> list[str]:
    return [k for k, _ in json.loads(r.text, object_pairs_hook=list)]


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["reason"]


def control(fake: Harness) -> httpx.Client:
    """A client of the control API (outside openapi.yaml, so not checked against it)."""
    return httpx.Client(transport=fake.transport, base_url="http://testserver/_fake")


def bearer(fake: Harness, login: dict[str, str]) -> httpx.Client:
    return fake.client(None, headers={"Authorization": f"Bearer {fake.login(login)}"})


def direct(fake: Harness, customer_id: str = TUTORIAL_CUSTOMER) -> httpx.Client:
    token = mint_direct_token(fake.state, customer_id)
    return fake.client(None, headers={"Authorization": f"Bearer {token}"})


def with_more_users(profile: str, now: str = NOW) -> Harness:
    """The default fixtures, plus a customer-agent-only user of the tutorial customer and
    a project super admin of the frozen customer (both log in)."""
    base = load_fixtures()
    extra = {
        TUTORIAL_CUSTOMER: FixtureUser(
            "agent@example.com", "agent-password", PERMISSIONS["customer_agent"], "An agent"
        ),
        FROZEN_CUSTOMER: FixtureUser(
            "root@example.com", "root-password", PERMISSIONS["project_super_admin"], "Root"
        ),
    }
    customers = tuple(
        dataclasses.replace(c, users=(*c.users, extra[c.id])) if c.id in extra else c
        for c in base.customers
    )
    return Harness(profile=profile, now=now, fixtures=FixtureSet(customers, "more users"))


@pytest.fixture(params=["docs", "live"])
def more(request: pytest.FixtureRequest) -> Any:
    h = with_more_users(request.param)
    yield h
    h.close()


# --- GET: the body -----------------------------------------------------------------


def test_get_answers_the_fixture_customer_in_productions_key_order(fake: Harness) -> None:
    r = fake.client().get("/customer")
    assert r.status_code == 200, r.text
    body = r.json()
    # phone_number and address are empty: left out; every other key in order.
    assert keys_of(r) == [k for k in ORDER if k not in ("phone_number", "address")]
    assert body == {
        "id": TUTORIAL_CUSTOMER,
        "name": "Tutorial customer",
        "detail": "The customer of the access-key tutorial",
        "email": "admin@example.com",
        "webhook_method": "POST",
        "webhook_uri": "https://example.com/voipbin/webhook",
        "billing_account_id": NIL,
        "metadata": {"rtp_debug": False},
        "email_verified": True,
        "status": "active",
        "identity_verification_status": "none",
        "tm_deletion_scheduled": None,
        "tm_create": NOW,
        "tm_update": None,
        "tm_delete": None,
        "webhook_secret": webhook_secret(0, TUTORIAL_CUSTOMER),
    }
    assert SECRET.match(body["webhook_secret"])
    LocalJournal(fake.state.journal).assert_called("GetCustomer", times=1, status=200)


def test_a_customer_with_a_name_only_omits_every_other_text_field(fake: Harness) -> None:
    r = fake.client(SECOND_TOKEN).get("/customer")
    assert r.status_code == 200
    assert keys_of(r) == ["id", "name", *ORDER[8:]]
    body = r.json()
    assert (body["id"], body["name"]) == (SECOND_CUSTOMER, "Second customer")
    assert body["email_verified"] is False
    # As old as its oldest key (made two days before the clock's start).
    assert parse_instant(body["tm_create"]) == parse_instant(NOW) - 172_800 * US
    assert body["webhook_secret"] == webhook_secret(0, SECOND_CUSTOMER)
    assert body["webhook_secret"] != webhook_secret(0, TUTORIAL_CUSTOMER)


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_times_are_in_the_profiles_text_and_null_until_set(make_fake: Any, profile: str) -> None:
    fake = make_fake(profile=profile, now=ROUND_NOW)
    body = fake.client().get("/customer").json()
    assert body["tm_create"] == TIME_TEXT[profile]
    # docs follows production: null, not a copy of tm_create nor the 9999 sentinel.
    assert (body["tm_update"], body["tm_delete"], body["tm_deletion_scheduled"]) == (
        None,
        None,
        None,
    )
    updated = fake.client().put("/customer", json={"name": "n"}).json()
    assert updated["tm_update"] == FORMAT[profile](parse_instant(ROUND_NOW) + 1)


def test_the_secret_comes_from_the_seed_and_the_id(make_fake: Any) -> None:
    one = make_fake(seed=1).client().get("/customer").json()["webhook_secret"]
    again = make_fake(seed=1).client().get("/customer").json()["webhook_secret"]
    other = make_fake(seed=2).client().get("/customer").json()["webhook_secret"]
    assert one == again == webhook_secret(1, TUTORIAL_CUSTOMER)
    assert other == webhook_secret(2, TUTORIAL_CUSTOMER) != one
    assert SECRET.match(one) and SECRET.match(other)


def test_the_spec_keeps_webhook_secret_to_get() -> None:
    spec = default_spec()
    body = Harness().client().get("/customer").json()
    without = {k: v for k, v in body.items() if k != "webhook_secret"}
    get, put = spec.operations["GetCustomer"], spec.operations["PutCustomer"]
    assert spec.check_response(get, 200, body) == []
    assert spec.check_response(get, 200, without) == []
    assert spec.check_response(put, 200, without) == []
    assert spec.check_response(put, 200, body) != []
    for op_id in ("PutCustomerMetadata", "PutCustomerBillingAccountId"):
        assert spec.check_response(spec.operations[op_id], 200, body) != []


# --- GET: who may read it, in production's order ------------------------------------


def test_get_needs_credentials(fake: Harness) -> None:
    assert error(fake.client(None).get("/customer")) == (401, "AUTHENTICATION_REQUIRED")
    assert error(fake.client("vb_" + "x" * 32).get("/customer")) == (401, "INVALID_CREDENTIALS")


def test_a_frozen_account_gets_its_403_from_the_middleware(fake: Harness) -> None:
    r = fake.client(FROZEN_TOKEN).get("/customer")
    assert error(r) == FROZEN
    assert r.json()["error"]["details"][0]["recovery_endpoint"] == "DELETE /auth/unregister"


def test_a_direct_token_is_refused_before_any_permission(fake: Harness) -> None:
    assert error(direct(fake).get("/customer")) == DIRECT
    # Direct identities skip the frozen check; the direct 403 still comes first.
    assert error(direct(fake, FROZEN_CUSTOMER).get("/customer")) == DIRECT


def test_admins_managers_and_access_keys_read_it(fake: Harness) -> None:
    for client in (fake.client(), bearer(fake, ADMIN_LOGIN), bearer(fake, MANAGER_LOGIN)):
        r = client.get("/customer")
        assert r.status_code == 200, r.text
        assert r.json()["id"] == TUTORIAL_CUSTOMER
        assert SECRET.match(r.json()["webhook_secret"])


def test_an_agent_alone_is_refused(more: Harness) -> None:
    assert error(bearer(more, AGENT_LOGIN).get("/customer")) == PERMISSION_DENIED


def test_a_project_super_admin_reads_a_frozen_customer(more: Harness) -> None:
    r = bearer(more, ROOT_LOGIN).get("/customer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["status"]) == (FROZEN_CUSTOMER, "frozen")
    profile = more.state.profile.name
    assert body["tm_deletion_scheduled"] == FORMAT[profile](parse_instant(NOW))


def test_a_customer_the_store_lacks_is_productions_backend_400(fake: Harness) -> None:
    """An admin JWT whose customer the store does not hold (no fixture makes one, so it
    is minted here with the state's secret)."""
    from fakevoipbin.core.auth import encode_jwt

    agent = {
        "id": NIL,
        "customer_id": "11111111-2222-4333-8444-555555555555",
        "username": "ghost",
        "permission": PERMISSIONS["customer_admin"],
    }
    expire = format_fixed(parse_instant(NOW) + 86_400 * US)
    claims = {"type": "agent", "agent": agent, "expire": expire}
    token = encode_jwt(claims, fake.state.secret)
    r = fake.client(None, headers={"Authorization": f"Bearer {token}"}).get("/customer")
    assert error(r) == (400, "INVALID_ARGUMENT")
    assert r.json()["error"]["message"] == "The request contains invalid data."


# --- PUT -----------------------------------------------------------------------------


def test_put_overwrites_all_seven_fields_and_drops_the_secret(fake: Harness) -> None:
    c = fake.client()
    before = c.get("/customer").json()
    r = c.put("/customer", json={"name": "Renamed", "webhook_method": "TELEPATHY", "email": "x"})
    assert r.status_code == 200, r.text
    # The omitted detail, webhook_uri, ... became "" and are left out; no secret.
    assert keys_of(r) == ["id", "name", "email", "webhook_method", *ORDER[8:-1]]
    body = r.json()
    # Nothing checks the webhook method or the email.
    assert (body["name"], body["email"], body["webhook_method"]) == ("Renamed", "x", "TELEPATHY")
    assert body["tm_update"] is not None and body["tm_create"] == before["tm_create"]
    # GET shows the same, with its secret, unchanged.
    got = c.get("/customer").json()
    assert {k: v for k, v in got.items() if k != "webhook_secret"} == body
    assert got["webhook_secret"] == before["webhook_secret"]
    LocalJournal(fake.state.journal).assert_called("PutCustomer", times=1, status=200)


def test_put_of_nothing_blanks_every_text_field(fake: Harness) -> None:
    c = fake.client()
    for body in (b"{}", b"null", json.dumps(dict.fromkeys(TEXT)).encode()):  # null: missing
        r = c.put("/customer", content=body)
        assert r.status_code == 200, (body, r.text)
        assert keys_of(r) == ["id", *ORDER[8:-1]]


def test_put_reads_field_names_in_any_case_and_ignores_others(fake: Harness) -> None:
    r = fake.client().put("/customer", json={"NAME": "N", "Detail": "D", "status": "frozen"})
    assert r.status_code == 200
    body = r.json()
    assert (body["name"], body["detail"], body["status"]) == ("N", "D", "active")


def test_put_checks_the_body_then_direct_then_admin(more: Harness) -> None:
    manager, agent, frozen = bearer(more, MANAGER_LOGIN), bearer(more, AGENT_LOGIN), direct(more)
    # The body is parsed first: a 400 for anyone, before their 403.
    for client in (manager, agent, frozen):
        assert error(client.put("/customer", content=b"{")) == INVALID_JSON_BODY
        assert error(client.put("/customer", json={"name": 1})) == INVALID_JSON_BODY
    assert error(frozen.put("/customer", json={"name": "x"})) == DIRECT
    # CustomerAdmin only: a manager (who may read it) and an agent get 403.
    assert error(manager.put("/customer", json={"name": "x"})) == PERMISSION_DENIED
    assert error(agent.put("/customer", json={"name": "x"})) == PERMISSION_DENIED
    assert bearer(more, ADMIN_LOGIN).put("/customer", json={"name": "x"}).status_code == 200
    # A frozen account: 403 from the middleware, before the body.
    assert error(more.client(FROZEN_TOKEN).put("/customer", content=b"{")) == FROZEN


def test_customers_are_isolated(fake: Harness) -> None:
    fake.client().put("/customer", json={"name": "changed"})
    other = fake.client(SECOND_TOKEN).get("/customer").json()
    assert other["name"] == "Second customer"


# --- metadata and billing account ---------------------------------------------------


def test_metadata_sets_rtp_debug_and_missing_means_false(fake: Harness) -> None:
    c = fake.client()
    on = c.put("/customer/metadata", json={"rtp_debug": True})
    assert on.status_code == 200, on.text
    assert on.json()["metadata"] == {"rtp_debug": True}
    assert "webhook_secret" not in on.json()
    assert on.json()["tm_update"] is not None
    assert c.get("/customer").json()["metadata"] == {"rtp_debug": True}
    off = c.put("/customer/metadata", json={})
    assert off.json()["metadata"] == {"rtp_debug": False}
    assert error(c.put("/customer/metadata", json={"rtp_debug": "yes"})) == INVALID_JSON_BODY
    assert error(bearer(fake, MANAGER_LOGIN).put("/customer/metadata", json={})) == (
        PERMISSION_DENIED
    )
    assert error(direct(fake).put("/customer/metadata", json={})) == DIRECT


def test_billing_account_id_is_set_in_its_canonical_form(fake: Harness) -> None:
    c = fake.client()
    account = "62e2b3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
    r = c.put("/customer/billing_account_id", json={"billing_account_id": account.upper()})
    assert r.status_code == 200, r.text
    assert r.json()["billing_account_id"] == account
    assert "webhook_secret" not in r.json()
    assert c.get("/customer").json()["billing_account_id"] == account


@pytest.mark.parametrize(
    "body",
    [{"billing_account_id": NIL}, {"billing_account_id": "junk"}, {}, {"billing_account_id": ""}],
    ids=["nil", "junk", "missing", "empty"],
)
def test_a_bad_billing_account_id_is_invalid_id_before_any_403(fake: Harness, body: Any) -> None:
    for client in (fake.client(), bearer(fake, MANAGER_LOGIN), direct(fake)):
        r = client.put("/customer/billing_account_id", json=body)
        assert error(r) == INVALID_ID
        assert r.json()["error"]["message"] == "The provided id is not a valid UUID."
    assert fake.client().get("/customer").json()["billing_account_id"] == NIL


def test_a_good_billing_account_id_still_needs_an_admin(fake: Harness) -> None:
    body = {"billing_account_id": "62e2b3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}
    manager = bearer(fake, MANAGER_LOGIN)
    assert error(manager.put("/customer/billing_account_id", json=body)) == PERMISSION_DENIED
    assert error(direct(fake).put("/customer/billing_account_id", json=body)) == DIRECT
    wrong = {"billing_account_id": 7}
    assert error(fake.client().put("/customer/billing_account_id", json=wrong)) == (
        INVALID_JSON_BODY
    )


def test_the_customers_400s_follow_the_profile(fake: Harness) -> None:
    """docs names the field in details; live sends production's four fields alone."""
    r = fake.client().put("/customer", json={"email": ["x"]})
    assert error(r) == INVALID_JSON_BODY
    inner = r.json()["error"]
    if fake.state.profile.name == "docs":
        assert [d["field"] for d in inner["details"]] == ["email"]
    else:
        assert list(inner) == ["message", "reason", "request_id", "status"]
        assert [v["field"] for v in fake.state.journal.entries()[-1].request_violations] == [
            "email"
        ]


# --- customers that tests make ------------------------------------------------------


def test_the_control_api_makes_customers_with_fields(fake: Harness) -> None:
    root = control(fake)
    made = root.post(
        "/customers",
        json={"name": "Acme", "email": "ops@acme.test", "webhook_uri": "https://acme.test/h"},
    ).json()
    assert made["status"] == "active"
    r = fake.client(made["accesskey"]["token"]).get("/customer")
    body = r.json()
    assert (body["id"], body["name"], body["email"]) == (
        made["customer_id"],
        "Acme",
        "ops@acme.test",
    )
    assert body["webhook_uri"] == "https://acme.test/h"
    assert "detail" not in body and body["status"] == "active"
    assert body["tm_create"] == FORMAT[fake.state.profile.name](parse_instant(NOW))
    assert body["webhook_secret"] == webhook_secret(0, made["customer_id"])
    frozen = root.post("/customers", json={"frozen": True}).json()
    assert (frozen["status"], frozen["frozen"]) == ("frozen", True)
    for bad in ({"email": 5}, {"colour": "red"}, {"email_verified": "yes"}):
        refused = root.post("/customers", json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["reason"] == "INVALID_ARGUMENT"


def test_the_python_face_makes_customers_with_fields() -> None:
    fake = FakeVoipbin(profile="live", now=NOW)
    cid, token = fake.add_customer("Acme", detail="d", email_verified=True)
    with fake.client() as c:
        body = c.get("/customer", params={"accesskey": token}).json()
    assert (body["id"], body["name"], body["detail"], body["email_verified"]) == (
        cid,
        "Acme",
        "d",
        True,
    )
    frozen_id, _ = fake.add_customer(frozen=True)
    assert fake.state.store.customers[frozen_id].status == "frozen"
    with pytest.raises(ValueError, match="colour"):
        fake.add_customer(colour="red")


def test_fixture_files_take_every_customer_field(make_fake: Any) -> None:
    doc = {
        "customers": [
            {
                "id": "7d2f0c3e-1a4b-4c5d-8e6f-9a0b1c2d3e4f",
                "name": "Full",
                "detail": "d",
                "email": "e@x.test",
                "phone_number": "+821100000000",
                "address": "Seoul",
                "webhook_method": "PUT",
                "webhook_uri": "https://x.test/w",
                "billing_account_id": "62e2b3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                "metadata": {"rtp_debug": True},
                "email_verified": True,
                "status": "initial",
                "identity_verification_status": "verified",
                "created_ago": 60,
                "keys": [{"token": "vb_" + "F" * 32, "name": "k"}],
            }
        ]
    }
    fake = make_fake(profile="docs", fixtures=parse_fixtures(doc))
    r = fake.client("vb_" + "F" * 32).get("/customer")
    assert keys_of(r) == ORDER
    body = r.json()
    assert body["metadata"] == {"rtp_debug": True}
    assert (body["status"], body["identity_verification_status"]) == ("initial", "verified")
    assert body["billing_account_id"] == "62e2b3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
    assert parse_instant(body["tm_create"]) == parse_instant(NOW) - 60 * US


def test_a_fixture_whose_status_contradicts_frozen_is_refused() -> None:
    doc = {"customers": [{"name": "x", "frozen": True, "status": "active"}]}
    with pytest.raises(FixtureError, match="contradicts status active"):
        parse_fixtures(doc)
    frozen = parse_fixtures({"customers": [{"name": "x", "status": "frozen"}]})
    assert frozen.customers[0].frozen is True
    with pytest.raises(FixtureError, match="status"):
        parse_fixtures({"customers": [{"status": "sleeping"}]})


# --- the secret stays a secret -------------------------------------------------------


def _secrets(fake: Harness) -> set[str]:
    return {webhook_secret(fake.state.seed, cid) for cid in fake.state.store.customers}


def test_a_dump_carries_the_fields_and_no_secret(fake: Harness) -> None:
    c = fake.client()
    c.put("/customer", json={"name": "Dumped", "address": "Here"})
    c.put("/customer/metadata", json={"rtp_debug": True})
    dumped = control(fake).get("/state")
    text = dumped.text
    assert "webhook_secret" not in text
    assert not any(s in text for s in _secrets(fake))
    mine = next(x for x in dumped.json()["customers"] if x["id"] == TUTORIAL_CUSTOMER)
    assert (mine["name"], mine["address"], mine["rtp_debug"]) == ("Dumped", "Here", True)
    assert mine["tm_update"] is not None and mine["status"] == "active"
    # Loaded into another fake of the same seed: the same customer, the same secret.
    other = Harness(profile=fake.state.profile.name)
    admin.load(other.state, dumped.json())
    got = other.client().get("/customer").json()
    assert got == c.get("/customer").json()
    other.close()


def test_an_old_dump_without_the_new_fields_still_loads(fake: Harness) -> None:
    doc = admin.dump(fake.state)
    keep = {"id", "name", "frozen", "tm_deletion_scheduled"}
    doc["customers"] = [{k: v for k, v in x.items() if k in keep} for x in doc["customers"]]
    admin.load(fake.state, doc)
    body = fake.client().get("/customer").json()
    assert (body["status"], body["billing_account_id"], body["tm_create"]) == ("active", NIL, None)
    frozen = fake.state.store.customers[FROZEN_CUSTOMER]
    assert (frozen.frozen, frozen.status) == (True, "frozen")


def test_a_restart_from_the_state_file_shows_the_same_secret(tmp_path: Path) -> None:
    path = str(tmp_path / "state.json")
    with FakeVoipbin(now=NOW, state_file=path) as first, first.client() as c:
        c.put("/customer", params={"accesskey": TUTORIAL_TOKEN}, json={"name": "Kept"})
        before = c.get("/customer", params={"accesskey": TUTORIAL_TOKEN}).json()
    saved = Path(path).read_text(encoding="utf-8")
    assert "webhook_secret" not in saved and before["webhook_secret"] not in saved
    with FakeVoipbin(now=NOW, state_file=path) as second, second.client() as c:
        after = c.get("/customer", params={"accesskey": TUTORIAL_TOKEN}).json()
    assert after == before
    assert after["name"] == "Kept"


def test_the_journal_and_the_log_never_hold_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeVoipbin(now=NOW, access_log=True)
    with caplog.at_level(logging.DEBUG, logger="fakevoipbin"), fake.client() as c:
        params = {"accesskey": TUTORIAL_TOKEN}
        secret = c.get("/customer", params=params).json()["webhook_secret"]
        # A client that echoes it back in a PUT body: the journal redacts the field.
        c.put("/customer", params=params, json={"name": "n", "webhook_secret": secret})
        c.put("/customer", params=params, content=f'{{"webhook_secret": "{secret}"'.encode())
        journal = c.get("http://fakevoipbin/_fake/journal")
    assert journal.status_code == 200
    assert secret not in journal.text
    entries = fake.journal.entries()
    assert [e.operation_id for e in entries] == ["GetCustomer", "PutCustomer", "PutCustomer"]
    assert entries[1].json == {"name": "n", "webhook_secret": "[REDACTED]"}
    assert entries[2].body is not None and "[REDACTED]" in entries[2].body
    assert all(secret not in json.dumps(e.as_dict()) for e in entries)
    assert caplog.records, "the access log wrote nothing"
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_no_answer_but_get_shows_the_secret(fake: Harness) -> None:
    c = fake.client()
    secret = c.get("/customer").json()["webhook_secret"]
    answers = [
        c.put("/customer", json={"name": "n"}),
        c.put("/customer/metadata", json={"rtp_debug": True}),
        c.put(
            "/customer/billing_account_id",
            json={"billing_account_id": "62e2b3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
        ),
        c.put("/customer", content=b"{"),
        c.get("/accesskeys"),
        c.post("/accesskeys", json={"expire": 86_400}),
        control(fake).post("/customers", json={}),
        control(fake).get("/state"),
    ]
    for r in answers:
        assert secret not in r.text and "webhook_secret" not in r.text, r.request.url


# --- a client's first minute, as VoIPbin's sandbox scripts do it ---------------------


def test_login_then_customer_then_a_new_key(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    c = fake.client(None, headers={"Authorization": f"Bearer {token}"})
    customer = c.get("/customer")
    assert customer.status_code == 200
    assert customer.json()["id"] == TUTORIAL_CUSTOMER
    created = c.post("/accesskeys", json={"name": "sandbox", "expire": 86_400})
    assert created.status_code == 200
    assert created.json()["customer_id"] == customer.json()["id"]
    key = created.json()["token"]
    assert fake.client(key).get("/customer").json()["id"] == TUTORIAL_CUSTOMER
