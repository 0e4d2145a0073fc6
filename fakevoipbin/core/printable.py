"""Text as a terminal may be shown it: what a request carried (its path, a value in a
message), with every character that would steer a terminal spelled out.

A client's path may decode to an escape sequence (``%1B``), a backspace or a newline;
printed raw, it would rewrite what the report or the access log shows. ``shown``
spells each such character out as ``\\x1b`` (``\\u202e`` above U+00FF), so the line
says what was asked and nothing else. JSON files and the journal keep the text as it
was: JSON escapes it itself."""

from __future__ import annotations

import re

#: What a terminal must not be handed raw: C0 controls (tab and newline included: a
#: shown value stays on its line), DEL, C1 controls, lone surrogates, and the
#: bidirectional overrides and isolates that reorder what follows them.
_STEERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u202a-\u202e\u2066-\u2069]")


#: What XML 1.0 cannot carry, escaped or not: control characters other than tab,
#: newline and carriage return; surrogates; U+FFFE and U+FFFF.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def shown(text: str) -> str:
    """``text`` with each character that could steer a terminal spelled out."""
    return _STEERS.sub(_spelled, text)


def xml_text(text: str) -> str:
    """``text`` with each character XML 1.0 cannot hold spelled out (``\\x1b``), so an
    XML file holding it still parses (ElementTree escapes the rest)."""
    return _NOT_XML.sub(_spelled, text)


def _spelled(m: re.Match[str]) -> str:
    code = ord(m[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
