"""Nothing personal leaks: a full scenario in the real browser with distinctive test data, then
every URL the browsers requested, every line the server logged and every QR code the pages
showed are searched for the name, the ID number, the phone and their last four characters.

The office adds a person and issues a phone pass and a paper pass (printed, its QR read), prints
a joining slip; the resident joins on their phone and shows their pass; a guard scans both
passes at the tablet and finds the person without a code by the last four of the ID number; a
visitor registers on their own phone and is scanned in; the office searches people by the name
and by the last fours, and moves the person away; their pass is then refused at the gate.

Each step is a small function of ``Scenario``, so more steps (a trace from the office's trace
page) can be added between them.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus, urlsplit

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect as _expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Pass, Resident, Visit

from ._gate import dismiss, no_temperature_rule, result, scan, tap
from .conftest import enrol_and_sign_in, new_page, screenshot
from .test_office import office_signs_in

expect = type(_expect)()
expect.set_options(timeout=15_000)

NAME = "Zyx测试Qwv"
ID_NUMBER = "11010519880317739X"
ID_LAST4 = "739X"
PHONE = "139 7146 8253"  # typed with spaces, as people do
PHONE_DIGITS = "13971468253"
PHONE_LAST4 = "8253"
VISITOR_NAME = "Vqk访客Jwz"
VISITOR_PHONE = "13860925417"
VISITOR_LAST4 = "5417"
SECRETS = (
    NAME,
    ID_NUMBER,
    ID_NUMBER.lower(),
    ID_LAST4,
    ID_LAST4.lower(),
    PHONE,
    PHONE_DIGITS,
    PHONE_LAST4,
    VISITOR_NAME,
    VISITOR_PHONE,
    VISITOR_LAST4,
)
PHONE_SIZE = {"width": 390, "height": 844}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Collector(logging.Handler):
    """Every log record of the server while the scenario runs, as the line it would print."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._seen: set[int] = set()

    def emit(self, record):
        if id(record) in self._seen:  # attached to the root and to werkzeug: once each
            return
        self._seen.add(id(record))
        line = _ANSI.sub("", record.getMessage())  # werkzeug colours some request lines
        if record.exc_info:
            line += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(line)


@pytest.fixture
def server_log(live_app):
    """Collect what the server logs: the root logger and werkzeug's request log (the live
    server keeps werkzeug at WARNING; its request lines are logged at INFO), and the app's own
    logger at every level."""
    collector = Collector()
    root, werkzeug, app_logger = logging.getLogger(), logging.getLogger("werkzeug"), live_app.logger
    levels = (werkzeug.level, app_logger.level)
    root.addHandler(collector)
    werkzeug.addHandler(collector)
    werkzeug.setLevel(logging.INFO)
    app_logger.setLevel(logging.DEBUG)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
        werkzeug.removeHandler(collector)
        werkzeug.setLevel(levels[0])
        app_logger.setLevel(levels[1])


