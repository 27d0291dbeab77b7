"""Joining with a slip and "My pass" on a phone (390×844): the office prints a slip, the resident
opens its QR link, joins and lands on /me; the QR read from a screenshot (zxing-cpp) scans as
allow at the gate API; the code changes on screen without a reload; the sentence follows an
in-only building and home observation; care mode. Screenshots in zh and en."""

from __future__ import annotations

import io
import json
import urllib.request
from datetime import timedelta

import zxingcpp
from PIL import Image
from playwright.sync_api import expect as _expect

from kiosk.extensions import db
from kiosk.models import Building, Household, User, utcnow
from tests import factories

from .conftest import new_page, screenshot

PHONE = {"width": 390, "height": 844}
STEP = 5  # a short rotation step, so the test sees the code change
expect = type(_expect)()
expect.set_options(timeout=15_000)


def phone(browser, locale="zh-CN"):
    page = new_page(browser, locale=locale)
    page.set_viewport_size(PHONE)
    return page


def sign_in(page, live, username, password=factories.PASSWORD):
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def scan(live, token: str, code: str, direction="in", temperature=36.6) -> dict:
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


def qr_text(page) -> str:
    shot = page.locator(".me-qr").screenshot()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert len(decoded) == 1, decoded
    return decoded[0].text


def test_join_with_a_slip_and_show_a_live_pass(browser, live, live_app, site, in_app):
    step_before = live_app.config["PASS_STEP_SECONDS"]
    live_app.config["PASS_STEP_SECONDS"] = STEP
    try:
        _the_flow(browser, live, site, in_app)
    finally:
        live_app.config["PASS_STEP_SECONDS"] = step_before


def _the_flow(browser, live, site, in_app):
    # The office prints the household's joining slip.
    office = new_page(browser)
    sign_in(office, live, "office_a")
    office.goto(f"{live.url}/office/households/{site.a.household.id}")
    office.click("[data-testid=joining-slip] button")
    slip = office.locator("[data-testid=slip]")
    expect(slip).to_have_count(1)
    code = slip.get_attribute("data-code")
    assert len(code) == 10
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(slip.locator(".qr").screenshot())))
    assert [b.text for b in decoded] == [f"{live.url}/join#{code}"]
    screenshot(office, "office-joining-slip-zh")
    office.context.close()

    # The resident opens the slip's QR link: join.js fills in the code and goes on.
    resident = phone(browser)
    resident.goto(f"{live.url}/join#{code}")
    expect(resident.locator("input[name=resident_id]")).to_have_count(1)
    assert "#" not in resident.url  # the code left the address bar
    expect(resident.locator("main")).to_contain_text("张**")
    expect(resident.locator("main")).not_to_contain_text("张三丰")
    screenshot(resident, "join-who-zh")
    resident.fill("input[name=username]", "zhang_phone")
    resident.fill("input[name=password]", "a-long-password")
    resident.click("main form button[type=submit]")
    resident.wait_for_url("**/me")
    with in_app():
        user = db.session.scalar(db.select(User).where(User.username == "zhang_phone"))
        assert user.resident_id == site.a.resident.id

    # The QR on the screen scans as allow at the gate.
    expect(resident.locator(".me-qr svg")).to_be_visible()
    expect(resident.locator("[data-clock]")).not_to_be_empty()
    expect(resident.locator("[data-testid=rule]")).to_have_attribute("data-may-out", "yes")
    screenshot(resident, "me-pass-zh")
    first = qr_text(resident)
    assert first.startswith("K1R:")
    answer = scan(live, site.a.device_token, first, "out", None)
    assert answer["decision"] == "allow", answer

    # The code changes on screen without a reload.
    resident.evaluate("window.__samePage = true")
    first_id = resident.locator(".me-qr").get_attribute("data-code-id")
    expect(resident.locator(".me-qr")).not_to_have_attribute(
        "data-code-id", first_id, timeout=(STEP + 5) * 1000
    )
    assert resident.evaluate("window.__samePage === true")
    second = qr_text(resident)
    assert second != first
    assert scan(live, site.a.device_token, second, "in")["decision"] == "allow"

    # The building becomes in-only: the sentence says so at the next refresh.
    with in_app():
        building = db.session.get(Building, site.a.building.id)
        building.seal_state = "in_only"
        building.seal_changed_at = utcnow()
        db.session.commit()
    rule = resident.locator("[data-testid=rule]")
    expect(rule).to_have_attribute("data-may-out", "no")
    expect(rule).to_contain_text("1号楼")
    assert resident.evaluate("window.__samePage === true")
    screenshot(resident, "me-pass-in-only-zh")
    assert scan(live, site.a.device_token, qr_text(resident), "out", None)["decision"] == "deny"

    # The same in English, then home observation.
    english = phone(browser, locale="en-US")
    sign_in(english, live, "zhang_phone", "a-long-password")
    english.wait_for_url("**/me")
    expect(english.locator("[data-testid=rule]")).to_contain_text("is in-only")
    screenshot(english, "me-pass-in-only-en")
    with in_app():
        building = db.session.get(Building, site.a.building.id)
        building.seal_state = "open"
        household = db.session.get(Household, site.a.household.id)
        household.observation_until = utcnow() + timedelta(days=14)
        db.session.commit()
    expect(english.locator("[data-testid=rule]")).to_contain_text("home observation")
    expect(english.locator("[data-testid=rule]")).to_have_attribute("data-may-out", "no")
    screenshot(english, "me-pass-observation-en")
    expect(rule).to_have_attribute("data-may-in", "yes")
    screenshot(resident, "me-pass-observation-zh")

    # Care mode: larger type, no history; remembered on the other phone too.
    resident.click("[data-testid=care-mode] button")
    resident.wait_for_url("**/me")
    expect(resident.locator("body")).to_have_class("phone care")
    expect(resident.locator("[data-testid=passages]")).to_have_count(0)
    screenshot(resident, "me-care-zh")
    english.reload()
    expect(english.locator("body")).to_have_class("phone care")
    screenshot(english, "me-care-en")
    english.click("[data-testid=care-mode] button")
    english.wait_for_url("**/me")
    expect(english.locator("[data-testid=passages]")).to_be_visible()
    screenshot(english, "me-pass-en")

    # The joining page in English, for the record.
    english.goto(live.url + "/join")
    screenshot(english, "join-code-en")
    for page in (resident, english):
        assert not page.js_errors, page.js_errors
    resident.context.close()
    english.context.close()
