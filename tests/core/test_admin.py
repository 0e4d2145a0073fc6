"""What only a test can do (fakevoipbin/core/admin.py): add_customer's input rules
(the control API's and the Python face's), and a dump that must load back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakevoipbin.core import admin
from fakevoipbin.core.clock import MAX_US, Clock, parse_instant
from fakevoipbin.core.fixtureset import FixtureCustomer, FixtureKey, FixtureSet
from fakevoipbin.core.profiles import DOCS, LIVE
from fakevoipbin.core.state import State

NOW = "2026-12-01T10:15:30.123456Z"


def state(profile: Any = DOCS) -> State:
    fixtures = FixtureSet(customers=(FixtureCustomer(keys=(FixtureKey(name="k"),)),))
    return State(profile, 3, fixtures, Clock(parse_instant(NOW), frozen=True))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": 5}, ValueError, '"name" must be a string of at most 255 characters'),
        ({"name": "x" * 256}, ValueError, '"name" must be a string of at most 255 characters'),
        ({"frozen": "no"}, ValueError, '"frozen" must be true or false'),
        (
            {"expire": "1d"},
            ValueError,
            '"expire" must be an integer number of seconds, 1 to 2147483647',
        ),
        ({"expire": True}, ValueError, '"expire" must be an integer'),
        ({"expire": 0}, ValueError, '"expire" must be an integer'),
        ({"expire": 2**31}, ValueError, '"expire" must be an integer'),
        ({"fields": {"colour": "red"}}, ValueError, "unknown customer field 'colour'"),
        ({"fields": {"email": 5}}, ValueError, "customer field 'email' must be a string"),
    ],
)
def test_add_customer_checks_every_input_first(
    kwargs: dict[str, Any], error: type, message: str
) -> None:
    st = state()
    before = admin.dump(st)
    with pytest.raises(error) as caught:
        admin.add_customer(st, **kwargs)
    assert str(caught.value).startswith(message), caught.value
    with pytest.raises(error):
        admin.customer_input(**kwargs)
    assert admin.dump(st) == before


def test_a_dump_of_an_unknown_profile_is_refused() -> None:
    st = state()
    doc = admin.dump(st)
    doc["profile"] = "nonsense"
    with pytest.raises(admin.StateError, match="at profile: 'nonsense' is not one of"):
        admin.load(st, doc)


def test_a_dump_of_the_other_profile_loads_and_keeps_this_fakes() -> None:
    st = state(LIVE)
    admin.load(st, admin.dump(state(DOCS)))
    assert st.profile is LIVE


def test_what_the_fake_writes_at_the_clocks_edge_loads_back() -> None:
    """A frozen clock at the last instant it can be set to: each write steps 1 µs past
    it, and the dump (its clock past the range) still loads, byte for byte."""
    st = state()
    st.clock.set(MAX_US)
    admin.add_customer(st, "edge", expire=2**31 - 1)
    admin.add_customer(st, "edge2")
    doc = json.loads(json.dumps(admin.dump(st)))
    other = state()
    admin.load(other, doc)
    assert admin.dump(other) == doc
