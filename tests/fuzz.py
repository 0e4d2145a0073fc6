"""``make fuzz``: Schemathesis at scale against the fake, in-process, in both profiles.

    .venv/bin/python -m tests.fuzz --requests 10000 --max-seconds 600

Rounds, each with fresh seeds, until ``--requests`` requests have been answered or
``--max-seconds`` have passed: per profile, every operation of openapi.yaml with
positive and negative generated cases (the first round also sends the spec's examples
and Schemathesis's coverage cases), then a batch of stateful scenarios that follow the
spec's links. Every request carries the fixture admin key as ``?accesskey=``.

It prints one line, ``fuzz: N requests, S server errors (5xx), V schema violations,
C other check failures``, after a list of the distinct failures with a curl command
that reproduces each, and exits 1 if any count but N is above zero.

tests/api/test_schemathesis.py runs the same set-up (targets, checks) as a quick slice in
``make test``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis import AuthContext, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from fakevoipbin.testing import FakeVoipbin

NOW = "2026-12-01T10:15:30.123456Z"
PROFILES = ("docs", "live")

# --- which checks, and why ----------------------------------------------------------
#
# Conformance: every response has a documented status, a documented Content-Type, valid
# documented headers (X-Request-Id, Retry-After) and a body valid against its schema.
CONFORMANCE_CHECKS: list[CheckFunction] = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


INT64 = range(-(2**63), 2**63)


def _go_binding(body: Any, schema: dict[str, Any], wraps_int32: bool) -> dict[str, Any] | None:
    """A JSON body as production's Go binding reads it, or None where it refuses it
    (README, "What production tolerates"): ``null`` binds as an empty object, a
    ``null`` field counts as missing, a key matches a field whatever its case, unknown
    keys are ignored; a declared field of the wrong JSON type is refused, and an
    integer must be a JSON integer (not ``86400.0``) within int64. ``wraps_int32``:
    ``live`` casts ``expire`` to int32 before any other rule (README's profile table;
    fakevoipbin/core/rules.py: "-2147483649 becomes 2147483647")."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        return None
    properties: dict[str, Any] = schema.get("properties", {})
    lowered = {name.lower(): name for name in properties}
    bound: dict[str, Any] = {}
    for key, value in body.items():
        name = key if key in properties else lowered.get(str(key).lower(), str(key))
        if value is None:
            bound.pop(name, None)
            continue
        kind = properties.get(name, {}).get("type")
        if kind == "integer":
            if type(value) is not int or value not in INT64:
                return None
            if wraps_int32:
                value = (value + 2**31) % 2**32 - 2**31
        elif kind == "string" and not isinstance(value, str):
            return None
        bound[name] = value
    return bound


def _body_schema(case: Any) -> dict[str, Any] | None:
    """The JSON Schema of the operation's request body, from openapi.yaml itself."""
    raw = case.operation.schema.raw_schema
    definition = raw["paths"][case.operation.path][case.operation.method.lower()]
    schema = definition.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = schema.get("schema")
    if schema is None:
        return None
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = raw["components"]["schemas"][name]
    return schema  # type: ignore[no-any-return]


def production_reads_as_valid(case: Any) -> bool:
    """Whether a negative case is negative only in its JSON body, and production's
    binding of that body (``_go_binding``) is valid against the body schema: e.g.
    ``{"name": null, "expire": 86400}``, a PUT body of ``null``, or in ``live``
    ``{"expire": -4294880896}`` (86400 as int32)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    negative = {loc for loc, info in meta.components.items() if info.mode.is_negative}
    if negative != {ParameterLocation.BODY}:
        return False
    if case.media_type is None or not case.media_type.startswith("application/json"):
        return False
    schema = _body_schema(case)
    if schema is None:
        return False
    live = getattr(case.operation.app, "profile", None) == "live"
    bound = _go_binding(case.body, schema, wraps_int32=live)
    return bound is not None and Draft202012Validator(schema).is_valid(bound)


def negative_data_rejection_as_production(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's negative_data_rejection (invalid input must get a 4xx), except for
    a body that is invalid only through what production documents it tolerates:
    ``null`` as a missing field or as the whole body, field names in any case, and in
    ``live`` an ``expire`` that is at least 86400 once cast to int32."""
    if production_reads_as_valid(case):
        return None
    return negative_data_rejection(ctx, response, case)


_AUTH_ENFORCED: dict[int, set[str]] = {}


