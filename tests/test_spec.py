"""openapi.yaml itself: valid OpenAPI 3.1, the operations and errors the fake serves."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from fakevoipbin.core import errors
from fakevoipbin.spec import Spec, default_spec

from . import spec_check

EXPECTED = {
    ("GET", "/v1.0/accesskeys"): "GetAccesskeys",
    ("POST", "/v1.0/accesskeys"): "PostAccesskeys",
    ("GET", "/v1.0/accesskeys/{id}"): "GetAccesskeysId",
    ("PUT", "/v1.0/accesskeys/{id}"): "PutAccesskeysId",
    ("DELETE", "/v1.0/accesskeys/{id}"): "DeleteAccesskeysId",
    ("POST", "/auth/login"): "PostAuthLogin",
    ("GET", "/v1.0/customer"): "GetCustomer",
    ("PUT", "/v1.0/customer"): "PutCustomer",
    ("PUT", "/v1.0/customer/metadata"): "PutCustomerMetadata",
    ("PUT", "/v1.0/customer/billing_account_id"): "PutCustomerBillingAccountId",
    ("GET", "/v1.0/me"): "GetMe",
}


def test_spec_passes_openapi_spec_validator() -> None:
    validate(spec_check.DOC)
    assert spec_check.DOC["openapi"].startswith("3.1")


def test_operations_and_where_they_are_served() -> None:
    spec = default_spec()
    served = {(op.method, op.path): op.operation_id for op in spec.operations.values()}
    assert served == EXPECTED


def test_every_reason_the_fake_can_send_is_in_the_envelope_enum() -> None:
    inner = spec_check.DOC["components"]["schemas"]["Error"]["properties"]["error"]
    reasons = set(inner["properties"]["reason"]["enum"])
    statuses = set(inner["properties"]["status"]["enum"])
    for kind in errors.CATALOGUE:
        assert kind.reason in reasons
        assert kind.status in statuses
    assert errors.invalid_request_parameter("page_size").reason in reasons


def test_credentials_the_server_accepts_are_declared() -> None:
    schemes = spec_check.DOC["components"]["securitySchemes"]
    placed = {(s.get("in"), s.get("name")) for s in schemes.values() if s["type"] == "apiKey"}
    assert placed == {
        ("query", "accesskey"),
        ("cookie", "accesskey"),
        ("query", "token"),
        ("cookie", "token"),
    }
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def _examples() -> list[tuple[str, str, Any, str]]:
    out = []
    for _template, item in spec_check.DOC["paths"].items():
        for _method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, resp in op["responses"].items():
                content = resp.get("content", {}).get("application/json", {})
                for _name, ex in content.get("examples", {}).items():
                    out.append((op["operationId"], status, ex["value"], content["schema"]["$ref"]))
    return out


@pytest.mark.parametrize(("op", "status", "value", "ref"), _examples())
def test_the_tutorials_examples_fit_their_schemas(
    op: str, status: str, value: Any, ref: str
) -> None:
    errors_found = list(spec_check._validator(ref).iter_errors(value))
    assert not errors_found, errors_found[0].message


def test_token_is_declared_for_create_only() -> None:
    spec = Spec()
    key = {
        "id": "2f1f8f7e-9b3d-4c60-8465-b69e9f28b6dc",
        "customer_id": "a1d9b2cd-4578-4b23-91b6-5f5ec4a2f840",
        "token_prefix": "vb_a3Bf9xKm",
        "tm_expire": None,
        "tm_create": "2026-12-01T10:15:30Z",
        "tm_update": None,
        "tm_delete": None,
    }
    with_token = {**key, "token": "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"}
    get = spec.operations["GetAccesskeysId"]
    create = spec.operations["PostAccesskeys"]
    assert spec.check_response(get, 200, key) == []
    assert spec.check_response(get, 200, with_token) != []
    assert spec.check_response(create, 200, with_token) == []
    assert spec.check_response(create, 200, key) != []


def test_integers_are_integers_as_in_production() -> None:
    spec = Spec()
    create = spec.operations["PostAccesskeys"]
    assert spec.check_body(create, {"expire": 86400}) == []
    for bad in (86400.0, 1e5, True, "86400", 2**63):
        found = spec.check_body(create, {"expire": bad})
        assert found and not found[0].is_rule, bad
    found = spec.check_body(create, {"expire": 5})
    assert [f.rule for f in found] == ["minimum"] and found[0].is_rule


def test_a_schema_the_compiler_cannot_take_is_named_in_a_log_line_at_start(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The compiled validators cover the keywords openapi.yaml uses; a schema with any
    other keyword falls back to jsonschema, and the start says so (never silently)."""
    import yaml

    doc = yaml.safe_load(default_spec().text)
    doc["components"]["schemas"]["TokenPrefix"]["if"] = {"minLength": 1}
    doc["components"]["schemas"]["TokenPrefix"]["then"] = {"maxLength": 11}
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with caplog.at_level("WARNING", logger="fakevoipbin.spec"):
        spec = Spec(path)
    lines = [r.getMessage() for r in caplog.records]
    assert any("validated by jsonschema alone" in line and "if" in line for line in lines), lines
    # and the fallback still refuses what the schema refuses
    assert not spec.schema_validator("TokenPrefix").is_valid("vb_x")
    assert spec.schema_validator("TokenPrefix").is_valid("vb_a3Bf9xKm")


def test_the_default_spec_needs_no_fallback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="fakevoipbin.spec"):
        Spec()
    assert [r.getMessage() for r in caplog.records] == []
