"""Fixture data into a store (fakevoipbin/core/fixtureset.py): a fixture's times must
be ones the clock holds, checked before anything changes."""

from __future__ import annotations

from typing import Any

import pytest

from fakevoipbin.core import admin
from fakevoipbin.core.clock import US, Clock, parse_instant
from fakevoipbin.core.fixtureset import (
    FixtureCustomer,
    FixtureError,
    FixtureKey,
    FixtureSet,
    check_times,
)
from fakevoipbin.core.profiles import DOCS
from fakevoipbin.core.state import State

START = parse_instant("2026-12-01T10:15:30Z")
SECONDS = START // US  # 1796120130: back to 1970-01-01T00:00:00Z


def one(**key: Any) -> FixtureSet:
    return FixtureSet(customers=(FixtureCustomer(keys=(FixtureKey(**key),)),), source="f.yaml")


@pytest.mark.parametrize("field", ["created_ago", "deleted_ago"])
def test_a_key_time_before_1970_is_refused_naming_file_place_and_bound(field: str) -> None:
    with pytest.raises(FixtureError) as caught:
        check_times(one(**{field: SECONDS + 1}), START)
    message = str(caught.value)
    assert message.startswith(f"f.yaml: at customers/0/keys/0/{field}: "), message
    assert f"at most {SECONDS}" in message and "1970-01-01T00:00:00Z" in message
    check_times(one(**{field: SECONDS}), START)


def test_a_customer_created_before_1970_is_refused() -> None:
    fixtures = FixtureSet(customers=(FixtureCustomer(created_ago=10**11),), source="f.yaml")
    with pytest.raises(FixtureError, match=r"^f\.yaml: at customers/0/created_ago: "):
        check_times(fixtures, START)


def test_a_refused_set_leaves_the_state_as_it_was() -> None:
    state = State(DOCS, 0, one(created_ago=60), Clock(START, frozen=True))
    before = admin.dump(state)
    with pytest.raises(FixtureError):
        state.reconfigure(DOCS, 1, one(created_ago=SECONDS + 1), Clock(START, True), False)
    assert admin.dump(state) == before


def test_a_state_built_on_far_fixtures_is_refused() -> None:
    with pytest.raises(FixtureError, match="created_ago"):
        State(DOCS, 0, one(created_ago=SECONDS + 1), Clock(START, frozen=True))
