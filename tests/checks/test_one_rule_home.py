"""One home for the rules one exchange can show (``checks/exchange_rules.judge``): the
same bent exchange, judged on ``verify``'s path (the state machine's ``call``) and on
the proxy's (``ProxyApp`` in front of the same bent upstream, its journal's drift),
breaks the same rules in both profiles, named as verify names them
(``machine.verify_rule``, the one place a name differs)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from fakevoipbin.contract.machine import AccessKeyContract, Recorder, make_machine, verify_rule
from fakevoipbin.contract.strategies import NAME_PREFIX
from fakevoipbin.contract.target import Target
from fakevoipbin.core.clock import US, format_fixed, parse_instant
from fakevoipbin.core.journal import Journal
from fakevoipbin.core.profiles import get_profile
from fakevoipbin.proxy.app import ProxyApp
from fakevoipbin.proxy.upstream import Upstream
from fakevoipbin.spec import default_spec
from fakevoipbin.testing import FakeVoipbin
from fakevoipbin.web.exchange import Receive, Scope, Send
from fakevoipbin.web.transport import InProcessTransport

from ..conftest import NOW

IN_PROCESS = "http://fakevoipbin/v1.0"
#: One answer bent: (method, path, status, answer, the request's JSON) -> the answer
#: to send instead (status, body), or None to send it as it was.
Bend = Callable[[str, str, int, Any, Any], "tuple[int, Any] | None"]
WRAPS = 2**32 + 86_400  # live casts it to int32: 86400
OVER_INT32 = 2**31 + 86_400  # live casts it to a negative lifetime


class BentFake:
    """A fake whose API answers pass through ``bend`` on their way out; every other
    request (the control API) reaches it as it is."""

    def __init__(self, profile: str, bend: Bend) -> None:
        self.fake = FakeVoipbin(profile=profile, now=NOW)
        self.bend = bend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.fake.app.asgi
        if scope["type"] != "http" or not scope["path"].startswith("/v1.0/"):
            await app(scope, receive, send)
            return
        sent: list[bytes] = []

        async def receive_kept() -> MutableMapping[str, Any]:
            message = await receive()
            sent.append(message.get("body", b""))
            return message

        out: list[MutableMapping[str, Any]] = []

        async def keep(message: MutableMapping[str, Any]) -> None:
            out.append(message)

        await app(scope, receive_kept, keep)
        start = next(m for m in out if m["type"] == "http.response.start")
        status, headers = start["status"], list(start.get("headers", []))
        body = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
        raw = b"".join(sent)
        bent = self.bend(
            scope["method"], scope["path"], status, json.loads(body), json.loads(raw or b"null")
        )
        if bent is not None:
            status, value = bent
            body = json.dumps(value).encode()
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class Ask:
    """The request both paths make: ``{id}`` in the path is a key made for it first."""

    method: str
    path: str
    body: Any = None
    params: dict[str, Any] | None = None


@contextmanager
def machine_on(upstream: BentFake) -> Iterator[AccessKeyContract]:
    """verify's state machine on ``upstream`` (in a customer of its own), with a fresh
    ``Recorder`` once it has set up: what it records is what the caller asks."""
    client = httpx.Client(transport=InProcessTransport(upstream), base_url=IN_PROCESS)
    target = Target(IN_PROCESS, upstream.fake.accesskey, client=client)
    target.begin()
    try:
        machine = make_machine(target, Recorder())()
        machine.recorder = Recorder()
        yield machine
    finally:
        target.end()


def machine_rules(upstream: BentFake, ask: Ask) -> set[str]:
    """The rules verify's state machine records for the exchange (its ``call``, where
    it judges every answer it gets)."""
    with machine_on(upstream) as machine:
        path = ask.path
        if "{id}" in path:
            t = machine.target
            made = t.call("POST", "/accesskeys", token=t.admin_token, json=CREATE)
            path = path.replace("{id}", made.json()["id"])
        machine.call(ask.method, path, json=ask.body, params=ask.params)
        return set(machine.recorder.broken)


def proxy_drift(upstream: BentFake, profile: str, ask: Ask) -> list[str]:
    """The rules the proxy's journal names for the same exchange (its drift)."""
    journal = Journal()
    app = ProxyApp(
        Upstream.parse("http://upstream.test/v1.0"),
        default_spec(),
        get_profile(profile),
        journal,
        transport=httpx.ASGITransport(app=upstream),
    )
    key = {"accesskey": upstream.fake.accesskey}
    with httpx.Client(transport=InProcessTransport(app), base_url="http://proxy.test/v1.0") as c:
        path = ask.path
        if "{id}" in path:
            path = path.replace("{id}", c.post("/accesskeys", params=key, json=CREATE).json()["id"])
        r = c.request(ask.method, path, params={**(ask.params or {}), **key}, json=ask.body)
    entry = journal.entries()[-1]
    assert (entry.method, entry.status) == (ask.method, r.status_code)
    return [d["rule"] for d in entry.drift]


