"""HAR 1.2 both ways (core/har.py): the journal's exchanges out, valid against the
HAR 1.2 structure (``HAR_SCHEMA``, written from the spec's required fields), redacted
as the journal is, the fake's verdicts in ``_`` fields; a captured HAR in (Chrome's
devtools export included), and a malformed one named in one line."""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fakevoipbin.core.har import HarError, har_log, read_har
from fakevoipbin.core.journal import MAX_BODY

from ..conftest import ADMIN_LOGIN, TUTORIAL_TOKEN, Harness

ROOT = Path(__file__).resolve().parents[2]
#: Every token of the default fixtures.
FIXTURE_TOKENS = re.findall(
    r"token: (vb_\S+)", (ROOT / "fixtures" / "default.yaml").read_text(encoding="utf-8")
)

_PAIR = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
}
_PAIRS = {"type": "array", "items": _PAIR}
_COOKIES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "value"],
        "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
    },
}
_SIZE = {"type": "integer", "minimum": -1}
_TIMING = {"type": "number", "minimum": -1}
#: HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as JSON Schema: every
#: object with the fields the spec requires, each of its type.
HAR_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["log"],
    "properties": {
        "log": {
            "type": "object",
            "required": ["version", "creator", "entries"],
            "properties": {
                "version": {"type": "string", "const": "1.2"},
                "creator": {
                    "type": "object",
                    "required": ["name", "version"],
                    "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                },
                "pages": {"type": "array"},
                "comment": {"type": "string"},
                "entries": {"type": "array", "items": {"$ref": "#/definitions/entry"}},
            },
        }
    },
    "definitions": {
        "entry": {
            "type": "object",
            "required": [
                "startedDateTime",
                "time",
                "request",
                "response",
                "cache",
                "timings",
            ],
            "properties": {
                "startedDateTime": {
                    "type": "string",
                    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
                },
                "time": {"type": "number", "minimum": 0},
                "request": {
                    "type": "object",
                    "required": [
                        "method",
                        "url",
                        "httpVersion",
                        "cookies",
                        "headers",
                        "queryString",
                        "headersSize",
                        "bodySize",
                    ],
                    "properties": {
                        "method": {"type": "string"},
                        "url": {"type": "string", "pattern": "^https?://"},
                        "httpVersion": {"type": "string"},
                        "cookies": _COOKIES,
                        "headers": _PAIRS,
                        "queryString": _PAIRS,
                        "postData": {
                            "type": "object",
                            "required": ["mimeType"],
                            "properties": {
                                "mimeType": {"type": "string"},
                                "text": {"type": "string"},
                                "params": {"type": "array"},
                            },
                        },
                        "headersSize": _SIZE,
                        "bodySize": _SIZE,
                    },
                },
                "response": {
                    "type": "object",
                    "required": [
                        "status",
                        "statusText",
                        "httpVersion",
                        "cookies",
                        "headers",
                        "content",
                        "redirectURL",
                        "headersSize",
                        "bodySize",
                    ],
                    "properties": {
                        "status": {"type": "integer"},
                        "statusText": {"type": "string"},
                        "httpVersion": {"type": "string"},
                        "cookies": _COOKIES,
                        "headers": _PAIRS,
                        "content": {
                            "type": "object",
                            "required": ["size", "mimeType"],
                            "properties": {
                                "size": {"type": "integer"},
                                "mimeType": {"type": "string"},
                                "text": {"type": "string"},
                                "encoding": {"type": "string"},
                            },
                        },
                        "redirectURL": {"type": "string"},
                        "headersSize": _SIZE,
                        "bodySize": _SIZE,
                    },
                },
                "cache": {"type": "object"},
                "timings": {
                    "type": "object",
                    "required": ["send", "wait", "receive"],
                    "properties": {
                        k: _TIMING
                        for k in ("blocked", "dns", "connect", "ssl", "send", "wait", "receive")
                    },
                },
            },
        }
    },
}


def valid_har(doc: Any) -> None:
    """Raise unless ``doc`` is HAR 1.2 (``HAR_SCHEMA``), ``_`` fields and all."""
    jsonschema.Draft7Validator(HAR_SCHEMA).validate(doc)


