"""Disinfection rounds in the real browser: the office gives an area to a worker (in place, no
reload), the worker's phone marks it as theirs, the worker scans its sticker with the phone's
(fake) camera, the tick is recorded, and the overdue flag clears on the office's page."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from kiosk.extensions import db
from kiosk.models import DisinfectionRecord, PublicArea, User, utcnow
from kiosk.services import security

from .. import factories
from .conftest import new_page, screenshot
from .test_camera import camera_browser  # noqa: F401 - the fixture

PHONE = {"width": 390, "height": 844}


def sign_in(page, live, username):
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def test_a_worker_ticks_an_area_by_scanning_its_sticker(camera_browser, live, site, in_app):  # noqa: F811
    token = security.new_token(24)
    with in_app():
        area = PublicArea(
            compound_id=site.a.compound.id,
            name="1号楼 电梯",
            kind="lift",
            times_per_day=2,
            sticker_hash=security.token_hash(token),
            created_at=utcnow() - timedelta(days=3),
        )
        db.session.add(area)
        db.session.commit()
        area_id = area.id

    browser = camera_browser(f"{live.url}/worker/areas/{token}")
    office = new_page(browser)
    sign_in(office, live, "office_a")
    office.goto(live.url + "/office/disinfection")
    row = office.locator(f'tr[data-area-id="{area_id}"]')
    assert row.get_attribute("data-overdue") is not None
    # The office gives the area to the worker: the table comes back in place, no reload.
    with in_app():
        worker_id = db.session.scalar(db.select(User.id).where(User.username == "worker_a"))
    office.evaluate("window.__sameDocument = true")
    row.locator("select[name=worker_id]").select_option(label="worker_a")
    row.locator("[data-testid=area-worker] button").click()
    expect(row.locator("select[name=worker_id]")).to_have_value(str(worker_id))
    expect(row.locator("select[name=worker_id] option[selected]")).to_have_count(1)
    assert office.evaluate("window.__sameDocument === true")

    phone = new_page(browser)
    phone.set_viewport_size(PHONE)
    phone.context.grant_permissions(["camera"], origin=live.url)
    sign_in(phone, live, "worker_a")
    phone.goto(live.url + "/worker/areas")
    assert phone.locator(f'li[data-area-id="{area_id}"][data-overdue]').count() == 1
    assert phone.locator(f'li[data-area-id="{area_id}"] [data-testid=area-mine]').count() == 1
    phone.click("[data-testid=scan-sticker]")
    phone.wait_for_url("**/worker/areas", timeout=30_000)
    phone.locator(".flash, [role=status], .success").first.wait_for(timeout=30_000)
    phone.wait_for_function(
        "sel => !document.querySelector(sel)", arg=f'li[data-area-id="{area_id}"][data-overdue]'
    )
    screenshot(phone, "worker-area-ticked-zh")
    with in_app():
        records = db.session.scalars(db.select(DisinfectionRecord)).all()
        assert [r.area_id for r in records] == [area_id]

    office.reload()
    assert office.locator(f'tr[data-area-id="{area_id}"]').get_attribute("data-overdue") is None
    screenshot(office, "office-disinfection-cleared-zh")
