"""The household's page on a resident's phone: members, paper passes for those without a login
(issue, print as a page and a PDF, revoke a lost one: the gate refuses it at once), and nothing
of another household, whatever the id."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import MAX_ID, AuditEntry, Notice, Pass, utcnow
from tests import factories

from .conftest import Browser, decision_of
from .test_print_passes import needs_font, pdf_pages

EN = "en-US,en;q=0.8"


def family(world) -> dict:
    """Site a's household: 张三丰 joined (the resident who acts), 李四 with a login of their
    own, 王奶奶 without a phone; site b's resident without a login, with a paper pass."""
    a = world.a
    li = factories.resident(a.household, "李四")
    grandma = factories.resident(a.household, "王奶奶")
    me = factories.user("zhang", "resident", household_id=a.household.id, resident_id=a.resident.id)
    factories.user("li", "resident", household_id=a.household.id, resident_id=li.id)
    foreign = factories.pass_for(world.b.resident, "paper")
    db.session.commit()
    return {"me": me, "li": li, "grandma": grandma, "foreign": foreign}


def phone(app, user, lang=EN) -> Browser:
    return Browser(app, lang=lang).sign_in(user)


def paper_of(resident_id: int) -> list[Pass]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Pass).where(Pass.resident_id == resident_id, Pass.kind == "paper")
        )
    )


def test_the_page_lists_the_members_with_who_has_a_login(sqlite_app, sworld):
    f = family(sworld)
    r = phone(sqlite_app, f["me"]).get("/me/household")
    assert r.status_code == 200
    page = r.text
    for name in ("张三丰", "李四", "王奶奶"):  # their own family: in full
        assert name in page
    assert "丰台小区 1号楼 unit 2 room 301" in page
    assert page.count("signs in on their phone") == 2 and "no phone login" in page
    # Only the member without a login can be given a paper pass.
    assert f'action="/me/household/members/{f["grandma"].id}/paper-passes"' in page
    assert f'action="/me/household/members/{f["li"].id}/paper-passes"' not in page
    assert f'action="/me/household/members/{sworld.a.resident.id}/paper-passes"' not in page
    assert "樱桃" not in page and "<style" not in page and "<script>" not in page


def test_the_page_is_chinese_by_default(sqlite_app, sworld):
    f = family(sworld)
    r = Browser(sqlite_app).sign_in(f["me"]).get("/me/household")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    assert "王奶奶" in r.text


def test_issue_print_and_pdf_of_a_paper_pass(sqlite_app, sworld):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    r = browser.post(f"/me/household/members/{f['grandma'].id}/paper-passes", {})
    assert r.status_code == 303 and r.headers["Location"] == "/me/household"
    (paper,) = paper_of(f["grandma"].id)
    assert paper.valid_until is None and paper.created_by_id == f["me"].id
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.target_id == paper.id)).one()
    assert entry.action == "pass.issue" and entry.user_id == f["me"].id
    assert entry.community_id == sworld.a.community.id
    page = browser.get("/me/household").text
    assert f"paper pass No. {paper.id}" in page and 'href="/me/household/passes/print"' in page
    # The print view: masked names only, the QR, the PDF link; no issuing from it.
    r = browser.get("/me/household/passes/print")
    assert r.status_code == 200
    assert re.findall(r'data-pass-id="(\d+)"', r.text) == [str(paper.id)]
    assert "王**" in r.text and "王奶奶" not in r.text and r.text.count("<svg") == 1
    assert 'href="/me/household/passes.pdf"' in r.text and "/office/" not in r.text
    assert 'href="/static/css/print.css"' in r.text


@needs_font
def test_the_pdf_decodes_to_the_pass_code_with_the_masked_name(sqlite_app, sworld):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    browser.post(f"/me/household/members/{f['grandma'].id}/paper-passes", {})
    (paper,) = paper_of(f["grandma"].id)
    r = browser.get("/me/household/passes.pdf")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="passes-household-{sworld.a.household.id}.pdf"'
    )
    assert r.headers["Cache-Control"] == "no-store"
    codes, texts = pdf_pages(r.data)
    assert codes == [factories.code(paper)]
    assert "王**" in texts[0] and "王奶奶" not in texts[0] and "丰台小区" in texts[0]
    assert factories.code(f["foreign"]) not in codes


def test_a_revoked_paper_pass_is_refused_at_the_gate_at_once(sqlite_app, sworld, stablet):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    browser.post(f"/me/household/members/{f['grandma'].id}/paper-passes", {})
    (paper,) = paper_of(f["grandma"].id)
    out = stablet.scan(factories.code(paper), direction="out", temperature=None)
    assert decision_of(out) == ("allow", [])
    r = browser.post(f"/me/passes/{paper.id}/revoke", {"reason": "丢失"})
    assert r.status_code == 303
    assert r.headers["Location"] == f"/me/household#member-{f['grandma'].id}"
    back = stablet.scan(factories.code(paper), direction="in")
    assert decision_of(back)[1] == ["revoked"]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "pass.revoke")).one()
    assert entry.user_id == f["me"].id and entry.target_id == paper.id
    # Revoked twice: said on the page, not a 500.
    r = browser.post(f"/me/passes/{paper.id}/revoke", {})
    assert r.status_code == 200 and "The pass is revoked already." in r.text
    # ...and a new one can be issued and printed.
    r = browser.post(f"/me/household/members/{f['grandma'].id}/paper-passes", {})
    assert r.status_code == 303
    fresh = [p for p in paper_of(f["grandma"].id) if p.revoked_at is None]
    assert len(fresh) == 1
    page = browser.get("/me/household/passes/print").text
    assert re.findall(r'data-pass-id="(\d+)"', page) == [str(fresh[0].id)]