def a_session(h: Harness) -> list[str]:
    """Requests of every kind through a fake: a create (its token answered), a get,
    a list, a bad query, a 404, an unmodelled route, no route, a login (a JWT answered),
    a body too big for the journal, and a fault; the tokens the fake answered."""
    c = h.client()
    created = c.post("/accesskeys", json={"name": "har", "expire": 86400}).json()
    c.get(f"/accesskeys/{created['id']}")
    c.get("/accesskeys", params={"page_size": "x"})
    c.get("/accesskeys/00000000-0000-0000-0000-000000000001")
    c.get("/calls")
    c.get("/nothere")
    c.put(f"/accesskeys/{created['id']}", json={"name": "n" * (MAX_BODY + 10)})
    jwt = h.login(ADMIN_LOGIN)
    c.get("/customer", headers={"X-Fake-Fault": "503"})
    return [created["token"], jwt]


def test_the_journal_as_har_is_har_1_2_with_the_fakes_verdicts(docs: Harness) -> None:
    answered = a_session(docs)
    doc = har_log(docs.state.journal.exchanges(), "http://127.0.0.1:8088", "9.9")
    valid_har(doc)
    log = doc["log"]
    assert log["creator"] == {"name": "fakevoipbin", "version": "9.9"}
    entries = log["entries"]
    assert [e["_seq"] for e in entries] == list(range(1, len(entries) + 1))
    by_op = {e["_operationId"]: e for e in entries}
    create = by_op["PostAccesskeys"]
    assert create["request"]["url"] == "http://127.0.0.1:8088/v1.0/accesskeys?accesskey=[REDACTED]"
    assert create["request"]["queryString"] == [{"name": "accesskey", "value": "[REDACTED]"}]
    assert json.loads(create["request"]["postData"]["text"]) == {"name": "har", "expire": 86400}
    assert create["response"]["status"] == 200 and create["response"]["statusText"] == "OK"
    answer = json.loads(create["response"]["content"]["text"])
    assert answer["token"] == "[REDACTED]" and answer["token_prefix"].startswith("vb_")
    assert create["response"]["content"]["mimeType"].startswith("application/json")
    headers = {h["name"]: h["value"] for h in create["response"]["headers"]}
    assert headers["x-request-id"].startswith("req_")
    bad = by_op["GetAccesskeys"]
    assert bad["_reason"] == "INVALID_REQUEST_PARAMETER"
    assert bad["_requestViolations"][0]["field"] == "page_size"
    assert (
        by_op["GetCalls"]["_modelled"] is False and by_op["GetCalls"]["response"]["status"] == 501
    )
    assert by_op[None]["response"]["status"] == 404
    assert by_op["GetCustomer"]["_fault"]["status"] == 503
    assert by_op["GetCustomer"]["response"]["status"] == 503
    cut = by_op["PutAccesskeysId"]["request"]["postData"]
    assert cut["_cut"] is True and by_op["PutAccesskeysId"]["request"]["bodySize"] == -1
    login = by_op["PostAuthLogin"]
    assert json.loads(login["request"]["postData"]["text"])["password"] == "[REDACTED]"
    assert json.loads(login["response"]["content"]["text"])["token"] == "[REDACTED]"
    for e in entries:
        assert {"_drift", "_intercepted", "_responseViolations", "_fault"} <= set(e)
    text = json.dumps(doc)
    for secret in [*FIXTURE_TOKENS, *answered, ADMIN_LOGIN["password"]]:
        assert secret not in text


def test_the_schema_refuses_what_har_1_2_requires(docs: Harness) -> None:
    """The schema the tests hold the HAR to bites: each required field removed fails."""
    docs.client().get("/accesskeys")
    doc = har_log(docs.state.journal.exchanges(), "http://x", "1")
    valid_har(doc)
    for path in (
        ("log", "version"),
        ("log", "creator", "version"),
        ("log", "entries", 0, "cache"),
        ("log", "entries", 0, "request", "httpVersion"),
        ("log", "entries", 0, "request", "cookies"),
        ("log", "entries", 0, "response", "content", "mimeType"),
        ("log", "entries", 0, "timings", "wait"),
    ):
        broken = copy.deepcopy(doc)
        where: Any = broken
        for step in path[:-1]:
            where = where[step]
        del where[path[-1]]
        with pytest.raises(jsonschema.ValidationError):
            valid_har(broken)


def test_a_raw_token_in_any_part_of_a_request_never_reaches_the_har(docs: Harness) -> None:
    c = docs.client(None)
    c.get("/accesskeys", params={"accesskey": TUTORIAL_TOKEN, "note": TUTORIAL_TOKEN})
    c.get("/accesskeys", headers={"Authorization": f"Bearer {TUTORIAL_TOKEN}"})
    c.post(
        "/accesskeys",
        params={"token": TUTORIAL_TOKEN},
        json={"name": f"is {TUTORIAL_TOKEN}", "accesskey": TUTORIAL_TOKEN},
    )
    c.post(
        "/accesskeys", content=f"not json {TUTORIAL_TOKEN}", headers={"User-Agent": TUTORIAL_TOKEN}
    )
    doc = har_log(docs.state.journal.exchanges(), "http://x", "1")
    valid_har(doc)
    assert len(doc["log"]["entries"]) == 4
    assert TUTORIAL_TOKEN not in json.dumps(doc)
    assert TUTORIAL_TOKEN[:11] + "…" in json.dumps(doc, ensure_ascii=False)


