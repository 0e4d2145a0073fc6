"""Fixture data (customers, login users, keys) as plain objects, and how it enters a store.

Parsing YAML lives in ``fakevoipbin.fixtures``; this module only applies data.
Times are relative to the clock's start, so fixtures never go stale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import agents
from .clock import MIN_US, US, Clock, format_fixed
from .formats import token_prefix
from .seeds import Seeds
from .store import AccessKey, Customer, Store, User, token_hash

PERMISSIONS = {
    "project_super_admin": 0x01,
    "customer_agent": 0x10,
    "customer_admin": 0x20,
    "customer_manager": 0x40,
}


class FixtureError(ValueError):
    """A fixture file (or fixture data) that cannot be loaded, with the reason in one
    line that names the file and the place, never the file's content."""


@dataclass(frozen=True)
class FixtureKey:
    name: str = ""
    detail: str = ""
    id: str | None = None
    token: str | None = None
    expire: int = 31_536_000
    created_ago: float = 0  # seconds, to the microsecond
    deleted_ago: float | None = None


@dataclass(frozen=True)
class FixtureUser:
    """A login user (an agent) as the fixture file gives it. ``password`` is public
    test data (the start banner prints it); the store gets only ``password_hash``,
    made once when the file is parsed (``agents.hash_password``)."""

    username: str
    password: str
    permission: int
    name: str = ""
    id: str | None = None
    detail: str = ""
    ring_method: str = agents.DEFAULT_RING_METHOD
    status: str = agents.DEFAULT_STATUS
    tag_ids: tuple[str, ...] = ()
    addresses: tuple[tuple[tuple[str, str], ...], ...] = ()
    password_hash: str = ""

    def stored_hash(self) -> str:
        return self.password_hash or agents.hash_password(self.password, self.username)


@dataclass(frozen=True)
class FixtureCustomer:
    """A customer as a fixture file gives it: its id (None: one is drawn from the
    seed), the customer fields it sets (``store.CUSTOMER_FIELDS`` marked ``fixture``,
    by attribute name; ``frozen`` and ``status`` always, agreeing), its keys and its
    login users."""

    id: str | None = None
    #: (attribute, value) pairs, for ``store.Customer``.
    fields: tuple[tuple[str, Any], ...] = ()
    keys: tuple[FixtureKey, ...] = ()
    users: tuple[FixtureUser, ...] = ()
    #: Seconds before the clock's start the customer was made (None: as old as its
    #: oldest key, or the start itself).
    created_ago: float | None = None

    @property
    def frozen(self) -> bool:
        return bool(dict(self.fields).get("frozen", False))


@dataclass(frozen=True)
class FixtureSet:
    customers: tuple[FixtureCustomer, ...] = ()
    source: str = "<empty>"


@dataclass
class LoadedKey:
    """A fixture key as loaded: the raw token is public test data."""

    customer_id: str
    key_id: str
    name: str
    token: str
    expired: bool
    deleted: bool


@dataclass
class Loaded:
    keys: list[LoadedKey] = field(default_factory=list)
    users: list[FixtureUser] = field(default_factory=list)

    def admin_key(self, customer_id: str | None = None) -> LoadedKey | None:
        """The first usable key (of a customer, or of the first customer)."""
        for k in self.keys:
            if (customer_id is None or k.customer_id == customer_id) and not (
                k.expired or k.deleted
            ):
                return k
        return None


def _agos(fixtures: FixtureSet) -> list[tuple[str, float]]:
    """Every ``*_ago`` a fixture set gives, with its place (``customers/0/keys/1/...``)."""
    out = []
    for i, fc in enumerate(fixtures.customers):
        if fc.created_ago is not None:
            out.append((f"customers/{i}/created_ago", fc.created_ago))
        for j, fk in enumerate(fc.keys):
            out.append((f"customers/{i}/keys/{j}/created_ago", fk.created_ago))
            if fk.deleted_ago is not None:
                out.append((f"customers/{i}/keys/{j}/deleted_ago", fk.deleted_ago))
    return out


def check_times(fixtures: FixtureSet, start: int) -> None:
    """Every time the fixtures give, counted back from ``start``, is one the clock holds
    (not before 1970-01-01T00:00:00Z); else a FixtureError naming the file and the
    place. (``expire`` is bounded by the file's schema, so no time runs past what
    prints.) Called before anything changes, so a refused set leaves the state as it
    was."""
    for where, ago in _agos(fixtures):
        if not math.isfinite(ago):
            raise FixtureError(f"{fixtures.source}: at {where}: must be a finite number of seconds")
        if start - ago * US < MIN_US:
            most = (start - MIN_US) // US
            raise FixtureError(
                f"{fixtures.source}: at {where}: {ago} seconds before the clock's start "
                f"({format_fixed(start)}) is before 1970-01-01T00:00:00Z, the earliest "
                f"instant the clock holds; at most {most} from this start"
            )


def apply(fixtures: FixtureSet, store: Store, clock: Clock, seeds: Seeds) -> Loaded:
    """Fill an empty store; ids and tokens not given are drawn from the seed. The
    fixtures' times are checked first (``check_times``)."""
    start = clock.now_us()
    check_times(fixtures, start)
    loaded = Loaded()
    latest = start
    for fc in fixtures.customers:
        cid = fc.id or seeds.uuid4("customers")
        ago = fc.created_ago
        if ago is None:
            ago = max((fk.created_ago for fk in fc.keys), default=0)
        customer = store.add_customer(
            Customer(
                id=cid,
                tm_deletion_scheduled=start if fc.frozen else None,
                tm_create=start - round(ago * US),
                **dict(fc.fields),
            )
        )
        for fu in fc.users:
            uid = fu.id or seeds.uuid4("customers")
            direct_id, direct_hash = agents.direct_for(seeds.seed, uid)
            store.add_user(
                User(
                    id=uid,
                    customer_id=cid,
                    username=fu.username,
                    password_hash=fu.stored_hash(),
                    permission=fu.permission,
                    name=fu.name,
                    detail=fu.detail,
                    ring_method=fu.ring_method,
                    status=fu.status,
                    tag_ids=fu.tag_ids,
                    addresses=fu.addresses,
                    direct_id=direct_id,
                    direct_hash=direct_hash,
                    tm_create=start,
                )
            )
            loaded.users.append(fu)
        for fk in fc.keys:
            raw = fk.token or seeds.token()
            kid = fk.id or seeds.uuid4("key-ids")
            t = store.unique_tm_create(customer, start - round(fk.created_ago * US))
            deleted = None if fk.deleted_ago is None else start - round(fk.deleted_ago * US)
            key = AccessKey(
                id=kid,
                customer_id=cid,
                name=fk.name,
                detail=fk.detail,
                token_hash=token_hash(raw),
                token_prefix=token_prefix(raw),
                tm_create=t,
                tm_expire=t + fk.expire * US,
                tm_update=deleted,
                tm_delete=deleted,
            )
            key = store.insert_key(key)
            latest = max(latest, key.tm_create)
            loaded.keys.append(
                LoadedKey(
                    cid,
                    kid,
                    fk.name,
                    raw,
                    key.tm_expire is not None and key.tm_expire < start,
                    deleted is not None,
                )
            )
    clock.observe(latest)
    return loaded
