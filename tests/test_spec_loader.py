"""fakevoipbin/spec.py as a loader: operations, routes, request and response checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fakevoipbin.spec import Finding, Spec, default_spec

from .conftest import TUTORIAL_KEY, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

SPEC_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"

#: operationId → (method, full path served)
OPERATIONS = {
    "GetAccesskeys": ("GET", "/v1.0/accesskeys"),
    "PostAccesskeys": ("POST", "/v1.0/accesskeys"),
    "GetAccesskeysId": ("GET", "/v1.0/accesskeys/{id}"),
    "PutAccesskeysId": ("PUT", "/v1.0/accesskeys/{id}"),
    "DeleteAccesskeysId": ("DELETE", "/v1.0/accesskeys/{id}"),
    "PostAuthLogin": ("POST", "/auth/login"),
    "GetCustomer": ("GET", "/v1.0/customer"),
    "PutCustomer": ("PUT", "/v1.0/customer"),
    "PutCustomerMetadata": ("PUT", "/v1.0/customer/metadata"),
    "PutCustomerBillingAccountId": ("PUT", "/v1.0/customer/billing_account_id"),
    "GetMe": ("GET", "/v1.0/me"),
}

#: A key as the docs profile answers it (openapi.yaml's GetAccesskeysId example).
DOCS_KEY: dict[str, Any] = TUTORIAL_KEY
#: The same key as the live profile answers it (nulls, trimmed fractions).
LIVE_KEY: dict[str, Any] = {
    **DOCS_KEY,
    "tm_create": "2026-12-01T10:15:30Z",
    "tm_update": None,
    "tm_delete": None,
}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec()


def _doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return loaded


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


# --- loading -----------------------------------------------------------------------


def test_default_spec_is_built_once_per_process() -> None:
    """default_spec() answers the same object every time."""
    first = default_spec()
    assert default_spec() is first
    assert isinstance(first, Spec)


def test_spec_loads_the_packaged_openapi_yaml(spec: Spec) -> None:
    """Spec() reads openapi.yaml: the same text, parsed."""
    assert spec.text == SPEC_FILE.read_text(encoding="utf-8")
    assert spec.doc == _doc()
    assert spec.doc["openapi"].startswith("3.1")


def test_exactly_the_operations_with_method_and_full_path(spec: Spec) -> None:
    """The /v1.0 server prefix applies to /accesskeys and /customer paths; /auth/login
    sits at the root."""
    found = {oid: (op.method, op.path) for oid, op in spec.operations.items()}
    assert found == OPERATIONS
    for oid, op in spec.operations.items():
        assert op.operation_id == oid
    assert spec.operations["GetAccesskeysId"].template == "/accesskeys/{id}"
    assert spec.operations["PostAuthLogin"].template == "/auth/login"


def test_only_login_is_unsecured(spec: Spec) -> None:
    """`security: []` on login alone; every other operation needs a credential."""
    unsecured = {oid for oid, op in spec.operations.items() if not op.secured}
    assert unsecured == {"PostAuthLogin"}


def test_parameters_are_resolved_with_their_location_and_type(spec: Spec) -> None:
    """page_size is an integer query parameter, page_token a string one, id a path one."""
    listing = spec.operations["GetAccesskeys"].parameters
    assert set(listing) == {"page_size", "page_token"}
    size, token = listing["page_size"], listing["page_token"]
    assert (size.location, size.required, size.is_integer) == ("query", False, True)
    assert size.schema["type"] == "integer"
    assert (token.location, token.required, token.is_integer) == ("query", False, False)
    assert token.schema["type"] == "string"
    for oid in ("GetAccesskeysId", "PutAccesskeysId", "DeleteAccesskeysId"):
        params = spec.operations[oid].parameters
        assert set(params) == {"id"}, oid
        assert (params["id"].location, params["id"].required) == ("path", True)
        assert not params["id"].is_integer
    for oid in ("PostAccesskeys", "PostAuthLogin"):
        assert spec.operations[oid].parameters == {}


def test_body_fields_come_from_the_request_schema(spec: Spec) -> None:
    """Create binds name/detail/expire, update name/detail; GET and DELETE have no body."""
    ops = spec.operations
    assert ops["PostAccesskeys"].body_fields == ("name", "detail", "expire")
    assert ops["PutAccesskeysId"].body_fields == ("name", "detail")
    assert ops["PostAuthLogin"].body_fields == ("username", "password")
    for oid in ("GetAccesskeys", "GetAccesskeysId", "DeleteAccesskeysId"):
        assert ops[oid].body_validator is None, oid
        assert ops[oid].body_fields == (), oid


def test_documented_statuses_are_the_spec_responses_sorted(spec: Spec) -> None:
    """documented_statuses: the declared responses as sorted ints."""
    raw = _doc()
    for op in spec.operations.values():
        declared = raw["paths"][op.template][op.method.lower()]["responses"]
        assert op.documented_statuses == tuple(sorted(int(s) for s in declared))
        assert list(op.documented_statuses) == sorted(op.documented_statuses)
        assert all(type(s) is int for s in op.documented_statuses)
        assert set(op.responses) == {str(s) for s in declared}
    assert spec.operations["PostAuthLogin"].documented_statuses == (200, 400, 429, 500, 503)
    assert 404 in spec.operations["GetAccesskeysId"].documented_statuses
    assert 404 not in spec.operations["GetAccesskeys"].documented_statuses


def test_login_400_declares_no_body(spec: Spec) -> None:
    """A response without content has no validator."""
    login = spec.operations["PostAuthLogin"]
    assert login.responses["400"] is None
    assert login.responses["200"] is not None


# --- routing ---------------------------------------------------------------------


def _routes(spec: Spec) -> dict[str, tuple[str, str]]:
    """operationId -> (method, path) of the routes the app builds from ``spec``."""
    from fakevoipbin.assemble import build_state
    from fakevoipbin.options import Options
    from fakevoipbin.web.app import build_app
    from fakevoipbin.web.routing import ExactRoute

    app = build_app(build_state(Options(now="2026-12-01T10:15:30Z")), spec)
    return {
        r.name: (r.method, r.path)
        for r in app.asgi.routes
        if isinstance(r, ExactRoute) and r.name in spec.operations
    }


def test_the_app_has_one_route_per_operation(spec: Spec) -> None:
    """Starlette routes are generated from the spec: one per operation, its method and
    its full path (Starlette's router matches them; the spec only describes them)."""
    assert _routes(spec) == {op_id: (op.method, op.path) for op_id, op in spec.operations.items()}


# --- request checks ----------------------------------------------------------------


def test_check_body_accepts_a_valid_create(spec: Spec) -> None:
    """A body within the schema has no findings."""
    create = spec.operations["PostAccesskeys"]
    assert spec.check_body(create, {"name": "n", "detail": "d", "expire": 86400}) == []
    assert spec.check_body(create, {"expire": 31536000, "unknown": 1}) == []


def test_check_body_a_string_expire_is_a_shape_finding(spec: Spec) -> None:
    """{"expire": "86400"} is a wrong type: reported at once, not as a rule."""
    found = spec.check_body(spec.operations["PostAccesskeys"], {"expire": "86400"})
    assert [(f.field, f.rule, f.is_rule) for f in found] == [("expire", "type", False)]
    assert found[0].description == "expire must be of type integer"


def test_check_body_a_small_expire_is_a_rule_finding(spec: Spec) -> None:
    """{"expire": 5} breaks the minimum: a rule, reported after the permission check."""
    found = spec.check_body(spec.operations["PostAccesskeys"], {"expire": 5})
    assert [(f.field, f.rule, f.is_rule) for f in found] == [("expire", "minimum", True)]
    assert found[0].description == "expire must be at least 86400"


@pytest.mark.parametrize("value", [86400.0, 1e5, True])
def test_check_body_floats_are_not_integers(spec: Spec, value: Any) -> None:
    """86400.0 and 1e5 are not integers (nor is a bool), as production's Go decoder says."""
    found = spec.check_body(spec.operations["PostAccesskeys"], {"expire": value})
    assert [(f.field, f.rule, f.is_rule) for f in found] == [("expire", "type", False)]


def test_check_body_missing_expire_and_long_name_are_rules(spec: Spec) -> None:
    """required and maxLength are rules."""
    create = spec.operations["PostAccesskeys"]
    missing = spec.check_body(create, {"name": "n"})
    assert [(f.field, f.rule, f.is_rule) for f in missing] == [("expire", "required", True)]
    long = spec.check_body(create, {"name": "x" * 256, "expire": 86400})
    assert [(f.field, f.rule, f.is_rule) for f in long] == [("name", "maxLength", True)]
    assert spec.check_body(create, {"name": "x" * 255, "expire": 86400}) == []
    update = spec.operations["PutAccesskeysId"]
    assert [f.rule for f in spec.check_body(update, {"name": "x" * 256})] == ["maxLength"]


def test_check_body_not_an_object(spec: Spec) -> None:
    """A list body is a shape finding named after the body itself."""
    found = spec.check_body(spec.operations["PutAccesskeysId"], [])
    assert [(f.field, f.rule, f.is_rule) for f in found] == [("body", "type", False)]


def test_check_body_without_a_body_schema_finds_nothing(spec: Spec) -> None:
    """An operation without a requestBody never complains about a body."""
    assert spec.check_body(spec.operations["GetAccesskeys"], "anything") == []


def test_finding_as_detail() -> None:
    """as_detail is the envelope's detail: field, rule, description (no is_rule)."""
    f = Finding("expire", "minimum", "expire must be at least 86400", True)
    assert f.as_detail() == {
        "field": "expire",
        "rule": "minimum",
        "description": "expire must be at least 86400",
    }


def test_check_param_page_size(spec: Spec) -> None:
    """page_size takes an int64; a string or a too-large number is a finding."""
    size = spec.operations["GetAccesskeys"].parameters["page_size"]
    assert spec.check_param(size, 10) == []
    assert spec.check_param(size, -1) == []
    assert spec.check_param(size, 2**63 - 1) == []
    found = spec.check_param(size, "abc")
    assert [(f.field, f.rule) for f in found] == [("page_size", "type")]
    assert spec.check_param(size, 10.5) != []
    too_big = spec.check_param(size, 2**63)
    assert [(f.field, f.rule) for f in too_big] == [("page_size", "format")]


def test_check_param_page_token(spec: Spec) -> None:
    """page_token is a tm_create cursor, or empty."""
    token = spec.operations["GetAccesskeys"].parameters["page_token"]
    assert spec.check_param(token, "") == []
    assert spec.check_param(token, "2026-12-01T10:15:30.123456Z") == []
    found = spec.check_param(token, "yesterday")
    assert [(f.field, f.rule) for f in found] == [("page_token", "pattern")]


@pytest.mark.parametrize(
    "value",
    [
        TUTORIAL_KEY_ID,
        TUTORIAL_KEY_ID.upper(),
        TUTORIAL_KEY_ID.replace("-", ""),
        "{" + TUTORIAL_KEY_ID + "}",
        "urn:uuid:" + TUTORIAL_KEY_ID,
    ],
)
def test_check_param_id_accepts_the_uuid_forms(spec: Spec, value: str) -> None:
    """Canonical, upper case, bare hex, braces and urn:uuid: are all ids."""
    param = spec.operations["GetAccesskeysId"].parameters["id"]
    assert spec.check_param(param, value) == []


@pytest.mark.parametrize(
    "value", ["not-a-uuid", TUTORIAL_KEY_ID[:-1], TUTORIAL_KEY_ID + "0", "", "{" + TUTORIAL_KEY_ID]
)
def test_check_param_id_refuses_other_text(spec: Spec, value: str) -> None:
    """Anything else breaks the id's pattern."""
    param = spec.operations["DeleteAccesskeysId"].parameters["id"]
    found = spec.check_param(param, value)
    assert [(f.field, f.rule, f.is_rule) for f in found] == [("id", "pattern", False)]


# --- response checks ---------------------------------------------------------------


def test_check_response_an_undeclared_status(spec: Spec) -> None:
    """A status the operation does not declare is a "responses" finding."""
    get = spec.operations["GetAccesskeys"]
    found = spec.check_response(get, 404, {"error": {}})
    assert len(found) == 1
    assert (found[0].field, found[0].rule) == ("status", "responses")
    assert "GetAccesskeys" in found[0].description and "404" in found[0].description
    assert spec.check_response(spec.operations["GetAccesskeysId"], 418, None)[0].rule == (
        "responses"
    )


def test_check_response_a_200_missing_required_fields(spec: Spec) -> None:
    """A 200 body without its required fields has one finding per missing field."""
    get = spec.operations["GetAccesskeysId"]
    assert spec.check_response(get, 200, DOCS_KEY) == []
    assert spec.check_response(get, 200, LIVE_KEY) == []
    partial = {k: v for k, v in DOCS_KEY.items() if k not in ("id", "tm_create")}
    found = spec.check_response(get, 200, partial)
    assert found
    assert {(f.field, f.rule) for f in found} >= {("id", "required"), ("tm_create", "required")}
    assert spec.check_response(get, 200, {}) != []


def test_check_response_a_body_where_none_is_declared(spec: Spec) -> None:
    """Login's 400 is bare: None passes, a body is a "content" finding."""
    login = spec.operations["PostAuthLogin"]
    assert spec.check_response(login, 400, None) == []
    found = spec.check_response(login, 400, {"error": "x"})
    assert [(f.field, f.rule) for f in found] == [("body", "content")]


def test_check_response_an_error_envelope(spec: Spec) -> None:
    """A declared error status is checked against the Error envelope."""
    get = spec.operations["GetAccesskeysId"]
    good = {
        "error": {
            "message": "The access key was not found.",
            "reason": "ACCESSKEY_NOT_FOUND",
            "request_id": "req_1",
            "status": "NOT_FOUND",
        }
    }
    assert spec.check_response(get, 404, good) == []
    bad = {"error": {**good["error"], "reason": "NO_SUCH_REASON"}}
    assert [f.rule for f in spec.check_response(get, 404, bad)] == ["enum"]


# --- named schemas: compiled and jsonschema agree -------------------------------------

ACCESSKEY_CASES: list[tuple[str, Any, bool]] = [
    ("docs key", DOCS_KEY, True),
    ("live key", LIVE_KEY, True),
    (
        "without name and detail",
        {k: v for k, v in DOCS_KEY.items() if k not in ("name", "detail")},
        True,
    ),
    ("with a token", {**DOCS_KEY, "token": TUTORIAL_TOKEN}, False),
    ("an unknown field", {**DOCS_KEY, "colour": "blue"}, False),
    ("a bad id", {**DOCS_KEY, "id": "not-a-uuid"}, False),
    ("an upper-case id", {**DOCS_KEY, "id": TUTORIAL_KEY_ID.upper()}, False),
    ("tm_create yesterday", {**DOCS_KEY, "tm_create": "yesterday"}, False),
    ("tm_create null", {**DOCS_KEY, "tm_create": None}, False),
    ("an empty name", {**DOCS_KEY, "name": ""}, False),
    ("a bad prefix", {**DOCS_KEY, "token_prefix": "vb_short"}, False),
    ("missing tm_delete", {k: v for k, v in DOCS_KEY.items() if k != "tm_delete"}, False),
    ("not an object", [DOCS_KEY], False),
    ("null", None, False),
]


def test_schema_validator_is_built_once(spec: Spec) -> None:
    """The same validator object for the same name, another for another name."""
    first = spec.schema_validator("Accesskey")
    assert spec.schema_validator("Accesskey") is first
    assert spec.schema_validator("AccesskeyCreated") is not first


@pytest.mark.parametrize(
    ("value", "valid"),
    [(value, valid) for _, value, valid in ACCESSKEY_CASES],
    ids=[name for name, _, _ in ACCESSKEY_CASES],
)
def test_accesskey_compiled_and_jsonschema_agree(spec: Spec, value: Any, valid: bool) -> None:
    """The compiled function and jsonschema give the same, expected, answer."""
    checked = spec.schema_validator("Accesskey")
    assert checked.fast is not None  # openapi.yaml needs no jsonschema fallback
    assert bool(checked.fast(value)) is valid
    assert checked.slow.is_valid(value) is valid
    answer = checked.is_valid(value)
    assert type(answer) is bool and answer is valid
    assert (list(checked.iter_errors(value)) == []) is valid


def test_created_key_needs_its_token(spec: Spec) -> None:
    """AccesskeyCreated is the only schema with the raw token, and requires it."""
    created = spec.schema_validator("AccesskeyCreated")
    with_token = {**DOCS_KEY, "token": TUTORIAL_TOKEN}
    for value, valid in ((with_token, True), (DOCS_KEY, False)):
        assert bool(created.fast(value)) is valid
        assert created.slow.is_valid(value) is valid
        assert created.is_valid(value) is valid


# --- the loader reads the file it is given ----------------------------------------------


def test_a_changed_max_length_is_reflected(tmp_path: Path, spec: Spec) -> None:
    """A modified copy with name's maxLength at 10 refuses an 11-character name."""
    doc = _doc()
    doc["components"]["schemas"]["AccesskeyCreate"]["properties"]["name"]["maxLength"] = 10
    changed = Spec(_write(tmp_path, doc))
    assert changed.path == tmp_path / "openapi.yaml"
    body = {"name": "x" * 11, "expire": 86400}
    found = changed.check_body(changed.operations["PostAccesskeys"], body)
    assert [(f.field, f.rule, f.is_rule) for f in found] == [("name", "maxLength", True)]
    assert changed.check_body(changed.operations["PostAccesskeys"], {**body, "name": "x"}) == []
    # the packaged spec is untouched
    assert spec.check_body(spec.operations["PostAccesskeys"], body) == []


def test_a_new_operation_is_loaded_and_routed(tmp_path: Path) -> None:
    """An operation added to the copy appears with its method, full path and route."""
    doc = _doc()
    doc["paths"]["/accesskeys/{id}/rotate"] = {
        "parameters": [{"$ref": "#/components/parameters/id"}],
        "post": {
            "operationId": "PostAccesskeysIdRotate",
            "security": [],
            "responses": {
                "200": {
                    "description": "The key.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/AccesskeyCreated"}
                        }
                    },
                },
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        },
    }
    changed = Spec(_write(tmp_path, doc))
    assert set(changed.operations) == {*OPERATIONS, "PostAccesskeysIdRotate"}
    op = changed.operations["PostAccesskeysIdRotate"]
    assert (op.method, op.path) == ("POST", "/v1.0/accesskeys/{id}/rotate")
    assert op.secured is False
    assert op.documented_statuses == (200, 404)
    assert set(op.parameters) == {"id"} and op.parameters["id"].location == "path"
    assert op.body_validator is None
    routes = _routes(changed)
    assert routes["PostAccesskeysIdRotate"] == ("POST", "/v1.0/accesskeys/{id}/rotate")
    assert "PostAccesskeysIdRotate" not in _routes(Spec())


def test_a_changed_server_prefix_moves_the_paths(tmp_path: Path) -> None:
    """The servers' path is the prefix: /v2 moves the key paths, not login."""
    doc = _doc()
    doc["servers"] = [{"url": "https://api.example.com/v2/"}]
    changed = Spec(_write(tmp_path, doc))
    assert changed.operations["GetAccesskeys"].path == "/v2/accesskeys"
    assert changed.operations["GetAccesskeysId"].path == "/v2/accesskeys/{id}"
    assert changed.operations["PostAuthLogin"].path == "/auth/login"
    assert _routes(changed)["GetAccesskeys"] == ("GET", "/v2/accesskeys")
