"""Hypothesis strategies for access-key and customer requests, for the contract machine
and for client authors' own tests."""

from __future__ import annotations

from hypothesis import strategies as st

from ..core.store import CUSTOMER_TEXT_FIELDS

#: Every key the contract creates is named with this prefix, so a run's leftovers are
#: recognisable (and deleted).
NAME_PREFIX = "fakevoipbin-verify-"

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
names = _text.map(lambda s: NAME_PREFIX + s)
details = st.none() | _text
#: Valid lifetimes: one day to ten years, with the edges.
expires = st.one_of(st.just(86_400), st.integers(min_value=86_400, max_value=10 * 365 * 86_400))
#: A PUT /v1.0/customer body: some of its seven text fields (each one left out becomes
#: ""), each prefixed like a key's name, or "".
customer_updates = st.dictionaries(
    st.sampled_from(CUSTOMER_TEXT_FIELDS), st.just("") | names, max_size=len(CUSTOMER_TEXT_FIELDS)
)