def test_a_second_paper_pass_while_one_is_active_is_refused_with_the_reason(sqlite_app, sworld):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    browser.post(f"/me/household/members/{f['grandma'].id}/paper-passes", {})
    r = browser.post(f"/me/household/members/{f['grandma'].id}/paper-passes", {})
    assert r.status_code == 200
    assert "active paper pass: revoke the lost one first" in r.text
    assert len(paper_of(f["grandma"].id)) == 1


def test_a_bad_end_date_is_said_on_the_page_with_what_was_typed(sqlite_app, sworld):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    r = browser.post(
        f"/me/household/members/{f['grandma'].id}/paper-passes", {"valid_until": "2020-02-30"}
    )
    assert r.status_code == 200 and 'data-field="valid_until"' in r.text
    assert 'value="2020-02-30"' in r.text
    r = browser.post(
        f"/me/household/members/{f['grandma'].id}/paper-passes", {"valid_until": "2020-06-01"}
    )
    assert r.status_code == 200 and "must be in the future" in r.text
    assert paper_of(f["grandma"].id) == []


def test_a_member_with_a_login_gets_no_paper_pass_from_a_relative(sqlite_app, sworld):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    for member in (f["li"], sworld.a.resident):  # a relative with a login, and oneself
        r = browser.post(f"/me/household/members/{member.id}/paper-passes", {})
        assert r.status_code == 200 and "manage their own pass" in r.text
        assert paper_of(member.id) == []
    # Nor can a relative revoke the paper pass the office gave to a member with a login.
    office_given = factories.pass_for(f["li"], "paper")
    db.session.commit()
    r = browser.post(f"/me/passes/{office_given.id}/revoke", {})
    assert r.status_code == 200 and "manage their own pass" in r.text
    db.session.expire_all()
    assert db.session.get(Pass, office_given.id).revoked_at is None


@pytest.mark.parametrize("which", ["foreign_member", "foreign_pass", "phone_pass", "huge", "none"])
def test_another_households_member_or_pass_is_not_found(sqlite_app, sworld, which):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    b_resident = sworld.b.resident
    if which == "foreign_member":
        r = browser.post(f"/me/household/members/{b_resident.id}/paper-passes", {})
    elif which == "foreign_pass":
        r = browser.post(f"/me/passes/{f['foreign'].id}/revoke", {})
    elif which == "phone_pass":  # one's own household, but not a paper pass
        r = browser.post(f"/me/passes/{sworld.a.pass_.id}/revoke", {})
    elif which == "huge":
        r = browser.post(f"/me/household/members/{MAX_ID + 1}/paper-passes", {})
        assert r.status_code == 404
        r = browser.post(f"/me/passes/{10**30}/revoke", {})
    else:
        r = browser.post("/me/passes/999999/revoke", {})
    assert r.status_code == 404 and "Not found." in r.text
    db.session.expire_all()
    assert paper_of(b_resident.id) == [db.session.get(Pass, f["foreign"].id)]
    assert db.session.get(Pass, f["foreign"].id).revoked_at is None
    assert db.session.get(Pass, sworld.a.pass_.id).revoked_at is None


def test_every_post_needs_the_csrf_token(sqlite_app, sworld):
    f = family(sworld)
    browser = phone(sqlite_app, f["me"])
    paper = factories.pass_for(f["grandma"], "paper")
    db.session.commit()
    for url in (
        f"/me/household/members/{f['grandma'].id}/paper-passes",
        f"/me/passes/{paper.id}/revoke",
    ):
        r = browser.post(url, {}, csrf=False)
        assert r.status_code == 400
    db.session.expire_all()
    assert [p.revoked_at for p in paper_of(f["grandma"].id)] == [None]


@pytest.mark.parametrize(
    "path", ["/me/household", "/me/household/passes/print", "/me/household/passes.pdf"]
)
def test_staff_and_unjoined_users_may_not_open_the_household_pages(sqlite_app, sworld, path):
    assert Browser(sqlite_app).get(path).status_code == 302
    for user in (sworld.a.office, sworld.a.guard, sworld.worker, sworld.resident_user):
        assert Browser(sqlite_app).sign_in(user).get(path).status_code == 403


def test_the_notices_that_concern_the_household_are_on_top(sqlite_app, sworld):
    f = family(sworld)
    a, now = sworld.a, utcnow()
    db.session.add_all(
        [
            Notice(
                community_id=a.community.id,
                title="核酸检测通知",
                body="周六 8:00\n东门",
                created_at=now - timedelta(hours=2),
            ),
            Notice(
                community_id=a.community.id,
                compound_id=a.compound.id,
                building_id=a.building.id,
                title="1号楼消毒",
                body="上午",
                created_at=now - timedelta(hours=1),
            ),
            Notice(community_id=a.community.id, title="已结束", body="x", expires_at=now),
            Notice(community_id=sworld.b.community.id, title="樱桃通知", body="x"),
        ]
    )
    db.session.commit()
    page = phone(sqlite_app, f["me"]).get("/me/household").text
    assert "核酸检测通知" in page and "1号楼消毒" in page
    assert page.index("1号楼消毒") < page.index("核酸检测通知") < page.index("My household")
    assert "<p>周六 8:00</p><p>东门</p>" in page
    assert "已结束" not in page and "樱桃通知" not in page
