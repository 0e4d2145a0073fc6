"""The request journal (core/journal.py, core/redact.py, the pipeline's journal stage)
and its matchers (journal_queries.py): what each entry holds (the error reason, the
body redacted, the kept headers), that nothing on the way in parses the body and rows
stay out of the garbage collector, the matchers of ``JournalQueries``,
``Entry.from_dict`` undoing ``as_dict``, and that no credential or secret is ever
written down."""

from __future__ import annotations

import ast
import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from fakevoipbin import journal_queries
from fakevoipbin.core import journal as journal_module
from fakevoipbin.core.clock import parse_instant
from fakevoipbin.core.journal import DEFAULT_SIZE, MAX_BODY, Entry, Journal
from fakevoipbin.core.redact import MAX_DEPTH, redact_body_text
from fakevoipbin.journal_queries import ANY, JournalQueries, LocalJournal

from .. import spec_check
from ..conftest import ADMIN_LOGIN, NOW, TUTORIAL_TOKEN, Harness

ROOT = Path(__file__).resolve().parents[2]
T0 = parse_instant(NOW)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
SECRET = "s3cr3t-value-no-one-may-see"


def record(j: Journal, **kw: Any) -> None:
    base: dict[str, Any] = {
        "time_us": T0,
        "method": "POST",
        "target": "/v1.0/accesskeys?accesskey=[REDACTED]",
        "operation_id": "PostAccesskeys",
        "status": 200,
    }
    base.update(kw)
    j.record(**base)


def queries(h: Harness) -> LocalJournal:
    """The matchers over a harness's journal, as ``fake.journal`` has them."""
    return LocalJournal(h.state.journal)


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.fixture
def ctl(docs: Harness) -> Iterator[httpx.Client]:
    """The control API, in-process (no response hook: it is not openapi.yaml)."""
    with httpx.Client(transport=docs.transport, base_url="http://testserver") as c:
        yield c


def everything_written(docs: Harness, ctl: httpx.Client) -> str:
    """The journal as Python shows it and as ``GET /_fake/journal`` does, in one text."""
    entries = [json.dumps(e.as_dict(), ensure_ascii=False) for e in docs.state.journal.entries()]
    return "\n".join([*entries, *(repr(e) for e in docs.state.journal.entries())]) + (
        ctl.get("/_fake/journal").text
    )


# --- what an entry holds, end to end ------------------------------------------------


def test_an_entry_holds_the_body_the_kept_headers_and_no_reason_for_a_success(
    docs: Harness, ctl: httpx.Client
) -> None:
    sent = {"name": "ci", "detail": "from the CI", "expire": 86400}
    created = docs.client().post(
        "/accesskeys",
        json=sent,
        params={"page_size": "5"},
        headers={"User-Agent": "client/1.2", "X-Request-Id": "rid-42"},
    )
    assert created.status_code == 200
    (entry,) = docs.state.journal.entries()
    assert entry.json == sent
    assert entry.body is None and entry.body_truncated is False
    assert entry.headers == {
        "content-type": "application/json",
        "user-agent": "client/1.2",
        "x-request-id": "rid-42",
    }
    assert entry.reason is None
    assert entry.query == {"page_size": ["5"], "accesskey": ["[REDACTED]"]}
    queries(docs).assert_called(
        "PostAccesskeys",
        json={"name": "ci"},
        query={"page_size": "5"},
        status=200,
        reason=None,
        times=1,
    )
    # The new key's token, answered to the client, is nowhere in the journal.
    token = created.json()["token"]
    assert token.startswith("vb_")
    written = everything_written(docs, ctl)
    assert token not in written and TUTORIAL_TOKEN not in written


def test_an_entry_holds_the_error_reason(docs: Harness) -> None:
    anonymous = docs.client(None)
    anonymous.get("/accesskeys")
    anonymous.get("/accesskeys", params={"accesskey": "vb_" + "x" * 32})
    docs.client().post("/accesskeys", json={"name": "a", "expire": "a day"})
    docs.client().get("/accesskeys/not-a-uuid")
    reasons = [(e.status, e.reason) for e in docs.state.journal.entries()]
    assert reasons == [
        (401, "AUTHENTICATION_REQUIRED"),
        (401, "INVALID_CREDENTIALS"),
        (400, "INVALID_JSON_BODY"),
        (400, "INVALID_ID"),
    ]
    queries(docs).assert_called("GetAccesskeys", times=2, status=401)
    queries(docs).assert_called("GetAccesskeys", times=1, reason="INVALID_CREDENTIALS")
    queries(docs).assert_not_called("GetAccesskeys", reason=None)