CREATE = {"name": "one-home", "expire": 86_400}
KEY = "/accesskeys/{id}"


def _on(method: str, path: str) -> Callable[[str, str], bool]:
    def match(m: str, p: str) -> bool:
        if path == KEY:
            return m == method and p.startswith("/v1.0/accesskeys/") and p.count("/") == 3
        return m == method and p == "/v1.0" + path

    return match


def token_on_get(method: str, path: str, status: int, body: Any, _sent: Any) -> Any:
    if _on("GET", KEY)(method, path) and status == 200:
        return status, {**body, "token": "vb_" + "T" * 32}
    return None


def bad_prefix(method: str, path: str, status: int, body: Any, _sent: Any) -> Any:
    if _on("GET", KEY)(method, path) and status == 200:
        return status, {**body, "token_prefix": "vb_toolongprefix"}
    return None


def hour_late(method: str, path: str, status: int, body: Any, _sent: Any) -> Any:
    if _on("POST", "/accesskeys")(method, path) and status == 200:
        return status, {
            **body,
            "tm_expire": format_fixed(parse_instant(body["tm_expire"]) + 3600 * US),
        }
    return None


def no_envelope(method: str, path: str, status: int, body: Any, _sent: Any) -> Any:
    if _on("GET", KEY)(method, path) and status >= 400:
        return status, {"message": "bad id"}
    return None


def secret_on_list(method: str, path: str, status: int, body: Any, _sent: Any) -> Any:
    if _on("GET", "/accesskeys")(method, path) and status == 200:
        return status, {**body, "webhook_secret": "S" * 32}
    return None


def future_page_token(method: str, path: str, status: int, body: Any, _sent: Any) -> Any:
    if _on("GET", "/accesskeys")(method, path) and status == 200 and body["result"]:
        return status, {**body, "next_page_token": "2999-01-01T00:00:00.000000Z"}
    return None


def as_is(_method: str, _path: str, _status: int, _body: Any, _sent: Any) -> Any:
    return None


def unwrapped(method: str, path: str, status: int, body: Any, sent: Any) -> Any:
    """An upstream that does not cast expire to int32: tm_expire is tm_create + expire."""
    if _on("POST", "/accesskeys")(method, path) and status == 200:
        late = parse_instant(body["tm_create"]) + sent["expire"] * US
        return status, {**body, "tm_expire": format_fixed(late)}
    return None


#: A create's answer, as an upstream that made the key would send it (tm_update and
#: tm_delete as live writes them; docs's own are a stamp and its sentinel).
MADE_AT = "2026-12-01T10:15:30.123457Z"
MADE: dict[str, Any] = {
    "id": "87fa2c1a-1484-445f-b130-ce3ec94f518e",
    "customer_id": "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840",
    "name": "one-home",
    "token": "vb_jAw7LpUn0lZmlEwUdPRAuWKGzoV4Q2IH",
    "token_prefix": "vb_jAw7LpUn",
    "tm_create": MADE_AT,
    "tm_update": None,
    "tm_delete": None,
}


def wrapped_negative(method: str, path: str, _status: int, _body: Any, sent: Any) -> Any:
    """An upstream that casts expire to int32 and takes the negative lifetime: it
    answers a create whose tm_expire follows the wrapped value, before tm_create (the
    fake itself refuses such a lifetime, in both profiles)."""
    if not _on("POST", "/accesskeys")(method, path):
        return None
    wrapped = (sent["expire"] + 2**31) % 2**32 - 2**31
    assert wrapped < 0
    return 200, {**MADE, "tm_expire": format_fixed(parse_instant(MADE_AT) + wrapped * US)}


