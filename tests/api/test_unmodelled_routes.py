"""Every other route production serves (facts §13, §12's ``/v1.0/customers``): the route
table as packaged data, its lookup, each group's middleware before the fake's 501
NOT_MODELLED, the ``/v1.0/auth/*`` stubs, the customers' 403, the trailing-slash
redirects, the rate limits, the journal's marks and ``run``'s report."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from fakevoipbin.about import PRODUCTION_COMMIT
from fakevoipbin.checks.report import ClientReport
from fakevoipbin.core import errors
from fakevoipbin.core.journal import Entry
from fakevoipbin.core.routetable import (
    NO_GUARDS,
    PROTECTED_AUTH,
    PROTECTED_AUTH_GUARDS,
    PUBLIC_AUTH_GUARDS,
    STUB_MESSAGES,
    TABLE_FILE,
    V1_GUARDS,
    Guard,
    Route,
    RouteTable,
    TableError,
    default_table,
    parse,
)
from fakevoipbin.fixtures import parse_fixtures
from fakevoipbin.journal_queries import LocalJournal
from fakevoipbin.resources import default_fixtures_path
from fakevoipbin.spec import Spec
from fakevoipbin.web.pipeline import CHECK_ORDER, GUARD_STAGES, Pipeline, route_stages

from .. import spec_check
from ..conftest import (
    ADMIN_LOGIN,
    FROZEN_CUSTOMER,
    FROZEN_TOKEN,
    SECOND_TOKEN,
    TUTORIAL_TOKEN,
    Harness,
)
from ..test_run import cases, properties, run_cli

TABLE = default_table()
SOME_ID = "6b1c1c5e-0f55-4f67-9d0a-0c2f3e4d5a6b"
SUPER_LOGIN = {"username": "super@example.com", "password": "super-password"}
FROZEN_SUPER_LOGIN = {"username": "frozen-super@example.com", "password": "frozen-password"}


def concrete(path: str) -> str:
    """A path that fits a row: every ``{param}`` an id, a catch-all some file."""
    path = re.sub(r"\{(filepath|any)\}$", "index.html", path)
    return re.sub(r"\{[^}]+\}", SOME_ID, path)


def not_modelled(method: str, path: str) -> tuple[int, str, str, str]:
    return (
        501,
        "UNIMPLEMENTED",
        "NOT_MODELLED",
        f"fakevoipbin does not model {method} {path}; production serves it.",
    )


def triple(r: httpx.Response) -> tuple[int, str, str, str]:
    err = r.json()["error"]
    assert err["request_id"] == r.headers["x-request-id"]
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    return r.status_code, err["status"], err["reason"], err["message"]


def reason(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["reason"]


def root(fake: Harness, token: str | None = None) -> httpx.Client:
    """A client on the server's root (the ``/auth`` group, ``/docs``, ``/ping``)."""
    return fake.client(token, root=True, follow_redirects=False)


def with_super_admins() -> Any:
    """The default fixtures plus a project super admin in the second customer and one
    in the frozen customer."""
    doc = yaml.safe_load(default_fixtures_path().read_text(encoding="utf-8"))
    by_name = {c["name"]: c for c in doc["customers"]}
    for customer, login in (
        ("Second customer", SUPER_LOGIN),
        ("Frozen customer", FROZEN_SUPER_LOGIN),
    ):
        users = by_name[customer].setdefault("users", [])
        users.append({**login, "name": "Super admin", "permission": "project_super_admin"})
    return parse_fixtures(doc, "super admins")


@pytest.fixture(params=["docs", "live"])
def supers(request: pytest.FixtureRequest, make_fake: Any) -> Harness:
    return make_fake(profile=request.param, fixtures=with_super_admins())  # type: ignore[no-any-return]


# --- the table as data ------------------------------------------------------------------


def test_the_table_names_the_commit_the_live_profile_follows() -> None:
    text = TABLE_FILE.read_text(encoding="utf-8")
    assert f"# source: voipbin/monorepo {PRODUCTION_COMMIT}\n" in text