def test_a_refused_login_has_no_reason_and_its_password_is_redacted(
    docs: Harness, ctl: httpx.Client
) -> None:
    root = docs.client(None, root=True)
    assert root.post("/auth/login", json={**ADMIN_LOGIN, "password": SECRET}).status_code == 400
    good = root.post("/auth/login", json=ADMIN_LOGIN)
    assert good.status_code == 200
    refused, ok = docs.state.journal.entries()
    assert (refused.status, refused.reason) == (400, None)  # a bare 400, no envelope
    assert refused.json == {"username": ADMIN_LOGIN["username"], "password": "[REDACTED]"}
    assert ok.json == refused.json
    written = everything_written(docs, ctl)
    assert SECRET not in written
    assert ADMIN_LOGIN["password"] not in written
    assert good.json()["token"] not in written  # the JWT answered
    # A secret is never matchable by its value.
    assert queries(docs).calls("PostAuthLogin", json={"password": SECRET}) == []
    assert len(queries(docs).calls("PostAuthLogin", json={"password": "[REDACTED]"})) == 2


def test_authorization_and_cookie_are_never_recorded(docs: Harness, ctl: httpx.Client) -> None:
    anonymous = docs.client(None)
    bearer = anonymous.get("/accesskeys", headers={"Authorization": f"Bearer {TUTORIAL_TOKEN}"})
    cookie = anonymous.get("/accesskeys", headers={"Cookie": f"accesskey={TUTORIAL_TOKEN}"})
    assert (bearer.status_code, cookie.status_code) == (200, 200)
    for entry in docs.state.journal.entries():
        assert set(entry.headers) <= {"content-type", "user-agent", "x-request-id"}
        assert entry.auth.startswith("accesskey vb_a3Bf9xKm")
    assert TUTORIAL_TOKEN not in everything_written(docs, ctl)


def test_credentials_in_the_query_are_redacted_and_never_matchable(
    docs: Harness, ctl: httpx.Client
) -> None:
    anonymous = docs.client(None)
    anonymous.get("/accesskeys", params={"accesskey": TUTORIAL_TOKEN, "page_size": "3"})
    anonymous.get("/accesskeys", params={"token": JWT})
    journal = queries(docs)
    assert journal.calls("GetAccesskeys", query={"accesskey": TUTORIAL_TOKEN}) == []
    assert journal.calls("GetAccesskeys", query={"token": JWT}) == []
    assert len(journal.calls(query={"accesskey": "[REDACTED]", "page_size": 3})) == 1
    assert len(journal.calls(query={"token": "[REDACTED]"})) == 1
    written = everything_written(docs, ctl)
    assert TUTORIAL_TOKEN not in written and JWT not in written


@pytest.mark.parametrize("name", ["accesskey", "token", "password", "webhook_secret"])
def test_a_secret_body_field_is_redacted_at_any_depth(
    docs: Harness, ctl: httpx.Client, name: str
) -> None:
    sent = {"name": "x", name: SECRET, "detail": {"inner": [{name: SECRET, "keep": 1}]}}
    docs.client().post("/accesskeys", json=sent)
    entry = docs.state.journal.entries()[-1]
    assert entry.json == {
        "name": "x",
        name: "[REDACTED]",
        "detail": {"inner": [{name: "[REDACTED]", "keep": 1}]},
    }
    assert SECRET not in everything_written(docs, ctl)


