"""fakevoipbin.core.store on its own: the records, the indexes kept beside them, and
that every write leaves the indexes agreeing (a Hypothesis property)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakevoipbin.core.store import AccessKey, Customer, Store, next_version, token_hash

CUSTOMER_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
CUSTOMER_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def _token(n: int) -> str:
    return f"vb_{n:032d}"


def _record(n: int, customer_id: str = CUSTOMER_A, t: int = 1_000, **kw: Any) -> AccessKey:
    """A fresh record numbered n (its id and token follow from n); no version yet."""
    token = _token(n)
    fields: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "customer_id": customer_id,
        "name": f"key {n}",
        "detail": "",
        "token_hash": token_hash(token),
        "token_prefix": token[:11],
        "tm_create": t,
        "tm_expire": t + 86_400_000_000,
    }
    fields.update(kw)
    return AccessKey(**fields)


def _store(*customer_ids: str) -> Store:
    store = Store()
    for cid in customer_ids or (CUSTOMER_A,):
        store.add_customer(Customer(id=cid))
    return store


def test_token_hash_is_hex_sha256() -> None:
    """token_hash is the lowercase hex SHA-256 of the whole token, vb_ included."""
    token = _token(7)
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token_hash(token) != token_hash(token[3:])


def test_record_defaults() -> None:
    """A record made without them has no tm_update, no tm_delete and version 0."""
    key = _record(1)
    assert (key.tm_update, key.tm_delete, key.version) == (None, None, 0)


# --- insert_key --------------------------------------------------------------------


def test_insert_returns_the_stored_record_with_a_unique_version() -> None:
    """insert_key answers the stored record, with a non-zero version unique to it."""
    store = _store()
    stored = [store.insert_key(_record(n, t=1_000 * n)) for n in range(1, 6)]
    versions = [k.version for k in stored]
    assert all(versions)
    assert len(set(versions)) == len(versions)
    for key in stored:
        assert store.keys[key.id] is key
        assert store.by_hash[key.token_hash] is key
        assert store.customers[CUSTOMER_A].by_create[key.tm_create] is key


def test_insert_refuses_a_duplicate_id() -> None:
    """A second record with an existing id is a ValueError; the first stays."""
    store = _store()
    first = store.insert_key(_record(1))
    twin = _record(2)._replace(id=first.id)
    with pytest.raises(ValueError):
        store.insert_key(twin)
    assert store.keys[first.id] is first
    assert twin.token_hash not in store.by_hash


def test_insert_refuses_a_reused_token_hash() -> None:
    """Two keys never share a token: a live key's hash cannot be stored again."""
    store = _store()
    first = store.insert_key(_record(1))
    clash = _record(2, t=2_000, token_hash=first.token_hash)
    with pytest.raises(ValueError):
        store.insert_key(clash)
    assert clash.id not in store.keys
    assert store.by_hash[first.token_hash] is first


def test_insert_refuses_the_hash_of_a_deleted_key() -> None:
    """A deleted key's hash is retired: it cannot be stored again, live or deleted."""
    store = _store()
    gone = store.soft_delete(store.insert_key(_record(1)), 5_000)
    retired = store.insert_key(_record(2, t=2_000, tm_update=3_000, tm_delete=3_000))
    for digest in (gone.token_hash, retired.token_hash):
        assert digest in store.retired_hashes
        for deleted in (None, 6_000):
            again = _record(3, t=4_000, token_hash=digest, tm_update=deleted, tm_delete=deleted)
            with pytest.raises(ValueError):
                store.insert_key(again)
            assert again.id not in store.keys


def test_insert_moves_a_shared_tm_create_up_by_one_microsecond() -> None:
    """Two live keys of one customer never share a tm_create: the later one moves up
    1 µs (and past any other taken instant); another customer's keys do not count."""
    store = _store(CUSTOMER_A, CUSTOMER_B)
    a = store.insert_key(_record(1, t=1_000))
    b = store.insert_key(_record(2, t=1_000))
    c = store.insert_key(_record(3, t=1_000))
    other = store.insert_key(_record(4, CUSTOMER_B, t=1_000))
    assert (a.tm_create, b.tm_create, c.tm_create) == (1_000, 1_001, 1_002)
    assert other.tm_create == 1_000
    customer = store.customers[CUSTOMER_A]
    assert list(customer.live) == [1_000, 1_001, 1_002]
    assert [customer.by_create[t].id for t in customer.live] == [a.id, b.id, c.id]


def test_insert_keeps_a_prepared_record_as_it_is() -> None:
    """A record that already carries a version and a free tm_create is stored as is."""
    store = _store()
    prepared = _record(1, version=next_version())
    stored = store.insert_key(prepared)
    assert stored is prepared
    assert store.keys[prepared.id] is prepared
    assert store.by_hash[prepared.token_hash] is prepared


