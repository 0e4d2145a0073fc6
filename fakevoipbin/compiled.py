"""Compiled validators: a fast yes/no for the JSON Schema subset openapi.yaml uses.

``compile_schema`` turns a schema into nested closures, once, at start. On the hot
path the closure answers "valid?" in a few microseconds; only a "no" is handed to
jsonschema, which explains it. A schema using anything outside the subset raises
``Unsupported`` and the caller keeps jsonschema for it, so the answer is never
looser than jsonschema's. The tests compare both on generated data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_KNOWN = frozenset({
    "$ref", "$schema", "type", "properties", "required", "additionalProperties",
    "unevaluatedProperties", "items", "maxItems", "minItems", "oneOf", "anyOf", "not",
    "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum", "format",
    "minProperties",
    # annotations, no effect on validity
    "description", "example", "examples", "default", "title", "readOnly", "summary",
})
_INT64 = (-(2**63), 2**63 - 1)


class Unsupported(ValueError):
    """The schema uses a keyword (or a combination) this compiler does not handle."""


def _is_int(x: Any) -> bool:
    return type(x) is int  # JSON 1.0 and 1e5 are not integers; bool is not either


_TYPE_CHECKS: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "integer": _is_int,
    "number": lambda x: type(x) in (int, float),
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}


class Compiler:
    def __init__(self, resolve: Callable[[str], dict[str, Any]]) -> None:
        self._resolve = resolve
        self._refs: dict[str, Check] = {}

    def compile(self, schema: dict[str, Any]) -> Check:
        unknown = set(schema) - _KNOWN
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        if "unevaluatedProperties" in schema and any(k in schema for k in ("oneOf", "anyOf")):
            raise Unsupported("unevaluatedProperties beside oneOf/anyOf")
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"]))
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        if "enum" in schema:
            allowed = schema["enum"]
            checks.append(lambda x: any(_same(x, a) for a in allowed))
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda x: _same(x, const))
        checks += self._string(schema) + self._number(schema)
        checks += self._object(schema) + self._array(schema)
        if "oneOf" in schema:
            subs = [self.compile(s) for s in schema["oneOf"]]
            checks.append(lambda x: sum(1 for c in subs if c(x)) == 1)
        if "anyOf" in schema:
            subs_any = [self.compile(s) for s in schema["anyOf"]]
            checks.append(lambda x: any(c(x) for c in subs_any))
        if "not" in schema:
            inner = self.compile(schema["not"])
            checks.append(lambda x: not inner(x))
        if not checks:
            return lambda x: True
        if len(checks) == 1:
            return checks[0]
        return lambda x: all(c(x) for c in checks)

    def _ref(self, ref: str) -> Check:
        if ref not in self._refs:
            slot: list[Check] = []
            self._refs[ref] = lambda x: slot[0](x)  # a stub, for recursive schemas
            slot.append(self.compile(self._resolve(ref)))
            self._refs[ref] = slot[0]
        return self._refs[ref]

    def _type(self, t: str | list[str]) -> Check:
        names = [t] if isinstance(t, str) else list(t)
        fns = [_TYPE_CHECKS[n] for n in names]
        if len(fns) == 1:
            return fns[0]
        return lambda x: any(f(x) for f in fns)

    def _string(self, s: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "pattern" in s:
            search = re.compile(s["pattern"]).search
            out.append(lambda x: type(x) is not str or search(x) is not None)
        if "minLength" in s:
            lo = s["minLength"]
            out.append(lambda x: type(x) is not str or len(x) >= lo)
        if "maxLength" in s:
            hi = s["maxLength"]
            out.append(lambda x: type(x) is not str or len(x) <= hi)
        return out

    def _number(self, s: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        numeric = (int, float)
        if "minimum" in s:
            lo = s["minimum"]
            out.append(lambda x: type(x) not in numeric or x >= lo)
        if "maximum" in s:
            hi = s["maximum"]
            out.append(lambda x: type(x) not in numeric or x <= hi)
        if s.get("format") == "int64":
            out.append(lambda x: type(x) is not int or _INT64[0] <= x <= _INT64[1])
        elif "format" in s:
            raise Unsupported(f"format {s['format']}")
        return out

    def _object(self, s: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        props = s.get("properties", {})
        compiled = [(name, self.compile(sub)) for name, sub in props.items()]
        if compiled:
            out.append(
                lambda x: type(x) is not dict
                or all(c(x[n]) for n, c in compiled if n in x)
            )
        if "required" in s:
            req = tuple(s["required"])
            out.append(lambda x: type(x) is not dict or all(k in x for k in req))
        if "minProperties" in s:
            lo = s["minProperties"]
            out.append(lambda x: type(x) is not dict or len(x) >= lo)
        closed = s.get("additionalProperties", s.get("unevaluatedProperties"))
        if closed is False:
            names = set(props)
            if "unevaluatedProperties" in s and "$ref" in s:
                names |= self._evaluated(self._resolve(s["$ref"]))
            allowed = frozenset(names)
            out.append(lambda x: type(x) is not dict or allowed.issuperset(x))
        elif closed not in (None, True):
            raise Unsupported("additionalProperties with a schema")
        return out

    def _evaluated(self, s: dict[str, Any]) -> set[str]:
        names = set(s.get("properties", {}))
        if "$ref" in s:
            names |= self._evaluated(self._resolve(s["$ref"]))
        if any(k in s for k in ("oneOf", "anyOf", "allOf", "if")):
            raise Unsupported("unevaluatedProperties over a conditional schema")
        return names

    def _array(self, s: dict[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "items" in s:
            item = self.compile(s["items"])
            out.append(lambda x: type(x) is not list or all(item(i) for i in x))
        if "maxItems" in s:
            hi = s["maxItems"]
            out.append(lambda x: type(x) is not list or len(x) <= hi)
        if "minItems" in s:
            lo = s["minItems"]
            out.append(lambda x: type(x) is not list or len(x) >= lo)
        return out


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0 but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)
