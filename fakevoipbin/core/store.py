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
from typing import Any

from sortedcontainers import SortedList

_VERSIONS = itertools.count(1)

#: Permission bits of a login user (bin-agent-manager's agent model).
PERMISSION_PROJECT_SUPER_ADMIN = 0x01
PERMISSION_CUSTOMER_AGENT = 0x10
PERMISSION_CUSTOMER_ADMIN = 0x20
PERMISSION_CUSTOMER_MANAGER = 0x40


def token_hash(raw_token: str) -> str:
    """Lowercase hex SHA-256 of the whole token, ``vb_`` included."""
    return hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class AccessKey:
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
    #: Bumped by every change, so a rendering of the key can be cached (web/render.py).
    version: int = 0
    #: The last rendering, of ``rendered_version`` for ``rendered_profile``; opaque to
    #: the core. Fields, not a tuple: one object less per key for the garbage collector.
    rendered: bytes | None = None
    rendered_profile: Any = None
    rendered_version: int = -1


@dataclass(slots=True)
class Customer:
    id: str
    name: str = ""
    frozen: bool = False
    tm_deletion_scheduled: int | None = None
    #: tm_create of this customer's live keys, oldest first.
    live: SortedList = field(default_factory=SortedList)
    #: tm_create → key, for the live keys.
    by_create: dict[int, AccessKey] = field(default_factory=dict)
    #: Renewed whenever one of its keys changes, unique in the process (a reset makes
    #: new customers, never an old version again); pages are cached per version.
    version: int = field(default_factory=lambda: next(_VERSIONS))
    pages: dict[tuple[int | None, int], list[AccessKey]] = field(default_factory=dict)

    def changed(self) -> None:
        self.version = next(_VERSIONS)
        self.pages.clear()


@dataclass(slots=True)
class User:
    id: str
    customer_id: str
    username: str
    password: str
    permission: int
    name: str = ""


class Store:
    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.users: dict[str, User] = {}
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
        self.users[user.username] = user

    def hash_used(self, digest: str) -> bool:
        """Whether any key, live or deleted, ever had this token hash."""
        return digest in self.by_hash or digest in self.retired_hashes

    def unique_tm_create(self, customer: Customer, t: int) -> int:
        """The list cursor is tm_create, so two keys of a customer never share one."""
        while t in customer.by_create:
            t += 1
        return t

    def insert_key(self, key: AccessKey) -> None:
        if key.id in self.keys:
            raise ValueError(f"access key {key.id} exists already")
        if self.hash_used(key.token_hash):
            raise ValueError("two access keys share one token")
        customer = self.customers[key.customer_id]
        self.keys[key.id] = key
        if key.tm_delete is not None:
            self.retired_hashes.add(key.token_hash)
        else:
            key.tm_create = self.unique_tm_create(customer, key.tm_create)
            self.by_hash[key.token_hash] = key
            customer.live.add(key.tm_create)
            customer.by_create[key.tm_create] = key
        customer.changed()

    def rename(self, key: AccessKey, name: str, detail: str, t: int) -> None:
        key.name = name
        key.detail = detail
        key.tm_update = t
        key.version += 1
        self.customers[key.customer_id].changed()

    def soft_delete(self, key: AccessKey, t: int) -> None:
        key.tm_delete = t
        key.tm_update = t
        key.version += 1
        customer = self.customers[key.customer_id]
        customer.changed()
        customer.live.discard(key.tm_create)
        customer.by_create.pop(key.tm_create, None)
        self.by_hash.pop(key.token_hash, None)
        self.retired_hashes.add(key.token_hash)

    def page(self, customer: Customer, before: int | None, size: int) -> list[AccessKey]:
        """Up to ``size`` live keys with tm_create < ``before`` (None: no bound), newest
        first. Repeated pages come from a cache that any change to the customer clears."""
        cached = customer.pages.get((before, size))
        if cached is not None:
            return cached
        live = customer.live
        end = len(live) if before is None else live.bisect_left(before)
        start = max(0, end - size)
        by_create = customer.by_create
        page = [by_create[t] for t in live.islice(start, end, reverse=True)]
        if len(customer.pages) < 64:
            customer.pages[(before, size)] = page
        return page

    def has_older(self, customer: Customer, before: int) -> bool:
        return bool(customer.live.bisect_left(before) > 0)

    def live_keys(self, customer: Customer) -> Iterator[AccessKey]:
        for t in reversed(customer.live):
            yield customer.by_create[t]
