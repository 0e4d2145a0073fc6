"""The access-key contract as a Hypothesis state machine, runnable against any server,
with the customer's two rules where the server answers ``GET /customer`` (asked once).

Every answer is judged first by the rules one exchange can show, as the proxy judges
it (``checks/exchange_rules.judge``, named as verify names them: ``verify_rule``), and
by what only the run knows (a token or webhook secret it saw, shown where it must not
be). The machine itself holds the rules that need several requests: a valid request
succeeds, the list yields each key once, a deleted key is gone, a token works until its
tm_expire, and a PUT overwrites.

Every check names the rule it checks (``RULES``) and the response it judged. A
``Recorder`` counts checks and keeps, for each rule, the breach with the shortest HTTP
sequence (``Breach``: the example's exchanges up to the response that broke it); rules
listed in ``hard`` raise instead, so Hypothesis shrinks towards a shorter sequence.

A list is paged until its end, or until paging cannot be trusted to end: a page that
repeats a key already listed, a key the run deleted, a ``next_page_token`` that does
not move strictly back in time, or more keys than the run made plus those there before
it. Each of those is a breach at once (``list-exactly-once`` or ``next-page-token``).
"""

from __future__ import annotations

import json
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

from ..checks import exchange_rules
from ..checks.exchange_rules import instant_us, token_problem
from ..core.clock import US
from ..core.formats import token_prefix
from ..core.profiles import get_profile
from ..core.store import CUSTOMER_TEXT_FIELDS as CUSTOMER_FIELDS
from ..spec import Spec, default_spec
from . import strategies as cst
from .target import Exchange, Target, clip, redact

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
    "customer-put-overwrites": 'PUT /customer overwrites every field it omits with "", which '
    "the answer then leaves out (the original is put back); checked when GET /customer answers",
    "webhook-secret-only-on-get": "webhook_secret appears in GET /customer only: never in a "
    "PUT's answer or any other response",
}

#: The rules of ``checks/exchange_rules`` that verify's table names otherwise: an answer
#: outside the error envelope breaks responses-conform ("errors have the envelope's
#: shape"). Every other rule has the same name in both.
VERIFY_NAMES = {"error-envelope": "responses-conform"}


def verify_rule(rule_name: str) -> str:
    """The name verify's table gives a rule of ``checks/exchange_rules``."""
    return VERIFY_NAMES.get(rule_name, rule_name)


#: A list is never paged further than this (100,000 keys at 100 a page): a list that
#: has not ended by then breaks list-exactly-once.
MAX_PAGES = 1000


@dataclass(frozen=True)
class Breach:
    """One breach of a rule: what was wrong, the example's exchanges up to and
    including the one that broke the rule, and the part of its answer that did."""

    rule: str
    message: str
    exchanges: tuple[Exchange, ...]
    evidence: str = ""

    @property
    def request(self) -> Exchange | None:
        """The exchange that broke the rule (the last of ``exchanges``)."""
        return self.exchanges[-1] if self.exchanges else None


class ContractBroken(AssertionError):
    def __init__(self, rule_name: str, message: str, breach: Breach | None = None) -> None:
        super().__init__(f"[{rule_name}] {message}")
        self.rule_name = rule_name
        self.breach = breach


class TargetLost(BaseException):  # noqa: N818 (a signal: stop the run, do not shrink)
    """The server stopped answering mid-run (an httpx error). A BaseException, so
    Hypothesis lets it out at once instead of shrinking it (or says the example was
    flaky instead: the reason is kept as ``target.lost`` too)."""


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
    #: Per rule, the breach with the fewest exchanges seen (the latest among equals).
    best: dict[str, Breach] = field(default_factory=dict)

    def check(self, rule_name: str, ok: bool, message: str, breach: Breach | None = None) -> bool:
        result = self.results[rule_name]
        result.checks += 1
        if not ok:
            result.breaches += 1
            if not result.first:
                result.first = message
            if breach is not None:
                self.offer(breach)
            if rule_name in self.hard:
                raise ContractBroken(rule_name, message, breach)
        return ok

    def offer(self, breach: Breach) -> None:
        """Keep ``breach`` when its sequence is no longer than the rule's best so far."""
        best = self.best.get(breach.rule)
        if best is None or len(breach.exchanges) <= len(best.exchanges):
            self.best[breach.rule] = breach

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


