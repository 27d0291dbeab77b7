"""Every page once in Chinese (the default) and once in English, each with a screenshot.

Besides the expected heading, each page's interface text (headings, buttons, labels, legends,
table heads, paragraphs, messages) is checked for the other language leaking through: English
words on a Chinese page, Chinese characters on an English page (data such as the compound's
name and the residents' names is Chinese in both and is taken out first).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect as _expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import RiskArea, User, utcnow
from kiosk.services import retention
from kiosk.services import scan as scan_service
from kiosk.services.gate import GateAction
from kiosk.services.passes import code_for

from .. import factories
from .conftest import PIN, new_page, screenshot

# This file's own expect(), as patient as the page's actions (10 s, conftest.new_page): the
# default 5 s is short for a shared two-core machine. The global default is left alone.
expect = type(_expect)()
expect.set_options(timeout=10_000)


@pytest.fixture(autouse=True)
def _results_stay_until_dismissed(live_app, monkeypatch):
    """A result screen clears itself after a few seconds (test_wedge checks that); here it stays
    until the guard taps "Next", so what is read off it cannot vanish on a slow machine."""
    monkeypatch.setitem(live_app.config, "GATE_RESULT_SECONDS", 120)


LOCALES = {"zh": "zh-CN", "en": "en-US"}

# What each page must say, in each language.
TEXT = {
    "home": ("封闭管理小区门岗核验", "Gate check for closed compounds"),
    "sign_in": ("登录", "Sign in"),
    "signed_in": ("已登录：office_a。", "Signed in as office_a."),
    "not_found": ("未找到。", "Not found."),
    "enrol": ("登记此平板", "Enrol this tablet"),
    "enrol_button": ("登记", "Enrol"),
    "guard_sign_in": ("门岗登录", "Guard sign-in"),
    "start_shift": ("开始值班", "Start shift"),
    "in": ("进", "IN"),
    "out": ("出", "OUT"),
    "visitor": ("访客", "Visitor"),
    "visitors_inside": ("在内访客", "Visitors inside"),
    "no_code": ("无码", "No code"),
    "end_shift": ("交班", "End shift"),
    "temperature": ("体温（°C）", "Temperature (°C)"),
    "allow": ("放行", "ALLOW"),
    "deny": ("禁止", "DENY"),
    "invalid_code": ("不是本小区有效的通行码", "Not a valid pass code for this compound"),
    "next": ("下一位", "Next"),
    "lookup": ("无码：查找居民", "No code: find the resident"),
    "register_visitor": ("访客登记", "Register a visitor"),
    "check_visitor": ("核验访客", "Check visitor"),
    "left": ("已离开", "Left"),
    "fever_alerts": ("发热警报", "Fever alerts"),
    "handled": ("标记为已处理", "Mark as handled"),
    "gate_tablets": ("门岗平板", "Gate tablets"),
    "add_tablet": ("添加平板", "Add tablet"),
    "guards": ("门岗人员", "Guards"),
    "staff": ("工作人员账号", "Staff accounts"),
    "create_account": ("创建账号", "Create the account"),
    "audit": ("操作记录", "Audit trail"),
    "places": ("楼栋与住户", "Buildings and households"),
    "households": ("住户", "Households"),
    "members": ("成员", "Members"),
    "paper_passes": ("纸质通行证", "Paper passes"),
    "search": ("搜索", "Search"),
    "people": ("居民查询", "People"),
    "trace": ("人员追踪", "Trace a person"),
    "trace_report": ("追踪：", "Trace:"),
    "exemptions": ("豁免管理", "Exemptions"),
    "test_results": ("核酸结果", "Test results"),
    "screening": ("核查名单", "Screening lists"),
    "sensors": ("门磁", "Door sensors"),
    "alarms": ("门磁报警", "Door alarms"),
    "disinfection": ("消杀", "Disinfection"),
    "notices": ("通知", "Notices"),
    "requests": ("代办服务", "Deliveries"),
    "seals": ("封控管理", "Seals"),
    "observation": ("居家观察", "Home observation"),
    "set_pin": ("设置 PIN 码", "Set PIN"),
    "risk_areas": ("风险地区", "Risk areas"),
    "compounds": ("小区与访客", "Compounds and visitors"),
    "retention": ("数据保留", "Data retention"),
    "import": ("导入导出人员", "Import and export people"),
    "check_file": ("检查文件", "Check the file"),
    "poster_link": ("访客登记海报", "Visitor poster"),
    "poster": (
        "访客请扫码，到门口前先登记。",
        "Visitors: scan to register before you reach the gate.",
    ),
    "visit_form": ("访客登记", "Visitor registration"),
    "get_code": ("获取访客码", "Get my code"),
    "your_code": ("您的访客码", "Your visitor code"),
}

# Data, not interface text: the same in both languages.
DATA = [
    "丰台小区",
    "丰台社区",
    "东门",
    "1号楼",
    "新发地批发市场",
    "李四光",
    "李**",
    "张**",
    "王五",
    "王*",
    "2号平板",
    "张三丰",
    "花乡街道",
]
LATIN_ALLOWED = {
    "kiosk",
    "PIN",
    "API",
    "JSON",
    "USB",
    "CSV",
    "Excel",
    "xlsx",
    "MB",
    "PDF",
    "QR",
    "UTF",
    "GBK",
}
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")

_UI_TEXT_JS = """() => Array.from(document.querySelectorAll(
    'h1, h2, button, label, legend, th, p, .error, .flash, .verdict, .reasons li, td.empty'))
  .filter(e => e.getClientRects().length && !e.closest('[lang]:not(html)'))
  .map(e => e.innerText)"""


def t(key: str, lang: str) -> str:
    zh, en = TEXT[key]
    return zh if lang == "zh" else en


def wrong_language(page, lang: str) -> list[str]:
    """Bits of interface text in the other language (empty when the page is all in ``lang``)."""
    found = []
    for text in page.evaluate(_UI_TEXT_JS):
        for token in DATA:
            text = text.replace(token, " ")
        text = re.sub(r"https?://\S+|/\S+|K1V:\S+|\b[A-Z0-9]{8}\b|\b\w+_[ab]\b|°C", " ", text)
        if lang == "zh":
            found += [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in LATIN_ALLOWED]
        else:
            found += CJK.findall(text)
    return found


def check(page, lang: str, name: str, heading, key: str):
    """The heading says ``key`` in ``lang``, nothing is in the other language; a screenshot."""
    expect(heading).to_contain_text(t(key, lang))
    heading_text = heading.inner_text()
    if lang == "zh":
        assert CJK.search(heading_text), heading_text
    assert not wrong_language(page, lang), (name, wrong_language(page, lang))
    screenshot(page, f"{name}-{lang}")


def sign_in(page, live, username: str):
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(live.url + "/")


def closed(page):
    errors = list(page.js_errors)
    page.context.close()
    return errors


def keypad_36_5(page):
    keypad = page.locator("#keypad")
    for key in "36.5":
        keypad.locator(f"[data-key='{key}']").click()
    expect(page.locator("[data-testid=keypad-display]")).to_have_text("36.5")
    keypad.locator("[data-action=keypad-ok]").click()


def fill_visitor(form, site, name="李四光"):
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=phone]").fill("13800138000")
    form.locator("select[name=host_household_id]").select_option(str(site.a.household.id))
    form.locator("input[name=purpose][value=delivery]").check()
    form.locator("input[name=health_code][value=green]").check()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_in_both_languages(browser, live, site, in_app, lang):
    with in_app():
        code = code_for(site.a.pass_)
        db.session.add(
            RiskArea(
                community_id=site.a.community.id,
                name="新发地批发市场",
                level="high",
                since=utcnow(),
            )
        )
        db.session.commit()
        fever = scan_service.scan(GateAction(device_token=site.a.device_token), code, "in", 38.4)
        assert fever.reasons == ("fever",)
    locale = LOCALES[lang]
    errors = {}

    # --- anyone: home, sign-in, a missing page ------------------------------------------------
    anon = new_page(browser, locale=locale)
    anon.goto(live.url + "/")
    expect(anon.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    check(anon, lang, "home", anon.locator("h1"), "home")
    anon.goto(live.url + "/auth/login")
    check(anon, lang, "login", anon.locator("h1"), "sign_in")
    expect(anon.locator("main button[type=submit]")).to_have_text(t("sign_in", lang))
    response = anon.goto(live.url + "/no/such/page")
    assert response.status == 404
    expect(anon.locator("main .error")).to_have_text(t("not_found", lang))
    expect(anon.locator("h1")).to_have_text("404")
    assert not wrong_language(anon, lang), wrong_language(anon, lang)
    screenshot(anon, f"404-{lang}")

    # --- the visitor's phone: the self-registration form and the code page -------------------------
    anon.set_viewport_size({"width": 390, "height": 844})
    anon.goto(f"{live.url}/visit/{site.a.compound.public_slug}")
    check(anon, lang, "visit-form", anon.locator("h1"), "visit_form")
    expect(anon.locator("main h1")).to_contain_text("丰台小区")
    fill_visitor(anon.locator("main form"), site, name="王五")
    anon.get_by_role("button", name=t("get_code", lang)).click()
    expect(anon.locator("[data-testid=visitor-qr] svg")).to_be_visible()
    check(anon, lang, "visit-code", anon.locator("h1"), "your_code")
    errors["anon"] = closed(anon)

    # --- the gate tablet ---------------------------------------------------------------------------
    tablet = new_page(browser, locale=locale)
    tablet.goto(live.url + "/gate")
    tablet.wait_for_url("**/gate/enrol")
    check(tablet, lang, "gate-enrol", tablet.locator("h1"), "enrol")
    tablet.fill("input[name=code]", site.a.extra["enrol_code"])
    tablet.get_by_role("button", name=t("enrol_button", lang), exact=True).click()
    tablet.wait_for_url("**/gate/login")
    check(tablet, lang, "gate-login", tablet.locator("h1"), "guard_sign_in")
    expect(tablet.locator("h1")).to_contain_text("丰台小区 东门")
    tablet.fill("input[name=username]", "guard_a")
    tablet.fill("input[name=pin]", PIN)
    tablet.get_by_role("button", name=t("start_shift", lang)).click()
    tablet.wait_for_url("**/gate")
    expect(tablet.locator("#wedge")).to_be_focused()
    for key in ("in", "out"):
        expect(tablet.get_by_role("radio", name=t(key, lang), exact=True)).to_be_visible()
    for key in ("visitor", "visitors_inside", "no_code", "end_shift"):
        expect(tablet.get_by_role("button", name=t(key, lang), exact=True)).to_be_visible()
    expect(tablet.locator("h1")).to_have_text("丰台小区 · 东门")
    assert not wrong_language(tablet, lang), wrong_language(tablet, lang)
    screenshot(tablet, f"gate-scan-{lang}")

    # The keypad, then an allow screen.
    tablet.keyboard.type(code)
    tablet.keyboard.press("Enter")
    keypad = tablet.locator("#keypad")
    expect(keypad).to_be_visible()
    for key in "36.5":
        keypad.locator(f"[data-key='{key}']").click()
    check(tablet, lang, "gate-keypad", keypad.locator("h2"), "temperature")
    keypad.locator("[data-action=keypad-ok]").click()
    result = tablet.locator("#result [data-decision]")
    expect(result).to_have_attribute("data-decision", "allow")
    check(tablet, lang, "gate-result-allow", result.locator(".verdict"), "allow")
    expect(result.locator(".holder .name")).to_have_text("张**")
    result.get_by_role("button", name=t("next", lang)).click()
    expect(tablet.locator("#result")).to_be_empty()

    # A deny screen: a code that is not a pass.
    tablet.keyboard.type(code[:-1] + ("A" if code[-1] != "A" else "B"))
    tablet.keyboard.press("Enter")
    expect(keypad).to_be_visible()
    keypad_36_5(tablet)
    expect(result).to_have_attribute("data-decision", "deny")
    expect(result.locator(".reasons")).to_have_text(t("invalid_code", lang))
    check(tablet, lang, "gate-result-deny", result.locator(".verdict"), "deny")
    result.get_by_role("button", name=t("next", lang)).click()
    expect(tablet.locator("#result")).to_be_empty()

    # The no-code look-up sheet.
    tablet.get_by_role("button", name=t("no_code", lang), exact=True).click()
    check(tablet, lang, "gate-lookup", tablet.locator("#sheet #lookup h2"), "lookup")
    tablet.locator("#sheet [data-action=close-sheet]").click()
    expect(tablet.locator("#sheet")).to_be_empty()

    # The visitor sheet; a visitor goes in; the visitors inside.
    tablet.get_by_role("button", name=t("visitor", lang), exact=True).click()
    form = tablet.locator("#sheet #visitor-form")
    check(tablet, lang, "gate-visitor", form.locator("h2"), "register_visitor")
    fill_visitor(form, site)
    form.locator("input[name=temperature]").fill("36.4")
    form.get_by_role("button", name=t("check_visitor", lang)).click()
    expect(result).to_have_attribute("data-decision", "allow")
    result.get_by_role("button", name=t("next", lang)).click()
    expect(tablet.locator("#result")).to_be_empty()
    tablet.get_by_role("button", name=t("visitors_inside", lang), exact=True).click()
    inside = tablet.locator("#sheet #visitors-inside")
    expect(inside.locator("tbody tr")).to_have_count(1)
    expect(inside.get_by_role("button", name=t("left", lang))).to_be_visible()
    check(tablet, lang, "gate-visitors-inside", inside.locator("h2"), "visitors_inside")
    errors["tablet"] = closed(tablet)

    # --- the community office ----------------------------------------------------------------------
    office = new_page(browser, locale=locale)
    sign_in(office, live, "office_a")
    expect(office.locator(".flash")).to_have_text(t("signed_in", lang))
    office.goto(live.url + "/office")
    expect(office.locator("tr[data-alert-id]")).to_contain_text("38.4 °C")
    expect(office.get_by_role("button", name=t("handled", lang))).to_be_visible()
    check(office, lang, "office", office.locator("h1"), "fever_alerts")

    office.goto(live.url + "/office/devices")
    office.select_option("select[name=gate_id]", str(site.a.gate.id))
    office.fill("input[name=name]", "2号平板")
    office.get_by_role("button", name=t("add_tablet", lang)).click()
    expect(office.locator("[data-testid=enrol-code]")).to_have_text(re.compile(r"^[A-Z2-9]{8}$"))
    check(office, lang, "office-devices", office.locator("h1"), "gate_tablets")

    office.goto(live.url + "/office/guards")
    expect(office.get_by_role("button", name=t("set_pin", lang)).first).to_be_visible()
    check(office, lang, "office-guards", office.locator("h1"), "guards")

    office.goto(live.url + "/office/staff")
    expect(office.get_by_role("button", name=t("create_account", lang))).to_be_visible()
    check(office, lang, "office-staff", office.locator("h1"), "staff")

    office.goto(live.url + "/office/seals")
    expect(office.locator("tr.compound").first).to_be_visible()
    check(office, lang, "office-seals", office.locator("h1"), "seals")

    office.goto(live.url + "/office/observation")
    expect(office.locator("[data-testid=observe]")).to_be_visible()
    check(office, lang, "office-observation", office.locator("h1"), "observation")

    office.goto(live.url + "/office/audit")
    expect(office.locator("[data-testid=audit-filters]")).to_be_visible()
    check(office, lang, "office-audit", office.locator("h1"), "audit")

    office.goto(live.url + "/office/risk-areas")
    expect(office.locator("main table")).to_contain_text("新发地批发市场")
    check(office, lang, "office-risk-areas", office.locator("h1"), "risk_areas")

    office.goto(live.url + "/office/places")
    expect(office.locator(f"tr[data-building-id='{site.a.building.id}']")).to_be_visible()
    check(office, lang, "office-places", office.locator("h1"), "places")

    office.goto(live.url + f"/office/buildings/{site.a.building.id}")
    expect(office.locator("[data-testid=rule]")).to_be_visible()
    check(office, lang, "office-building", office.locator("h2").first, "households")

    office.goto(live.url + f"/office/households/{site.a.household.id}")
    expect(office.locator("[data-testid=rule]")).to_be_visible()
    check(office, lang, "office-household", office.locator("h2").first, "members")

    office.goto(live.url + f"/office/buildings/{site.a.building.id}/passes/print")
    check(office, lang, "office-print-passes", office.locator("h1"), "paper_passes")

    office.goto(live.url + "/office/people")
    office.locator("input[name=q]").fill(site.a.resident.name)
    office.get_by_role("button", name=t("search", lang)).click()
    expect(office.locator("[data-testid=people-results] tbody tr")).to_have_count(1)
    check(office, lang, "office-people", office.locator("h1"), "people")

    # Tracing: the find page, the resident's trace form and the report.
    office.goto(live.url + "/office/trace")
    expect(office.locator("[data-testid=visitor-search]")).to_be_visible()
    check(office, lang, "office-trace", office.locator("h1"), "trace")
    office.goto(live.url + f"/office/trace?resident_id={site.a.resident.id}")
    trace_form = office.locator("[data-testid=trace-form]")
    check(office, lang, "office-trace-form", office.locator("h1"), "trace")
    trace_form.locator("input[name=reason]").fill("2026-17")
    trace_form.locator("button[type=submit]").click()
    expect(office.locator("[data-testid=direct-contacts]")).to_contain_text("李四光")
    check(office, lang, "office-trace-report", office.locator("h1"), "trace_report")

    office.goto(live.url + "/office/exemptions")
    expect(office.locator("[data-testid=issue-exemptions]")).to_be_visible()
    check(office, lang, "office-exemptions", office.locator("h1"), "exemptions")

    office.goto(live.url + "/office/tests")
    expect(office.locator("[data-testid=tests-upload]")).to_be_visible()
    check(office, lang, "office-tests", office.locator("h1"), "test_results")

    for path, key in (
        ("/office/screening", "screening"),
        ("/office/sensors", "sensors"),
        ("/office/alarms", "alarms"),
        ("/office/disinfection", "disinfection"),
        ("/office/notices", "notices"),
        ("/office/requests", "requests"),
    ):
        office.goto(live.url + path)
        check(office, lang, "office-" + key, office.locator("h1"), key)

    office.goto(live.url + "/office/import")
    expect(office.get_by_role("button", name=t("check_file", lang))).to_be_visible()
    check(office, lang, "office-import", office.locator("h1"), "import")

    # Retention: never purged yet, then after a purge 60 days ahead (the fever scan is counted).
    office.goto(live.url + "/office/retention")
    expect(office.locator("[data-testid=never-run]")).to_be_visible()
    check(office, lang, "office-retention", office.locator("h1"), "retention")
    with in_app():
        retention.purge(utcnow() + timedelta(days=60))
    office.reload()
    expect(office.locator("[data-testid=last-purge-deleted]")).to_be_visible()
    expect(
        office.locator(f"[data-testid=daily-counts] tr[data-gate-id='{site.a.gate.id}']")
    ).to_have_count(1)
    check(office, lang, "office-retention-purged", office.locator("h1"), "retention")

    office.goto(live.url + "/office/compounds")
    check(office, lang, "office-compounds", office.locator("h1"), "compounds")
    office.get_by_role("link", name=t("poster_link", lang)).first.click()
    office.wait_for_url("**/poster")
    expect(office.locator(".qr svg")).to_be_visible()
    expect(office.locator("h1")).to_have_text("丰台小区")
    check(office, lang, "poster", office.locator("p").first, "poster")
    errors["office"] = closed(office)

    assert errors == {"anon": [], "tablet": [], "office": []}


def test_language_switch_in_the_top_bar_is_remembered(page, browser, live, site, in_app):
    page.goto(live.url + "/")
    expect(page.locator("h1")).to_have_text(TEXT["home"][0])
    page.locator(".topbar").get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text(TEXT["home"][1])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".topbar").get_by_role("button", name="中文")).to_be_visible()
    assert page.url == live.url + "/"  # back on the page where the switch was made

    # Remembered for this browser, on other pages and after signing in.
    page.goto(live.url + "/auth/login")
    expect(page.locator("h1")).to_have_text("Sign in")
    sign_in(page, live, "office_a")
    expect(page.locator(".flash")).to_have_text("Signed in as office_a.")
    page.goto(live.url + "/office/risk-areas")
    expect(page.locator("h1")).to_have_text("Risk areas")

    # Switched back while signed in: the choice is saved on the user and follows them.
    page.locator(".topbar").get_by_role("button", name="中文").click()
    page.wait_for_url("**/office/risk-areas")
    expect(page.locator("h1")).to_have_text("风险地区")
    with in_app():
        assert db.session.scalar(select(User.locale).where(User.username == "office_a")) == "zh_CN"

    other = new_page(browser, locale="en-US")  # another browser that prefers English
    try:
        other.goto(live.url + "/auth/login")
        expect(other.locator("h1")).to_have_text("Sign in")
        sign_in(other, live, "office_a")
        expect(other.locator("h1")).to_have_text(TEXT["home"][0])
        assert not other.js_errors
    finally:
        other.context.close()