def test_a_body_that_is_not_json_is_kept_as_redacted_text(docs: Harness) -> None:
    docs.client().post(
        "/accesskeys",
        content=f"name=x&password={SECRET}&token={TUTORIAL_TOKEN}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    (entry,) = docs.state.journal.entries()
    assert entry.reason == "INVALID_JSON_BODY"
    assert entry.json is None
    assert entry.body == "name=x&password=[REDACTED]&token=[REDACTED]"
    assert entry.headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_body_over_4_kib_is_cut_and_marked(docs: Harness, ctl: httpx.Client) -> None:
    sent = {"password": f"{SECRET} with spaces", "name": "n", "detail": "d" * 6000}
    docs.client().post("/accesskeys", json=sent)
    (entry,) = docs.state.journal.entries()
    assert entry.body_truncated is True
    assert entry.json is None  # a cut body is not JSON any more
    assert entry.body is not None
    assert entry.body.startswith('{"password":"[REDACTED]","name":"n","detail":"ddd')
    assert len(entry.body.encode()) <= MAX_BODY
    assert SECRET not in everything_written(docs, ctl)
    # The row holds the first 4 KiB only.
    (row,) = docs.state.journal._entries
    assert len(row[12]) == MAX_BODY

    # Exactly MAX_BODY bytes is whole.
    j = Journal()
    whole = body({"detail": "x" * (MAX_BODY - 14)})
    assert len(whole) == MAX_BODY
    record(j, body=whole)
    (kept,) = j.entries()
    assert (kept.body_truncated, kept.json) == (False, json.loads(whole))


def test_a_request_refused_before_its_body_was_read_has_no_body(docs: Harness) -> None:
    docs.client(None).post("/accesskeys", json={"name": "x"})
    (entry,) = docs.state.journal.entries()
    assert (entry.status, entry.json, entry.body) == (401, None, None)


# --- the hot path --------------------------------------------------------------------


def test_recording_never_parses_or_redacts_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    work: list[str] = []
    for name in ("parse_body", "redact_json", "redact_body_text", "redact_text"):
        real = getattr(journal_module, name)
        monkeypatch.setattr(
            journal_module, name, lambda *a, _r=real, _n=name: work.append(_n) or _r(*a)
        )
    j = Journal()
    for i in range(50):
        record(j, body=body({"name": str(i), "password": "p"}), headers=(("user-agent", "u"),))
        record(j, body=b"not json", status=400, reason="INVALID_JSON_BODY")
    assert work == [], "recording parsed or redacted the body"
    entries = j.entries()
    assert "parse_body" in work and "redact_json" in work and "redact_body_text" in work
    assert entries[0].json == {"name": "0", "password": "[REDACTED]"}


def test_rows_are_not_tracked_by_the_garbage_collector() -> None:
    j = Journal()
    violation = [{"field": "expire", "rule": "type", "description": "expire must be ..."}]
    record(j)
    record(j, body=body({"name": "x"}), headers=(("content-type", "application/json"),))
    record(j, status=400, reason="INVALID_JSON_BODY", request_violations=violation)
    record(j, status=500, response_violations=violation)
    fault = {"rule": 1, "injected": True, "status": 503, "delay_ms": 0}
    record(j, status=503, reason="SERVICE_UNAVAILABLE", fault=fault)
    # A collection untracks a tuple once what it holds is untracked: a row holding
    # tuples of tuples goes on the third pass. One holding a dict never would.
    for _ in range(4):
        gc.collect()
    assert [gc.is_tracked(row) for row in j._entries] == [False] * 5
    # And they read back as they were given.
    entries = j.entries()
    assert entries[2].request_violations == violation
    assert entries[3].response_violations == violation
    assert entries[4].fault == fault


def test_the_journal_keeps_ten_thousand_entries_at_most() -> None:
    j = Journal()
    assert j.size == DEFAULT_SIZE == 10_000
    assert j._entries.maxlen == DEFAULT_SIZE
    for i in range(DEFAULT_SIZE + 3):
        record(j, target=f"/{i}", body=b"x" * (MAX_BODY + 10))
    assert len(j) == DEFAULT_SIZE
    assert j._entries[0][3] == "/3"
    assert max(len(row[12]) for row in j._entries) == MAX_BODY


# --- redaction of text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('{"password": "a \\"quoted\\" secret", "n": 1}', '{"password": "[REDACTED]", "n": 1}'),
        ('{"name": "x", "Password" : "cut in the mid', '{"name": "x", "Password" : "[REDACTED]"'),
        ('{"token": 12345, "x": 1}', '{"token": [REDACTED], "x": 1}'),
        ("user=a&PASSWORD=b+c%20d&x=1", "user=a&PASSWORD=[REDACTED]&x=1"),
        ("password: two words\nnext: 1", "password: [REDACTED]\nnext: 1"),
        ('{"webhook_secret":"s"}', '{"webhook_secret":"[REDACTED]"}'),
        ('{"password": "ends in a backslash\\', '{"password": "[REDACTED]"'),
        (f'{{"note": "{TUTORIAL_TOKEN}"}}', '{"note": "vb_a3Bf9xKm…"}'),
        (f"jwt {JWT} here", "jwt [REDACTED] here"),
    ],
)
def test_a_body_as_text_loses_its_secrets(text: str, shown: str) -> None:
    assert redact_body_text(text) == shown


