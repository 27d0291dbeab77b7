"""The overdue rule of disinfection rounds at its boundaries (pure: local times given)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.disinfection import (
    AreaKind,
    deadlines,
    default_times_per_day,
    parse_fixed_times,
    photo_type,
    status,
)

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 6, 15, tzinfo=TZ)  # local midnight
LONG_AGO = DAY - timedelta(days=30)


def at(hour: int, minute: int = 0, second: int = 0, days: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hour, minutes=minute, seconds=second)


def test_defaults_daily_and_twice_daily_for_lifts():
    assert default_times_per_day(AreaKind.LIFT) == 2
    assert default_times_per_day(AreaKind.BENCH) == 1


def test_deadlines_spread_over_the_day_or_at_fixed_times_with_grace():
    assert deadlines(DAY, 2, []) == [at(12), at(24)]
    assert deadlines(DAY, 3, []) == [at(8), at(16), at(24)]
    assert deadlines(DAY, 1, parse_fixed_times("18:00,08:00")) == [at(9), at(19)]


def test_once_a_day_done_yesterday_is_not_overdue_today():
    s = status(at(23), at(9, days=-1), LONG_AGO, 1, [])
    assert not s.overdue and s.due_next == at(24)


@pytest.mark.parametrize(
    ("done", "overdue"),
    [
        (at(0, days=-1), True),  # exactly at the previous due time: counts for the window before
        (at(0, 0, 1, days=-1), False),  # just after it
        (None, True),
    ],
)
def test_once_a_day_boundaries(done, overdue):
    s = status(at(10), done, LONG_AGO, 1, [])
    assert s.overdue is overdue
    assert (s.missed == at(0)) is overdue


@pytest.mark.parametrize(
    ("now", "overdue"),
    [(at(11, 59, 59), False), (at(12), True), (at(12, 0, 1), True)],
)
def test_twice_a_day_the_noon_slot(now, overdue):
    # Done at 23:00 yesterday: counts for the window ending at midnight; noon's window is empty.
    s = status(now, at(23, days=-1), LONG_AGO, 2, [])
    assert s.overdue is overdue


def test_a_late_tick_clears_the_flag():
    assert status(at(13), at(11, days=-1), LONG_AGO, 2, []).overdue
    assert not status(at(13), at(12, 30), LONG_AGO, 2, []).overdue


def test_fixed_times_are_due_an_hour_after():
    times = parse_fixed_times("08:00,18:00")
    done_evening = at(18, 30, days=-1)
    assert not status(at(8, 59), done_evening, LONG_AGO, 2, times).overdue
    assert status(at(9), done_evening, LONG_AGO, 2, times).overdue
    assert not status(at(9), at(8, 10), LONG_AGO, 2, times).overdue
    # Exactly at the previous due time (19:00 yesterday) counts for yesterday's evening round.
    assert status(at(9), at(19, days=-1), LONG_AGO, 2, times).overdue


def test_a_new_area_counts_from_its_creation():
    assert not status(at(10), None, at(1), 1, []).overdue
    assert not status(at(10), None, at(0, 0, 1, days=-1), 1, []).overdue
    assert status(at(10), None, at(0, days=-1), 1, []).overdue


def test_photo_types_by_content():
    assert photo_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert photo_type(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert photo_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert photo_type(b"<svg></svg>") is None
    assert parse_fixed_times("") == [] and parse_fixed_times("08:00") == [time(8)]


def test_an_area_made_due_now_is_overdue_until_a_record_at_or_after_it():
    done_this_morning = at(9)
    assert not status(at(10), done_this_morning, LONG_AGO, 1, []).overdue
    s = status(at(10), done_this_morning, LONG_AGO, 1, [], due_now_at=at(9, 30))
    assert s.overdue and s.due_now and s.missed == at(9, 30)
    # a record exactly at that moment, or later, clears it; one just before does not
    assert not status(at(10), at(9, 30), LONG_AGO, 1, [], due_now_at=at(9, 30)).overdue
    assert not status(at(10), at(9, 45), LONG_AGO, 1, [], due_now_at=at(9, 30)).due_now
    assert status(at(10), at(9, 29, 59), LONG_AGO, 1, [], due_now_at=at(9, 30)).overdue
    # never done: due now too; a moment still to come is not due yet
    assert status(at(10), None, at(1), 1, [], due_now_at=at(9, 30)).due_now
    assert not status(at(10), None, at(1), 1, [], due_now_at=at(10, 0, 1)).overdue
    # overdue by its rounds as well: the earlier miss is the one shown
    s = status(at(10), at(9, days=-2), LONG_AGO, 1, [], due_now_at=at(9, 30))
    assert s.overdue and s.due_now and s.missed == at(0)
