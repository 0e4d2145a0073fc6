"""Cached renderings (web/render.py, Store.page) never serve a stale answer."""

from __future__ import annotations

import pytest

from .conftest import TUTORIAL_KEY_ID


def names(client) -> list[str | None]:
    r = client.get("/accesskeys", params={"page_size": 100})
    assert r.status_code == 200
    return [k.get("name") for k in r.json()["result"]]


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_a_change_is_seen_by_the_next_get_and_list(make_fake, profile: str) -> None:
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


def test_a_reset_never_brings_back_a_page_from_before(make_fake) -> None:
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


def test_profiles_do_not_share_renderings(make_fake) -> None:
    docs, live = make_fake(profile="docs"), make_fake(profile="live")
    assert docs.client().get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()["tm_delete"] is not None
    assert live.client().get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()["tm_delete"] is None
