"""The household outing quota through the pages: the gate at N-1 and N exits, the two-day period,
exemptions not counted, the dashboard's list of people out past the allowed hours, and the
compounds page's form (errors, audit, roles, scope)."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Compound, Household, Resident, utcnow
from kiosk.services import quota
from tests import factories

from .conftest import Browser, decision_of

EN = "en"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def set_quota(site, exits=None, days=1, hours=None) -> None:
    compound = db.session.get(Compound, site.compound.id)
    compound.quota_exits, compound.quota_days, compound.quota_hours = exits, days, hours
    db.session.commit()


def second_member(site, name="李四"):
    member = factories.resident(site.household, name)
    p = factories.pass_for(member)
    db.session.commit()
    return p


def out_event(site, p, at, kind_pass=None):
    """An allowed exit of the pass's holder at ``at`` (written straight to the log)."""
    factories.event(
        site.gate, at, "out", pass_id=(kind_pass or p).id, resident_id=(kind_pass or p).resident_id
    )
    db.session.commit()


# --- the gate ---------------------------------------------------------------------------------


def test_the_nth_exit_passes_and_the_next_is_denied(app, world, tablet):
    a = world.a
    set_quota(a, exits=2)
    other = second_member(a)
    me = factories.code(a.pass_)
    assert decision_of(tablet.scan(me, "out")) == ("allow", [])  # 1st of 2
    assert decision_of(tablet.scan(me, "in")) == ("allow", [])  # entries are never capped
    assert decision_of(tablet.scan(factories.code(other), "out")) == ("allow", [])  # 2nd of 2
    assert decision_of(tablet.scan(me, "out")) == ("deny", ["quota_exceeded"])
    assert decision_of(tablet.scan(factories.code(other), "in")) == ("allow", [])
    db.session.expire_all()
    assert db.session.get(Resident, a.resident.id).presence == "in"


def test_denied_exits_are_not_counted_and_another_household_is_not_capped(app, world, tablet):
    a = world.a
    set_quota(a, exits=1)
    me = factories.code(a.pass_)
    tablet.scan(me, "out")
    tablet.scan(me, "in")
    assert decision_of(tablet.scan(me, "out")) == ("deny", ["quota_exceeded"])
    assert decision_of(tablet.scan(me, "out")) == ("deny", ["quota_exceeded"])
    home = Household(building_id=a.building.id, unit="2", room="302")
    db.session.add(home)
    db.session.flush()
    neighbours = factories.resident(home)
    p = factories.pass_for(neighbours)
    db.session.commit()
    assert decision_of(tablet.scan(factories.code(p), "out")) == ("allow", [])


def test_without_a_quota_nobody_is_capped(app, world, tablet):
    me = factories.code(world.a.pass_)
    for _ in range(3):
        assert decision_of(tablet.scan(me, "out")) == ("allow", [])
        assert decision_of(tablet.scan(me, "in")) == ("allow", [])


@pytest.mark.parametrize(("days", "expected"), [(1, "allow"), (2, "deny")])
def test_yesterdays_exit_counts_only_in_a_two_day_period(app, world, tablet, days, expected):
    a = world.a
    set_quota(a, exits=1, days=days)
    now = utcnow()
    yesterday = quota.period_start(now, 2, SHANGHAI) + timedelta(minutes=1)
    out_event(a, a.pass_, yesterday)
    decision, reasons = decision_of(tablet.scan(factories.code(a.pass_), "out"))
    assert decision == expected
    assert ("quota_exceeded" in reasons) == (expected == "deny")


def test_an_exit_before_the_two_day_period_is_not_counted(app, world, tablet):
    a = world.a
    set_quota(a, exits=1, days=2)
    out_event(a, a.pass_, quota.period_start(utcnow(), 2, SHANGHAI) - timedelta(seconds=1))
    assert decision_of(tablet.scan(factories.code(a.pass_), "out")) == ("allow", [])


def test_an_exemption_neither_counts_nor_is_capped(app, world, tablet):
    a = world.a
    set_quota(a, exits=1)
    now = utcnow()
    exemption = factories.pass_for(
        a.resident,
        "exemption",
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=3),
    )
    db.session.commit()
    out_event(a, a.pass_, now - timedelta(minutes=5), kind_pass=exemption)
    # The exemption's exit above is not counted: the resident pass still has its one exit.
    assert decision_of(tablet.scan(factories.code(a.pass_), "out")) == ("allow", [])
    db.session.get(Resident, a.resident.id).presence = "in"
    db.session.commit()
    # And with the quota spent, an (unused) exemption still lets its holder out.
    fresh = factories.pass_for(
        a.resident,
        "exemption",
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=3),
    )
    db.session.commit()
    assert decision_of(tablet.scan(factories.code(a.pass_), "out")) == ("deny", ["quota_exceeded"])
    assert decision_of(tablet.scan(factories.code(fresh), "out")) == ("allow", [])


# --- the dashboard: out past the allowed hours -----------------------------------------------


def _out_since(site, p, hours_ago: float) -> None:
    out_event(site, p, utcnow() - timedelta(hours=hours_ago))
    db.session.get(Resident, p.resident_id).presence = "out"
    db.session.commit()


def test_the_dashboard_lists_people_out_past_the_allowed_hours(app, world):
    a, b = world.a, world.b
    set_quota(a, hours=4)
    set_quota(b, hours=4)
    late = a.pass_
    on_time = second_member(a, "王五")
    _out_since(a, late, 5)
    _out_since(a, on_time, 3)
    _out_since(b, b.pass_, 6)  # another community: not on a's dashboard
    page = Browser(app, lang=EN).sign_in(a.office).get("/office").text
    (row,) = re.findall(
        r'<tr class="dash-attention" data-out-too-long="(\d+)">(.*?)</tr>', page, re.S
    )
    assert row[0] == str(late.resident_id)
    assert "张**" in row[1] and "1号楼 unit 2 room 301" in row[1] and "张三丰" not in page
    assert "Out past the allowed hours" in page
    fragment = Browser(app, lang=EN).sign_in(a.office).get("/office", htmx=True)
    assert (
        "<html" not in fragment.text and f'data-out-too-long="{late.resident_id}"' in fragment.text
    )


def test_nobody_is_listed_without_hours_or_once_back(app, world):
    a = world.a
    _out_since(a, a.pass_, 30)
    office = Browser(app, lang=EN).sign_in(a.office)
    assert "data-out-too-long" not in office.get("/office").text  # no hours set
    set_quota(a, exits=3, hours=24)
    assert f'data-out-too-long="{a.resident.id}"' in office.get("/office").text
    db.session.get(Resident, a.resident.id).presence = "in"
    db.session.commit()
    assert "data-out-too-long" not in office.get("/office").text


def test_someone_out_on_an_exemption_is_not_the_quotas_business(app, world):
    a = world.a
    set_quota(a, hours=2)
    now = utcnow()
    exemption = factories.pass_for(
        a.resident,
        "exemption",
        valid_from=now - timedelta(hours=9),
        valid_until=now + timedelta(hours=3),
    )
    db.session.commit()
    out_event(a, a.pass_, now - timedelta(hours=8), kind_pass=exemption)
    db.session.get(Resident, a.resident.id).presence = "out"
    db.session.commit()
    assert quota.out_too_long([a.community.id], now) == []


def test_the_hours_boundary(app, world):
    a = world.a
    set_quota(a, hours=4)
    left = utcnow() - timedelta(hours=1)
    out_event(a, a.pass_, left)
    db.session.get(Resident, a.resident.id).presence = "out"
    db.session.commit()
    ids = [a.community.id]
    assert quota.out_too_long(ids, left + timedelta(hours=4)) == []
    (row,) = quota.out_too_long(ids, left + timedelta(hours=4, seconds=1))
    assert (row.resident_id, row.hours, row.unit, row.room) == (a.resident.id, 4, "2", "301")


# --- the compounds page -----------------------------------------------------------------------


