"""The shapes of the API's identifiers, declared once: an access key's token and its
public prefix, a UUID and the nil UUID. Everything that makes, checks, masks or
describes one derives from here: the fixture and dump schemas, the renderer's check,
the contract's rules, the recording, the run's log masking.

The ``*_PATTERN`` strings are JSON Schema patterns, as openapi.yaml writes them
(``^…$``); the compiled ``*_RE`` are those patterns. Use ``fullmatch`` for a strict
whole-string check (``match`` also takes one trailing newline, as ``$`` does).
"""

from __future__ import annotations

import re

#: Every token starts so; production's tokens are ``vb_`` and 32 more characters.
TOKEN_LEAD = "vb_"
#: The characters after ``vb_``: URL-safe base64, as a regex character class's body.
TOKEN_ALPHABET = "A-Za-z0-9_-"
#: How many characters follow ``vb_``.
TOKEN_BODY_CHARS = 32
#: ``token_prefix`` is the token's first 11 characters: ``vb_`` and 8 more.
TOKEN_PREFIX_LEN = 11

#: The token, as openapi.yaml's AccesskeyCreated.token pattern.
TOKEN_PATTERN = f"^{TOKEN_LEAD}[{TOKEN_ALPHABET}]{{{TOKEN_BODY_CHARS}}}$"
#: A token_prefix.
TOKEN_PREFIX_PATTERN = f"^{TOKEN_LEAD}[{TOKEN_ALPHABET}]{{{TOKEN_PREFIX_LEN - len(TOKEN_LEAD)}}}$"
TOKEN_RE = re.compile(TOKEN_PATTERN)
TOKEN_PREFIX_RE = re.compile(TOKEN_PREFIX_PATTERN)
#: Anything that looks like a token and is longer than a prefix (``vb_`` and at least
#: 9 more), not inside a longer word: what a log masks down to its prefix.
TOKENISH_RE = re.compile(
    f"(?<![{TOKEN_ALPHABET}]){TOKEN_LEAD}[{TOKEN_ALPHABET}]"
    f"{{{TOKEN_PREFIX_LEN - len(TOKEN_LEAD) + 1},}}"
)


def token_prefix(token: str) -> str:
    """The public part of a token, as ``token_prefix`` shows it."""
    return token[:TOKEN_PREFIX_LEN]


#: A UUID in canonical lowercase text (what production's ids look like).
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
UUID_RE = re.compile(UUID_PATTERN)
#: The UUID that is no id (production's ``uuid.Nil``): an unset billing account, a
#: refused key id.
NIL_UUID = "00000000-0000-0000-0000-000000000000"
