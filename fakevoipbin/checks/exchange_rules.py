"""The rules one exchange can show, in one place: ``judge`` looks at one request and
the answer to it, and names every rule the answer broke. ``fakevoipbin proxy`` judges
each upstream answer with it (its drift), and ``verify``'s state machine
(``contract/machine.py``) judges each answer of its run with it.

The rules: openapi.yaml (``responses-conform``), the error envelope
(``error-envelope``), a token in a create's answer and in no other
(``token-only-on-create``), the token's and token_prefix's format (``token-format``),
the expiry arithmetic of a create, with live's int32 wrap (``expire-arithmetic``), the
profile's ``next_page_token`` (``next-page-token``) and no webhook secret outside
``GET /customer`` (``webhook-secret-only-on-get``). Each breach carries its evidence:
the part of the answer that broke the rule, with every token shrunk to its prefix and
no webhook secret. What one answer cannot show (a key listed twice across pages, a
deleted key's token, a PUT that did not overwrite) is the machine's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..core.clock import US, format_fixed, parse_instant
from ..core.formats import TOKEN_PREFIX_RE, TOKEN_RE, token_prefix
from ..core.profiles import Profile
from ..core.redact import redact_text
from ..core.rules import clamp_page_size, wrapped_expire
from ..spec import Operation, Spec

#: How far ``tm_expire - tm_create`` may be from ``expire`` on a server that is not a
#: fake (its clock ticks between the two stamps).
EXPIRE_SLACK_US = US
#: The most characters of evidence a breach keeps.
EVIDENCE_LIMIT = 200
#: Operations whose answer may carry a token: a new key's, and login's JWT.
_TOKEN_ANSWERS = frozenset({"PostAccesskeys", "PostAuthLogin"})
_KEY_ANSWERS = frozenset(
    {"PostAccesskeys", "GetAccesskeysId", "PutAccesskeysId", "DeleteAccesskeysId"}
)


def instant_us(text: Any) -> int | None:
    """A timestamp of the API in microseconds, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return parse_instant(text)
    except ValueError:
        return None


