"""Production's check order, in one place (fakevoipbin/web/pipeline.py): the stages each
operation gets, the order a client meets them in, the Exchange they share, the router."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import httpx
import pytest

from fakevoipbin.core import routetable
from fakevoipbin.core.faults import make_rule
from fakevoipbin.web import pipeline as pipeline_module
from fakevoipbin.web.exchange import Exchange, Message
from fakevoipbin.web.pipeline import CHECK_ORDER, GUARD_STAGES, Pipeline, Stage

from ..conftest import (
    ADMIN_LOGIN,
    FROZEN_TOKEN,
    MANAGER_LOGIN,
    TUTORIAL_CUSTOMER,
    TUTORIAL_KEY_ID,
    TUTORIAL_TOKEN,
    Harness,
)

UNKNOWN_KEY_ID = "00000000-1111-4222-8333-444444444444"
BAD_ID = "not-a-uuid"


def _names(pipeline: Pipeline, op_id: str, rate_limit: bool = True) -> list[str]:
    op = pipeline.spec.operations[op_id]
    return [stage.__name__ for stage in pipeline.stages_for(op, rate_limit=rate_limit)]


def _is_subsequence(stages: tuple[Stage, ...], order: tuple[Stage, ...]) -> bool:
    rest = iter(order)
    return all(stage in rest for stage in stages)


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["reason"]


def _bearer(h: Harness, login: dict[str, str]) -> httpx.Client:
    return h.client(None, headers={"Authorization": "Bearer " + h.login(login)})


# --- the stages each operation gets --------------------------------------------------


@pytest.mark.parametrize("rate_limit", [True, False])
def test_every_operations_stages_follow_check_order(docs: Harness, rate_limit: bool) -> None:
    """Each operation's stages are a subsequence of CHECK_ORDER, in that order."""
    pipeline = docs.app.pipeline
    assert len(pipeline.spec.operations) == 11
    for op_id in pipeline.spec.operations:
        stages = pipeline.stages_for(pipeline.spec.operations[op_id], rate_limit=rate_limit)
        assert _is_subsequence(stages, CHECK_ORDER), op_id
        names = _names(pipeline, op_id, rate_limit)
        assert len(set(names)) == len(names), (op_id, names)
        assert names[:3] == ["request_id", "cors", "fault"], (op_id, names)
        assert names[-1] == "operation", (op_id, names)


def test_stages_are_the_pipelines_own_methods(docs: Harness) -> None:
    """A stage is a method of Pipeline itself, held as the function (no name to look
    up): CHECK_ORDER names each once."""
    pipeline = docs.app.pipeline
    stages = pipeline.stages_for(pipeline.spec.operations["PutAccesskeysId"])
    assert stages[0] is Pipeline.request_id and stages[-1] is Pipeline.operation
    assert Pipeline.frozen in stages and Pipeline.body in stages
    assert len(set(CHECK_ORDER)) == len(CHECK_ORDER)
    for stage in CHECK_ORDER:
        assert vars(Pipeline)[stage.__name__] is stage


def test_no_stage_is_looked_up_by_name() -> None:
    """The pipeline holds its stages as functions (no getattr by a string), and the
    core's route table names none of them: it declares its middleware as Guards."""
    source = inspect.getsource(pipeline_module)
    assert "getattr(" not in source
    names = {stage.__name__ for stage in GUARD_STAGES.values()}
    assert names == {"per_ip_limit", "credentials", "customer_limit", "frozen"}
    table_source = inspect.getsource(routetable)
    for name in names:
        assert f'"{name}"' not in table_source, name


def test_login_has_no_credential_stages(docs: Harness) -> None:
    """Login is unsecured: no credentials, customer limit or frozen check, a body."""
    assert _names(docs.app.pipeline, "PostAuthLogin") == [
        "request_id",
        "cors",
        "fault",
        "per_ip_limit",
        "body",
        "operation",
    ]


def test_the_list_has_a_query_and_no_body(docs: Harness) -> None:
    """GetAccesskeys checks its query, has no id and no body."""
    assert _names(docs.app.pipeline, "GetAccesskeys") == [
        "request_id",
        "cors",
        "fault",
        "per_ip_limit",
        "credentials",
        "customer_limit",
        "frozen",
        "query",
        "operation",
    ]


