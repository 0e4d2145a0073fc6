"""Customers, login users and access keys in memory, with their indexes.

- ``keys``: id → key (deleted keys stay, soft-deleted), so get is O(1);
- ``by_hash``: SHA-256 of a live key's token → key, so auth is O(1);
- per customer, the live keys sorted by ``tm_create``, so a list page is
  O(log n + page size).

Only the SHA-256 of a token is kept, as production does.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from sortedcontainers import SortedList

from .customer_fields import (
    IDENTITY_VERIFICATION_STATUSES,
    STATUSES,
    CustomerField,
    choice,
    declared,
    flag,
    ident,
    stamp,
    text,
    uuid,
)
from .formats import NIL_UUID

_VERSIONS = itertools.count(1)


def next_version() -> int:
    """A version no record or customer in this process has had."""
    return next(_VERSIONS)


#: Permission bits of a login user (bin-agent-manager's agent model).
PERMISSION_PROJECT_SUPER_ADMIN = 0x01
PERMISSION_CUSTOMER_ADMIN = 0x20
PERMISSION_CUSTOMER_MANAGER = 0x40


def token_hash(raw_token: str) -> str:
    """Lowercase hex SHA-256 of the whole token, ``vb_`` included."""
    return hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()


class AccessKey(NamedTuple):
    """One access key as stored: an immutable record. A change (PUT, DELETE) stores a
    new record with a new ``version``, so whoever read a record holds a consistent
    snapshot of the key, and ``(id, version)`` names one state of it for good."""

    id: str
    customer_id: str
    name: str
    detail: str
    token_hash: str
    token_prefix: str
    tm_create: int
    tm_expire: int | None
    tm_update: int | None = None
    tm_delete: int | None = None
    #: Unique in the process (a reset never brings an old version back).
    version: int = 0


@dataclass(slots=True)
class Customer:
    """A customer: its fields, declared here once in production's key order
    (``core/customer_fields.py`` says what the markers mean, and what derives from
    them), then the indexes of its keys. Its ``webhook_secret`` is not kept: it is
    derived from the seed (core/customers.py). ``frozen`` is the fake's own: it drives
    the 403 ACCOUNT_FROZEN check, and ``status`` is ``"frozen"`` then."""

    id: str = field(metadata=ident())
    name: str = field(default="", metadata=text(dump_required=True))
    detail: str = field(default="", metadata=text())
    email: str = field(default="", metadata=text())
    phone_number: str = field(default="", metadata=text())
    address: str = field(default="", metadata=text())
    webhook_method: str = field(default="", metadata=text())
    webhook_uri: str = field(default="", metadata=text())
    billing_account_id: str = field(default=NIL_UUID, metadata=uuid())
    rtp_debug: bool = field(default=False, metadata=flag(at=("metadata", "rtp_debug")))
    email_verified: bool = field(default=False, metadata=flag(addable=True))
    frozen: bool = field(default=False, metadata=flag(view=False, dump_required=True))
    status: str = field(default="active", metadata=choice(STATUSES))
    identity_verification_status: str = field(
        default="none", metadata=choice(IDENTITY_VERIFICATION_STATUSES)
    )
    tm_deletion_scheduled: int | None = field(default=None, metadata=stamp(dump_required=True))
    tm_create: int | None = field(default=None, metadata=stamp())
    tm_update: int | None = field(default=None, metadata=stamp())
    tm_delete: int | None = field(default=None, metadata=stamp())

    #: tm_create of this customer's live keys, oldest first.
    live: SortedList = field(default_factory=SortedList)
    #: tm_create → key, for the live keys.
    by_create: dict[int, AccessKey] = field(default_factory=dict)
    #: Renewed whenever one of its keys changes, unique in the process: a list page is
    #: named by (customer id, version, cursor, size).
    version: int = field(default_factory=lambda: next_version())

    def changed(self) -> None:
        self.version = next_version()


#: The customer's fields as ``Customer`` declares them, in production's key order.
CUSTOMER_FIELDS: tuple[CustomerField, ...] = declared(Customer)
#: The text fields, which PUT /v1.0/customer writes (all of them), in production's order.
CUSTOMER_TEXT_FIELDS = tuple(f.name for f in CUSTOMER_FIELDS if f.kind == "text")


@dataclass(slots=True)
class User:
    """A login user: production's agent (bin-agent-manager), with its fields. The
    password is kept only as a salted hash (``fakevoipbin.core.agents``)."""

    id: str
    customer_id: str
    username: str
    password_hash: str
    permission: int
    name: str = ""
    detail: str = ""
    ring_method: str = "ringall"
    status: str = "offline"
    tag_ids: tuple[str, ...] = ()
    #: Each address as a tuple of (field, value) pairs, empty fields left out.
    addresses: tuple[tuple[tuple[str, str], ...], ...] = ()
    direct_id: str = ""
    direct_hash: str = ""
    tm_create: int | None = None
    tm_update: int | None = None
    tm_delete: int | None = None


class Store:
    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.users: dict[str, User] = {}
        #: The same users by agent id (``GET /v1.0/me`` reads its caller by id).
        self.users_by_id: dict[str, User] = {}
        self.keys: dict[str, AccessKey] = {}
        self.by_hash: dict[str, AccessKey] = {}
        #: The token hashes of deleted keys: with ``by_hash``, every hash ever stored,
        #: so a token is never reissued.
        self.retired_hashes: set[str] = set()

    def add_customer(self, customer: Customer) -> Customer:
        if customer.id in self.customers:
            raise ValueError(f"customer {customer.id} exists already")
        self.customers[customer.id] = customer
        return customer

    def add_user(self, user: User) -> None:
        if user.username in self.users:
            raise ValueError(f"user {user.username!r} exists already")
        if user.id in self.users_by_id:
            raise ValueError(f"agent {user.id} exists already")
        self.users[user.username] = user
        self.users_by_id[user.id] = user

    def remove_user(self, username: str) -> User:
        """Take a login user out (a KeyError when there is none); its JWTs still
        authenticate until they expire, as production's do."""
        user = self.users.pop(username)
        del self.users_by_id[user.id]
        return user

    def hash_used(self, digest: str) -> bool:
        """Whether any key, live or deleted, ever had this token hash."""
        return digest in self.by_hash or digest in self.retired_hashes

    def unique_tm_create(self, customer: Customer, t: int) -> int:
        """The list cursor is tm_create, so two keys of a customer never share one."""
        while t in customer.by_create:
            t += 1
        return t

    def insert_key(self, key: AccessKey) -> AccessKey:
        """Store a new key (a live one gets a tm_create no other live key of its
        customer has, and every record a version of its own); the stored record."""
        if key.id in self.keys:
            raise ValueError(f"access key {key.id} exists already")
        if self.hash_used(key.token_hash):
            raise ValueError("two access keys share one token")
        customer = self.customers[key.customer_id]
        if key.tm_delete is not None:
            if not key.version:
                key = key._replace(version=next_version())
            self.retired_hashes.add(key.token_hash)
        else:
            t = key.tm_create
            if t in customer.by_create or not key.version:
                t = self.unique_tm_create(customer, t)
                key = key._replace(tm_create=t, version=next_version())
            self.by_hash[key.token_hash] = key
            customer.live.add(t)
            customer.by_create[t] = key
        self.keys[key.id] = key
        customer.changed()
        return key

    def _replace_live(self, new: AccessKey) -> None:
        self.keys[new.id] = new
        self.by_hash[new.token_hash] = new
        self.customers[new.customer_id].by_create[new.tm_create] = new

    def rename(self, key: AccessKey, name: str, detail: str, t: int) -> AccessKey:
        """PUT: both columns written, tm_update stamped; the new record."""
        new = key._replace(name=name, detail=detail, tm_update=t, version=next_version())
        self._replace_live(new)
        self.customers[key.customer_id].changed()
        return new

    def soft_delete(self, key: AccessKey, t: int) -> AccessKey:
        """DELETE: tm_update and tm_delete get one instant; the key leaves the list and
        the token index (its hash is retired, never reissued). The new record."""
        new = key._replace(tm_update=t, tm_delete=t, version=next_version())
        self.keys[new.id] = new
        customer = self.customers[key.customer_id]
        customer.changed()
        customer.live.discard(key.tm_create)
        customer.by_create.pop(key.tm_create, None)
        self.by_hash.pop(key.token_hash, None)
        self.retired_hashes.add(key.token_hash)
        return new

    def page(self, customer: Customer, before: int | None, size: int) -> list[AccessKey]:
        """Up to ``size`` live keys with tm_create < ``before`` (None: no bound), newest
        first: O(log n + size)."""
        live = customer.live
        end = len(live) if before is None else live.bisect_left(before)
        start = max(0, end - size)
        by_create = customer.by_create
        return [by_create[t] for t in live.islice(start, end, reverse=True)]

    def has_older(self, customer: Customer, before: int) -> bool:
        return bool(customer.live.bisect_left(before) > 0)

    def live_keys(self, customer: Customer) -> Iterator[AccessKey]:
        for t in reversed(customer.live):
            yield customer.by_create[t]