def test_every_row_parses() -> None:
    lines = [
        line
        for line in TABLE_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "method\tpath\toperation\tgroup"
    assert len(TABLE) == len(lines) - 1 > 400
    for row in TABLE:
        assert row.method in {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"}, row
        assert row.path.startswith("/") and not row.path.endswith("/"), row
        assert row.group in {"v1", "auth", "docs", "health"}, row
        assert row.path.startswith("/v1.0/") == (row.group == "v1"), row
        assert TABLE.lookup(row.method, concrete(row.path)) == row, row
        assert TABLE.operation(row.method, row.operation) == row


def test_every_modelled_operation_is_a_row_of_the_table() -> None:
    spec = Spec()
    rows = {(row.method, row.path) for row in TABLE}
    for op in spec.operations.values():
        assert (op.method, op.path) in rows, op.operation_id


def test_the_auth_groups_halves_and_the_stubs_are_rows() -> None:
    auth = {(r.method, r.path) for r in TABLE if r.group == "auth"}
    assert auth >= PROTECTED_AUTH
    stubs = {(r.method, r.path) for r in TABLE if r.path.startswith("/v1.0/auth/")}
    assert stubs == set(STUB_MESSAGES) and len(stubs) == 8
    # Each stub points to the root route of the same method.
    for method, path in stubs:
        assert (method, path.removeprefix("/v1.0")) in auth


def test_each_rows_guards_are_a_groups_middleware_in_productions_order() -> None:
    seen = set()
    for row in TABLE:
        guards = row.guards
        assert list(guards) == [g for g in Guard if g in guards], row
        seen.add(guards)
    assert seen == {V1_GUARDS, PUBLIC_AUTH_GUARDS, PROTECTED_AUTH_GUARDS, NO_GUARDS}
    assert V1_GUARDS == (Guard.PER_IP_LIMIT, Guard.CREDENTIALS, Guard.CUSTOMER_LIMIT, Guard.FROZEN)
    assert PROTECTED_AUTH_GUARDS == (Guard.PER_IP_LIMIT, Guard.CREDENTIALS, Guard.FROZEN)
    groups = {r.group: r.guards for r in TABLE if (r.method, r.path) not in PROTECTED_AUTH}
    assert groups["docs"] == groups["health"] == ()
    assert groups["auth"] == (Guard.PER_IP_LIMIT,)


def test_each_guard_runs_as_its_stage_in_check_order() -> None:
    """Every guard of the core has its stage (the pipeline's own method), and a row's
    stages are the request id, CORS, its guards' stages in CHECK_ORDER, then the
    route's answer."""
    assert set(GUARD_STAGES) == set(Guard)
    assert GUARD_STAGES[Guard.FROZEN] is Pipeline.frozen
    assert GUARD_STAGES[Guard.CREDENTIALS] is Pipeline.credentials
    for guards in (V1_GUARDS, PUBLIC_AUTH_GUARDS, PROTECTED_AUTH_GUARDS, NO_GUARDS):
        stages = route_stages(guards)
        middle = stages[2:-1]
        assert stages[:2] == (Pipeline.request_id, Pipeline.cors)
        assert stages[-1] is Pipeline.route_answer
        assert middle == tuple(GUARD_STAGES[g] for g in guards)
        assert list(middle) == [s for s in CHECK_ORDER if s in middle]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header"),
        ("# only a comment\n", "no header"),
        ("method\tpath\n", "header"),
        ("method\tpath\toperation\tgroup\nGET\t/x\tGetX\n", "four"),
        ("method\tpath\toperation\tgroup\nGET\t/x\tGetX\tnowhere\n", "not a route"),
        ("method\tpath\toperation\tgroup\nget\t/x\tGetX\tv1\n", "not a route"),
        ("method\tpath\toperation\tgroup\nGET\tx\tGetX\tv1\n", "not a route"),
        ("method\tpath\toperation\tgroup\nGET\t/x\tA\tv1\nGET\t/y\tA\tv1\n", "twice"),
    ],
)
def test_a_broken_table_is_refused_by_line(text: str, message: str) -> None:
    with pytest.raises(TableError, match=message):
        parse(text)


