"""Visitors at the gate: registered by the guard on the tablet, or on their own phone beforehand.

What the guard and the visitor see, and the rows the database keeps.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from playwright.sync_api import expect as _expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AccessEvent, RiskArea, Visit, utcnow

from .conftest import enrol_and_sign_in, new_page, screenshot

# This file's own expect(), as patient as the page's actions (10 s, conftest.new_page): the
# default 5 s is short for a shared two-core machine. The global default is left alone.
expect = type(_expect)()
expect.set_options(timeout=10_000)


@pytest.fixture(autouse=True)
def _results_stay_until_dismissed(live_app, monkeypatch):
    """A result screen clears itself after a few seconds (test_wedge checks that); here it stays
    until the guard taps "Next", so what is read off it cannot vanish on a slow machine."""
    monkeypatch.setitem(live_app.config, "GATE_RESULT_SECONDS", 120)


@pytest.fixture
def risk_area(site, in_app):
    with in_app():
        area = RiskArea(
            community_id=site.a.community.id,
            name="新发地批发市场",
            level="high",
            since=utcnow() - timedelta(days=3),
        )
        db.session.add(area)
        db.session.commit()
        return area.id


def open_visitor_sheet(page):
    page.get_by_role("button", name="访客", exact=True).click()
    form = page.locator("#sheet #visitor-form")
    expect(form).to_be_visible()
    return form


def fill_visitor(
    scope,
    site,
    name="李四光",
    phone="138 0013 8000",
    health="green",
    temperature=None,
    risk_area_id=None,
):
    scope.locator("input[name=name]").fill(name)
    scope.locator("input[name=phone]").fill(phone)
    scope.locator("select[name=host_household_id]").select_option(str(site.a.household.id))
    scope.locator("input[name=purpose][value=visit]").check()
    scope.locator(f"input[name=health_code][value={health}]").check()
    if risk_area_id is not None:
        scope.locator(f"input[name=risk_area_ids][value='{risk_area_id}']").check()
    if temperature is not None:
        scope.locator("input[name=temperature]").fill(temperature)


def result_of(page):
    result = page.locator("#result [data-decision]")
    result.wait_for()
    return result


def dismiss(page):
    page.locator("#result [data-action=dismiss]").click()
    expect(page.locator("#result")).to_be_empty()


def test_visitor_registered_at_the_gate_is_allowed_then_checked_out(page, live, site, in_app):
    enrol_and_sign_in(page, live, site)
    form = open_visitor_sheet(page)
    expect(form.locator("h2")).to_have_text("访客登记")
    # No risk areas yet: the form says so instead of an empty list.
    expect(form).to_contain_text("目前没有列出风险地区。")
    fill_visitor(form, site, temperature="36.6")
    form.get_by_role("button", name="核验访客").click()

    result = result_of(page)
    assert result.get_attribute("data-decision") == "allow"
    assert result.get_attribute("data-reasons") == ""
    expect(result.locator(".verdict")).to_have_text("放行")
    expect(result.locator(".holder .name")).to_have_text("李**")
    expect(result.locator(".holder .kind")).to_have_text("访客")
    expect(page.locator("#sheet")).to_be_empty()  # the sheet closed itself
    screenshot(page, "visitor-gate-allow-zh")

    with in_app():
        visit = db.session.scalars(select(Visit)).one()
        assert (visit.name, visit.status, visit.via, visit.decision) == (
            "李四光",
            "inside",
            "gate",
            "allow",
        )
        assert visit.phone_last4 == "8000" and visit.temperature == 36.6
        assert visit.host_household_id == site.a.household.id and visit.purpose == "visit"
        event = db.session.scalars(select(AccessEvent)).one()
        assert (
            event.visit_id,
            event.decision,
            event.direction,
            event.user_id,
            event.temperature,
        ) == (
            visit.id,
            "allow",
            "in",
            site.a.guard.id,
            36.6,
        )
        visit_id = visit.id

    dismiss(page)
    page.get_by_role("button", name="在内访客", exact=True).click()
    sheet = page.locator("#sheet #visitors-inside")
    expect(sheet.locator("h2")).to_have_text("在内访客")
    row = sheet.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text("李**")
    expect(row).to_contain_text("1号楼")
    expect(row).to_contain_text("探访")
    expect(row).not_to_contain_text("李四光")  # the full name is never shown
    screenshot(page, "visitors-inside-one-zh")
    row.get_by_role("button", name="已离开").click()
    expect(sheet.locator("tbody tr")).to_have_count(0)

    with in_app():
        visit = db.session.get(Visit, visit_id)
        assert visit.status == "left" and visit.checked_out_at is not None
        out = db.session.scalars(select(AccessEvent).where(AccessEvent.direction == "out")).one()
        assert (out.visit_id, out.decision, out.user_id) == (visit_id, "allow", site.a.guard.id)


@pytest.mark.parametrize("case", ["red_code", "risk_area"])
def test_visitor_with_red_code_or_risk_area_is_denied(page, live, site, in_app, risk_area, case):
    enrol_and_sign_in(page, live, site)
    form = open_visitor_sheet(page)
    expect(form.locator("label.choice", has_text="新发地批发市场")).to_contain_text("高风险")
    if case == "red_code":
        fill_visitor(form, site, health="red", temperature="36.4")
        reason, text = "health_code_red", "健康码为红码"
    else:
        fill_visitor(form, site, temperature="36.4", risk_area_id=risk_area)
        reason, text = "risk_area_visit", "近期到过风险地区"
    form.get_by_role("button", name="核验访客").click()

    result = result_of(page)
    assert result.get_attribute("data-decision") == "deny"
    assert result.get_attribute("data-reasons") == reason
    expect(result.locator(".verdict")).to_have_text("禁止")
    expect(result.locator(f".reasons li[data-code={reason}]")).to_have_text(text)
    expect(page.locator("#sheet")).to_be_empty()
    if case == "red_code":
        screenshot(page, "visitor-gate-deny-red-zh")

    with in_app():
        visit = db.session.scalars(select(Visit)).one()
        assert (visit.status, visit.decision, visit.reasons) == ("denied", "deny", reason)
        assert visit.risk_area_ids == (str(risk_area) if case == "risk_area" else "")
        event = db.session.scalars(select(AccessEvent)).one()
        assert (event.visit_id, event.decision, event.reasons) == (visit.id, "deny", reason)

    # Nobody denied is listed as inside.
    dismiss(page)
    page.get_by_role("button", name="在内访客", exact=True).click()
    expect(page.locator("#visitors-inside .empty")).to_have_text("目前没有访客在内。")


def test_visitor_form_error_keeps_the_sheet_and_what_was_typed(page, live, site, in_app):
    enrol_and_sign_in(page, live, site)
    form = open_visitor_sheet(page)
    fill_visitor(form, site, name="王五", phone="12", temperature="36.5")
    form.get_by_role("button", name="核验访客").click()

    error = page.locator("#sheet #visitor-form .error")
    expect(error).to_be_visible()
    assert error.get_attribute("data-field") == "phone"
    expect(error).to_have_text("电话号码无效。")
    form = page.locator("#sheet #visitor-form")
    expect(form.locator("input[name=name]")).to_have_value("王五")
    expect(form.locator("input[name=phone]")).to_have_value("12")
    expect(form.locator("select[name=host_household_id]")).to_have_value(str(site.a.household.id))
    expect(form.locator("input[name=health_code][value=green]")).to_be_checked()
    expect(form.locator("input[name=temperature]")).to_have_value("36.5")
    expect(page.locator("#result")).to_be_empty()  # nothing was decided
    screenshot(page, "visitor-form-error-zh")

    # Without the browser's own check for a missing phone, the server still says what is wrong.
    page.evaluate(
        "document.querySelector('#visitor-form input[name=phone]').removeAttribute('required')"
    )
    form.locator("input[name=phone]").fill("")
    form.get_by_role("button", name="核验访客").click()
    expect(page.locator("#sheet #visitor-form .error")).to_have_attribute("data-field", "phone")
    expect(page.locator("#sheet #visitor-form input[name=name]")).to_have_value("王五")

    # Corrected, it goes through.
    page.locator("#sheet #visitor-form input[name=phone]").fill("13912345678")
    page.locator("#sheet #visitor-form").get_by_role("button", name="核验访客").click()
    assert result_of(page).get_attribute("data-decision") == "allow"
    with in_app():
        assert db.session.scalars(select(Visit.name)).all() == ["王五"]
        assert len(db.session.scalars(select(AccessEvent)).all()) == 1


def test_self_registered_visitor_code_scans_once_at_the_gate(browser, page, live, site, in_app):
    import zxingcpp
    from PIL import Image

    phone = new_page(browser, locale="zh-CN")
    phone.set_viewport_size({"width": 390, "height": 844})
    try:
        phone.goto(f"{live.url}/visit/{site.a.compound.public_slug}")
        expect(phone.locator("h1")).to_have_text("访客登记 · 丰台小区")
        fill_visitor(phone.locator("main form"), site, name="赵六", phone="+86 137 0000 1234")
        phone.get_by_role("button", name="获取访客码").click()

        qr = phone.locator("[data-testid=visitor-qr]")
        expect(qr.locator("svg")).to_be_visible()
        expect(phone.locator("h1")).to_have_text("您的访客码")
        code = qr.get_attribute("data-code")
        assert code.startswith("K1V:")
        expect(phone.locator(".code-text code")).to_have_text(code)
        expect(phone.locator("main")).to_contain_text("赵*")
        expect(phone.locator(".warning")).to_have_count(0)  # nothing will stop this visitor
        screenshot(phone, "visit-code-phone-zh")

        image = Image.open(io.BytesIO(qr.screenshot()))
        decoded = zxingcpp.read_barcodes(image)
        assert [(b.format, b.text) for b in decoded] == [(zxingcpp.BarcodeFormat.QRCode, code)]
        assert not phone.js_errors, phone.js_errors
    finally:
        phone.context.close()

    with in_app():
        visit = db.session.scalars(select(Visit)).one()
        assert (visit.via, visit.status, visit.name, visit.phone_last4) == (
            "self",
            "registered",
            "赵六",
            "1234",
        )
        visit_id = visit.id

    enrol_and_sign_in(page, live, site)
    expect(page.locator("#wedge")).to_be_focused()
    keypad = page.locator("#keypad")

    def scan_with_temperature():
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(keypad).to_be_visible()
        for key in "36.5":
            keypad.locator(f"[data-key='{key}']").click()
        expect(page.locator("[data-testid=keypad-display]")).to_have_text("36.5")
        keypad.locator("[data-action=keypad-ok]").click()
        expect(keypad).to_be_hidden()
        return result_of(page)

    result = scan_with_temperature()
    assert result.get_attribute("data-decision") == "allow"
    expect(result.locator(".holder .name")).to_have_text("赵*")
    with in_app():
        visit = db.session.get(Visit, visit_id)
        assert (visit.status, visit.temperature, visit.gate_id) == ("inside", 36.5, site.a.gate.id)
        event = db.session.scalars(select(AccessEvent)).one()
        assert (event.visit_id, event.decision, event.temperature) == (visit_id, "allow", 36.5)

    dismiss(page)
    expect(page.locator("#wedge")).to_be_focused()
    result = scan_with_temperature()
    assert result.get_attribute("data-decision") == "deny"
    assert result.get_attribute("data-reasons") == "visitor_code_used"
    expect(result.locator(".reasons")).to_contain_text("此访客码已使用或不是今天的")
    with in_app():
        assert db.session.get(Visit, visit_id).status == "inside"
        events = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id)).all()
        assert [(e.visit_id, e.decision, e.reasons) for e in events] == [
            (visit_id, "allow", ""),
            (visit_id, "deny", "visitor_code_used"),
        ]
