"""openapi.yaml, loaded once: routes, and one compiled validator per operation part.

Request checks are split the way production orders them: a *shape* failure
(a wrong type, not an object) is reported at once, while a *rule* failure (a
minimum, a maximum length, a required field) is reported by the rules after
the permission check. Responses are validated against the declared status.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from .compiled import Compiler, Unsupported
from .resources import spec_path

log = logging.getLogger("fakevoipbin.spec")

#: libyaml's safe loader when PyYAML has it (several times faster), else PyYAML's own.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SPEC_URI = "urn:fakevoipbin:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Keywords whose failure is a business rule, reported after the permission check.
RULE_KEYWORDS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "maxLength",
        "minLength",
        "required",
    }
)
INT64 = (-(2**63), 2**63 - 1)


def _is_integer(_checker: Any, value: Any) -> bool:
    # JSON 86400.0 and 1e5 are not integers, as in production's Go decoder.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(_checker: Any, value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int64(value: object) -> bool:
    return not isinstance(value, int) or INT64[0] <= value <= INT64[1]


_KIT_LOCK = threading.Lock()


def jsonschema_kit() -> tuple[Any, Any]:
    """jsonschema's validator class (production's integers and numbers) and format
    checker (int64), made once, on first use: importing jsonschema costs about 40 ms,
    and a fake that meets no bad input never needs it (the compiled functions say yes)."""
    with _KIT_LOCK:
        return _jsonschema_kit()


@lru_cache(maxsize=1)
def _jsonschema_kit() -> tuple[Any, Any]:
    from jsonschema import Draft202012Validator, FormatChecker, validators

    types = Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    )
    formats = FormatChecker(formats=())
    formats.checks("int64")(_int64)
    return validators.extend(Draft202012Validator, type_checker=types), formats


class CheckedSchema:
    """A schema's compiled yes/no, with jsonschema to explain a no. Duck-types the
    part of a jsonschema validator the app uses (``iter_errors``, ``is_valid``).

    The jsonschema validator (``slow``) is made by ``make_slow`` the first time it is
    needed (a no to explain, a schema the compiler refused, a crosscheck), once.

    With ``crosscheck`` (the env var ``FAKEVOIPBIN_CROSSCHECK=1``, set by the test
    suite) every instance goes through both, and a disagreement is an error."""

    def __init__(self, make_slow: Callable[[], Any], fast: Any, crosscheck: bool) -> None:
        self._make_slow = make_slow
        self._slow: Any = None
        self._lock = threading.Lock()
        self.fast = fast
        self.crosscheck = crosscheck
        if fast is not None and not crosscheck:
            # Nothing to compare: the compiled function answers directly (a call less
            # on every validation; it returns True or False).
            self.is_valid = fast  # type: ignore[method-assign]

    def is_valid(self, instance: Any) -> bool:
        if self.fast is None:
            return bool(self.slow.is_valid(instance))
        quick = bool(self.fast(instance))
        if self.crosscheck and quick != self.slow.is_valid(instance):
            raise AssertionError(
                f"the compiled validator says {quick} but jsonschema disagrees on "
                f"{instance!r:.300} against {self.slow.schema!r:.300}"
            )
        return quick

    @property
    def slow(self) -> Any:
        """The jsonschema validator, made on first use."""
        slow = self._slow
        if slow is None:
            with self._lock:
                if self._slow is None:
                    self._slow = self._make_slow()
                slow = self._slow
        return slow

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        if self.is_valid(instance):
            return iter(())
        return iter(list(self.slow.iter_errors(instance)))


@dataclass(frozen=True)
class Finding:
    """One way an input or output broke the spec: where, which keyword, and why."""

    field: str
    rule: str
    description: str
    is_rule: bool = False

    def as_detail(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "description": self.description}


@dataclass
class Parameter:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    validator: Any

    @cached_property
    def is_integer(self) -> bool:
        return self.schema.get("type") == "integer"


@dataclass
class Operation:
    operation_id: str
    method: str
    path: str  # the full path served, e.g. /v1.0/accesskeys/{id}
    template: str  # the path as the spec writes it
    parameters: dict[str, Parameter]
    body_validator: Any | None
    body_fields: tuple[str, ...]
    secured: bool
    responses: dict[str, Any] = field(default_factory=dict)  # status → validator or None
    documented_statuses: tuple[int, ...] = ()


def findings(validator: Any, instance: Any, root: str = "body") -> list[Finding]:
    """How ``instance`` breaks a validator's schema, as findings (empty when valid)."""
    return _findings(validator.iter_errors(instance), root)


