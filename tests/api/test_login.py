"""POST /auth/login as production answers it (facts §4), and how the fake keeps
passwords: as salted hashes, made once when the fixtures are parsed, never in a dump."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.core import admin, agents
from fakevoipbin.core.clock import format_fixed
from fakevoipbin.fixtures import load_fixtures, parse_fixtures

from ..conftest import (
    ADMIN_LOGIN,
    FROZEN_CUSTOMER,
    MANAGER_LOGIN,
    NOW,
    TUTORIAL_CUSTOMER,
    Harness,
)

SET_COOKIE = "token={}; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict"
SECOND_LOGIN = {"username": "second-admin@example.com", "password": "second-password"}
FIXTURE_PASSWORDS = ["admin-password", "manager-password", "second-password"]
#: The agent object a login JWT carries, in production's order (its Agent model).
CLAIM_AGENT_FIELDS = [
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
    "direct_id",
    "direct_hash",
    "tm_create",
]
FROZEN_AGENT = {"username": "frozen-admin@example.com", "password": "frozen-password"}


def frozen_fixtures() -> Any:
    """The default fixtures plus a login user of the frozen customer."""
    doc: dict[str, Any] = {
        "customers": [
            {"id": TUTORIAL_CUSTOMER, "users": [{**ADMIN_LOGIN, "permission": "customer_admin"}]},
            {
                "id": FROZEN_CUSTOMER,
                "frozen": True,
                "users": [{**FROZEN_AGENT, "permission": "customer_admin"}],
            },
        ]
    }
    return parse_fixtures(doc)


def claims(h: Harness, token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = pyjwt.decode(token, h.state.secret, algorithms=["HS256"])
    return decoded


def payload_text(token: str) -> str:
    """The JWT's claims as the bytes it carries (no signature check)."""
    return json.dumps(pyjwt.decode(token, options={"verify_signature": False}))


# --- the answer -----------------------------------------------------------------------------


def test_the_answer_is_username_then_token_with_productions_cookie(fake: Harness) -> None:
    r = fake.client(None, root=True).post("/auth/login", json=ADMIN_LOGIN)
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["username", "token"]
    assert r.content.startswith(b'{"username":"admin@example.com","token":"')
    assert r.headers.get_list("set-cookie") == [SET_COOKIE.format(r.json()["token"])]


