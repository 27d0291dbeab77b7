"""Door sensors and alarms on the office's pages: add a sensor (its one-time code), the sensor
enrols and reports through the API, alarms show on the dashboard's live fragment (not for an
announced opening nor a delivery at the door), are acknowledged with a note (audited; a lost
race is a message), silent sensors are flagged; scope: another community's objects are 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import (
    AuditEntry,
    DoorAlarm,
    DoorAnnouncement,
    DoorSensor,
    ServiceRequest,
    utcnow,
)
from kiosk.services import deliveries, security
from tests.helpers import ApiClient

from .conftest import Browser


def observe(site, days: int = 3) -> None:
    site.household.observation_until = utcnow() + timedelta(days=days)
    db.session.commit()


def add_sensor(browser: Browser, household_id: int, name: str = "门磁 301") -> str:
    """Add a sensor on the office's page; the enrolment code shown once."""
    r = browser.post("/office/sensors", {"household_id": str(household_id), "name": name})
    assert r.status_code == 303, r.text
    assert r.headers["Location"].startswith("/office/sensors?household=")
    page = browser.get(r.headers["Location"], lang="en")
    found = re.search(r'data-testid="enrol-code">([^<]*)<', page.text)
    assert found, page.text
    assert browser.get("/office/sensors").text.count('data-testid="enrol-code"') == 0  # once
    return found.group(1)


def enrol(client, code: str) -> ApiClient:
    r = ApiClient(client).post("/api/v1/sensors/enrol", {"code": code})
    assert r.status_code == 201, r.get_json()
    return ApiClient(client).bearer(r.get_json()["token"])


