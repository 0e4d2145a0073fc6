"""``fakevoipbin verify`` (contract/verify.py, machine.py, target.py): the contract
suite against the fake and against deliberately broken variants of it, ``Target``
against a server that is not a fake, and the strategies client authors import."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import httpx
import pytest
from hypothesis import given

from fakevoipbin.contract import RULES, Target, verify
from fakevoipbin.contract import strategies as cst
from fakevoipbin.contract import target as target_module
from fakevoipbin.contract.target import REAL_SERVER_PACE_S
from fakevoipbin.core import clock as clock_module
from fakevoipbin.core import customers
from fakevoipbin.core.clock import format_fixed, parse_instant
from fakevoipbin.core.store import Store, next_version
from fakevoipbin.testing import FakeVoipbin
from fakevoipbin.web import operations
from fakevoipbin.web.transport import InProcessTransport

from ..conftest import (
    EXPIRING_TOKEN,
    NOW,
    SECOND_CUSTOMER,
    SECOND_TOKEN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_TOKEN,
)

CLI = [sys.executable, "-m", "fakevoipbin"]
#: What ``FakeVoipbin.client()`` answers on when the fake has no socket.
IN_PROCESS = "http://fakevoipbin/v1.0"
EXAMPLES = 10
PREFIX = "fakevoipbin-verify-"

# --- verify helpers ---------------------------------------------------------------


def run_verify(
    fake: FakeVoipbin,
    accesskey: str | None = None,
    examples: int = EXAMPLES,
    client: httpx.Client | None = None,
    **kw: Any,
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = verify(
        IN_PROCESS,
        fake.accesskey if accesskey is None else accesskey,
        examples=examples,
        client=client or fake.client(),
        out=out,
        err=err,
        **kw,
    )
    return code, out.getvalue(), err.getvalue()


def verdicts(text: str) -> dict[str, str]:
    """The rule table: rule name -> held / BROKEN / unused."""
    return {
        m[1]: m[2]
        for m in re.finditer(r"^(\S+)\s+(held|BROKEN|unused)\s+\d+\s", text, re.MULTILINE)
    }


#: One request of a printed sequence: number, method and target (body), status.
STEP = re.compile(r"^\s*(\d+)  (GET|POST|PUT|DELETE) (\S+)( \{.*\})?(  \(with .+\))? -> (\d{3})$")


def broken_section(text: str, rule_name: str) -> tuple[str, list[str], str]:
    """A BROKEN rule's header (after the rule name), its sequence's request lines and
    its curl line."""
    m = re.search(
        rf"^BROKEN {re.escape(rule_name)}: (.+)\nshortest failing sequence found "
        rf"\(\d+ requests?\):\n((?:    .*\n)+)",
        text,
        re.MULTILINE,
    )
    assert m, f"no shortest failing sequence printed for {rule_name}:\n{text}"
    lines = m[2].splitlines()
    steps = [ln.strip() for ln in lines if STEP.match(ln)]
    curls = [ln.strip() for ln in lines if ln.strip().startswith("curl ")]
    assert len(curls) == 1, lines
    return m[1], steps, curls[0]


def assert_broken(code: int, text: str, rule_names: tuple[str, ...], step: str) -> None:
    """Exit 1; one of ``rule_names`` BROKEN with its sequence as HTTP requests, one of
    them starting ``step`` (e.g. ``GET /v1.0/accesskeys/``), and the header naming
    the sequence's last request."""
    assert code == 1, text
    table = verdicts(text)
    assert set(table) == set(RULES), text
    broken = [name for name in rule_names if table[name] == "BROKEN"]
    assert broken, f"none of {rule_names} is BROKEN:\n{text}"
    assert "state." not in text, text  # HTTP, not Hypothesis's Python
    for name in broken:
        head, steps, curl = broken_section(text, name)
        assert steps, text
        requests = [STEP.match(s) for s in steps]
        assert any(f"{r[2]} {r[3]}".startswith(step) for r in requests if r), steps
        last = requests[-1]
        assert last
        # The header names the same request as the sequence's last line.
        assert head.startswith(f"{last[2]} {last[3]} -> {last[6]}: "), (head, steps[-1])
        assert curl.startswith(f"curl -s -X {last[2]} ")
        assert "accesskey=$VOIPBIN_API_KEY" in curl
    assert re.search(r"^\d+ rules held, [1-9]\d* broken(, \d+ unused .*)?$", text, re.M), text


