"""Each shortcut taken for speed gives what the plain way gives.

The hot path encodes with orjson, mints tokens and request ids without the
base64 module, and caches parsed queries; these tests hold each one to the
straightforward version it replaced.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakevoipbin.checks.inputs import parse_query
from fakevoipbin.core.redact import redact_target
from fakevoipbin.core.seeds import Seeds
from fakevoipbin.core.store import AccessKey
from fakevoipbin.web.encoding import encode_json, encode_json_reference
from fakevoipbin.web.pipeline import TARGET_CACHE_SIZE
from fakevoipbin.web.render import InvalidResponse

from ..conftest import Harness

# Strings that reach every escape: quotes, backslashes, controls, Go's HTML escapes,
# the line separators and non-ASCII text.
_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('"\\/<>&\u2028\u2029\x00\x1f\x7f\t\n é€😀')),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=40,
)


@given(st.dictionaries(_text, st.one_of(st.none(), _text), max_size=12))
def test_orjson_encodes_string_objects_as_the_standard_library_and_go_do(
    obj: dict[str, Any],
) -> None:
    assert encode_json(obj) == encode_json_reference(obj)


@given(
    st.dictionaries(
        _text,
        st.one_of(st.none(), _text, st.integers(), st.booleans(), st.lists(st.integers())),
        max_size=8,
    )
)
def test_orjson_encodes_other_values_as_the_reference_does(obj: dict[str, Any]) -> None:
    assert encode_json(obj) == encode_json_reference(obj)
    assert json.loads(encode_json(obj)) == obj


@pytest.mark.parametrize(
    "obj",
    [
        {"big": 2**64},  # past orjson's integers: the reference encodes it
        {"html": "<b> & </b>"},
        {"separators": "a\u2028b\u2029c"},
        {"euro": "10 €"},  # E2 82 AC: looks like a separator's first byte, is not
    ],
)
def test_what_orjson_cannot_take_or_go_escapes_goes_the_reference_way(obj: Any) -> None:
    assert encode_json(obj) == encode_json_reference(obj)
    assert b"<" not in encode_json(obj) and b"\xe2\x80\xa8" not in encode_json(obj)


def test_tokens_are_urlsafe_base64_of_the_token_stream() -> None:
    for seed in (0, 1, 12345):
        seeds = Seeds(seed)
        reference = random.Random(f"fakevoipbin:{seed}:tokens")
        for _ in range(300):
            raw = reference.randbytes(32)  # what the stream's bytes would be
            assert seeds.token() == "vb_" + base64.urlsafe_b64encode(raw).decode()[:32]


def test_request_ids_are_base32_characters_of_their_stream() -> None:
    b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    seeds = Seeds(7)
    reference = random.Random("fakevoipbin:7:request-ids")
    seen = set()
    for _ in range(300):
        text = base64.b64encode(reference.randbytes(20)).decode()[:26]
        expected = "req_" + "".join(b32[b64.index(c) % 32] for c in text)
        got = seeds.request_id()
        assert got == expected
        assert len(got) == 30 and set(got[4:]) <= set(b32)
        seen.add(got)
    assert len(seen) == 300


def test_every_base32_character_turns_up_in_request_ids() -> None:
    seeds = Seeds(0)
    chars = set().union(*(seeds.request_id()[4:] for _ in range(200)))
    assert chars == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


_TARGET_APP = Harness().app  # one app for every example: its cache fills across them


@given(
    path=st.sampled_from(["/v1.0/accesskeys", "/v1.0/accesskeys/x", "/v1.0/a/vb_0123456789abc"]),
    query=st.lists(
        st.tuples(
            st.sampled_from(["accesskey", "token", "page_size", "x", "a+b", "%41"]),
            st.sampled_from(["", "1", "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe", "%20", "a+b", "é"]),
        ),
        max_size=4,
    ),
)
def test_the_target_cache_answers_what_parsing_answers(
    path: str, query: list[tuple[str, str]]
) -> None:
    raw = "&".join(f"{k}={v}" for k, v in query).encode("utf-8")
    for _ in range(2):  # the first call may fill the cache, the second reads it
        parsed, target = _TARGET_APP.pipeline.target_of(path, raw)
        assert parsed == parse_query(raw)
        assert target == redact_target(path, raw)
    assert "a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe" not in target


def test_the_target_cache_stays_bounded(docs: Harness) -> None:
    for i in range(TARGET_CACHE_SIZE + 10):
        docs.app.pipeline.target_of("/v1.0/accesskeys", f"page_size={i}".encode())
    assert 0 < len(docs.app.pipeline._targets) <= TARGET_CACHE_SIZE


def test_a_created_rendering_is_the_key_plus_its_token(fake: Harness) -> None:
    client = fake.client()
    created = client.post("/accesskeys", json={"name": 'a "<b>" & c', "expire": 86400})
    assert created.status_code == 200, created.text
    body = created.json()
    got = client.get(f"/accesskeys/{body['id']}").json()
    token = body.pop("token")
    assert body == got
    assert token.startswith(got["token_prefix"])
    # Go's escapes survive the splice: < > & are written \u003c \u003e \u0026.
    assert b"\\u003cb\\u003e" in created.content and b"\\u0026" in created.content


def test_a_rendering_that_breaks_the_spec_is_still_refused(docs: Harness) -> None:
    key = AccessKey("not-a-uuid", "c", "n", "", "h" * 64, "vb_12345678", 1, None)
    with pytest.raises(InvalidResponse, match="id"):
        docs.app.pipeline.renderer.key(docs.state.profile, key)


def test_timestamps_from_the_seconds_cache_are_strftime_s() -> None:
    import time

    from fakevoipbin.core.clock import US, format_fixed, format_trimmed

    rng = random.Random(3)
    instants = [rng.randrange(0, 253402300799 * US) for _ in range(500)]
    instants += [instants[0] + i for i in range(0, 3 * US, 250_000)]  # repeats in a second
    for us in instants * 2:  # the second pass reads what the first cached
        secs, frac = divmod(us, US)
        head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
        assert format_fixed(us) == f"{head}.{frac:06d}Z"
        trimmed = f"{head}.{frac:06d}".rstrip("0").rstrip(".") + "Z"
        assert format_trimmed(us) == trimmed


@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet="abcXYZ019_-+/=é\u0660", min_size=32, max_size=33).map(
            lambda t: "vb_" + t
        ),
        st.sampled_from(
            ["vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe", "vb_" + "_" * 32, "vb_" + "-" * 32]
        ),
    )
)
def test_the_token_check_is_the_spec_pattern(text: str) -> None:
    import re

    from fakevoipbin.spec import default_spec
    from fakevoipbin.web.render import _is_token

    schemas = default_spec().doc["components"]["schemas"]
    pattern = schemas["AccesskeyCreated"]["properties"]["token"]["pattern"]
    assert bool(_is_token(text)) == bool(re.fullmatch(pattern.strip("^$"), text))


def test_without_crosscheck_a_validator_answers_as_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fakevoipbin.spec import Spec

    monkeypatch.setenv("FAKEVOIPBIN_CROSSCHECK", "0")
    plain = Spec().schema_validator("Accesskey")
    monkeypatch.setenv("FAKEVOIPBIN_CROSSCHECK", "1")
    checked = Spec().schema_validator("Accesskey")
    assert plain.is_valid is plain.fast and not plain.crosscheck
    good = {
        "id": "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc",
        "customer_id": "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840",
        "token_prefix": "vb_a3Bf9xKm",
        "tm_expire": "2027-12-01T10:15:30.123456Z",
        "tm_create": "2026-12-01T10:15:30.123456Z",
        "tm_update": "2026-12-01T10:15:30.123456Z",
        "tm_delete": "9999-01-01T00:00:00.000000Z",
    }
    cases = [good, {**good, "id": "nope"}, {**good, "token": "vb_x"}, {}, [], None]
    for case in cases:
        assert plain.is_valid(case) is checked.is_valid(case)
    assert plain.is_valid(good) is True
