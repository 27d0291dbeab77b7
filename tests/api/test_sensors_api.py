"""Door sensors through API v1: enrolment with the office's one-time code (token shown once,
kept as a hash), events with the sensor's own token, idempotent by event id (also a lost race
on the unique constraint), and the alarms the rule raises.

``doc_calls`` lets tests/api/test_openapi.py call these operations for real."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.contract.sensors import SensorForm
from kiosk.extensions import db
from kiosk.models import (
    DoorAlarm,
    DoorAnnouncement,
    DoorSensor,
    SensorEvent,
    ServiceRequest,
    utcnow,
)
from kiosk.services import security
from kiosk.services import sensors as sensor_service
from tests import factories
from tests.helpers import ApiClient

ENROL = "/api/v1/sensors/enrol"
EVENTS = "/api/v1/sensors/events"


def new_sensor(world, site: str = "a", observed: bool = True) -> tuple[DoorSensor, str]:
    """A sensor on the site's household (under observation unless told) and its code."""
    s = getattr(world, site)
    s.household.observation_until = utcnow() + timedelta(days=3) if observed else None
    db.session.commit()
    form = SensorForm.read({"household_id": str(s.household.id), "name": "门磁 301"})
    return sensor_service.create_sensor(s.office, form)


def enrolled(client, world, site: str = "a", observed: bool = True) -> tuple[DoorSensor, ApiClient]:
    sensor, code = new_sensor(world, site, observed)
    r = ApiClient(client).post(ENROL, {"code": code})
    assert r.status_code == 201, r.get_json()
    return sensor, ApiClient(client).bearer(r.get_json()["token"])


def event(kind: str, key: str, at=None) -> dict:
    return {"event": kind, "at": (at or utcnow()).isoformat(), "id": key}


def error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    err = r.get_json()["error"]
    assert err["message"] and (code is None or err["code"] == code), err
    return err


def alarms() -> list[DoorAlarm]:
    return list(db.session.scalars(select(DoorAlarm).order_by(DoorAlarm.id)))


def doc_calls(world, call_as) -> None:
    """Both operations, as the OpenAPI test calls them: ``call_as(token, method, rule, path,
    payload, status)``."""
    _sensor, code = new_sensor(world)
    r = call_as(None, "POST", ENROL, ENROL, {"code": code}, 201)
    token = r.get_json()["token"]
    # Tamper always raises an alarm (a door opening may be announced by another call here).
    r = call_as(token, "POST", EVENTS, EVENTS, event("tamper", "doc-1"), 200)
    assert r.get_json()["alarm"] == "tamper"
    r = call_as(token, "POST", EVENTS, EVENTS, event("heartbeat", "doc-2"), 200)
    assert r.get_json()["alarm"] is None


def test_enrolment_gives_a_token_once_and_keeps_only_its_hash(client, world):
    sensor, code = new_sensor(world)
    r = ApiClient(client).post(ENROL, {"code": code.lower()})
    assert r.status_code == 201
    body = r.get_json()
    assert body["sensor_id"] == sensor.id and body["heartbeat_seconds"] == 300
    db.session.refresh(sensor)
    assert sensor.token_hash == security.token_hash(body["token"])
    assert sensor.enrol_code_hash is None and sensor.enrolled_at is not None
    # The code is spent.
    r = ApiClient(client).post(ENROL, {"code": code})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "code"


@pytest.mark.parametrize("code", ["", "ABC", "ZZZZZZZZ"])
def test_a_wrong_code_is_refused(client, world, code):
    new_sensor(world)
    r = ApiClient(client).post(ENROL, {"code": code})
    assert r.status_code == 422


def test_an_expired_code_is_refused(client, world):
    sensor, code = new_sensor(world)
    sensor.enrol_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    r = ApiClient(client).post(ENROL, {"code": code})
    assert r.status_code == 422
    assert "expired" in r.get_json()["error"]["code"] or r.get_json()["error"]["field"] == "code"


def test_a_door_opening_under_observation_raises_one_alarm_and_a_repeat_answers_the_first(
    client, world
):
    sensor, api = enrolled(client, world)
    body = event("door_open", "e-1")
    first = api.post(EVENTS, body)
    assert first.status_code == 200
    assert first.get_json()["alarm"] == "door_open"
    again = api.post(EVENTS, body)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert db.session.scalar(select(func.count()).select_from(SensorEvent)) == 1
    [alarm] = alarms()
    assert alarm.kind == "door_open" and alarm.household_id == world.a.household.id
    assert alarm.community_id == world.a.community.id and alarm.acknowledged_at is None
    db.session.refresh(sensor)
    assert sensor.last_seen_at is not None


def test_a_lost_race_on_the_event_id_answers_the_first_result(client, world, monkeypatch):
    """Two requests with one event id at once: the second passes the look-up before the first
    commits, and its insert hits the unique constraint; it answers the first's result."""
    _sensor, api = enrolled(client, world)
    first = api.post(EVENTS, event("door_open", "race"))
    assert first.get_json()["alarm"] == "door_open"
    real_first = sensor_service._first
    calls = []

    def not_yet(sensor_id, key):
        calls.append(key)
        return None if len(calls) == 1 else real_first(sensor_id, key)

    monkeypatch.setattr(sensor_service, "_first", not_yet)
    second = api.post(EVENTS, event("door_open", "race"))
    assert second.status_code == 200 and second.get_json() == first.get_json()
    assert len(calls) == 2  # the constraint answered, then the first row was read
    assert len(alarms()) == 1


