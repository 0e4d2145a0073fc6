"""What only a test can do (the control API and the Python face): add customers,
and dump or load the whole state. Dumps never carry a raw token nor a password (only
its salted hash), nor an agent's direct hash (drawn again from the seed on load)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from . import agents
from .clock import MAX_EXPIRE_S, ClockError, format_fixed, parse_instant
from .customer_fields import value_schema
from .customers import check_fields
from .formats import UUID_PATTERN
from .profiles import PROFILES
from .rules import insert_new_key
from .state import State
from .store import CUSTOMER_FIELDS, AccessKey, Customer, Store, User

DUMP_FORMAT = "fakevoipbin-state"
DUMP_VERSION = 1
DEFAULT_ADMIN_EXPIRE = 31_536_000


class StateError(ValueError):
    """A state document that cannot be loaded, with the reason."""


def customer_input(
    name: object = "",
    frozen: object = False,
    expire: object = DEFAULT_ADMIN_EXPIRE,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A new customer's settings, checked as ``POST /_fake/customers`` checks them: a
    ValueError whose message names the field (the same type and words whether the call
    is in-process or attached, where the control API's 400 carries them). The checked
    customer fields."""
    if not isinstance(name, str) or len(name) > 255:
        raise ValueError('"name" must be a string of at most 255 characters')
    if not isinstance(frozen, bool):
        raise ValueError('"frozen" must be true or false')
    expire_rule = f'"expire" must be an integer number of seconds, 1 to {MAX_EXPIRE_S}'
    if isinstance(expire, bool) or not isinstance(expire, int) or not 1 <= expire <= MAX_EXPIRE_S:
        raise ValueError(expire_rule)
    return check_fields(fields or {})


def add_customer(
    state: State,
    name: str = "",
    frozen: bool = False,
    expire: int = DEFAULT_ADMIN_EXPIRE,
    fields: Mapping[str, Any] | None = None,
) -> tuple[Customer, AccessKey, str]:
    """A new customer (id from the seed) with one admin key; the raw token is returned.
    ``fields``: customer fields (``customers.ADDABLE_FIELDS``: detail, email, …). Every
    input is checked first (``customer_input``). Its status is ``active``, or
    ``frozen``."""
    extra = customer_input(name, frozen, expire, fields)
    with state.lock:
        cid = state.seeds.uuid4("customers")
        while cid in state.store.customers:
            cid = state.seeds.uuid4("customers")
        now = state.clock.now_us()
        customer = state.store.add_customer(
            Customer(
                id=cid,
                name=name,
                frozen=frozen,
                tm_deletion_scheduled=now if frozen else None,
                status="frozen" if frozen else "active",
                tm_create=now,
                **extra,
            )
        )
        key, raw = insert_new_key(state, customer, "admin", "", expire)
        state.touch()
    return customer, key, raw


def _t(us: int | None) -> str | None:
    return None if us is None else format_fixed(us)


def dump(state: State) -> dict[str, Any]:
    """The whole state as JSON-ready data, in a stable order: same state, same bytes."""
    with state.lock:
        store = state.store
        return {
            "format": DUMP_FORMAT,
            "version": DUMP_VERSION,
            "profile": state.profile.name,
            "seed": state.seed,
            "clock": {"now": format_fixed(state.clock.now_us()), "frozen": state.clock.frozen},
            "customers": [_dump_customer(c) for c in store.customers.values()],
            "users": [
                {
                    "id": u.id,
                    "customer_id": u.customer_id,
                    "username": u.username,
                    "password_hash": u.password_hash,
                    "permission": u.permission,
                    "name": u.name,
                    "detail": u.detail,
                    "ring_method": u.ring_method,
                    "status": u.status,
                    "tag_ids": list(u.tag_ids),
                    "addresses": [dict(a) for a in u.addresses],
                    "tm_create": _t(u.tm_create),
                    "tm_update": _t(u.tm_update),
                    "tm_delete": _t(u.tm_delete),
                }
                for u in store.users.values()
            ],
            "keys": [
                {
                    "id": k.id,
                    "customer_id": k.customer_id,
                    "name": k.name,
                    "detail": k.detail,
                    "token_hash": k.token_hash,
                    "token_prefix": k.token_prefix,
                    "tm_create": _t(k.tm_create),
                    "tm_expire": _t(k.tm_expire),
                    "tm_update": _t(k.tm_update),
                    "tm_delete": _t(k.tm_delete),
                }
                for k in store.keys.values()
            ],
        }


