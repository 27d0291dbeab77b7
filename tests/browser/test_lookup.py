"""No code: an elderly resident without a phone is found by building, unit and the last four
characters of the ID number, then checked like a scan (marked manual)."""

from __future__ import annotations

import pytest

from kiosk.extensions import db
from kiosk.models import Resident

from .. import factories
from ._gate import dismiss, events, result, tap, wait_for_events, wait_for_wedge
from .conftest import enrol_and_sign_in, screenshot


def _give_id_last4(in_app, site, last4: str = "571X"):
    with in_app():
        db.session.get(Resident, site.a.resident.id).id_last4 = last4
        db.session.commit()


def _open_lookup(page):
    page.get_by_role("button", name="无码", exact=True).click()
    sheet = page.locator("#sheet #lookup")
    sheet.wait_for()
    assert "无码：查找居民" in sheet.inner_text()
    return sheet


def _find(page, building: str, unit: str, last4: str):
    sheet = page.locator("#sheet #lookup")
    sheet.locator("select[name=building_id]").select_option(label=building)
    sheet.locator("input[name=unit]").fill(unit)
    sheet.locator("input[name=last4]").fill(last4)
    with page.expect_response(
        lambda r: r.url.endswith("/gate/lookup") and r.request.method == "POST"
    ):
        sheet.get_by_role("button", name="查找", exact=True).click()
    sheet.wait_for()
    return sheet


def test_no_code_lookup_then_check_with_temperature(page, live, site, in_app):
    _give_id_last4(in_app, site)
    enrol_and_sign_in(page, live, site)
    _open_lookup(page)
    screenshot(page, "gate-lookup-form-zh")
    sheet = _find(page, "1号楼", "2", "571x")  # typed in lower case: the X of an ID number
    matches = sheet.locator(".matches li")
    assert matches.count() == 1
    text = matches.first.inner_text()
    assert "张**" in text and "1号楼" in text and "2单元" in text
    assert "张三丰" not in sheet.inner_text()  # the tablet never shows the full name
    screenshot(page, "gate-lookup-found-zh")

    matches.first.get_by_role("button", name="核验此人").click()
    page.locator("#keypad").wait_for(state="visible")
    assert page.locator("#sheet").inner_html().strip() == ""  # the sheet closed
    tap(page, "36.5")
    page.click("#keypad [data-action=keypad-ok]")

    shown = result(page)
    screenshot(page, "gate-lookup-allow-zh")
    assert shown["decision"] == "allow"
    assert "放行" in shown["text"] and "张**" in shown["text"]
    logged = wait_for_events(in_app, 1)
    assert len(logged) == 1
    event = logged[0]
    assert (event["decision"], event["manual"], event["direction"]) == ("allow", True, "in")
    assert (event["pass_id"], event["resident_id"], event["user_id"]) == (
        site.a.pass_.id,
        site.a.resident.id,
        site.a.guard.id,
    )
    assert event["temperature"] == pytest.approx(36.5)
    assert event["request_id"]
    # The recent list marks it as manual.
    dismiss(page)
    row = page.locator("#panel-live li[data-decision=allow]").first
    row.wait_for()
    assert "人工" in row.inner_text()


def test_lookup_prefers_the_paper_pass_and_an_exit_needs_no_temperature(page, live, site, in_app):
    _give_id_last4(in_app, site, "0042")
    with in_app():
        paper = factories.pass_for(db.session.merge(site.a.resident), kind="paper")
        db.session.commit()
        paper_id = paper.id
    enrol_and_sign_in(page, live, site)
    page.click("[data-direction=out]")
    _open_lookup(page)
    sheet = _find(page, "1号楼", "2", "0042")
    sheet.get_by_role("button", name="核验此人").click()
    shown = result(page)
    screenshot(page, "gate-lookup-paper-out-zh")
    assert page.locator("#keypad").is_hidden()
    assert shown["decision"] == "allow"
    assert shown["paperNote"] and "纸质通行证：请核对本人与身份证。" in shown["text"]
    logged = wait_for_events(in_app, 1)
    assert [(e["pass_id"], e["direction"], e["manual"], e["temperature"]) for e in logged] == [
        (paper_id, "out", True, None)
    ]


def test_lookup_without_a_match_says_so_and_logs_nothing(page, live, site, in_app):
    _give_id_last4(in_app, site)
    enrol_and_sign_in(page, live, site)
    _open_lookup(page)
    sheet = _find(page, "1号楼", "2", "9999")
    error = sheet.locator(".error")
    error.wait_for()
    assert sheet.locator(".matches li").count() == 0
    # The form keeps what was typed, for a correction.
    assert sheet.locator("input[name=unit]").input_value() == "2"
    assert sheet.locator("select[name=building_id] option:checked").inner_text() == "1号楼"
    screenshot(page, "gate-lookup-no-match-zh")
    # Another compound's resident with the same last four is not found here.
    with in_app():
        db.session.get(Resident, site.b.resident.id).id_last4 = "9999"
        db.session.commit()
    sheet = _find(page, "1号楼", "2", "9999")
    assert sheet.locator(".matches li").count() == 0
    page.click("#sheet [data-action=close-sheet]")
    wait_for_wedge(page)
    assert events(in_app) == []
