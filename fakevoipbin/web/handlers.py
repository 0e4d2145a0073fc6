"""One small function per operation: web input in, core rule, web output out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core import auth, rules
from ..core.auth import Identity
from ..core.state import State
from .render import Renderer


@dataclass(slots=True)
class Call:
    state: State
    identity: Identity | None
    render: Renderer
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    violations: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Reply:
    """``body`` is checked against openapi.yaml and encoded on the way out; ``raw`` is
    bytes already checked (a cached rendering)."""

    status: int
    body: Any
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    raw: bytes | None = None


def _who(call: Call) -> Identity:
    assert call.identity is not None, "a secured operation ran without an identity"
    return call.identity


def get_accesskeys(call: Call) -> Reply:
    page = rules.list_keys(
        call.state, _who(call), call.query.get("page_size"), call.query.get("page_token")
    )
    raw = call.render.page_of(call.state.profile, page.keys, page.next_page_token, page.identity)
    return Reply(200, None, raw=raw)


def post_accesskeys(call: Call) -> Reply:
    b = call.body
    key, raw = rules.create_key(
        call.state, _who(call), b.get("name"), b.get("detail"), b.get("expire"), call.violations
    )
    return Reply(200, None, raw=call.render.created(call.state.profile, key, raw))


def get_accesskeys_id(call: Call) -> Reply:
    key = rules.get_key(call.state, _who(call), call.path["id"])
    return Reply(200, None, raw=call.render.key(call.state.profile, key))


def put_accesskeys_id(call: Call) -> Reply:
    b = call.body
    key = rules.update_key(
        call.state, _who(call), call.path["id"], b.get("name"), b.get("detail"), call.violations
    )
    return Reply(200, None, raw=call.render.key(call.state.profile, key))


def delete_accesskeys_id(call: Call) -> Reply:
    key = rules.delete_key(call.state, _who(call), call.path["id"])
    return Reply(200, None, raw=call.render.key(call.state.profile, key))


def post_auth_login(call: Call) -> Reply:
    username, password = call.body["username"], call.body["password"]
    token = auth.login(call.state, username, password)
    cookie = f"token={token}; Path=/; Max-Age=604800; HttpOnly; Secure; SameSite=Strict"
    return Reply(
        200, {"username": username, "token": token}, [(b"set-cookie", cookie.encode("ascii"))]
    )


HANDLERS: dict[str, Callable[[Call], Reply]] = {
    "GetAccesskeys": get_accesskeys,
    "PostAccesskeys": post_accesskeys,
    "GetAccesskeysId": get_accesskeys_id,
    "PutAccesskeysId": put_accesskeys_id,
    "DeleteAccesskeysId": delete_accesskeys_id,
    "PostAuthLogin": post_auth_login,
}