def report(sensor: ApiClient, kind: str, key: str, at=None):
    r = sensor.post(
        "/api/v1/sensors/events", {"event": kind, "at": (at or utcnow()).isoformat(), "id": key}
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def live(browser: Browser) -> str:
    """The dashboard's live fragment, as htmx polls it."""
    r = browser.get("/office", htmx=True, lang="en")
    assert r.status_code == 200 and "<html" not in r.text
    return r.text


@pytest.fixture
def sensor(app, client, world, office):
    """Household a under observation with an enrolled sensor (the sensor's API client)."""
    observe(world.a)
    return enrol(client, add_sensor(office, world.a.household.id))


def test_adding_a_sensor_shows_its_code_once_and_is_audited(app, world, office):
    code = add_sensor(office, world.a.household.id)
    assert re.fullmatch(r"[A-Z2-9]{8}", code)
    row = db.session.scalar(select(DoorSensor))
    assert row.household_id == world.a.household.id and row.community_id == world.a.community.id
    assert row.enrol_code_hash == security.token_hash(code) and row.token_hash is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sensor.create"))
    assert entry.target_type == "sensor" and entry.target_id == row.id
    assert entry.user_id == world.a.office.id
    # A new code replaces it (audited too).
    r = office.post(f"/office/sensors/{row.id}/enrolment")
    assert r.status_code == 303
    db.session.refresh(row)
    assert row.enrol_code_hash != security.token_hash(code)


def test_the_form_shows_every_problem_and_keeps_what_was_typed(app, world, office):
    r = office.post(
        "/office/sensors",
        {"household_id": "²", "name": " ", "heartbeat_seconds": "5"},
        lang="en",
    )
    assert r.status_code == 200
    assert "Choose the household." in r.text
    assert "Heartbeat: from 10 to 86400 seconds." in r.text
    assert "Sensor name" in r.text
    r = office.post(
        "/office/sensors", {"household_id": "", "name": "北门门磁", "heartbeat_seconds": "60"}
    )
    assert r.status_code == 200 and 'value="北门门磁"' in r.text and 'value="60"' in r.text
    assert db.session.scalar(select(DoorSensor)) is None


def test_another_communitys_household_sensor_and_alarm_are_not_found(app, client, world, sensor):
    office_b = Browser(app).sign_in(world.b.office)
    r = office_b.post("/office/sensors", {"household_id": str(world.a.household.id), "name": "x"})
    assert r.status_code == 404
    row = db.session.scalar(select(DoorSensor))
    assert office_b.post(f"/office/sensors/{row.id}/enrolment").status_code == 404
    assert office_b.get(f"/office/sensors?household={world.a.household.id}").status_code == 404
    report(sensor, "door_open", "e-1")
    alarm = db.session.scalar(select(DoorAlarm))
    r = office_b.post(f"/office/alarms/{alarm.id}/ack", {"note": "已电话联系"})
    assert r.status_code == 404
    assert f'data-door-alarm-id="{alarm.id}"' not in live(office_b)
    assert "门磁 301" not in office_b.get("/office/alarms").text
    db.session.refresh(alarm)
    assert alarm.acknowledged_at is None


def test_a_door_opening_shows_on_the_dashboard_at_the_next_poll(app, world, office, sensor):
    assert "data-door-alarm-id" not in live(office)
    answer = report(sensor, "door_open", "e-1")
    assert answer["alarm"] == "door_open"
    fragment = live(office)
    assert f'data-door-alarm-id="{answer["alarm_id"]}"' in fragment
    assert "Door opened under home observation" in fragment
    assert "张三丰" not in fragment  # no names: the address only
    # The full page and the alarms page show it too.
    assert f'data-door-alarm-id="{answer["alarm_id"]}"' in office.get("/office").text
    page = office.get("/office/alarms", lang="en")
    assert page.status_code == 200 and f'id="alarm-{answer["alarm_id"]}"' in page.text


def test_an_announced_opening_raises_none(app, world, office, sensor):
    now = utcnow()
    db.session.add(
        DoorAnnouncement(
            household_id=world.a.household.id,
            kind="rubbish",
            starts_at=now - timedelta(minutes=2),
            ends_at=now + timedelta(minutes=8),
        )
    )
    db.session.commit()
    assert report(sensor, "door_open", "e-1", now)["alarm"] is None
    assert "data-door-alarm-id" not in live(office)


def test_an_opening_for_a_delivery_at_the_door_raises_none(app, world, office, sensor):
    request = ServiceRequest(
        household_id=world.a.household.id, community_id=world.a.community.id, kind="groceries"
    )
    db.session.add(request)
    db.session.commit()
    for step in ("take", "on_the_way", "delivered"):
        deliveries.advance(world.worker, request.id, step)
    assert report(sensor, "door_open", "e-1")["alarm"] is None
    # Well after the delivery, an opening is an alarm again.
    later = utcnow() + timedelta(minutes=11)
    assert report(sensor, "door_open", "e-2", later)["alarm"] == "door_open"


def test_acknowledging_with_a_note_is_audited_and_a_second_one_is_told(app, world, office, sensor):
    alarm_id = report(sensor, "door_open", "e-1")["alarm_id"]
    # No note: the message, the alarm still open.
    r = office.post(f"/office/alarms/{alarm_id}/ack", {"note": "  "}, lang="en")
    assert r.status_code == 200 and "Note: say what was done" in r.text
    assert db.session.get(DoorAlarm, alarm_id).acknowledged_at is None
    r = office.post(f"/office/alarms/{alarm_id}/ack", {"note": "已电话联系，住户取快递"})
    assert r.status_code == 303 and r.headers["Location"] == "/office/alarms"
    alarm = db.session.get(DoorAlarm, alarm_id)
    assert alarm.acknowledged_at is not None and alarm.acknowledged_by_id == world.a.office.id
    assert alarm.note == "已电话联系，住户取快递"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "alarm.ack"))
    assert entry.target_id == alarm_id and entry.community_id == world.a.community.id
    # Lost race: the alarm was handled already.
    r = office.post(f"/office/alarms/{alarm_id}/ack", {"note": "上门查看"}, lang="en")
    assert r.status_code == 200 and "Someone has handled this alarm already." in r.text
    assert db.session.get(DoorAlarm, alarm_id).note == "已电话联系，住户取快递"
    # Handled: listed below, no longer open.
    page = office.get("/office/alarms", lang="en").text
    assert f'id="alarm-{alarm_id}"' not in page and "已电话联系，住户取快递" in page
    r = office.post("/office/alarms/999999/ack", {"note": "x"})
    assert r.status_code == 404


