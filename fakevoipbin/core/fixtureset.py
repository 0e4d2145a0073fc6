"""Fixture data (customers, login users, keys) as plain objects, and how it enters a store.

Parsing YAML lives in ``fakevoipbin.fixtures``; this module only applies data.
Times are relative to the clock's start, so fixtures never go stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import agents
from .clock import US, Clock
from .seeds import Seeds
from .store import NIL_UUID, AccessKey, Customer, Store, User, token_hash

PERMISSIONS = {
    "project_super_admin": 0x01,
    "customer_agent": 0x10,
    "customer_admin": 0x20,
    "customer_manager": 0x40,
}


@dataclass(frozen=True)
class FixtureKey:
    name: str = ""
    detail: str = ""
    id: str | None = None
    token: str | None = None
    expire: int = 31_536_000
    created_ago: int = 0
    deleted_ago: int | None = None


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
    id: str | None = None
    name: str = ""
    frozen: bool = False
    keys: tuple[FixtureKey, ...] = ()
    users: tuple[FixtureUser, ...] = ()
    detail: str = ""
    email: str = ""
    phone_number: str = ""
    address: str = ""
    webhook_method: str = ""
    webhook_uri: str = ""
    billing_account_id: str = NIL_UUID
    rtp_debug: bool = False
    email_verified: bool = False
    #: None: ``frozen`` when frozen, else ``active``.
    status: str | None = None
    identity_verification_status: str = "none"
    #: Seconds before the clock's start the customer was made (None: as old as its
    #: oldest key, or the start itself).
    created_ago: int | None = None


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


def apply(fixtures: FixtureSet, store: Store, clock: Clock, seeds: Seeds) -> Loaded:
    """Fill an empty store; ids and tokens not given are drawn from the seed."""
    start = clock.now_us()
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
                name=fc.name,
                frozen=fc.frozen,
                tm_deletion_scheduled=start if fc.frozen else None,
                detail=fc.detail,
                email=fc.email,
                phone_number=fc.phone_number,
                address=fc.address,
                webhook_method=fc.webhook_method,
                webhook_uri=fc.webhook_uri,
                billing_account_id=fc.billing_account_id,
                rtp_debug=fc.rtp_debug,
                email_verified=fc.email_verified,
                status=fc.status or ("frozen" if fc.frozen else "active"),
                identity_verification_status=fc.identity_verification_status,
                tm_create=start - ago * US,
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
            t = store.unique_tm_create(customer, start - fk.created_ago * US)
            deleted = None if fk.deleted_ago is None else start - fk.deleted_ago * US
            key = AccessKey(
                id=kid,
                customer_id=cid,
                name=fk.name,
                detail=fk.detail,
                token_hash=token_hash(raw),
                token_prefix=raw[:11],
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