#: name -> (bend, request, the rule verify names in each profile, or None for none)
CASES: dict[str, tuple[Bend, Ask, dict[str, str | None]]] = {
    "a token on GET": (
        token_on_get,
        Ask("GET", KEY),
        {"docs": "token-only-on-create", "live": "token-only-on-create"},
    ),
    "a bad token_prefix": (
        bad_prefix,
        Ask("GET", KEY),
        {"docs": "token-format", "live": "token-format"},
    ),
    "an hour-late tm_expire": (
        hour_late,
        Ask("POST", "/accesskeys", CREATE),
        {"docs": "expire-arithmetic", "live": "expire-arithmetic"},
    ),
    "an error not in the envelope": (
        no_envelope,
        Ask("GET", "/accesskeys/not-a-uuid"),
        {"docs": "responses-conform", "live": "responses-conform"},
    ),
    "webhook_secret on a list": (
        secret_on_list,
        Ask("GET", "/accesskeys", params={"page_size": 10}),
        {"docs": "webhook-secret-only-on-get", "live": "webhook-secret-only-on-get"},
    ),
    "a next_page_token later than the page": (
        future_page_token,
        Ask("GET", "/accesskeys", params={"page_size": 10}),
        {"docs": "next-page-token", "live": "next-page-token"},
    ),
    # live casts 2**32 + 86400 to 86400: tm_expire follows the wrapped value, and no
    # rule breaks (verify's machine once said expire-arithmetic); docs refuses it.
    "a live create whose expire wraps as int32": (
        as_is,
        Ask("POST", "/accesskeys", {**CREATE, "expire": WRAPS}),
        {"docs": None, "live": None},
    ),
    "a live create whose expire wraps negative": (
        wrapped_negative,
        Ask("POST", "/accesskeys", {**CREATE, "expire": OVER_INT32}),
        {"docs": "expire-arithmetic", "live": None},
    ),
    "an upstream that does not wrap": (
        unwrapped,
        Ask("POST", "/accesskeys", {**CREATE, "expire": WRAPS}),
        {"docs": None, "live": "expire-arithmetic"},
    ),
}


@pytest.mark.parametrize("profile", ["docs", "live"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_machine_and_the_proxy_name_the_same_rules(case: str, profile: str) -> None:
    bend, ask, want = CASES[case]
    by_machine = machine_rules(BentFake(profile, bend), ask)
    drift = proxy_drift(BentFake(profile, bend), profile, ask)
    assert by_machine == {verify_rule(name) for name in drift}, (by_machine, drift)
    expected = want[profile]
    if expected is None:
        assert by_machine == set(), by_machine
    else:
        assert expected in by_machine, by_machine


def test_the_wrapped_create_is_a_real_one_on_live() -> None:
    """The wrap case proves something: live answers 200 with a lifetime of 86400 s,
    docs refuses the same request."""
    for profile, status in (("live", 200), ("docs", 400)):
        with FakeVoipbin(profile=profile, now=NOW) as fake, fake.client() as c:
            r = c.post("/accesskeys", params={"accesskey": fake.accesskey}, json={"expire": WRAPS})
        assert r.status_code == status, r.text
        if status == 200:
            body = r.json()
            span = parse_instant(body["tm_expire"]) - parse_instant(body["tm_create"])
            assert span == 86_400 * US


def test_the_machines_create_follows_lives_int32_wrap() -> None:
    """The machine's own create rule, asked for 2**32 + 86400 on live: the answer's
    tm_expire follows the wrapped value (86400 s), and no rule breaks. (The machine
    once did its own arithmetic, without the wrap, and said expire-arithmetic.)"""
    with machine_on(BentFake("live", as_is)) as machine:
        key_id = machine.create(name=NAME_PREFIX + "wrap", detail=None, expire=WRAPS)
        assert isinstance(key_id, str), key_id
        key = machine.model[key_id]
        assert key.tm_expire - key.tm_create == 86_400 * US
        results = machine.recorder.results
        assert machine.recorder.broken == [], machine.recorder.broken
        assert results["expire-arithmetic"].checks == 1
        assert results["expiry-auth"].checks == 1  # the new token worked at once


def test_only_the_envelope_is_named_otherwise_by_verify() -> None:
    """The one name that differs: the proxy's error-envelope is verify's
    responses-conform; every other rule judge knows is in verify's table as it is."""
    from fakevoipbin.contract.machine import RULES, VERIFY_NAMES

    assert VERIFY_NAMES == {"error-envelope": "responses-conform"}
    assert verify_rule("error-envelope") == "responses-conform"
    judged = {
        "responses-conform",
        "token-only-on-create",
        "webhook-secret-only-on-get",
        "token-format",
        "expire-arithmetic",
        "next-page-token",
    }
    assert {verify_rule(n) for n in judged} == judged
    assert judged <= set(RULES)
