"""GET /v1.0/me (facts §11): only an agent JWT gets its agent, read fresh from the store,
in production's key order; every other caller, bad credential or missing agent gets
production's answer, in both profiles."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from fakevoipbin.core.auth import encode_jwt, mint_delegate_token, mint_direct_token
from fakevoipbin.core.clock import format_fixed
from fakevoipbin.fixtures import parse_fixtures
from fakevoipbin.journal_queries import LocalJournal

from ..conftest import (
    ADMIN_LOGIN,
    FROZEN_CUSTOMER,
    FROZEN_TOKEN,
    MANAGER_LOGIN,
    SECOND_CUSTOMER,
    TUTORIAL_CUSTOMER,
    TUTORIAL_TOKEN,
    Harness,
)

#: The body's keys, in production's order (bin-agent-manager's WebhookMessage), with the
#: timestamps that are set: a fixture agent has only tm_create.
ME_FIELDS = [
    "id",
    "customer_id",
    "username",
    "name",
    "detail",
    "ring_method",
    "status",
    "permission",
    "tag_ids",
    "addresses",
    "direct_hash",
    "tm_create",
]
AGENT_AUTH_REQUIRED = {
    "message": "This endpoint requires agent authentication.",
    "reason": "AGENT_AUTH_REQUIRED",
    "status": "PERMISSION_DENIED",
}
#: An instant whose fraction the live profile trims (.12) and docs does not (.120000).
TRIMMED_NOW = "2026-12-01T10:15:30.120000Z"
TIMESTAMP_TEXT = {"docs": "2026-12-01T10:15:30.120000Z", "live": "2026-12-01T10:15:30.12Z"}


def error(r: httpx.Response, status: int, reason: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["reason"] == reason, r.text
    assert err["request_id"] == r.headers["x-request-id"]
    assert "details" not in err or reason == "ACCOUNT_FROZEN"
    return err


def me(h: Harness, token: str, slot: str = "bearer") -> httpx.Response:
    c = h.client(None)
    if slot == "bearer":
        return c.get("/me", headers={"Authorization": f"Bearer {token}"})
    if slot == "cookie":
        return c.get("/me", headers={"Cookie": f"token={token}"})
    if slot == "token_query":
        return c.get("/me", params={"token": token})
    if slot == "accesskey_cookie":
        return c.get("/me", headers={"Cookie": f"accesskey={token}"})
    assert slot == "accesskey_query"
    return c.get("/me", params={"accesskey": token})


def claims(h: Harness, token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = pyjwt.decode(
        token, h.state.secret, algorithms=["HS256"], options={"verify_aud": False}
    )
    return decoded


@pytest.fixture(params=["docs", "live"])
def trimmed(request: pytest.FixtureRequest, make_fake: Any) -> Harness:
    """The default fixtures on a clock whose instant the two profiles print apart."""
    return make_fake(profile=request.param, now=TRIMMED_NOW)  # type: ignore[no-any-return]


# --- the agent --------------------------------------------------------------------------


@pytest.mark.parametrize("slot", ["bearer", "cookie", "token_query"])
def test_login_then_me_in_every_token_slot(trimmed: Harness, slot: str) -> None:
    token = trimmed.login(ADMIN_LOGIN)
    r = me(trimmed, token, slot)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert list(body) == ME_FIELDS
    agent = claims(trimmed, token)["agent"]
    assert body == {
        "id": agent["id"],
        "customer_id": TUTORIAL_CUSTOMER,
        "username": "admin@example.com",
        "name": "Tutorial admin",
        "detail": "",
        "ring_method": "ringall",
        "status": "offline",
        "permission": 0x20,
        "tag_ids": [],
        "addresses": [],
        "direct_hash": agent["direct_hash"],
        "tm_create": TIMESTAMP_TEXT[trimmed.state.profile.name],
    }
    assert re.fullmatch(r"direct\.[0-9a-f]{12}", body["direct_hash"])
    # never the direct id nor the password hash, on the wire
    assert b"direct_id" not in r.content and b"password" not in r.content
    assert agent["direct_id"] not in r.text


def test_me_is_the_same_agent_in_every_slot_and_on_every_login(fake: Harness) -> None:
    first = me(fake, fake.login(ADMIN_LOGIN)).json()
    fake.clock.advance(60)
    again = fake.login(ADMIN_LOGIN)
    for slot in ("bearer", "cookie", "token_query"):
        assert me(fake, again, slot).json() == first


def test_each_agent_gets_itself(fake: Harness) -> None:
    second = {"username": "second-admin@example.com", "password": "second-password"}
    admin, manager, other = (
        me(fake, fake.login(x)).json() for x in (ADMIN_LOGIN, MANAGER_LOGIN, second)
    )
    assert len({admin["id"], manager["id"], other["id"]}) == 3
    assert len({admin["direct_hash"], manager["direct_hash"], other["direct_hash"]}) == 3
    assert (manager["username"], manager["permission"]) == ("manager@example.com", 0x40)
    assert (other["customer_id"], other["name"]) == (SECOND_CUSTOMER, "Second admin")


def test_no_permission_bit_is_needed_to_read_yourself(fake: Harness) -> None:
    token = fake.login(MANAGER_LOGIN)  # a manager only: 403 on the access keys
    error(fake.client(None).get("/accesskeys", params={"token": token}), 403, "PERMISSION_DENIED")
    assert me(fake, token).status_code == 200


def test_agent_fields_from_the_fixture_file(make_fake: Any) -> None:
    fixtures = parse_fixtures(
        {
            "customers": [
                {
                    "id": TUTORIAL_CUSTOMER,
                    "users": [
                        {
                            "id": "0f0e0d0c-0b0a-4908-8706-050403020100",
                            "username": "agent7",
                            "password": "pw-7",
                            "permission": 0x10 | 0x40,
                            "name": "Seven",
                            "detail": "night shift",
                            "ring_method": "linear",
                            "status": "available",
                            "tag_ids": ["11111111-2222-4333-8444-555555555555"],
                            "addresses": [
                                {"type": "tel", "target": "+821021656521"},
                                {"type": "sip", "target": "a@b.c", "name": "", "detail": "desk"},
                            ],
                        }
                    ],
                }
            ]
        }
    )
    for profile in ("docs", "live"):
        h = make_fake(profile=profile, fixtures=fixtures)
        body = me(h, h.login({"username": "agent7", "password": "pw-7"})).json()
        assert list(body) == ME_FIELDS
        assert body["id"] == "0f0e0d0c-0b0a-4908-8706-050403020100"
        assert (body["name"], body["detail"], body["ring_method"], body["status"]) == (
            "Seven",
            "night shift",
            "linear",
            "available",
        )
        assert body["permission"] == 0x50
        assert body["tag_ids"] == ["11111111-2222-4333-8444-555555555555"]
        # each address keeps production's field order and leaves out its empty fields
        assert body["addresses"] == [
            {"type": "tel", "target": "+821021656521"},
            {"type": "sip", "target": "a@b.c", "detail": "desk"},
        ]
        assert list(body["addresses"][1]) == ["type", "target", "detail"]


def test_the_agent_is_read_fresh_not_from_the_jwt(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    fake.state.store.users["admin@example.com"].name = "Renamed since the login"
    assert me(fake, token).json()["name"] == "Renamed since the login"
    assert claims(fake, token)["agent"]["name"] == "Tutorial admin"


def test_an_agent_removed_after_login_is_404(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    fake.state.store.remove_user("admin@example.com")
    err = error(me(fake, token), 404, "AGENT_NOT_FOUND")
    assert (err["status"], err["message"]) == ("NOT_FOUND", "The agent was not found.")
    # the JWT still authenticates elsewhere, as production's does until it expires
    assert fake.client(None).get("/accesskeys", params={"token": token}).status_code == 200
    # and the agent can no longer log in
    r = fake.client(None, root=True).post("/auth/login", json=ADMIN_LOGIN)
    assert (r.status_code, r.content) == (400, b"")


def test_direct_ids_and_hashes_follow_the_seed(make_fake: Any) -> None:
    def ours(seed: int) -> dict[str, Any]:
        h = make_fake(profile="live", seed=seed)
        return me(h, h.login(ADMIN_LOGIN)).json()

    assert ours(3) == ours(3)
    assert ours(3)["direct_hash"] != ours(4)["direct_hash"]
    assert ours(3)["id"] != ours(4)["id"]


# --- who else calls ---------------------------------------------------------------------


@pytest.mark.parametrize("slot", ["accesskey_query", "accesskey_cookie"])
def test_an_access_key_is_403_agent_auth_required(fake: Harness, slot: str) -> None:
    err = error(me(fake, TUTORIAL_TOKEN, slot), 403, "AGENT_AUTH_REQUIRED")
    assert {k: err[k] for k in AGENT_AUTH_REQUIRED} == AGENT_AUTH_REQUIRED


def test_an_access_key_as_bearer(docs: Harness, live: Harness) -> None:
    # docs reads it as an access key (the docs say it works); live as a JWT, as production
    error(me(docs, TUTORIAL_TOKEN), 403, "AGENT_AUTH_REQUIRED")
    error(me(live, TUTORIAL_TOKEN), 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize("slot", ["bearer", "cookie", "token_query"])
def test_a_direct_token_is_403_agent_auth_required(fake: Harness, slot: str) -> None:
    token = mint_direct_token(fake.state, TUTORIAL_CUSTOMER)
    err = error(me(fake, token, slot), 403, "AGENT_AUTH_REQUIRED")
    assert {k: err[k] for k in AGENT_AUTH_REQUIRED} == AGENT_AUTH_REQUIRED


@pytest.mark.parametrize("slot", ["bearer", "cookie", "token_query"])
def test_a_delegate_token_is_403_agent_auth_required(fake: Harness, slot: str) -> None:
    token = mint_delegate_token(fake.state, TUTORIAL_CUSTOMER)
    err = error(me(fake, token, slot), 403, "AGENT_AUTH_REQUIRED")
    assert {k: err[k] for k in AGENT_AUTH_REQUIRED} == AGENT_AUTH_REQUIRED


def test_a_delegate_token_acts_as_a_customer_admin(fake: Harness) -> None:
    """Facts §7: a delegate counts as a customer admin of its customer, nothing more."""
    token = mint_delegate_token(fake.state, SECOND_CUSTOMER)
    r = fake.client(None).get("/accesskeys", params={"token": token})
    assert r.status_code == 200, r.text
    assert {k["customer_id"] for k in r.json()["result"]} == {SECOND_CUSTOMER}
    c = claims(fake, token)
    assert (c["type"], c["aud"], c["customer_id"]) == ("delegate", "voipbin-api", SECOND_CUSTOMER)
    assert c["expire"] == format_fixed(fake.clock.now_us() + 8 * 3600 * 1_000_000)
    # no super admin rights: a frozen customer's delegate meets the frozen check
    frozen = mint_delegate_token(fake.state, FROZEN_CUSTOMER)
    error(fake.client(None).get("/accesskeys", params={"token": frozen}), 403, "ACCOUNT_FROZEN")


def test_a_delegate_token_for_another_audience_is_refused(fake: Harness) -> None:
    claims_ = {"type": "delegate", "aud": "elsewhere", "customer_id": TUTORIAL_CUSTOMER}
    token = encode_jwt({**claims_, "expire": "9999-01-01T00:00:00.000000Z"}, fake.state.secret)
    error(me(fake, token), 401, "INVALID_CREDENTIALS")


def test_an_agent_jwt_without_a_type_is_an_agent(fake: Harness) -> None:
    """Production reads a JWT with no ``type`` as an agent's (backward compatible)."""
    agent = claims(fake, fake.login(ADMIN_LOGIN))["agent"]
    token = encode_jwt({"agent": agent, "expire": "9999-01-01T00:00:00.000000Z"}, fake.state.secret)
    assert me(fake, token).json()["id"] == agent["id"]


