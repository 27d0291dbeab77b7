"""A visitor invitation in two phones at 390×844: the resident invites a visitor and copies the
share link; the visitor opens it in another browser, declares the health code and gets the
code; the code read from the screen (decoded with zxing-cpp) scans at the gate API and the
visit is logged against the household; the resident sees the arrival. Screenshots in zh and
en."""

from __future__ import annotations

import io
import json
import urllib.request

import zxingcpp
from PIL import Image
from playwright.sync_api import expect as _expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AccessEvent, Visit
from tests import factories

from .conftest import new_page, screenshot

PHONE = {"width": 390, "height": 844}
expect = type(_expect)()
expect.set_options(timeout=10_000)


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


def scan(live, token: str, code: str, direction="in", temperature=36.6) -> dict:
    """The gate device's scan through the API of the live server."""
    body = {"code": code, "direction": direction}
    if temperature is not None:
        body["temperature"] = temperature
    request = urllib.request.Request(
        live.url + "/api/v1/scans",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def invite(page, name="李四光"):
    page.fill("input[name=name]", name)
    page.fill("input[name=phone]", "139 1234 5678")
    page.check("input[name=purpose][value=visit]")
    page.click(".invite-form button[type=submit]")
    link = page.locator("[data-testid=share-link]")
    expect(link).to_be_visible()
    return link.input_value()


def test_an_invitation_shared_and_scanned_at_the_gate_logs_a_visit(browser, live, site, in_app):
    with in_app():
        factories.user(
            "li", "resident", household_id=site.a.household.id, resident_id=site.a.resident.id
        )
        db.session.commit()

    resident = phone(browser)
    sign_in(resident, live, "li")
    resident.goto(live.url + "/me/invitations")
    expect(resident.locator("h1")).to_be_visible()
    link = invite(resident)
    assert link.startswith(live.url + "/v/")
    expect(resident.locator("[data-testid=share-qr] svg")).to_be_visible()
    expect(resident.locator(".invitation[data-status=waiting]")).to_have_count(1)
    resident.click("[data-copy]")  # copies the link (share.js); no error on plain http
    screenshot(resident, "me-invitations-created-zh")

    visitor = phone(browser)
    try:
        visitor.goto(link)
        expect(visitor.locator("[data-testid=invite-facts]")).to_contain_text("李**")
        expect(visitor.locator("main")).not_to_contain_text("李四光")
        expect(visitor.locator("main")).not_to_contain_text("301")
        visitor.check("input[name=health_code][value=green]")
        screenshot(visitor, "invitation-declare-zh")
        visitor.click("main form button[type=submit]")
        qr = visitor.locator("[data-testid=visitor-qr]")
        expect(qr.locator("svg")).to_be_visible()
        code = qr.get_attribute("data-code")
        assert code.startswith("K1V:")
        screenshot(visitor, "invitation-code-zh")
        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
        assert [b.text for b in decoded] == [code]
        assert not visitor.js_errors, visitor.js_errors
    finally:
        visitor.context.close()

    answer = scan(live, site.a.device_token, decoded[0].text)
    assert answer["decision"] == "allow", answer
    with in_app():
        visit = db.session.scalars(select(Visit)).one()
        assert (visit.via, visit.status, visit.host_household_id) == (
            "inv",
            "inside",
            site.a.household.id,
        )
        event = db.session.scalars(select(AccessEvent)).one()
        assert (event.visit_id, event.decision, event.temperature) == (visit.id, "allow", 36.6)

    resident.goto(live.url + "/me/invitations")
    expect(resident.locator(".invitation[data-status=arrived]")).to_have_count(1)
    screenshot(resident, "me-invitations-arrived-zh")
    assert not resident.js_errors, resident.js_errors
    resident.context.close()

    # The same pages in English; a second invitation, then cancelled.
    resident_en = phone(browser, locale="en-US")
    sign_in(resident_en, live, "li")
    resident_en.goto(live.url + "/me/invitations")
    link = invite(resident_en, name="Wang Wu")
    screenshot(resident_en, "me-invitations-created-en")
    resident_en.once("dialog", lambda dialog: dialog.accept())
    resident_en.locator(".invitation[data-status=waiting] button[type=submit]").click()
    expect(resident_en.locator(".invitation[data-status=cancelled]")).to_have_count(1)
    screenshot(resident_en, "me-invitations-cancelled-en")
    visitor_en = phone(browser, locale="en-US")
    visitor_en.goto(link)
    expect(visitor_en.locator("[data-status=cancelled]")).to_be_visible()
    screenshot(visitor_en, "invitation-cancelled-en")
    assert not resident_en.js_errors and not visitor_en.js_errors
    resident_en.context.close()
    visitor_en.context.close()