def test_a_door_opening_outside_observation_raises_nothing(client, world):
    _sensor, api = enrolled(client, world, observed=False)
    r = api.post(EVENTS, event("door_open", "e-1"))
    assert r.status_code == 200 and r.get_json()["alarm"] is None
    assert alarms() == []


def test_an_announced_opening_raises_nothing(client, world):
    _sensor, api = enrolled(client, world)
    now = utcnow()
    db.session.add(
        DoorAnnouncement(
            household_id=world.a.household.id,
            kind="delivery",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(minutes=9),
        )
    )
    db.session.commit()
    assert api.post(EVENTS, event("door_open", "e-1", now)).get_json()["alarm"] is None
    # After the window, the same door raises an alarm.
    later = now + timedelta(minutes=9)
    assert api.post(EVENTS, event("door_open", "e-2", later)).get_json()["alarm"] == "door_open"


def test_an_opening_for_a_delivery_at_the_door_raises_nothing(client, world):
    _sensor, api = enrolled(client, world)
    now = utcnow()
    db.session.add(
        ServiceRequest(
            household_id=world.a.household.id,
            community_id=world.a.community.id,
            kind="water",
            status="delivered",
            delivered_at=now - timedelta(minutes=3),
        )
    )
    db.session.commit()
    assert api.post(EVENTS, event("door_open", "e-1", now)).get_json()["alarm"] is None
    late = now + timedelta(minutes=8)  # 11 minutes after the delivery
    assert api.post(EVENTS, event("door_open", "e-2", late)).get_json()["alarm"] == "door_open"


def test_tamper_and_a_low_battery_once_until_it_recovers(client, world):
    sensor, api = enrolled(client, world, observed=False)
    assert api.post(EVENTS, event("tamper", "t-1")).get_json()["alarm"] == "tamper"
    assert api.post(EVENTS, event("battery_low", "b-1")).get_json()["alarm"] == "battery_low"
    assert api.post(EVENTS, event("battery_low", "b-2")).get_json()["alarm"] is None
    db.session.refresh(sensor)
    assert sensor.battery_low is True
    assert api.post(EVENTS, event("heartbeat", "h-1")).get_json()["alarm"] is None
    db.session.refresh(sensor)
    assert sensor.battery_low is False
    assert api.post(EVENTS, event("battery_low", "b-3")).get_json()["alarm"] == "battery_low"
    assert api.post(EVENTS, event("door_closed", "c-1")).get_json()["alarm"] is None
    assert [a.kind for a in alarms()] == ["tamper", "battery_low", "battery_low"]


def test_events_need_the_sensors_own_token(client, world):
    sensor, _api = enrolled(client, world)
    body = event("door_open", "e-1")
    for api in (
        ApiClient(client),
        ApiClient(client).bearer("not-a-token"),
        ApiClient(client).bearer(world.a.device_token),  # a gate device's token
        ApiClient(client).bearer(factories.api_token(world.a.office)),  # a staff token
    ):
        r = api.post(EVENTS, body)
        assert r.status_code == 401, r.get_json()
    sensor.revoked_at = utcnow()
    db.session.commit()
    assert _api.post(EVENTS, body).status_code == 401
    assert alarms() == []


@pytest.mark.parametrize(
    "body",
    [
        {"event": "door_opened", "at": "2026-06-14T10:00:00+08:00", "id": "x"},
        {"event": "door_open", "at": "yesterday", "id": "x"},
        {"event": "door_open", "at": "2026-06-14T10:00:00+08:00", "id": ""},
        {"event": "door_open", "at": "2026-06-14T10:00:00+08:00"},
        {"event": "door_open", "at": "2026-06-14T10:00:00+08:00", "id": "x", "extra": 1},
    ],
)
def test_a_bad_event_is_refused_with_every_field(client, world, body):
    _sensor, api = enrolled(client, world)
    r = api.post(EVENTS, body)
    assert r.status_code == 422, r.get_json()
    assert alarms() == []


def test_the_office_removes_a_sensor_and_its_events_are_refused(client, world):
    sensor, api = enrolled(client, world)
    alarm_id = api.post(EVENTS, event("tamper", "e-1")).get_json()["alarm_id"]
    office = ApiClient(client).bearer(factories.api_token(world.a.office))
    r = office.post(f"/api/v1/sensors/{sensor.id}/revoke")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["id"], body["household_id"], body["name"]) == (
        sensor.id,
        world.a.household.id,
        "门磁 301",
    )
    assert body["revoked_at"] is not None and body["enrolled_at"] is not None
    r = api.post(EVENTS, event("door_open", "e-2"))
    assert r.status_code == 401
    assert [a.id for a in alarms()] == [alarm_id]  # its alarm stays to be handled
    error(office.post(f"/api/v1/sensors/{sensor.id}/revoke"), 409, "already_revoked")
    other = ApiClient(client).bearer(factories.api_token(world.b.office))
    error(other.post(f"/api/v1/sensors/{sensor.id}/revoke"), 404)


def test_the_office_removes_a_gate_device_and_its_token_is_refused(client, world):
    office = ApiClient(client).bearer(factories.api_token(world.a.office))
    code = factories.code(world.a.pass_)
    gate = ApiClient(client).as_device(world.a.device_token)
    assert gate.scan(code, request_id="before").status_code == 200
    r = office.post(f"/api/v1/devices/{world.a.device.id}/revoke")
    assert r.status_code == 200 and r.get_json()["revoked_at"] is not None
    assert office.get(f"/api/v1/devices/{world.a.device.id}").get_json()["revoked_at"]
    error(gate.scan(code, "out", request_id="after"), 401, "bad_device")
    error(office.post(f"/api/v1/devices/{world.a.device.id}/revoke"), 409, "already_revoked")