# --- the lookup -------------------------------------------------------------------------


def test_lookup_matches_as_gin_does() -> None:
    table = RouteTable(
        [
            Route("GET", "/v1.0/things", "GetThings", "v1"),
            Route("GET", "/v1.0/things/{id}", "GetThingsId", "v1"),
            Route("GET", "/v1.0/things/mine", "GetThingsMine", "v1"),
            Route("GET", "/v1.0/things/{id}/parts/{part}", "GetPart", "v1"),
            Route("GET", "/v1.0/things/{id}/parts/all", "GetAllParts", "v1"),
            Route("GET", "/docs/{filepath}", "Docs", "docs"),
        ]
    )
    names = {
        "/v1.0/things": "GetThings",
        "/v1.0/things/abc": "GetThingsId",
        "/v1.0/things/mine": "GetThingsMine",  # a static segment wins over a parameter
        "/v1.0/things/a/parts/b": "GetPart",
        "/v1.0/things/a/parts/all": "GetAllParts",
        "/docs/": "Docs",  # a catch-all takes an empty rest ...
        "/docs/a/b/c.html": "Docs",  # ... and slashes
    }
    for path, name in names.items():
        found = table.lookup("GET", path)
        assert found is not None and found.operation == name, path
    for path in (
        "/v1.0/things/",  # a parameter takes no empty segment (the caller redirects)
        "/v1.0/things//parts/b",
        "/v1.0/Things",  # case-sensitive
        "/v1.0/things/a/b",
        "/docs",
        "v1.0/things",
        "",
    ):
        assert table.lookup("GET", path) is None, path
    assert table.lookup("POST", "/v1.0/things") is None
    assert table.lookup("HEAD", "/docs/x") is None


# --- each group's middleware, then the answer -------------------------------------------


def test_an_unmodelled_v1_route_wants_credentials_then_answers_501(fake: Harness) -> None:
    r = fake.client(None).get("/calls")
    assert triple(r)[:3] == (401, "UNAUTHENTICATED", "AUTHENTICATION_REQUIRED")
    r = fake.client("vb_" + "x" * 32).get("/calls")
    assert reason(r) == (401, "INVALID_CREDENTIALS")
    r = fake.client().get("/calls")
    assert triple(r) == not_modelled("GET", "/v1.0/calls")
    assert list(r.json()["error"]) == ["message", "reason", "request_id", "status"]
    # The message names the route as the table writes it, not the path sent.
    r = fake.client().post(f"/calls/{SOME_ID}/hangup", json={"x": 1})
    assert triple(r) == not_modelled("POST", "/v1.0/calls/{id}/hangup")


def test_an_agent_jwt_passes_the_v1_middleware_too(fake: Harness) -> None:
    token = fake.login(ADMIN_LOGIN)
    r = fake.client(None).get("/calls", headers={"Authorization": f"Bearer {token}"})
    assert triple(r) == not_modelled("GET", "/v1.0/calls")


def test_a_frozen_customer_gets_403_before_the_501(fake: Harness) -> None:
    r = fake.client(FROZEN_TOKEN).get("/calls")
    assert triple(r)[:3] == (403, "PERMISSION_DENIED", "ACCOUNT_FROZEN")
    assert r.json()["error"]["details"][0]["recovery_endpoint"] == "DELETE /auth/unregister"


def test_every_v1_row_runs_the_v1_middleware(fake: Harness) -> None:
    modelled = {(op.method, op.path) for op in fake.app.spec.operations.values()}
    for row in TABLE:
        if row.group != "v1" or (row.method, row.path) in modelled:
            continue
        url = concrete(row.path).removeprefix("/v1.0")
        assert reason(fake.client(None).request(row.method, url)) == (
            401,
            "AUTHENTICATION_REQUIRED",
        ), row
        assert reason(fake.client(FROZEN_TOKEN).request(row.method, url)) == (
            403,
            "ACCOUNT_FROZEN",
        ), row


def test_a_path_production_does_not_serve_is_404_before_credentials(fake: Harness) -> None:
    for client in (fake.client(None), fake.client("vb_" + "x" * 32), fake.client(FROZEN_TOKEN)):
        for method, url in (
            ("GET", "/nothing-here"),
            ("PATCH", "/calls"),  # a wrong method on a path production serves
            ("GET", "/Calls"),
            ("GET", "/auth/login"),  # production has no /v1.0/auth/login (facts §4)
            ("POST", "/auth/login"),
        ):
            r = client.request(method, url)
            assert triple(r) == (
                404,
                "NOT_FOUND",
                "ROUTE_NOT_FOUND",
                "The requested endpoint does not exist.",
            ), (method, url)
    entries = fake.state.journal.entries()
    assert entries and all(e.auth == "" and e.operation_id is None for e in entries)


def test_the_public_auth_routes_need_no_credentials(fake: Harness) -> None:
    public = [r for r in TABLE if r.group == "auth" and (r.method, r.path) not in PROTECTED_AUTH]
    assert {r.path for r in public} == {
        "/auth/login",
        "/auth/signup",
        "/auth/password-forgot",
        "/auth/password-reset",
        "/auth/email-verify",
        "/auth/boot",
    }
    for row in public:
        if row.path == "/auth/login":
            continue  # modelled
        for client in (root(fake), root(fake, "vb_" + "x" * 32), root(fake, FROZEN_TOKEN)):
            r = client.request(row.method, row.path)
            assert triple(r) == not_modelled(row.method, row.path), row
    r = root(fake).post("/auth/signup", json={"username": "u", "password": "p"})
    assert triple(r) == not_modelled("POST", "/auth/signup")


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/auth/unregister"), ("POST", "/auth/unregister"), ("POST", "/auth/delegate")],
)
def test_the_protected_auth_routes_want_credentials_and_refuse_frozen(
    fake: Harness, method: str, path: str
) -> None:
    assert reason(root(fake).request(method, path)) == (401, "AUTHENTICATION_REQUIRED")
    assert reason(root(fake, "vb_" + "x" * 32).request(method, path)) == (
        401,
        "INVALID_CREDENTIALS",
    )
    assert reason(root(fake, FROZEN_TOKEN).request(method, path)) == (403, "ACCOUNT_FROZEN")
    assert triple(root(fake, TUTORIAL_TOKEN).request(method, path)) == not_modelled(method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/docs/x"),
        ("GET", "/docs/"),
        ("GET", "/docs/a/b/index.html"),
        ("HEAD", "/docs/x"),
        ("GET", "/openapi.json"),
        ("GET", "/redoc/index.html"),
        ("GET", "/swagger/index.html"),
    ],
)
def test_the_docs_and_health_routes_run_no_middleware(
    fake: Harness, method: str, path: str
) -> None:
    row = TABLE.lookup(method, path)
    assert row is not None
    for client in (root(fake), root(fake, "vb_" + "x" * 32), root(fake, FROZEN_TOKEN)):
        r = client.request(method, path)
        assert r.status_code == 501, (method, path)
        if method != "HEAD":
            assert triple(r) == not_modelled(method, row.path)


@pytest.mark.parametrize(("method", "path"), sorted(STUB_MESSAGES))
def test_the_v1_auth_stubs_answer_404_behind_authentication(
    fake: Harness, method: str, path: str
) -> None:
    url = path.removeprefix("/v1.0")
    assert reason(fake.client(None).request(method, url)) == (401, "AUTHENTICATION_REQUIRED")
    assert reason(fake.client(FROZEN_TOKEN).request(method, url)) == (403, "ACCOUNT_FROZEN")
    r = fake.client().request(method, url)
    assert triple(r) == (404, "NOT_FOUND", "ROUTE_NOT_FOUND", STUB_MESSAGES[(method, path)])
    assert "/auth/" + path.rsplit("/", 1)[1] in r.json()["error"]["message"]


