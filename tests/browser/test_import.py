"""The office imports its people list in a real browser: a file with a bad row is checked and
refused row by row, the corrected file is checked again and imported, with upload progress."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect as _expect
from sqlalchemy import func, select

from kiosk.contract.imports import check_digit
from kiosk.extensions import db
from kiosk.models import AuditEntry, Resident
from kiosk.services import security

from .. import factories
from .conftest import new_page, screenshot

# This file's own expect(), as patient as the page's actions (10 s, conftest.new_page).
expect = type(_expect)()
expect.set_options(timeout=10_000)


def card(seed: int) -> str:
    first = f"11010519900101{seed:03d}"
    return first + check_digit(first)


def people(bad: bool) -> bytes:
    broken = card(2)[:-1] + ("0" if card(2)[-1] != "0" else "1")
    rows = [
        "楼栋,单元,房号,姓名,身份证号,手机号",
        f"6号楼,1,101,钱一,{card(1)},13800138001",
        f"6号楼,1,101,钱二,{broken if bad else card(2)},",
        "6号楼,2,201,,,",
    ]
    return ("\n".join(rows) + "\n").encode("utf-8-sig")


@pytest.fixture
def office(browser, live, site):
    """Signed in as the office, in English (the page's words do not wait for the catalog)."""
    page = new_page(browser, locale="en-US")
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", site.a.office.username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(live.url + "/")
    yield page
    errors = list(page.js_errors)
    page.context.close()
    assert not errors, errors


def choose(page, content: bytes):
    page.locator("input[name=file]").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": content}
    )


def test_a_bad_row_is_shown_then_the_corrected_file_is_imported(office, live, site, in_app):
    page = office
    with in_app():
        before = set(db.session.scalars(select(Resident.name)))
    page.goto(live.url + "/office")
    page.locator(".subnav").get_by_role("link", name="Import and export").click()
    page.wait_for_url("**/office/import")
    expect(page.locator("h1")).to_have_text("Import and export people")
    page.evaluate(
        """() => { window.__progress = [];
        document.addEventListener('htmx:xhr:progress', e => window.__progress.push(
          [e.detail.loaded, e.detail.total])); window.__sameDocument = true; }"""
    )
    page.select_option("select[name=compound_id]", str(site.a.compound.id))

    # The file with a bad row: the row and its problem are named; there is no Import button.
    choose(page, people(bad=True))
    page.get_by_role("button", name="Check the file").click()
    problem = page.locator("[data-testid=import-problems] tr[data-row='3']")
    expect(problem).to_contain_text("the last character does not match the others")
    expect(page.locator("[data-testid=import-rows] tr[data-row='3']")).to_contain_text("Problem")
    expect(page.locator("[data-testid=import-confirm]")).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true")  # swapped in, not a new page
    assert page.evaluate("window.__progress.length") > 0  # the upload reported its progress
    expect(page.locator("progress[data-progress]")).to_be_hidden()
    expect(page.locator("button", has_text="Check the file")).to_be_enabled()
    assert card(1) not in page.content()  # the last four only
    screenshot(page, "office-import-problem-en")
    with in_app():
        assert set(db.session.scalars(select(Resident.name))) == before  # nothing imported

    # Corrected: checked again, then imported.
    choose(page, people(bad=False))
    page.get_by_role("button", name="Check the file").click()
    counts = page.locator("[data-testid=import-counts]")
    expect(counts).to_contain_text("creates 1 buildings, 2 households and 2 residents")
    expect(page.locator("[data-testid=import-problems]")).to_have_count(0)
    screenshot(page, "office-import-preview-en")
    page.locator("[data-testid=import-confirm]").click()
    expect(page.locator(".flash-success")).to_have_text(
        "Imported into 丰台小区: 1 buildings, 2 households, 2 residents."
    )
    assert page.url == live.url + "/office/import"
    row = page.locator(f"[data-testid=import-overview] tr[data-compound-id='{site.a.compound.id}']")
    expect(row.locator("[data-residents]")).to_have_text("3")
    screenshot(page, "office-import-done-en")

    with in_app():
        assert set(db.session.scalars(select(Resident.name))) == before | {"钱一", "钱二"}
        qian = db.session.scalar(select(Resident).where(Resident.name == "钱二"))
        assert qian.id_hash == security.keyed_hash(card(2)) and qian.id_last4 == card(2)[-4:]
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "import.people")
            )
            == 1
        )

    # The same file once more: everyone is already living there.
    choose(page, people(bad=False))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("[data-testid=import-problems]")).to_contain_text("Already living there")
