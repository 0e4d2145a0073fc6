"""The one clock (fakevoipbin/core/clock.py): its range, RFC 3339 offsets, the control
API's input rules (shared with the Python face) and how a dump's clock comes back."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fakevoipbin.core.clock import (
    MAX_US,
    RESTORE_MAX_US,
    US,
    Clock,
    ClockError,
    advance_input,
    check_range,
    format_fixed,
    freeze_input,
    parse_instant,
    set_input,
)

NOW = "2026-12-01T10:15:30.123456Z"


@pytest.mark.parametrize("offset", ["+24:00", "-24:00", "+23:60", "+99:99"])
def test_an_offset_past_23_59_is_refused(offset: str) -> None:
    with pytest.raises(ClockError, match=r"an offset is -23:59 to \+23:59"):
        parse_instant("2026-12-01T10:15:30" + offset)


def test_an_offset_within_23_59_is_taken() -> None:
    assert format_fixed(parse_instant("2026-12-01T23:59:00+23:59")) == "2026-12-01T00:00:00.000000Z"
    assert format_fixed(parse_instant("2026-12-01T00:00:00-23:59")) == "2026-12-01T23:59:00.000000Z"


def test_the_range_message_states_the_range() -> None:
    with pytest.raises(ClockError) as caught:
        check_range(MAX_US + 1)
    assert "from 1970-01-01T00:00:00Z to 9800-01-01T00:00:00Z" in str(caught.value)
    assert check_range(MAX_US) == MAX_US and check_range(0) == 0


def test_now_past_the_range_is_refused_at_start_naming_the_range() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "fakevoipbin", "serve", "--now", "9999-12-31T23:59:59Z"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert "from 1970-01-01T00:00:00Z to 9800-01-01T00:00:00Z" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("call", "value", "error", "message"),
    [
        (set_input, None, ClockError, '"set" must be an RFC 3339 timestamp string'),
        (set_input, 1796120130, ClockError, '"set" must be an RFC 3339 timestamp string'),
        (set_input, "tomorrow", ClockError, "\"set\": not an RFC 3339 instant: 'tomorrow'"),
        (set_input, "9999-01-01T00:00:00Z", ClockError, '"set": the clock holds instants from'),
        (set_input, "2026-12-01T00:00:00+24:00", ClockError, '"set": not a valid instant'),
        (advance_input, "1d", ClockError, '"advance" must be a finite number of seconds'),
        (advance_input, True, ClockError, '"advance" must be a finite number of seconds'),
        (advance_input, float("nan"), ClockError, '"advance" must be a finite number of seconds'),
        (advance_input, float("inf"), ClockError, '"advance" must be a finite number of seconds'),
        (freeze_input, "no", ClockError, '"freeze" must be true or false'),
        (freeze_input, 1, ClockError, '"freeze" must be true or false'),
    ],
)
def test_the_control_inputs_rules(call: object, value: object, error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        call(value)  # type: ignore[operator]
    assert str(caught.value).startswith(message), caught.value


def test_the_control_inputs_rules_take_good_values() -> None:
    assert set_input(NOW) == parse_instant(NOW)
    assert advance_input(86400) == 86400 and advance_input(-0.5) == -0.5
    assert freeze_input(False) is False


def test_a_frozen_dump_comes_back_at_its_instant() -> None:
    clock = Clock(parse_instant(NOW), frozen=False)
    clock.advance(3600)
    at = parse_instant("2026-01-01T00:00:00Z")
    clock.restore(at, frozen=True)
    assert (clock.now_us(), clock.frozen) == (at, True)


def test_a_running_dump_never_moves_a_running_clock_back() -> None:
    clock = Clock(parse_instant(NOW), frozen=False)
    clock.advance(86400)
    before = clock.now_us()
    clock.restore(parse_instant(NOW), frozen=False)  # the dump is a day older
    assert clock.now_us() >= before and not clock.frozen


def test_a_running_dump_later_than_the_clock_moves_it_on() -> None:
    clock = Clock(parse_instant(NOW), frozen=True)
    later = parse_instant(NOW) + 86400 * US
    clock.restore(later, frozen=False)
    assert clock.now_us() >= later and not clock.frozen


def test_a_dump_past_the_set_range_restores_up_to_its_own_bound() -> None:
    """A frozen clock at MAX_US steps past it with each write: that dump loads back."""
    clock = Clock(MAX_US, frozen=True)
    assert (clock.stamp(), clock.stamp()) == (MAX_US, MAX_US + 1)
    other = Clock(parse_instant(NOW), frozen=True)
    other.restore(clock.now_us(), frozen=True)
    assert other.now_us() == MAX_US + 1
    other.restore(RESTORE_MAX_US, frozen=True)
    with pytest.raises(ClockError, match="to 9900-01-01T00:00:00Z"):
        other.restore(RESTORE_MAX_US + 1, frozen=True)
    with pytest.raises(ClockError):
        other.restore(-1, frozen=False)