def test_the_jwt_carries_productions_claims(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    assert pyjwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    c = claims(fake, token)
    # a Go map: its keys come out sorted
    assert list(c) == ["agent", "expire", "type"]
    assert c["type"] == "agent"
    assert c["expire"] == format_fixed(fake.clock.now_us() + 7 * 86400 * 1_000_000)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", c["expire"])
    agent = c["agent"]
    assert list(agent) == CLAIM_AGENT_FIELDS
    assert (agent["customer_id"], agent["username"], agent["permission"]) == (
        TUTORIAL_CUSTOMER,
        "admin@example.com",
        0x20,
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", agent["direct_id"])
    assert re.fullmatch(r"direct\.[0-9a-f]{12}", agent["direct_hash"])
    # the password never travels, neither in clear nor hashed
    text = payload_text(token)
    assert "password" not in text and "pbkdf2" not in text
    assert ADMIN_LOGIN["password"] not in text


def test_the_agent_in_the_jwt_is_the_one_me_shows(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    agent = claims(fake, token)["agent"]
    shown = fake.client(None).get("/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert shown == {k: v for k, v in agent.items() if k != "direct_id"}


@pytest.mark.parametrize(
    "body",
    [
        {"username": "admin@example.com", "password": "Admin-password"},
        {"username": "Admin@example.com", "password": "admin-password"},
        {"username": "admin@example.com", "password": "admin-password "},
        {"username": "admin@example.com", "password": agents.hash_password("x", "y")},
        {"username": "nobody", "password": "admin-password"},
        {"username": "admin@example.com"},
        {"password": "admin-password"},
    ],
)
def test_every_failure_is_a_bare_400(fake: Harness, body: dict[str, str]) -> None:
    r = fake.client(None, root=True).post("/auth/login", json=body)
    assert (r.status_code, r.content) == (400, b"")
    assert "set-cookie" not in r.headers


def test_the_stored_hash_is_not_a_password(fake: Harness) -> None:
    """Sending the stored hash as the password does not log in."""
    stored = fake.state.store.users["admin@example.com"].password_hash
    r = fake.client(None, root=True).post(
        "/auth/login", json={"username": "admin@example.com", "password": stored}
    )
    assert (r.status_code, r.content) == (400, b"")


def test_an_agent_of_a_frozen_customer_logs_in_then_meets_the_frozen_check(
    make_fake: Any,
) -> None:
    for profile in ("docs", "live"):
        h = make_fake(profile=profile, fixtures=frozen_fixtures())
        r = h.client(None, root=True).post("/auth/login", json=FROZEN_AGENT)
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        assert claims(h, token)["agent"]["customer_id"] == FROZEN_CUSTOMER
        c = h.client(None)
        for path in ("/me", "/accesskeys"):
            r = c.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, r.text
            err = r.json()["error"]
            assert err["reason"] == "ACCOUNT_FROZEN"
            assert err["details"][0]["recovery_endpoint"] == "DELETE /auth/unregister"


def test_the_per_ip_login_limit_stays(fake: Harness) -> None:
    fake.state.rate_limit = True
    root = fake.client(None, root=True)
    statuses = [root.post("/auth/login", json=ADMIN_LOGIN).status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    fake.clock.advance(1)
    assert root.post("/auth/login", json=ADMIN_LOGIN).status_code == 200


# --- how passwords are kept ---------------------------------------------------------------


def test_the_store_keeps_salted_hashes_only(fake: Harness) -> None:
    users = fake.state.store.users
    kept = repr(users)
    for password in FIXTURE_PASSWORDS:
        assert password not in kept
    hashes = [u.password_hash for u in users.values()]
    assert all(h.startswith("pbkdf2_sha256$") for h in hashes)
    assert len(set(hashes)) == len(hashes)
    assert agents.check_password("admin-password", users["admin@example.com"].password_hash)
    assert not agents.check_password("admin-password", users["manager@example.com"].password_hash)
    # two users with one password still get two hashes: the salt is each user's own
    assert agents.hash_password("same", "a") != agents.hash_password("same", "b")


def test_a_reset_hashes_nothing_and_a_login_hashes_once(
    fake: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = agents.hashlib.pbkdf2_hmac

    def counted(*args: Any) -> bytes:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(agents.hashlib, "pbkdf2_hmac", counted)
    for _ in range(3):
        fake.state.reset()
    assert calls == []
    fake.login(ADMIN_LOGIN)
    assert calls == [1]


def test_the_fixture_file_is_hashed_when_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    agents.hash_password.cache_clear()
    parsed = load_fixtures()
    users = [u for c in parsed.customers for u in c.users]
    assert len(users) == 3
    for u in users:
        assert agents.check_password(u.password, u.password_hash)
    # the banner still shows the public test passwords, from the fixture data
    assert sorted(u.password for u in users) == sorted(FIXTURE_PASSWORDS)


def test_a_bad_stored_hash_never_matches() -> None:
    for stored in (
        "",
        "admin-password",
        "pbkdf2_sha256$x$y$z",
        "md5$1$a$b",
        "pbkdf2_sha256$0$AA$AA",
    ):
        assert not agents.check_password("admin-password", stored)
        assert not agents.is_password_hash(stored)


# --- dumps and the state file ---------------------------------------------------------------


def test_the_dump_carries_hashes_not_passwords(fake: Harness) -> None:
    with httpx.Client(transport=fake.transport, base_url="http://testserver") as ctl:
        r = ctl.get("/_fake/state")  # the control API: not in openapi.yaml
    assert r.status_code == 200
    for password in FIXTURE_PASSWORDS:
        assert password not in r.text
    users = r.json()["users"]
    assert users and all("password" not in u for u in users)
    assert all(agents.is_password_hash(u["password_hash"]) for u in users)
    assert all("direct_hash" not in u and "direct_id" not in u for u in users)
    admin_user = next(u for u in users if u["username"] == "admin@example.com")
    assert list(admin_user) == [
        "id",
        "customer_id",
        "username",
        "password_hash",
        "permission",
        "name",
        "detail",
        "ring_method",
        "status",
        "tag_ids",
        "addresses",
        "tm_create",
        "tm_update",
        "tm_delete",
    ]


def test_a_loaded_dump_logs_in_with_the_same_agent(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    before = fake.client(None).get("/me", params={"token": token}).json()
    doc = admin.dump(fake.state)
    fake.state.reset()
    fake.state.store.remove_user("admin@example.com")
    admin.load(fake.state, doc)
    after = fake.client(None).get("/me", params={"token": fake.login(ADMIN_LOGIN)}).json()
    assert after == before  # direct_hash drawn again from the dump's seed
    assert admin.dump(fake.state) == doc


def test_an_older_dump_with_clear_passwords_still_loads_and_is_hashed(fake: Harness) -> None:
    doc = admin.dump(fake.state)
    for u in doc["users"]:
        u.pop("password_hash")
        for optional in ("detail", "ring_method", "status", "tag_ids", "addresses"):
            u.pop(optional)
        for stamp in ("tm_create", "tm_update", "tm_delete"):
            u.pop(stamp)
        u["password"] = {
            "admin@example.com": "admin-password",
            "manager@example.com": "manager-password",
            "second-admin@example.com": "second-password",
        }[u["username"]]
    admin.load(fake.state, doc)
    assert fake.login(ADMIN_LOGIN)
    assert fake.login(MANAGER_LOGIN)
    again = json.dumps(admin.dump(fake.state))
    for password in FIXTURE_PASSWORDS:
        assert password not in again


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda u: u.update(password_hash="not a hash"), "password_hash"),
        (lambda u: u.pop("password_hash"), "password"),
        (lambda u: u.update(password="a-clear-password"), "password"),
        (lambda u: u.update(status="asleep"), "status"),
        (lambda u: u.update(tag_ids=["nope"]), "tag_ids"),
    ],
)
def test_a_damaged_user_in_a_dump_is_refused(fake: Harness, damage: Any, named: str) -> None:
    doc = admin.dump(fake.state)
    stored = doc["users"][0]["password_hash"]
    damage(doc["users"][0])
    with pytest.raises(admin.StateError, match=named) as refused:
        admin.load(fake.state, doc)
    # the message names the field, never the hash or a password
    assert stored not in str(refused.value) and "a-clear-password" not in str(refused.value)
    assert fake.login(ADMIN_LOGIN)  # nothing changed


def test_a_state_file_restart_still_logs_in(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with FakeVoipbin(now=NOW, state_file=str(path)) as first:
        token = first.login("admin@example.com", "admin-password")
        with first.client(params={"token": token}) as c:
            before = c.get("/me").json()
    text = path.read_text(encoding="utf-8")
    for password in FIXTURE_PASSWORDS:
        assert password not in text
    assert "password_hash" in text
    with FakeVoipbin(now=NOW, state_file=str(path)) as second:
        again = second.login("admin@example.com", "admin-password")
        with second.client(params={"token": again}) as c:
            assert c.get("/me").json() == before


# --- the Python face ------------------------------------------------------------------------


def test_fake_login_gives_a_jwt_or_says_who_was_refused() -> None:
    fake = FakeVoipbin(now=NOW)
    token = fake.login("admin@example.com", "admin-password")
    with fake.client(headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/me").json()["username"] == "admin@example.com"
    fake.journal.assert_called("PostAuthLogin", status=200, times=1)
    with pytest.raises(LookupError, match="admin@example.com") as refused:
        fake.login("admin@example.com", "not-the-password")
    assert "not-the-password" not in str(refused.value)
    assert "400" in str(refused.value)
