"""An independent check that a response conforms to openapi.yaml.

It reads the YAML with plain jsonschema, not through fakevoipbin.spec, so a bug
in the app's own validation cannot hide a bad response.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"
DOC: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
URI = "urn:test:openapi"
REGISTRY = Registry().with_resource(URI, Resource(contents=DOC, specification=DRAFT202012))
_ROUTES: list[tuple[re.Pattern[str], dict[str, Any]]] = []
for template, item in DOC["paths"].items():
    server = (item.get("servers") or DOC["servers"])[0]["url"]
    prefix = re.sub(r"^https?://[^/]+", "", server).rstrip("/")
    pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(prefix + template)) + "$"
    _ROUTES.append((re.compile(pattern), item))
_CACHE: dict[str, Draft202012Validator] = {}


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _validator(ref: str) -> Draft202012Validator:
    if ref not in _CACHE:
        _CACHE[ref] = Draft202012Validator({"$ref": URI + ref}, registry=REGISTRY)
    return _CACHE[ref]


class NonConforming(AssertionError):
    pass


def operation_for(method: str, path: str) -> dict[str, Any] | None:
    for regex, item in _ROUTES:
        if regex.fullmatch(path):  # the whole path: "$" would also take a final newline
            return item.get(method.lower())
    return None


def check(method: str, path: str, status: int, body: bytes) -> None:
    """Raise NonConforming unless the response is what the spec allows."""
    op = operation_for(method, path)
    if op is None:
        if body:  # routes outside the spec (404, preflight) still use the envelope
            errors = list(_validator("#/components/schemas/Error").iter_errors(json.loads(body)))
            if errors and not path.startswith("/openapi.yaml") and path != "/ping":
                raise NonConforming(f"{method} {path} {status}: {errors[0].message}")
        return
    responses = op["responses"]
    if str(status) not in responses:
        raise NonConforming(f"{method} {path}: status {status} is not documented")
    resp = _deref(responses[str(status)])
    content = resp.get("content", {}).get("application/json")
    if content is None:
        if body:
            raise NonConforming(f"{method} {path} {status}: a body where none is declared")
        return
    schema = content["schema"]
    ref = schema.get("$ref", None)
    assert ref is not None, "every response schema in openapi.yaml is a $ref"
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise NonConforming(f"{method} {path} {status}: body is not JSON") from exc
    errors = sorted(_validator(ref).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise NonConforming(
            f"{method} {path} {status}: {list(e.absolute_path)}: {e.message}\nbody: {body[:500]!r}"
        )
