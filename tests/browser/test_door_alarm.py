"""A door opening at a household under home observation, played by the simulator
(scripts/door_sensor.py) against the live server, shows on an open office dashboard within two
seconds, without a reload (htmx polls every ``DASHBOARD_REFRESH_SECONDS``: one second here); an
announced opening raises none. When observation is over the office removes the sensor from
its row (after a confirmation naming it), and its next event is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect as _expect

from kiosk.contract.sensors import SensorForm
from kiosk.extensions import db
from kiosk.models import DoorAnnouncement, Household, utcnow
from kiosk.services import sensors as sensor_service

from .conftest import screenshot
from .test_dashboard_live import office_signs_in

SIMULATOR = Path(__file__).resolve().parents[2] / "scripts" / "door_sensor.py"

expect = type(_expect)()
expect.set_options(timeout=10_000)


def simulate(live, *args: str) -> list[dict]:
    """Run the simulator against the live server; its answers, one JSON object a line."""
    done = subprocess.run(
        [sys.executable, str(SIMULATOR), "--url", live.url, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_a_simulated_door_opening_raises_an_alarm_on_the_open_dashboard(
    page, live, site, in_app, monkeypatch
):
    monkeypatch.setitem(live.app.config, "DASHBOARD_REFRESH_SECONDS", 1)
    with in_app():
        household = db.session.get(Household, site.a.household.id)
        household.observation_until = utcnow() + timedelta(days=7)
        db.session.commit()
        form = SensorForm.read({"household_id": str(household.id), "name": "门磁 2-301"})
        _sensor, code = sensor_service.create_sensor(site.a.office, form)

    office_signs_in(page, live, site)
    page.goto(live.url + "/office")
    expect(page.locator("#dashboard")).to_have_attribute("hx-trigger", "every 1000ms")
    alarms = page.locator("[data-testid=door-alarms] tr[data-door-alarm-id]")
    expect(alarms).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    # Enrol, a heartbeat, the door opens and closes: one alarm.
    answers = simulate(live, "demo", code)
    token = answers[0]["token"]
    assert [a.get("alarm") for a in answers[1:]] == [None, "door_open", None]
    expect(alarms).to_have_count(1, timeout=2_000)
    expect(alarms.first).to_have_attribute("data-alarm-kind", "door_open")
    screenshot(page, "office-dashboard-door-alarm-zh")

    # The resident announces opening the door (collecting a delivery): the opening raises none.
    with in_app():
        now = utcnow()
        db.session.add(
            DoorAnnouncement(
                household_id=site.a.household.id,
                kind="delivery",
                starts_at=now - timedelta(seconds=5),
                ends_at=now + timedelta(minutes=10),
            )
        )
        db.session.commit()
    [answer] = simulate(live, "--token", token, "send", "door_open")
    assert answer["alarm"] is None
    page.wait_for_timeout(2_500)  # two polls later, still the one alarm
    expect(alarms).to_have_count(1)
    assert page.evaluate("window.__sameDocument === true")  # polled, never reloaded

    # Observation is over: the office removes the sensor from its row, after a confirmation
    # that names it. The row goes without a reload, and the sensor's next event is refused.
    page.goto(live.url + "/office/sensors")
    rows = page.locator("[data-testid=sensors] tr[data-sensor-id]")
    expect(rows).to_have_count(1)
    page.evaluate("window.__sameDocument = true")
    confirmations: list[str] = []

    def accept(dialog):
        confirmations.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    rows.first.get_by_test_id("revoke-sensor").click()
    expect(rows).to_have_count(0)
    assert len(confirmations) == 1 and "门磁 2-301" in confirmations[0]
    assert page.evaluate("window.__sameDocument === true")
    refused = subprocess.run(
        [sys.executable, str(SIMULATOR), "--url", live.url, "--token", token, "send", "door_open"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr
