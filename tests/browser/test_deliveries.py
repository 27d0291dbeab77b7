"""Deliveries in two phones at 390×844: the resident asks for groceries; the worker takes the
request, marks it on the way and delivered; the resident's page shows it delivered without a
reload (htmx polling) and the resident confirms. Screenshots in zh and en."""

from __future__ import annotations

from datetime import timedelta

from kiosk.extensions import db
from kiosk.models import ServiceRequest, utcnow
from tests import factories

from .conftest import new_page, screenshot

PHONE = {"width": 390, "height": 844}


def phone(browser, locale="zh-CN"):
    page = new_page(browser, locale=locale)
    page.set_viewport_size(PHONE)
    return page


def sign_in(page, live, username):
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def test_groceries_from_asked_to_confirmed_in_two_phones(browser, live, site, in_app):
    with in_app():
        hh = db.session.merge(site.a.household)
        hh.observation_until = utcnow() + timedelta(days=7)
        factories.user(
            "zhang", "resident", household_id=site.a.household.id, resident_id=site.a.resident.id
        )
        db.session.commit()

    resident = phone(browser)
    sign_in(resident, live, "zhang")
    resident.goto(live.url + "/me/requests")
    resident.check("input[name=kind][value=groceries]")
    resident.fill("textarea[name=note]", "大米一袋，青菜，鸡蛋")
    resident.click("[data-testid=ask] button[type=submit]")
    resident.wait_for_selector("[data-status=received]")
    screenshot(resident, "me-requests-received-zh")
    resident.evaluate("window.__sameDocument = true")  # survives only without a reload

    worker = phone(browser)
    sign_in(worker, live, "worker_a")
    worker.goto(live.url + "/worker")
    assert "丰台小区 1号楼" in worker.inner_text("[data-testid=open]")
    assert "张**" in worker.inner_text("[data-testid=open]")
    screenshot(worker, "worker-open-zh")
    worker.click("[data-testid=open] [data-testid=take]")
    worker.wait_for_selector("[data-testid=mine] [data-testid=on-the-way]")
    screenshot(worker, "worker-mine-zh")
    worker.click("[data-testid=mine] [data-testid=on-the-way]")
    worker.wait_for_selector("[data-testid=mine] [data-testid=delivered]")
    worker.click("[data-testid=mine] [data-testid=delivered]")
    worker.wait_for_load_state()
    assert worker.locator("[data-testid=mine] [data-request-id]").count() == 0

    # No reload: the resident's list refreshes itself every few seconds.
    resident.wait_for_selector("[data-status=delivered]", timeout=15_000)
    assert "worker_a" in resident.inner_text("#my-requests")
    assert resident.evaluate("window.__sameDocument") is True
    screenshot(resident, "me-requests-delivered-zh")
    resident.click("[data-testid=confirm]")
    resident.wait_for_selector("[data-status=confirmed]")
    with in_app():
        [req] = db.session.scalars(db.select(ServiceRequest)).all()
        assert req.status == "confirmed" and req.confirmed_at is not None
    assert not resident.js_errors and not worker.js_errors

    # The same pages in English.
    resident_en = phone(browser, locale="en-US")
    sign_in(resident_en, live, "zhang")
    resident_en.goto(live.url + "/me/requests")
    resident_en.wait_for_selector("[data-status=confirmed]")
    screenshot(resident_en, "me-requests-en")
    worker_en = phone(browser, locale="en-US")
    sign_in(worker_en, live, "worker_a")
    worker_en.goto(live.url + "/worker")
    assert "Deliveries" in worker_en.inner_text("h1")
    screenshot(worker_en, "worker-en")
