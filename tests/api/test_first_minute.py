"""A client's first minute, as VoIPbin's sandbox scripts spend it: log in, read oneself
with the JWT as a Bearer token, read the customer, then manage keys with that JWT; and
what an unmodelled route and a made-up path answer. In both profiles, in-process and
over a real socket (``fakevoipbin serve``)."""

from __future__ import annotations

import json
from typing import Any

import jwt as pyjwt
import pytest

from ..conftest import ADMIN_LOGIN, MANAGER_LOGIN, TUTORIAL_CUSTOMER, TUTORIAL_TOKEN, Harness
from ..test_server import start, stop


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_then_me_then_customer_then_a_new_key(fake: Harness) -> None:
    root = fake.client(None, root=True)
    api = fake.client(None)

    login = root.post("/auth/login", json=ADMIN_LOGIN)
    assert login.status_code == 200, login.text
    assert list(login.json()) == ["username", "token"]
    jwt = login.json()["token"]
    assert login.headers["set-cookie"].startswith(f"token={jwt}; Path=/; Max-Age=604800")
    claims = pyjwt.decode(jwt, options={"verify_signature": False})
    assert claims["type"] == "agent"

    me = api.get("/me", headers=_bearer(jwt))
    assert me.status_code == 200, me.text
    agent = me.json()
    assert agent["username"] == ADMIN_LOGIN["username"]
    assert agent["customer_id"] == TUTORIAL_CUSTOMER
    assert agent["id"] == claims["agent"]["id"]
    assert "direct_id" not in agent and "password_hash" not in agent

    customer = api.get("/customer", headers=_bearer(jwt))
    assert customer.status_code == 200, customer.text
    assert customer.json()["id"] == agent["customer_id"]
    assert len(customer.json()["webhook_secret"]) == 32

    made = api.post("/accesskeys", headers=_bearer(jwt), json={"name": "sandbox", "expire": 86400})
    assert made.status_code == 200, made.text
    token = made.json()["token"]
    assert made.json()["customer_id"] == TUTORIAL_CUSTOMER

    # The new key works, and /me refuses it: an access key is not an agent.
    keyed = fake.client(token)
    assert keyed.get(f"/accesskeys/{made.json()['id']}").status_code == 200
    refused = keyed.get("/me")
    assert refused.status_code == 403
    assert refused.json()["error"]["reason"] == "AGENT_AUTH_REQUIRED"
    # The same customer, read with the new key, shows the same secret.
    assert keyed.get("/customer").json()["webhook_secret"] == customer.json()["webhook_secret"]


def test_a_manager_reads_the_customer_but_may_not_overwrite_it(fake: Harness) -> None:
    jwt = fake.login(MANAGER_LOGIN)
    api = fake.client(None)
    assert api.get("/me", headers=_bearer(jwt)).json()["permission"] == 0x40
    assert api.get("/customer", headers=_bearer(jwt)).status_code == 200
    put = api.put("/customer", headers=_bearer(jwt), json={"name": "taken over"})
    assert put.status_code == 403
    assert put.json()["error"]["reason"] == "PERMISSION_DENIED"
    assert api.get("/customer", headers=_bearer(jwt)).json()["name"] == "Tutorial customer"


@pytest.mark.parametrize("method,path", [("GET", "/calls"), ("POST", "/calls"), ("GET", "/agents")])
def test_an_unmodelled_route_is_401_without_credentials_and_501_with(
    fake: Harness, method: str, path: str
) -> None:
    bare = fake.client(None).request(method, path)
    assert bare.status_code == 401
    with_key = fake.client(TUTORIAL_TOKEN).request(method, path)
    assert with_key.status_code == 501
    error = with_key.json()["error"]
    assert (error["status"], error["reason"]) == ("UNIMPLEMENTED", "NOT_MODELLED")
    assert error["message"] == (
        f"fakevoipbin does not model {method} /v1.0{path}; production serves it."
    )
    with_jwt = fake.client(None).request(method, path, headers=_bearer(fake.login(ADMIN_LOGIN)))
    assert with_jwt.status_code == 501


def test_a_made_up_path_is_404_before_any_credential_check(fake: Harness) -> None:
    for token in (None, TUTORIAL_TOKEN, "vb_not-a-key"):
        r = fake.client(token).get("/no-such-thing")
        assert r.status_code == 404, token
        assert r.json()["error"]["reason"] == "ROUTE_NOT_FOUND"


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_the_first_minute_over_a_socket(profile: str) -> None:
    served = start("--profile", profile, "--now", "2026-12-01T10:15:30.123456Z")
    served.url = served.url.removesuffix("/v1.0")
    try:
        status, headers, raw = served.request("POST", "/auth/login", ADMIN_LOGIN)
        assert status == 200, raw
        jwt = json.loads(raw)["token"]
        cookie = {k.lower(): v for k, v in headers.items()}["set-cookie"]
        assert cookie.endswith("; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict")
        bearer = _bearer(jwt)
        status, _, raw = served.request("GET", "/v1.0/me", headers=bearer)
        assert status == 200, raw
        agent: dict[str, Any] = json.loads(raw)
        status, _, raw = served.request("GET", "/v1.0/customer", headers=bearer)
        assert status == 200, raw
        assert json.loads(raw)["id"] == agent["customer_id"]
        status, _, raw = served.request(
            "POST", "/v1.0/accesskeys", {"name": "sandbox", "expire": 86400}, headers=bearer
        )
        assert status == 200, raw
        new = json.loads(raw)
        status, _, raw = served.request("GET", "/v1.0/calls", headers=bearer)
        assert status == 501, raw
        status, _, raw = served.request("GET", f"/v1.0/accesskeys/{new['id']}", headers=bearer)
        assert status == 200 and "token" not in json.loads(raw)
    finally:
        code, out = stop(served)
    assert code == 0, out
    assert jwt not in out and new["token"] not in out