def test_open_alarms_stay_on_top_of_handled_ones(app, world, office, sensor):
    first = report(sensor, "tamper", "t-1")["alarm_id"]
    second = report(sensor, "door_open", "e-1")["alarm_id"]
    office.post(f"/office/alarms/{first}/ack", {"note": "上门查看"})
    fragment = live(office)
    assert fragment.index(f'data-door-alarm-id="{second}"') < fragment.index(
        f'data-door-alarm-id="{first}"'
    )


def test_a_silent_sensor_is_flagged_on_the_dashboard_and_the_alarms_page(
    app, world, office, sensor
):
    report(sensor, "heartbeat", "h-1")
    row = db.session.scalar(select(DoorSensor))
    assert f'data-silent-sensor-id="{row.id}"' not in live(office)
    row.last_seen_at = utcnow() - timedelta(seconds=row.heartbeat_seconds + 1)
    db.session.commit()
    assert f'data-silent-sensor-id="{row.id}"' in live(office)
    page = office.get("/office/alarms", lang="en").text
    assert "Sensor silent" in page
    report(sensor, "heartbeat", "h-2")  # heard again: no longer silent
    assert f'data-silent-sensor-id="{row.id}"' not in live(office)


def test_the_household_page_offers_a_sensor(app, world, office):
    r = office.get(f"/office/households/{world.a.household.id}", lang="en")
    assert r.status_code == 200 and 'data-testid="household-sensor"' in r.text
    assert f"/office/sensors?household={world.a.household.id}" in r.text


@pytest.mark.parametrize("path", ["/office/sensors", "/office/alarms"])
def test_pages_render_for_the_office_and_the_street(app, world, path):
    for user in (world.a.office, world.street_user):
        r = Browser(app).sign_in(user).get(path, lang="en")
        assert r.status_code == 200, user.username
    for user in (world.a.guard, world.worker, world.resident_user):
        assert Browser(app).sign_in(user).get(path).status_code == 403
    r = Browser(app).get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")


def test_removing_a_sensor_refuses_its_events_and_keeps_its_alarms(app, world, office, sensor):
    """Observation over, or the sensor lost: the office removes it from its row (htmx: the row
    goes). Its next event is refused, its open alarm stays to be handled, it is audited; a
    second removal (another office worker) is told."""
    alarm_id = report(sensor, "door_open", "e-1")["alarm_id"]
    row = db.session.scalar(select(DoorSensor))
    page = office.get("/office/sensors", lang="en").text
    assert f'data-sensor-id="{row.id}"' in page and 'data-testid="revoke-sensor"' in page
    r = office.post(f"/office/sensors/{row.id}/revoke", htmx=True)
    assert r.status_code == 200 and r.text == ""
    assert f'data-sensor-id="{row.id}"' not in office.get("/office/sensors").text
    r = sensor.post(
        "/api/v1/sensors/events", {"event": "door_open", "at": utcnow().isoformat(), "id": "e-2"}
    )
    assert r.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(DoorAlarm)) == 1
    assert f'id="alarm-{alarm_id}"' in office.get("/office/alarms").text
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "sensor.revoke"))
    assert entry.target_id == row.id and entry.community_id == world.a.community.id
    audit_page = office.get("/office/audit", lang="en").text
    assert "door sensor removed" in audit_page
    # Too late: it was removed already. Without htmx, the message on the page.
    r = office.post(f"/office/sensors/{row.id}/revoke", lang="en", follow_redirects=True)
    assert r.status_code == 200 and "This sensor has already been removed." in r.text
    # No new enrolment code for it either.
    r = office.post(f"/office/sensors/{row.id}/enrolment", lang="en")
    assert "This sensor has been removed." in r.text


def test_another_communitys_office_cannot_remove_a_sensor(app, world, sensor):
    office_b = Browser(app).sign_in(world.b.office)
    row = db.session.scalar(select(DoorSensor))
    assert office_b.post(f"/office/sensors/{row.id}/revoke").status_code == 404
    assert office_b.post("/office/sensors/999999/revoke").status_code == 404
    db.session.refresh(row)
    assert row.revoked_at is None
    assert report(sensor, "door_open", "e-1")["alarm"] == "door_open"