def _findings(errors: Iterator[Any], root: str) -> list[Finding]:
    out = []
    for err in sorted(errors, key=lambda e: (list(e.absolute_path), e.validator)):
        path = [str(p) for p in err.absolute_path]
        if err.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            path = path + missing[:1]
        name = ".".join(path) if path else root
        out.append(
            Finding(name, str(err.validator), _describe(name, err), err.validator in RULE_KEYWORDS)
        )
    return out


def _describe(name: str, err: Any) -> str:
    v, arg = err.validator, err.validator_value
    if v == "type":
        return f"{name} must be of type {arg}"
    if v == "minimum":
        return f"{name} must be at least {arg}"
    if v == "maximum":
        return f"{name} must be at most {arg}"
    if v == "maxLength":
        return f"{name} must be at most {arg} characters"
    if v == "minLength":
        return f"{name} must not be empty" if arg == 1 else f"{name} must be at least {arg} chars"
    if v == "required":
        return f"{name} is required"
    if v == "format":
        return f"{name} must fit the format {arg}"
    if v == "pattern":
        return f"{name} has an invalid format"
    if v == "not" and isinstance(arg, dict) and "required" in arg:
        return f"{name} must not carry {', '.join(arg['required'])}"
    if v in ("unevaluatedProperties", "additionalProperties", "enum", "const"):
        return f"{name}: {err.message}"[:200]
    return f"{name} breaks the spec's '{v}' rule"