# --- in -----------------------------------------------------------------------------

#: A HAR as Chrome's devtools export it ("Save all as HAR with content"): pages,
#: _initiator, _resourceType, HTTP/2 pseudo-headers, a gzip answer's body decoded (and
#: one in base64), a font from another host, and a request that never got an answer.
CHROME_HAR: dict[str, Any] = {
    "log": {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [
            {
                "startedDateTime": "2026-12-01T10:15:30.000Z",
                "id": "page_1",
                "title": "http://localhost:5173/keys",
                "pageTimings": {"onContentLoad": 120.5, "onLoad": 300.2},
            }
        ],
        "entries": [
            {
                "_initiator": {"type": "script", "stack": {"callFrames": []}},
                "_priority": "High",
                "_resourceType": "fetch",
                "cache": {},
                "connection": "443",
                "pageref": "page_1",
                "request": {
                    "method": "GET",
                    "url": "https://api.voipbin.net/v1.0/accesskeys?page_size=2",
                    "httpVersion": "http/2.0",
                    "headers": [
                        {"name": ":authority", "value": "api.voipbin.net"},
                        {"name": ":method", "value": "GET"},
                        {"name": ":path", "value": "/v1.0/accesskeys?page_size=2"},
                        {"name": ":scheme", "value": "https"},
                        {"name": "accept", "value": "application/json"},
                        {
                            "name": "authorization",
                            "value": "Bearer vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe",
                        },
                    ],
                    "queryString": [{"name": "page_size", "value": "2"}],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": 200,
                    "statusText": "",
                    "httpVersion": "http/2.0",
                    "headers": [
                        {"name": "content-encoding", "value": "gzip"},
                        {"name": "content-type", "value": "application/json; charset=utf-8"},
                        {"name": "x-request-id", "value": "req_0123456789ABCDEFGHIJKLMNOP"},
                    ],
                    "cookies": [],
                    "content": {
                        "size": 44,
                        "mimeType": "application/json",
                        "text": '{"result":[],"next_page_token":""}',
                    },
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": 60,
                    "_transferSize": 160,
                    "_error": None,
                },
                "serverIPAddress": "203.0.113.7",
                "startedDateTime": "2026-12-01T10:15:30.100Z",
                "time": 85.3,
                "timings": {
                    "blocked": 2.1,
                    "dns": -1,
                    "ssl": -1,
                    "connect": -1,
                    "send": 0.2,
                    "wait": 80.1,
                    "receive": 2.9,
                    "_blocked_queueing": 1.0,
                },
            },
            {
                "_initiator": {"type": "parser", "url": "http://localhost:5173/keys"},
                "_resourceType": "font",
                "cache": {},
                "pageref": "page_1",
                "request": {
                    "method": "GET",
                    "url": "https://fonts.gstatic.com/s/inter/v12/x.woff2",
                    "httpVersion": "http/2.0",
                    "headers": [],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": 200,
                    "statusText": "",
                    "httpVersion": "http/2.0",
                    "headers": [{"name": "content-type", "value": "font/woff2"}],
                    "cookies": [],
                    "content": {
                        "size": 4,
                        "mimeType": "font/woff2",
                        "text": base64.b64encode(b"wOF2").decode(),
                        "encoding": "base64",
                    },
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": 4,
                },
                "startedDateTime": "2026-12-01T10:15:30.200Z",
                "time": 10.0,
                "timings": {"send": 0, "wait": 9, "receive": 1},
            },
            {
                "_resourceType": "xhr",
                "cache": {},
                "request": {
                    "method": "POST",
                    "url": "https://api.voipbin.net/v1.0/accesskeys",
                    "httpVersion": "http/2.0",
                    "headers": [{"name": "content-type", "value": "application/json"}],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 14,
                    "postData": {"mimeType": "application/json", "text": '{"name":"web"}'},
                },
                "response": {
                    "status": 0,
                    "statusText": "",
                    "httpVersion": "",
                    "headers": [],
                    "cookies": [],
                    "content": {"size": 0, "mimeType": "x-unknown"},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                    "_error": "net::ERR_CONNECTION_RESET",
                },
                "startedDateTime": "2026-12-01T10:15:31.000Z",
                "time": 5.0,
                "timings": {"send": 0, "wait": 5, "receive": 0},
            },
            {
                "_resourceType": "fetch",
                "cache": {},
                "request": {
                    "method": "GET",
                    "url": "https://api.voipbin.net/v1.0/customer",
                    "httpVersion": "http/2.0",
                    "headers": [],
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": 401,
                    "statusText": "",
                    "httpVersion": "http/2.0",
                    "headers": [{"name": "content-type", "value": "application/json"}],
                    "cookies": [],
                    "content": {
                        "size": 0,
                        "mimeType": "application/json",
                        "text": base64.b64encode(
                            b'{"error":{"message":"Authentication is required.",'
                            b'"reason":"AUTHENTICATION_REQUIRED","request_id":'
                            b'"req_0123456789ABCDEFGHIJKLMNOQ","status":"UNAUTHENTICATED"}}'
                        ).decode(),
                        "encoding": "base64",
                    },
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                },
                "startedDateTime": "2026-12-01T10:15:32.000Z",
                "time": 5.0,
                "timings": {"send": 0, "wait": 5, "receive": 0},
            },
        ],
    }
}