def test_json_fields_are_secret_in_any_case_and_tokens_shrink() -> None:
    j = Journal()
    record(j, body=body({"AccessKey": SECRET, "Token": SECRET, "name": f"is {TUTORIAL_TOKEN}"}))
    (entry,) = j.entries()
    assert entry.json == {
        "AccessKey": "[REDACTED]",
        "Token": "[REDACTED]",
        "name": "is vb_a3Bf9xKm…",
    }


def test_a_body_nested_too_deep_is_shown_as_text() -> None:
    j = Journal()
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    record(j, body=deep.encode())
    (entry,) = j.entries()
    assert (entry.json, entry.body) == (None, deep)


def test_headers_are_redacted_when_read() -> None:
    j = Journal()
    record(j, headers=(("user-agent", f"bot {TUTORIAL_TOKEN}"), ("x-request-id", "r-1")))
    (entry,) = j.entries()
    assert entry.headers == {"user-agent": "bot vb_a3Bf9xKm…", "x-request-id": "r-1"}


# --- the matchers -------------------------------------------------------------------


@pytest.fixture
def filled() -> LocalJournal:
    j = Journal()
    record(
        j,
        body=body({"name": "ci", "detail": {"team": "a", "n": 1}, "tags": [1, 2], "on": True}),
        auth="accesskey vb_a3Bf9xKm",
        target="/v1.0/accesskeys?accesskey=[REDACTED]&page_size=5&x=1&x=2&flag=true",
    )
    record(
        j,
        body=body({"name": "b", "expire": "x"}),
        status=400,
        reason="INVALID_JSON_BODY",
        auth="accesskey vb_a3Bf9xKm",
    )
    record(j, method="GET", target="/v1.0/accesskeys", operation_id="GetAccesskeys", status=401,
           reason="AUTHENTICATION_REQUIRED", auth="refused: no credential")  # fmt: skip
    return LocalJournal(j)


def test_json_matches_as_a_subset(filled: LocalJournal) -> None:
    def count(wanted: Any) -> int:
        return len(filled.calls("PostAccesskeys", json=wanted))

    assert count({"name": "ci"}) == 1
    assert count({"detail": {"team": "a"}}) == 1  # nested objects: a subset too
    assert count({"detail": {"team": "b"}}) == 0
    assert count({"tags": [1, 2]}) == 1
    assert count({"tags": [1]}) == 0  # lists are equal, not a subset
    assert count({"tags": [2, 1]}) == 0
    assert count({"on": True}) == 1
    assert count({"on": 1}) == 0  # True is not 1
    assert count({"missing": None}) == 0
    assert count({}) == 2
    assert filled.calls("GetAccesskeys", json={}) == []  # no body is not an object


def test_query_matches_by_name_with_values_as_strings(filled: LocalJournal) -> None:
    def count(query: dict[str, Any]) -> int:
        return len(filled.calls(query=query))

    assert count({"page_size": "5"}) == 1
    assert count({"page_size": 5}) == 1
    assert count({"page_size": 6}) == 0
    assert count({"x": ["1", "2"]}) == 1  # every value, in order
    assert count({"x": "1"}) == 0
    assert count({"flag": True}) == 1
    assert count({"page_size": None}) == 2  # None: not sent
    assert count({}) == 3


def test_reason_left_out_is_any_and_none_is_no_reason(filled: LocalJournal) -> None:
    assert len(filled.calls("PostAccesskeys")) == 2
    assert len(filled.calls("PostAccesskeys", reason=ANY)) == 2
    assert [e.status for e in filled.calls("PostAccesskeys", reason=None)] == [200]
    assert [e.status for e in filled.calls(reason="INVALID_JSON_BODY")] == [400]
    filled.assert_called("PostAccesskeys", reason=None, times=1)
    filled.assert_called("PostAccesskeys", status=400, reason="INVALID_JSON_BODY", times=1)
    filled.assert_not_called("PostAccesskeys", reason="ACCESSKEY_NOT_FOUND")
    filled.assert_not_called("DeleteAccesskeysId")
    with pytest.raises(AssertionError, match="INVALID_JSON_BODY"):
        filled.assert_not_called("PostAccesskeys", status=400)


