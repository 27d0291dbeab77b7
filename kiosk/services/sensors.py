"""Door sensors (门磁) on the doors of households under home observation, and their alarms.

The office adds a sensor to a household and reads its one-time enrolment code (as for a gate
tablet, ``services/devices.py``: 8 characters, 15 minutes, kept as a hash); the sensor exchanges
it for its own bearer token (hash only) and posts its events with it. An event is stored once
per (sensor, the sensor's event id): a repeat, also one arriving at the same moment, answers the
first result (the unique constraint decides, inside a savepoint). The alarm rule is
``domain/sensors.py``; this module loads its facts: the household's observation, the
announcements whose window may hold the moment, deliveries marked at the door around it.

Acknowledging an alarm is a conditional UPDATE (``WHERE acknowledged_at IS NULL``): of two
office users, the second is told someone else did it first. Silent sensors are computed when
read (``last_seen_at + heartbeat_seconds < now``); no job runs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..contract.sensors import AlarmAckForm, SensorEventCreate, SensorForm
from ..domain import sensors as rule
from ..domain.sensors import DEFAULT_HEARTBEAT_SECONDS, AlarmKind, SensorEventKind
from ..extensions import db
from ..models import (
    MAX_ID,
    Building,
    Compound,
    DoorAlarm,
    DoorAnnouncement,
    DoorSensor,
    Household,
    SensorEvent,
    ServiceRequest,
    User,
    utcnow,
)
from . import audit, scope, security
from .devices import ENROL_ALPHABET, ENROL_LENGTH, ENROL_MINUTES, holder_of_code, revoke_row
from .errors import Conflict, Invalid, NotFound, Unauthorized

RECENT_ALARMS = 50  # acknowledged alarms listed under the open ones on /office/alarms
DASHBOARD_RECENT_HOURS = 24  # acknowledged alarms kept on the dashboard this long


# --- what the pages read ----------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    household_id: int
    compound: str
    building: str
    unit: str
    room: str


@dataclass(frozen=True)
class AlarmRow:
    alarm: DoorAlarm
    sensor_name: str
    address: Address
    acknowledged_by: str | None


@dataclass(frozen=True)
class SensorRow:
    sensor: DoorSensor
    address: Address
    silent: bool
    observed: bool


@dataclass(frozen=True)
class AlarmBoard:
    """The dashboard's block: open alarms first (oldest first), then the last day's handled
    ones, and the silent sensors."""

    open: list[AlarmRow]
    handled: list[AlarmRow]
    silent: list[SensorRow]


_ADDRESS = (Household.id, Compound.name, Building.name, Household.unit, Household.room)


def _with_address(stmt, household_col):
    return (
        stmt.join(Household, Household.id == household_col)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
    )


def _alarm_rows(stmt) -> list[AlarmRow]:
    stmt = _with_address(
        stmt.add_columns(DoorSensor.name, *_ADDRESS, User.username)
        .join(DoorSensor, DoorSensor.id == DoorAlarm.sensor_id)
        .outerjoin(User, User.id == DoorAlarm.acknowledged_by_id),
        DoorAlarm.household_id,
    )
    return [AlarmRow(r[0], r[1], Address(*r[2:7]), r[7]) for r in db.session.execute(stmt).all()]


def open_alarms(ids: list[int]) -> list[AlarmRow]:
    """Unacknowledged alarms of these communities, oldest first (the longest waiting on top)."""
    return _alarm_rows(
        select(DoorAlarm)
        .where(DoorAlarm.community_id.in_(ids), DoorAlarm.acknowledged_at.is_(None))
        .order_by(DoorAlarm.raised_at, DoorAlarm.id)
    )


def handled_alarms(ids: list[int], since: datetime | None, limit: int) -> list[AlarmRow]:
    """Acknowledged alarms, the latest handled first."""
    stmt = select(DoorAlarm).where(
        DoorAlarm.community_id.in_(ids), DoorAlarm.acknowledged_at.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(DoorAlarm.acknowledged_at >= since)
    return _alarm_rows(stmt.order_by(DoorAlarm.acknowledged_at.desc()).limit(limit))


def sensor_rows(ids: list[int], now: datetime, household_id: int | None = None) -> list[SensorRow]:
    """The sensors of these communities (not revoked) with their state, by address."""
    stmt = _with_address(
        select(DoorSensor, *_ADDRESS, Household.observation_until).where(
            DoorSensor.community_id.in_(ids), DoorSensor.revoked_at.is_(None)
        ),
        DoorSensor.household_id,
    )
    if household_id is not None:
        stmt = stmt.where(DoorSensor.household_id == household_id)
    stmt = stmt.order_by(
        Compound.name, Building.name, Household.unit, Household.room, DoorSensor.id
    )
    rows = []
    for sensor, *address, observation_until in db.session.execute(stmt).all():
        rows.append(
            SensorRow(
                sensor,
                Address(*address),
                rule.silent(sensor.last_seen_at, sensor.enrolled_at, sensor.heartbeat_seconds, now),
                observation_until is not None and observation_until > now,
            )
        )
    return rows


def silent_sensors(ids: list[int], now: datetime) -> list[SensorRow]:
    """Enrolled sensors heard from last longer ago than their heartbeat period."""
    return [row for row in sensor_rows(ids, now) if row.silent]


def board(ids: list[int], now: datetime) -> AlarmBoard:
    """The office dashboard's door-alarm block for these communities (checked by the caller)."""
    return AlarmBoard(
        open=open_alarms(ids),
        handled=handled_alarms(ids, now - timedelta(hours=DASHBOARD_RECENT_HOURS), 10),
        silent=silent_sensors(ids, now),
    )


