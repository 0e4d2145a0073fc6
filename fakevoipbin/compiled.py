"""Compiled validators: a fast yes/no for the JSON Schema subset openapi.yaml uses.

``Compiler.compile`` turns a schema into Python source, once, at start, and ``exec``s
it: straight-line checks, one function per schema node, as fastjsonschema does. On
the hot path the function answers "valid?" in microseconds; only a "no" is handed to
jsonschema, which explains it. A schema using anything outside the subset raises
``Unsupported``; the caller keeps jsonschema for it and logs a line at start, so the
answer is never looser than jsonschema's. The tests compare both on every validation
they make.

Why this module and not a kept library. ``python -m bench.validators`` (part of
``make bench``) measures it against fastjsonschema 2.22.3 and jsonschema-rs 0.60.3 on
the spec's own schemas, in µs per validation (``make bench``, 2026-12-02, 2 cores,
Python 3.11.7; a key is one of 100 distinct keys in turn):

    validator                       one key   page of 100   create body   86400.0, 1e5
    compiled.py                        6.12         617.1          0.62   refused
    jsonschema-rs                      2.11         148.3          0.30   accepted
    jsonschema-rs, hand-made draft 4   1.69         155.3          0.31   refused
    fastjsonschema                    15.64        2864.2          1.29   accepted
    jsonschema (for scale)           413.65       55477.8         57.13   refused

Neither library keeps production's rule on the spec's own schemas: JSON ``86400.0``
and ``1e5`` are not integers. jsonschema-rs counts a float without a fraction as an
integer (JSON Schema's rule since draft 6) and has no switch for it; fastjsonschema
also knows no draft past 7, so it drops ``unevaluatedProperties`` and a ``$ref``'s
siblings without a word and accepts a key carrying its ``token``. jsonschema-rs keeps
the rule only in draft-4 mode, on schemas rewritten by hand, which would be a second
spec to keep in step with openapi.yaml. End to end the fake validates one new key per
create (a list page's items and every other answer are checked renderings, reused),
so the faster library would save about 4 µs of a create's ~260 inside the server.
compiled.py stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_KNOWN = frozenset(
    {
        "$ref",
        "$schema",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "unevaluatedProperties",
        "items",
        "maxItems",
        "minItems",
        "oneOf",
        "anyOf",
        "not",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "format",
        "minProperties",
        # annotations, no effect on validity
        "description",
        "example",
        "examples",
        "default",
        "title",
        "readOnly",
        "summary",
    }
)
INT64 = (-(2**63), 2**63 - 1)
#: Strings kept per pattern as known to match (see ``Compiler._string``).
PATTERN_MEMO_SIZE = 64

_TYPE_TESTS = {
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "string": "type({v}) is str",
    "integer": "type({v}) is int",  # JSON 1.0 and 1e5 are not integers, nor is a bool
    "number": "type({v}) in _NUMERIC",
    "boolean": "type({v}) is bool",
    "null": "{v} is None",
}


#: What a property lookup answers for a property the object does not have.
_MISSING = object()


class Unsupported(ValueError):
    """The schema uses a keyword (or a combination) this compiler does not handle."""


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


class Compiler:
    def __init__(self, resolve: Callable[[str], dict[str, Any]]) -> None:
        self._resolve = resolve
        self._names: dict[int, str] = {}  # id(schema) -> function name
        self._ref_names: dict[str, str] = {}
        self._unsupported: set[str] = set()
        self._inlining: list[str] = []
        self._env: dict[str, Any] = {
            "_NUMERIC": (int, float),
            "_json_equal": json_equal,
            "_MISSING": _MISSING,
        }
        self._patterns: dict[str, tuple[str, str]] = {}
        self._count = 0

    def compile(self, schema: dict[str, Any]) -> Check:
        source: list[str] = []
        name = self._function(schema, source)
        code = "\n".join(source)
        exec(compile(code, f"<compiled schema {name}>", "exec"), self._env)  # noqa: S102
        fn: Check = self._env[name]
        return fn

    # --- code generation ------------------------------------------------------------

    def _pattern(self, pattern: str) -> tuple[str, str]:
        """The names of a pattern's memo of matching strings and its search."""
        if pattern not in self._patterns:
            self._patterns[pattern] = (
                self._const(set()),
                self._const(re.compile(pattern).search),
            )
        return self._patterns[pattern]

    def _const(self, value: Any) -> str:
        self._count += 1
        name = f"_c{self._count}"
        self._env[name] = value
        return name

    def _function(self, schema: dict[str, Any], out: list[str]) -> str:
        """Emit ``def _fN(x): ... return True`` for one schema node; its name."""
        if "$ref" in schema and len(set(schema) - {"description", "example"}) == 1:
            return self._ref(schema["$ref"], out)
        known = self._names.get(id(schema))
        if known and known in self._env:
            return known
        unknown = set(schema) - _KNOWN
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        self._count += 1
        name = f"_f{self._count}"
        self._names[id(schema)] = name
        body: list[str] = []
        self._body(schema, "x", body, out)
        out.append(f"def {name}(x):")
        out.extend(f"    {line}" for line in body)
        out.append("    return True")
        return name

    def _ref(self, ref: str, out: list[str]) -> str:
        if ref in self._unsupported:
            raise Unsupported(f"{ref} is not compiled")
        if ref not in self._ref_names:
            self._count += 1
            name = f"_r{self._count}"
            self._ref_names[ref] = name  # first, so a recursive schema finds itself
            try:
                target = self._function(self._resolve(ref), out)
            except Unsupported:
                del self._ref_names[ref]
                self._unsupported.add(ref)
                raise
            out.append(f"{name} = {target}")
        return self._ref_names[ref]

    def _body(self, s: dict[str, Any], v: str, body: list[str], out: list[str]) -> None:
        """Lines that ``return False`` when ``v`` breaks ``s``; $refs and nested schemas
        are inlined (a function call per field costs more than the check itself)."""
        unknown = set(s) - _KNOWN
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        if "$ref" in s:
            ref = s["$ref"]
            if ref in self._inlining or ref in self._unsupported:
                body.append(f"if not {self._ref(ref, out)}({v}): return False")
            else:
                self._inlining.append(ref)
                try:
                    self._body(self._resolve(ref), v, body, out)
                except Unsupported:
                    self._unsupported.add(ref)
                    raise
                finally:
                    self._inlining.pop()
        if "type" in s:
            names = [s["type"]] if isinstance(s["type"], str) else list(s["type"])
            test = " or ".join(_TYPE_TESTS[n].format(v=v) for n in names)
            body.append(f"if not ({test}): return False")
        if "enum" in s:
            allowed = self._const(list(s["enum"]))
            body.append(f"if not any(_json_equal({v}, a) for a in {allowed}): return False")
        if "const" in s:
            const = self._const(s["const"])
            body.append(f"if not _json_equal({v}, {const}): return False")
        self._string(s, v, body)
        self._number(s, v, body)
        self._object(s, v, body, out)
        self._array(s, v, body, out)
        nullable = self._nullable_one_of(s.get("oneOf"))
        if nullable is not None:
            inner: list[str] = []
            self._body(nullable, v, inner, out)
            if inner:
                body.append(f"if {v} is not None:")
                body.extend(f"    {line}" for line in inner)
        for key, rule in (("oneOf", "== 1"), ("anyOf", ">= 1")):
            if key in s and not (key == "oneOf" and nullable is not None):
                subs = [self._function(sub, out) for sub in s[key]]
                calls = " + ".join(f"bool({f}({v}))" for f in subs)
                body.append(f"if not (({calls}) {rule}): return False")
        if "not" in s:
            body.append(f"if {self._function(s['not'], out)}({v}): return False")

    def _nullable_one_of(self, options: Any) -> dict[str, Any] | None:
        """For ``oneOf: [X, {type: null}]`` where X never accepts null, X: the oneOf
        then means "null, or X", which inlines without counting matches."""
        if not isinstance(options, list) or len(options) != 2:
            return None
        plain = [o for o in options if o != {"type": "null"}]
        if len(plain) != 1:
            return None
        other: dict[str, Any] = plain[0]
        target = other
        while "$ref" in target and set(target) == {"$ref"}:
            target = self._resolve(target["$ref"])
        kind = target.get("type")
        if kind is None or kind == "null" or (isinstance(kind, list) and "null" in kind):
            return None
        return other

    def _string(self, s: dict[str, Any], v: str, body: list[str]) -> None:
        checks = []
        # Under "type: string" the line before has refused anything else already.
        guard = "" if s.get("type") == "string" else f"type({v}) is str and "
        if "pattern" in s:
            # A few strings recently found to match (per pattern, shared by every place
            # it appears): a key's customer_id, the docs profile's tm_delete sentinel
            # and a tm_update equal to its tm_create then cost a set lookup, not the
            # regex engine. Only matches are kept; it stays small, so it stays hot.
            memo, search = self._pattern(s["pattern"])
            body.append(f"if {guard}{v} not in {memo}:")
            body.append(f"    if {search}({v}) is None: return False")
            body.append(f"    if len({memo}) >= {PATTERN_MEMO_SIZE}: {memo}.clear()")
            body.append(f"    {memo}.add({v})")
        if "minLength" in s:
            checks.append(f"len({v}) < {int(s['minLength'])}")
        if "maxLength" in s:
            checks.append(f"len({v}) > {int(s['maxLength'])}")
        if checks:
            body.append(f"if {guard}({' or '.join(checks)}): return False")

    def _number(self, s: dict[str, Any], v: str, body: list[str]) -> None:
        checks = []
        if "minimum" in s:
            checks.append(f"{v} < {self._const(s['minimum'])}")
        if "maximum" in s:
            checks.append(f"{v} > {self._const(s['maximum'])}")
        if checks:
            body.append(f"if type({v}) in _NUMERIC and ({' or '.join(checks)}): return False")
        if s.get("format") == "int64":
            body.append(
                f"if type({v}) is int and not ({INT64[0]} <= {v} <= {INT64[1]}): return False"
            )
        elif "format" in s:
            raise Unsupported(f"format {s['format']}")

    def _object(self, s: dict[str, Any], v: str, body: list[str], out: list[str]) -> None:
        lines: list[str] = []
        props: dict[str, Any] = s.get("properties", {})
        required = list(s.get("required", ()))
        for prop, sub in props.items():
            self._count += 1
            item = f"_v{self._count}"
            inner: list[str] = []
            self._body(sub, item, inner, out)
            if not inner:
                continue
            # One lookup per property: a required one that is missing fails here.
            lines.append(f"{item} = {v}.get({prop!r}, _MISSING)")
            if prop in required:
                required.remove(prop)
                lines.append(f"if {item} is _MISSING: return False")
                lines.extend(inner)
            else:
                lines.append(f"if {item} is not _MISSING:")
                lines.extend(f"    {line}" for line in inner)
        for prop in required:
            lines.append(f"if {prop!r} not in {v}: return False")
        if "minProperties" in s:
            lines.append(f"if len({v}) < {int(s['minProperties'])}: return False")
        closed = s.get("additionalProperties", s.get("unevaluatedProperties"))
        if closed is False:
            names = set(props)
            if "unevaluatedProperties" in s:
                # "not" contributes no evaluated properties; oneOf/anyOf would.
                if any(k in s for k in ("oneOf", "anyOf")):
                    raise Unsupported("unevaluatedProperties beside a conditional")
                if "$ref" in s:
                    names |= self._evaluated(self._resolve(s["$ref"]))
            allowed = self._const(frozenset(names))
            lines.append(f"if not {allowed}.issuperset({v}): return False")
        elif closed not in (None, True):
            raise Unsupported("additionalProperties with a schema")
        if lines:
            body.append(f"if type({v}) is dict:")
            body.extend(f"    {line}" for line in lines)

    def _evaluated(self, s: dict[str, Any]) -> set[str]:
        names = set(s.get("properties", {}))
        if "$ref" in s:
            names |= self._evaluated(self._resolve(s["$ref"]))
        if any(k in s for k in ("oneOf", "anyOf", "allOf", "if")):
            raise Unsupported("unevaluatedProperties over a conditional schema")
        return names

    def _array(self, s: dict[str, Any], v: str, body: list[str], out: list[str]) -> None:
        lines: list[str] = []
        if "maxItems" in s:
            lines.append(f"if len({v}) > {int(s['maxItems'])}: return False")
        if "minItems" in s:
            lines.append(f"if len({v}) < {int(s['minItems'])}: return False")
        if "items" in s:
            self._count += 1
            item = f"_i{self._count}"
            inner: list[str] = []
            self._body(s["items"], item, inner, out)
            if inner:
                lines.append(f"for {item} in {v}:")
                lines.extend(f"    {line}" for line in inner)
        if lines:
            body.append(f"if type({v}) is list:")
            body.extend(f"    {line}" for line in lines)
