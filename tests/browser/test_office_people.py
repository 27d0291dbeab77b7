"""The office's people pages driven as the office would: the 35 exam students get their
exemptions in one action from the exemptions page (ticked across two searches), and one of
them goes out and back through a building sealed in-only; a lost paper pass is revoked on the
household's page and refused at the tablet."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect as _expect
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Building, Household, Pass, utcnow
from kiosk.services.passes import code_for

from .. import factories
from ._gate import no_temperature_rule, result, scan
from .conftest import enrol_and_sign_in, new_page, screenshot
from .test_office import office_signs_in

expect = type(_expect)()
expect.set_options(timeout=10_000)


def local(live_app, when) -> str:
    return when.astimezone(live_app.config["TZ"]).strftime("%Y-%m-%dT%H:%M")


def test_35_exam_exemptions_in_one_action_then_one_out_and_back(
    page, browser, live, live_app, site, in_app
):
    no_temperature_rule(in_app, site)
    with in_app():
        building = db.session.get(Building, site.a.building.id)
        building.seal_state = "in_only"
        extra = Household(building_id=building.id, unit="3", room="502")
        db.session.add(extra)
        db.session.flush()
        homes = [site.a.household, extra]
        students = [factories.resident(homes[i % 2], f"考生{i:02d}") for i in range(35)]
        db.session.commit()
        student_ids = [s.id for s in students]
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/exemptions")
    form = page.locator("[data-testid=issue-exemptions]")
    # The first search: room 301's students, all ticked.
    form.locator("input[name=room]").fill("301")
    form.locator("input[name=q]").fill("考生")
    form.locator("[data-testid=pick-search]").click()
    found = page.locator("[data-testid=pick-results] input[type=checkbox]")
    expect(found).to_have_count(18)
    for box in found.all():
        box.check()
    # The second search: room 502's; the ticks of the first stay in the chosen list.
    form.locator("input[name=room]").fill("502")
    form.locator("[data-testid=pick-search]").click()
    expect(page.locator("[data-testid=chosen] input:checked")).to_have_count(18)
    found = page.locator("[data-testid=pick-results] input[type=checkbox]")
    expect(found).to_have_count(17)
    for box in found.all():
        box.check()
    start = utcnow() - timedelta(minutes=5)
    form.locator("input[name=purpose]").fill("高考")
    form.locator("input[name=valid_from]").fill(local(live_app, start))
    form.locator("input[name=valid_until]").fill(local(live_app, start + timedelta(hours=6)))
    form.get_by_role("button", name="发给所有已勾选的人").click()
    expect(page.locator(".flash")).to_contain_text("35")
    expect(page.locator("[data-testid=exemptions] tbody tr.exemption-unused")).to_have_count(35)
    screenshot(page, "office-exemptions-zh")

    with in_app():
        issued = db.session.scalars(select(Pass).where(Pass.kind == "exemption")).all()
        assert sorted(p.resident_id for p in issued) == sorted(student_ids)
        first = next(p for p in issued if p.resident_id == student_ids[0])
        code = code_for(first)
    tablet = new_page(browser)
    enrol_and_sign_in(tablet, live, site)
    tablet.click("[data-direction=out]")
    scan(tablet, code)
    assert result(tablet)["decision"] == "allow"
    page.reload()
    expect(page.locator(f"tr[data-pass-id='{first.id}']")).to_have_class("exemption-out")
    tablet.click("[data-direction=in]")
    scan(tablet, code)
    assert result(tablet)["decision"] == "allow"
    page.reload()
    expect(page.locator(f"tr[data-pass-id='{first.id}']")).to_have_class("exemption-back")


def test_a_lost_paper_pass_is_revoked_and_refused_at_the_tablet(page, browser, live, site, in_app):
    no_temperature_rule(in_app, site)
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/people")
    page.locator("input[name=q]").fill(site.a.resident.name)
    page.get_by_role("button", name="搜索").click()
    page.locator("[data-testid=people-results]").get_by_role(
        "link", name=site.a.resident.name
    ).click()
    page.wait_for_url(f"**/office/households/{site.a.household.id}")
    member = page.locator(f"section[data-resident-id='{site.a.resident.id}']")
    member.locator("select[name=kind]").select_option("paper")
    member.get_by_role("button", name="发放通行证").click()
    expect(page.locator(".flash")).to_contain_text("纸质通行证")
    screenshot(page, "office-household-zh")
    with in_app():
        paper = db.session.scalars(select(Pass).where(Pass.kind == "paper")).one()
        code = code_for(paper)
    row = page.locator(f"tr[data-pass-id='{paper.id}']")
    row.locator("input[name=reason]").fill("丢失")
    row.get_by_role("button", name="吊销").click()
    expect(page.locator(f"tr[data-pass-id='{paper.id}']")).to_contain_text("已吊销")
    tablet = new_page(browser)
    enrol_and_sign_in(tablet, live, site)
    tablet.click("[data-direction=out]")
    scan(tablet, code)
    shown = result(tablet)
    assert (shown["decision"], shown["reasons"]) == ("deny", "revoked")


def test_a_household_put_under_observation_from_its_page_has_its_member_refused(
    page, browser, live, live_app, site, in_app
):
    no_temperature_rule(in_app, site)
    with in_app():
        code = code_for(site.a.pass_)
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/observation")
    form = page.locator("[data-testid=observe]")
    form.locator("select[name=household_ids]").select_option(str(site.a.household.id))
    until = utcnow() + timedelta(days=14)
    form.locator("input[name=observation_until]").fill(local(live_app, until))
    form.locator("input[name=observation_reason]").fill("30日后去过新发地市场")
    form.get_by_role("button", name="保存").click()
    row = page.locator(f"tr[data-household-id='{site.a.household.id}']")
    expect(row).to_contain_text("30日后去过新发地市场")
    expect(row).to_contain_text("14")
    page.goto(live.url + f"/office/households/{site.a.household.id}")
    expect(page.locator("[data-testid=rule]")).to_contain_text("您家正在居家观察")
    screenshot(page, "office-household-observed-zh")

    tablet = new_page(browser)
    enrol_and_sign_in(tablet, live, site)
    tablet.click("[data-direction=out]")
    scan(tablet, code)
    shown = result(tablet)
    assert (shown["decision"], shown["reasons"]) == ("deny", "home_observation")


def test_an_outing_quota_set_on_the_compounds_page_refuses_the_second_exit(
    page, browser, live, site, in_app
):
    """One exit per household per day: the resident goes out and back, then is refused at the
    second exit with the reason, on the tablet."""
    no_temperature_rule(in_app, site)
    with in_app():
        code = code_for(site.a.pass_)
    office_signs_in(page, live, site)
    page.goto(live.url + "/office/compounds")
    form = page.locator(f"form[data-quota-compound='{site.a.compound.id}']")
    form.locator("input[name=quota_exits]").fill("1")
    form.get_by_role("button", name="保存限额").click()
    form = page.locator(f"form[data-quota-compound='{site.a.compound.id}']")
    expect(form.locator("input[name=quota_exits]")).to_have_value("1")
    screenshot(page, "office-compounds-quota-zh")

    tablet = new_page(browser)
    enrol_and_sign_in(tablet, live, site)
    last = None
    for direction, expected in (("out", "allow"), ("in", "allow")):
        tablet.click(f"[data-direction={direction}]")
        scan(tablet, code)
        shown = result(tablet, not_event=last)
        assert shown["decision"] == expected
        last = shown["eventId"]
    tablet.click("[data-direction=out]")
    scan(tablet, code)
    shown = result(tablet, not_event=last)
    assert (shown["decision"], shown["reasons"]) == ("deny", "quota_exceeded")
    assert "外出次数已用完" in shown["text"]
