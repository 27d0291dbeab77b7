"""A screening list worked end to end in the real browser: the office imports a list (CSV), sees
the rows matched, calls through them and clears a row; the gate tablet refers the matched
resident (reason screening) before, and allows them once the row is cleared."""

from __future__ import annotations

from playwright.sync_api import expect as _expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import ScreeningRow
from kiosk.services import org
from kiosk.services.passes import code_for

from ._gate import dismiss, no_temperature_rule, result, scan
from .conftest import enrol_and_sign_in, new_page, screenshot
from .test_office import office_signs_in

expect = type(_expect)()
expect.set_options(timeout=10_000)

ID = "11010519491231002X"
CSV = (
    "姓名,手机号,身份证号,楼栋,单元,房号\n"
    f"张三丰,,{ID},,,\n"
    "路人甲,13900000000,,,,\n"
    "缺地址,,,1号楼,,\n"
).encode("gbk")


def test_import_work_clear_and_the_gate_refers_then_allows(page, browser, live, site, in_app):
    no_temperature_rule(in_app, site)
    with in_app():
        kept = org.identity(ID, None)
        resident = db.session.merge(site.a.resident)
        resident.id_hash, resident.id_last4 = kept["id_hash"], kept["id_last4"]
        db.session.commit()
        code = code_for(site.a.pass_)

    # The office imports the list.
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/screening")
    form = page.locator("[data-testid=screening-import]")
    form.locator("input[name=name]").fill("30日后到过新发地市场人员")
    form.locator("input[name=source]").fill("区疾控")
    form.locator("input[name=issued_on]").fill("2020-06-14")
    form.locator("input[name=file]").set_input_files(
        {"name": "名单.csv", "mimeType": "text/csv", "buffer": CSV}
    )
    form.locator("button[type=submit]").click()
    imported = page.locator("[data-testid=screening-imported]")
    expect(imported.locator("[data-count=matched] strong")).to_have_text("1")
    expect(imported.locator("[data-count=not_here] strong")).to_have_text("1")
    expect(imported.locator("[data-count=invalid] strong")).to_have_text("1")
    screenshot(page, "screening-imported")

    # The tablet refers the matched resident: the guard calls the office.
    tablet = new_page(browser)
    try:
        enrol_and_sign_in(tablet, live, site)
        scan(tablet, code)
        shown = result(tablet)
        assert (shown["decision"], shown["reasons"]) == ("refer", "screening")
        screenshot(tablet, "screening-gate-refer")
        dismiss(tablet)

        # The office works through the list and clears the row.
        imported.get_by_role("link").first.click()
        page.wait_for_url("**/office/screening/*")
        rows = page.locator("[data-testid=screening-rows] tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("[data-testid=progress] progress")).to_have_attribute("value", "50")
        row = page.locator("tr[data-match=matched]")
        row.locator("select[name=call_status]").select_option("reached")
        row.locator("input[name=note]").fill("电话已联系，已做核酸")
        row.locator("button[type=submit]").first.click()
        expect(page.locator("tr[data-match=matched]")).to_have_attribute("data-status", "reached")
        row = page.locator("tr[data-match=matched]")
        row.locator("select[name=call_status]").select_option("cleared")
        row.locator("button[type=submit]").first.click()
        expect(page.locator("tr[data-match=matched]")).to_have_attribute("data-status", "cleared")
        expect(page.locator("tr[data-match=matched] input[name=note]")).to_have_value(
            "电话已联系，已做核酸"
        )
        screenshot(page, "screening-row-cleared")
        with in_app():
            row_db = db.session.scalars(
                select(ScreeningRow).where(ScreeningRow.match == "matched")
            ).one()
            assert row_db.closed and row_db.updated_by_id == site.a.office.id
        page.reload()
        expect(page.locator("[data-testid=progress] progress")).to_have_attribute("value", "100")

        # Cleared: the gate lets the resident in at once.
        scan(tablet, code)
        again = result(tablet, not_event=shown["eventId"])
        assert (again["decision"], again["reasons"]) == ("allow", "")
        assert not tablet.js_errors, tablet.js_errors
    finally:
        tablet.context.close()
