"""Schemathesis against the fake, in-process, in both profiles: all ten operations of
openapi.yaml with positive and negative generated cases (plus the spec's examples and
Schemathesis's coverage cases), then a stateful run that follows the spec's links.
Every request carries the fixture admin key as ``?accesskey=``; every response must be
no 5xx, documented and valid (the checks, and the ones left out, are in tests/fuzz.py).

This is the quick slice for ``make test``; ``make fuzz`` runs the same set-up at scale.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from ..fuzz import CHECKS, PROFILES, STATEFUL_CHECKS, Target, make_config

EXAMPLES = 25  # generated cases per operation (positive and negative together)
SCENARIOS = 15  # stateful scenarios per profile
STEPS = 10  # calls per scenario, at most

TARGETS = {p: Target(p, make_config(max_examples=EXAMPLES, max_steps=STEPS)) for p in PROFILES}

# Pinned for CI: no deadline, the same cases on every run, no example database.
PINNED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _no_control_calls(target: Target) -> None:
    """Schemathesis only requests paths of openapi.yaml: nothing reaches /_fake/."""
    assert target.control_calls() == []
    assert not any(e.target.startswith("/_fake") for e in target.fake.journal.entries())


def _operations_test(target: Target) -> Any:
    @target.schema.parametrize()
    @PINNED
    def test(case: Any) -> None:
        target.fake.reset()  # a case may delete the very key it authenticates with
        case.call_and_validate(checks=CHECKS)
        _no_control_calls(target)

    return test


test_operations_docs = _operations_test(TARGETS["docs"])
test_operations_live = _operations_test(TARGETS["live"])


@pytest.mark.parametrize("profile", PROFILES)
def test_stateful(profile: str) -> None:
    target = TARGETS[profile]
    created: set[str] = set()  # ids of keys the scenarios created
    followed: list[str] = []  # calls by id that reached such a key: links followed

    class Machine(target.schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            target.fake.reset()

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)  # records the step for the stateful checks
            if response.status_code == 200 and case.operation.label == "POST /accesskeys":
                created.add(response.json()["id"])
            elif response.status_code == 200 and (case.path_parameters or {}).get("id") in created:
                followed.append(case.operation.label)

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response,
                checks=STATEFUL_CHECKS,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

        def teardown(self) -> None:
            _no_control_calls(target)

    Machine.run(settings=settings(PINNED, max_examples=SCENARIOS, stateful_step_count=STEPS))
    assert created and followed, "the stateful run followed no link from PostAccesskeys"
    _no_control_calls(target)


def test_the_control_api_is_not_in_openapi_yaml() -> None:
    for target in TARGETS.values():
        operations = target.operations()
        assert len(operations) == 11
        assert not [op.path for op in operations if op.full_path.startswith("/_fake")]
