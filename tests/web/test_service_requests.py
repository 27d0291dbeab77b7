"""A resident's deliveries page (/me/requests): asking, refused with the reason, following the
steps, confirming, cancelling, announcing before opening the door; only their own household."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.contract.deliveries import ServiceRequestCreate
from kiosk.extensions import db
from kiosk.models import AuditEntry, DoorAnnouncement, ServiceRequest, utcnow
from kiosk.services import announcements, deliveries
from tests import factories

from .conftest import Browser


def joined(site, name="resident_x", resident=None):
    """A joined resident of the site's household (the joining flow is another page's)."""
    res = resident or site.resident
    return factories.user(name, "resident", household_id=site.household.id, resident_id=res.id)


@pytest.fixture
def observed(sqlite_app, sworld):
    """Household a under home observation, with a joined resident signed in (English)."""
    sworld.a.household.observation_until = utcnow() + timedelta(days=3)
    user = joined(sworld.a)
    db.session.commit()
    return Browser(sqlite_app, lang="en").sign_in(user)


def requests_of(household_id):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.household_id == household_id)
            .order_by(ServiceRequest.id)
        )
    )


def test_the_page_and_its_polled_fragment(observed):
    r = observed.get("/me/requests")
    assert r.status_code == 200 and "<h1>Deliveries and services</h1>" in r.text
    assert 'hx-trigger="every 5s"' in r.text and "Bottled water" in r.text
    assert "Before opening your door" in r.text
    r = observed.get("/me/requests", htmx=True)
    assert r.status_code == 200 and "<html" not in r.text and 'id="my-requests"' in r.text
    assert "HX-Request" in r.headers["Vary"]


def test_the_page_is_chinese_by_default(sqlite_app, sworld):
    sworld.a.household.observation_until = utcnow() + timedelta(days=3)
    user = joined(sworld.a)
    db.session.commit()
    r = Browser(sqlite_app).sign_in(user).get("/me/requests")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text


def test_ask_follow_and_confirm(observed, sworld):
    r = observed.post("/me/requests", {"kind": "groceries", "note": "蔬菜 鸡蛋"})
    assert r.status_code == 303 and r.headers["Location"] == "/me/requests"
    [req] = requests_of(sworld.a.household.id)
    assert (req.kind, req.status, req.note) == ("groceries", "received", "蔬菜 鸡蛋")
    assert req.community_id == sworld.a.community.id
    page = observed.get("/me/requests").text
    assert f'data-request-id="{req.id}"' in page and "Cancel" in page and "Received it" not in page
    for step in ("take", "on_the_way", "delivered"):
        deliveries.advance(sworld.worker, req.id, step)
    page = observed.get("/me/requests", htmx=True).text
    assert 'data-status="delivered"' in page and "Taken by worker_a" in page
    assert "Received it" in page
    r = observed.post(f"/me/requests/{req.id}/confirm")
    assert r.status_code == 303
    [req] = requests_of(sworld.a.household.id)
    assert req.status == "confirmed" and req.confirmed_at is not None
    r = observed.post(f"/me/requests/{req.id}/confirm", follow_redirects=True)
    assert "This request has already been confirmed." in r.text


def test_every_field_error_at_once_and_what_was_typed_is_kept(observed, sworld):
    r = observed.post("/me/requests", {"kind": "medicine"})
    assert r.status_code == 200 and 'data-field="note"' in r.text
    assert "which medicine" in r.text
    r = observed.post("/me/requests", {"kind": "pizza", "note": "x" * 301})
    assert r.status_code == 200
    assert 'data-field="kind"' in r.text and 'data-field="note"' in r.text
    assert 'value="x' not in r.text and "x" * 301 in r.text  # the note as typed, in its box
    assert requests_of(sworld.a.household.id) == []


def test_refused_with_the_reason_when_neither_observed_nor_allowed(sqlite_app, sworld):
    user = joined(sworld.a)
    db.session.commit()
    browser = Browser(sqlite_app, lang="en").sign_in(user)
    page = browser.get("/me/requests").text
    assert 'data-testid="not-allowed"' in page and "Send the request" not in page
    assert "Before opening your door" not in page
    r = browser.post("/me/requests", {"kind": "water"})
    assert r.status_code == 200 and "Deliveries are for households under home observation" in r.text
    assert requests_of(sworld.a.household.id) == []
    # The office allows it: now the household may ask.
    sworld.a.household.services_allowed = True
    db.session.commit()
    assert browser.post("/me/requests", {"kind": "water"}).status_code == 303
    assert len(requests_of(sworld.a.household.id)) == 1


def test_at_most_five_waiting_requests(observed, sworld):
    for _ in range(5):
        assert observed.post("/me/requests", {"kind": "water"}).status_code == 303
    r = observed.post("/me/requests", {"kind": "water"})
    assert r.status_code == 200 and "5 requests still waiting" in r.text
    assert len(requests_of(sworld.a.household.id)) == 5


def test_cancel_only_while_received(observed, sworld):
    observed.post("/me/requests", {"kind": "rubbish"})
    observed.post("/me/requests", {"kind": "parcel"})
    first, second = requests_of(sworld.a.household.id)
    assert observed.post(f"/me/requests/{first.id}/cancel").status_code == 303
    deliveries.advance(sworld.worker, second.id, "take")
    r = observed.post(f"/me/requests/{second.id}/cancel", follow_redirects=True)
    assert "can no longer be cancelled" in r.text
    first, second = requests_of(sworld.a.household.id)
    assert (first.status, second.status) == ("cancelled", "taken")
    assert first.cancelled_at is not None


def test_another_households_request_is_not_found_with_every_id(observed, sqlite_app, sworld):
    other = joined(sworld.b, "resident_b")
    sworld.b.household.services_allowed = True
    db.session.commit()
    theirs = deliveries.create(other, ServiceRequestCreate(kind="water")).request.id
    for rid in (theirs, 999999, 2**31 - 1, 2**31, 10**20):
        for action in ("confirm", "cancel"):
            r = observed.post(f"/me/requests/{rid}/{action}")
            assert r.status_code == 404, (rid, action, r.status_code)
    assert requests_of(sworld.b.household.id)[0].status == "received"
    assert f'data-request-id="{theirs}"' not in observed.get("/me/requests").text


def test_announce_before_opening_the_door(observed, sworld):
    r = observed.post("/me/announcements", {"kind": "rubbish", "minutes": "15"})
    assert r.status_code == 303
    [row] = db.session.scalars(select(DoorAnnouncement)).all()
    assert row.household_id == sworld.a.household.id and row.kind == "rubbish"
    assert timedelta(minutes=15) == row.ends_at - row.starts_at
    page = observed.get("/me/requests").text
    assert 'data-testid="announcement"' in page and "Putting out rubbish" in page
    now = utcnow()
    assert announcements.active(sworld.a.household.id, now).id == row.id
    assert announcements.active(sworld.a.household.id, now + timedelta(minutes=16)) is None
    assert announcements.active(sworld.b.household.id, now) is None


@pytest.mark.parametrize("minutes", ["0", "31", "abc", "²", "10.5"])
def test_an_announcement_window_is_1_to_30_minutes(observed, minutes):
    r = observed.post("/me/announcements", {"kind": "delivery", "minutes": minutes})
    assert r.status_code == 200 and 'data-field="minutes"' in r.text
    assert db.session.scalars(select(DoorAnnouncement)).all() == []


def test_only_a_household_under_observation_announces(sqlite_app, sworld):
    sworld.a.household.services_allowed = True
    user = joined(sworld.a)
    db.session.commit()
    browser = Browser(sqlite_app, lang="en").sign_in(user)
    r = browser.post("/me/announcements", {"kind": "delivery"})
    assert r.status_code == 200 and "Only a household under home observation" in r.text
    assert db.session.scalars(select(DoorAnnouncement)).all() == []


def test_the_office_allows_and_stops_deliveries_audited(soffice, sworld):
    hid = sworld.a.household.id
    page = soffice.get(f"/office/households/{hid}").text
    assert 'data-testid="services-allowed"' in page
    r = soffice.post(f"/office/households/{hid}/services", {"allowed": "true"})
    assert r.status_code == 303 and r.headers["Location"] == f"/office/households/{hid}"
    db.session.expire_all()
    assert sworld.a.household.services_allowed is True
    soffice.post(f"/office/households/{hid}/services", {"allowed": "false"})
    db.session.expire_all()
    assert sworld.a.household.services_allowed is False
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "household.services")
    ).all()
    assert len(actions) == 2
    # Another community's household: not found.
    r = soffice.post(f"/office/households/{sworld.b.household.id}/services", {"allowed": "true"})
    assert r.status_code == 404
    r = soffice.post(f"/office/households/{hid}/services", {"allowed": "maybe"})
    assert r.status_code == 422


def test_the_office_list_of_open_requests(soffice, sworld):
    sworld.a.household.services_allowed = True
    sworld.b.household.services_allowed = True
    mine = joined(sworld.a)
    theirs = joined(sworld.b, "resident_b")
    db.session.commit()
    deliveries.create(mine, ServiceRequestCreate(kind="groceries", note="米"))
    deliveries.create(theirs, ServiceRequestCreate(kind="water", note="樱桃的水"))
    r = soffice.get("/office/requests", lang="en")
    assert r.status_code == 200 and "<h1>Deliveries</h1>" in r.text
    assert "米" in r.text and "樱桃的水" not in r.text
    assert "张三丰" not in r.text
