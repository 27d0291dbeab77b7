"""Notices: the office posts one for its community, a compound or a building and withdraws it;
residents see the ones that concern them, newest first, until they end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.contract.notices import NoticeCreate
from kiosk.extensions import db
from kiosk.models import AuditEntry, Building, Household, Notice, utcnow
from kiosk.services import notices
from kiosk.services.errors import Conflict, Forbidden, Invalid, NotFound
from tests import factories

from .conftest import Browser

EN = "en-US,en;q=0.8"


def office(app, world) -> Browser:
    return Browser(app, lang=EN).sign_in(world.a.office)


def joined(world, site=None, household=None):
    site = site or world.a
    household = household or site.household
    res = factories.resident(household, "赵六")
    u = factories.user(f"r{res.id}", "resident", household_id=household.id, resident_id=res.id)
    db.session.commit()
    return u


def all_notices() -> list[Notice]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notice).order_by(Notice.id)))


def test_the_office_posts_a_notice_for_a_building(sqlite_app, sworld):
    a = sworld.a
    browser = office(sqlite_app, sworld)
    r = browser.get("/office/notices")
    assert r.status_code == 200 and "<h1>Notices</h1>" in r.text
    assert 'href="/office/notices"' in r.text  # the nav link
    r = browser.post(
        "/office/notices",
        {
            "title": "核酸检测",
            "body": "周六 8:00–11:00\r\n东门广场",
            "building_id": str(a.building.id),
            "expires_at": (utcnow() + timedelta(days=2))
            .astimezone(sqlite_app.config["TZ"])
            .strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert r.status_code == 303 and r.headers["Location"] == "/office/notices"
    (notice,) = all_notices()
    assert notice.community_id == a.community.id
    assert (notice.compound_id, notice.building_id) == (a.compound.id, a.building.id)
    assert notice.body == "周六 8:00–11:00\n东门广场" and notice.created_by_id == a.office.id
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.create")).one()
    assert entry.target_type == "notice" and entry.target_id == notice.id
    page = browser.get("/office/notices").text
    assert "核酸检测" in page and "丰台小区 1号楼" in page
    assert f'action="/office/notices/{notice.id}/withdraw"' in page


def test_every_field_error_at_once_with_what_was_typed(sqlite_app, sworld):
    browser = office(sqlite_app, sworld)
    r = browser.post(
        "/office/notices",
        {"title": "", "body": "", "building_id": "²", "expires_at": "tomorrow"},
    )
    assert r.status_code == 200
    for field in ("title", "body", "building_id", "expires_at"):
        assert f'data-field="{field}"' in r.text, field
    assert 'value="tomorrow"' in r.text
    assert all_notices() == []


@pytest.mark.parametrize("where", ["foreign_building", "foreign_compound", "mismatch", "past"])
def test_a_place_out_of_reach_or_a_past_end_is_refused(sqlite_app, sworld, where):
    a, b = sworld.a, sworld.b
    other = Building(compound_id=b.compound.id, name="9号楼")
    db.session.add(other)
    db.session.commit()
    form = {"title": "t", "body": "b"}
    if where == "foreign_building":
        form["building_id"] = str(b.building.id)
    elif where == "foreign_compound":
        form["compound_id"] = str(b.compound.id)
    elif where == "mismatch":
        form["compound_id"], form["building_id"] = str(a.compound.id), str(other.id)
    else:
        form["expires_at"] = "2020-06-13T08:00"
    r = office(sqlite_app, sworld).post("/office/notices", form)
    assert r.status_code == 200 and 'class="error"' in r.text
    assert all_notices() == []


def test_withdraw_ends_it_now_and_twice_is_said(sqlite_app, sworld):
    a = sworld.a
    notice = notices.create(a.office, NoticeCreate(title="t", body="b"))
    browser = office(sqlite_app, sworld)
    r = browser.post(f"/office/notices/{notice.id}/withdraw", {})
    assert r.status_code == 303
    (row,) = all_notices()
    assert row.expires_at is not None and row.expires_at <= utcnow()
    assert (
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "notice.withdraw"))
        .one()
        .target_id
        == notice.id
    )
    r = browser.post(f"/office/notices/{notice.id}/withdraw", {})
    assert r.status_code == 200 and "The notice is no longer shown." in r.text
    with sqlite_app.test_request_context(), pytest.raises(Conflict):
        notices.withdraw(a.office, notice.id)


def test_another_communitys_notice_is_not_found(sqlite_app, sworld):
    theirs = notices.create(sworld.b.office, NoticeCreate(title="樱桃", body="b"))
    browser = office(sqlite_app, sworld)
    r = browser.post(f"/office/notices/{theirs.id}/withdraw", {})
    assert r.status_code == 404
    assert "樱桃" not in browser.get("/office/notices").text
    assert all_notices()[0].expires_at is None
    with sqlite_app.test_request_context(), pytest.raises(NotFound):
        notices.withdraw(sworld.a.office, theirs.id)


def test_street_users_name_the_community(sqlite_app, sworld):
    street = sworld.street_user
    with sqlite_app.test_request_context(), pytest.raises(Invalid):
        notices.create(street, NoticeCreate(title="t", body="b"))
    posted = notices.create(
        street, NoticeCreate(title="t", body="b", community_id=sworld.b.community.id)
    )
    assert posted.community_id == sworld.b.community.id and posted.place == "樱桃社区"
    r = Browser(sqlite_app, lang=EN).sign_in(street).get("/office/notices")
    assert r.status_code == 200 and 'name="community_id"' in r.text


def test_residents_see_what_concerns_them_until_it_ends(sqlite_app, sworld):
    a, b, now = sworld.a, sworld.b, utcnow()
    other_building = Building(compound_id=a.compound.id, name="2号楼")
    db.session.add(other_building)
    db.session.flush()
    neighbour_home = Household(building_id=other_building.id, unit="1", room="101")
    db.session.add(neighbour_home)
    db.session.commit()
    me = joined(sworld)
    neighbour = joined(sworld, household=neighbour_home)
    foreigner = joined(sworld, site=b)
    office_user = a.office
    whole = notices.create(office_user, NoticeCreate(title="社区", body="x"), now - timedelta(3))
    compound = notices.create(
        office_user, NoticeCreate(title="小区", body="x", compound_id=a.compound.id), now
    )
    building = notices.create(
        office_user,
        NoticeCreate(
            title="1号楼",
            body="x",
            building_id=a.building.id,
            expires_at=(now + timedelta(hours=1)).isoformat(),
        ),
        now - timedelta(1),
    )
    notices.create(sworld.b.office, NoticeCreate(title="樱桃", body="x"))

    def titles(user, at):
        return [n.title for n in notices.for_resident(user, at)]

    assert titles(me, now) == ["小区", "1号楼", "社区"]  # newest first
    assert titles(neighbour, now) == ["小区", "社区"]
    assert titles(foreigner, now) == ["樱桃"]
    # The building's ends at its expiry: shown before, gone at and after.
    end = building.expires_at
    assert "1号楼" in titles(me, end - timedelta(seconds=1))
    assert "1号楼" not in titles(me, end)
    assert "1号楼" not in titles(me, end + timedelta(seconds=1))
    notices.withdraw(office_user, whole.id)
    assert titles(me, utcnow()) == ["小区", "1号楼"]
    del compound
    with sqlite_app.test_request_context():
        with pytest.raises(Forbidden):
            notices.for_resident(a.office, now)
        with pytest.raises(Forbidden):
            notices.for_resident(
                sworld.resident_user, now
            )  # not joined to a record  # not joined to a record


def test_the_partial_renders_on_the_household_page(sqlite_app, sworld):
    me = joined(sworld)
    notices.create(sworld.a.office, NoticeCreate(title="<b>通知</b>", body="第一段\n\n第二段"))
    page = Browser(sqlite_app).sign_in(me).get("/me/household").text
    assert "&lt;b&gt;通知&lt;/b&gt;" in page and "<p>第一段</p><p>第二段</p>" in page


def test_staff_only(sqlite_app, sworld):
    me = joined(sworld)
    for user in (me, sworld.a.guard, sworld.worker):
        assert Browser(sqlite_app).sign_in(user).get("/office/notices").status_code == 403
        r = Browser(sqlite_app).sign_in(user).post("/office/notices", {"title": "t", "body": "b"})
        assert r.status_code == 403
    assert all_notices() == []
