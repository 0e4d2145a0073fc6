"""What the journal keeps of an answer, for its HAR (core/journal.py ``Answer``,
``Journal.exchanges``), and ``entries(after=SEQ)``: the answer's body bounded and
redacted as a request's is, only the kept headers, and the entries as they were."""

from __future__ import annotations

import gzip
import json
from typing import Any

from fakevoipbin.core.journal import KEPT_ANSWER_HEADERS, MAX_BODY, Entry, Journal

TOKEN = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"


def record(j: Journal, **kw: Any) -> None:
    base: dict[str, Any] = {
        "time_us": 0,
        "method": "GET",
        "target": "/v1.0/accesskeys",
        "operation_id": "GetAccesskeys",
        "status": 200,
    }
    j.record(**{**base, **kw})


def test_an_answer_is_kept_redacted_with_its_kept_headers_only() -> None:
    j = Journal()
    answer = {"id": "k", "token": TOKEN, "token_prefix": TOKEN[:11], "note": f"x {TOKEN}"}
    record(
        j,
        answer=json.dumps(answer).encode(),
        answer_headers=(
            (b"Content-Type", b"application/json"),
            (b"set-cookie", b"session=" + TOKEN.encode()),
            (b"x-request-id", b"req_1"),
            (b"location", b"/v1.0/accesskeys?accesskey=" + TOKEN.encode()),
        ),
    )
    [(entry, kept)] = j.exchanges()
    assert entry == j.entries()[0]
    assert kept.json == {
        "id": "k",
        "token": "[REDACTED]",
        "token_prefix": TOKEN[:11],
        "note": f"x {TOKEN[:11]}…",
    }
    assert kept.body is None and kept.size == len(json.dumps(answer)) and not kept.truncated
    assert set(kept.headers) == {"content-type", "x-request-id", "location"}
    assert set(kept.headers) <= set(KEPT_ANSWER_HEADERS)
    assert TOKEN not in repr(kept)


def test_an_answer_over_max_body_is_cut_and_says_so() -> None:
    j = Journal()
    big = json.dumps({"result": ["x" * 100] * 100}).encode()
    assert len(big) > MAX_BODY
    record(j, answer=big)
    [(_entry, kept)] = j.exchanges()
    assert kept.truncated and kept.size == len(big)
    assert kept.json is None and kept.body is not None and len(kept.body) <= MAX_BODY


def test_a_gzip_answer_is_read_decoded() -> None:
    j = Journal()
    record(
        j,
        answer=gzip.compress(b'{"token": "' + TOKEN.encode() + b'"}'),
        answer_headers=((b"content-encoding", b"gzip"),),
    )
    assert j.exchanges()[0][1].json == {"token": "[REDACTED]"}


def test_no_answer_is_an_empty_one() -> None:
    j = Journal()
    record(j)
    kept = j.exchanges()[0][1]
    assert (kept.json, kept.body, kept.size, kept.headers) == (None, None, 0, {})


def test_entries_after_a_number_are_the_newer_ones_only() -> None:
    j = Journal(size=3)
    for status in (200, 201, 202, 203, 204):
        record(j, status=status)
    assert [e.seq for e in j.entries()] == [3, 4, 5]
    assert [e.seq for e in j.entries(after=3)] == [4, 5]
    assert [e.seq for e in j.entries(after=1)] == [3, 4, 5]  # older ones were dropped
    assert j.entries(after=5) == [] and j.exchanges(after=9) == []
    assert [e.seq for e, _ in j.exchanges(after=4)] == [5]


def test_the_journals_own_answer_has_no_answer_fields() -> None:
    """``GET /_fake/journal`` is as it was: an entry shows no answer body or headers."""
    j = Journal()
    record(j, answer=b'{"a": 1}', answer_headers=((b"content-type", b"application/json"),))
    shown = j.entries()[0].as_dict()
    assert set(shown) == {"seq", "time"} | {
        f for f in Entry.__dataclass_fields__ if f not in ("seq", "time_us")
    }
    assert '"a": 1' not in json.dumps(shown) and "application/json" not in json.dumps(shown)
