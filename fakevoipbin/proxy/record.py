"""``fakevoipbin proxy --record FILE``: what a proxy session saw of customers and access
keys, written on stop as a fixtures file that ``fakevoipbin serve --fixtures FILE`` loads.

Only what the file needs is copied out of an answer (never a token, a webhook secret or
any other field), so a recording holds no secret. Each key gets a fresh token drawn from
the seed: the upstream's tokens are never written down.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..checks.exchange_rules import instant_us
from ..core.clock import US, format_fixed, parse_instant
from ..core.customer_fields import ABSENT, CustomerField, put_at, value_at
from ..core.formats import UUID_RE
from ..core.seeds import Seeds
from ..core.store import CUSTOMER_FIELDS

#: The operations whose 2xx answer is one access-key object.
KEY_OPERATIONS = frozenset(
    ("PostAccesskeys", "GetAccesskeysId", "PutAccesskeysId", "DeleteAccesskeysId")
)
#: The operation whose 2xx answer lists keys under ``result``.
LIST_OPERATION = "GetAccesskeys"
#: The operations whose 2xx answer is one customer object.
CUSTOMER_OPERATIONS = frozenset(
    ("GetCustomer", "PutCustomer", "PutCustomerMetadata", "PutCustomerBillingAccountId")
)
#: The docs profile's tm_delete of a live key; the live profile sends null.
DELETE_SENTINEL_US = parse_instant("9999-01-01T00:00:00.000000Z")
#: The fixture schema's maxLength of a key's name.
KEY_NAME_MAX = 255
#: The customer fields a recording copies out of an answer: those the answer shows and
#: a fixture file takes (``store.Customer`` marks them), but the id, which names the
#: customer.
RECORDED_FIELDS = tuple(f for f in CUSTOMER_FIELDS if f.view and f.fixture and f.kind != "id")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


@dataclass(frozen=True)
class _Key:
    """The fields of a key answer the file writes (no token: the answer's is dropped)."""

    id: str
    customer_id: str
    name: str
    detail: str
    tm_create: int
    tm_expire: int
    tm_delete: int | None


def _uuid(value: Any) -> str | None:
    return value if isinstance(value, str) and UUID_RE.fullmatch(value) else None


def _text(value: Any) -> str:
    """A string field's value, or "" for a missing, non-string or unwritable one."""
    if not isinstance(value, str):
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON's \ud800
        return ""
    return value


def _key(body: Any) -> _Key | None:
    """The key in an answer, or None for a body of another shape or unreadable times."""
    if not isinstance(body, dict):
        return None
    kid, cid = _uuid(body.get("id")), _uuid(body.get("customer_id"))
    created, expires = instant_us(body.get("tm_create")), instant_us(body.get("tm_expire"))
    if kid is None or cid is None or created is None or expires is None:
        return None
    deleted = instant_us(body.get("tm_delete"))
    if deleted is not None and deleted >= DELETE_SENTINEL_US:
        deleted = None
    return _Key(
        id=kid,
        customer_id=cid,
        name=_text(body.get("name"))[:KEY_NAME_MAX],
        detail=_text(body.get("detail")),
        tm_create=created,
        tm_expire=expires,
        tm_delete=deleted,
    )


def _customer(body: Any) -> tuple[str, dict[str, Any], int | None] | None:
    """(id, the fixture fields, tm_create) of a customer answer; None for another shape.
    Only ``RECORDED_FIELDS`` are copied, at their places in a fixture file: never
    ``webhook_secret``."""
    if not isinstance(body, dict):
        return None
    cid = _uuid(body.get("id"))
    if cid is None:
        return None
    fields: dict[str, Any] = {}
    for f in RECORDED_FIELDS:
        value = _recorded(f, value_at(body, f.path))
        if value is not ABSENT:
            put_at(fields, f.path, value)
    return cid, fields, instant_us(body.get("tm_create"))


def _recorded(field: CustomerField, value: Any) -> Any:
    """What a fixture file gets for a field an answer shows, or ``ABSENT``: text when it
    is set (not ""), a UUID when set (not the nil UUID), a flag or a choice whenever
    it is one; anything of the wrong type or unknown is dropped."""
    if field.kind == "text":
        return _text(value) or ABSENT
    if field.kind == "uuid":
        uuid = _uuid(value)
        return uuid if uuid is not None and uuid != field.default else ABSENT
    if field.kind == "flag":
        return value if isinstance(value, bool) else ABSENT
    if field.kind == "choice":
        return value if isinstance(value, str) and value in field.choices else ABSENT
    return ABSENT


def _seconds_ago(ended_us: int, then_us: int) -> int | float:
    """Seconds from ``then`` to the end, to the microsecond: a whole number as an
    integer, else a float whose shortest text (at most six decimals, as YAML writes
    it) reads back to the same microsecond."""
    us = max(0, ended_us - then_us)
    return us // US if us % US == 0 else us / US


def _one_line(text: str) -> str:
    return _UNPRINTABLE.sub("?", text)


class Recording:
    """What a proxy session saw of customers and access keys, to be written as fixtures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: id -> (time seen, key)
        self._keys: dict[str, tuple[int, _Key]] = {}
        #: id -> (time seen, fixture fields, tm_create)
        self._customers: dict[str, tuple[int, dict[str, Any], int | None]] = {}

    def observe(self, operation_id: str | None, status: int, body: Any, time_us: int) -> None:
        """One upstream answer: its openapi.yaml operationId (None when unknown), its
        status, its parsed JSON body (None when it had none or was not JSON) and when the
        proxy saw it (µs since the epoch). Only 2xx answers of these operations count:
        PostAccesskeys, GetAccesskeysId, PutAccesskeysId, DeleteAccesskeysId (a key object
        each), GetAccesskeys (`result`: a list of keys), GetCustomer, PutCustomer,
        PutCustomerMetadata, PutCustomerBillingAccountId (a customer object). Anything
        else, or a body of the wrong shape, is ignored without error. The latest answer
        about an id wins (by ``time_us``; at equal times, the later call). Thread-safe (a
        lock). It never keeps a `token` value, a `webhook_secret`, or any other secret:
        only the fields it writes are copied."""
        if not isinstance(status, int) or not 200 <= status < 300:
            return
        if isinstance(time_us, bool) or not isinstance(time_us, int):
            return
        if operation_id in KEY_OPERATIONS:
            found = [_key(body)]
        elif operation_id == LIST_OPERATION:
            result = body.get("result") if isinstance(body, dict) else None
            found = [_key(item) for item in result] if isinstance(result, list) else []
        elif operation_id in CUSTOMER_OPERATIONS:
            customer = _customer(body)
            if customer is not None:
                cid, fields, created = customer
                with self._lock:
                    seen = self._customers.get(cid)
                    if seen is None or seen[0] <= time_us:
                        self._customers[cid] = (time_us, fields, created)
            return
        else:
            return
        with self._lock:
            for key in found:
                if key is None:
                    continue
                seen_key = self._keys.get(key.id)
                if seen_key is None or seen_key[0] <= time_us:
                    self._keys[key.id] = (time_us, key)

    def _snapshot(
        self,
    ) -> tuple[dict[str, tuple[dict[str, Any], int | None]], list[_Key]]:
        """(customer id -> (fields, tm_create), keys), every key's customer included."""
        with self._lock:
            customers = {cid: (f, t) for cid, (_, f, t) in self._customers.items()}
            keys = [k for _, k in self._keys.values()]
        for k in keys:
            customers.setdefault(k.customer_id, ({}, None))
        return customers, keys

    @property
    def counts(self) -> tuple[int, int]:
        """(customers, keys) recorded, for a one-line summary."""
        customers, keys = self._snapshot()
        return len(customers), len(keys)

    def fixtures_text(self, seed: int, ended_us: int, source: str) -> str:
        """The fixture YAML. `ended_us`: the end of the recording, which becomes the fixtures'
        clock start (times are relative to it: created_ago, deleted_ago, expire). `source`: what
        to name in the header comment (the upstream URL, already safe to print)."""
        customers, keys = self._snapshot()
        by_customer: dict[str, list[dict[str, Any]]] = {cid: [] for cid in customers}
        for k in keys:
            entry: dict[str, Any] = {"id": k.id, "name": k.name}
            if k.detail:
                entry["detail"] = k.detail
            entry["expire"] = max(1, round((k.tm_expire - k.tm_create) / US))
            entry["created_ago"] = _seconds_ago(ended_us, k.tm_create)
            if k.tm_delete is not None:
                entry["deleted_ago"] = _seconds_ago(ended_us, k.tm_delete)
            by_customer[k.customer_id].append(entry)
        # Fresh tokens in one fixed order: customers by id, each one's keys oldest first
        # (created_ago descending), then by id.
        seeds = Seeds(seed)
        out: list[dict[str, Any]] = []
        for cid in sorted(customers):
            fields, created = customers[cid]
            c: dict[str, Any] = {"id": cid, "name": fields.get("name", "")}
            c.update((f, v) for f, v in fields.items() if f != "name")
            if created is not None:
                c["created_ago"] = _seconds_ago(ended_us, created)
            entries = sorted(by_customer[cid], key=lambda e: (-e["created_ago"], e["id"]))
            for e in entries:
                e["token"] = seeds.token("record-tokens")
            if entries:
                c["keys"] = [_ordered(e) for e in entries]
            out.append(c)
        ended = format_fixed(ended_us)
        header = [
            f"# Recorded by fakevoipbin proxy from {_one_line(source)}",
            f"# (seed {seed}); load it with: fakevoipbin serve --fixtures FILE --now {ended}",
            "#",
            f"# Times are relative to the end of the recording, {ended}: created_ago and",
            "# deleted_ago are seconds before it (to the microsecond), expire is a key's",
            "# lifetime in seconds. With --now at that instant the customers and keys show",
            "# the times the upstream gave them.",
            "#",
            "# The tokens below are not the upstream's: each key has a fresh token made"
            f" from seed {seed}.",
            "# The real tokens were never written down, nor any webhook secret.",
            "#",
            "# A customer seen only through its keys has just its id and an empty name",
            '# (name: ""; the fixture format does not require one).',
        ]
        body = yaml.safe_dump(
            {"version": 1, "customers": out},
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=1_000_000,
        )
        return "\n".join(header) + "\n" + body

    def write(self, path: Path, seed: int, ended_us: int, source: str) -> None:
        """fixtures_text to `path` (parent folders made), atomically (temp file + os.replace)."""
        text = self.fixtures_text(seed, ended_us, source)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


_KEY_ORDER = ("id", "name", "detail", "token", "expire", "created_ago", "deleted_ago")


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    """A key's fields in the file's order (the token after name and detail)."""
    return {f: entry[f] for f in _KEY_ORDER if f in entry}
