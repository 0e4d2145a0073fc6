"""Fault rules: make chosen calls fail (in production's envelope, or on the wire) or
slow down.

A rule targets one operationId, or ``"*"`` for all. It fires on the next ``times``
matching calls (every call when ``times`` is None), after skipping the first
``after`` of them, each time with ``probability`` drawn from the seed's fault
stream. Its outcome is an error ``status`` (a ``delay_ms`` before it, or a delay
alone), or a ``kind``: one of ``NETWORK_KINDS``, what a client's retry code meets
below the API (a reset, an empty answer, a body cut short, a load balancer's page).

``when`` says whether the request took effect: ``"before"`` answers in place of the
handler (nothing happened), ``"after"`` lets the handler run and then spoils its
answer (a create whose answer is lost has still made its key). A ``kind`` defaults
to ``"after"``; a ``status`` or a delay alone to ``"before"``, as they always have.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from . import errors

#: What an injected status is rendered as.
FAULT_KINDS: dict[int, errors.ErrorKind] = {
    400: errors.INVALID_DATA,
    401: errors.INVALID_CREDENTIALS,
    403: errors.PERMISSION_DENIED,
    404: errors.RESOURCE_NOT_FOUND,
    409: errors.STATE_INVALID,
    429: errors.RATE_LIMIT_EXCEEDED,
    500: errors.INTERNAL,
    503: errors.UNAVAILABLE,
}
MAX_DELAY_MS = 60_000
#: The longest ``Retry-After`` a 429 fault sends, in seconds: a day (a client told to
#: wait longer would be a test that never ends).
MAX_RETRY_AFTER = 86_400

#: What the client sees for each kind (web/faults.py delivers them).
NETWORK_KINDS: dict[str, str] = {
    "connection_reset": "the socket closes with RST, before any byte of the answer",
    "empty_response": "the socket closes (FIN) after the request is read, no bytes sent",
    "truncated_body": "the status and headers, with the full Content-Length, then half the "
    "body, then a clean close (FIN)",
    "malformed_json": "a 200 whose body is not JSON",
    "proxy_502": "a load balancer's 502 page: short HTML, no envelope, no X-Request-Id",
    "proxy_504": "a load balancer's 504 page: short HTML, no envelope, no X-Request-Id",
    "slow_headers": "delay_ms passes before the status line",
    "slow_body": "the answer's body trickles out over delay_ms",
}
#: The kinds whose delay_ms is the fault itself, not a wait before it.
SLOW_KINDS = frozenset({"slow_headers", "slow_body"})
#: The kinds that spoil the handler's own answer, so they can only come after it.
AFTER_ONLY_KINDS = frozenset({"truncated_body", "slow_body"})
WHEN = ("before", "after")


class FaultError(ValueError):
    """A fault rule that cannot be taken, with the reason."""


@dataclass
class FaultRule:
    operation: str
    status: int | None = None
    times: int | None = 1
    after: int = 0
    probability: float = 1.0
    delay_ms: int = 0
    retry_after: int = 1
    limited_by: str = "ip"
    kind: str | None = None
    when: str = "before"
    id: int = 0
    seen: int = field(default=0)
    fired: int = field(default=0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times


def make_rule(known_operations: set[str], **fields: Any) -> FaultRule:
    """A checked rule from loose fields (the control API's JSON or the Python face)."""
    allowed = {
        "operation",
        "status",
        "times",
        "after",
        "probability",
        "delay_ms",
        "retry_after",
        "limited_by",
        "kind",
        "when",
    }
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise FaultError(f"unknown fault field(s): {', '.join(unknown)}")
    op = fields.get("operation")
    if not isinstance(op, str) or (op != "*" and op not in known_operations):
        raise FaultError(
            f'operation must be an operationId ({", ".join(sorted(known_operations))}) or "*"'
        )
    status = fields.get("status")
    delay = fields.get("delay_ms", 0)
    kind = fields.get("kind")
    if kind is not None and kind not in NETWORK_KINDS:
        raise FaultError(f"kind must be one of {', '.join(NETWORK_KINDS)}")
    if kind is not None and status is not None:
        raise FaultError("a fault is a status or a kind, not both")
    if status is None and kind is None and not delay:
        raise FaultError("a fault needs a status, a kind, a delay_ms, or a status and a delay_ms")
    if status is not None and (not _is_int(status) or status not in FAULT_KINDS):
        raise FaultError(f"status must be one of {sorted(FAULT_KINDS)}")
    if not _is_int(delay) or not 0 <= delay <= MAX_DELAY_MS:
        raise FaultError(f"delay_ms must be an integer from 0 to {MAX_DELAY_MS}")
    if kind in SLOW_KINDS and not delay:
        raise FaultError(f"{kind} needs a delay_ms (how slow), from 1 to {MAX_DELAY_MS}")
    when = fields.get("when")
    if when is None:
        when = "after" if kind is not None else "before"
    if when not in WHEN:
        raise FaultError('when must be "before" (nothing happened) or "after" (the handler ran)')
    if kind in AFTER_ONLY_KINDS and when == "before":
        raise FaultError(f'{kind} spoils the handler\'s answer, so its when is "after"')
    times = fields.get("times", 1)
    if times is not None and (not _is_int(times) or times < 1):
        raise FaultError("times must be a positive integer, or null for every call")
    after = fields.get("after", 0)
    if not _is_int(after) or after < 0:
        raise FaultError("after must be a non-negative integer")
    p = fields.get("probability", 1.0)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise FaultError("probability must be a number from 0 to 1")
    retry_after = fields.get("retry_after", 1)
    if not _is_int(retry_after) or not 0 <= retry_after <= MAX_RETRY_AFTER:
        raise FaultError(f"retry_after must be an integer from 0 to {MAX_RETRY_AFTER} (seconds)")
    limited_by = fields.get("limited_by", "ip")
    if limited_by not in ("ip", "customer"):
        raise FaultError('limited_by must be "ip" or "customer"')
    return FaultRule(op, status, times, after, float(p), delay, retry_after, limited_by, kind, when)


#: The parameters ``X-Fake-Fault`` takes after its status or kind.
HEADER_PARAMETERS = ("when", "delay_ms", "retry_after", "limited_by")


def rule_from_header(value: str, operation: str) -> FaultRule:
    """The one-request rule an ``X-Fake-Fault`` header asks for: a status or a kind,
    then ``; name=value`` parameters (``503``, ``connection_reset; when=before``,
    ``slow_body; delay_ms=800``). FaultError says what is wrong with it."""
    head, *params = [part.strip() for part in value.split(";")]
    fields: dict[str, Any] = {"operation": operation, "times": 1}
    if head.isdigit():
        fields["status"] = int(head)
    elif head:
        fields["kind"] = head
    else:
        raise FaultError("X-Fake-Fault names a status (503) or a kind (connection_reset)")
    for param in params:
        name, eq, text = (p.strip() for p in param.partition("="))
        if not eq or name not in HEADER_PARAMETERS:
            raise FaultError(
                f"X-Fake-Fault takes the parameters {', '.join(HEADER_PARAMETERS)} "
                f'as name=value, not "{param}"'
            )
        fields[name] = int(text) if text.isdigit() else text
    try:
        rule = make_rule({operation}, **fields)
    except FaultError as exc:
        raise FaultError(f"X-Fake-Fault: {exc}") from None
    rule.fired = 1
    return rule


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultBook:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self.rng = rng or random.Random(0)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self, rng: random.Random | None = None) -> None:
        with self._lock:
            self._rules.clear()
            self._next_id = 1
            if rng is not None:
                self.rng = rng

    def decide(self, operation_id: str) -> FaultRule | None:
        """The rule that fires for this call, if any; counts the call for every rule."""
        if not self._rules:
            return None
        with self._lock:
            chosen = None
            for rule in self._rules:
                if rule.spent or rule.operation not in ("*", operation_id):
                    continue
                rule.seen += 1
                if chosen is not None or rule.seen <= rule.after:
                    continue
                if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                chosen = rule
            return chosen
