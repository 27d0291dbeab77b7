"""The office browses the audit trail of its community: who changed what, when, filtered by
person, kind of change, kind of object and date; it cannot change an entry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kiosk.domain.audit import AuditAction
from kiosk.extensions import db
from kiosk.models import AuditEntry, utcnow
from kiosk.services import audit

from .conftest import Browser


def rows(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-audit-id="(\d+)"', page)]


@pytest.fixture
def trail(app, world):
    """Changes by office_a and guard_a in community a, one in community b."""
    a, b = world.a, world.b
    audit.record(a.office, "gate.close", "gate", a.gate.id, a.community.id)
    audit.record(
        a.office,
        "building.seal",
        "building",
        a.building.id,
        a.community.id,
        before="open",
        after="sealed",
        reason="确诊病例",
    )
    audit.record(a.guard, "scan.override", "scan", 1, a.community.id, decision="allow")
    audit.record(b.office, "gate.close", "gate", b.gate.id, b.community.id)
    db.session.commit()
    return [e.id for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))]


def test_the_office_sees_its_communitys_changes_newest_first(app, world, office, trail):
    page = office.get("/office/audit")
    assert page.status_code == 200 and "<h1>操作记录</h1>" in page.text
    assert rows(page.text) == trail[2::-1]  # not community b's
    row = re.search(rf'<tr data-audit-id="{trail[1]}">(.*?)</tr>', page.text, re.S).group(1)
    assert "office_a" in row and "楼栋封控状态变更" in row and "楼栋 #" in row
    assert "确诊病例" in row and "sealed" in row
    assert 'name="who"' in page.text and "<th>详情</th>" in page.text


def test_filters_by_person_change_object_and_date(app, world, office, trail):
    def shown(**params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        r = office.get("/office/audit?" + query)
        assert r.status_code == 200
        return rows(r.text)

    assert shown(who=world.a.guard.id) == [trail[2]]
    assert shown(action="gate.close") == [trail[0]]
    assert shown(target="building") == [trail[1]]
    today = utcnow().astimezone(app.config["TZ"]).date()
    assert shown(since=today.isoformat()) == trail[2::-1]
    assert shown(until=today.isoformat()) == []
    assert shown(since=(today + timedelta(days=1)).isoformat()) == []


def test_bad_filters_are_named_at_once_and_list_nothing(app, world, office, trail):
    r = office.get("/office/audit?who=²&action=gate.explode&target=moon&since=tomorrow")
    assert r.status_code == 200 and rows(r.text) == []
    fields = set(re.findall(r'role="alert" data-field="(\w+)"', r.text))
    assert fields == {"who", "action", "target", "since"}


def test_pages_go_back_fifty_at_a_time(app, world, office):
    for _ in range(55):
        audit.record(world.a.office, "gate.open", "gate", world.a.gate.id, world.a.community.id)
    db.session.commit()
    first = office.get("/office/audit").text
    assert len(rows(first)) == 50
    older = re.search(r'href="(/office/audit\?[^"]*before=\d+[^"]*)"', first).group(1)
    assert len(rows(office.get(older.replace("&amp;", "&")).text)) == 5


def test_an_unknown_kind_of_change_cannot_be_recorded(app, world):
    with pytest.raises(ValueError):
        audit.record(world.a.office, "gate.explode", "gate", 1, world.a.community.id)
    assert "gate.explode" not in {a.value for a in AuditAction}


def test_nobody_else_reads_the_trail(app, world, trail):
    for user in (world.a.guard, world.worker, world.resident_user):
        r = Browser(app).sign_in(user).get("/office/audit")
        assert r.status_code in (302, 403), user.username