def test_insert_renews_a_prepared_record_on_a_taken_tm_create() -> None:
    """A prepared record on a taken tm_create is moved up and given a new version."""
    store = _store()
    store.insert_key(_record(1, t=1_000))
    prepared = _record(2, t=1_000, version=next_version())
    stored = store.insert_key(prepared)
    assert stored.tm_create == 1_001
    assert stored.version != prepared.version and stored.version
    assert store.keys[stored.id] is stored


def test_insert_a_deleted_record() -> None:
    """A record inserted deleted gets a version and retires its hash, but is neither in
    the token index nor the customer's list."""
    store = _store()
    key = store.insert_key(_record(1, tm_update=2_000, tm_delete=2_000))
    assert key.version
    assert store.keys[key.id] is key
    assert key.token_hash in store.retired_hashes
    assert key.token_hash not in store.by_hash
    customer = store.customers[CUSTOMER_A]
    assert list(customer.live) == []
    assert customer.by_create == {}


def test_insert_renews_the_customers_version() -> None:
    """Each insert gives the customer a new version."""
    store = _store()
    customer = store.customers[CUSTOMER_A]
    seen = [customer.version]
    store.insert_key(_record(1))
    seen.append(customer.version)
    store.insert_key(_record(2, tm_update=9, tm_delete=9))
    seen.append(customer.version)
    assert len(set(seen)) == 3


def test_insert_needs_a_known_customer() -> None:
    """A key of a customer the store does not have is refused (KeyError)."""
    store = _store(CUSTOMER_A)
    with pytest.raises(KeyError):
        store.insert_key(_record(1, CUSTOMER_B))
    assert store.keys == {}


# --- rename / soft_delete -------------------------------------------------------------


def test_rename_stores_a_new_record_and_keeps_the_indexes_on_it() -> None:
    """rename answers a new record (new version, both columns, tm_update); keys, by_hash
    and the customer's by_create / live point at it; the customer's version is new."""
    store = _store()
    old = store.insert_key(_record(1, t=1_000))
    customer = store.customers[CUSTOMER_A]
    before = customer.version
    new = store.rename(old, "renamed", "details", 5_000)
    assert (new.name, new.detail, new.tm_update) == ("renamed", "details", 5_000)
    assert new.version != old.version and new.version
    assert (old.name, old.tm_update) == ("key 1", None)
    assert store.keys[old.id] is new
    assert store.by_hash[old.token_hash] is new
    assert customer.by_create[1_000] is new
    assert list(customer.live) == [1_000]
    assert customer.version != before
    newer = store.rename(new, "", "", 6_000)
    assert store.keys[old.id] is newer
    assert customer.by_create[1_000] is newer
    assert len({old.version, new.version, newer.version}) == 3


def test_soft_delete_retires_the_key() -> None:
    """soft_delete answers a new record (tm_update == tm_delete), removes the key from
    by_hash, by_create and live, retires its hash and renews the customer's version."""
    store = _store()
    keep = store.insert_key(_record(1, t=1_000))
    old = store.insert_key(_record(2, t=2_000))
    customer = store.customers[CUSTOMER_A]
    before = customer.version
    gone = store.soft_delete(old, 7_000)
    assert (gone.tm_update, gone.tm_delete) == (7_000, 7_000)
    assert gone.version != old.version and gone.version
    assert old.tm_delete is None
    assert store.keys[old.id] is gone
    assert old.token_hash not in store.by_hash
    assert old.token_hash in store.retired_hashes
    assert 2_000 not in customer.by_create
    assert list(customer.live) == [1_000]
    assert customer.by_create[1_000] is keep
    assert customer.version != before


def test_a_deleted_keys_tm_create_is_free_again() -> None:
    """Once a key is deleted, a new key may take its tm_create unchanged."""
    store = _store()
    store.soft_delete(store.insert_key(_record(1, t=1_000)), 2_000)
    again = store.insert_key(_record(2, t=1_000))
    assert again.tm_create == 1_000
    assert store.customers[CUSTOMER_A].by_create[1_000] is again


def test_hash_used_for_live_and_deleted_keys() -> None:
    """hash_used is True for any hash ever stored, live or deleted, False otherwise."""
    store = _store()
    live = store.insert_key(_record(1, t=1_000))
    gone = store.soft_delete(store.insert_key(_record(2, t=2_000)), 3_000)
    assert store.hash_used(live.token_hash)
    assert store.hash_used(gone.token_hash)
    assert not store.hash_used(token_hash(_token(3)))


# --- page / has_older / live_keys ----------------------------------------------------


def _paged_store() -> tuple[Store, Customer, dict[int, AccessKey]]:
    store = _store(CUSTOMER_A, CUSTOMER_B)
    by_t = {t: store.insert_key(_record(t, t=t)) for t in (30, 10, 50, 20, 40)}
    store.insert_key(_record(99, CUSTOMER_B, t=35))
    return store, store.customers[CUSTOMER_A], by_t