def test_create_has_a_body_and_no_query_or_id(docs: Harness) -> None:
    """PostAccesskeys checks its body only."""
    names = _names(docs.app.pipeline, "PostAccesskeys")
    assert "body" in names
    assert "query" not in names and "path_id" not in names
    assert names[names.index("frozen") + 1] == "body"


def test_the_key_operations_check_the_id(docs: Harness) -> None:
    """GET/PUT/DELETE of one key check the id; only PUT has a body; none a query."""
    pipeline = docs.app.pipeline
    get = _names(pipeline, "GetAccesskeysId")
    assert get[-3:] == ["frozen", "path_id", "operation"]
    put = _names(pipeline, "PutAccesskeysId")
    assert put[-4:] == ["frozen", "path_id", "body", "operation"]
    delete = _names(pipeline, "DeleteAccesskeysId")
    assert "path_id" in delete and "body" not in delete
    for names in (get, put, delete):
        assert "query" not in names


def test_without_rate_limits_the_limit_stages_are_absent(docs: Harness) -> None:
    """rate_limit=False drops per_ip_limit and customer_limit, and nothing else."""
    pipeline = docs.app.pipeline
    for op_id in pipeline.spec.operations:
        limited = _names(pipeline, op_id, rate_limit=True)
        unlimited = _names(pipeline, op_id, rate_limit=False)
        assert "per_ip_limit" in limited, op_id
        assert "per_ip_limit" not in unlimited and "customer_limit" not in unlimited, op_id
        dropped = [n for n in limited if n not in ("per_ip_limit", "customer_limit")]
        assert unlimited == dropped, op_id
    assert "customer_limit" in _names(pipeline, "GetAccesskeys", rate_limit=True)


# --- the order as a client meets it ----------------------------------------------------


def _answer(r: httpx.Response) -> tuple[int, str] | tuple[int, str, str]:
    """Status and reason, and for a 429 which limit refused it."""
    err = r.json()["error"]
    if r.status_code == 429:
        return r.status_code, err["reason"], err["details"][0]["limited_by"]
    return r.status_code, err["reason"]


def _spend_the_limits(h: Harness) -> None:
    """Rate limits on; the frozen customer's bucket spent, then this client's per-IP
    bucket (each of these requests takes a per-IP token before its customer's)."""
    h.state.rate_limit = True
    c = h.client(FROZEN_TOKEN)
    seen = [_answer(c.get("/accesskeys")) for _ in range(401)]
    assert seen[:33] == [(403, "ACCOUNT_FROZEN")] * 33
    assert seen[33:400] == [(429, "RATE_LIMIT_EXCEEDED", "customer")] * 367
    assert seen[400] == (429, "RATE_LIMIT_EXCEEDED", "ip")


def test_a_request_that_breaks_every_check_meets_them_in_order(fake: Harness) -> None:
    """One PUT that breaks every check at once gets the earliest stage's answer; fixing
    that one shows the next, stage by stage, down to the operation and a 200."""
    _spend_the_limits(fake)
    limiter = fake.state.limiter
    fake.state.faults.add(
        make_rule(set(fake.app.spec.operations), operation="PutAccesskeysId", status=503)
    )
    unknown_key = "vb_" + "x" * 32

    def put(token: str, key_id: str, body: bytes) -> httpx.Response:
        return fake.client(token).put(f"/accesskeys/{key_id}", content=body)

    broken = b"{not json"
    # fault, per-IP limit, credentials, customer limit, frozen, id, body: all broken
    assert _answer(put(unknown_key, BAD_ID, broken)) == (503, "UNAVAILABLE")
    # the rule was for one call; the per-IP limit is next
    assert _answer(put(unknown_key, BAD_ID, broken)) == (429, "RATE_LIMIT_EXCEEDED", "ip")
    limiter.per_ip.clear()
    assert _answer(put(unknown_key, BAD_ID, broken)) == (401, "INVALID_CREDENTIALS")
    # a frozen customer's key, whose customer's bucket is spent
    assert _answer(put(FROZEN_TOKEN, BAD_ID, broken)) == (
        429,
        "RATE_LIMIT_EXCEEDED",
        "customer",
    )
    limiter.per_customer.clear()
    assert _answer(put(FROZEN_TOKEN, BAD_ID, broken)) == (403, "ACCOUNT_FROZEN")
    # a customer in good standing: the id, then the body
    assert _answer(put(TUTORIAL_TOKEN, BAD_ID, broken)) == (400, "INVALID_ID")
    assert _answer(put(TUTORIAL_TOKEN, UNKNOWN_KEY_ID, broken)) == (400, "INVALID_JSON_BODY")
    # the operation's own rules: a key nobody has
    unknown = {"docs": (404, "ACCESSKEY_NOT_FOUND"), "live": (400, "INVALID_ARGUMENT")}
    r = put(TUTORIAL_TOKEN, UNKNOWN_KEY_ID, b'{"name": "fixed"}')
    assert _answer(r) == unknown[fake.options.profile]
    r = put(TUTORIAL_TOKEN, TUTORIAL_KEY_ID, b'{"name": "fixed"}')
    assert r.status_code == 200 and r.json()["name"] == "fixed"


