"""A request against openapi.yaml, bound as production binds it: the query, the path
id, the body, and where its credential may be.

One home for these checks. The fake's pipeline (``web/pipeline.py``: its
``credentials``, ``query``, ``path_id`` and ``body`` stages) calls them one stage at a
time and answers the first that fails; the proxy (``proxy/app.py``) calls
``request_findings`` and keeps every finding for its journal and ``run``'s report.

- ``query_param``: one query parameter: repeated, not a Go integer, or off its schema.
- ``path_param``: one path parameter (the key's id) against its schema.
- ``body_findings``: the body, already read: parsed as Go's decoder parses it, bound
  into the operation's fields, then checked against the body's schema. A finding with
  ``is_rule`` is a business rule (``expire`` ≥ 86400), raised after the permission
  check; the others are the body's shape.
- ``read_credentials``: the five places production reads a credential from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.auth import Credentials
from ..spec import Finding, Operation, Parameter, Spec
from .inputs import BodyError, bind_object, parse_cookies, parse_go_int, parse_json_body

#: The body is JSON but not an object (nor ``null``, which binds as an empty one).
NOT_OBJECT = Finding("body", "type", "the body must be a JSON object")


def query_param(spec: Spec, param: Parameter, values: list[str]) -> tuple[Any, list[Finding]]:
    """A query parameter's value as production binds it (an integer parsed as Go's
    strconv does) and how it breaks openapi.yaml: repeated, not an integer, or off
    its schema."""
    value: Any = values[0]
    if len(values) > 1:
        return value, [Finding(param.name, "repeated", f"{param.name} is repeated")]
    if param.is_integer:
        value = parse_go_int(value)
        if value is None:
            return value, [Finding(param.name, "type", f"{param.name} must be an integer")]
    return value, spec.check_param(param, value)


def path_param(spec: Spec, op: Operation, name: str, value: str) -> list[Finding]:
    """How the path parameter ``name`` breaks openapi.yaml (the id: a UUID); nothing
    for a name the operation does not declare."""
    param = op.parameters.get(name)
    return spec.check_param(param, value) if param is not None else []


def body_findings(
    spec: Spec, op: Operation, raw: bytes
) -> tuple[Any, dict[str, Any] | None, list[Finding]]:
    """The body (read whole) as production takes it: its JSON value (None when it is
    not JSON), that value bound into the operation's fields (None when it is not JSON
    or not an object: then the one finding says which), and how the bound body breaks
    openapi.yaml."""
    try:
        value = parse_json_body(raw)
    except BodyError as exc:
        return None, None, [Finding("body", "json", f"the body is not valid JSON: {exc}")]
    bound = bind_object(value, op.body_fields)
    if bound is None:
        return value, None, [NOT_OBJECT]
    return value, bound, spec.check_body(op, bound)


def request_findings(
    spec: Spec,
    op: Operation,
    path_params: Mapping[str, Any],
    query: Mapping[str, list[str]],
    raw: bytes,
) -> tuple[list[Finding], Any]:
    """Every way a request for ``op`` breaks openapi.yaml (its query, path id and
    body, where the operation has them), and its body's JSON value (None when it has
    none or it is not JSON)."""
    found: list[Finding] = []
    for param in op.parameters.values():
        if param.location == "query" and param.name in query:
            found += query_param(spec, param, query[param.name])[1]
        elif param.location == "path" and param.name in path_params:
            found += path_param(spec, op, param.name, path_params[param.name])
    if op.body_validator is None:
        return found, None
    value, _bound, problems = body_findings(spec, op, raw)
    return found + problems, value


def read_credentials(query: Mapping[str, list[str]], headers: Mapping[str, str]) -> Credentials:
    """The five places production reads a credential from, as this request has them
    (which one counts is ``core/auth.pick_credential``'s order)."""
    cookie = headers.get("cookie")
    cookies = parse_cookies(cookie) if cookie else _NO_COOKIES
    return Credentials(
        token_cookie=cookies.get("token"),
        token_query=query.get("token", _NO_VALUE)[0],
        authorization=headers.get("authorization"),
        accesskey_cookie=cookies.get("accesskey"),
        accesskey_query=query.get("accesskey", _NO_VALUE)[0],
    )


_NO_VALUE: list[str | None] = [None]
_NO_COOKIES: dict[str, str] = {}