def _list_status(fake: FakeVoipbin, token: str) -> int:
    with fake.client() as c:
        return c.get("/accesskeys", params={"accesskey": token}).status_code


def _live_ids(fake: FakeVoipbin, customer_id: str) -> list[str]:
    store = fake.state.store
    return [k.id for k in store.live_keys(store.customers[customer_id])]


# --- verify against the fake ------------------------------------------------------


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_verify_holds_against_the_fake_in_both_profiles(profile: str) -> None:
    fake = FakeVoipbin(profile=profile, now=NOW)
    seen: list[str] = []
    client = fake.client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    code, out, _err = run_verify(fake, client=client)
    assert code == 0, out
    table = verdicts(out)
    assert table == dict.fromkeys(RULES, "held"), out
    assert "BROKEN" not in out
    # No --profile: it asked the fake's health and took the fake's profile.
    assert "/_fake/health" in seen
    assert f"(a fakevoipbin fake, profile {profile}, {EXAMPLES} examples, seed 0)" in out
    assert f"{len(RULES)} rules held, 0 broken" in out


def test_verify_works_in_a_customer_of_its_own_and_restores_the_clock() -> None:
    fake = FakeVoipbin(profile="docs", now=NOW)
    store = fake.state.store
    customers_before = set(store.customers)
    tutorial_before = _live_ids(fake, TUTORIAL_CUSTOMER)
    second_before = _live_ids(fake, SECOND_CUSTOMER)
    clock_before = fake.clock.now_text()
    assert fake.clock.frozen

    code, out, _err = run_verify(fake)
    assert code == 0, out

    # The clock is put back exactly, still frozen.
    assert fake.clock.now_text() == clock_before
    assert fake.clock.frozen
    # The fixture customers' keys are untouched and still authenticate (including the
    # one that expires 300 s after NOW, which moving the clock would have expired).
    assert _live_ids(fake, TUTORIAL_CUSTOMER) == tutorial_before
    assert _live_ids(fake, SECOND_CUSTOMER) == second_before
    for token in (fake.accesskey, TUTORIAL_TOKEN, SECOND_TOKEN, EXPIRING_TOKEN):
        assert _list_status(fake, token) == 200, token
    # It worked in a customer of its own ...
    mine = [cid for cid in store.customers if cid not in customers_before]
    assert len(mine) == 1
    verify_customer = store.customers[mine[0]]
    assert verify_customer.name == "fakevoipbin-verify"
    created = [k for k in store.keys.values() if k.name.startswith(PREFIX)]
    assert created, "verify created no keys"
    assert {k.customer_id for k in created} == {verify_customer.id}
    # ... deleted every key it created ...
    assert all(k.tm_delete is not None for k in created)
    live = list(store.live_keys(verify_customer))
    assert [k for k in live if k.name.startswith(PREFIX)] == []
    # ... and never lost its own credential: its admin key is live and unexpired.
    assert len(live) == 1
    own = live[0]
    assert own.tm_delete is None
    assert own.tm_expire is not None and own.tm_expire > parse_instant(clock_before)
    assert store.by_hash.get(own.token_hash) is own


class _MachineTime:
    """The ``time`` module as the fake's clock (core/clock.py) and ``Target`` read it,
    with wall and monotonic time that move only by ``tick``; the rest is the real one."""

    def __init__(self) -> None:
        self.monotonic_ns_now = 10**15
        self.wall_at_zero_ns = parse_instant(NOW) * 1000 - self.monotonic_ns_now

    def tick(self, seconds: float) -> None:
        self.monotonic_ns_now += round(seconds * 1e9)

    def monotonic_ns(self) -> int:
        return self.monotonic_ns_now

    def monotonic(self) -> float:
        return self.monotonic_ns_now / 1e9

    def time_ns(self) -> int:
        return self.wall_at_zero_ns + self.monotonic_ns_now

    def time(self) -> float:
        return self.time_ns() / 1e9

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def machine_time(monkeypatch: pytest.MonkeyPatch) -> _MachineTime:
    now = _MachineTime()
    monkeypatch.setattr(clock_module, "time", now)
    monkeypatch.setattr(target_module, "time", now)
    return now


#: How long each request of verify's takes, by the machine's clock.
REQUEST_S = 1.0


