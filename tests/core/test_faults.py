"""core/faults.py: the rules a fault must keep, whoever adds it (the Python face, the
control API and the X-Fake-Fault header all go through ``make_rule``)."""

from __future__ import annotations

import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.core.faults import MAX_RETRY_AFTER, FaultError, make_rule, rule_from_header

from ..conftest import NOW

OPS = {"PostAccesskeys", "GetMe"}


@pytest.mark.parametrize("retry_after", [MAX_RETRY_AFTER + 1, 10**29, -1])
def test_a_retry_after_outside_zero_to_a_day_is_refused(retry_after: int) -> None:
    with pytest.raises(FaultError, match="retry_after must be an integer from 0 to 86400"):
        make_rule(OPS, operation="PostAccesskeys", status=429, retry_after=retry_after)
    with pytest.raises(FaultError, match="retry_after must be an integer from 0 to 86400"):
        rule_from_header(f"429; retry_after={retry_after}", "PostAccesskeys")


def test_a_retry_after_of_a_day_is_taken() -> None:
    rule = make_rule(OPS, operation="PostAccesskeys", status=429, retry_after=MAX_RETRY_AFTER)
    assert rule.retry_after == 86400


def test_the_python_face_refuses_a_retry_after_past_a_day() -> None:
    with FakeVoipbin(now=NOW) as fake:
        with pytest.raises(FaultError, match="retry_after must be an integer from 0 to 86400"):
            fake.faults.add("PostAccesskeys", status=429, retry_after=10**29)
        assert fake.faults.rules() == []


def test_get_me_is_a_fault_operation() -> None:
    """Documented in the README's Faults section."""
    with FakeVoipbin(now=NOW) as fake:
        fake.faults.add("GetMe", status=503)
        assert [r.operation for r in fake.faults.rules()] == ["GetMe"]
        with fake.client(params={"accesskey": fake.accesskey}) as c:
            assert c.get("/me").status_code == 503  # the fault, before the agent check
            assert c.get("/me").status_code == 403  # spent: production's answer to a key