def test_a_jwt_of_an_unknown_type_is_refused(fake: Harness) -> None:
    agent = claims(fake, fake.login(ADMIN_LOGIN))["agent"]
    token = encode_jwt(
        {"agent": agent, "expire": "9999-01-01T00:00:00.000000Z", "type": "robot"},
        fake.state.secret,
    )
    error(me(fake, token), 401, "INVALID_CREDENTIALS")
    error(fake.client(None).get("/accesskeys", params={"token": token}), 401, "INVALID_CREDENTIALS")


# --- credentials and the account ---------------------------------------------------------


def test_no_credential_is_401(fake: Harness) -> None:
    error(fake.client(None).get("/me"), 401, "AUTHENTICATION_REQUIRED")
    error(fake.client(None).get("/me", params={"accesskey": ""}), 401, "AUTHENTICATION_REQUIRED")


def test_a_jwt_sent_as_accesskey_is_invalid_credentials(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    error(me(fake, token, "accesskey_query"), 401, "INVALID_CREDENTIALS")
    error(me(fake, token, "accesskey_cookie"), 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize("slot", ["bearer", "cookie", "token_query"])
def test_an_expired_jwt_is_401(fake: Harness, slot: str) -> None:
    token = fake.login(ADMIN_LOGIN)
    fake.clock.advance(7 * 86400)
    assert me(fake, token, slot).status_code == 200  # still valid at the exact instant
    fake.clock.advance(1)
    error(me(fake, token, slot), 401, "INVALID_CREDENTIALS")


def test_a_garbage_or_foreign_jwt_is_401(fake: Harness, make_fake: Any) -> None:
    other = make_fake(profile=fake.state.profile.name, seed=9)
    foreign = other.login(ADMIN_LOGIN)
    for token in ("not-a-jwt", "a.b.c", foreign):
        error(me(fake, token), 401, "INVALID_CREDENTIALS")


def test_a_frozen_customers_access_key_meets_the_frozen_check_first(fake: Harness) -> None:
    """The frozen check is the middleware's, before /me's own agent check."""
    error(me(fake, FROZEN_TOKEN, "accesskey_query"), 403, "ACCOUNT_FROZEN")


def test_the_customer_rate_limit_counts_me(fake: Harness) -> None:
    fake.state.rate_limit = True
    token = fake.login(ADMIN_LOGIN)
    statuses = [me(fake, token).status_code for _ in range(34)]
    assert statuses[:33] == [200] * 33 and statuses[33] == 429
    r = me(fake, token)
    assert r.json()["error"]["details"] == [{"limited_by": "customer"}]
    fake.clock.advance(1)
    assert me(fake, token).status_code == 200


# --- the route, the stages, the journal ---------------------------------------------------


def test_me_runs_the_whole_v1_chain(docs: Harness) -> None:
    op = docs.app.pipeline.spec.operations["GetMe"]
    assert (op.method, op.path, op.secured) == ("GET", "/v1.0/me", True)
    names = [s.__name__ for s in docs.app.pipeline.stages_for(op)]
    assert names == [
        "request_id",
        "cors",
        "fault",
        "per_ip_limit",
        "credentials",
        "customer_limit",
        "frozen",
        "operation",
    ]


def test_me_routes_as_gin_does(fake: Harness) -> None:
    c = fake.client(None)
    r = c.get("/me/", params={"accesskey": TUTORIAL_TOKEN})
    assert r.status_code == 301
    assert r.headers["location"].startswith("/v1.0/me?")
    error(c.post("/me", params={"accesskey": TUTORIAL_TOKEN}), 404, "ROUTE_NOT_FOUND")
    root = fake.client(None, root=True)
    error(root.get("/me", params={"accesskey": TUTORIAL_TOKEN}), 404, "ROUTE_NOT_FOUND")


def test_the_journal_names_me_and_its_caller(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    me(fake, token)
    me(fake, TUTORIAL_TOKEN, "accesskey_query")
    journal = LocalJournal(fake.state.journal)
    journal.assert_called("GetMe", status=200, reason=None, times=1)
    journal.assert_called("GetMe", status=403, reason="AGENT_AUTH_REQUIRED", times=1)
    entries = journal.calls("GetMe")
    assert entries[0].auth == "agent admin@example.com"
    assert token not in repr(entries)


def test_the_specs_example_is_what_docs_answers(docs: Harness) -> None:
    """openapi.yaml's /me example: the tutorial admin at seed 0 and the tutorial's instant."""
    from .. import spec_check

    op = spec_check.DOC["paths"]["/me"]["get"]
    example = op["responses"]["200"]["content"]["application/json"]["examples"]["admin"]
    assert me(docs, docs.login(ADMIN_LOGIN)).json() == example["value"]