def test_verify_restores_a_running_clock(machine_time: _MachineTime) -> None:
    fake = FakeVoipbin(profile="live")  # the machine's time, not frozen
    started_us = fake.state.clock.now_us()
    requests: list[str] = []

    def a_request_takes_its_time(request: httpx.Request) -> None:
        requests.append(request.url.path)
        machine_time.tick(REQUEST_S)

    client = fake.client(event_hooks={"request": [a_request_takes_its_time]})
    code, out, _err = run_verify(fake, examples=5, client=client)
    assert code == 0, out
    assert not fake.clock.frozen
    # The clock shows the machine's time again: the seconds verify took are on it
    # (it ran frozen meanwhile), less at most the one request that set it back.
    took_us = round(len(requests) * REQUEST_S * 1e6)
    assert took_us > 60 * 1_000_000, "verify made too few requests to tell"
    shown = fake.state.clock.now_us()
    assert started_us + took_us - round(REQUEST_S * 1e6) <= shown <= started_us + took_us
    # ... and it runs on from there.
    machine_time.tick(7)
    assert fake.state.clock.now_us() == shown + 7_000_000


def test_verify_exits_2_when_the_accesskey_is_wrong() -> None:
    fake = FakeVoipbin(profile="docs", now=NOW)
    code, out, err = run_verify(fake, accesskey="vb_" + "x" * 32)
    assert code == 2
    assert err.startswith("fakevoipbin verify: ")
    assert "401" in err
    assert "rules held" not in out
    # No customer of its own was made for a run that could not start.
    assert not any(c.name == "fakevoipbin-verify" for c in fake.state.store.customers.values())


def test_verify_exits_2_when_the_server_cannot_be_reached() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    out, err = io.StringIO(), io.StringIO()
    client = httpx.Client(transport=httpx.MockTransport(refuse))
    code = verify("http://nowhere.test/v1.0", "vb_k", examples=2, client=client, out=out, err=err)
    assert code == 2
    assert "fakevoipbin verify: cannot reach http://nowhere.test/v1.0" in err.getvalue()


# --- verify against broken variants of the fake -----------------------------------


def _wrap(monkeypatch: pytest.MonkeyPatch, op_id: str, change: Any) -> None:
    original = operations.OPERATIONS[op_id]

    def wrapped(state: Any, render: Any, ex: Any) -> Any:
        reply = original(state, render, ex)
        if reply.status == 200 and reply.raw is not None:  # a cached rendering
            body = json.loads(reply.raw)
            change(body)
            reply.raw = json.dumps(body, separators=(",", ":")).encode()
        elif reply.status == 200 and isinstance(reply.body, dict):
            change(reply.body)
        return reply

    monkeypatch.setitem(operations.OPERATIONS, op_id, wrapped)


def test_verify_names_a_token_returned_on_get(monkeypatch: pytest.MonkeyPatch) -> None:
    _wrap(monkeypatch, "GetAccesskeysId", lambda body: body.update(token="vb_" + "A" * 32))
    fake = FakeVoipbin(profile="docs", now=NOW, response_validation="off")
    code, out, _err = run_verify(fake)
    assert_broken(code, out, ("token-only-on-create",), "GET /v1.0/accesskeys/")
    assert verdicts(out)["token-only-on-create"] == "BROKEN"


def test_verify_names_wrong_expire_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    def shift(body: dict[str, Any]) -> None:
        body["tm_expire"] = format_fixed(parse_instant(body["tm_expire"]) + 1_000_000)

    _wrap(monkeypatch, "PostAccesskeys", shift)
    fake = FakeVoipbin(profile="docs", now=NOW, response_validation="off")
    code, out, _err = run_verify(fake)
    assert_broken(code, out, ("expire-arithmetic",), "POST /v1.0/accesskeys")
    m = re.search(r"expire (\d+): tm_expire - tm_create = ([\d.]+) s", out)
    assert m, out
    assert float(m[2]) == int(m[1]) + 1


