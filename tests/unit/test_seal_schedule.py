"""Unit tests for kiosk.domain.schedules: the seal in force at a moment, and gate hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.decision import SealState
from kiosk.domain.schedules import (
    ScheduledSeal,
    SealNow,
    effective_seal,
    gate_open_at,
    seal_now,
    winning_schedule,
)

T = datetime(2026, 6, 18, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
TICK = timedelta(microseconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
OPEN, IN_ONLY, SEALED = SealState.OPEN, SealState.IN_ONLY, SealState.SEALED


def sched(state, starts_at, ends_at=None, created_at=None, id=0) -> ScheduledSeal:
    return ScheduledSeal(state, starts_at, ends_at, created_at or T - DAY, id)


# --- the boundaries -------------------------------------------------------------------------


def test_a_schedule_starts_inclusive_and_ends_exclusive():
    s = sched(IN_ONLY, T, T + DAY)
    assert effective_seal(OPEN, [s], T - TICK) is OPEN
    assert effective_seal(OPEN, [s], T - SECOND) is OPEN
    assert effective_seal(OPEN, [s], T) is IN_ONLY
    assert effective_seal(OPEN, [s], T + DAY - TICK) is IN_ONLY
    assert effective_seal(OPEN, [s], T + DAY) is OPEN


def test_without_an_end_it_holds_until_cancelled():
    s = sched(SEALED, T)
    assert effective_seal(OPEN, [s], T + 1000 * DAY) is SEALED


def test_a_schedule_wins_over_the_base_state_even_to_open():
    assert effective_seal(SEALED, [sched(OPEN, T, T + HOUR)], T) is OPEN
    assert effective_seal(SEALED, [sched(OPEN, T, T + HOUR)], T + HOUR) is SEALED


def test_among_overlapping_schedules_the_latest_created_wins():
    older = sched(SEALED, T - DAY, T + DAY, created_at=T - 2 * DAY, id=1)
    newer = sched(IN_ONLY, T, T + HOUR, created_at=T - DAY, id=2)
    assert effective_seal(OPEN, [older, newer], T) is IN_ONLY
    assert effective_seal(OPEN, [newer, older], T) is IN_ONLY  # order given does not matter
    assert effective_seal(OPEN, [older, newer], T + HOUR) is SEALED
    same_time = sched(OPEN, T, T + HOUR, created_at=T - DAY, id=3)  # a tie: the higher id
    assert winning_schedule([older, newer, same_time], T) == same_time


# --- since and next -------------------------------------------------------------------------


def test_seal_now_says_since_when_and_the_next_change():
    s = sched(IN_ONLY, T, T + DAY)
    assert seal_now(OPEN, T - 10 * DAY, [s], T - HOUR) == SealNow(OPEN, T - 10 * DAY, T, IN_ONLY)
    assert seal_now(OPEN, T - 10 * DAY, [s], T + HOUR) == SealNow(IN_ONLY, T, T + DAY, OPEN)
    assert seal_now(OPEN, T - 10 * DAY, [s], T + DAY) == SealNow(OPEN, T + DAY, None, None)


def test_seal_now_looks_past_schedules_that_change_nothing():
    # Sealed as the base state since T - 5 days; a schedule sealing it too changes nothing.
    s = sched(SEALED, T - DAY, T + DAY)
    assert seal_now(SEALED, T - 5 * DAY, [s], T) == SealNow(SEALED, T - 5 * DAY, None, None)
    # A base state of unknown age under no schedule: since is not known.
    assert seal_now(IN_ONLY, None, [], T) == SealNow(IN_ONLY, None, None, None)


def test_back_to_back_schedules_of_one_state_are_one_period():
    a = sched(SEALED, T, T + DAY, id=1)
    b = sched(SEALED, T + DAY, T + 2 * DAY, id=2)
    assert seal_now(OPEN, T - DAY, [a, b], T + DAY + HOUR) == SealNow(SEALED, T, T + 2 * DAY, OPEN)


# --- properties -----------------------------------------------------------------------------

offsets = st.integers(min_value=-3 * 86400, max_value=3 * 86400).map(
    lambda s: T + timedelta(seconds=s)
)


@st.composite
def schedules(draw):
    start = draw(offsets)
    end = draw(st.one_of(st.none(), offsets.filter(lambda e: e > start)))
    return ScheduledSeal(
        draw(st.sampled_from(SealState)), start, end, draw(offsets), draw(st.integers(1, 50))
    )


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SealState), st.lists(schedules(), max_size=6), offsets)
def test_property_the_state_is_the_latest_created_covering_schedule_or_the_base(base, ss, t):
    covering = [s for s in ss if s.starts_at <= t and (s.ends_at is None or t < s.ends_at)]
    want = max(covering, key=lambda s: (s.created_at, s.id)).state if covering else base
    assert effective_seal(base, ss, t) is want
    assert effective_seal(base, ss, t) is seal_now(base, None, ss, t).state


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SealState), st.lists(schedules(), max_size=6), offsets)
def test_property_since_and_next_bound_a_period_of_one_state(base, ss, t):
    now = seal_now(base, T - 10 * DAY, ss, t)
    if now.since is not None:
        assert now.since <= t
        assert effective_seal(base, ss, now.since) is now.state
        if now.since > T - 10 * DAY:
            assert effective_seal(base, ss, now.since - TICK) is not now.state
    if now.next_at is not None:
        assert now.next_at > t
        assert effective_seal(base, ss, now.next_at) is now.next_state is not now.state
        assert effective_seal(base, ss, now.next_at - TICK) is now.state
    else:
        assert all(
            effective_seal(base, ss, s.starts_at) is now.state for s in ss if s.starts_at > t
        )


# --- gate hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opens", "closes", "at", "open_"),
    [
        ("08:00", "22:00", "07:59:59", False),
        ("08:00", "22:00", "08:00", True),
        ("08:00", "22:00", "21:59:59", True),
        ("08:00", "22:00", "22:00", False),
        # across midnight: open at night
        ("22:00", "06:00", "21:59:59", False),
        ("22:00", "06:00", "22:00", True),
        ("22:00", "06:00", "23:59:59", True),
        ("22:00", "06:00", "00:00", True),
        ("22:00", "06:00", "05:59:59", True),
        ("22:00", "06:00", "06:00", False),
        ("22:00", "06:00", "12:00", False),
    ],
)
def test_gate_hours_open_inclusive_close_exclusive(opens, closes, at, open_):
    opens_at, closes_at = time.fromisoformat(opens), time.fromisoformat(closes)
    assert gate_open_at(True, opens_at, closes_at, time.fromisoformat(at)) is open_
    assert gate_open_at(False, opens_at, closes_at, time.fromisoformat(at)) is False


def test_a_gate_without_hours_is_open_whenever_it_is_open():
    assert gate_open_at(True, None, None, time(3, 0)) is True
    assert gate_open_at(False, None, None, time(12, 0)) is False
    assert gate_open_at(True, time(8), time(8), time(3, 0)) is True  # equal: all day


@settings(max_examples=300, deadline=None)
@given(
    st.times(),
    st.times(),
    st.times(),
)
def test_property_a_window_and_its_complement_split_the_day(opens, closes, at):
    if opens == closes:
        return
    inside = gate_open_at(True, opens, closes, at)
    outside = gate_open_at(True, closes, opens, at)  # the other part of the day
    assert inside != outside
