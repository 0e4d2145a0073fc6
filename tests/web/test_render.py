"""Cached renderings (web/render.py) never serve a stale answer.

The caches are keyed by what the core read under the state's lock: a key's id and
the version of its immutable record, and a customer's version for a list page.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fakevoipbin.core import rules
from fakevoipbin.core.auth import Identity
from fakevoipbin.core.store import PERMISSION_CUSTOMER_ADMIN, AccessKey
from fakevoipbin.web.render import Renderer

from ..conftest import TUTORIAL_CUSTOMER, TUTORIAL_KEY_ID, Harness


def names(client: Any) -> list[str | None]:
    r = client.get("/accesskeys", params={"page_size": 100})
    assert r.status_code == 200
    return [k.get("name") for k in r.json()["result"]]


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_a_change_is_seen_by_the_next_get_and_list(make_fake: Any, profile: str) -> None:
    fake = make_fake(profile=profile)
    c = fake.client()
    assert names(c) == ["My New Accesskey"]
    assert names(c) == ["My New Accesskey"]  # the cached page
    r = c.put(f"/accesskeys/{TUTORIAL_KEY_ID}", json={"name": "renamed"})
    assert r.json()["name"] == "renamed"
    assert c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()["name"] == "renamed"
    assert names(c) == ["renamed"]
    made = c.post("/accesskeys", json={"name": "second", "expire": 86400}).json()
    assert names(c) == ["second", "renamed"]
    assert c.delete(f"/accesskeys/{made['id']}").status_code == 200
    assert names(c) == ["renamed"]


def test_a_reset_never_brings_back_a_page_from_before(make_fake: Any) -> None:
    fake = make_fake(profile="live")
    c = fake.client()
    for i in range(3):
        c.post("/accesskeys", json={"name": f"k{i}", "expire": 86400})
    before = names(c)
    fake.state.reset()
    assert names(c) == ["My New Accesskey"]
    for i in range(3):
        c.post("/accesskeys", json={"name": f"other{i}", "expire": 86400})
    assert names(c) == ["other2", "other1", "other0", "My New Accesskey"] != before


def test_profiles_do_not_share_renderings(make_fake: Any) -> None:
    docs, live = make_fake(profile="docs"), make_fake(profile="live")
    assert docs.client().get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()["tm_delete"] is not None
    assert live.client().get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()["tm_delete"] is None


def test_no_cache_lives_on_a_core_object() -> None:
    assert not hasattr(AccessKey, "rendered")
    assert set(AccessKey._fields) == {
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
        "version",
    }


# --- a reader held between building a view and filing it, while a writer renames ---------

ADMIN = Identity("accesskey", TUTORIAL_CUSTOMER, PERMISSION_CUSTOMER_ADMIN, "test")


class _Held:
    """Holds the first call of ``render`` (in the reader's thread) after the view is
    built and before it is filed, until the test lets it go."""

    def __init__(self, render: Any) -> None:
        self.render = render
        self.built = threading.Event()
        self.go = threading.Event()
        self.held = False

    def __call__(self, *args: Any) -> bytes:
        data: bytes = self.render(*args)
        if not self.held:
            self.held = True
            self.built.set()
            assert self.go.wait(10)
        return data


class _CacheOnTheKey:
    """The scheme before, in miniature: the rendering was kept on the (mutable) key
    and filed under ``key.version`` read *after* building the view, outside the lock."""

    def __init__(self, render: Any) -> None:
        self.render_key = render

    def key(self, profile: Any, key: Any) -> bytes:
        cached = getattr(key, "cached", None)
        if cached is not None and cached[0] == key.version:
            return bytes(cached[1])
        data: bytes = self.render_key(profile, key)
        key.cached = (key.version, data)  # the version read now, not with the view
        return data


class _MutableKey:
    """A key as the core kept it before: one object, changed in place by PUT."""

    def __init__(self, record: AccessKey) -> None:
        self.__dict__.update(record._asdict())

    def rename(self, name: str) -> None:
        self.name = name
        self.version += 1


def _race(renderer: Any, read: Any, rename: Any) -> bytes:
    """A reader renders while a writer renames between its build and its filing; then
    a fresh read: what does it answer?"""
    held = _Held(renderer.render_key)
    renderer.render_key = held
    reader = threading.Thread(target=read)
    reader.start()
    assert held.built.wait(10)
    rename()
    held.go.set()
    reader.join(10)
    result: bytes = read()
    return result


def test_a_reader_held_while_a_writer_renames_served_stale_bytes_before_and_no_longer() -> None:
    h = Harness()
    profile = h.state.profile
    record = h.state.store.keys[TUTORIAL_KEY_ID]

    # Before: the stale rendering is filed under the new version and served after.
    old = _CacheOnTheKey(Renderer(h.app.spec, lambda _found: True).render_key)
    key = _MutableKey(record)
    before = _race(old, lambda: old.key(profile, key), lambda: key.rename("renamed"))
    assert b'"name":"My New Accesskey"' in before, "the miniature shows the stale read"

    # Now: the rendering is filed under the version of the record it was built from.
    renderer = Renderer(h.app.spec, lambda _found: True)

    def read() -> bytes:
        got = rules.get_key(h.state, ADMIN, TUTORIAL_KEY_ID)  # the record, under the lock
        return renderer.key(profile, got)

    def rename() -> None:
        rules.update_key(h.state, ADMIN, TUTORIAL_KEY_ID, "renamed", "", [])

    after = _race(renderer, read, rename)
    assert b'"name":"renamed"' in after
    assert b"My New Accesskey" not in after


def test_a_page_is_never_served_for_a_customer_that_changed_since() -> None:
    h = Harness()
    profile = h.state.profile
    renderer = Renderer(h.app.spec, lambda _found: True)

    def read() -> bytes:
        return renderer.page(profile, rules.list_keys(h.state, ADMIN, 100, None))

    def rename() -> None:
        rules.update_key(h.state, ADMIN, TUTORIAL_KEY_ID, "renamed", "", [])

    after = _race(renderer, read, rename)
    assert b'"name":"renamed"' in after
    assert b"My New Accesskey" not in after