def test_verify_names_deleted_keys_left_in_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    real_soft_delete = Store.soft_delete
    lingering: list[Any] = []

    def soft_delete_but_keep_listing(self: Store, key: Any, t: int) -> Any:
        # A stale list: the last deleted key stays in its customer's list (its token
        # fails and tm_delete is set). Older ones leave, so lists stay short.
        for old in lingering:
            real_soft_delete(self, old, old.tm_delete)
        new = key._replace(tm_delete=t, tm_update=t, version=next_version())
        self.keys[key.id] = new
        self.customers[key.customer_id].by_create[key.tm_create] = new
        self.customers[key.customer_id].changed()
        self.by_hash.pop(key.token_hash, None)
        lingering[:] = [new]
        return new

    monkeypatch.setattr(Store, "soft_delete", soft_delete_but_keep_listing)
    fake = FakeVoipbin(profile="docs", now=NOW, response_validation="off")
    code, out, _err = run_verify(fake)
    assert_broken(code, out, ("list-exactly-once", "delete-semantics"), "DELETE /v1.0/accesskeys/")


def test_verify_names_a_customer_put_that_keeps_omitted_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def update_only_what_was_sent(state: Any, identity: Any, body: Any) -> Any:
        customer = state.store.customers[identity.customer_id]
        for name, value in body.items():
            setattr(customer, name, value)
        return customer

    monkeypatch.setattr(customers, "update_customer", update_only_what_was_sent)
    fake = FakeVoipbin(profile="live", now=NOW)
    code, out, _err = run_verify(fake)
    assert_broken(code, out, ("customer-put-overwrites",), "PUT /v1.0/customer")
    head, _steps, _curl = broken_section(out, "customer-put-overwrites")
    assert 'an omitted field must become ""' in head


