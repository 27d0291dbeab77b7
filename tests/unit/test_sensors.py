"""The door-alarm rule (kiosk/domain/sensors.py) at its window boundaries: observation,
announcement windows (start inclusive, end exclusive), deliveries within 10 minutes either
side, the battery flag, and the silent flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.domain.sensors import (
    DELIVERY_MINUTES,
    AlarmKind,
    SensorEventKind,
    alarm_for,
    silent,
)

AT = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
OBSERVED = AT + timedelta(days=3)


def door_open(**kw):
    kw.setdefault("observation_until", OBSERVED)
    return alarm_for(SensorEventKind.DOOR_OPEN, AT, **kw)


def test_a_door_opening_under_observation_raises_an_alarm():
    assert door_open() is AlarmKind.DOOR_OPEN


@pytest.mark.parametrize(
    ("until", "alarm"),
    [
        (None, None),
        (AT - SECOND, None),  # observation ended before
        (AT, None),  # ends at that moment: not under observation any more
        (AT + SECOND, AlarmKind.DOOR_OPEN),
    ],
)
def test_observation_boundary(until, alarm):
    assert door_open(observation_until=until) is alarm


@pytest.mark.parametrize(
    ("starts", "ends", "alarm"),
    [
        (AT, AT + timedelta(minutes=10), None),  # the window starts at the opening: announced
        (AT - timedelta(minutes=10), AT + SECOND, None),  # ends a second after: announced
        (AT - timedelta(minutes=10), AT, AlarmKind.DOOR_OPEN),  # ended at the opening
        (AT + SECOND, AT + timedelta(minutes=10), AlarmKind.DOOR_OPEN),  # not started yet
        (AT - timedelta(minutes=30), AT - SECOND, AlarmKind.DOOR_OPEN),  # over
    ],
)
def test_announcement_window_boundaries(starts, ends, alarm):
    assert door_open(windows=[(starts, ends)]) is alarm


def test_any_of_several_windows_counts():
    windows = [(AT - timedelta(hours=2), AT - timedelta(hours=1)), (AT - SECOND, AT + SECOND)]
    assert door_open(windows=windows) is None


@pytest.mark.parametrize(
    ("offset", "alarm"),
    [
        (timedelta(minutes=-DELIVERY_MINUTES) - SECOND, AlarmKind.DOOR_OPEN),
        (timedelta(minutes=-DELIVERY_MINUTES), None),
        (timedelta(0), None),
        (timedelta(minutes=DELIVERY_MINUTES), None),
        (timedelta(minutes=DELIVERY_MINUTES) + SECOND, AlarmKind.DOOR_OPEN),
    ],
)
def test_delivery_at_the_door_window_boundaries(offset, alarm):
    """A delivery marked at ``AT + offset`` explains an opening at ``AT`` within 10 minutes."""
    assert door_open(deliveries=[AT + offset]) is alarm


def test_other_events_raise_nothing_but_tamper_and_a_new_low_battery():
    for kind in (SensorEventKind.DOOR_CLOSED, SensorEventKind.HEARTBEAT):
        assert alarm_for(kind, AT, observation_until=OBSERVED) is None
    # Tamper raises whether or not the household is under observation.
    assert alarm_for(SensorEventKind.TAMPER, AT, observation_until=None) is AlarmKind.TAMPER
    assert (
        alarm_for(SensorEventKind.BATTERY_LOW, AT, observation_until=None) is AlarmKind.BATTERY_LOW
    )
    assert (
        alarm_for(SensorEventKind.BATTERY_LOW, AT, observation_until=None, battery_low_already=True)
        is None
    )


def test_a_door_opening_is_not_an_alarm_when_not_under_observation_even_unannounced():
    assert door_open(observation_until=None, windows=[], deliveries=[]) is None


@pytest.mark.parametrize(
    ("last_seen", "expected"),
    [
        (AT - timedelta(seconds=300) + SECOND, False),
        (AT - timedelta(seconds=300), False),  # exactly one period: not yet
        (AT - timedelta(seconds=300) - SECOND, True),
    ],
)
def test_silent_after_the_heartbeat_period(last_seen, expected):
    assert silent(last_seen, AT - timedelta(days=1), 300, AT) is expected


def test_silent_counts_from_enrolment_when_never_seen_and_not_before_it():
    assert silent(None, AT - timedelta(seconds=301), 300, AT) is True
    assert silent(None, AT - timedelta(seconds=299), 300, AT) is False
    assert silent(None, None, 300, AT) is False  # not enrolled yet