# --- /v1.0/customers: project super admins only -----------------------------------------


CUSTOMERS = [
    r for r in TABLE if r.path == "/v1.0/customers" or r.path.startswith("/v1.0/customers/")
]


def test_the_customers_rows_are_the_nine_of_the_table() -> None:
    assert len(CUSTOMERS) == 9
    assert all(r.super_admin_only for r in CUSTOMERS)
    assert not any(r.super_admin_only for r in TABLE if r not in CUSTOMERS)
    assert TABLE.lookup("GET", "/v1.0/customer") is not None  # the singular is not one


@pytest.mark.parametrize("row", CUSTOMERS, ids=lambda r: f"{r.method} {r.path}")
def test_customers_is_403_but_for_a_super_admin(supers: Harness, row: Route) -> None:
    fake = supers
    url = concrete(row.path).removeprefix("/v1.0")
    assert reason(fake.client(None).request(row.method, url)) == (401, "AUTHENTICATION_REQUIRED")
    assert reason(fake.client(FROZEN_TOKEN).request(row.method, url)) == (403, "ACCOUNT_FROZEN")
    denied = (
        403,
        "PERMISSION_DENIED",
        "PERMISSION_DENIED",
        "You do not have permission to access this resource.",
    )
    assert triple(fake.client().request(row.method, url)) == denied  # an access key
    assert triple(fake.client(SECOND_TOKEN).request(row.method, url)) == denied
    admin = fake.login(ADMIN_LOGIN)  # a customer_admin agent
    r = fake.client(None).request(row.method, url, headers={"Authorization": f"Bearer {admin}"})
    assert triple(r) == denied
    for login in (SUPER_LOGIN, FROZEN_SUPER_LOGIN):  # a super admin is not frozen out
        token = fake.login(login)
        r = fake.client(None).request(row.method, url, params={"token": token})
        assert triple(r) == not_modelled(row.method, row.path), login


# --- trailing slashes, request ids, CORS ------------------------------------------------


def test_trailing_slashes_redirect_for_unmodelled_rows_as_for_modelled_ones(fake: Harness) -> None:
    c = fake.client(None, root=True, follow_redirects=False)
    cases_ = [
        ("GET", "/v1.0/calls/?page_size=3", 301, "/v1.0/calls?page_size=3"),
        ("POST", "/v1.0/calls/", 307, "/v1.0/calls"),
        ("GET", f"/v1.0/calls/{SOME_ID}/", 301, f"/v1.0/calls/{SOME_ID}"),
        ("POST", "/auth/signup/", 307, "/auth/signup"),
        ("GET", "/ping/", 301, "/ping"),
        ("GET", "/docs", 301, "/docs/"),  # gin adds the slash a catch-all wants
        ("GET", "/swagger?x=1", 301, "/swagger/?x=1"),
        ("GET", "/v1.0/accesskeys/", 301, "/v1.0/accesskeys"),  # modelled, as before
        ("POST", "/auth/login/", 307, "/auth/login"),
    ]
    for method, url, status, location in cases_:
        r = c.request(method, url)
        assert (r.status_code, r.headers.get("location")) == (status, location), url
        assert "x-request-id" not in r.headers
    for method, url in (("GET", "/nothing/"), ("DELETE", "/v1.0/calls/"), ("POST", "/docs")):
        assert reason(c.request(method, url)) == (404, "ROUTE_NOT_FOUND"), url


def test_the_answers_carry_request_ids_and_cors(fake: Harness) -> None:
    r = fake.client().get("/calls", headers={"X-Request-Id": "mine-1", "Origin": "https://x.test"})
    assert r.status_code == 501
    assert r.headers["x-request-id"] == "mine-1" == r.json()["error"]["request_id"]
    assert r.headers["access-control-allow-origin"] == "*"
    r = fake.client(None).options(
        "/calls", headers={"Origin": "https://x.test", "Access-Control-Request-Method": "GET"}
    )
    assert r.status_code == 204


