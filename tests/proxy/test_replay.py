"""proxy/replay.py: which captured exchanges are judged, a redacted token's stand-in,
and a replay journaled as the proxy journals a live exchange."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from fakevoipbin.checks.exchange_rules import judge
from fakevoipbin.core.har import Captured, HarError, read_har
from fakevoipbin.core.journal import Journal
from fakevoipbin.core.profiles import get_profile
from fakevoipbin.proxy.replay import (
    NO_ANSWER,
    NOT_CAPTURED,
    NOT_THE_API,
    PROXY_ANSWER,
    not_judged,
    replay,
    stand_in_tokens,
)
from fakevoipbin.spec import default_spec

from ..conftest import CREATED_FIELDS
from ..core.test_har import CHROME_HAR, _broken, _set

PREFIX = "vb_a3Bf9xKm"
CREATED = {
    "id": "87fa2c1a-1484-445f-b130-ce3ec94f518e",
    "customer_id": "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840",
    "name": "a",
    "detail": "d",
    "token": "[REDACTED]",
    "token_prefix": PREFIX,
    "tm_expire": "2026-12-09T04:26:14.978835Z",
    "tm_create": "2026-12-08T04:26:14.978835Z",
    "tm_update": "2026-12-08T04:26:14.978835Z",
    "tm_delete": "9999-01-01T00:00:00.000000Z",
}


def captured(url: str, status: int = 200, answer: bytes | None = b"{}", **kw: object) -> Captured:
    return Captured(0, "GET", url, (), b"", status, (), answer, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("c", "why"),
    [
        (captured("https://api.voipbin.net/v1.0/accesskeys"), None),
        (captured("http://127.0.0.1:9/v1.0"), None),
        (captured("https://x.example/auth/login"), None),
        (captured("https://api.voipbin.net/v1.00/accesskeys"), NOT_THE_API),
        (captured("https://fonts.gstatic.com/a.woff2"), NOT_THE_API),
        (captured("https://api.voipbin.net/"), NOT_THE_API),
        (captured("https://api.voipbin.net/v1.0/accesskeys", status=0), NO_ANSWER),
        (captured("https://a/v1.0/accesskeys", status=502, answered_by="proxy"), PROXY_ANSWER),
        (captured("https://a/v1.0/accesskeys", answer=None), NOT_CAPTURED),
        (captured("https://a/v1.0/accesskeys", cut=True), NOT_CAPTURED),
    ],
)
def test_what_is_judged(c: Captured, why: str | None) -> None:
    assert not_judged(c) == why


def test_a_redacted_token_stands_in_only_beside_a_good_prefix() -> None:
    spec, profile = default_spec(), get_profile("docs")
    op = spec.operations["PostAccesskeys"]
    assert list(CREATED) == CREATED_FIELDS
    # as captured, the redaction reads as a malformed token
    as_captured = judge(spec, profile, op, 200, CREATED, request_body={"expire": 86400})
    assert {b.rule for b in as_captured} == {"token-format", "responses-conform"}
    stood_in = stand_in_tokens(CREATED)
    assert stood_in["token"].startswith(PREFIX) and stood_in["token"] != CREATED["token"]
    assert list(judge(spec, profile, op, 200, stood_in, request_body={"expire": 86400})) == []
    bad_prefix = stand_in_tokens({**CREATED, "token_prefix": "nope"})
    assert bad_prefix["token"] == "[REDACTED]"
    nested = stand_in_tokens({"result": [{"token": "[REDACTED]", "token_prefix": PREFIX}]})
    assert nested["result"][0]["token"].startswith(PREFIX)
    assert stand_in_tokens({"webhook_secret": "[REDACTED]"})["webhook_secret"] == "A" * 32


def test_a_token_field_in_a_get_is_still_one_after_the_stand_in() -> None:
    spec, profile = default_spec(), get_profile("docs")
    got = stand_in_tokens(dict(CREATED))
    found = judge(spec, profile, spec.operations["GetAccesskeysId"], 200, got)
    assert "token-only-on-create" in [b.rule for b in found]


def test_a_replay_is_journaled_as_the_proxy_journals() -> None:
    journal = Journal()
    answer = json.dumps({"error": {"status": "NOT_FOUND", "reason": "ACCESSKEY_NOT_FOUND"}})
    c = Captured(
        0,
        "GET",
        "https://api.voipbin.net/v1.0/accesskeys/87fa2c1a-1484-445f-b130-ce3ec94f518e"
        "?accesskey=vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe",
        (("User-Agent", "curl/8"), (":authority", "api.voipbin.net")),
        b"",
        404,
        (("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
        answer.encode(),
    )
    replay([c], default_spec(), get_profile("live"), journal)
    [entry] = journal.entries()
    assert (entry.operation_id, entry.status, entry.reason) == (
        "GetAccesskeysId",
        404,
        "ACCESSKEY_NOT_FOUND",
    )
    assert entry.target.endswith("?accesskey=[REDACTED]")
    assert entry.auth == "accesskey vb_a3Bf9xKm" and entry.answered_by == "upstream"
    assert entry.headers == {"user-agent": "curl/8"}
    assert [d["rule"] for d in entry.drift] == ["error-envelope"]  # no message, no request_id


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*at, i))
    return found


CHROME_PATHS = _paths(CHROME_HAR)[1:]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["", "http://a/v1.0/accesskeys", "https://x/auth/login", "base64", "[REDACTED]"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(path=st.sampled_from(CHROME_PATHS), value=JSON_VALUES)
def test_any_value_anywhere_is_read_and_judged_or_named(path: tuple[Any, ...], value: Any) -> None:
    """A HAR with any JSON value put anywhere is read (and what check would judge of it
    is judged, through the proxy's checks) or refused with a ``HarError``; nothing else
    is raised."""
    doc = _broken(_set(path, value))
    try:
        found = read_har(doc)
    except HarError as exc:
        assert str(exc) and "\n" not in str(exc)
        event("refused")
        return
    event(f"read, {sum(1 for c in found if not_judged(c) is None)} judged")
    journal = Journal()
    replay(
        [c for c in found if not_judged(c) is None], default_spec(), get_profile("live"), journal
    )
    assert len(journal) == sum(1 for c in found if not_judged(c) is None)
