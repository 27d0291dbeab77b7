"""The office seals a building or a compound from its page, with a reason; the gate decides on
the new state at the next scan, and the change is kept as history beside it."""

from __future__ import annotations

import re

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Building, Compound
from tests import factories

from .conftest import Browser, decision_of


def row_of(page: str, kind: str, ident: int) -> str:
    found = re.search(rf'<tr[^>]*data-{kind}-id="{ident}">(.*?)</tr>', page, re.S)
    assert found, page[:500]
    return found.group(1)


def test_a_building_sealed_from_its_page_is_refused_at_the_gate(app, world, office, tablet):
    a = world.a
    page = office.get("/office/seals").text
    assert "<h1>封控管理</h1>" in page and "1号楼" in row_of(page, "building", a.building.id)
    assert f'data-compound-id="{world.b.compound.id}"' not in page  # another community's
    tablet.scan(factories.code(a.pass_), temperature="36.5")  # inside
    r = office.post(
        f"/office/seals/buildings/{a.building.id}",
        {"seal_state": "in_only", "reason": "确诊病例密接"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "封控状态已更改。" in r.text
    row = row_of(r.text, "building", a.building.id)
    assert "只进不出 · 确诊病例密接" in row
    assert "office_a: 开放 → 只进不出 (确诊病例密接)" in row  # the history, who and why
    out = tablet.scan(factories.code(a.pass_), direction="out", temperature=None)
    assert decision_of(out) == ("deny", ["building_in_only"])
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "building.seal")).one()
    assert entry.user_id == a.office.id and entry.target_id == a.building.id


def test_a_compound_sealed_and_opened_again(app, world, office, tablet):
    a = world.a
    office.post(
        f"/office/seals/compounds/{a.compound.id}", {"seal_state": "sealed", "reason": "全面封闭"}
    )
    r = tablet.scan(factories.code(a.pass_), temperature="36.5")
    assert decision_of(r) == ("deny", ["compound_sealed"])
    office.post(f"/office/seals/compounds/{a.compound.id}", {"seal_state": "open"})
    db.session.expire_all()
    assert db.session.get(Compound, a.compound.id).seal_state == "open"
    assert decision_of(tablet.scan(factories.code(a.pass_), temperature="36.5"))[0] == "allow"


def test_a_seal_needs_a_reason_and_keeps_what_was_chosen(app, world, office):
    b = world.a.building
    r = office.post(f"/office/seals/buildings/{b.id}", {"seal_state": "sealed", "reason": ""})
    assert r.status_code == 200
    row = row_of(r.text, "building", b.id)
    assert 'role="alert" data-field="reason"' in row
    assert '<option value="sealed" selected>' in row
    r = office.post(f"/office/seals/buildings/{b.id}", {"seal_state": "closed"})
    assert 'data-field="seal_state"' in row_of(r.text, "building", b.id)
    db.session.expire_all()
    assert db.session.get(Building, b.id).seal_state == "open"


def test_another_communitys_building_or_compound_is_not_found(app, world, office):
    b = world.b
    for path in (f"buildings/{b.building.id}", f"compounds/{b.compound.id}", "buildings/999999"):
        r = office.post(f"/office/seals/{path}", {"seal_state": "sealed", "reason": "x"})
        assert r.status_code == 404, path
    db.session.expire_all()
    assert db.session.get(Building, b.building.id).seal_state == "open"


def test_a_street_user_sees_and_seals_every_community_of_the_street(app, world):
    street = Browser(app).sign_in(world.street_user)
    page = street.get("/office/seals").text
    assert f'data-compound-id="{world.a.compound.id}"' in page
    assert f'data-compound-id="{world.b.compound.id}"' in page
    r = street.post(
        f"/office/seals/buildings/{world.b.building.id}", {"seal_state": "sealed", "reason": "x"}
    )
    assert r.status_code == 303


def test_a_gate_closed_from_the_page_refuses_everyone_until_opened(app, world, office, tablet):
    a = world.a
    r = office.post(f"/office/seals/gates/{a.gate.id}", {"open": "false"}, follow_redirects=True)
    row = row_of(r.text, "gate", a.gate.id)
    assert "关闭" in row and ">开放此门</button>" in row and "office_a: 关闭门岗" in row
    scanned = tablet.scan(factories.code(a.pass_), temperature="36.5")
    assert decision_of(scanned) == ("deny", ["gate_closed"])
    office.post(f"/office/seals/gates/{a.gate.id}", {"open": "true"})
    assert decision_of(tablet.scan(factories.code(a.pass_), temperature="36.5"))[0] == "allow"
    assert (
        office.post(f"/office/seals/gates/{world.b.gate.id}", {"open": "false"}).status_code == 404
    )
