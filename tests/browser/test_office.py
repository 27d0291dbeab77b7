"""The community office's pages, driven as the office would: tablets, guards' PINs, risk areas,
fever alerts. Where a tablet is involved it is a second browser of its own."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect as _expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Alert, AuditEntry, Device, RiskArea, User
from kiosk.services import scan as scan_service
from kiosk.services import security
from kiosk.services.gate import GateAction
from kiosk.services.passes import code_for

from .. import factories
from ._gate import no_temperature_rule, result, scan
from .conftest import PIN, enrol_and_sign_in, new_page, screenshot

# This file's own expect(), as patient as the page's actions (10 s, conftest.new_page): the
# default 5 s is short for a shared two-core machine. The global default is left alone.
expect = type(_expect)()
expect.set_options(timeout=10_000)


def office_signs_in(page, live, site):
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", site.a.office.username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(live.url + "/")
    expect(page.locator(".flash")).to_have_text(f"已登录：{site.a.office.username}。")


def mark_page(page):
    """A flag that only survives while the page is not reloaded."""
    page.evaluate("window.__sameDocument = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


@pytest.fixture
def tablet(browser):
    p = new_page(browser)
    yield p
    errors = list(p.js_errors)
    p.context.close()
    assert not errors, errors


def test_office_enrols_a_new_tablet_that_a_guard_then_signs_in_on(page, tablet, live, site, in_app):
    office_signs_in(page, live, site)
    page.get_by_role("link", name="社区办公室").click()
    page.locator(".subnav").get_by_role("link", name="门岗平板").click()
    page.wait_for_url("**/office/devices")
    expect(page.locator("h1")).to_have_text("门岗平板")
    page.select_option("select[name=gate_id]", label="丰台小区 · 东门")
    page.fill("input[name=name]", "东门 2号平板")
    page.get_by_role("button", name="添加平板").click()

    code_box = page.locator("[data-testid=enrol-code]")
    expect(code_box).to_have_text(re.compile(r"^[A-HJKMNP-Z2-9]{8}$"))
    code = code_box.inner_text()
    expect(page.locator(".enrolment")).to_contain_text("“东门 2号平板”")
    expect(page.locator(".enrolment")).to_contain_text(live.url + "/gate/enrol")
    expect(page.locator(".enrolment .qr svg")).to_be_visible()
    new_row = page.locator("main table tr", has_text="东门 2号平板")
    expect(new_row).to_contain_text("尚未登记")
    screenshot(page, "office-enrol-code-zh")

    # The tablet: the code, then the guard's PIN, then the scan page for that gate.
    tablet.goto(live.url + "/gate")
    tablet.wait_for_url("**/gate/enrol")
    tablet.fill("input[name=code]", code.lower())  # typed in lower case: still accepted
    tablet.get_by_role("button", name="登记", exact=True).click()
    tablet.wait_for_url("**/gate/login")
    expect(tablet.locator("h1")).to_have_text("门岗登录 · 丰台小区 东门")
    tablet.fill("input[name=username]", site.a.guard.username)
    tablet.fill("input[name=pin]", PIN)
    tablet.get_by_role("button", name="开始值班").click()
    tablet.wait_for_url("**/gate")
    expect(tablet.locator("h1")).to_have_text("丰台小区 · 东门")
    expect(tablet.locator("#wedge")).to_be_focused()

    with in_app():
        device = db.session.scalars(select(Device).where(Device.name == "东门 2号平板")).one()
        assert device.gate_id == site.a.gate.id
        assert device.enrolled_at is not None and device.enrol_code_hash is None
        assert db.session.get(Device, site.a.device.id).enrolled_at is None  # the old one untouched

    # The office sees it enrolled (a GET: reloading the POST's answer would add another tablet);
    # the code cannot be used a second time.
    page.goto(live.url + "/office/devices")
    expect(new_row).not_to_contain_text("尚未登记")
    expect(new_row.locator("td").nth(2)).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    other = new_page(page.context.browser)
    try:
        other.goto(live.url + "/gate/enrol")
        other.fill("input[name=code]", code)
        other.get_by_role("button", name="登记", exact=True).click()
        expect(other.locator("main .error")).to_have_text("登记码无效，请向社区办公室索取新码。")
        assert other.url.endswith("/gate/enrol")
        assert not other.js_errors, other.js_errors
    finally:
        other.context.close()


def test_office_sets_a_guard_pin_that_works_on_the_tablet(page, tablet, live, site, in_app):
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/guards")
    expect(page.locator("h1")).to_have_text("门岗人员")
    row = page.locator("main table tr", has_text=site.a.guard.username)
    expect(row).to_contain_text("已设 PIN 码")
    # Too short: the browser's own check stops it; nothing is sent.
    row.locator("input[name=pin]").fill("12")
    row.get_by_role("button", name="设置 PIN 码").click()
    assert row.locator("input[name=pin]").evaluate("e => !e.validity.valid")
    row.locator("input[name=pin]").fill("7355")
    row.get_by_role("button", name="设置 PIN 码").click()
    expect(page.locator(".flash-success")).to_have_text(
        f"已为 {site.a.guard.username} 设置 PIN 码。"
    )
    expect(page.locator("main table tr", has_text=site.a.guard.username)).to_contain_text(
        "已设 PIN 码"
    )
    screenshot(page, "office-guard-pin-zh")
    with in_app():
        guard = db.session.get(User, site.a.guard.id)
        assert security.check_password(guard.pin_hash, "7355")
        assert not security.check_password(guard.pin_hash, PIN)

    # The old PIN no longer opens a shift; the new one does.
    tablet.goto(live.url + "/gate/enrol")
    tablet.fill("input[name=code]", site.a.extra["enrol_code"])
    tablet.get_by_role("button", name="登记", exact=True).click()
    tablet.wait_for_url("**/gate/login")
    tablet.fill("input[name=username]", site.a.guard.username)
    tablet.fill("input[name=pin]", PIN)
    tablet.get_by_role("button", name="开始值班").click()
    expect(tablet.locator("main .error")).to_have_text("用户名或 PIN 码错误，或不是本小区的门岗。")
    tablet.fill("input[name=pin]", "7355")
    tablet.get_by_role("button", name="开始值班").click()
    tablet.wait_for_url("**/gate")
    expect(tablet.locator("#wedge")).to_be_visible()


def test_office_adds_and_removes_a_risk_area(page, live, site, in_app):
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/risk-areas")
    expect(page.locator("h1")).to_have_text("风险地区")
    expect(page.locator("main table")).to_contain_text("没有列出风险地区。")
    page.fill("input[name=name]", "新发地批发市场")
    page.select_option("select[name=level]", "high")
    page.fill("input[name=since]", "2020-05-30")
    page.get_by_role("button", name="添加", exact=True).click()

    row = page.locator("main table tr", has_text="新发地批发市场")
    expect(row).to_contain_text("高风险")
    expect(row).to_contain_text("2020-05-30")
    with in_app():
        area = db.session.scalars(select(RiskArea)).one()
        assert (area.name, area.level, area.community_id, area.deleted_at) == (
            "新发地批发市场",
            "high",
            site.a.community.id,
            None,
        )
        area_id = area.id
    screenshot(page, "office-risk-area-added-zh")

    # Removing asks first; accepted, the row goes without the page being reloaded.
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    mark_page(page)
    row.get_by_role("button", name="删除").click()
    expect(row).to_have_count(0)
    assert dialogs == ["从列表中删除 新发地批发市场？"]
    assert still_same_page(page)
    with in_app():
        assert db.session.get(RiskArea, area_id).deleted_at is not None
        assert db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "risk_area")
            .order_by(AuditEntry.id)
        ).all() == ["risk_area.create", "risk_area.delete"]
    page.goto(live.url + "/office/risk-areas")  # not reload(): that would post the added area again
    expect(page.locator("main table")).not_to_contain_text("新发地批发市场")


def test_office_acknowledges_a_fever_alert(page, live, site, in_app):
    with in_app():
        action = GateAction(device_token=site.a.device_token, guard_id=site.a.guard.id)
        result = scan_service.scan(action, code_for(site.a.pass_), "in", 38.6)
        assert result.decision == "deny" and "fever" in result.reasons
        alert_id = db.session.scalars(select(Alert.id)).one()

    office_signs_in(page, live, site)
    page.goto(live.url + "/office")
    expect(page.locator("h1")).to_have_text("发热警报")
    row = page.locator(f"tr[data-alert-id='{alert_id}']")
    expect(row).to_contain_text("丰台小区 东门")
    expect(row).to_contain_text("38.6 °C")
    screenshot(page, "office-fever-alert-zh")
    mark_page(page)
    row.get_by_role("button", name="标记为已处理").click()
    expect(row).to_have_count(0)
    assert still_same_page(page)
    with in_app():
        alert = db.session.get(Alert, alert_id)
        assert alert.acknowledged_at is not None and alert.acknowledged_by_id == site.a.office.id
    page.reload()
    expect(page.locator("main table").first).to_contain_text("没有未处理的警报。")


def test_a_building_sealed_from_its_page_is_refused_at_the_tablet(
    page, browser, live, site, in_app
):
    """The office sets 1号楼 in-only on the seals page; at the gate, the resident's exit is
    refused at the next scan, with the reason."""
    no_temperature_rule(in_app, site)
    with in_app():
        code = code_for(site.a.pass_)
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/seals")
    expect(page.locator("h1")).to_have_text("封控管理")
    form = page.locator(f"#building-{site.a.building.id}")
    form.locator("select[name=seal_state]").select_option("in_only")
    form.locator("input[name=reason]").fill("确诊病例密接")
    form.get_by_role("button", name="设置").click()
    row = page.locator(f"tr[data-building-id='{site.a.building.id}']")
    expect(row).to_contain_text("只进不出 · 确诊病例密接")
    expect(row).to_contain_text("开放 → 只进不出")
    screenshot(page, "office-seals-zh")

    tablet = new_page(browser)
    enrol_and_sign_in(tablet, live, site)
    tablet.click("[data-direction=out]")
    scan(tablet, code)
    shown = result(tablet)
    assert (shown["decision"], shown["reasons"]) == ("deny", "building_in_only")
    assert "只进不出" in shown["text"]
