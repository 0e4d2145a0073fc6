"""Whatever body a client sends, the journal shows it and every control endpoint still
answers (core/journal.py's reading of a body, core/redact.py's walk over it).

A number keeps its digits: an integer past 64 bits stays an integer (the standard
library writes it exactly; ``GET /_fake/journal`` carries its digits as a JSON
number), a number no double holds (``1e309``) keeps its text as a string, a body with
``NaN`` or ``Infinity`` (not JSON) is shown as text, and a lone surrogate escape
(``"\\ud800"``) reads as U+FFFD, as Go's decoder reads it. The property test sends
bodies of every kind to the API and reads the journal, the state dump and run's
report back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakevoipbin import FakeVoipbin
from fakevoipbin.checks.report import ClientReport
from fakevoipbin.core.journal import Entry, Journal
from fakevoipbin.core.redact import MAX_DEPTH
from fakevoipbin.spec import Spec
from fakevoipbin.web.encoding import encode_json

from ..conftest import NOW, TUTORIAL_KEY_ID, TUTORIAL_TOKEN, Harness
from ..proxy.test_app import closed_port, proxy_to
from ..test_server import start, stop

BIG = 123456789012345678901234567890123
#: The issue's body: an integer past 64 bits and a number past a double's range.
BOTH = b'{"expire": 86400, "a": 123456789012345678901234567890123, "b": 1e309}'


def strict_json(raw: bytes) -> Any:
    """JSON as a strict reader takes it: UTF-8, no NaN or Infinity."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(raw.decode("utf-8"), parse_constant=refuse)


def one_entry(raw: bytes) -> Entry:
    j = Journal()
    j.record(
        time_us=0, method="POST", target="/v1.0/accesskeys", operation_id="PostAccesskeys",
        status=200, body=raw,
    )  # fmt: skip
    (entry,) = j.entries()
    return entry


def round_trip(entry: Entry) -> Entry:
    """The entry after a trip through ``GET /_fake/journal``'s encoder."""
    return Entry.from_dict(strict_json(encode_json(entry.as_dict())))


# --- one entry ------------------------------------------------------------------------


def test_a_big_integer_keeps_its_digits_and_a_number_past_a_double_its_text() -> None:
    entry = one_entry(BOTH)
    assert entry.json == {"expire": 86400, "a": BIG, "b": "1e309"}
    written = encode_json(entry.as_dict())
    assert b'"a":123456789012345678901234567890123' in written
    assert b'"b":"1e309"' in written
    assert round_trip(entry) == entry


def test_a_big_integer_alone_is_written_exactly() -> None:
    entry = one_entry(b'{"a": -123456789012345678901234567890123}')
    assert entry.json == {"a": -BIG}
    assert b'"a":-123456789012345678901234567890123' in encode_json(entry.as_dict())
    assert round_trip(entry) == entry


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b'{"expire": 1e999999}', {"expire": "1e999999"}),
        (b'{"expire": -1E400, "n": [1e309]}', {"expire": "-1E400", "n": ["1e309"]}),
        (b'{"tiny": 1e-400, "z": -0.0, "i": -0}', {"tiny": 0.0, "z": -0.0, "i": 0}),
        (b'{"max": 1.7976931348623157e308}', {"max": 1.7976931348623157e308}),
    ],
)
def test_numbers_a_double_cannot_hold_keep_their_text(raw: bytes, shown: Any) -> None:
    entry = one_entry(raw)
    assert entry.json == shown
    assert round_trip(entry) == entry


@pytest.mark.parametrize("raw", [b'{"expire": NaN}', b"[Infinity]", b'{"a": -Infinity}', b"NaN"])
def test_nan_and_infinity_are_not_json_and_show_as_text(raw: bytes) -> None:
    entry = one_entry(raw)
    assert (entry.json, entry.body) == (None, raw.decode())
    assert round_trip(entry) == entry


def test_a_lone_surrogate_reads_as_the_replacement_character() -> None:
    entry = one_entry(b'{"name": "a\\ud800b", "\\udfff": ["\\udc00"], "ok": "\\ud83d\\ude00"}')
    assert entry.json == {"name": "a\ufffdb", "\ufffd": ["\ufffd"], "ok": "\U0001f600"}
    assert round_trip(entry) == entry


# --- in-process, through the API -------------------------------------------------------


@pytest.fixture
def local() -> Iterator[FakeVoipbin]:
    with FakeVoipbin(now=NOW) as fake:
        yield fake