def has_key(value: Any, name: str, depth: int = 0) -> bool:
    """Whether an object in ``value`` (at any depth, up to 32) has the key ``name``."""
    if depth > 32:
        return False
    if isinstance(value, dict):
        return name in value or any(has_key(v, name, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(has_key(v, name, depth + 1) for v in value)
    return False


def evidence(text: str, limit: int = EVIDENCE_LIMIT) -> str:
    """Evidence as a report may show it: tokens shrunk to their prefix, JWTs gone, cut."""
    text = redact_text(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def token_problem(sent: str | None, nxt: Any, page: list[dict[str, Any]]) -> str | None:
    """Why following ``nxt`` (the next_page_token of ``page``, asked for with
    ``sent``) would not move strictly back in time; None when it would."""
    n = instant_us(nxt)
    if n is None:
        return f"next_page_token {nxt!r} is not a timestamp, so paging cannot go on"
    last = page[-1].get("tm_create") if page else None
    last_us = instant_us(last)
    if last_us is not None and n > last_us:
        return (
            f"next_page_token {nxt} is later than the page's last tm_create {last}: "
            "it does not move back in time"
        )
    sent_us = instant_us(sent)
    if sent_us is not None and n >= sent_us:
        return (
            f"next_page_token {nxt} does not move back in time from the page_token "
            f"{sent} that asked for the page"
        )
    return None


def page_token_problem(
    profile: Profile, page: list[dict[str, Any]], nxt: Any, page_size: int | None
) -> str | None:
    """Why a page's ``next_page_token`` is not the profile's (None when it is): docs
    null once there is no next page, else the page's last tm_create; live the last
    tm_create on every non-empty page, and "" on an empty one."""
    if not page:
        want_end: Any = None if profile.null_token_at_end else ""
        if nxt == want_end:
            return None
        return f"an empty page answered next_page_token {nxt!r}, not {want_end!r}"
    last = instant_us(page[-1].get("tm_create"))
    cursor = format_fixed(last) if last is not None else None
    if profile.null_token_at_end:
        size = clamp_page_size(page_size)
        if (nxt is None or nxt == cursor) and (nxt is not None or len(page) <= size):
            return None
        why = f"docs page of {len(page)} answered next_page_token {nxt!r}"
    elif nxt == cursor:
        return None
    else:
        why = f"live page answered next_page_token {nxt!r}, not the last tm_create {cursor!r}"
    # A token that is no timestamp, or later than the page, is said as such.
    return (token_problem(None, nxt, page) if nxt else None) or why


@dataclass(frozen=True)
class Breach:
    """One rule an answer broke: the rule's name, why, and the part of the answer
    that broke it (redacted)."""

    rule: str
    message: str
    evidence: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message, "evidence": self.evidence}


class Verdict(list[Breach]):
    """What ``judge`` found in one exchange: the rules it broke (the list itself, one
    ``Breach`` each), and ``checked``, every rule it judged, broken or not."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: list[str] = []

    def judged(self, rule: str) -> None:
        if rule not in self.checked:
            self.checked.append(rule)

    def add(self, breach: Breach) -> None:
        self.judged(breach.rule)
        self.append(breach)


def judge(
    spec: Spec,
    profile: Profile,
    op: Operation | None,
    status: int,
    body: Any,
    *,
    is_json: bool = True,
    request_body: Any = None,
    query: dict[str, list[str]] | None = None,
    exact: bool = False,
) -> Verdict:
    """Every rule one answer broke (and, in ``Verdict.checked``, every rule judged).
    ``op`` is the operation of openapi.yaml that was asked (None for a route the spec
    does not describe: only the error envelope is judged); ``body`` the answer's
    parsed JSON (None for none), ``is_json`` False when it had a body that is not JSON;
    ``request_body`` the client's parsed JSON body and ``query`` its query, which a
    create's expiry and a list's page size come from. ``exact``: the server is a fake,
    whose ``tm_expire - tm_create`` is ``expire`` to the microsecond."""
    found = Verdict()
    if not is_json:
        if status >= 400:
            found.add(Breach("error-envelope", f"a {status} whose body is not JSON", ""))
        elif op is not None:
            found.add(Breach("responses-conform", f"a {status} whose body is not JSON", ""))
        return found
    declares_body = op is None or op.responses.get(str(status)) is not None
    envelope_broken = False
    if status >= 400 and declares_body:
        found.judged("error-envelope")
        problems = spec.check_error(body)
        if problems:
            envelope_broken = True
            found.add(
                Breach(
                    "error-envelope",
                    f"a {status} that is not in the API's error envelope: "
                    + "; ".join(p.description for p in problems[:3]),
                    evidence(json.dumps(body, ensure_ascii=False) if body is not None else "")
                    or "no body",
                )
            )
    if op is None:
        return found
    _conform(spec, op, status, body, envelope_broken, found)
    _token_only_on_create(op.operation_id, status, body, found)
    _webhook_secret_only_on_get(op.operation_id, status, body, found)
    if status != 200 or not isinstance(body, dict):
        return found
    if op.operation_id == "PostAccesskeys":
        _created(profile, body, request_body, found, exact=exact)
    _token_prefixes(_keys_of(op.operation_id, body), found)
    if op.operation_id == "GetAccesskeys" and isinstance(body.get("result"), list):
        page = [k for k in body["result"] if isinstance(k, dict)]
        nxt = body.get("next_page_token")
        found.judged("next-page-token")
        problem = page_token_problem(profile, page, nxt, _page_size(query))
        if problem:
            found.add(
                Breach(
                    "next-page-token", problem, evidence(f'"next_page_token": {json.dumps(nxt)}')
                )
            )
    return found


def _conform(
    spec: Spec, op: Operation, status: int, body: Any, envelope_broken: bool, found: Verdict
) -> None:
    """responses-conform: the status is one openapi.yaml declares, the body its schema
    (past the envelope, which error-envelope has said)."""
    found.judged("responses-conform")
    problems = spec.check_response(op, status, body)
    if envelope_broken:
        problems = [p for p in problems if p.field == "status"]
    if problems:
        found.add(
            Breach(
                "responses-conform",
                f"{op.operation_id} -> {status}: " + "; ".join(p.description for p in problems[:3]),
                evidence("; ".join(f"{p.field}: {p.description}" for p in problems[:3])),
            )
        )


def _token_only_on_create(operation_id: str, status: int, body: Any, found: Verdict) -> None:
    """token-only-on-create: a token field in no answer but a create's (and login's JWT),
    and a create's 200 has one."""
    if operation_id == "PostAccesskeys":
        if status != 200 or not isinstance(body, dict):
            return
        found.judged("token-only-on-create")
        token = body.get("token")
        if not (isinstance(token, str) and token):
            found.add(
                Breach(
                    "token-only-on-create",
                    "a create answered no token",
                    evidence(f'"token": {json.dumps(token)[:40]}'),
                )
            )
        return
    if operation_id in _TOKEN_ANSWERS:
        return
    found.judged("token-only-on-create")
    if has_key(body, "token"):
        found.add(
            Breach(
                "token-only-on-create",
                "a token field, outside a create's answer",
                evidence(_field_text(body, "token")),
            )
        )


def _webhook_secret_only_on_get(operation_id: str, status: int, body: Any, found: Verdict) -> None:
    """webhook-secret-only-on-get: no webhook_secret field outside GET /customer, and
    GET /customer's, when there is one, a string."""
    if operation_id == "GetCustomer":
        if status != 200 or not isinstance(body, dict):
            return
        found.judged("webhook-secret-only-on-get")
        secret = body.get("webhook_secret")
        if secret is not None and not isinstance(secret, str):
            found.add(
                Breach(
                    "webhook-secret-only-on-get",
                    "GET /customer answered a webhook_secret that is not a string",
                    f"webhook_secret of type {type(secret).__name__}",
                )
            )
        return
    found.judged("webhook-secret-only-on-get")
    if has_key(body, "webhook_secret"):
        found.add(
            Breach(
                "webhook-secret-only-on-get",
                "a webhook_secret field, outside GET /customer",
                "webhook_secret: [REDACTED]",
            )
        )


def _token_prefixes(keys: list[dict[str, Any]], found: Verdict) -> None:
    """token-format: every key shown has a token_prefix of vb_ and 8 characters."""
    if not keys:
        return
    found.judged("token-format")
    bad_prefix = [
        k.get("token_prefix")
        for k in keys
        if not (
            isinstance(k.get("token_prefix"), str) and TOKEN_PREFIX_RE.fullmatch(k["token_prefix"])
        )
    ]
    if bad_prefix:
        found.add(
            Breach(
                "token-format",
                "a token_prefix that is not vb_ and 8 URL-safe characters",
                evidence(f'"token_prefix": {json.dumps(bad_prefix[0])}'),
            )
        )


def _keys_of(operation_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    if operation_id in _KEY_ANSWERS:
        return [body]
    if operation_id == "GetAccesskeys" and isinstance(body.get("result"), list):
        return [k for k in body["result"] if isinstance(k, dict)]
    return []


def _created(
    profile: Profile,
    body: dict[str, Any],
    request_body: Any,
    found: Verdict | None = None,
    *,
    exact: bool = False,
) -> Verdict:
    """A create's own rules: its token, token_prefix == token_prefix(token) (token-format), and
    tm_expire - tm_create == expire as the profile reads it, live's int32 wrap
    included (expire-arithmetic: within a second, or exactly when ``exact``)."""
    found = Verdict() if found is None else found
    found.judged("token-format")
    token = body.get("token")
    prefix = body.get("token_prefix")
    if not (isinstance(token, str) and TOKEN_RE.fullmatch(token) and prefix == token_prefix(token)):
        shown = f"{token_prefix(token)}…" if isinstance(token, str) else json.dumps(token)
        found.add(
            Breach(
                "token-format",
                "a create answered a token that is not vb_ and 32 URL-safe characters, or a "
                "token_prefix that is not its first 11",
                evidence(f'"token": "{shown}", "token_prefix": {json.dumps(prefix)}'),
            )
        )
    asked = _expire_asked(request_body)
    created, expires = instant_us(body.get("tm_create")), instant_us(body.get("tm_expire"))
    times = (
        f'"tm_create": {json.dumps(body.get("tm_create"))}, '
        f'"tm_expire": {json.dumps(body.get("tm_expire"))}'
    )
    if created is None or expires is None:
        found.add(Breach("expire-arithmetic", "tm_create or tm_expire is not a timestamp", times))
    elif asked is not None:
        found.judged("expire-arithmetic")
        want = wrapped_expire(profile, asked)
        span = expires - created
        if abs(span - want * US) > (0 if exact else EXPIRE_SLACK_US):
            found.add(
                Breach(
                    "expire-arithmetic",
                    f"expire {asked}: tm_expire - tm_create = {seconds(span)} s, not {want}",
                    evidence(f'"expire": {asked}, {times}'),
                )
            )
    return found


def seconds(us: int) -> str:
    """Microseconds as seconds, in full: ``86401``, ``86400.5``, never ``8.64e+04``."""
    whole, part = divmod(abs(us), US)
    sign = "-" if us < 0 else ""
    return f"{sign}{whole}" + (f".{part:06d}".rstrip("0") if part else "")


def _expire_asked(request_body: Any) -> int | None:
    """The ``expire`` a create asked for (its field matched case-insensitively, as
    production binds it), when it is an integer."""
    if not isinstance(request_body, dict):
        return None
    for name, value in request_body.items():
        if isinstance(name, str) and name.lower() == "expire":
            if type(value) is int:
                return value
            return None
    return None


def _page_size(query: dict[str, list[str]] | None) -> int | None:
    values = (query or {}).get("page_size") or []
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


def _field_text(body: Any, name: str, depth: int = 0) -> str:
    """``"name": value`` of the first ``name`` field in ``body`` (to be redacted)."""
    if depth > 32:
        return ""
    if isinstance(body, dict):
        if name in body:
            value = body[name]
            shown = f"{token_prefix(value)}…" if isinstance(value, str) else json.dumps(value)
            return f'"{name}": "{shown}"' if isinstance(value, str) else f'"{name}": {shown}'
        items: list[Any] = list(body.values())
    elif isinstance(body, list):
        items = body
    else:
        return ""
    for item in items:
        text = _field_text(item, name, depth + 1)
        if text:
            return text
    return ""
