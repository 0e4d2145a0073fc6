"""Hypothesis strategies for access-key requests, for the contract machine and for
client authors' own tests."""

from __future__ import annotations

from hypothesis import strategies as st

#: Every key the contract creates is named with this prefix, so a run's leftovers are
#: recognisable (and deleted).
NAME_PREFIX = "fakevoipbin-verify-"

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
names = _text.map(lambda s: NAME_PREFIX + s)
details = st.none() | _text
#: Valid lifetimes: one day to ten years, with the edges.
expires = st.one_of(st.just(86_400), st.integers(min_value=86_400, max_value=10 * 365 * 86_400))
#: Anything an int64 can hold; most are refused.
any_expire = st.integers(min_value=-(2**63), max_value=2**63 - 1)
page_sizes = st.integers(min_value=-2, max_value=120)