def test_a_failure_names_the_closest_calls_their_auth_reason_and_a_body_diff(
    filled: LocalJournal,
) -> None:
    with pytest.raises(AssertionError) as info:
        filled.assert_called("PostAccesskeys", json={"name": "b", "expire": 86400}, times=1)
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0].startswith("expected PostAccesskeys, json={'name': 'b', 'expire': 86400}")
    assert "it was called 0 time(s)" in lines[0]
    closest = [line for line in lines if line.startswith("  #")]
    # Both creates come before the list; the one whose body is nearest... is the newest.
    assert [line.split()[0] for line in closest] == ["#2", "#1", "#3"]
    assert "-> 400 INVALID_JSON_BODY auth=accesskey vb_a3Bf9xKm" in closest[0]
    assert "-> 401 AUTHENTICATION_REQUIRED auth=refused: no credential" in closest[2]
    assert '      body: {"name": "b", "expire": "x"}' in lines
    assert "body diff:" in lines
    diff = lines[lines.index("body diff:") + 1 :]
    assert '  -  "expire": 86400,' in diff
    assert '  +  "expire": "x",' in diff
    assert not any('"name"' in line and line.startswith(("  -", "  +")) for line in diff)

    with pytest.raises(AssertionError, match="the journal is empty"):
        LocalJournal(Journal()).assert_called("PostAccesskeys")


def test_a_mistyped_operation_id_is_an_error_not_a_pass(filled: LocalJournal) -> None:
    with pytest.raises(ValueError, match="PostAccessKeys"):
        filled.assert_not_called("PostAccessKeys")
    with pytest.raises(ValueError, match="not an operationId"):
        filled.calls("postAccesskeys")