def test_a_list_that_breaks_every_check_meets_them_in_order(fake: Harness) -> None:
    """The same for the list's query: the limits, credentials and the frozen check
    come before page_size=abc, the query before the operation."""
    _spend_the_limits(fake)
    limiter = fake.state.limiter

    def get(token: str | None, page_size: str) -> httpx.Response:
        return fake.client(token).get("/accesskeys", params={"page_size": page_size})

    assert _answer(get(None, "abc")) == (429, "RATE_LIMIT_EXCEEDED", "ip")
    limiter.per_ip.clear()
    assert _answer(get(None, "abc")) == (401, "AUTHENTICATION_REQUIRED")
    assert _answer(get(FROZEN_TOKEN, "abc")) == (429, "RATE_LIMIT_EXCEEDED", "customer")
    limiter.per_customer.clear()
    assert _answer(get(FROZEN_TOKEN, "abc")) == (403, "ACCOUNT_FROZEN")
    assert _answer(get(TUTORIAL_TOKEN, "abc")) == (400, "INVALID_REQUEST_PARAMETER")
    r = get(TUTORIAL_TOKEN, "2")
    assert r.status_code == 200 and 0 < len(r.json()["result"]) <= 2


def test_credentials_come_before_the_id_and_the_body(fake: Harness) -> None:
    """No credential, a bad id and a bad body: 401, the id and body unread."""
    r = fake.client(None).put(f"/accesskeys/{BAD_ID}", content=b"{not json")
    assert _error(r) == (401, "AUTHENTICATION_REQUIRED")
    r = fake.client(None).post("/accesskeys?page_size=abc", json={"expire": "x"})
    assert _error(r) == (401, "AUTHENTICATION_REQUIRED")


def test_an_unknown_key_is_refused_before_the_id(fake: Harness) -> None:
    """A key that authenticates nobody is 401 even with a bad id."""
    r = fake.client("vb_" + "x" * 32).get(f"/accesskeys/{BAD_ID}")
    assert _error(r) == (401, "INVALID_CREDENTIALS")


def test_a_frozen_account_comes_before_the_id(fake: Harness) -> None:
    """A frozen customer's key with a bad id (and a bad body): 403 ACCOUNT_FROZEN."""
    c = fake.client(FROZEN_TOKEN)
    assert _error(c.get(f"/accesskeys/{BAD_ID}")) == (403, "ACCOUNT_FROZEN")
    assert _error(c.put(f"/accesskeys/{BAD_ID}", content=b"[")) == (403, "ACCOUNT_FROZEN")
    assert _error(c.get("/accesskeys", params={"page_size": "abc"})) == (403, "ACCOUNT_FROZEN")


def test_a_bad_page_size_is_a_request_parameter_error(fake: Harness) -> None:
    """A valid key with page_size=abc: 400 INVALID_REQUEST_PARAMETER."""
    r = fake.client().get("/accesskeys", params={"page_size": "abc"})
    assert _error(r) == (400, "INVALID_REQUEST_PARAMETER")
    assert fake.client().get("/accesskeys", params={"page_size": "10"}).status_code == 200


def test_the_id_is_checked_before_the_body(fake: Harness) -> None:
    """A valid key, a bad id and a bad body: the id's 400 INVALID_ID."""
    r = fake.client().put(f"/accesskeys/{BAD_ID}", content=b"{not json")
    assert _error(r) == (400, "INVALID_ID")
    r = fake.client().put(f"/accesskeys/{TUTORIAL_KEY_ID}", content=b"{not json")
    assert _error(r) == (400, "INVALID_JSON_BODY")


