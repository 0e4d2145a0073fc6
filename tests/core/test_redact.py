"""core/redact.py: what the journal and the access log show of a query. Credentials go;
every other byte stays as the client sent it."""

from __future__ import annotations

import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.core.redact import redact_query

from ..conftest import NOW


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"name=%FF", "name=%FF"),
        (b"name=a%FFb&page_size=5", "name=a%FFb&page_size=5"),
        (b"%FE%FF=%C3%A9", "%FE%FF=%C3%A9"),
        (b"accesskey=%FFsecret&name=%FF", "accesskey=[REDACTED]&name=%FF"),
    ],
)
def test_bytes_that_are_not_utf8_keep_their_percent_encoding(raw: bytes, shown: str) -> None:
    assert redact_query(raw) == shown


def test_a_token_beside_a_byte_that_is_not_utf8_is_still_cut() -> None:
    shown = redact_query(b"q=vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe%FF")
    assert shown == "q=vb_a3Bf9xKm%E2%80%A6%FF"


def test_the_journal_shows_a_ff_byte_in_a_query_as_sent() -> None:
    with FakeVoipbin(now=NOW) as fake:
        with fake.client() as c:
            r = c.get(f"/accesskeys?accesskey={fake.accesskey}&name=%FF&x=%C3%A9")
            assert r.status_code == 200
        (entry,) = fake.journal.entries()
    assert "name=%FF" in entry.target and "%EF%BF%BD" not in entry.target
    assert "x=%C3%A9" in entry.target