def test_every_answer_validates_against_the_error_schema(fake: Harness) -> None:
    for token in (None, TUTORIAL_TOKEN, FROZEN_TOKEN):
        for row in TABLE:
            if fake.app.pipeline.routes_match(row.method, row.path):
                continue
            r = root(fake, token).request(row.method, concrete(row.path))
            assert r.status_code in (401, 403, 404, 501), row
            if row.method != "HEAD":
                spec_check.check(row.method, "/x-not-in-the-spec", r.status_code, r.content)
    assert all(e.response_violations == [] for e in fake.state.journal.entries())
    assert errors.NOT_MODELLED in errors.CATALOGUE


def test_the_modelled_routes_never_look_in_the_table(fake: Harness) -> None:
    """The lookup runs only in the router's default: a modelled request costs none."""
    pipeline = fake.app.pipeline
    looked: list[tuple[str, str]] = []
    table = pipeline.routes

    class Counting(RouteTable):
        def __init__(self) -> None:
            pass

        def lookup(self, method: str, path: str) -> Route | None:
            looked.append((method, path))
            return table.lookup(method, path)

    pipeline._routes = Counting()
    c = fake.client()
    assert c.get("/accesskeys").status_code == 200
    assert c.post("/accesskeys", json={"expire": 86400}).status_code == 200
    assert root(fake).post("/auth/login", json=ADMIN_LOGIN).status_code == 200
    assert looked == []
    assert c.get("/calls").status_code == 501
    assert looked == [("GET", "/v1.0/calls")]


# --- rate limits ------------------------------------------------------------------------


def limited(make_fake: Any, profile: str = "live") -> Harness:
    h: Harness = make_fake(profile=profile)
    h.state.rate_limit = True
    return h


def test_the_per_ip_limit_counts_unmodelled_v1_requests(make_fake: Any) -> None:
    fake = limited(make_fake)
    c = fake.client(None)
    assert [c.get("/calls").status_code for _ in range(400)] == [401] * 400
    r = fake.client().get("/accesskeys")
    assert reason(r) == (429, "RATE_LIMIT_EXCEEDED")
    assert r.json()["error"]["details"] == [{"limited_by": "ip"}]
    assert reason(fake.client().get("/calls")) == (429, "RATE_LIMIT_EXCEEDED")


def test_the_customer_limit_counts_unmodelled_v1_requests(make_fake: Any) -> None:
    fake = limited(make_fake)
    c = fake.client()
    assert [c.get("/calls").status_code for _ in range(33)] == [501] * 33
    for r in (c.get("/calls"), c.get("/accesskeys")):  # one bucket per customer
        assert reason(r) == (429, "RATE_LIMIT_EXCEEDED")
        assert r.json()["error"]["details"] == [{"limited_by": "customer"}]
    assert fake.client(SECOND_TOKEN).get("/calls").status_code == 501
    fake.clock.advance(1)
    assert c.get("/calls").status_code == 501


def test_the_auth_routes_share_logins_per_ip_limit(make_fake: Any) -> None:
    fake = limited(make_fake)
    c = root(fake)
    assert [c.post("/auth/signup").status_code for _ in range(19)] == [501] * 19
    assert c.delete("/auth/unregister").status_code == 401  # the protected half too
    r = c.post("/auth/login", json=ADMIN_LOGIN)
    assert reason(r) == (429, "RATE_LIMIT_EXCEEDED")
    assert reason(c.post("/auth/password-forgot")) == (429, "RATE_LIMIT_EXCEEDED")
    # The v1 group's per-IP bucket is another one.
    assert fake.client().get("/calls").status_code == 501


def test_the_docs_and_health_routes_are_not_limited(make_fake: Any) -> None:
    fake = limited(make_fake)
    c = root(fake)
    statuses = Counter(c.get("/ping").status_code for _ in range(420))
    statuses.update(c.get("/docs/x").status_code for _ in range(30))
    assert statuses == {200: 420, 501: 30}
    assert fake.client().get("/accesskeys").status_code == 200
    assert root(fake).post("/auth/login", json=ADMIN_LOGIN).status_code == 200