def test_a_chrome_devtools_har_is_read() -> None:
    valid_har(CHROME_HAR)
    found = read_har(CHROME_HAR)
    assert [c.method for c in found] == ["GET", "GET", "POST", "GET"]
    listed = found[0]
    assert listed.path == "/v1.0/accesskeys" and listed.status == 200
    assert (":authority", "api.voipbin.net") in listed.headers
    assert json.loads(listed.answer or b"") == {"result": [], "next_page_token": ""}
    assert found[1].answer == b"wOF2"  # base64 decoded
    assert found[2].status == 0 and found[2].body == b'{"name":"web"}'
    assert json.loads(found[3].answer or b"")["error"]["reason"] == "AUTHENTICATION_REQUIRED"


def test_an_answer_with_no_text_is_empty_only_when_the_har_says_so() -> None:
    doc = copy.deepcopy(CHROME_HAR)
    content = doc["log"]["entries"][0]["response"]["content"]
    del content["text"]
    assert read_har(doc)[0].answer is None  # size 44: the body was not captured
    content["size"] = 0
    assert read_har(doc)[0].answer == b""


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CHROME_HAR)
    change(doc)
    return doc


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(doc: Any) -> None:
        where = doc
        for step in path[:-1]:
            where = where[step]
        where[path[-1]] = value

    return change


def _drop(path: tuple[Any, ...]) -> Any:
    def change(doc: Any) -> None:
        where = doc
        for step in path[:-1]:
            where = where[step]
        del where[path[-1]]

    return change


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "the HAR is not an object"),
        ({}, "log is missing"),
        ({"log": []}, "log is not an object"),
        ({"log": {}}, "log.entries is missing"),
        ({"log": {"entries": {}}}, "log.entries is not a list"),
        (_broken(_set(("log", "entries", 1), "x")), "entries[1] is not an object"),
        (_broken(_drop(("log", "entries", 3, "response"))), "entries[3].response is missing"),
        (_broken(_drop(("log", "entries", 0, "request"))), "entries[0].request is missing"),
        (
            _broken(_drop(("log", "entries", 3, "response", "status"))),
            "entries[3].response.status is missing",
        ),
        (
            _broken(_set(("log", "entries", 2, "response", "status"), "200")),
            "entries[2].response.status is not a whole number",
        ),
        (
            _broken(_set(("log", "entries", 0, "response", "status"), True)),
            "entries[0].response.status is not a whole number",
        ),
        (
            _broken(_set(("log", "entries", 0, "request", "url"), "/v1.0/x")),
            "entries[0].request.url '/v1.0/x' is not an http:// or https:// URL",
        ),
        (
            _broken(_set(("log", "entries", 0, "request", "headers", 4), {"name": "a"})),
            "entries[0].request.headers[4].value is missing",
        ),
        (
            _broken(_set(("log", "entries", 1, "response", "content", "text"), "@@@")),
            "entries[1].response.content.text is not base64",
        ),
        (
            _broken(_set(("log", "entries", 2, "request", "postData"), "x")),
            "entries[2].request.postData is not an object",
        ),
    ],
)
def test_a_malformed_har_is_named_in_one_line(doc: Any, message: str) -> None:
    with pytest.raises(HarError) as caught:
        read_har(doc)
    assert str(caught.value) == message