def _object(r: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} (responses-conform says what is wrong with it)."""
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _key_id(item: dict[str, Any]) -> str:
    value = item.get("id")
    return value if isinstance(value, str) else repr(value)


def repeated_ids(seen: set[str], page: list[dict[str, Any]]) -> list[str]:
    """The ids of ``page`` already in ``seen`` (or twice in the page itself)."""
    again: list[str] = []
    here: set[str] = set()
    for key_id in map(_key_id, page):
        if key_id in seen or key_id in here:
            again.append(key_id)
        here.add(key_id)
    return again


class AccessKeyContract(RuleBasedStateMachine):
    """Create, get, list, update, delete and authenticate, with the clock moved on a fake;
    read and PUT the customer (putting it back) where the server serves /customer. Use
    ``make_machine(target, recorder)`` to get a runnable subclass."""

    target: Target
    recorder: Recorder
    spec: Spec
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        t = self.target
        self.profile = get_profile(t.profile)
        self.model: dict[str, KeyModel] = {}
        t.start_example()
        #: Whether the customer rules run (the server answers GET /customer); whether
        #: a PUT left the customer other than it was is the target's
        #: ``customer_changed``.
        self.serves_customer = t.serves_customer()
        self.start_us = t.now_us() if t.is_fake else None
        listed, _r, _complete = self._page_all(100)
        if t.baseline is None:  # what was there before the run (as far as it could page)
            t.baseline = {_key_id(k) for k in listed} - set(t.created)
        self.baseline = {_key_id(k): k for k in listed if _key_id(k) not in t.deleted}

    # --- helpers ------------------------------------------------------------------

    def check(
        self,
        rule_name: str,
        ok: bool,
        message: str,
        r: httpx.Response | None = None,
        evidence: str | None = None,
        after: str | None = None,
    ) -> bool:
        """Count a check of ``rule_name``; a breach names the response ``r`` that broke
        it and ``evidence``, the part of its answer that did (its body by default).
        ``after``: the id of a key the breach rests on, whose making and deleting (in an
        earlier example) then start the breach's sequence."""
        if ok:
            return self.recorder.check(rule_name, True, message)
        exchanges = self.target.until(r)
        if after is not None:
            exchanges = self.target.before(after) + exchanges
        if evidence is None:
            evidence = clip(exchanges[-1].answer, 160) if exchanges else ""
        secrets = self.target.secrets()
        message = redact(message, secrets)
        breach = Breach(rule_name, message, exchanges, redact(evidence, secrets))
        return self.recorder.check(rule_name, False, message, breach)

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        try:
            r = self.target.call(method, path, token=token or self.target.admin_token, **kw)
        except httpx.HTTPError as exc:
            self.target.lost = f"{method} {path}: {type(exc).__name__}: {exc}"
            raise TargetLost(self.target.lost) from None
        self._judge(method, path, r, kw.get("json"), kw.get("params"))
        return r

    def _judge(
        self, method: str, path: str, r: httpx.Response, sent: Any, params: dict[str, Any] | None
    ) -> None:
        """Judge one exchange by the rules one exchange can show
        (``exchange_rules.judge``, as the proxy does; exactly, on a fake), and by what
        only the run knows: a token it made, or the webhook secret it read, shown where
        it must not be. Each rule judged counts one check; each breach is recorded
        under verify's name for its rule. The customer's rule counts only where the
        server serves /customer (elsewhere it is unused)."""
        op = self.spec.operations[_operation_for(method, path)]
        body, is_json = _parsed(r)
        query = {k: [str(v)] for k, v in (params or {}).items()}
        verdict = exchange_rules.judge(
            self.spec,
            self.profile,
            op,
            r.status_code,
            body,
            is_json=is_json,
            request_body=sent,
            query=query,
            exact=self.target.is_fake,
        )
        breaches: dict[str, list[exchange_rules.Breach]] = {
            verify_rule(name): [] for name in verdict.checked
        }
        for b in verdict:
            breaches.setdefault(verify_rule(b.rule), []).append(b)
        for b in self._leaks(op.operation_id, r):
            if not breaches.get(b.rule):
                breaches[b.rule] = [b]
        if not self.serves_customer:
            breaches.pop("webhook-secret-only-on-get", None)
        for name, found in breaches.items():
            if not found:
                self.recorder.check(name, True, name)
            for b in found:
                self.check(name, False, b.message, r, b.evidence)

    def _leaks(self, operation_id: str, r: httpx.Response) -> list[exchange_rules.Breach]:
        """A token this run made, or the webhook secret it read, in an answer that must
        not carry it (however it is keyed: judge looks for the fields)."""
        found: list[exchange_rules.Breach] = []
        text = r.text
        if operation_id not in ("PostAccesskeys", "PostAuthLogin"):
            leaked = [
                token_prefix(m.token) for m in self.model.values() if m.token and m.token in text
            ]
            if leaked:
                found.append(
                    exchange_rules.Breach(
                        "token-only-on-create",
                        f"the answer holds a token of this run ({', '.join(leaked)}…)",
                        f"the token of {leaked[0]}…",
                    )
                )
        if operation_id != "GetCustomer" and any(s in text for s in self.target.webhook_secrets):
            found.append(
                exchange_rules.Breach(
                    "webhook-secret-only-on-get",
                    "the answer holds the webhook secret",
                    "webhook_secret: [REDACTED]",
                )
            )
        return found

    def _now(self) -> int:
        return self.target.now_us()

    def _page_all(self, page_size: int) -> tuple[list[dict[str, Any]], httpx.Response | None, bool]:
        """Page through the list: its items, the last page's response, and whether the
        list came to its end (False when paging stopped on a breach)."""
        t = self.target
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        cap = t.list_cap()
        sent: str | None = None
        r: httpx.Response | None = None
        for number in range(1, MAX_PAGES + 1):
            params: dict[str, Any] = {"page_size": page_size}
            if sent:
                params["page_token"] = sent
            r = self.call("GET", "/accesskeys", params=params)
            if r.status_code != 200:
                self.check(
                    "valid-requests-succeed", False, f"GET /accesskeys -> {r.status_code}", r
                )
                return items, r, False
            body = _object(r)
            result = body.get("result")
            page = [k for k in result if isinstance(k, dict)] if isinstance(result, list) else []
            nxt = body.get("next_page_token")
            again = repeated_ids(seen, page)
            if again:
                self.check(
                    "list-exactly-once",
                    False,
                    f"page {number} of the list repeats {len(again)} key(s) already listed",
                    r,
                    f"repeated id(s): {', '.join(again[:3])}",
                )
                return items, r, False
            gone = [i for i in map(_key_id, page) if i in t.deleted]
            if gone:
                self.check(
                    "list-exactly-once",
                    False,
                    f"the list shows {len(gone)} key(s) this run deleted",
                    r,
                    f"deleted id(s) listed: {', '.join(gone[:3])}",
                    after=gone[0],
                )
                return items + page, r, False
            seen.update(map(_key_id, page))
            items += page
            if cap is not None and len(seen) > sum(cap):
                before, alive = cap
                self.check(
                    "list-exactly-once",
                    False,
                    f"paging yielded {len(seen)} keys, more than the {alive} this run made "
                    f"(and did not delete) plus the {before} listed before it",
                    r,
                    f"{len(seen)} distinct ids after {number} page(s)",
                )
                return items, r, False
            if self.profile.null_token_at_end:
                if nxt is None:
                    return items, r, True
            elif not page:
                return items, r, True
            if not nxt or not page:
                return items, r, True
            problem = token_problem(sent, nxt, page)
            if problem:
                self.check(
                    "next-page-token", False, problem, r, f'"next_page_token": {json.dumps(nxt)}'
                )
                return items, r, False
            sent = nxt
        self.check(
            "list-exactly-once",
            False,
            f"the list did not end after {MAX_PAGES} pages",
            r,
            f'"next_page_token": {json.dumps(sent)}',
        )
        return items, r, False

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
            f"a valid create answered {r.status_code}",
            r,
        ):
            return multiple()
        # judge has judged the token, its prefix and the arithmetic (in ``call``).
        obj = _object(r)
        token = obj.get("token", "")
        key_id = obj.get("id")
        created, expires = instant_us(obj.get("tm_create")), instant_us(obj.get("tm_expire"))
        if created is None or expires is None or not isinstance(key_id, str):
            return multiple()  # judge said what is wrong (expire-arithmetic, responses-conform)
        key = KeyModel(key_id, str(token), expire, name, detail or "", created, expires)
        self.model[key.id] = key
        own = self.call("GET", f"/accesskeys/{key.id}", token=key.token)
        self.check(
            "expiry-auth",
            own.status_code == 200,
            f"a new key's token answered {own.status_code} on its own key",
            own,
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
            f"GET of a live key answered {r.status_code}",
            r,
        ):
            return
        self._same(m, r, "GET")

    def _same(self, m: KeyModel, r: httpx.Response, where: str) -> None:
        obj = _object(r)
        name, detail = obj.get("name", ""), obj.get("detail", "")
        self.check(
            "put-overwrites",
            name == m.name and detail == m.detail,
            f"{where} shows name/detail {name!r}/{detail!r}, expected {m.name!r}/{m.detail!r}",
            r,
            f'"name": {json.dumps(name)}, "detail": {json.dumps(detail)}',
        )
        self.check(
            "expire-arithmetic",
            instant_us(obj.get("tm_create")) == m.tm_create
            and instant_us(obj.get("tm_expire")) == m.tm_expire,
            f"{where} shows other times than create did",
            r,
            f'"tm_create": {json.dumps(obj.get("tm_create"))}, '
            f'"tm_expire": {json.dumps(obj.get("tm_expire"))}',
        )

    def _deleted_answer(self, method: str, r: httpx.Response) -> None:
        kind = self.profile.deleted_key_error
        err = _object(r).get("error")
        reason = err.get("reason") if isinstance(err, dict) else None
        self.check(
            "delete-semantics",
            r.status_code == kind.http and reason == kind.reason,
            f"{method} of a deleted key answered {r.status_code} {reason}, "
            f"not {kind.http} {kind.reason} ({self.profile.name})",
            r,
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
            f"PUT of a live key answered {r.status_code}",
            r,
        ):
            return
        m.name, m.detail = name or "", detail or ""
        self._same(m, r, "PUT")

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
            f"DELETE of a live key answered {r.status_code}",
            r,
        ):
            return
        obj = _object(r)
        stamps = (
            f'"tm_delete": {json.dumps(obj.get("tm_delete"))}, '
            f'"tm_update": {json.dumps(obj.get("tm_update"))}'
        )
        self.check(
            "delete-semantics",
            obj.get("tm_delete") is not None
            and obj.get("tm_delete") != "9999-01-01T00:00:00.000000Z"
            and obj.get("tm_delete") == obj.get("tm_update"),
            f"DELETE answered tm_delete {obj.get('tm_delete')!r}, "
            f"tm_update {obj.get('tm_update')!r}",
            r,
            stamps,
        )
        m.deleted = True
        own = self.call("GET", f"/accesskeys/{key}", token=m.token)
        self.check(
            "delete-semantics",
            own.status_code == 401,
            f"a deleted key's token answered {own.status_code}",
            own,
        )
        items, last, complete = self._page_all(100)
        listed = key in {_key_id(k) for k in items}
        if listed or complete:
            self.check(
                "delete-semantics",
                not listed,
                "a deleted key is still listed",
                last,
                f"id {key} in the list",
            )

    @rule(page_size=st.integers(min_value=-2, max_value=120))
    def list_all(self, page_size: int) -> None:
        items, last, complete = self._page_all(page_size)
        if not complete:
            return  # paging stopped on a breach, already recorded
        ids = [_key_id(k) for k in items]
        expected = set(self.baseline) | {k for k, m in self.model.items() if not m.deleted}
        times = [instant_us(k.get("tm_create")) or 0 for k in items]
        dupes = len(ids) - len(set(ids))
        missing, unexpected = expected - set(ids), set(ids) - expected
        ordered = all(a > b for a, b in zip(times, times[1:], strict=False))
        evidence = ", ".join(
            part
            for part in (
                f"missing id(s): {', '.join(sorted(missing)[:3])}" if missing else "",
                f"unexpected id(s): {', '.join(sorted(unexpected)[:3])}" if unexpected else "",
                "" if ordered else "tm_create not strictly newest first",
            )
            if part
        )
        self.check(
            "list-exactly-once",
            not dupes and not missing and not unexpected and ordered,
            f"page_size {page_size}: {len(ids)} items, {dupes} repeated, "
            f"{len(missing)} live keys missing, {len(unexpected)} unexpected"
            + ("" if ordered else ", not newest first"),
            last,
            evidence,
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
                r,
            )
            return
        if self.target.is_fake:
            live = self._now() <= m.tm_expire
            self.check(
                "expiry-auth",
                r.status_code == (200 if live else 401),
                f"a token {'before' if live else 'after'} its tm_expire answered {r.status_code}",
                r,
            )

    @precondition(lambda self: self.target.is_fake)
    @rule(key=keys)
    def expiry_boundary(self, key: str) -> None:
        """At tm_expire the key still works; one microsecond later it does not. Asked
        again if a 429 moved the clock on between the two."""
        if key not in self.model or self.model[key].deleted:
            return
        m = self.model[key]
        before = self._now()
        for _try in range(3):
            moves = self.target.clock_moves
            self.target.set_clock(m.tm_expire)
            at = self.call("GET", f"/accesskeys/{key}", token=m.token)
            self.target.set_clock(m.tm_expire + 1)
            after = self.call("GET", f"/accesskeys/{key}", token=m.token)
            if self.target.clock_moves == moves:
                break
        self.target.set_clock(before)
        self.check(
            "expiry-auth",
            at.status_code == 200 and after.status_code == 401,
            f"at tm_expire {at.status_code}, 1 µs later {after.status_code}",
            at if at.status_code != 200 else after,
        )

    @precondition(lambda self: self.target.is_fake)
    @rule(seconds=st.integers(min_value=0, max_value=3 * 86_400))
    def advance_clock(self, seconds: int) -> None:
        self.target.set_clock(self._now() + seconds * US)

    # --- the customer ---------------------------------------------------------------

    def _customer_fields(
        self, where: str, r: httpx.Response, want: dict[str, str], rule_name: str
    ) -> None:
        """The seven text fields of ``r``'s customer are ``want``'s: an empty one left
        out of the answer."""
        obj = _object(r)
        wrong = [f for f in CUSTOMER_FIELDS if (obj.get(f) != want[f] if want[f] else f in obj)]
        self.check(
            rule_name,
            not wrong,
            f"{where} shows {', '.join(wrong)} other than the PUT wrote "
            '(an omitted field must become "" and be left out)',
            r,
            ", ".join(f"{f!r}: {json.dumps(obj.get(f))}" for f in wrong[:3]),
        )

    @precondition(lambda self: self.serves_customer)
    @rule(body=cst.customer_updates)
    def customer_put(self, body: dict[str, str]) -> None:
        """PUT some of the seven fields; the answer and the next GET show the rest as
        ""; then the original is put back, whole."""
        want = {f: body.get(f, "") for f in CUSTOMER_FIELDS}
        r = self.call("PUT", "/customer", json=body)
        self.target.customer_changed = True
        if not self.check(
            "valid-requests-succeed",
            r.status_code == 200,
            f"a valid PUT /customer answered {r.status_code}",
            r,
        ):
            return
        self._customer_fields("PUT /customer", r, want, "customer-put-overwrites")
        got = self.call("GET", "/customer")
        if self.check(
            "valid-requests-succeed",
            got.status_code == 200,
            f"GET /customer answered {got.status_code}",
            got,
        ):
            self._customer_fields("GET /customer after a PUT", got, want, "customer-put-overwrites")
        self._restore_customer()

    @precondition(lambda self: self.serves_customer)
    @rule()
    def customer_get(self) -> None:
        r = self.call("GET", "/customer")  # judge says whether its webhook_secret is one
        self.check(
            "valid-requests-succeed",
            r.status_code == 200,
            f"GET /customer answered {r.status_code}",
            r,
        )

    def _restore_customer(self) -> None:
        original = self.target.customer_original
        r = self.call("PUT", "/customer", json=original)
        if r.status_code == 200:
            self.target.customer_changed = False
            self._customer_fields(
                "PUT /customer putting the original back", r, original, "customer-put-overwrites"
            )

    def teardown(self) -> None:
        # Within the run's bound until it stops the run, then past it (the stopped
        # example's keys are deleted); a teardown the bound cuts short leaves the rest
        # to verify's cleanup (which deletes every key the run made and kept).
        t = self.target
        try:
            with t.finishing():
                if t.customer_changed:
                    r = t.call("PUT", "/customer", token=t.admin_token, json=t.customer_original)
                    t.customer_changed = r.status_code != 200
                for key, m in self.model.items():
                    if not m.deleted:
                        t.call("DELETE", f"/accesskeys/{key}", token=t.admin_token)
        finally:
            if self.start_us is not None:
                t.set_clock(self.start_us)
            self.recorder.examples += 1


def _parsed(r: httpx.Response) -> tuple[Any, bool]:
    """The answer's JSON (None for no body) and whether it is JSON at all."""
    if not r.content:
        return None, True
    try:
        return r.json(), True
    except ValueError:
        return None, False


_CUSTOMER_OPERATIONS = {
    ("GET", "/customer"): "GetCustomer",
    ("PUT", "/customer"): "PutCustomer",
    ("PUT", "/customer/metadata"): "PutCustomerMetadata",
    ("PUT", "/customer/billing_account_id"): "PutCustomerBillingAccountId",
}


def _operation_for(method: str, path: str) -> str:
    if (method, path) in _CUSTOMER_OPERATIONS:
        return _CUSTOMER_OPERATIONS[(method, path)]
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
