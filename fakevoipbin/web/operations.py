"""One small function per operation: what the stages bound goes in, the core's rule
runs (in the operation's own check order, ``fakevoipbin.core.rules``), bytes come
out through the renderer."""

from __future__ import annotations

from collections.abc import Callable

from ..core import agents, auth, customers, rules, views
from ..core.auth import Identity
from ..core.state import State
from .exchange import Exchange, Reply
from .render import Renderer

Operation = Callable[[State, Renderer, Exchange], Reply]


def _who(ex: Exchange) -> Identity:
    assert ex.identity is not None, "a secured operation ran without an identity"
    return ex.identity


def get_accesskeys(state: State, render: Renderer, ex: Exchange) -> Reply:
    who, size, token = _who(ex), ex.params.get("page_size"), ex.params.get("page_token")
    # A page rendered while its name (customer, version, cursor, size) was current is
    # answered again without reading the keys; the checks run either way.
    cached = render.cached_page(state.profile, rules.name_page(state, who, size, token))
    if cached is not None:
        return Reply(200, None, raw=cached)
    return Reply(
        200, None, raw=render.page(state.profile, rules.list_keys(state, who, size, token))
    )


def post_accesskeys(state: State, render: Renderer, ex: Exchange) -> Reply:
    b = ex.body
    key, raw = rules.create_key(
        state, _who(ex), b.get("name"), b.get("detail"), b.get("expire"), ex.violations
    )
    return Reply(200, None, raw=render.created(state.profile, key, raw))


def get_accesskeys_id(state: State, render: Renderer, ex: Exchange) -> Reply:
    key = rules.get_key(state, _who(ex), ex.path["id"])
    return Reply(200, None, raw=render.key(state.profile, key))


def put_accesskeys_id(state: State, render: Renderer, ex: Exchange) -> Reply:
    b = ex.body
    key = rules.update_key(
        state, _who(ex), ex.path["id"], b.get("name"), b.get("detail"), ex.violations
    )
    return Reply(200, None, raw=render.key(state.profile, key))


def delete_accesskeys_id(state: State, render: Renderer, ex: Exchange) -> Reply:
    key = rules.delete_key(state, _who(ex), ex.path["id"])
    return Reply(200, None, raw=render.key(state.profile, key))


def post_auth_login(state: State, render: Renderer, ex: Exchange) -> Reply:
    username, password = ex.body["username"], ex.body["password"]
    token = auth.login(state, username, password)
    cookie = f"token={token}; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict"
    return Reply(
        200, {"username": username, "token": token}, [(b"set-cookie", cookie.encode("ascii"))]
    )


# The customer is a mutable record: each answer is built under the state's lock, so it
# shows one state of it.


def get_customer(state: State, render: Renderer, ex: Exchange) -> Reply:
    with state.lock:
        customer, secret = customers.get_customer(state, _who(ex))
        return Reply(200, views.customer_view(state.profile, customer, secret))


def put_customer(state: State, render: Renderer, ex: Exchange) -> Reply:
    with state.lock:
        customer = customers.update_customer(state, _who(ex), ex.body)
        return Reply(200, views.customer_view(state.profile, customer))


def put_customer_metadata(state: State, render: Renderer, ex: Exchange) -> Reply:
    with state.lock:
        customer = customers.update_metadata(state, _who(ex), ex.body.get("rtp_debug"))
        return Reply(200, views.customer_view(state.profile, customer))


def put_customer_billing_account_id(state: State, render: Renderer, ex: Exchange) -> Reply:
    with state.lock:
        account = ex.body.get("billing_account_id")
        customer = customers.update_billing_account(state, _who(ex), account)
        return Reply(200, views.customer_view(state.profile, customer))


def get_me(state: State, render: Renderer, ex: Exchange) -> Reply:
    agent = agents.get_me(state.store, _who(ex))
    return Reply(200, views.agent_view(state.profile, agent))


#: operationId → its function. Looked up per request, so a test can wrap one.
OPERATIONS: dict[str, Operation] = {
    "GetAccesskeys": get_accesskeys,
    "PostAccesskeys": post_accesskeys,
    "GetAccesskeysId": get_accesskeys_id,
    "PutAccesskeysId": put_accesskeys_id,
    "DeleteAccesskeysId": delete_accesskeys_id,
    "PostAuthLogin": post_auth_login,
    "GetCustomer": get_customer,
    "PutCustomer": put_customer,
    "PutCustomerMetadata": put_customer_metadata,
    "PutCustomerBillingAccountId": put_customer_billing_account_id,
    "GetMe": get_me,
}