def qr_texts(locator) -> list[str]:
    """The texts of the QR codes in a part of the page, read from a screenshot (zxing-cpp)."""
    image = Image.open(io.BytesIO(locator.screenshot()))
    return [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


@dataclass
class Scenario:
    """The browsers of the scenario and what they met: every URL requested, every QR shown."""

    browser: object
    live: object
    site: object
    in_app: object
    urls: list[str] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    pages: list = field(default_factory=list)
    resident_id: int | None = None
    paper_code: str | None = None
    phone_code: str | None = None
    slip_code: str | None = None
    visitor_code: str | None = None

    def open(self, locale="zh-CN", phone=False):
        """A new browser (its own cookies), every request of which is recorded."""
        page = new_page(self.browser, locale=locale)
        if phone:
            page.set_viewport_size(PHONE_SIZE)
        page.context.on("request", lambda request: self.urls.append(request.url))
        self.pages.append(page)
        return page

    def read_qr(self, locator, count: int = 1) -> list[str]:
        texts = qr_texts(locator)
        assert len(texts) == count, texts
        self.qr.extend(texts)
        return texts

    # --- the steps ----------------------------------------------------------------------------

    def office_signs_in(self):
        self.office = self.open()
        office_signs_in(self.office, self.live, self.site)

    def office_adds_the_person(self):
        office = self.office
        office.goto(f"{self.live.url}/office/households/{self.site.a.household.id}")
        form = office.locator("[data-testid=add-resident]")
        form.locator("input[name=name]").fill(NAME)
        form.locator("input[name=id_number]").fill(ID_NUMBER)
        form.locator("input[name=phone]").fill(PHONE)
        form.get_by_role("button", name="添加成员").click()
        expect(office.locator(".flash")).to_contain_text("已添加成员")
        with self.in_app():
            resident = db.session.scalar(select(Resident).where(Resident.name == NAME))
            assert resident.id_last4 == ID_LAST4 and resident.phone_last4 == PHONE_LAST4
            self.resident_id = resident.id

    def office_issues_a_phone_pass_and_a_paper_pass(self):
        office = self.office
        for kind in ("resident", "paper"):
            member = office.locator(f"section[data-resident-id='{self.resident_id}']")
            member.locator("select[name=kind]").select_option(kind)
            member.get_by_role("button", name="发放通行证").click()
            expect(office.locator(".flash")).to_be_visible()
        with self.in_app():
            kinds = db.session.scalars(
                select(Pass.kind).where(Pass.resident_id == self.resident_id)
            ).all()
            assert sorted(kinds) == ["paper", "resident"]

    def office_prints_the_paper_pass(self):
        office = self.office
        office.goto(f"{self.live.url}/office/households/{self.site.a.household.id}/passes/print")
        with self.in_app():
            paper = db.session.scalar(
                select(Pass).where(Pass.resident_id == self.resident_id, Pass.kind == "paper")
            )
        card = office.locator(f"article.pass-card[data-pass-id='{paper.id}']")
        (self.paper_code,) = self.read_qr(card.locator(".qr"))
        assert self.paper_code.startswith("K1S:"), self.paper_code  # a static code

    def office_prints_a_joining_slip(self):
        office = self.office
        office.goto(f"{self.live.url}/office/households/{self.site.a.household.id}")
        office.click("[data-testid=joining-slip] button")
        slip = office.locator("[data-testid=slip]")
        expect(slip).to_have_count(1)
        self.slip_code = slip.get_attribute("data-code")
        assert self.read_qr(slip.locator(".qr")) == [f"{self.live.url}/join#{self.slip_code}"]

    def resident_joins_and_shows_the_pass(self):
        phone = self.resident = self.open(phone=True)
        phone.goto(f"{self.live.url}/join#{self.slip_code}")
        choice = phone.locator(f"input[name=resident_id][value='{self.resident_id}']")
        expect(choice).to_have_count(1)
        choice.check()
        phone.fill("input[name=username]", "zyx_phone")
        phone.fill("input[name=password]", "a-long-password")
        phone.click("main form button[type=submit]")
        phone.wait_for_url("**/me")
        expect(phone.locator(".me-qr svg")).to_be_visible()
        (self.phone_code,) = self.read_qr(phone.locator(".me-qr"))
        assert self.phone_code.startswith("K1R:"), self.phone_code
        screenshot(phone, "leak-test-me-pass")

    def guard_signs_in(self):
        no_temperature_rule(self.in_app, self.site)
        self.tablet = self.open()
        enrol_and_sign_in(self.tablet, self.live, self.site)

    def guard_scans_both_passes(self):
        tablet = self.tablet
        tablet.click("[data-direction=out]")
        scan(tablet, self.paper_code)
        shown = result(tablet)
        assert shown["decision"] == "allow", shown
        assert NAME not in shown["text"] and "Z*" in shown["text"]
        dismiss(tablet)
        tablet.click("[data-direction=in]")
        scan(tablet, self.phone_code)
        shown = result(tablet)
        assert shown["decision"] == "allow", shown
        dismiss(tablet)

    def guard_finds_the_person_without_a_code(self):
        tablet = self.tablet
        tablet.get_by_role("button", name="无码", exact=True).click()
        sheet = tablet.locator("#sheet #lookup")
        sheet.wait_for()
        sheet.locator("select[name=building_id]").select_option(label=self.site.a.building.name)
        sheet.locator("input[name=unit]").fill(self.site.a.household.unit)
        sheet.locator("input[name=last4]").fill(ID_LAST4)
        sheet.get_by_role("button", name="查找", exact=True).click()
        matches = tablet.locator("#sheet #lookup .matches li")
        expect(matches).to_have_count(1)
        assert NAME not in matches.first.inner_text()
        tablet.locator("#sheet [data-action=close-sheet]").click()
        expect(tablet.locator("#sheet #lookup")).to_have_count(0)

    def visitor_registers_on_their_phone(self):
        phone = self.visitor = self.open(phone=True)
        phone.goto(f"{self.live.url}/visit/{self.site.a.compound.public_slug}")
        form = phone.locator("main form")
        form.locator("input[name=name]").fill(VISITOR_NAME)
        form.locator("input[name=phone]").fill(VISITOR_PHONE)
        form.locator("select[name=host_household_id]").select_option(str(self.site.a.household.id))
        form.locator("input[name=purpose][value=visit]").check()
        form.locator("input[name=health_code][value=green]").check()
        phone.get_by_role("button", name="获取访客码").click()
        qr = phone.locator("[data-testid=visitor-qr]")
        expect(qr.locator("svg")).to_be_visible()
        (self.visitor_code,) = self.read_qr(qr)
        assert self.visitor_code == qr.get_attribute("data-code")
        assert self.visitor_code.startswith("K1V:")

    def guard_scans_the_visitor_in(self):
        tablet = self.tablet
        tablet.click("[data-direction=in]")
        scan(tablet, self.visitor_code)
        # A visitor coming in always has their temperature taken (gate.js).
        expect(tablet.locator("#keypad")).to_be_visible()
        tap(tablet, "36.5")
        tablet.click("#keypad [data-action=keypad-ok]")
        shown = result(tablet)
        assert shown["decision"] == "allow", shown
        assert VISITOR_NAME not in shown["text"]
        dismiss(tablet)
        with self.in_app():
            visit = db.session.scalar(select(Visit).where(Visit.name == VISITOR_NAME))
            assert visit.status == "inside" and visit.phone_last4 == VISITOR_LAST4

    def office_searches_people(self, *terms: str, found: bool = True):
        office = self.office
        office.goto(f"{self.live.url}/office/people")
        for term in terms:
            office.locator("input[name=q]").fill(term)
            with office.expect_response(lambda r: r.url.endswith("/office/people")):
                office.get_by_role("button", name="搜索").click()
            row = office.locator(
                f"[data-testid=people-results] tr[data-resident-id='{self.resident_id}']"
            )
            expect(row).to_have_count(1 if found else 0)

    def office_traces_the_person_and_exports_the_report(self):
        """The trace form, the report and its CSV are POSTs: the person's name, typed into the
        search, and the report's contents travel in bodies only."""
        office = self.office
        office.goto(f"{self.live.url}/office/trace")
        search = office.locator("[data-testid=people-search]")
        search.locator("input[name=q]").fill(NAME)
        search.locator("button[type=submit]").click()
        rows = office.locator("[data-testid=people-results] tbody tr")
        expect(rows).to_have_count(1)
        rows.first.locator("[data-testid=trace-link]").click()
        office.wait_for_url("**/office/trace?resident_id=*")
        form = office.locator("[data-testid=trace-form]")
        form.locator("input[name=reason]").fill("case 2026-17")
        form.locator("button[type=submit]").click()
        expect(office.locator("[data-testid=trace-person], main").first).to_contain_text(NAME)
        with office.expect_download() as download:
            office.locator("[data-testid=trace-export] button[value=csv]").click()
        assert NAME not in download.value.suggested_filename
        with open(download.value.path(), "rb") as fh:
            assert VISITOR_NAME in fh.read().decode("utf-8-sig")  # who passed by, in the file

    def office_moves_the_person_away(self):
        office = self.office
        office.goto(f"{self.live.url}/office/households/{self.site.a.household.id}")
        member = office.locator(f"section[data-resident-id='{self.resident_id}']")
        member.locator("[data-testid=move-away] summary").click()
        member.locator("[data-testid=move-away] button[type=submit]").click()
        expect(office.locator(".flash")).to_be_visible()
        expect(office.locator(f"section[data-resident-id='{self.resident_id}']")).to_have_count(0)
        expect(office.locator("main")).not_to_contain_text(NAME)
        expect(office.locator("[data-testid=moved-away]")).to_be_visible()
        screenshot(office, "leak-test-moved-away")

    def the_gate_refuses_the_pass_afterwards(self):
        tablet = self.tablet
        tablet.click("[data-direction=out]")
        scan(tablet, self.paper_code)
        shown = result(tablet)
        assert (shown["decision"], shown["reasons"]) == ("deny", "revoked"), shown
        dismiss(tablet)

    def the_resident_is_signed_out(self):
        self.resident.reload()
        self.resident.wait_for_url("**/auth/login**")

    # --- what is checked ----------------------------------------------------------------------

    def leaks(self, log_lines: list[str]) -> list[str]:
        """Each distinctive string found in a URL (without the server's own address, whose
        random port could hold any four digits), a log line or a QR code."""
        origin = self.live.url
        places = []
        for url in self.urls:
            parts = urlsplit(url)
            rest = (
                url[len(origin) :] if url.startswith(origin) else parts._replace(netloc="").geturl()
            )
            places += [
                ("url", url, rest),
                ("url", url, unquote(rest)),
                ("url", url, unquote_plus(rest)),
            ]
        places += [("log", line, line) for line in log_lines]
        for text in self.qr:
            rest = text[len(origin) :] if text.startswith(origin) else text
            places.append(("qr", text, rest))
        return sorted(
            {
                f"{kind}: {secret!r} in {shown!r}"
                for kind, shown, text in places
                for secret in SECRETS
                if secret in text
            }
        )


def test_no_personal_data_in_urls_logs_or_qr_codes(
    browser, live, live_app, site, in_app, server_log
):
    run = Scenario(browser, live, site, in_app)
    try:
        run.office_signs_in()
        run.office_adds_the_person()
        run.office_issues_a_phone_pass_and_a_paper_pass()
        run.office_prints_the_paper_pass()
        run.office_prints_a_joining_slip()
        run.resident_joins_and_shows_the_pass()
        run.guard_signs_in()
        run.guard_scans_both_passes()
        run.guard_finds_the_person_without_a_code()
        run.visitor_registers_on_their_phone()
        run.guard_scans_the_visitor_in()
        run.office_searches_people(NAME, ID_LAST4, PHONE_LAST4)
        run.office_traces_the_person_and_exports_the_report()
        run.office_moves_the_person_away()
        run.office_searches_people(NAME, ID_LAST4, PHONE_LAST4, found=False)
        run.the_gate_refuses_the_pass_afterwards()
        run.the_resident_is_signed_out()
    finally:
        js_errors = [e for page in run.pages for e in page.js_errors]
        for page in run.pages:
            page.context.close()
    assert not js_errors, js_errors

    # The scenario really went through the server and its request log.
    assert len(run.urls) > 30 and len(run.qr) == 4
    requests = [line for line in server_log.lines if re.search(r'"(GET|POST) /', line)]
    assert any('"POST /office/people' in line for line in requests), requests[-5:]
    assert any('"POST /gate/scan' in line for line in requests)
    assert any(f"/office/residents/{run.resident_id}/move-away" in line for line in requests)
    assert any('"POST /office/trace/export' in line for line in requests)
    # And nothing personal is in any URL, log line or QR code.
    assert run.leaks(server_log.lines) == []
    with in_app():
        resident = db.session.get(Resident, run.resident_id)
        assert resident.moved_away_at is not None and NAME not in resident.name