def page(actor: User, now: datetime, household_id: int | None = None):
    """The office's alarms page: open alarms, recent handled ones and every sensor's state."""
    scope.require_role(actor, scope.MANAGERS)
    ids = scope.community_ids(actor)
    if household_id is not None:
        scope.load(actor, Household, household_id)
    return (
        open_alarms(ids),
        handled_alarms(ids, None, RECENT_ALARMS),
        sensor_rows(ids, now, household_id),
    )


def observed_households(actor: User, now: datetime) -> list[Address]:
    """Households under observation now (the add-a-sensor form offers them first)."""
    scope.require_role(actor, scope.MANAGERS)
    stmt = (
        select(*_ADDRESS)
        .select_from(Household)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(
            Compound.community_id.in_(scope.community_ids(actor)),
            Household.observation_until > now,
        )
        .order_by(Compound.name, Building.name, Household.unit, Household.room)
    )
    return [Address(*r) for r in db.session.execute(stmt).all()]


# --- the office: add a sensor, its enrolment code, acknowledge an alarm ------------------------


def _new_code(sensor: DoorSensor) -> str:
    code = "".join(secrets.choice(ENROL_ALPHABET) for _ in range(ENROL_LENGTH))
    sensor.enrol_code_hash = security.token_hash(code)
    sensor.enrol_expires_at = utcnow() + timedelta(minutes=ENROL_MINUTES)
    return code


def create_sensor(actor: User, data: SensorForm) -> tuple[DoorSensor, str]:
    """A sensor on a household's door, with its one-time enrolment code (shown once)."""
    household, community_id = scope.load(actor, Household, data.household_id)
    sensor = DoorSensor(
        household_id=household.id,
        community_id=community_id,
        name=data.name,
        heartbeat_seconds=data.heartbeat_seconds or DEFAULT_HEARTBEAT_SECONDS,
    )
    code = _new_code(sensor)
    db.session.add(sensor)
    db.session.flush()
    audit.record(
        actor, "sensor.create", "sensor", sensor.id, community_id, household_id=household.id
    )
    db.session.commit()
    return sensor, code