def _dump_customer(c: Customer) -> dict[str, Any]:
    """Every field ``store.Customer`` declares, by attribute name, in its order (never
    its webhook secret, which is derived, not kept)."""
    out = {}
    for f in CUSTOMER_FIELDS:
        value = getattr(c, f.name)
        out[f.name] = _t(value) if f.kind == "stamp" else value
    return out


_TS = {"type": "string"}
_TS_OR_NULL = {"type": ["string", "null"]}
_UUID = {"type": "string", "pattern": UUID_PATTERN}
_DUMP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "format": {"const": DUMP_FORMAT},
        "version": {"const": DUMP_VERSION},
        "profile": {"enum": sorted(PROFILES)},
        "seed": {"type": "integer"},
        "clock": {
            "type": "object",
            "properties": {"now": _TS, "frozen": {"type": "boolean"}},
            "required": ["now", "frozen"],
            "additionalProperties": False,
        },
        "customers": {
            "type": "array",
            "items": {
                "type": "object",
                # Every declared field; those a dump had before the others were kept
                # are required, so an older dump still loads.
                "properties": {f.name: value_schema(f) for f in CUSTOMER_FIELDS},
                "required": [f.name for f in CUSTOMER_FIELDS if f.dump_required],
                "additionalProperties": False,
            },
        },
        "users": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "customer_id": _UUID,
                    "username": {"type": "string", "minLength": 1},
                    # A dump carries the salted hash; an older one, the password in
                    # clear (hashed as it loads).
                    "password_hash": {"type": "string", "minLength": 1},
                    "password": {"type": "string"},
                    "permission": {"type": "integer", "minimum": 0},
                    "name": {"type": "string"},
                    "detail": {"type": "string"},
                    "ring_method": {"enum": list(agents.RING_METHODS)},
                    "status": {"enum": list(agents.STATUSES)},
                    "tag_ids": {"type": "array", "items": _UUID},
                    "addresses": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {f: {"type": "string"} for f in agents.ADDRESS_FIELDS},
                            "additionalProperties": False,
                        },
                    },
                    "tm_create": _TS_OR_NULL,
                    "tm_update": _TS_OR_NULL,
                    "tm_delete": _TS_OR_NULL,
                },
                "required": ["id", "customer_id", "username", "permission", "name"],
                "additionalProperties": False,
            },
        },
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": _UUID,
                    "customer_id": _UUID,
                    "name": {"type": "string"},
                    "detail": {"type": "string"},
                    "token_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "token_prefix": {"type": "string", "maxLength": 16},
                    "tm_create": _TS,
                    "tm_expire": _TS_OR_NULL,
                    "tm_update": _TS_OR_NULL,
                    "tm_delete": _TS_OR_NULL,
                },
                "required": [
                    "id",
                    "customer_id",
                    "name",
                    "detail",
                    "token_hash",
                    "token_prefix",
                    "tm_create",
                    "tm_expire",
                    "tm_update",
                    "tm_delete",
                ],
                "additionalProperties": False,
            },
        },
    },
    "required": ["format", "version", "clock", "customers", "users", "keys"],
    "additionalProperties": False,
}