def ignored_auth_once(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's ignored_auth: a request that got a 2xx with the key is re-sent
    without credentials and once per security scheme with bad ones, and each must get a
    401. As in the CLI, the probes run once per operation (and fake), not per case."""
    if ctx.auth_enforced_operations is None:
        ctx.auth_enforced_operations = _AUTH_ENFORCED.setdefault(id(case.operation.app), set())
    return ignored_auth(ctx, response, case)


# Every single request: no 5xx, conformance, invalid input refused, auth enforced.
#
# Left out, because they contradict what production documents (README, openapi.yaml):
# - positive_data_acceptance expects a 2xx for every schema-valid request. Production
#   answers schema-valid requests with documented 4xx: an id that names no key (docs 404,
#   live 400), a deleted key (docs 404, live 409), `expire` above 2147483647 in docs
#   (400), a `page_token` that fits its pattern but is no real instant (400), a login with
#   unknown credentials (400).
# - unsupported_method and allow_header_conformance expect 405 with an Allow header for a
#   method a path does not declare; production (gin) answers 404 ROUTE_NOT_FOUND.
# - negative_data_rejection as is: production tolerates a `null` field (as missing), a
#   `null` body (as {}) and field names in any case, and `live` casts `expire` to int32
#   before checking its minimum; Schemathesis generates all of these as invalid data. It
#   runs narrowed instead (negative_data_rejection_as_production), so any other invalid
#   input production would not read as valid must still get a 4xx.
#   Unknown fields and any Content-Type, also tolerated, never fail it: the body schemas
#   allow additional properties, and Schemathesis's Content-Type probes only look for 5xx.
# Not applicable: missing_required_header (no operation declares a header) and
# object_level_authorization (needs a second tenant's credentials configured).
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    *CONFORMANCE_CHECKS,
    negative_data_rejection_as_production,
    ignored_auth_once,
]
# The stateful run adds the checks that need a scenario's history: a key read after its
# DELETE must not answer 2xx (use_after_free; docs 404, live 409), and a key just created
# must not answer 404 when its id comes through a link (ensure_resource_availability).
STATEFUL_CHECKS: list[CheckFunction] = [*CHECKS, use_after_free, ensure_resource_availability]


def make_config(max_examples: int = 20, max_steps: int = 10) -> Any:
    """Schemathesis settings shared by the quick slice and the fuzz run."""
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",  # positive and negative
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                # Credentials come from the auth provider below; no generated (invalid)
                # `token`, cookie or Authorization that production would read first.
                "with-security-parameters": False,
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": max_steps},
            },
            "suppress-health-check": ["too_slow", "filter_too_much"],
        }
    )


class Spy:
    """The fake's ASGI app, wrapped: counts requests and statuses, and remembers any
    path under the control API (/_fake/), which no operation of openapi.yaml may reach."""

    def __init__(self, app: Any, profile: str) -> None:
        self.app = app
        self.profile = profile
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.control_paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        raw = bytes(scope.get("raw_path") or b"")
        if scope["path"].startswith("/_fake") or raw.startswith(b"/_fake"):
            self.control_paths.append(scope["path"])

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counting_send)

    def clear(self) -> None:
        self.requests = 0
        self.statuses.clear()
        self.control_paths.clear()


class Target:
    """One profile's fake (in-process, clock frozen at NOW), its spy, and the schema
    Schemathesis loads from the fake's own GET /openapi.yaml."""

    def __init__(self, profile: str, config: Any) -> None:
        self.profile = profile
        self.fake = FakeVoipbin(profile=profile, now=NOW)
        self.spy = Spy(self.fake.app.asgi, profile)
        self.journal_control: list[str] = []
        self.fake.journal.observers.append(self._observe)  # observers survive reset()
        self.token = self.fake.accesskey
        self.schema = schemathesis.openapi.from_asgi("/openapi.yaml", self.spy, config=config)
        token = self.token

        @self.schema.auth()
        class Accesskey:
            """The fixture admin key as ``?accesskey=`` (securityScheme accesskeyQuery)."""

            def get(self, case: Any, ctx: Any) -> str:
                return token

            def set(self, case: Any, data: str, ctx: Any) -> None:
                case.query = {**(case.query or {}), "accesskey": data}

        self.spy.clear()  # not the schema download

    def _observe(self, entry: Any) -> None:
        if entry.target.startswith("/_fake"):
            self.journal_control.append(entry.target)

    def authenticate(self, case: Any) -> None:
        """The auth provider above, for cases built outside its reach (examples, coverage)."""
        self.schema.auth.set(case, AuthContext(operation=case.operation, app=case.operation.app))

    def control_calls(self) -> list[str]:
        """Anything that reached the control API or changed what only it can change."""
        found = [*self.spy.control_paths, *self.journal_control]
        if self.fake.faults.rules():
            found.append(f"fault rules appeared: {self.fake.faults.rules()}")
        return found

    def operations(self) -> list[Any]:
        return [result.ok() for result in self.schema.get_all_operations()]


# --- the fuzz run ---------------------------------------------------------------------


@dataclass
class Finding:
    kind: str
    profile: str
    operation: str
    title: str
    message: str
    reproduce: str
    count: int = 0


@dataclass
class Report:
    """Distinct findings, and how many responses broke a conformance check (schema
    violations) or another check (check failures)."""

    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    schema_violations: int = 0
    check_failures: int = 0
    crashes: int = 0

    def add(
        self, kind: str, profile: str, operation: str, title: str, message: str, reproduce: str
    ) -> None:
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        key = (kind, profile, operation, title, first_line)
        finding = self.findings.setdefault(
            key, Finding(kind, profile, operation, title, message, reproduce)
        )
        finding.count += 1

    def failures(self, profile: str, case: Any, failures: Iterable[Failure]) -> None:
        conformance = {check.__name__ for check in CONFORMANCE_CHECKS}
        kinds = set()
        for failure in failures:
            if "not_a_server_error" in failure.checks:
                kind = "server error"  # counted from the statuses the spy saw
            elif set(failure.checks) & conformance:
                kind = "schema violation"
            else:
                kind = "check failure"
            kinds.add(kind)
            self.add(
                kind, profile, case.operation.label, failure.title, failure.message, _curl(case)
            )
        self.schema_violations += "schema violation" in kinds
        self.check_failures += "check failure" in kinds

    def crash(self, profile: str, operation: str, exc: BaseException, reproduce: str) -> None:
        self.crashes += 1
        self.add("crash", profile, operation, type(exc).__name__, str(exc), reproduce)


def _curl(case: Any) -> str:
    try:
        return str(case.as_curl_command())
    except Exception as exc:  # odd generated data
        return f"<no curl command: {exc!r}>"


QUIET = settings(
    deadline=None,
    database=None,
    derandomize=False,  # each batch gets its own seed instead
    phases=[Phase.explicit, Phase.generate],  # nothing to shrink: failures are recorded
    suppress_health_check=list(HealthCheck),
    verbosity=Verbosity.quiet,
)


class Fuzzer:
    def __init__(self, targets: list[Target], requests: int, seconds: float, seed: int) -> None:
        self.targets = targets
        self.limit = requests
        self.deadline = time.monotonic() + seconds
        self.seed = seed
        self.report = Report()
        self.rounds = 0
        self._strategies: dict[tuple[str, str, GenerationMode], Any] = {}

    @property
    def requests(self) -> int:
        return sum(t.spy.requests for t in self.targets)

    def remaining(self, target: Target | None = None) -> int:
        """Requests still to send (to ``target``, whose share is an equal part of the
        total; to any target if None); 0 once the time is up."""
        if time.monotonic() >= self.deadline:
            return 0
        if target is None:
            return sum(self.remaining(t) for t in self.targets)
        share = -(-self.limit // len(self.targets))
        return max(0, min(share - target.spy.requests, self.limit - self.requests))

    # one request ------------------------------------------------------------------

    def validate(
        self, target: Target, case: Any, response: Any, checks: list[CheckFunction], **kwargs: Any
    ) -> None:
        try:
            case.validate_response(response, checks=checks, **kwargs)
        except FailureGroup as group:
            self.report.failures(target.profile, case, group.exceptions)
        except Exception as exc:  # a check that crashed
            self.report.crash(target.profile, case.operation.label, exc, _curl(case))

    def exercise(self, target: Target, case: Any) -> None:
        target.authenticate(case)
        target.fake.reset()  # a case may delete the very key it authenticates with
        try:
            response = case.call()
        except Exception as exc:  # the app raised, or the request could not be sent
            self.report.crash(target.profile, case.operation.label, exc, _curl(case))
            return
        self.validate(target, case, response, CHECKS)

    # batches ----------------------------------------------------------------------

    def _given(self, target: Target, label: str, strategy: Any, examples: int, seed: int) -> None:
        @hypothesis.seed(seed)
        @settings(QUIET, max_examples=examples)
        @given(case=strategy)
        def run(case: Any) -> None:
            if self.remaining(target):
                self.exercise(target, case)

        try:
            run()
        except Exception as exc:  # Hypothesis could not generate, for one
            self.report.crash(target.profile, label, exc, "<generation>")

    def examples(self, target: Target, operation: Any) -> None:
        """The spec's own examples, filled in where they are partial."""
        strategies = operation.get_strategies_from_examples()
        if strategies:
            label = operation.label
            self._given(target, label, st.one_of(*strategies), 5 * len(strategies), self.seed)

    def coverage(self, target: Target, operation: Any) -> None:
        """Schemathesis's coverage cases: boundaries, each constraint broken in turn,
        undeclared methods, odd Content-Types."""
        config = target.schema.config.generation_for(operation=operation, phase="coverage")
        for case in target.schema.iter_coverage_cases(
            operation, generation_modes=list(GenerationMode), generation_config=config
        ):
            if not self.remaining(target):
                return
            self.exercise(target, case)

    def generated(self, target: Target, operation: Any, examples: int, seed: int) -> None:
        """Hypothesis-generated cases, positive then negative."""
        for n, mode in enumerate(GenerationMode):
            budget = min(examples, self.remaining(target))
            if not budget:
                return
            key = (target.profile, operation.label, mode)
            if key not in self._strategies:
                self._strategies[key] = operation.as_strategy(generation_mode=mode)
            self._given(target, operation.label, self._strategies[key], budget, seed + n)

    def stateful(self, target: Target, machine: Any, scenarios: int, steps: int, seed: int) -> None:
        """Scenarios that follow openapi.yaml's links (and the ones Schemathesis infers)."""
        scenarios = min(scenarios, -(-self.remaining(target) // steps))
        if not scenarios:
            return
        hypothesis.seed(seed)(machine)
        try:
            machine.run(settings=settings(QUIET, max_examples=scenarios, stateful_step_count=steps))
        except Exception as exc:
            self.report.crash(target.profile, "stateful", exc, "<stateful>")

    def machine(self, target: Target) -> Any:
        fuzzer = self

        class Machine(target.schema.as_state_machine()):  # type: ignore[misc]
            def setup(self) -> None:
                target.fake.reset()

            def validate_response(
                self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
            ) -> None:
                fuzzer.validate(
                    target,
                    case,
                    response,
                    STATEFUL_CHECKS,
                    transport_kwargs=kwargs or None,
                    recorder=self.recorder,
                )

        return Machine

    def run(self, examples: int, scenarios: int, steps: int) -> None:
        machines = {t.profile: self.machine(t) for t in self.targets}
        while self.remaining():
            before = self.requests
            seed = self.seed * 1_000_003 + self.rounds * 7_919
            for target in self.targets:
                for i, operation in enumerate(target.operations()):
                    if self.rounds == 0:
                        self.examples(target, operation)
                        self.coverage(target, operation)
                    self.generated(target, operation, examples, seed + 17 * i)
                self.stateful(target, machines[target.profile], scenarios, steps, seed)
            self.rounds += 1
            if self.requests == before:  # nothing could be sent: the findings say why
                break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--requests", type=int, default=10_000, help="stop after this many")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop after this long")
    parser.add_argument("--seed", type=int, default=0, help="drives every batch's seed")
    parser.add_argument("--profile", choices=PROFILES, action="append", help="default: both")
    parser.add_argument("--examples", type=int, default=50, help="per operation, mode and round")
    parser.add_argument("--scenarios", type=int, default=20, help="stateful, per round")
    parser.add_argument("--steps", type=int, default=10, help="per stateful scenario")
    args = parser.parse_args(argv)

    started = time.monotonic()
    config = make_config(max_examples=args.examples, max_steps=args.steps)
    targets = [Target(p, config) for p in args.profile or PROFILES]
    fuzzer = Fuzzer(targets, args.requests, args.max_seconds, args.seed)
    fuzzer.run(args.examples, args.scenarios, args.steps)
    report = fuzzer.report

    for f in sorted(report.findings.values(), key=lambda f: (f.kind, f.profile, f.operation)):
        print(f"\n[{f.kind}] {f.profile} {f.operation}: {f.title} (x{f.count})")
        print("    " + f.message.strip().replace("\n", "\n    "))
        print(f"    reproduce: {f.reproduce}")
    control = [f"{t.profile}: {call}" for t in targets for call in t.control_calls()]
    for call in control:
        print(f"\n[control API reached through openapi.yaml] {call}")

    statuses: Counter[int] = Counter()
    for t in targets:
        statuses.update(t.spy.statuses)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    others = report.check_failures + report.crashes + len(control)
    print(
        f"\n{fuzzer.rounds} round(s) in {time.monotonic() - started:.1f}s; requests "
        + ", ".join(f"{t.profile} x{t.spy.requests}" for t in targets)
        + "; statuses "
        + ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))
    )
    print(
        f"fuzz: {fuzzer.requests} requests, {server_errors} server errors (5xx), "
        f"{report.schema_violations} schema violations, {others} other check failures"
    )
    return 1 if server_errors or report.schema_violations or others else 0


if __name__ == "__main__":
    sys.exit(main())