class Spec:
    """The loaded spec with its compiled validators. Build it once and share it."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or spec_path()
        self.text = self.path.read_text(encoding="utf-8")
        self.doc: dict[str, Any] = yaml.load(self.text, Loader=_LOADER)
        self._lock = threading.Lock()
        self._registry: Any = None
        self.crosscheck = os.environ.get("FAKEVOIPBIN_CROSSCHECK") == "1"
        self._compiler = Compiler(self._pointer)
        base = self._server_prefix(self.doc.get("servers", []))
        #: operationId → Operation, in the spec's order (the app makes a route of each).
        self.operations: dict[str, Operation] = {}
        for template, item in self.doc["paths"].items():
            prefix = self._server_prefix(item["servers"]) if "servers" in item else base
            full = prefix + template
            shared = item.get("parameters", [])
            for method in METHODS:
                if method in item:
                    op = self._operation(method, full, template, item[method], shared)
                    self.operations[op.operation_id] = op
        self._schemas: dict[str, Any] = {}

    @staticmethod
    def _server_prefix(servers: list[dict[str, Any]]) -> str:
        if not servers:
            return ""
        url = servers[0]["url"]
        path = re.sub(r"^[a-z]+://[^/]+", "", url)
        return path.rstrip("/")

    def validator_for(self, schema: dict[str, Any]) -> CheckedSchema:
        """A validator whose $refs resolve inside the spec: compiled closures for the
        yes/no, jsonschema (built once too, on first need) to explain a no."""
        wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        if "$ref" in schema and len(schema) == 1:
            wrapped = {"$ref": SPEC_URI + schema["$ref"]}

        def slow() -> Any:
            validator, formats = jsonschema_kit()
            return validator(wrapped, registry=self.registry, format_checker=formats)

        try:
            fast = self._compiler.compile(schema)
        except Unsupported as exc:
            log.warning(
                "openapi.yaml: %s is validated by jsonschema alone (slower): %s",
                _schema_name(schema),
                exc,
            )
            fast = None
        return CheckedSchema(slow, fast, self.crosscheck)

    @property
    def registry(self) -> Any:
        """The spec as a ``referencing`` registry, for jsonschema's $refs (made once, on
        first use)."""
        with self._lock:
            if self._registry is None:
                from referencing import Registry
                from referencing.jsonschema import DRAFT202012

                resource = DRAFT202012.create_resource(self.doc)
                self._registry = Registry().with_resource(SPEC_URI, resource)
            return self._registry

    def _pointer(self, ref: str) -> dict[str, Any]:
        """The node a local ``$ref`` names (one level; siblings of a $ref stay)."""
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported: {ref}")
        node: Any = self.doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return dict(node)

    def _resolve(self, obj: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in obj and obj["$ref"].startswith("#/"):
            node: Any = self.doc
            for part in obj["$ref"][2:].split("/"):
                node = node[part]
            obj = node
        return obj

    def _operation(
        self,
        method: str,
        full: str,
        template: str,
        op: dict[str, Any],
        shared: list[dict[str, Any]],
    ) -> Operation:
        params: dict[str, Parameter] = {}
        for raw in [*shared, *op.get("parameters", [])]:
            p = self._resolve(raw)
            params[p["name"]] = Parameter(
                p["name"],
                p["in"],
                bool(p.get("required")),
                p["schema"],
                self.validator_for(p["schema"]),
            )
        body_validator = None
        body_fields: tuple[str, ...] = ()
        if "requestBody" in op:
            rb = self._resolve(op["requestBody"])
            schema = rb["content"]["application/json"]["schema"]
            body_validator = self.validator_for(schema)
            body_fields = tuple(self._resolve(schema).get("properties", {}))
        responses: dict[str, Any] = {}
        for status, resp in op.get("responses", {}).items():
            r = self._resolve(resp)
            content = r.get("content", {}).get("application/json")
            responses[str(status)] = self.validator_for(content["schema"]) if content else None
        secured = op.get("security", self.doc.get("security")) != []
        return Operation(
            operation_id=op["operationId"],
            method=method.upper(),
            path=full,
            template=template,
            parameters=params,
            body_validator=body_validator,
            body_fields=body_fields,
            secured=secured,
            responses=responses,
            documented_statuses=tuple(sorted(int(s) for s in responses if s.isdigit())),
        )

    # --- requests ----------------------------------------------------------------

    def check_body(self, op: Operation, body: Any) -> list[Finding]:
        if op.body_validator is None or op.body_validator.is_valid(body):
            return []
        return _findings(op.body_validator.iter_errors(body), "body")

    def check_param(self, param: Parameter, value: Any) -> list[Finding]:
        if param.validator.is_valid(value):
            return []
        return _findings(param.validator.iter_errors(value), param.name)

    # --- responses ---------------------------------------------------------------

    def check_response(self, op: Operation, status: int, body: Any) -> list[Finding]:
        """Why a response breaks the spec: an undeclared status, or a body off its schema."""
        key = str(status)
        if key not in op.responses:
            return [Finding("status", "responses", f"{op.operation_id} declares no {status}")]
        validator = op.responses[key]
        if validator is None:
            if body is None:
                return []
            return [Finding("body", "content", f"{op.operation_id} {status} declares no body")]
        return _findings(validator.iter_errors(body), "body")

    def check_error(self, body: Any) -> list[Finding]:
        """Why a body is not the API's error envelope (empty when it is)."""
        validator = self.schema_validator("Error")
        if validator.is_valid(body):
            return []
        return _findings(validator.iter_errors(body), "body")

    def schema_validator(self, name: str) -> Any:
        """A validator for ``#/components/schemas/<name>``."""
        if name not in self._schemas:
            self._schemas[name] = self.validator_for({"$ref": f"#/components/schemas/{name}"})
        return self._schemas[name]


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    return str(ref) if isinstance(ref, str) else f"a schema of type {schema.get('type', 'any')}"


_DEFAULT: Spec | None = None


def default_spec() -> Spec:
    """The packaged spec, loaded and compiled once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Spec()
    return _DEFAULT
