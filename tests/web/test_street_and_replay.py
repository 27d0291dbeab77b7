"""Street users on the office pages, and the guard's screen for a repeated visitor request."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import RiskArea
from kiosk.services import passes
from tests.helpers import ApiClient

from .conftest import Browser, attr


def test_street_user_chooses_the_community_of_a_new_risk_area(app, world):
    street = Browser(app).sign_in(world.street_user)
    page = street.get("/office/risk-areas")
    assert page.status_code == 200
    assert world.a.community.name in page.text and world.b.community.name in page.text
    r = street.post(
        "/office/risk-areas",
        {
            "community_id": str(world.b.community.id),
            "name": "新发地市场",
            "level": "high",
            "since": "2020-05-30",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "新发地市场" in r.text
    area = db.session.scalars(select(RiskArea)).one()
    assert area.community_id == world.b.community.id


def test_office_user_sees_no_community_chooser(app, world):
    page = Browser(app).sign_in(world.a.office).get("/office/risk-areas")
    assert 'name="community_id"' not in page.text


def test_a_repeated_visitor_request_still_shows_the_masked_name(app, world):
    tablet = Browser(app, world.a.device_token).sign_in(world.a.guard)
    form = {
        "name": "李小龙",
        "phone": "13800001234",
        "host_household_id": str(world.a.household.id),
        "purpose": "delivery",
        "health_code": "green",
        "temperature": "36.4",
        "request_id": "visit-1",
    }
    first = tablet.post("/gate/visitors", form, htmx=True)
    again = tablet.post("/gate/visitors", form, htmx=True)
    assert attr(first, "data-event-id") == attr(again, "data-event-id")
    assert "李**" in again.text and "李小龙" not in again.text


def test_a_phone_code_queued_during_an_outage_is_judged_by_when_it_was_read(app, world):
    """A tablet that could not reach the server sends the scan later with the reading time."""
    import time

    from kiosk.services.passes import code_for

    tablet = Browser(app, world.a.device_token).sign_in(world.a.guard)
    read_at = time.time() - 5 * 60  # the code was shown five minutes ago, then the network failed
    old_code = code_for(world.a.pass_, read_at)
    late = tablet.scan(old_code, request_id="late-1")
    assert attr(late, "data-decision") == "deny" and attr(late, "data-reasons") == "invalid_code"
    queued = tablet.post(
        "/gate/scan",
        {
            "code": old_code,
            "direction": "in",
            "temperature": "36.5",
            "request_id": "late-2",
            "scanned_at": str(int(read_at * 1000)),
        },
        htmx=True,
    )
    assert attr(queued, "data-decision") == "allow"
    # An hour-old reading is outside the bound: a screenshot stays useless.
    hour_ago = time.time() - 3600
    stale = tablet.post(
        "/gate/scan",
        {
            "code": code_for(world.a.pass_, hour_ago),
            "direction": "out",
            "request_id": "late-3",
            "scanned_at": str(int(hour_ago * 1000)),
        },
        htmx=True,
    )
    assert attr(stale, "data-reasons") == "invalid_code"


def test_another_compounds_pass_shows_nothing_of_its_holder_even_when_replayed(app, world):
    """A gate learns only ``other_compound``: no masked name, building or unit, on the first
    answer or on the answer to a repeated request id (the API and the tablet alike)."""
    code = passes.code_for(world.b.pass_)
    tablet = Browser(app, world.a.device_token).sign_in(world.a.guard)
    form = {"code": code, "direction": "in", "temperature": "36.5", "request_id": "r-1"}
    first = tablet.post("/gate/scan", form, htmx=True)
    again = tablet.post("/gate/scan", form, htmx=True)
    assert attr(first, "data-event-id") == attr(again, "data-event-id")
    for page in (first, again):
        assert 'class="holder"' not in page.text and "张**" not in page.text
        assert "1号楼" not in page.text

    device = ApiClient(app.test_client()).as_device(world.a.device_token)
    body = {"code": code, "direction": "in", "temperature": 36.5, "request_id": "r-2"}
    answers = [device.post("/api/v1/scans", json=body).get_json() for _ in range(2)]
    assert [a["replayed"] for a in answers] == [False, True]
    for a in answers:
        assert [r["code"] for r in a["reasons"]] == ["other_compound"]
        assert a["holder"] is None
