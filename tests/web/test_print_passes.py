"""Paper passes printed by the office: a household's or a building's, as a page and as an A4 PDF
whose every QR decodes to the pass's code, with masked names only; and a building's passes
issued in one go."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import event, func, select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Household, Pass, Resident, utcnow
from kiosk.services import printing
from tests import factories

from .conftest import Browser

EN = "en-US,en;q=0.8"
FULL_NAMES = ("张三丰", "李四", "王五", "赵六", "钱七", "孙八")

needs_font = pytest.mark.skipif(
    not os.path.isfile(printing.DEFAULT_FONT),
    reason=f"the CJK font is missing: apt-get install {printing.FONT_PACKAGE}",
)


def people(world) -> dict:
    """Site a's household with paper passes in every state, a second household in the same
    building, and a paper pass of the other community."""
    a, now = world.a, utcnow()
    other = Household(building_id=a.building.id, unit="3", room="402")
    db.session.add(other)
    db.session.flush()
    li = factories.resident(a.household, "李四")
    wang = factories.resident(a.household, "王五")
    zhao = factories.resident(a.household, "赵六")
    qian = factories.resident(other, "钱七")
    sun = factories.resident(other, "孙八")  # no pass at all
    out = {
        "household": a.household,
        "other": other,
        "zhang": factories.pass_for(a.resident, "paper"),
        "li": factories.pass_for(li, "paper", valid_until=now + timedelta(days=30)),
        "qian": factories.pass_for(qian, "paper"),
        "revoked": factories.pass_for(wang, "paper", revoked_at=now - timedelta(hours=1)),
        "expired": factories.pass_for(
            zhao, "paper", valid_from=now - timedelta(days=9), valid_until=now - timedelta(days=1)
        ),
        "foreign": factories.pass_for(world.b.resident, "paper"),
        "residents": [a.resident, li, wang, zhao, qian, sun],
    }
    db.session.commit()
    return out


def card_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-pass-id="(\d+)"', page)]


def office(app, world) -> Browser:
    return Browser(app, lang=EN).sign_in(world.a.office)


def pdf_pages(data: bytes) -> tuple[list[str], list[str]]:
    """The decoded QR texts and the text of each page of a PDF (rendered at 200 dpi)."""
    doc = pypdfium2.PdfDocument(data)
    codes, texts = [], []
    try:
        for page in doc:
            image = page.render(scale=200 / 72).to_pil()
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            codes += [b.text for b in found]
            texts.append(page.get_textpage().get_text_range())
    finally:
        doc.close()
    return codes, texts


# --- the print view ---------------------------------------------------------------------------


def test_the_household_print_view_shows_one_masked_card_per_active_paper_pass(sqlite_app, sworld):
    p = people(sworld)
    r = office(sqlite_app, sworld).get(f"/office/households/{p['household'].id}/passes/print")
    assert r.status_code == 200
    page = r.text
    assert sorted(card_ids(page)) == sorted([p["zhang"].id, p["li"].id])
    assert page.count("<svg") == 2
    assert "张**" in page and "李*" in page and "丰台小区" in page
    assert "1号楼 unit 2 room 301" in page
    assert "No end date" in page and "Valid until" in page
    assert not any(name in page for name in FULL_NAMES)
    assert f'href="/office/households/{p["household"].id}/passes.pdf"' in page
    assert 'href="/static/css/print.css"' in page and 'src="/static/js/print.js"' in page
    assert "<style" not in page and "<script>" not in page  # the CSP allows neither
    assert "/office/buildings/" not in page  # no issuing from a household's page


def test_the_building_print_view_has_every_household_and_the_issue_button(sqlite_app, sworld):
    p = people(sworld)
    building = sworld.a.building
    r = office(sqlite_app, sworld).get(f"/office/buildings/{building.id}/passes/print")
    assert r.status_code == 200
    assert card_ids(r.text) == [p["zhang"].id, p["li"].id, p["qian"].id]  # unit, room, pass
    assert "钱*" in r.text and not any(name in r.text for name in FULL_NAMES)
    assert f'action="/office/buildings/{building.id}/passes"' in r.text
    assert 'name="csrf_token"' in r.text
    assert card_ids(r.text).count(p["foreign"].id) == 0


def test_a_household_without_paper_passes_says_so(sqlite_app, sworld):
    r = office(sqlite_app, sworld).get(f"/office/households/{sworld.a.household.id}/passes/print")
    assert r.status_code == 200 and card_ids(r.text) == []
    assert "No active paper passes." in r.text


# --- the PDF ----------------------------------------------------------------------------------


@needs_font
def test_the_pdf_qr_codes_decode_to_the_pass_codes_and_show_masked_names(sqlite_app, sworld):
    p = people(sworld)
    building = sworld.a.building
    r = office(sqlite_app, sworld).get(f"/office/buildings/{building.id}/passes.pdf")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="passes-building-{building.id}.pdf"'
    )
    assert r.headers["Cache-Control"] == "no-store"
    codes, texts = pdf_pages(r.data)
    wanted = [p["zhang"], p["li"], p["qian"]]
    assert sorted(codes) == sorted(factories.code(x) for x in wanted)
    assert len(texts) == 1
    text = texts[0]
    assert "丰台小区" in text and "张**" in text and "李*" in text and "钱*" in text
    assert not any(name in text for name in FULL_NAMES)
    assert "Pass No. {}".format(p["zhang"].id) in text
    for revoked_or_expired in (p["revoked"], p["expired"]):
        assert factories.code(revoked_or_expired) not in codes


@needs_font
def test_the_pdf_puts_eight_cards_on_a_page_and_embeds_the_font(sqlite_app, sworld):
    household = sworld.a.household
    for i in range(10):
        resident = factories.resident(household, f"欧阳{i}号")
        factories.pass_for(resident, "paper")
    db.session.commit()
    r = office(sqlite_app, sworld).get(f"/office/households/{household.id}/passes.pdf")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="passes-household-{household.id}.pdf"'
    )
    assert b"/FontFile2" in r.data  # the TrueType font is inside the file
    codes, texts = pdf_pages(r.data)
    paper = db.session.scalars(select(Pass).where(Pass.kind == "paper")).all()
    assert sorted(codes) == sorted(factories.code(x) for x in paper)
    assert len(texts) == 2 and len(codes) == 10
    assert all("欧" in t for t in texts) and not any("欧阳" in t for t in texts)


@needs_font
def test_an_empty_pdf_says_there_is_nothing_to_print(sqlite_app, sworld):
    r = office(sqlite_app, sworld).get(f"/office/households/{sworld.a.household.id}/passes.pdf")
    codes, texts = pdf_pages(r.data)
    assert codes == [] and texts == ["No active paper passes."]


def test_a_missing_font_is_named_with_its_debian_package(sqlite_app, sworld):
    sqlite_app.config["PASS_PDF_FONT"] = "/nonexistent/font.ttc"
    with pytest.raises(printing.FontMissing, match="fonts-wqy-zenhei"):
        printing.pdf([])


# --- issuing a building's paper passes --------------------------------------------------------


def test_issuing_a_buildings_passes_serves_only_those_without_one(app, world):
    p = people(world)
    building = world.a.building
    browser = office(app, world)
    before = {x.id for x in db.session.scalars(select(Pass))}
    r = browser.post(f"/office/buildings/{building.id}/passes")
    assert r.status_code == 303
    assert r.headers["Location"] == f"/office/buildings/{building.id}/passes/print"
    new = db.session.scalars(select(Pass).where(Pass.id.not_in(before))).all()
    names = {db.session.get(Resident, x.resident_id).name for x in new}
    # 王五's was revoked and 赵六's expired; 孙八 had none; the others keep theirs.
    assert names == {"王五", "赵六", "孙八"}
    assert all(x.kind == "paper" and x.valid_until is None for x in new)
    assert all(x.created_by_id == world.a.office.id for x in new)
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "pass.issue_bulk")
    ).one()
    assert entry.target_id == building.id and entry.community_id == world.a.community.id
    assert entry.user_id == world.a.office.id and '"count": 3' in entry.detail
    page = browser.get(r.headers["Location"]).text
    assert "3 paper passes issued." in page
    shown = [p["zhang"].id, p["li"].id, p["qian"].id] + [x.id for x in new]
    assert sorted(card_ids(page)) == sorted(shown)

    # A second run finds everybody served: nothing issued, nothing audited.
    r = browser.post(f"/office/buildings/{building.id}/passes", follow_redirects=True)
    assert r.status_code == 200
    assert "Every resident of the building has a paper pass already." in r.text
    assert db.session.scalar(select(func.count(Pass.id))) == len(before) + 3
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


# --- who may --------------------------------------------------------------------------------


def urls(building_id: int, household_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/office/households/{household_id}/passes/print"),
        ("GET", f"/office/households/{household_id}/passes.pdf"),
        ("GET", f"/office/buildings/{building_id}/passes/print"),
        ("GET", f"/office/buildings/{building_id}/passes.pdf"),
        ("POST", f"/office/buildings/{building_id}/passes"),
    ]


def call(browser: Browser, method: str, url: str):
    return browser.get(url) if method == "GET" else browser.post(url)


def test_guards_workers_and_residents_may_not(sqlite_app, sworld):
    people(sworld)
    a = sworld.a
    count = db.session.scalar(select(func.count(Pass.id)))
    for user in (a.guard, sworld.worker, sworld.resident_user):
        browser = Browser(sqlite_app, lang=EN).sign_in(user)
        for method, url in urls(a.building.id, a.household.id):
            r = call(browser, method, url)
            assert r.status_code == 403, (user.username, url, r.status_code)
            assert "张" not in r.text
    for method, url in urls(a.building.id, a.household.id):
        r = call(Browser(sqlite_app), method, url)
        assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")
    assert db.session.scalar(select(func.count(Pass.id))) == count


def test_another_communitys_households_and_buildings_are_not_found(sqlite_app, sworld):
    people(sworld)
    b = sworld.b
    count = db.session.scalar(select(func.count(Pass.id)))
    browser = office(sqlite_app, sworld)
    for method, url in urls(b.building.id, b.household.id) + urls(999999, 999999):
        r = call(browser, method, url)
        assert r.status_code == 404, (url, r.status_code)
        assert "樱桃" not in r.text and "张" not in r.text
    assert db.session.scalar(select(func.count(Pass.id))) == count
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_the_street_office_prints_for_each_community_of_its_street(sqlite_app, sworld):
    p = people(sworld)
    browser = Browser(sqlite_app, lang=EN).sign_in(sworld.street_user)
    r = browser.get(f"/office/households/{sworld.b.household.id}/passes/print")
    assert r.status_code == 200 and card_ids(r.text) == [p["foreign"].id]
    assert "樱桃小区" in r.text
    _street, site, _user = factories.foreign_street()
    r = browser.get(f"/office/buildings/{site.building.id}/passes/print")
    assert r.status_code == 404


def test_the_cards_of_a_building_take_one_query_however_many_households(sqlite_app, sworld):
    a = sworld.a
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def cards_query() -> int:
        db.session.expire_all()
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            printing.building_cards(a.office, a.building.id)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    factories.pass_for(a.resident, "paper")
    db.session.commit()
    few = cards_query()
    for i in range(6):
        household = Household(building_id=a.building.id, unit="5", room=str(500 + i))
        db.session.add(household)
        db.session.flush()
        factories.pass_for(factories.resident(household, f"周{i}"), "paper")
    db.session.commit()
    assert cards_query() == few
    assert len(printing.building_cards(a.office, a.building.id).cards) == 7