def test_permission_comes_before_the_expire_rule(fake: Harness) -> None:
    """A manager-only JWT creating with expire 5: 403, not the rule's 400."""
    r = _bearer(fake, MANAGER_LOGIN).post("/accesskeys", json={"expire": 5})
    assert _error(r) == (403, "PERMISSION_DENIED")


def test_an_admin_meets_the_expire_rule(fake: Harness) -> None:
    """An admin (key or JWT) creating with expire 5: 400 INVALID_ARGUMENT."""
    r = fake.client(TUTORIAL_TOKEN).post("/accesskeys", json={"expire": 5})
    assert _error(r) == (400, "INVALID_ARGUMENT")
    if fake.options.profile == "docs":
        assert r.json()["error"]["details"][0]["field"] == "expire"
    else:  # live: no details on a 400; the journal keeps them
        assert "details" not in r.json()["error"]
        assert fake.state.journal.entries()[-1].request_violations[0]["field"] == "expire"
    r = _bearer(fake, ADMIN_LOGIN).post("/accesskeys", json={"expire": 5})
    assert _error(r) == (400, "INVALID_ARGUMENT")


def test_the_body_shape_comes_before_permission(fake: Harness) -> None:
    """A manager-only JWT with a string expire: the shape's 400, before the 403."""
    r = _bearer(fake, MANAGER_LOGIN).post("/accesskeys", json={"expire": "86400"})
    assert _error(r) == (400, "INVALID_JSON_BODY")


def test_the_id_lookup_comes_before_permission(fake: Harness) -> None:
    """A manager-only JWT asking for an unknown id gets the profile's unknown-key error."""
    expected = {"docs": (404, "ACCESSKEY_NOT_FOUND"), "live": (400, "INVALID_ARGUMENT")}
    want = expected[fake.options.profile]
    c = _bearer(fake, MANAGER_LOGIN)
    assert _error(c.get(f"/accesskeys/{UNKNOWN_KEY_ID}")) == want
    assert _error(c.delete(f"/accesskeys/{UNKNOWN_KEY_ID}")) == want
    assert _error(c.put(f"/accesskeys/{UNKNOWN_KEY_ID}", json={})) == want
    # and a key that exists is refused by permission
    assert _error(c.get(f"/accesskeys/{TUTORIAL_KEY_ID}")) == (403, "PERMISSION_DENIED")


def test_a_fault_answers_before_credentials(fake: Harness) -> None:
    """A 503 rule answers a request with no credential at all; the journal says so."""
    rule = fake.state.faults.add(
        make_rule(set(fake.app.spec.operations), operation="GetAccesskeys", status=503)
    )
    r = fake.client(None).get("/accesskeys", params={"page_size": "abc"})
    assert _error(r) == (503, "UNAVAILABLE")
    entry = fake.state.journal.entries()[-1]
    assert entry.operation_id == "GetAccesskeys"
    assert entry.status == 503
    assert entry.fault is not None
    assert entry.fault["rule"] == rule.id and entry.fault["status"] == 503
    assert entry.auth == ""
    assert entry.request_id == r.headers["x-request-id"]
    # the rule was for one call: the next one meets the credentials check
    assert _error(fake.client(None).get("/accesskeys")) == (401, "AUTHENTICATION_REQUIRED")
    assert fake.state.journal.entries()[-1].fault is None


def test_a_fault_on_another_operation_does_not_fire(docs: Harness) -> None:
    """A rule for PostAccesskeys leaves the list alone."""
    docs.state.faults.add(
        make_rule(set(docs.app.spec.operations), operation="PostAccesskeys", status=500)
    )
    assert docs.client().get("/accesskeys").status_code == 200
    assert docs.state.faults.rules()[0].fired == 0


# --- one Exchange carries what the stages learn -------------------------------------------


