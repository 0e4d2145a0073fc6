"""One small function per operation: web input in, core rule, web output out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import auth, rules
from ..core.auth import Identity
from ..core.state import State
from .render import Renderer


class Call:
    """One request as a handler sees it: who, the bound path, query and body, and the
    rule violations found while binding (the core raises them in production's order)."""

    __slots__ = ("state", "identity", "render", "path", "query", "body", "violations")

    def __init__(self, state: State, identity: Identity | None, render: Renderer) -> None:
        self.state = state
        self.identity = identity
        self.render = render
        self.path: dict[str, str] = {}
        self.query: dict[str, Any] = {}
        self.body: dict[str, Any] = {}
        self.violations: list[dict[str, Any]] = []


@dataclass(slots=True)
class Reply:
    """``body`` is checked against openapi.yaml and encoded on the way out; ``raw`` is
    bytes already checked (a cached rendering)."""

    status: int
    body: Any
    headers: Sequence[tuple[bytes, bytes]] = ()
    raw: bytes | None = None


def _who(call: Call) -> Identity:
    assert call.identity is not None, "a secured operation ran without an identity"
    return call.identity


def get_accesskeys(call: Call) -> Reply:
    page = rules.list_keys(
        call.state, _who(call), call.query.get("page_size"), call.query.get("page_token")
    )
    return Reply(200, None, raw=call.render.page(call.state.profile, page))


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