# --- the journal ------------------------------------------------------------------------


def test_the_journal_marks_what_the_fake_does_not_model(fake: Harness) -> None:
    fake.client(None).get("/calls")
    fake.client().get("/calls", params={"page_size": 5})
    fake.client().get("/customers")
    fake.client().get("/nothing-here")
    fake.client().get("/accesskeys")
    calls_401, calls_501, customers, nothing, keys = fake.state.journal.entries()
    assert (calls_401.operation_id, calls_401.modelled, calls_401.status) == (
        "GetCalls",
        False,
        401,
    )
    assert calls_401.reason == "AUTHENTICATION_REQUIRED"
    assert calls_401.auth == "refused: no credential"
    assert (calls_501.operation_id, calls_501.modelled, calls_501.reason) == (
        "GetCalls",
        False,
        "NOT_MODELLED",
    )
    assert calls_501.auth == "accesskey vb_a3Bf9xKm"
    assert calls_501.target == "/v1.0/calls?accesskey=[REDACTED]&page_size=5"
    assert TUTORIAL_TOKEN not in calls_501.line()
    assert "[GetCalls, not modelled] -> 501 NOT_MODELLED" in calls_501.line()
    assert (customers.operation_id, customers.reason) == ("GetCustomers", "PERMISSION_DENIED")
    assert (nothing.operation_id, nothing.modelled) == (None, False)
    assert (keys.operation_id, keys.modelled) == ("GetAccesskeys", True)
    journal = LocalJournal(fake.state.journal)
    assert [e.status for e in journal.assert_called("GetCalls", times=2)] == [401, 501]
    journal.assert_called("GetCalls", times=1, reason="NOT_MODELLED", query={"page_size": "5"})
    journal.assert_not_called("GetCallsId")
    with pytest.raises(ValueError, match="route table"):
        journal.calls("GetCallz")


def test_get_fake_journal_shows_the_mark(fake: Harness) -> None:
    fake.client().get("/calls")
    fake.client().get("/accesskeys")
    with httpx.Client(transport=fake.transport, base_url="http://testserver") as ctl:
        served = ctl.get("/_fake/journal").json()["entries"]
    assert [(e["operation_id"], e["modelled"]) for e in served] == [
        ("GetCalls", False),
        ("GetAccesskeys", True),
    ]
    assert [Entry.from_dict(e) for e in served] == fake.state.journal.entries()


# --- run's report -----------------------------------------------------------------------


def entry(seq: int, method: str, target: str, op: str | None, status: int, **kw: Any) -> Entry:
    return Entry(seq, 0, method, target, op, status, **kw)