def post(fake: FakeVoipbin, raw: bytes, path: str = "/accesskeys") -> httpx.Response:
    with fake.client(params={"accesskey": fake.accesskey}) as c:
        return c.post(path, content=raw, headers={"content-type": "application/json"})


def test_get_journal_answers_after_a_big_integer_and_a_number_past_a_double(
    local: FakeVoipbin,
) -> None:
    assert post(local, BOTH).status_code == 200  # production ignores unknown fields
    with local.client(base_url=local.base_url) as ctl:
        r = ctl.get("/_fake/journal")
        assert r.status_code == 200
        (served,) = strict_json(r.content)["entries"]
        assert served["json"] == {"expire": 86400, "a": BIG, "b": "1e309"}
        assert ctl.get("/_fake/state").status_code == 200
    (entry,) = local.journal.calls("PostAccesskeys", json={"a": BIG, "b": "1e309"})
    assert Entry.from_dict(served) == entry


def test_get_journal_answers_after_the_two_in_two_bodies(local: FakeVoipbin) -> None:
    assert post(local, b'{"expire": 86400, "a": 123456789012345678901234567890123}').is_success
    assert post(local, b'{"expire": 86400, "b": -1e309}').is_success
    assert post(local, b'{"expire": 86400, "name": "\\ud800"}').is_success
    with local.client(base_url=local.base_url) as ctl:
        r = ctl.get("/_fake/journal")
        assert r.status_code == 200
        served = strict_json(r.content)["entries"]
    assert [e["json"] for e in served] == [
        {"expire": 86400, "a": BIG},
        {"expire": 86400, "b": "-1e309"},
        {"expire": 86400, "name": "\ufffd"},
    ]
    assert [Entry.from_dict(e) for e in served] == local.journal.entries()
    local.journal.assert_called("PostAccesskeys", times=1, json={"b": "-1e309"})


def test_the_proxys_journal_answers_after_them_too() -> None:
    """``fakevoipbin proxy`` journals what it forwards (here, to nothing) the same way."""
    with (
        proxy_to(f"http://127.0.0.1:{closed_port()}/v1.0") as session,
        httpx.Client(timeout=10) as c,
    ):
        for raw in (BOTH, b'{"name": "\\ud800", "n": NaN}'):
            r = c.post(
                session.url + "/accesskeys",
                content=raw,
                params={"accesskey": TUTORIAL_TOKEN},
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 502
        journal = c.get(session.server.root + "/_fake/journal")
        assert journal.status_code == 200
        entries = strict_json(journal.content)["entries"]
    assert [(e["json"], e["body"]) for e in entries] == [
        ({"expire": 86400, "a": BIG, "b": "1e309"}, None),
        (None, '{"name": "\\ud800", "n": NaN}'),
    ]


# --- any body, in-process ----------------------------------------------------------------

_NUMBERS = st.one_of(
    st.integers().map(str),
    st.integers(min_value=2**63, max_value=10**80).flatmap(
        lambda n: st.sampled_from([str(n), f"-{n}"])
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,7})?", fullmatch=True),
    st.sampled_from(
        [
            "1e309",
            "-1e309",
            "1e999999",
            "-1e999999",
            "1e-999999",
            "-0",
            "-0.0",
            "4.9e-324",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
        ]
    ),  # fmt: skip
)
_STRING_PARTS = st.sampled_from(
    ["a", "é", "\\ud800", "\\udfff", "\\udc00\\ud800", "\\ud83d\\ude00", "\\u0000", "<&>",
     "\\\\", '\\"', "\\u2028", "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe", " "]
)  # fmt: skip
_STRINGS = st.one_of(
    st.lists(_STRING_PARTS, max_size=6).map(lambda parts: '"' + "".join(parts) + '"'),
    st.text(max_size=8).map(json.dumps),
)
_LEAVES = st.one_of(
    _NUMBERS,
    _STRINGS,
    st.sampled_from(["true", "false", "null", "NaN", "Infinity", "-Infinity"]),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(_STRINGS | st.sampled_from(['"password"', '"expire"']), inner),
                 max_size=4).map(
            lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"
        ),
    ),
    max_leaves=12,
)  # fmt: skip
_DEEP = st.tuples(
    st.sampled_from([MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 999, 1001, 3000]),
    st.sampled_from([("[", "]"), ('{"a":', "}")]),
    _LEAVES,
).map(lambda t: t[1][0] * t[0] + t[2] + t[1][1] * t[0])
_BODIES = st.one_of(
    _VALUES.map(str.encode),
    _VALUES.map(lambda v: f'{{"expire": 86400, "name": "n", "x": {v}}}'.encode()),
    _NUMBERS.map(lambda n: f'{{"expire": {n}}}'.encode()),
    _DEEP.map(str.encode),
    st.binary(max_size=16),
)
#: (method, path under the server's root) of the operations that read a body.
_READERS = [
    ("POST", "/v1.0/accesskeys"),
    ("PUT", f"/v1.0/accesskeys/{TUTORIAL_KEY_ID}"),
    ("PUT", "/v1.0/customer"),
    ("PUT", "/v1.0/customer/metadata"),
    ("POST", "/auth/login"),
]


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


