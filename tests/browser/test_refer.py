"""A referred scan (amber CHECK): the guard decides, with a reason, and the office sees it.

The deterministic refer: at a compound without the temperature rule, the same pass scanned "in"
twice. The first is allowed; the second finds the pass already inside (anti-passback) and is
referred to the guard. A referred result does not clear itself: it waits for the guard.
"""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry
from kiosk.services.passes import code_for

from .. import factories
from ._gate import (
    dismiss,
    events,
    no_temperature_rule,
    result,
    scan,
    wait_for_events,
)
from .conftest import enrol_and_sign_in, new_page, screenshot


def _refer(page, live, site, in_app) -> dict:
    """Sign in, scan in twice; returns the referred result, its CHECK screen shown."""
    no_temperature_rule(in_app, site)
    enrol_and_sign_in(page, live, site)
    with in_app():
        code = code_for(site.a.pass_)
    scan(page, code)
    first = result(page)
    assert first["decision"] == "allow"
    dismiss(page)
    scan(page, code)
    shown = result(page, not_event=first["eventId"])
    assert (shown["decision"], shown["reasons"]) == ("refer", "already_inside")
    assert shown["override"]
    return shown


def test_refer_then_allow_with_a_reason_is_logged_and_shown_to_the_office(
    page, browser, live, site, in_app
):
    shown = _refer(page, live, site, in_app)
    refer_id = int(shown["eventId"])
    assert "请核实" in shown["text"] and "记录显示此证已在小区内" in shown["text"]
    assert "张**" in shown["text"]
    form = page.locator("#result form.override")
    assert "放行理由" in form.inner_text()
    screenshot(page, "gate-refer-zh")

    form.locator("select[name=reason]").select_option("checked_id")
    form.locator("input[name=note]").fill("身份证核对无误")
    form.locator("button[value=allow]").click()

    shown = result(page, not_event=refer_id)
    screenshot(page, "gate-refer-allowed-zh")
    assert shown["decision"] == "allow"
    assert "放行" in shown["text"]
    assert not shown["override"]  # the form is gone

    logged = wait_for_events(in_app, 3)
    assert [(e["decision"], e["override"]) for e in logged] == [
        ("allow", False),
        ("refer", False),
        ("allow", True),
    ]
    child = logged[2]
    assert child["id"] == int(shown["eventId"])
    assert child["parent_id"] == refer_id
    assert child["user_id"] == site.a.guard.id
    assert (child["override_reason"], child["note"]) == ("checked_id", "身份证核对无误")
    assert (child["pass_id"], child["direction"], child["reasons"]) == (
        site.a.pass_.id,
        "in",
        "already_inside",
    )
    with in_app():
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "scan.override")
        ).all()
        assert [(a.user_id, a.target_id) for a in audit] == [(site.a.guard.id, refer_id)]

    # The recent list on the tablet names the guard who decided.
    row = page.locator(f"#panel-live li[data-event-id='{child['id']}']")
    row.wait_for()
    assert "guard_a" in row.inner_text()

    # The community office signs in on its own computer and sees the override with the guard.
    office = new_page(browser)
    try:
        office.goto(live.url + "/auth/login")
        office.fill("input[name=username]", "office_a")
        office.fill("input[name=password]", factories.PASSWORD)
        office.click("main form button[type=submit]")
        office.wait_for_load_state()
        office.goto(live.url + "/office")
        rows = office.locator("tr.override-allow")
        rows.first.wait_for()
        assert rows.count() == 1
        cells = rows.first.locator("td").all_inner_texts()
        assert cells[1] == "东门"
        assert cells[2] == "guard_a"
        assert "记录显示此证已在小区内" in cells[4]
        assert cells[5] == "已核对身份证: 身份证核对无误"
        screenshot(office, "office-override-listed-zh")
        assert not office.js_errors, office.js_errors
    finally:
        office.context.close()


def test_refer_then_deny(page, live, site, in_app):
    refer_id = int(_refer(page, live, site, in_app)["eventId"])
    page.locator("#result form.override button[value=deny]").click()
    shown = result(page, not_event=refer_id)
    screenshot(page, "gate-refer-denied-zh")
    assert shown["decision"] == "deny"
    assert "禁止" in shown["text"]
    child = wait_for_events(in_app, 3)[2]
    assert (child["decision"], child["override"], child["parent_id"], child["user_id"]) == (
        "deny",
        True,
        refer_id,
        site.a.guard.id,
    )
    # The select holds reasons to allow; a denial is not logged with one of them.
    assert child["note"] is None


def test_allow_for_other_needs_a_note_and_the_check_screen_stays_until_it_is_written(
    page, live, site, in_app
):
    refer_id = int(_refer(page, live, site, in_app)["eventId"])
    form = page.locator("#result form.override")
    form.locator("select[name=reason]").select_option("other")
    form.locator("button[value=allow]").click()
    # The same CHECK screen comes back with the message and the chosen reason: nothing decided.
    error = page.locator("#result form.override .error")
    error.wait_for()
    assert "说明" in error.inner_text()
    shown = page.locator("#result [data-decision]")
    assert shown.get_attribute("data-decision") == "refer"
    assert shown.get_attribute("data-event-id") == str(refer_id)
    assert form.locator("select[name=reason]").input_value() == "other"
    screenshot(page, "gate-refer-other-without-note-zh")
    assert [e["id"] for e in events(in_app) if e["override"]] == []

    form.locator("input[name=note]").fill("社区医生上门")
    form.locator("button[value=allow]").click()
    shown = result(page, not_event=refer_id)
    assert shown["decision"] == "allow"
    logged = wait_for_events(in_app, 3)
    assert [logged[2][k] for k in ("override", "parent_id", "override_reason", "note")] == [
        True,
        refer_id,
        "other",
        "社区医生上门",
    ]


def test_a_dismissed_refer_is_decided_later_from_the_panel(page, live, site, in_app):
    """The guard taps OK on a CHECK screen without deciding: the scan waits on the panel, opens
    again with its form, and leaves the panel once decided."""
    shown = _refer(page, live, site, in_app)
    refer_id = int(shown["eventId"])
    dismiss(page)
    waiting = page.locator(f"[data-pending-id='{refer_id}']")
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("记录显示此证已在小区内")
    screenshot(page, "gate-pending-refer-zh")
    waiting.get_by_role("button", name="决定").click()
    again = result(page)
    assert (again["decision"], again["eventId"]) == ("refer", str(refer_id))
    page.locator("#result form.override button[value=deny]").click()
    denied = result(page, not_event=refer_id)
    assert denied["decision"] == "deny"
    expect(waiting).to_have_count(0)
    logged = wait_for_events(in_app, 3)
    assert [logged[2][k] for k in ("override", "parent_id", "decision")] == [True, refer_id, "deny"]
