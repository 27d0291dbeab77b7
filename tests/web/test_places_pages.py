"""The office's places and people: buildings with their counts, a page per building and per
household, adding a building, a household and a member, correcting a member, and finding people
by address, name or last four, a page at a time, without names in any URL."""

from __future__ import annotations

import re
from datetime import timedelta

from kiosk.extensions import db
from kiosk.models import AuditEntry, Building, Household, Resident, utcnow
from tests import factories


def test_buildings_list_counts_households_residents_and_observation(world, office):
    a = world.a
    factories.resident(a.household, "李四")
    db.session.commit()
    r = office.get("/office/places")
    assert r.status_code == 200
    row = re.search(rf'<tr data-building-id="{a.building.id}">(.*?)</tr>', r.text, re.S).group(1)
    assert a.building.name in row
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "2", "0"]
    assert f'data-building-id="{world.b.building.id}"' not in r.text  # another community


def test_add_a_building_then_a_household_then_a_member(world, office):
    a = world.a
    r = office.post(
        "/office/places/buildings", {"compound_id": str(a.compound.id), "name": "7号楼"}
    )
    assert r.status_code == 303
    building = db.session.query(Building).filter_by(name="7号楼").one()
    assert r.headers["Location"].endswith(f"/office/buildings/{building.id}")
    r = office.post(f"/office/buildings/{building.id}/households", {"unit": "1", "room": "101"})
    assert r.status_code == 303
    household = db.session.query(Household).filter_by(building_id=building.id).one()
    r = office.post(
        f"/office/households/{household.id}/residents",
        {"name": "王五", "id_number": "11010519491231002X", "phone": "13800138000"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "王五" in r.text and "002X" in r.text and "8000" in r.text
    assert "13800138000" not in r.text and "11010519491231002X" not in r.text
    member = db.session.query(Resident).filter_by(household_id=household.id).one()
    assert member.id_last4 == "002X" and member.id_hash and len(member.id_hash) == 64
    actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions[-3:] == ["building.create", "household.create", "resident.create"]


def test_every_problem_of_a_new_member_is_shown_and_nothing_is_saved(world, office):
    a = world.a
    before = db.session.query(Resident).count()
    r = office.post(
        f"/office/households/{a.household.id}/residents",
        {"name": "", "id_number": "123", "phone": "12"},
        lang="en",
    )
    assert r.status_code == 200
    fields = set(re.findall(r'data-field="(\w+)"', r.text))
    assert {"name", "id_number", "phone"} <= fields
    assert db.session.query(Resident).count() == before


def test_a_member_is_corrected_and_a_new_phone_replaces_the_old(world, office):
    res = world.a.resident
    r = office.post(f"/office/residents/{res.id}", {"name": "张三", "phone": "13900001234"})
    assert r.status_code == 303
    db.session.refresh(res)
    assert res.name == "张三" and res.phone_last4 == "1234"


def test_building_page_shows_households_and_recent_passages(world, office, tablet):
    a = world.a
    tablet.scan(factories.code(a.pass_), direction="out", temperature=None)
    r = office.get(f"/office/buildings/{a.building.id}")
    assert r.status_code == 200
    assert f'data-household-id="{a.household.id}"' in r.text
    passages = re.search(r'data-testid="passages">(.*?)</table>', r.text, re.S).group(1)
    assert "东门" in passages and "已放行" in passages


def test_household_page_shows_members_passes_and_latest_test(world, office):
    a = world.a
    r = office.get(f"/office/households/{a.household.id}")
    assert r.status_code == 200
    assert a.resident.name in r.text
    assert f'data-pass-id="{a.pass_.id}"' in r.text


def test_places_of_another_community_are_not_found(world, office):
    b = world.b
    for path in (
        f"/office/buildings/{b.building.id}",
        f"/office/households/{b.household.id}",
    ):
        assert office.get(path).status_code == 404
    assert office.post(f"/office/residents/{b.resident.id}", {"name": "x"}).status_code == 404
    r = office.post(f"/office/buildings/{b.building.id}/households", {"unit": "1", "room": "9"})
    assert r.status_code == 404


def _found(text: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-resident-id="(\d+)">', text)]


def test_people_are_found_by_name_last_four_and_address(world, office):
    a = world.a
    other = factories.resident(a.household, "李四")
    other.phone_last4 = "5678"
    other.id_last4 = "123X"
    db.session.commit()
    assert _found(office.post("/office/people", {"q": "李"}).text) == [other.id]
    assert _found(office.post("/office/people", {"q": "5678"}).text) == [other.id]
    assert _found(office.post("/office/people", {"q": "123x"}).text) == [other.id]
    r = office.post("/office/people", {"building_id": str(a.building.id), "room": "301"})
    assert sorted(_found(r.text)) == sorted([a.resident.id, other.id])
    # the other community's people are never found
    assert _found(office.post("/office/people", {"q": world.b.resident.name}).text) == [
        a.resident.id
    ]  # same name in both communities: only ours


def test_people_search_is_a_fragment_for_htmx_and_pages_through(world, office):
    a = world.a
    for i in range(55):
        factories.resident(a.household, f"测试{i:02d}")
    db.session.commit()
    r = office.post("/office/people", {"q": "测试"}, htmx=True)
    assert "<html" not in r.text and len(_found(r.text)) == 50
    assert "第 1 / 2 页" in r.text or "Page 1 of 2" in r.text
    r = office.post("/office/people", {"q": "测试", "page": "2"}, htmx=True)
    assert len(_found(r.text)) == 5


def test_a_bad_search_is_explained(world, office):
    r = office.post("/office/people", {"building_id": "²", "page": "0"}, lang="en")
    assert r.status_code == 200
    assert set(re.findall(r'data-field="(\w+)"', r.text)) == {"building_id", "page"}


def test_building_and_household_pages_say_the_rule_in_one_sentence(world, office):
    a = world.a
    a.building.seal_state = "in_only"
    a.household.observation_until = utcnow() + timedelta(days=5)
    db.session.commit()
    building = office.get(f"/office/buildings/{a.building.id}").text
    rule = re.search(r'data-testid="rule">(.*?)</p>', building).group(1)
    assert rule == "1号楼只进不出：可以进，不能出"
    household = office.get(f"/office/households/{a.household.id}").text
    rule = re.search(r'data-testid="rule">(.*?)</p>', household).group(1)
    assert rule.startswith("1号楼只进不出，您家正在居家观察，至")
