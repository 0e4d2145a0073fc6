"""One seed, one stream per purpose (fakevoipbin/core/seeds.py): a draw for one purpose
never shifts another's."""

from __future__ import annotations

import re

from fakevoipbin.core.seeds import Seeds


def test_side_request_ids_are_a_stream_of_their_own() -> None:
    """The API's request ids come from "request-ids"; the control API's, /ping's and
    the spec file's from "side-request-ids": drawing one never shifts the other."""
    plain = Seeds(7)
    expected = [plain.request_id() for _ in range(3)]
    mixed = Seeds(7)
    got = []
    for _ in range(3):
        side = mixed.request_id("side-request-ids")
        assert re.fullmatch(r"req_[A-Z2-7]{26}", side)
        got.append(mixed.request_id())
    assert got == expected
    assert side not in expected


def test_restart_gives_each_stream_its_first_draw_again() -> None:
    seeds = Seeds(3)
    first = (seeds.request_id(), seeds.request_id("side-request-ids"), seeds.token())
    seeds.restart()
    assert (seeds.request_id(), seeds.request_id("side-request-ids"), seeds.token()) == first