def test_one_exchange_carries_what_every_stage_learns(docs: Harness) -> None:
    """A hand-built Exchange for PostAccesskeys, run through its stages."""
    pipeline = docs.app.pipeline
    op = docs.app.spec.operations["PostAccesskeys"]
    body = json.dumps({"name": "Hand-made", "detail": "by a test", "expire": 86400}).encode()
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/v1.0/accesskeys",
        "query_string": b"accesskey=" + TUTORIAL_TOKEN.encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "path_params": {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    ex = Exchange(scope, receive, send, op)
    assert ex.request_id == "" and ex.identity is None and ex.reply is None
    asyncio.run(pipeline.run(ex, pipeline.stages_for(op)))

    assert ex.request_id.startswith("req_")
    assert ex.identity is not None
    assert ex.identity.customer_id == TUTORIAL_CUSTOMER
    assert ex.auth == ex.identity.note != ""
    assert dict(ex.body) == {"name": "Hand-made", "detail": "by a test", "expire": 86400}
    assert ex.fault is None
    assert ex.reply is not None and ex.reply.status == 200
    assert list(ex.request_findings) == [] and list(ex.response_findings) == []

    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    start, done = sent
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"x-request-id"] == ex.request_id.encode("ascii")
    assert headers[b"content-type"].startswith(b"application/json")
    created = json.loads(done["body"])
    assert created["name"] == "Hand-made" and created["customer_id"] == TUTORIAL_CUSTOMER
    assert created["token"].startswith("vb_")

    entry = docs.state.journal.entries()[-1]
    assert entry.request_id == ex.request_id
    assert entry.operation_id == "PostAccesskeys"
    assert entry.status == 200
    assert TUTORIAL_TOKEN not in entry.target  # credentials redacted
    # the key is really there: the API lists it
    listed = docs.client().get("/accesskeys").json()["result"]
    assert created["id"] in {k["id"] for k in listed}


# --- the router --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "OPTIONS", "PUT", "DELETE"])
def test_a_route_matches_only_its_method(fake: Harness, method: str) -> None:
    """Another method on /v1.0/accesskeys is 404 ROUTE_NOT_FOUND, never 405."""
    r = fake.client().request(method, "/accesskeys")
    assert r.status_code == 404
    if method != "HEAD":
        assert r.json()["error"]["reason"] == "ROUTE_NOT_FOUND"
    assert "x-request-id" in r.headers


def test_head_is_not_get(docs: Harness) -> None:
    """HEAD on a key is no route, though GET is (gin does not map HEAD to GET)."""
    c = docs.client()
    assert c.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code == 200
    assert c.head(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code == 404
    assert _error(c.patch(f"/accesskeys/{TUTORIAL_KEY_ID}")) == (404, "ROUTE_NOT_FOUND")


def _bare(h: Harness) -> httpx.Client:
    """A client without the harness's conformance hook: tests/spec_check.py matches
    paths with a regex ``$``, which also takes a path that ends in a newline."""
    return httpx.Client(
        transport=h.transport,
        base_url="http://testserver/v1.0",
        params={"accesskey": TUTORIAL_TOKEN},
    )


@pytest.mark.parametrize("path", ["/accesskeys%0A", "/accesskeys%0a", "/accesskeysx"])
def test_a_route_matches_the_whole_path(fake: Harness, path: str) -> None:
    """A trailing newline (or any extra character) on a static path is no route."""
    with _bare(fake) as c:
        r = c.get(path)
    assert _error(r) == (404, "ROUTE_NOT_FOUND")
    assert fake.state.journal.entries()[-1].operation_id is None


def test_a_trailing_newline_on_an_id_is_part_of_the_id(fake: Harness) -> None:
    """{id} takes any text but "/": a newline after the uuid makes the id invalid (400
    INVALID_ID), it never reaches the key."""
    with _bare(fake) as c:
        r = c.get(f"/accesskeys/{TUTORIAL_KEY_ID}%0A")
    assert _error(r) == (400, "INVALID_ID")
    assert fake.state.journal.entries()[-1].operation_id == "GetAccesskeysId"


def test_a_trailing_slash_redirects_without_a_request_id(fake: Harness) -> None:
    """GET /v1.0/accesskeys/ answers 301 to the path without its slash, no X-Request-Id."""
    r = fake.client(None).get("/accesskeys/", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == "/v1.0/accesskeys"
    assert "x-request-id" not in r.headers
    assert r.content == b""


def test_a_trailing_slash_redirect_keeps_the_query(fake: Harness) -> None:
    """The query goes along; another method gets 307."""
    r = fake.client(None).get("/accesskeys/?page_size=5", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == "/v1.0/accesskeys?page_size=5"
    r = fake.client(None).post("/accesskeys/", json={}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "/v1.0/accesskeys"
    assert "x-request-id" not in r.headers


def test_a_trailing_slash_without_a_route_is_404(fake: Harness) -> None:
    """No redirect when the path less its slash names no route for the method."""
    r = fake.client(None).patch("/accesskeys/", follow_redirects=False)
    assert _error(r) == (404, "ROUTE_NOT_FOUND")
    assert "x-request-id" in r.headers