def load_sensor(actor: User, sensor_id: int) -> DoorSensor:
    """A sensor of the actor's communities; any other is not found."""
    scope.require_role(actor, scope.MANAGERS)
    sensor = db.session.get(DoorSensor, sensor_id) if 1 <= sensor_id <= MAX_ID else None
    if sensor is None or not scope.in_scope(actor, sensor.community_id):
        raise NotFound()
    return sensor


def new_enrolment(actor: User, sensor_id: int) -> tuple[DoorSensor, str]:
    """A fresh enrolment code (an earlier one stops working; the token changes when used)."""
    sensor = load_sensor(actor, sensor_id)
    if sensor.revoked_at is not None:
        raise Invalid(_l("This sensor has been removed."))
    code = _new_code(sensor)
    audit.record(actor, "sensor.enrolment_code", "sensor", sensor.id, sensor.community_id)
    db.session.commit()
    return sensor, code


def revoke(actor: User, sensor_id: int) -> DoorSensor:
    """Take a sensor off a door (observation over, the sensor lost or replaced): from its next
    event its token is refused, and it leaves the lists of sensors and silent ones. Its alarms
    stay to be handled. Once: a second removal is refused with a reason."""
    sensor = load_sensor(actor, sensor_id)
    if revoke_row(DoorSensor, sensor.id) != 1:
        raise Conflict(_l("This sensor has already been removed."), code="already_revoked")
    audit.record(
        actor,
        "sensor.revoke",
        "sensor",
        sensor.id,
        sensor.community_id,
        household_id=sensor.household_id,
    )
    db.session.commit()
    return sensor


def acknowledge(actor: User, alarm_id: int, data: AlarmAckForm) -> DoorAlarm:
    """Mark an alarm handled with a note; a lost race says who was first, never a 500."""
    scope.require_role(actor, scope.MANAGERS)
    alarm = db.session.get(DoorAlarm, alarm_id) if 1 <= alarm_id <= MAX_ID else None
    if alarm is None or not scope.in_scope(actor, alarm.community_id):
        raise NotFound()
    now = utcnow()
    done = db.session.execute(
        update(DoorAlarm)
        .where(DoorAlarm.id == alarm.id, DoorAlarm.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=actor.id, note=data.note)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise Conflict(_l("Someone has handled this alarm already."), code="already_handled")
    audit.record(
        actor, "alarm.ack", "sensor", alarm.sensor_id, alarm.community_id, alarm_id=alarm.id
    )
    db.session.commit()
    db.session.refresh(alarm)
    return alarm


# --- the sensor: enrol, then events ------------------------------------------------------------


def enrol(code: object) -> tuple[DoorSensor, str]:
    """Spend a one-time code: the sensor's own token, returned once, kept as a hash."""
    sensor = holder_of_code(DoorSensor, code)
    now = utcnow()
    token = security.new_token()
    # Spent by a conditional UPDATE: of two sensors sending one code at once, one wins.
    done = db.session.execute(
        update(DoorSensor)
        .where(DoorSensor.id == sensor.id, DoorSensor.enrol_code_hash == sensor.enrol_code_hash)
        .values(
            token_hash=security.token_hash(token),
            enrol_code_hash=None,
            enrol_expires_at=None,
            enrolled_at=now,
            last_seen_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise Invalid(_l("This code is not valid. Ask the office for a new one."), field="code")
    audit.record(None, "sensor.enrol", "sensor", sensor.id, sensor.community_id)
    db.session.commit()
    db.session.refresh(sensor)
    return sensor, token


def by_token(token: str) -> DoorSensor:
    """The sensor behind a bearer token, else 401."""
    sensor = db.session.scalar(
        select(DoorSensor).where(DoorSensor.token_hash == security.token_hash(token))
    )
    if sensor is None or sensor.revoked_at is not None:
        raise Unauthorized(_l("The token is not valid or has expired."), code="bad_token")
    return sensor


@dataclass(frozen=True)
class Recorded:
    """An event as stored and the alarm it raised (the API's answer, also to a repeat)."""

    id: str
    event: str
    at: datetime
    alarm: str | None
    alarm_id: int | None


def _answer(event: SensorEvent) -> Recorded:
    alarm = db.session.scalar(select(DoorAlarm).where(DoorAlarm.sensor_event_id == event.id))
    return Recorded(
        event.event_key,
        event.kind,
        event.at,
        alarm.kind if alarm is not None else None,
        alarm.id if alarm is not None else None,
    )


def _first(sensor_id: int, key: str) -> SensorEvent | None:
    return db.session.scalar(
        select(SensorEvent).where(SensorEvent.sensor_id == sensor_id, SensorEvent.event_key == key)
    )


def _facts(household_id: int, at: datetime):
    """The household's observation end, the announcement windows that may hold ``at`` and the
    deliveries marked at the door within the rule's window of it."""
    observation_until = db.session.scalar(
        select(Household.observation_until).where(Household.id == household_id)
    )
    windows = db.session.execute(
        select(DoorAnnouncement.starts_at, DoorAnnouncement.ends_at).where(
            DoorAnnouncement.household_id == household_id,
            DoorAnnouncement.starts_at <= at,
            DoorAnnouncement.ends_at >= at,
        )
    ).all()
    deliveries = db.session.scalars(
        select(ServiceRequest.delivered_at).where(
            ServiceRequest.household_id == household_id,
            ServiceRequest.delivered_at >= at - rule.DELIVERY_WINDOW,
            ServiceRequest.delivered_at <= at + rule.DELIVERY_WINDOW,
        )
    ).all()
    return observation_until, [tuple(w) for w in windows], list(deliveries)


def record_event(token: str, data: SensorEventCreate) -> Recorded:
    """Store a sensor's event once and raise the alarm the rule says; a repeated id (also two
    at once) answers the first result."""
    sensor = by_token(token)
    first = _first(sensor.id, data.id)
    if first is not None:
        return _answer(first)
    now = utcnow()
    kind = SensorEventKind(data.event)
    event = SensorEvent(sensor_id=sensor.id, event_key=data.id, kind=kind.value, at=data.at)
    try:
        with db.session.begin_nested():
            db.session.add(event)
            db.session.flush()
    except IntegrityError:
        # Another request stored the same event in the meantime: its answer is the answer.
        db.session.rollback()
        first = _first(sensor.id, data.id)
        if first is None:  # pragma: no cover - the constraint named a row we cannot read
            raise
        return _answer(first)
    # Battery: the flag changes by a conditional UPDATE, so one low battery raises one alarm.
    battery_low_already = True
    if kind is SensorEventKind.BATTERY_LOW:
        battery_low_already = (
            db.session.execute(
                update(DoorSensor)
                .where(DoorSensor.id == sensor.id, DoorSensor.battery_low.is_(False))
                .values(battery_low=True)
                .execution_options(synchronize_session=False)
            ).rowcount
            != 1
        )
    elif kind is SensorEventKind.HEARTBEAT:
        db.session.execute(
            update(DoorSensor)
            .where(DoorSensor.id == sensor.id, DoorSensor.battery_low.is_(True))
            .values(battery_low=False)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(DoorSensor)
        .where(DoorSensor.id == sensor.id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    observation_until, windows, deliveries = (None, [], [])
    if kind is SensorEventKind.DOOR_OPEN:
        observation_until, windows, deliveries = _facts(sensor.household_id, data.at)
    alarm_kind = rule.alarm_for(
        kind,
        data.at,
        observation_until=observation_until,
        windows=windows,
        deliveries=deliveries,
        battery_low_already=battery_low_already,
    )
    alarm = None
    if alarm_kind is not None:
        alarm = DoorAlarm(
            community_id=sensor.community_id,
            household_id=sensor.household_id,
            sensor_id=sensor.id,
            sensor_event_id=event.id,
            kind=AlarmKind(alarm_kind).value,
            raised_at=now,
        )
        db.session.add(alarm)
    db.session.commit()
    return Recorded(
        event.event_key,
        event.kind,
        event.at,
        alarm.kind if alarm is not None else None,
        alarm.id if alarm is not None else None,
    )