def test_page_newest_first_before_the_cursor() -> None:
    """page: at most size live keys with tm_create < before, newest first."""
    store, customer, by_t = _paged_store()

    def ts(before: int | None, size: int) -> list[int]:
        page = store.page(customer, before, size)
        assert all(k is by_t[k.tm_create] for k in page)
        return [k.tm_create for k in page]

    assert ts(None, 100) == [50, 40, 30, 20, 10]
    assert ts(None, 2) == [50, 40]
    assert ts(40, 2) == [30, 20]
    assert ts(41, 2) == [40, 30]
    assert ts(20, 2) == [10]
    assert ts(11, 5) == [10]
    assert ts(10, 5) == []
    assert ts(1_000, 3) == [50, 40, 30]
    store.soft_delete(by_t[30], 100)
    assert ts(None, 100) == [50, 40, 20, 10]
    assert ts(40, 2) == [20, 10]


def test_has_older() -> None:
    """has_older: whether any live key has tm_create < before."""
    store, customer, by_t = _paged_store()
    assert not store.has_older(customer, 10)
    assert store.has_older(customer, 11)
    assert store.has_older(customer, 1_000)
    store.soft_delete(by_t[10], 100)
    assert not store.has_older(customer, 20)
    assert store.has_older(customer, 21)
    assert not store.has_older(store.customers[CUSTOMER_B], 35)
    assert store.has_older(store.customers[CUSTOMER_B], 36)


def test_live_keys_newest_first() -> None:
    """live_keys: the customer's live keys, newest first, current records."""
    store, customer, by_t = _paged_store()
    renamed = store.rename(by_t[20], "r", "", 200)
    store.soft_delete(by_t[40], 100)
    assert list(store.live_keys(customer)) == [by_t[50], by_t[30], renamed, by_t[10]]
    assert [k.tm_create for k in store.live_keys(store.customers[CUSTOMER_B])] == [35]


# --- the indexes agree after any history ----------------------------------------------

_OPS = st.lists(
    st.one_of(
        # insert: customer, tm_create (a narrow range, so they collide), deleted, prepared
        st.tuples(
            st.just("insert"),
            st.integers(0, 1),
            st.integers(0, 6),
            st.booleans(),
            st.booleans(),
        ),
        st.tuples(st.just("rename"), st.integers(0, 50)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
    ),
    max_size=40,
)


def _check_indexes(store: Store, expected_live: set[str]) -> None:
    live_ids: set[str] = set()
    for kid, key in store.keys.items():
        assert key.id == kid
        customer = store.customers[key.customer_id]
        if key.tm_delete is None:
            assert store.by_hash[key.token_hash] is key
            assert customer.by_create[key.tm_create] is key
            assert key.token_hash not in store.retired_hashes
            live_ids.add(kid)
        else:
            assert key.token_hash not in store.by_hash
            assert all(k.id != kid for k in customer.by_create.values())
            assert key.token_hash in store.retired_hashes
    assert live_ids == expected_live
    assert {k.id for k in store.by_hash.values()} == live_ids
    assert all(store.keys[k.id] is k for k in store.by_hash.values())
    for customer in store.customers.values():
        live = list(customer.live)
        assert live == sorted(live)
        assert live == sorted(customer.by_create)
        for t, key in customer.by_create.items():
            assert key.tm_create == t
            assert key.customer_id == customer.id
            assert store.keys[key.id] is key
        assert [k.tm_create for k in store.live_keys(customer)] == live[::-1]
    versions = [k.version for k in store.keys.values()]
    assert all(versions)
    assert len(set(versions)) == len(versions)


@given(_OPS)
def test_indexes_agree_after_any_history(ops: list[tuple[Any, ...]]) -> None:
    """After any sequence of inserts, renames and soft deletes, every index agrees: each
    live key is in by_hash and by_create under its current record, each deleted key in
    neither with its hash retired, and live is sorted and equals sorted(by_create)."""
    store = _store(CUSTOMER_A, CUSTOMER_B)
    customers = [CUSTOMER_A, CUSTOMER_B]
    expected_live: set[str] = set()
    serial = 0
    for op in ops:
        serial += 1
        if op[0] == "insert":
            _, which, t, deleted, prepared = op
            key = _record(serial, customers[which], t=t)
            if deleted:
                key = key._replace(tm_update=t + 10, tm_delete=t + 10)
            if prepared:
                key = key._replace(version=next_version())
            stored = store.insert_key(key)
            if not deleted:
                expected_live.add(stored.id)
            continue
        live = sorted(store.by_hash.values(), key=lambda k: k.id)
        if not live:
            continue
        target = live[op[1] % len(live)]
        if op[0] == "rename":
            store.rename(target, f"name {serial}", "", 100 + serial)
        else:
            store.soft_delete(target, 100 + serial)
            expected_live.discard(target.id)
        _check_indexes(store, expected_live)
    _check_indexes(store, expected_live)
