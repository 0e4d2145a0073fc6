"""The access-key contract as a Hypothesis state machine, runnable against any server.

Every check names the rule it checks (``RULES``). A ``Recorder`` counts checks and keeps
the first breach of each rule; rules listed in ``hard`` raise instead, so Hypothesis
shrinks to the shortest request sequence that breaks them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    multiple,
    precondition,
    rule,
)

from ..core.clock import US, format_fixed, parse_instant
from ..core.profiles import get_profile
from ..spec import Spec, default_spec
from . import strategies as cst
from .target import Target

RULES: dict[str, str] = {
    "valid-requests-succeed": "a valid create, get, list, update or delete answers 200",
    "token-only-on-create": "token appears in the create response and in no other",
    "token-format": "token is vb_ and 32 URL-safe characters; token_prefix == token[:11]",
    "expire-arithmetic": "tm_expire - tm_create == expire (exactly on the fake, within 1 s "
    "elsewhere), and a key keeps its times",
    "expiry-auth": "a token authenticates until tm_expire and not after (checked by moving "
    "the fake's clock; elsewhere only right after create)",
    "list-exactly-once": "paging through the list yields every live key exactly once, newest first",
    "next-page-token": "next_page_token is the profile's: docs null at the end; live the "
    'last tm_create, and "" on an empty page',
    "put-overwrites": 'PUT overwrites an omitted name or detail with ""',
    "delete-semantics": "DELETE answers the key with tm_delete == tm_update; it then leaves "
    "the list, its token fails, and its id answers the profile's error",
    "responses-conform": "every response validates against openapi.yaml; errors have the "
    "envelope's shape",
}

_TOKEN = re.compile(r"^vb_[A-Za-z0-9_-]{32}$")


class ContractBroken(AssertionError):
    def __init__(self, rule_name: str, message: str) -> None:
        super().__init__(f"[{rule_name}] {message}")
        self.rule_name = rule_name


@dataclass
class RuleResult:
    checks: int = 0
    breaches: int = 0
    first: str = ""


@dataclass
class Recorder:
    results: dict[str, RuleResult] = field(
        default_factory=lambda: {name: RuleResult() for name in RULES}
    )
    hard: frozenset[str] = frozenset()
    examples: int = 0

    def check(self, rule_name: str, ok: bool, message: str) -> bool:
        result = self.results[rule_name]
        result.checks += 1
        if not ok:
            result.breaches += 1
            if not result.first:
                result.first = message
            if rule_name in self.hard:
                raise ContractBroken(rule_name, message)
        return ok

    @property
    def broken(self) -> list[str]:
        return [name for name, r in self.results.items() if r.breaches]


@dataclass
class KeyModel:
    id: str
    token: str
    expire: int
    name: str
    detail: str
    tm_create: int
    tm_expire: int
    deleted: bool = False


def _us(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_instant(text)
    except ValueError:
        return None


class AccessKeyContract(RuleBasedStateMachine):
    """Create, get, list, update, delete and authenticate, with the clock moved on a fake.
    Use ``make_machine(target, recorder)`` to get a runnable subclass."""

    target: Target
    recorder: Recorder
    spec: Spec
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        t = self.target
        self.profile = get_profile(t.profile)
        self.model: dict[str, KeyModel] = {}
        self.start_us = t.now_us() if t.is_fake else None
        self.baseline = {k["id"]: k for k in self._page_all(100, check=False)}

    # --- helpers ------------------------------------------------------------------

    def check(self, rule_name: str, ok: bool, message: str) -> bool:
        return self.recorder.check(rule_name, ok, message)

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        r = self.target.call(method, path, token=token or self.target.admin_token, **kw)
        self._conform(method, path, r)
        return r

    def _conform(self, method: str, path: str, r: httpx.Response) -> None:
        op_id = _operation_for(method, path)
        op = self.spec.operations[op_id]
        try:
            body = r.json() if r.content else None
        except ValueError:
            self.check(
                "responses-conform",
                False,
                f"{method} {path} -> {r.status_code}: the body is not JSON",
            )
            return
        found = self.spec.check_response(op, r.status_code, body)
        self.check(
            "responses-conform",
            not found,
            f"{method} {path} -> {r.status_code}: " + "; ".join(f.description for f in found[:3]),
        )

    def _no_token(self, where: str, r: httpx.Response) -> None:
        text = r.text
        leaked = [m.token[:11] for m in self.model.values() if m.token in text]
        self.check(
            "token-only-on-create",
            '"token":' not in text and not leaked,
            f"{where} answered a token ({', '.join(leaked) or 'a token field'}…)",
        )

    def _now(self) -> int:
        return self.target.now_us()

    def _page_all(self, page_size: int, check: bool = True) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        for _ in range(10_000):
            params: dict[str, Any] = {"page_size": page_size}
            if token:
                params["page_token"] = token
            r = self.call("GET", "/accesskeys", params=params)
            if r.status_code != 200:
                self.check("valid-requests-succeed", False, f"GET /accesskeys -> {r.status_code}")
                return items
            body = r.json()
            page = body.get("result") or []
            nxt = body.get("next_page_token")
            if check:
                self._no_token("GET /accesskeys", r)
                self._check_token(page, nxt, page_size)
            items += page
            if self.profile.null_token_at_end:
                if nxt is None:
                    return items
            elif not page:
                return items
            if not nxt or not page:
                return items
            token = nxt
        return items

    def _check_token(self, page: list[dict[str, Any]], nxt: Any, page_size: int) -> None:
        size = page_size if 1 <= page_size <= 100 else 100
        if not page:
            want_end: Any = None if self.profile.null_token_at_end else ""
            self.check(
                "next-page-token",
                nxt == want_end,
                f"an empty page answered next_page_token {nxt!r}, not {want_end!r}",
            )
            return
        last = _us(page[-1].get("tm_create"))
        cursor = format_fixed(last) if last is not None else None
        if self.profile.null_token_at_end:
            ok = nxt is None or nxt == cursor
            self.check(
                "next-page-token",
                ok and (nxt is not None or len(page) <= size),
                f"docs page of {len(page)} answered next_page_token {nxt!r}",
            )
        else:
            self.check(
                "next-page-token",
                nxt == cursor,
                f"live page answered next_page_token {nxt!r}, not the last tm_create {cursor!r}",
            )

    # --- rules --------------------------------------------------------------------

    @rule(target=keys, name=cst.names, detail=cst.details, expire=cst.expires)
    def create(self, name: str, detail: str | None, expire: int) -> Any:
        body: dict[str, Any] = {"name": name, "expire": expire}
        if detail is not None:
            body["detail"] = detail
        r = self.call("POST", "/accesskeys", json=body)
        if not self.check(
            "valid-requests-succeed",
            r.status_code == 200,
            f"POST /accesskeys {json.dumps(body)[:120]} -> {r.status_code}",
        ):
            return multiple()
        obj = r.json()
        token = obj.get("token", "")
        self.check(
            "token-only-on-create",
            isinstance(token, str) and bool(token),
            "the create response has no token",
        )
        self.check(
            "token-format",
            isinstance(token, str)
            and bool(_TOKEN.match(token))
            and obj.get("token_prefix") == token[:11],
            f"token {str(token)[:11]}… / token_prefix {obj.get('token_prefix')!r}",
        )
        created, expires = _us(obj.get("tm_create")), _us(obj.get("tm_expire"))
        if created is None or expires is None:
            self.check("expire-arithmetic", False, "tm_create or tm_expire is not a timestamp")
            return multiple()
        span = expires - created
        exact = self.target.is_fake
        self.check(
            "expire-arithmetic",
            span == expire * US if exact else abs(span - expire * US) <= US,
            f"expire {expire}: tm_expire - tm_create = {span / US} s",
        )
        key = KeyModel(obj["id"], token, expire, name, detail or "", created, expires)
        self.model[key.id] = key
        own = self.call("GET", f"/accesskeys/{key.id}", token=token)
        self.check(
            "expiry-auth",
            own.status_code == 200,
            f"a new key's token answered {own.status_code} on its own key",
        )
        return key.id

    @rule(key=keys)
    def get(self, key: str) -> None:
        if key not in self.model:
            return
        m = self.model[key]
        r = self.call("GET", f"/accesskeys/{key}")
        if m.deleted:
            self._deleted_answer("GET", r)
            return
        if not self.check(
            "valid-requests-succeed",
            r.status_code == 200,
            f"GET /accesskeys/{{id}} -> {r.status_code}",
        ):
            return
        self._no_token("GET /accesskeys/{id}", r)
        self._same(m, r.json(), "GET")

    def _same(self, m: KeyModel, obj: dict[str, Any], where: str) -> None:
        self.check(
            "put-overwrites",
            obj.get("name", "") == m.name and obj.get("detail", "") == m.detail,
            f"{where} shows name/detail {obj.get('name')!r}/{obj.get('detail')!r}, "
            f"expected {m.name!r}/{m.detail!r}",
        )
        self.check(
            "expire-arithmetic",
            _us(obj.get("tm_create")) == m.tm_create and _us(obj.get("tm_expire")) == m.tm_expire,
            f"{where} shows other times than create did",
        )

    def _deleted_answer(self, method: str, r: httpx.Response) -> None:
        kind = self.profile.deleted_key_error
        try:
            err = r.json().get("error", {})
        except (ValueError, AttributeError):
            err = {}
        self.check(
            "delete-semantics",
            r.status_code == kind.http and err.get("reason") == kind.reason,
            f"{method} of a deleted key answered {r.status_code} {err.get('reason')}, "
            f"not {kind.http} {kind.reason} ({self.profile.name})",
        )

    @rule(key=keys, name=st.none() | cst.names, detail=st.none() | cst.details)
    def update(self, key: str, name: str | None, detail: str | None) -> None:
        if key not in self.model:
            return
        m = self.model[key]
        body = {k: v for k, v in (("name", name), ("detail", detail)) if v is not None}
        r = self.call("PUT", f"/accesskeys/{key}", json=body)
        if m.deleted:
            self._deleted_answer("PUT", r)
            return
        if not self.check(
            "valid-requests-succeed",
            r.status_code == 200,
            f"PUT /accesskeys/{{id}} -> {r.status_code}",
        ):
            return
        self._no_token("PUT /accesskeys/{id}", r)
        m.name, m.detail = name or "", detail or ""
        self._same(m, r.json(), "PUT")

    @rule(key=keys)
    def delete(self, key: str) -> None:
        if key not in self.model:
            return
        m = self.model[key]
        r = self.call("DELETE", f"/accesskeys/{key}")
        if m.deleted:
            self._deleted_answer("DELETE", r)
            return
        if not self.check(
            "valid-requests-succeed",
            r.status_code == 200,
            f"DELETE /accesskeys/{{id}} -> {r.status_code}",
        ):
            return
        self._no_token("DELETE /accesskeys/{id}", r)
        obj = r.json()
        self.check(
            "delete-semantics",
            obj.get("tm_delete") is not None
            and obj.get("tm_delete") != "9999-01-01T00:00:00.000000Z"
            and obj.get("tm_delete") == obj.get("tm_update"),
            f"DELETE answered tm_delete {obj.get('tm_delete')!r}, "
            f"tm_update {obj.get('tm_update')!r}",
        )
        m.deleted = True
        own = self.call("GET", f"/accesskeys/{key}", token=m.token)
        self.check(
            "delete-semantics",
            own.status_code == 401,
            f"a deleted key's token answered {own.status_code}",
        )
        listed = {k.get("id") for k in self._page_all(100, check=False)}
        self.check("delete-semantics", key not in listed, "a deleted key is still listed")

    @rule(page_size=st.integers(min_value=-2, max_value=120))
    def list_all(self, page_size: int) -> None:
        items = self._page_all(page_size)
        ids = [k.get("id") for k in items]
        expected = set(self.baseline) | {k for k, m in self.model.items() if not m.deleted}
        times = [_us(k.get("tm_create")) or 0 for k in items]
        dupes = len(ids) - len(set(ids))
        self.check(
            "list-exactly-once",
            not dupes
            and set(ids) == expected
            and all(a > b for a, b in zip(times, times[1:], strict=False)),
            f"page_size {page_size}: {len(ids)} items, {dupes} repeated, "
            f"{len(expected - set(ids))} live keys missing, "
            f"{len(set(ids) - expected)} unexpected"
            + (
                ""
                if all(a > b for a, b in zip(times, times[1:], strict=False))
                else ", not newest first"
            ),
        )

    @rule(key=keys)
    def authenticate(self, key: str) -> None:
        if key not in self.model:
            return
        m = self.model[key]
        r = self.call("GET", f"/accesskeys/{key}", token=m.token)
        if m.deleted:
            self.check(
                "delete-semantics",
                r.status_code == 401,
                f"a deleted key's token answered {r.status_code}",
            )
            return
        if self.target.is_fake:
            live = self._now() <= m.tm_expire
            self.check(
                "expiry-auth",
                r.status_code == (200 if live else 401),
                f"a token {'before' if live else 'after'} its tm_expire answered {r.status_code}",
            )

    @precondition(lambda self: self.target.is_fake)
    @rule(key=keys)
    def expiry_boundary(self, key: str) -> None:
        """At tm_expire the key still works; one microsecond later it does not."""
        if key not in self.model or self.model[key].deleted:
            return
        m = self.model[key]
        before = self._now()
        self.target.set_clock(m.tm_expire)
        at = self.call("GET", f"/accesskeys/{key}", token=m.token)
        self.target.set_clock(m.tm_expire + 1)
        after = self.call("GET", f"/accesskeys/{key}", token=m.token)
        self.target.set_clock(before)
        self.check(
            "expiry-auth",
            at.status_code == 200 and after.status_code == 401,
            f"at tm_expire {at.status_code}, 1 µs later {after.status_code}",
        )

    @precondition(lambda self: self.target.is_fake)
    @rule(seconds=st.integers(min_value=0, max_value=3 * 86_400))
    def advance_clock(self, seconds: int) -> None:
        self.target.set_clock(self._now() + seconds * US)

    def teardown(self) -> None:
        for key, m in self.model.items():
            if not m.deleted:
                self.target.call("DELETE", f"/accesskeys/{key}", token=self.target.admin_token)
        if self.start_us is not None:
            self.target.set_clock(self.start_us)
        self.recorder.examples += 1


def _operation_for(method: str, path: str) -> str:
    if path == "/accesskeys":
        return "GetAccesskeys" if method == "GET" else "PostAccesskeys"
    return {"GET": "GetAccesskeysId", "PUT": "PutAccesskeysId", "DELETE": "DeleteAccesskeysId"}[
        method
    ]


def make_machine(target: Target, recorder: Recorder | None = None) -> type[AccessKeyContract]:
    """A runnable machine class bound to a target (and a recorder of rule results)."""
    return type(
        "AccessKeyContract",
        (AccessKeyContract,),
        {"target": target, "recorder": recorder or Recorder(), "spec": default_spec()},
    )
