"""The token's format, the UUID and the nil UUID are declared once (``core/formats.py``):
the spec says the same, the tokens the fake makes have that shape, the schemas and the
masks derive from it, and no other module of the package spells one out again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fakevoipbin
from fakevoipbin.core import formats
from fakevoipbin.core.seeds import Seeds
from fakevoipbin.fixtures import _SCHEMA as FIXTURE_SCHEMA
from fakevoipbin.spec import default_spec

PACKAGE = Path(fakevoipbin.__file__).parent
#: What spells a shape out: a UUID's or a token's regex, the nil UUID.
SPELLINGS = {
    "a UUID pattern": re.compile(re.escape("[0-9a-f]{8}-")),
    "a token pattern": re.compile(re.escape("vb_[")),
    "the nil UUID": re.compile(re.escape(formats.NIL_UUID)),
}
#: Modules another change points at core/formats.py (the exchange rules are moving);
#: each must still hold its own spelling, so the entry goes once it does not.


def test_the_spec_writes_the_same_patterns() -> None:
    schemas = default_spec().doc["components"]["schemas"]
    assert schemas["AccesskeyCreated"]["properties"]["token"]["pattern"] == formats.TOKEN_PATTERN
    assert schemas["TokenPrefix"]["pattern"] == formats.TOKEN_PREFIX_PATTERN
    assert schemas["Uuid"]["pattern"] == formats.UUID_PATTERN


def test_the_fixture_schema_takes_tokens_of_the_declared_format() -> None:
    customer = FIXTURE_SCHEMA["properties"]["customers"]["items"]["properties"]
    key = customer["keys"]["items"]["properties"]
    assert key["token"]["pattern"] == formats.TOKEN_PATTERN
    assert customer["id"]["pattern"] == formats.UUID_PATTERN


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_made_tokens_have_the_format_and_their_prefix_is_the_first_eleven(seed: int) -> None:
    seeds = Seeds(seed)
    for _ in range(200):
        token = seeds.token()
        assert formats.TOKEN_RE.fullmatch(token), token
        prefix = formats.token_prefix(token)
        assert len(prefix) == formats.TOKEN_PREFIX_LEN == 11
        assert formats.TOKEN_PREFIX_RE.fullmatch(prefix) and token.startswith(prefix)


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("vb_" + "a" * 32, True),
        ("vb_" + "-_09AZaz" * 4, True),
        ("vb_" + "a" * 31, False),
        ("vb_" + "a" * 33, False),
        ("vb_" + "a" * 31 + "+", False),
        ("vb_" + "a" * 32 + "\n", False),
        ("VB_" + "a" * 32, False),
    ],
)
def test_the_token_pattern(text: str, token: bool) -> None:
    assert bool(formats.TOKEN_RE.fullmatch(text)) is token


def test_what_looks_like_a_token_is_longer_than_a_prefix_and_a_word_of_its_own() -> None:
    found = formats.TOKENISH_RE.findall
    assert found("key vb_abcdefgh1 and vb_abcdefgh") == ["vb_abcdefgh1"]
    assert found("xvb_abcdefgh1234") == []
    assert found("vb_" + "Z" * 32) == ["vb_" + "Z" * 32]


def test_the_nil_uuid_is_a_uuid() -> None:
    assert formats.UUID_RE.fullmatch(formats.NIL_UUID)
    assert formats.NIL_UUID.replace("-", "") == "0" * 32


def test_no_other_module_spells_a_shape_out() -> None:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "formats.py" and path.parent.name == "core":
            continue
        text = path.read_text(encoding="utf-8")
        for what, spelling in SPELLINGS.items():
            if spelling.search(text):
                found.setdefault(path.name, set()).add(what)
    assert found == {}, "declare it in core/formats.py and import it from there"