def test_the_report_lists_unmodelled_routes_with_counts() -> None:
    report = ClientReport(Spec())
    for n, (method, target, op, status) in enumerate(
        [
            ("GET", "/v1.0/calls", "GetCalls", 401),
            ("GET", "/v1.0/calls?accesskey=[REDACTED]", "GetCalls", 501),
            ("GET", "/v1.0/calls", "GetCalls", 501),
            ("DELETE", f"/v1.0/customers/{SOME_ID}", "DeleteCustomersId", 403),
            ("GET", "/openapi.json", "inline:gens/openapi_redoc/openapi.json", 501),
        ]
    ):
        report.observe(entry(n, method, target, op, status, modelled=False))
    report.observe(entry(9, "GET", "/nothing", None, 404, modelled=False))
    report.observe(entry(10, "GET", "/v1.0/accesskeys", "GetAccesskeys", 200))
    assert report.as_dict()["unmodelled"] == [
        {
            "method": "GET",
            "path": "/v1.0/calls",
            "operation": "GetCalls",
            "count": 3,
            "statuses": {"401": 1, "501": 2},
        },
        {
            "method": "GET",
            "path": "/openapi.json",
            "operation": "inline:gens/openapi_redoc/openapi.json",
            "count": 1,
            "statuses": {"501": 1},
        },
        {
            "method": "DELETE",
            "path": "/v1.0/customers/{id}",
            "operation": "DeleteCustomersId",
            "count": 1,
            "statuses": {"403": 1},
        },
    ]
    assert report.as_dict()["unrouted"] == {"GET /nothing": 1}
    assert report.as_dict()["operations"]["GetAccesskeys"]["calls"] == 1
    assert report.requests == 7
    text = report.table()
    assert "fakevoipbin does not model" in text
    assert "      3 × GET /v1.0/calls (GetCalls): 401×1, 501×2" in text
    assert "      1 × DELETE /v1.0/customers/{id} (DeleteCustomersId): 403×1" in text
    suite = ET.fromstring(report.junit())
    found = cases(suite)
    calls = found["GET /v1.0/calls"]
    assert calls.get("classname") == "fakevoipbin.unmodelled"
    assert calls.find("skipped") is not None
    assert properties(calls) == {
        "operation": "GetCalls",
        "calls": "3",
        "statuses_met": "401×1, 501×2",
    }
    suite_props = {p.get("name"): p.get("value") for p in suite.find("properties") or []}
    assert suite_props["unmodelled_requests"] == "5"
    assert suite.get("tests") == str(len(Spec().operations) + 3)


def test_the_report_lists_every_route_in_json_and_the_first_in_the_table() -> None:
    report = ClientReport(Spec())
    rows = [r for r in TABLE if r.group == "v1" and r.method == "GET"][:25]
    for n, row in enumerate(rows):
        report.observe(entry(n, "GET", concrete(row.path), row.operation, 501, modelled=False))
    assert len(report.as_dict()["unmodelled"]) == 25
    assert "… and 5 more route(s) (see the JSON report)" in report.table()


CLIENT = """
import json, os, urllib.error, urllib.request
base, key = os.environ["VOIPBIN_API_BASE_URL"], os.environ["VOIPBIN_API_KEY"]
def get(path, **headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers)) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
statuses = [get("/calls"), get("/calls?accesskey=" + key), get("/calls?accesskey=" + key),
            get("/customers?accesskey=" + key), get("/nothing?accesskey=" + key),
            get("/accesskeys?accesskey=" + key)]
print(json.dumps(statuses))
"""


def test_run_reports_the_unmodelled_routes_the_client_called(tmp_path: Path) -> None:
    proc, report, suite = run_cli(tmp_path, CLIENT)
    assert proc.returncode == 0, proc.stderr
    assert "[401, 501, 501, 403, 404, 200]" in proc.stdout
    assert report["unmodelled"] == [
        {
            "method": "GET",
            "path": "/v1.0/calls",
            "operation": "GetCalls",
            "count": 3,
            "statuses": {"401": 1, "501": 2},
        },
        {
            "method": "GET",
            "path": "/v1.0/customers",
            "operation": "GetCustomers",
            "count": 1,
            "statuses": {"403": 1},
        },
    ]
    assert report["unrouted"] == {"GET /v1.0/nothing": 1}
    assert report["operations"]["GetAccesskeys"]["calls"] == 1
    assert "      3 × GET /v1.0/calls (GetCalls): 401×1, 501×2" in proc.stdout
    assert "      1 × GET /v1.0/customers (GetCustomers): 403×1" in proc.stdout
    found = cases(suite)
    assert properties(found["GET /v1.0/calls"])["calls"] == "3"
    assert found["GET /v1.0/customers"].find("skipped") is not None
    assert TUTORIAL_TOKEN not in proc.stdout + json.dumps(report) + ET.tostring(suite).decode()


def test_frozen_customer_id_is_the_fixtures() -> None:
    """The frozen fixture these tests lean on (its key answers ACCOUNT_FROZEN)."""
    doc = yaml.safe_load(default_fixtures_path().read_text(encoding="utf-8"))
    assert {c["id"] for c in doc["customers"] if c.get("frozen")} == {FROZEN_CUSTOMER}