def test_the_office_sets_and_lifts_a_quota_audited(sqlite_app, sworld, soffice):
    a = sworld.a
    page = soffice.get("/office/compounds", lang=EN)
    assert page.status_code == 200 and f'data-quota-compound="{a.compound.id}"' in page.text
    data = {"compound_id": str(a.compound.id), "quota_exits": "2", "quota_days": "2"}
    r = soffice.post("/office/compounds/quota", {**data, "quota_hours": "4"})
    assert r.status_code == 303 and r.headers["Location"] == "/office/compounds"
    db.session.expire_all()
    c = db.session.get(Compound, a.compound.id)
    assert (c.quota_exits, c.quota_days, c.quota_hours) == (2, 2, 4)
    shown = soffice.get("/office/compounds", lang=EN).text
    assert 'name="quota_exits" type="text" inputmode="numeric" size="3" value="2"' in shown
    assert '<option value="2" selected>per two days</option>' in shown

    r = soffice.post("/office/compounds/quota", {"compound_id": str(a.compound.id)})
    assert r.status_code == 303
    db.session.expire_all()
    c = db.session.get(Compound, a.compound.id)
    assert (c.quota_exits, c.quota_days, c.quota_hours) == (None, 1, None)
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "compound.quota").order_by(AuditEntry.id)
    ).all()
    assert [(e.user_id, e.target_type, e.target_id, e.community_id) for e in entries] == [
        (a.office.id, "compound", a.compound.id, a.community.id)
    ] * 2
    assert '"after": {"exits": 2, "days": 2, "hours": 4}' in entries[0].detail


def test_every_problem_of_the_form_at_once_with_what_was_typed(sqlite_app, sworld, soffice):
    a = sworld.a
    typed = {
        "compound_id": str(a.compound.id),
        "quota_exits": "zwei",
        "quota_days": "3",
        "quota_hours": "0",
    }
    r = soffice.post("/office/compounds/quota", typed, lang=EN)
    assert r.status_code == 200
    assert "Exits: a whole number from 1 to 20, or blank for no limit." in r.text
    assert "Choose per day or per two days." in r.text
    assert "Hours: a whole number from 1 to 72, or blank for no limit." in r.text
    assert (
        'value="zwei"' in r.text
        and 'name="quota_hours" type="text" inputmode="numeric" size="3" value="0"' in r.text
    )
    db.session.expire_all()
    assert db.session.get(Compound, a.compound.id).quota_exits is None
    assert (
        db.session.scalar(select(AuditEntry).where(AuditEntry.action == "compound.quota")) is None
    )


def test_the_page_speaks_chinese_by_default(sqlite_app, sworld, soffice):
    r = soffice.post(
        "/office/compounds/quota", {"compound_id": str(sworld.a.compound.id), "quota_exits": "99"}
    )
    assert r.status_code == 200 and "小区与访客" in r.text


def test_another_communitys_compound_is_not_found(sqlite_app, sworld, soffice):
    b = sworld.b
    r = soffice.post(
        "/office/compounds/quota", {"compound_id": str(b.compound.id), "quota_exits": "1"}, lang=EN
    )
    assert r.status_code == 200 and "Not found." in r.text
    db.session.expire_all()
    assert db.session.get(Compound, b.compound.id).quota_exits is None


def test_the_street_sets_any_compound_of_its_street(sqlite_app, sworld):
    street = Browser(sqlite_app).sign_in(sworld.street_user)
    r = street.post(
        "/office/compounds/quota", {"compound_id": str(sworld.b.compound.id), "quota_exits": "1"}
    )
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Compound, sworld.b.compound.id).quota_exits == 1


@pytest.mark.parametrize("who", ["guard", "worker", "resident"])
def test_other_roles_may_not_set_a_quota(sqlite_app, sworld, who):
    user = {"guard": sworld.a.guard, "worker": sworld.worker, "resident": sworld.resident_user}[who]
    r = (
        Browser(sqlite_app)
        .sign_in(user)
        .post(
            "/office/compounds/quota",
            {"compound_id": str(sworld.a.compound.id), "quota_exits": "1"},
        )
    )
    assert r.status_code == 403
    r = Browser(sqlite_app).post(
        "/office/compounds/quota", {"compound_id": str(sworld.a.compound.id), "quota_exits": "1"}
    )
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")
    db.session.expire_all()
    assert db.session.get(Compound, sworld.a.compound.id).quota_exits is None


def test_the_form_needs_the_csrf_token(sqlite_app, sworld, soffice):
    r = soffice.post(
        "/office/compounds/quota",
        {"compound_id": str(sworld.a.compound.id), "quota_exits": "1"},
        csrf=False,
    )
    assert r.status_code == 400
    db.session.expire_all()
    assert db.session.get(Compound, sworld.a.compound.id).quota_exits is None
