"""VoIPbin's own client (``voipbin_mcp.client.VoIPbinClient``) against the fake.

The client builds its own ``httpx.AsyncClient`` from the environment, so the fake runs
on a real socket (``FakeVoipbin``) and the client is configured the way a user would
configure it: ``VOIPBIN_API_KEY``, ``VOIPBIN_API_BASE_URL`` and
``VOIPBIN_AUTH_TRANSPORT``. Every test runs in both transports and both profiles; the
last one calls voipbin-mcp's own ``get_customer`` tool.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from voipbin_mcp.client import VoIPbinAPIError, VoIPbinClient

from fakevoipbin import FakeVoipbin
from fakevoipbin.core.journal import Entry

from .conftest import NOW, TUTORIAL_CUSTOMER, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

FIXTURE_PREFIX = "vb_a3Bf9xKm"
REQUEST_ID = re.compile(r"^req_[A-Z2-7]{26}$")
TOKEN = re.compile(r"^vb_[A-Za-z0-9_-]{32}$")
EXPIRE = 2 * 86400 + 17  # not a whole number of days, so an off-by-a-day shows
WRONG_KEY = "vb_" + "Z" * 32  # well formed, but no key has it

DELETED = {
    "docs": (404, "ACCESSKEY_NOT_FOUND"),
    "live": (409, "STATE_INVALID"),
}

T = TypeVar("T")


def instant(text: str) -> datetime:
    """An RFC 3339 instant, fixed (six digits) or trimmed (Go's RFC3339Nano)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", text)
    assert m, f"not an RFC 3339 UTC instant: {text!r}"
    head, frac = m.groups()
    base = datetime.fromisoformat(head + "+00:00")
    return base + timedelta(microseconds=int((frac or "0")[:6].ljust(6, "0")))


@pytest.fixture(params=["docs", "live"])
def profile(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=["cookie", "query"])
def transport(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def fake(profile: str, transport: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVoipbin]:
    """A fake on a socket, and the environment pointing VoIPbin's client at it."""
    with FakeVoipbin(profile=profile, now=NOW) as f:
        assert f.accesskey == TUTORIAL_TOKEN
        monkeypatch.setenv("VOIPBIN_API_KEY", f.accesskey)
        monkeypatch.setenv("VOIPBIN_API_BASE_URL", f.url)
        monkeypatch.setenv("VOIPBIN_AUTH_TRANSPORT", transport)
        yield f


def run(body: Callable[[VoIPbinClient], Awaitable[T]]) -> T:
    """Run ``body`` with a fresh client from the environment, closing it afterwards."""

    async def main() -> T:
        client = VoIPbinClient()
        try:
            return await body(client)
        finally:
            await client.close()

    return asyncio.run(main())


def expect_error(call: Callable[[VoIPbinClient], Awaitable[Any]]) -> VoIPbinAPIError:
    """Run ``call``; it must raise the client's own parsed error."""

    async def body(client: VoIPbinClient) -> VoIPbinAPIError:
        with pytest.raises(VoIPbinAPIError) as info:
            await call(client)
        return info.value

    return run(body)


def last(fake: FakeVoipbin, operation_id: str) -> Entry:
    calls = fake.journal.calls(operation_id)
    assert calls, f"no {operation_id} in the journal: {[e.line() for e in fake.journal.entries()]}"
    return calls[-1]


def query_keys(target: str) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query, keep_blank_values=True)


def assert_target_transport(entry: Entry, transport: str) -> None:
    """The journal's target shows how the key was sent: no query key for a cookie,
    ``accesskey=[REDACTED]`` in the query otherwise."""
    sent = [v for k, v in query_keys(entry.target) if k == "accesskey"]
    if transport == "cookie":
        assert sent == [], entry.line()
    else:
        assert sent == ["[REDACTED]"], entry.line()
        assert "accesskey=[REDACTED]" in entry.target, entry.line()


def assert_transport(fake: FakeVoipbin, transport: str) -> None:
    """Every journal entry shows the transport the client was told to use."""
    entries = fake.journal.entries()
    assert entries
    for e in entries:
        assert_target_transport(e, transport)
        # the journal never holds a raw token
        assert TUTORIAL_TOKEN not in e.target and TUTORIAL_TOKEN not in e.auth


# --- the whole life of a key, driven by the real client ------------------------------


def test_create_list_get_update_delete_then_get(
    fake: FakeVoipbin, profile: str, transport: str
) -> None:
    async def life(client: VoIPbinClient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["created"] = await client.post(
            "/accesskeys",
            json={"name": "ci key", "detail": "made by the real client", "expire": EXPIRE},
        )
        key_id = out["created"]["id"]
        out["listed"] = await client.get("/accesskeys", params={"page_size": 10})
        out["got"] = await client.get(f"/accesskeys/{key_id}")
        out["updated"] = await client.put(f"/accesskeys/{key_id}", json={"name": "renamed"})
        out["deleted"] = await client.delete(f"/accesskeys/{key_id}")
        with pytest.raises(VoIPbinAPIError) as info:
            await client.get(f"/accesskeys/{key_id}")
        out["error"] = info.value
        return out

    out = run(life)

    # create: the only response with the raw token
    created = out["created"]
    assert TOKEN.match(created["token"]), created
    assert created["token"] != TUTORIAL_TOKEN
    assert created["token_prefix"] == created["token"][:11]
    assert created["name"] == "ci key"
    assert created["detail"] == "made by the real client"
    assert instant(created["tm_expire"]) - instant(created["tm_create"]) == timedelta(
        seconds=EXPIRE
    )
    key_id = created["id"]

    # list: newest first, so the new key leads; no token anywhere
    listed = out["listed"]["result"]
    assert [k["id"] for k in listed] == [key_id, TUTORIAL_KEY_ID]
    assert all("token" not in k for k in listed)
    assert listed[0]["token_prefix"] == created["token_prefix"]

    # get: the same key, without its token
    got = out["got"]
    assert "token" not in got
    assert got["id"] == key_id
    assert got["name"] == "ci key"
    assert got["tm_create"] == created["tm_create"]

    # update: the omitted detail is overwritten with "", and "" is left out
    updated = out["updated"]
    assert updated["name"] == "renamed"
    assert "detail" not in updated
    assert "token" not in updated
    assert updated["tm_update"] is not None

    # delete: the deleted object, tm_delete set to a real instant
    deleted = out["deleted"]
    assert deleted["id"] == key_id
    assert deleted["tm_delete"] is not None
    assert not deleted["tm_delete"].startswith("9999-")
    assert instant(deleted["tm_delete"]) >= instant(created["tm_create"])

    # the get after delete: parsed by the client from the fake's envelope
    err = out["error"]
    status, reason = DELETED[profile]
    assert isinstance(err, VoIPbinAPIError)
    assert err.status_code == status
    assert err.reason == reason
    assert err.request_id is not None and REQUEST_ID.match(err.request_id), err.request_id
    entry = last(fake, "GetAccesskeysId")
    assert entry.status == status
    assert err.request_id == entry.request_id
    assert err.retry_after is None
    assert reason in str(err) and err.request_id in str(err)

    # the journal: one call of each, in order, all on the fixture key
    for op in ("PostAccesskeys", "GetAccesskeys", "PutAccesskeysId", "DeleteAccesskeysId"):
        fake.journal.assert_called(op, times=1, status=200)
    fake.journal.assert_called("GetAccesskeysId", times=2)
    assert [e.operation_id for e in fake.journal.entries()] == [
        "PostAccesskeys",
        "GetAccesskeys",
        "GetAccesskeysId",
        "PutAccesskeysId",
        "DeleteAccesskeysId",
        "GetAccesskeysId",
    ]
    assert ("page_size", "10") in query_keys(last(fake, "GetAccesskeys").target)
    for e in fake.journal.entries():
        assert FIXTURE_PREFIX in e.auth, e
    assert_transport(fake, transport)


def test_the_new_token_authenticates_the_real_client(
    fake: FakeVoipbin, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def create(client: VoIPbinClient) -> dict[str, Any]:
        return await client.post("/accesskeys", json={"name": "second", "expire": 86400})

    created = run(create)
    monkeypatch.setenv("VOIPBIN_API_KEY", created["token"])

    async def read(client: VoIPbinClient) -> dict[str, Any]:
        return await client.get(f"/accesskeys/{created['id']}")

    got = run(read)
    assert got["id"] == created["id"]
    entry = last(fake, "GetAccesskeysId")
    assert entry.status == 200
    assert created["token_prefix"] in entry.auth
    assert FIXTURE_PREFIX not in entry.auth
    assert created["token"] not in entry.target + entry.auth
    assert_transport(fake, transport)


# --- errors the client must parse ----------------------------------------------------


def test_rate_limit_fault_surfaces_with_retry_after(fake: FakeVoipbin, transport: str) -> None:
    fake.faults.add("GetAccesskeys", status=429, times=1, retry_after=7)

    err = expect_error(lambda c: c.get("/accesskeys", params={"page_size": 5}))

    assert err.status_code == 429
    assert err.reason == "RATE_LIMIT_EXCEEDED"
    assert err.retry_after == "7"
    assert "Retry after 7 seconds" in str(err)
    entry = last(fake, "GetAccesskeys")
    assert entry.status == 429
    assert entry.fault is not None
    assert err.request_id is not None and REQUEST_ID.match(err.request_id)
    assert err.request_id == entry.request_id

    # times=1: the next call goes through
    async def again(client: VoIPbinClient) -> dict[str, Any]:
        return await client.get("/accesskeys", params={"page_size": 5})

    page = run(again)
    assert [k["id"] for k in page["result"]] == [TUTORIAL_KEY_ID]
    fake.journal.assert_called("GetAccesskeys", times=1, status=429)
    fake.journal.assert_called("GetAccesskeys", times=1, status=200)
    assert_transport(fake, transport)


def test_wrong_key_is_401_invalid_credentials(
    fake: FakeVoipbin, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOIPBIN_API_KEY", WRONG_KEY)

    err = expect_error(lambda c: c.get("/accesskeys", params={"page_size": 10}))

    assert err.status_code == 401
    assert err.reason == "INVALID_CREDENTIALS"
    assert err.retry_after is None
    entry = last(fake, "GetAccesskeys")
    assert entry.status == 401
    assert err.request_id is not None and REQUEST_ID.match(err.request_id)
    assert err.request_id == entry.request_id
    assert FIXTURE_PREFIX not in entry.auth
    assert WRONG_KEY not in entry.target + entry.auth
    assert_target_transport(entry, transport)
    # nothing was created or changed by the refused call
    fake.journal.assert_not_called("PostAccesskeys")


# --- voipbin-mcp's own tool -------------------------------------------------------------


def test_the_get_customer_tool_returns_the_fixture_customer(
    fake: FakeVoipbin, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """voipbin-mcp's real ``get_customer`` tool (``GET /customer`` through the server's
    own lazily made client), called directly, as an MCP host would call it."""
    import voipbin_mcp.server as mcp_server
    from voipbin_mcp.tools.customer import get_customer

    monkeypatch.setattr(mcp_server, "_client", None)  # made from the environment above

    async def call() -> str:
        try:
            return await get_customer()
        finally:
            if mcp_server._client is not None:
                await mcp_server._client.close()

    text = asyncio.run(call())
    customer = json.loads(text)
    assert customer["id"] == TUTORIAL_CUSTOMER
    assert customer["name"] == "Tutorial customer"
    assert customer["email"] == "admin@example.com"
    assert customer["status"] == "active"
    assert customer["billing_account_id"] == "00000000-0000-0000-0000-000000000000"
    assert customer["metadata"] == {"rtp_debug": False}
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", customer["webhook_secret"])
    instant(customer["tm_create"])
    entry = last(fake, "GetCustomer")
    assert entry.status == 200
    assert FIXTURE_PREFIX in entry.auth
    assert_transport(fake, transport)