def test_verify_names_a_webhook_secret_outside_get(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "S" * 32
    _wrap(monkeypatch, "PutCustomer", lambda body: body.update(webhook_secret=secret))
    fake = FakeVoipbin(profile="docs", now=NOW, response_validation="off")
    code, out, _err = run_verify(fake)
    assert_broken(code, out, ("webhook-secret-only-on-get",), "PUT /v1.0/customer")
    assert secret not in out  # the evidence names the field, never the secret
    sent = [e for e in fake.journal.entries() if e.operation_id == "PutCustomer"]
    assert sent and all(secret not in json.dumps(e.as_dict()) for e in sent)


def test_verify_leaves_the_customer_as_it_found_it() -> None:
    fake = FakeVoipbin(profile="docs", now=NOW)
    code, out, _err = run_verify(fake)
    assert code == 0, out
    mine = [c for c in fake.state.store.customers.values() if c.name == "fakevoipbin-verify"]
    assert len(mine) == 1
    texts = [getattr(mine[0], f) for f in ("detail", "email", "address", "webhook_uri")]
    assert texts == ["", "", "", ""]
    assert mine[0].tm_update is not None  # it was PUT (and put back)
    fake.journal.assert_called("PutCustomer", status=200)


def test_verify_skips_the_customer_rules_where_customer_is_not_served() -> None:
    """A server without /customer (an older fake, another API): the rules print as
    unused, and every other rule still holds."""
    fake = FakeVoipbin(profile="live", now=NOW)
    inner = InProcessTransport(fake.app.asgi)
    asked: list[str] = []

    def no_customer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1.0/customer"):
            asked.append(f"{request.method} {request.url.path}")
            envelope = {
                "message": "The requested endpoint does not exist.",
                "reason": "ROUTE_NOT_FOUND",
                "request_id": "req_x",
                "status": "NOT_FOUND",
            }
            return httpx.Response(404, json={"error": envelope})
        r = inner.handle_request(request)
        r.read()
        return r

    client = httpx.Client(transport=httpx.MockTransport(no_customer))
    code, out, _err = run_verify(fake, client=client)
    assert code == 0, out
    table = verdicts(out)
    assert table["customer-put-overwrites"] == "unused"
    assert table["webhook-secret-only-on-get"] == "unused"
    assert {v for k, v in table.items() if not k.startswith(("customer-", "webhook-"))} == {"held"}
    assert asked == ["GET /v1.0/customer"]  # probed once
    assert re.search(
        rf"^{len(RULES) - 2} rules held, 0 broken, 2 unused "
        r"\(customer-put-overwrites, webhook-secret-only-on-get\)$",
        out,
        re.M,
    ), out


# --- a server that is not a fake ----------------------------------------------------


class _Time:
    """A monotonic clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_target_paces_itself_and_honours_retry_after_on_a_real_server() -> None:
    seen: list[tuple[float, str, dict[str, str], int]] = []
    api_calls = 0
    clock = _Time()

    def server(request: httpx.Request) -> httpx.Response:
        nonlocal api_calls
        path = request.url.path
        if path == "/_fake/health":
            status, response = 404, httpx.Response(404, json={"message": "not found"})
        elif path == "/v1.0/accesskeys":
            api_calls += 1
            if api_calls == 1:
                response = httpx.Response(429, headers={"Retry-After": "1"}, json={})
            else:
                response = httpx.Response(200, json={"result": [], "next_page_token": ""})
            status = response.status_code
        else:
            status, response = 500, httpx.Response(500)
        seen.append((clock.now, path, dict(request.url.params), status))
        return response

    client = httpx.Client(transport=httpx.MockTransport(server))
    target = Target(
        "http://api.example.test/v1.0",
        "vb_real",
        client=client,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
    )
    assert [s[1] for s in seen] == ["/_fake/health"]
    assert target.is_fake is False
    assert target.profile == "live"
    assert target.pace_s == pytest.approx(1 / 15)

    r = target.call("GET", "/accesskeys", token="vb_real", params={"page_size": 1})
    assert r.status_code == 200
    assert 1.0 in clock.slept, "the 429's Retry-After: 1 was waited out"
    api = [s for s in seen if s[1] == "/v1.0/accesskeys"]
    assert [s[3] for s in api] == [429, 200]
    assert api[1][0] - api[0][0] >= 1.0
    assert all(s[2] == {"page_size": "1", "accesskey": "vb_real"} for s in api)
    assert target.requests == 2

    # Back-to-back calls are spaced by the pace, under production's 16.7/s.
    target.call("GET", "/accesskeys", token="vb_real")
    target.call("GET", "/accesskeys", token="vb_real")
    times = [s[0] for s in seen if s[1] == "/v1.0/accesskeys"][-2:]
    assert times[1] - times[0] == pytest.approx(REAL_SERVER_PACE_S)
    # Nothing on a real server is steered: begin and end send no control requests.
    before = len(seen)
    target.begin()
    target.end()
    assert len(seen) == before


def test_target_tells_a_real_servers_time_by_the_machines_clock(
    machine_time: _MachineTime,
) -> None:
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(404, json={"message": "not found"})

    client = httpx.Client(transport=httpx.MockTransport(server))
    target = Target("http://api.example.test/v1.0", "vb_real", client=client)
    assert target.is_fake is False
    assert target.now_us() == machine_time.time_ns() // 1000
    machine_time.tick(90)
    assert target.now_us() == machine_time.time_ns() // 1000
    assert seen == ["/_fake/health"], "the time was asked of the server"


def test_target_on_a_fake_reads_its_health() -> None:
    fake = FakeVoipbin(profile="live", now=NOW)
    target = Target(IN_PROCESS, fake.accesskey, client=fake.client())
    assert target.is_fake is True
    assert target.profile == "live"
    assert target.pace_s == 0.0
    assert target.now_us() == parse_instant(NOW)
    explicit = Target(IN_PROCESS, fake.accesskey, profile="docs", client=fake.client())
    assert explicit.profile == "docs"


@given(name=cst.names, expire=cst.expires)
def test_strategies_are_importable_for_client_authors(name: str, expire: int) -> None:
    assert name.startswith(cst.NAME_PREFIX)
    assert 86_400 <= expire <= 10 * 365 * 86_400


# --- verify as a command ------------------------------------------------------------


def test_verify_command_against_a_fake_on_a_socket() -> None:
    with FakeVoipbin(profile="live", now=NOW) as fake:
        url = fake.url
        proc = subprocess.run(
            [
                *CLI,
                "verify",
                "--base-url",
                url,
                "--accesskey",
                fake.accesskey,
                "--examples",
                "6",
                "--seed",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        with urllib.request.urlopen(f"{url}/accesskeys?accesskey={fake.accesskey}") as r:
            assert r.status == 200  # the caller's key still works afterwards
        leftovers = [
            k
            for k in fake.state.store.keys.values()
            if k.name.startswith(PREFIX) and not k.tm_delete
        ]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"verify {url} (a fakevoipbin fake, profile live, 6 examples, seed 1)" in proc.stdout
    assert verdicts(proc.stdout) == dict.fromkeys(RULES, "held"), proc.stdout
    assert f"{len(RULES)} rules held, 0 broken" in proc.stdout
    assert leftovers == []
