"""A resident prints a paper pass for the grandmother on their phone (390×844): issue it on the
household page, open the print view, download the PDF; the PDF's first page rendered to an
image decodes to a code that the gate API lets through as a paper pass, and the PDF's text has
the masked Chinese name only. Then the lost card is revoked and the gate refuses it.
Screenshots of the household page, the print view, "my data" and the office's notices, zh/en."""

from __future__ import annotations

import os

import pypdfium2
import pytest
import zxingcpp
from playwright.sync_api import expect as _expect

from kiosk.contract.notices import NoticeCreate
from kiosk.extensions import db
from kiosk.services import notices, printing

from .. import factories
from .conftest import new_page, screenshot
from .test_office import office_signs_in

expect = type(_expect)()
expect.set_options(timeout=10_000)

PHONE = {"width": 390, "height": 844}

needs_font = pytest.mark.skipif(
    not os.path.isfile(printing.DEFAULT_FONT),
    reason=f"the CJK font is missing: apt-get install {printing.FONT_PACKAGE}",
)


def family(in_app, site) -> dict:
    with in_app():
        grandma = factories.resident(site.a.household, "王奶奶")
        factories.user(
            "zhang", "resident", household_id=site.a.household.id, resident_id=site.a.resident.id
        )
        notices.create(
            site.a.office,
            NoticeCreate(title="核酸检测通知", body="周六 8:00–11:00 在东门广场\n请带身份证"),
        )
        db.session.commit()
        return {"grandma": grandma.id}


def phone(browser, live, locale="zh-CN"):
    page = new_page(browser, locale=locale)
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", "zhang")
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    return page


def first_page(data: bytes) -> tuple[list[str], str]:
    doc = pypdfium2.PdfDocument(data)
    try:
        page = doc[0]
        image = page.render(scale=200 / 72).to_pil()
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        return [b.text for b in found], page.get_textpage().get_text_range()
    finally:
        doc.close()


@needs_font
def test_a_paper_pass_printed_from_the_phone_scans_at_the_gate(browser, live, site, in_app):
    f = family(in_app, site)
    page = phone(browser, live)
    page.goto(live.url + "/me/household")
    expect(page.locator("[data-testid=notices]")).to_contain_text("核酸检测通知")
    member = page.locator(f"section[data-resident-id='{f['grandma']}']")
    expect(member).to_contain_text("王奶奶")
    screenshot(page, "me-household-zh")
    member.locator("[data-testid=issue] button[type=submit]").click()
    expect(member.locator("[data-testid=paper-pass]")).to_be_visible()
    screenshot(page, "me-household-issued-zh")

    # The print view: masked name, one card with its QR.
    page.click("[data-testid=print]")
    page.wait_for_url("**/me/household/passes/print")
    expect(page.locator(".pass-card")).to_have_count(1)
    expect(page.locator(".pass-card .name")).to_have_text("王**")
    expect(page.locator(".pass-card .qr svg")).to_be_visible()
    screenshot(page, "me-household-print-zh")

    # The PDF from the household page's link.
    page.goto(live.url + "/me/household")
    with page.expect_download() as download:
        page.click("[data-testid=pdf]")
    assert download.value.suggested_filename == f"passes-household-{site.a.household.id}.pdf"
    with open(download.value.path(), "rb") as fh:
        codes, text = first_page(fh.read())
    assert len(codes) == 1
    assert "王**" in text and "王奶奶" not in text and "丰台小区" in text

    # The code read from the printed page goes through the gate as a paper pass.
    api = page.context.request
    headers = {"Authorization": "Bearer " + site.a.device_token}
    r = api.post(
        live.url + "/api/v1/scans",
        data={"code": codes[0], "direction": "out"},
        headers=headers,
    )
    answer = r.json()
    assert r.status == 200 and answer["decision"] == "allow", answer
    assert answer["holder"]["pass_kind"] == "paper" and answer["holder"]["display_name"] == "王**"

    # Lost: revoked on the phone; the same printed code is refused at once.
    member = page.locator(f"section[data-resident-id='{f['grandma']}']")
    member.locator("details.me-revoke summary").click()
    member.locator("input[name=reason]").fill("丢失")
    member.locator("[data-testid=revoke] button[type=submit]").click()
    expect(member.locator("[data-testid=issue]")).to_be_visible()
    r = api.post(
        live.url + "/api/v1/scans",
        data={"code": codes[0], "direction": "in", "temperature": 36.5},
        headers=headers,
    )
    answer = r.json()
    assert answer["decision"] == "deny" and [x["code"] for x in answer["reasons"]] == ["revoked"]
    page.context.close()


def test_screenshots_in_chinese_and_english(browser, live, site, in_app):
    family(in_app, site)
    with in_app():
        factories.pass_for(factories.resident(site.a.household, "李爷爷"), "paper")
        factories.event(
            site.a.gate, factories.utcnow(), "in", "allow", resident_id=site.a.resident.id
        )
        db.session.commit()
    for locale, suffix in (("zh-CN", "zh"), ("en-US", "en")):
        page = phone(browser, live, locale)
        page.goto(live.url + "/me/household")
        expect(page.locator("h1")).to_have_count(1)
        screenshot(page, f"me-household-{suffix}")
        page.goto(live.url + "/me/household/passes/print")
        expect(page.locator(".pass-card")).to_have_count(1)
        screenshot(page, f"me-household-print-{suffix}")
        page.goto(live.url + "/me/data")
        expect(page.locator("[data-testid=events] li")).to_have_count(1)
        screenshot(page, f"me-data-{suffix}")
        page.context.close()
    office = new_page(browser)
    office_signs_in(office, live, site)
    office.goto(live.url + "/office/notices")
    expect(office.locator("tr[data-notice-id]")).to_have_count(1)
    screenshot(office, "office-notices-zh")
    office.context.close()