def test_the_operations_the_matchers_know_are_the_spec_s() -> None:
    in_spec = {
        op["operationId"]: method.upper()
        for item in spec_check.DOC["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert in_spec == journal_queries._METHOD_OF


def test_the_queries_need_only_entries() -> None:
    """What attach mode's RemoteJournal does: entries from ``as_dict``s, read once per
    matcher call."""
    source = Journal()
    record(source, body=body({"name": "ci"}), headers=(("user-agent", "u/1"),))
    record(source, status=400, reason="INVALID_ARGUMENT")
    served = json.loads(json.dumps([e.as_dict() for e in source.entries()]))

    class Remote(JournalQueries):
        reads = 0

        def entries(self) -> list[Entry]:
            self.reads += 1
            return [Entry.from_dict(d) for d in served]

    remote = Remote()
    assert remote.entries() == source.entries()
    remote.reads = 0
    remote.assert_called("PostAccesskeys", json={"name": "ci"}, reason=None, times=1)
    with pytest.raises(AssertionError):
        remote.assert_called("PostAccesskeys", reason="NOPE")
    assert remote.reads == 2
    assert remote.calls("PostAccesskeys", reason="INVALID_ARGUMENT")[0].status == 400
    with pytest.raises(NotImplementedError):
        JournalQueries().entries()


def _imported(node: ast.AST) -> list[str]:
    """The modules an import of a core module names, relative ones resolved."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = ["fakevoipbin", "core"][: 3 - node.level]
        base = ".".join([*anchor, *([base] if base else [])])
    return [base, *(f"{base}.{a.name}" for a in node.names)]


def test_the_matchers_live_in_the_testing_face_and_the_core_never_imports_it() -> None:
    """core/journal.py keeps the entries and the ring buffer; the matchers are
    journal_queries.py's, which no module of the core imports (not even lazily)."""
    assert not hasattr(Journal(), "assert_called") and not hasattr(Journal(), "calls")
    face = {"testing", "attach", "journal_queries", "pytest_plugin"}
    assert _imported(ast.parse("from ..journal_queries import ANY").body[0])[0] == (
        "fakevoipbin.journal_queries"
    )
    core = Path(journal_module.__file__).parent
    for path in core.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported(node):
                top, _, rest = name.partition(".")
                assert not (top == "fakevoipbin" and rest.split(".")[0] in face), (
                    f"{path.name} imports {name}"
                )


# --- as_dict, from_dict and GET /_fake/journal ----------------------------------------


def test_from_dict_undoes_as_dict() -> None:
    j = Journal()
    record(
        j,
        body=body({"name": "ci", "password": "p", "n": [1, {"a": None}]}),
        headers=(("content-type", "application/json"), ("user-agent", "u")),
        request_id="rid",
        auth="accesskey vb_a3Bf9xKm",
        request_violations=[{"field": "expire", "rule": "type", "description": "d"}],
        response_violations=[{"field": "body", "rule": "x", "description": "e"}],
        fault={"rule": 2, "injected": True, "status": 503, "delay_ms": 10},
        reason="SERVICE_UNAVAILABLE",
        status=503,
        time_us=T0 + 123,
    )
    record(j, body=b"x" * (MAX_BODY + 1), method="PUT", operation_id=None, status=404)
    record(j, method="GET", target="/v1.0/accesskeys", operation_id="GetAccesskeys")
    record(j, operation_id="GetAccesskeys", status=502, answered_by="proxy")
    record(j, method="GET", target="/v1.0/calls", operation_id="GetCalls", modelled=False)
    drift = [{"rule": "token-format", "message": "m", "evidence": '"token_prefix": "x"'}]
    record(j, method="GET", target="/v1.0/accesskeys", operation_id="GetAccesskeys", drift=drift)
    assert j.entries()[-1].drift == drift
    assert j.entries()[-1].line().endswith(" drift=token-format")
    for entry in j.entries():
        assert Entry.from_dict(entry.as_dict()) == entry
        assert Entry.from_dict(json.loads(json.dumps(entry.as_dict()))) == entry
    first = j.entries()[0].as_dict()
    assert list(first) == [
        "seq",
        "time",
        "method",
        "target",
        "operation_id",
        "status",
        "request_id",
        "auth",
        "request_violations",
        "response_violations",
        "fault",
        "reason",
        "headers",
        "json",
        "body",
        "body_truncated",
        "modelled",
        "drift",
        "answered_by",
        "intercepted",
    ]
    assert [e.modelled for e in j.entries()] == [True, True, True, True, False, True]
    assert [e.drift for e in j.entries()][:5] == [[], [], [], [], []]
    assert [e.answered_by for e in j.entries()] == [None, None, None, "proxy", None, None]
    assert j.entries()[3].line().endswith(" (the proxy's own answer)")
    # Another version's entry: unknown keys are ignored, missing optional ones default.
    old = {k: first[k] for k in ("seq", "time", "method", "target", "operation_id", "status")}
    assert Entry.from_dict({**old, "new_field": 1}).reason is None
    # From before the route table: an entry with an operation was a modelled one.
    assert Entry.from_dict(old).modelled is True
    assert Entry.from_dict({**old, "operation_id": None}).modelled is False
    with pytest.raises(ValueError, match="no status"):
        Entry.from_dict({k: v for k, v in old.items() if k != "status"})


def test_get_journal_carries_every_field_as_the_control_spec_documents(
    docs: Harness, ctl: httpx.Client
) -> None:
    docs.client().post(
        "/accesskeys",
        json={"name": "ci", "token": SECRET, "expire": 86400},
        headers={"X-Request-Id": "r"},
    )
    docs.client().post("/accesskeys", json={"detail": "d" * 5000, "expire": 86400})
    docs.client(None).get("/accesskeys")
    docs.client().post("/accesskeys", content=b"nope")
    r = ctl.get("/_fake/journal")
    assert r.status_code == 200
    served = r.json()["entries"]
    assert [Entry.from_dict(e) for e in served] == docs.state.journal.entries()
    assert [e["reason"] for e in served] == [
        None,
        None,
        "AUTHENTICATION_REQUIRED",
        "INVALID_JSON_BODY",
    ]
    assert served[0]["json"] == {"name": "ci", "token": "[REDACTED]", "expire": 86400}
    assert served[0]["headers"]["x-request-id"] == "r"
    assert served[1]["body_truncated"] is True
    assert served[3]["body"] == "nope"

    spec = yaml.safe_load((ROOT / "openapi-control.yaml").read_text())
    schema = spec["components"]["schemas"]["JournalEntry"]
    assert set(schema["properties"]) == set(schema["required"]) == set(served[0])
    validator = jsonschema.Draft202012Validator(schema)
    for entry in served:
        errors = [e.message for e in validator.iter_errors(entry)]
        assert errors == [], entry
    assert SECRET not in r.text


def test_an_intercepted_exchange_is_marked_and_survives_a_trip_through_json() -> None:
    j = Journal()
    record(j, method="GET", target="/v1.0/accesskeys", operation_id="GetAccesskeys")
    record(
        j, method="GET", target="/v1.0/accesskeys", operation_id="GetAccesskeys", intercepted=True
    )
    assert [e.intercepted for e in j.entries()] == [False, True]
    marked = j.entries()[1]
    assert marked.as_dict()["intercepted"] is True
    assert Entry.from_dict(json.loads(json.dumps(marked.as_dict()))) == marked
