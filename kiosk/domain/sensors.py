"""Door alarms (门磁) on the doors of households under home observation: what a door sensor
reports, which alarms the office sees, and the rule that decides. Pure: the services load the
facts (the household's observation, its announcements and deliveries around the opening) and
store what this module decides (``services/sensors.py``).

The rule:

- ``door_open`` at a household under observation at that moment (``observation_until > at``)
  raises an alarm, unless the resident announced it (a ``DoorAnnouncement`` window holds ``at``:
  ``starts_at <= at < ends_at``, as ``services.announcements.active`` reads it) or a worker
  marked a delivery for the household at the door within ``DELIVERY_MINUTES`` either side of
  ``at`` (the resident opens just before the worker marks it, or just after). A door opening
  elsewhere, or a door closing, raises nothing.
- ``tamper`` always raises an alarm.
- ``battery_low`` raises one alarm until the battery recovers: a sensor sends ``battery_low``
  in place of its ``heartbeat`` while its battery is low, and a ``heartbeat`` again once it has
  a fresh battery; repeated ``battery_low`` reports in between raise nothing more.
- A sensor is *silent* when nothing has come from it for longer than its heartbeat period
  (``last_seen_at + heartbeat_seconds < now``; since enrolment when it never reported): read
  at the time of the query, no job stores it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

# A worker's delivery marked at the door within this many minutes of an opening explains it.
DELIVERY_MINUTES = 10
DELIVERY_WINDOW = timedelta(minutes=DELIVERY_MINUTES)
DEFAULT_HEARTBEAT_SECONDS = 300


class SensorEventKind(StrEnum):
    """What a door sensor reports."""

    DOOR_OPEN = "door_open"
    DOOR_CLOSED = "door_closed"
    TAMPER = "tamper"
    BATTERY_LOW = "battery_low"
    HEARTBEAT = "heartbeat"


class AlarmKind(StrEnum):
    """Why the office is alerted (``silent`` is read at query time, never stored)."""

    DOOR_OPEN = "door_open"
    TAMPER = "tamper"
    BATTERY_LOW = "battery_low"
    SILENT = "silent"


def announced(windows: Iterable[tuple[datetime, datetime]], at: datetime) -> bool:
    """An announcement window (start inclusive, end exclusive) holds ``at``."""
    return any(starts <= at < ends for starts, ends in windows)


def delivered_at_the_door(delivered: Iterable[datetime], at: datetime) -> bool:
    """A delivery was marked at the door within ``DELIVERY_MINUTES`` either side of ``at``
    (both ends included)."""
    return any(abs(at - when) <= DELIVERY_WINDOW for when in delivered)


def alarm_for(
    event: SensorEventKind,
    at: datetime,
    *,
    observation_until: datetime | None,
    windows: Iterable[tuple[datetime, datetime]] = (),
    deliveries: Iterable[datetime] = (),
    battery_low_already: bool = False,
) -> AlarmKind | None:
    """The alarm an event raises, or None."""
    if event is SensorEventKind.TAMPER:
        return AlarmKind.TAMPER
    if event is SensorEventKind.BATTERY_LOW:
        return None if battery_low_already else AlarmKind.BATTERY_LOW
    if event is not SensorEventKind.DOOR_OPEN:
        return None
    if observation_until is None or observation_until <= at:
        return None
    if announced(windows, at) or delivered_at_the_door(deliveries, at):
        return None
    return AlarmKind.DOOR_OPEN


def silent(
    last_seen_at: datetime | None,
    enrolled_at: datetime | None,
    heartbeat_seconds: int,
    now: datetime,
) -> bool:
    """Nothing heard for longer than the heartbeat period (a sensor not enrolled yet is not
    silent: it has not started)."""
    since = last_seen_at or enrolled_at
    if since is None:
        return False
    return since + timedelta(seconds=heartbeat_seconds) < now