@lru_cache(maxsize=1)
def _dump_validator() -> Any:
    """The dump schema's validator, made when a dump is first loaded (importing
    jsonschema costs about 40 ms of a fake's start, and most fakes never load one)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_DUMP_SCHEMA)


def _us(value: str | None, where: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ClockError as exc:
        raise StateError(f"{where}: {exc}") from None


def _load_customer(c: dict[str, Any]) -> Customer:
    """A dumped customer: each declared field the dump gives (a missing one keeps its
    default; ``status`` follows ``frozen``), its times read back."""
    where = f"customer {c['id']}"
    frozen = c["frozen"]
    status = c.get("status", "frozen" if frozen else "active")
    if frozen != (status == "frozen"):
        raise StateError(f"{where}: frozen {str(frozen).lower()} contradicts status {status}")
    values: dict[str, Any] = {}
    for f in CUSTOMER_FIELDS:
        if f.name in c:
            value = c[f.name]
            values[f.name] = _us(value, where) if f.kind == "stamp" else value
    values["status"] = status
    return Customer(**values)


def _user(u: dict[str, Any], seed: int, store: Store) -> User:
    """A dumped login user; its direct id and hash are drawn again from the dump's seed
    (a dump carries neither), an older dump's clear password is hashed here."""
    name = u["username"]
    if u["customer_id"] not in store.customers:
        raise StateError(f"user {name!r} names an unknown customer")
    # Never shown in a message: the hash, or an older dump's clear password.
    stored, clear = u.get("password_hash"), u.get("password")
    if (stored is None) == (clear is None):
        raise StateError(
            f"user {name!r} needs password_hash (an older dump: password), and not both"
        )
    if stored is None:
        stored = agents.hash_password(clear, name)
    elif not agents.is_password_hash(stored):
        raise StateError(f"user {name!r}: password_hash is not a hash this fake makes")
    direct_id, direct_hash = agents.direct_for(seed, u["id"])
    where = f"user {name!r}"
    return User(
        id=u["id"],
        customer_id=u["customer_id"],
        username=name,
        password_hash=stored,
        permission=u["permission"],
        name=u["name"],
        detail=u.get("detail", ""),
        ring_method=u.get("ring_method", agents.DEFAULT_RING_METHOD),
        status=u.get("status", agents.DEFAULT_STATUS),
        tag_ids=tuple(u.get("tag_ids", ())),
        addresses=tuple(
            tuple((f, a[f]) for f in agents.ADDRESS_FIELDS if a.get(f))
            for a in u.get("addresses", ())
        ),
        direct_id=direct_id,
        direct_hash=direct_hash,
        tm_create=_us(u.get("tm_create"), where),
        tm_update=_us(u.get("tm_update"), where),
        tm_delete=_us(u.get("tm_delete"), where),
    )


def load(state: State, doc: Any) -> None:
    """Replace the whole state with a dump (``PUT /_fake/state``, ``--state-file``).
    Nothing changes unless all of it loads. The profile stays this fake's (a dump's must
    be one the fake knows). The clock takes the dump's mode, ``Clock.restore``: a
    frozen one its instant, a running one runs on, never moved back."""
    problems = sorted(_dump_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if problems:
        where = "/".join(str(p) for p in problems[0].absolute_path) or "(top)"
        raise StateError(f"not a fakevoipbin state dump: at {where}: {problems[0].message}")
    store = Store()
    try:
        for c in doc["customers"]:
            store.add_customer(_load_customer(c))
        seed = doc.get("seed", state.seed)
        for u in doc["users"]:
            store.add_user(_user(u, seed, store))
        for k in doc["keys"]:
            if k["customer_id"] not in store.customers:
                raise StateError(f"key {k['id']} names an unknown customer")
            where = f"key {k['id']}"
            created = _us(k["tm_create"], where)
            assert created is not None
            customer = store.customers[k["customer_id"]]
            if k["tm_delete"] is None and created in customer.by_create:
                raise StateError(f"{where}: two live keys of a customer share a tm_create")
            store.insert_key(
                AccessKey(
                    k["id"],
                    k["customer_id"],
                    k["name"],
                    k["detail"],
                    k["token_hash"],
                    k["token_prefix"],
                    created,
                    _us(k["tm_expire"], where),
                    _us(k["tm_update"], where),
                    _us(k["tm_delete"], where),
                )
            )
    except ValueError as exc:
        if isinstance(exc, StateError):
            raise
        raise StateError(str(exc)) from None
    now = _us(doc["clock"]["now"], "clock")
    assert now is not None
    with state.lock:
        try:
            state.clock.restore(now, doc["clock"]["frozen"])
        except ClockError as exc:
            raise StateError(f"clock: {exc}") from None
        state.store = store
        latest = max((k.tm_create for k in store.keys.values()), default=now)
        state.clock.observe(latest)
        state.touch()