@pytest.fixture(scope="module")
def report(harness: Harness) -> ClientReport:
    """run's report, fed by the journal as ``fakevoipbin run`` feeds it."""
    found = ClientReport(Spec())
    harness.state.journal.observers.append(found.observe)
    return found


@settings(max_examples=300, derandomize=True, deadline=None)
@given(raw=_BODIES, reader=st.sampled_from(_READERS))
def test_no_body_makes_the_api_or_a_control_endpoint_fail(
    harness: Harness, report: ClientReport, raw: bytes, reader: tuple[str, str]
) -> None:
    harness.state.reset()
    harness.state.journal.clear()
    method, path = reader
    with httpx.Client(transport=harness.transport, base_url="http://testserver") as c:
        answer = c.request(
            method,
            path,
            content=raw,
            params={"accesskey": TUTORIAL_TOKEN},
            headers={"content-type": "application/json"},
        )
        assert answer.status_code < 500, (answer.status_code, answer.text)
        r = c.get("/_fake/journal")
        assert r.status_code == 200, r.text
        served = strict_json(r.content)["entries"]
        assert [Entry.from_dict(e) for e in served] == harness.state.journal.entries()
        assert len(served) == 1
        dump = c.get("/_fake/state")
        assert dump.status_code == 200, dump.text
        strict_json(dump.content)
    json.loads(report.to_json())
    report.junit()


# --- the journal shows what the API read (one parser for both) -------------------------

#: Bodies the API and the journal once read differently: (body, the API's status, the
#: journal's json). A BOM is not JSON to the API; a byte that is not UTF-8 reads as
#: U+FFFD; bytes after the JSON value are ignored; leading whitespace is skipped.
AS_THE_API_READ = [
    (b'\xef\xbb\xbf{"name": "bom", "expire": 86400}', 400, None),
    (b'{"name": "\xff", "expire": 86400}', 200, {"name": "\ufffd", "expire": 86400}),
    (b'{"expire": 86400} trailing', 200, {"expire": 86400}),
    (b'{"expire": 86400}{"expire": 1}', 200, {"expire": 86400}),
    (b' \r\n\t{"expire": 86400}', 200, {"expire": 86400}),
]


@pytest.mark.parametrize(("raw", "status", "shown"), AS_THE_API_READ)
def test_the_journals_json_is_what_the_api_read(
    local: FakeVoipbin, raw: bytes, status: int, shown: Any
) -> None:
    r = post(local, raw)
    assert r.status_code == status
    (entry,) = local.journal.entries()
    assert entry.json == shown
    if shown is None:
        assert entry.reason == "INVALID_JSON_BODY"
        assert entry.body == raw.decode("utf-8", "replace")
    else:
        assert entry.body is None
        local.journal.assert_called("PostAccesskeys", json={"expire": 86400}, status=200)


def test_the_journals_json_is_what_the_api_read_over_a_socket() -> None:
    """The user's case: ``make run``'s server, a socket client, the journal read by an
    attached fake (``GET /_fake/journal``)."""
    served = start("--now", "2026-12-01T10:15:30.123456Z")
    try:
        attached = FakeVoipbin.attach(served.url)
        with httpx.Client(timeout=10) as c:
            for raw, status, _shown in AS_THE_API_READ:
                r = c.post(
                    served.url + "/accesskeys",
                    content=raw,
                    params={"accesskey": TUTORIAL_TOKEN},
                    headers={"content-type": "application/json"},
                )
                assert r.status_code == status
        entries = attached.journal.entries()
        assert [e.json for e in entries] == [shown for _raw, _status, shown in AS_THE_API_READ]
        attached.journal.assert_called("PostAccesskeys", json={"expire": 86400}, status=200)
        attached.journal.assert_called("PostAccesskeys", status=400, times=1)
    finally:
        stop(served)
