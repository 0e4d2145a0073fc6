"""core/printable.py: what a terminal may be shown of a request."""

from __future__ import annotations

import pytest

from fakevoipbin.core.printable import shown


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("/accesskeys/\x00]]>\x1b\x08<x>&", "/accesskeys/\\x00]]>\\x1b\\x08<x>&"),
        ("a\nb\tc\rd", "a\\x0ab\\x09c\\x0dd"),  # a shown value stays on its line
        ("\x7f\x85\x9b", "\\x7f\\x85\\x9b"),  # DEL and C1 (0x9b is a CSI on its own)
        ("abc\u202edcba", "abc\\u202edcba"),  # a bidi override
        ("\ud800", "\\ud800"),  # a lone surrogate
        ("plain café / é ü ✓", "plain café / é ü ✓"),  # printable text is left alone
    ],
)
def test_shown_spells_out_what_would_steer_a_terminal(raw: str, want: str) -> None:
    assert shown(raw) == want
    assert shown(raw).isprintable()
