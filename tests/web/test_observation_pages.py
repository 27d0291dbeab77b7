"""The office puts households under home observation from its page, many at once, extends it or
ends it early; their members are refused at the gate when they leave."""

from __future__ import annotations

import re
from datetime import timedelta

from kiosk.extensions import db
from kiosk.models import Household, utcnow
from tests import factories

from .conftest import decision_of


def local(app, when) -> str:
    return when.astimezone(app.config["TZ"]).strftime("%Y-%m-%dT%H:%M")


def observed_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-household-id="(\d+)">', page)]


def test_two_households_under_observation_at_once_and_their_members_stay_in(
    app, world, office, tablet
):
    a = world.a
    other = Household(building_id=a.building.id, unit="2", room="302")
    db.session.add(other)
    db.session.flush()
    neighbour = factories.resident(other, "李四")
    neighbour_pass = factories.pass_for(neighbour)
    db.session.commit()
    until = utcnow() + timedelta(days=13, hours=1)
    r = office.post(
        "/office/observation",
        {
            "household_ids": [str(a.household.id), str(other.id)],
            "observation_until": local(app, until),
            "observation_reason": "30日后去过新发地市场",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "已对 2 户设置居家观察。" in r.text
    assert sorted(observed_ids(r.text)) == sorted([a.household.id, other.id])
    row = re.search(rf'<tr data-household-id="{other.id}">(.*?)</tr>', r.text, re.S).group(1)
    assert "<td>14</td>" in row and "30日后去过新发地市场" in row and "302" in row
    for p in (a.pass_, neighbour_pass):
        out = tablet.scan(factories.code(p), direction="out", temperature=None)
        assert decision_of(out) == ("deny", ["home_observation"])

    r = office.post(
        "/office/observation/end", {"household_ids": [str(other.id)]}, follow_redirects=True
    )
    assert "已结束 1 户的居家观察。" in r.text and observed_ids(r.text) == [a.household.id]
    out = tablet.scan(factories.code(neighbour_pass), direction="out", temperature=None)
    assert decision_of(out) == ("allow", [])


def test_every_problem_is_named_and_nothing_is_saved(app, world, office):
    r = office.post("/office/observation", {"observation_until": "yesterday"})
    fields = set(re.findall(r'role="alert" data-field="(\w+)"', r.text))
    assert fields == {"household_ids", "observation_until"}
    past = local(app, utcnow() - timedelta(days=1))
    r = office.post(
        "/office/observation",
        {"household_ids": [str(world.a.household.id)], "observation_until": past},
    )
    assert "observation_reason" in re.findall(r'data-field="(\w+)"', r.text)
    r = office.post(
        "/office/observation",
        {
            "household_ids": [str(world.a.household.id)],
            "observation_until": past,
            "observation_reason": "x",
        },
    )
    assert r.status_code == 200 and 'data-field="observation_until"' in r.text
    db.session.expire_all()
    assert db.session.get(Household, world.a.household.id).observation_until is None


def test_another_communitys_household_changes_nothing_at_all(app, world, office):
    """All or none: one household outside the office's community is not found, and the office's
    own household in the same request is not put under observation either."""
    until = local(app, utcnow() + timedelta(days=3))
    r = office.post(
        "/office/observation",
        {
            "household_ids": [str(world.a.household.id), str(world.b.household.id)],
            "observation_until": until,
            "observation_reason": "x",
        },
    )
    assert r.status_code == 404
    db.session.expire_all()
    for h in (world.a.household, world.b.household):
        assert db.session.get(Household, h.id).observation_until is None
    page = office.get("/office/observation").text
    offered = re.findall(r'<option value="(\d+)"', page.split('name="household_ids" multiple')[1])
    assert offered == [str(world.a.household.id)]  # community b's household is not offered


def test_the_list_sorts_by_end_place_and_reason(app, world, office):
    a = world.a
    now = utcnow()
    homes = []
    for room, days, reason in (("101", 3, "乙"), ("102", 9, "甲"), ("103", 6, "丙")):
        h = Household(building_id=a.building.id, unit="1", room=room)
        h.observation_until = now + timedelta(days=days)
        h.observation_reason = reason
        db.session.add(h)
        homes.append(h)
    db.session.commit()
    r101, r102, r103 = (h.id for h in homes)
    assert observed_ids(office.get("/office/observation").text) == [r101, r103, r102]
    assert observed_ids(office.get("/office/observation?sort=-until").text) == [r102, r103, r101]
    assert observed_ids(office.get("/office/observation?sort=place").text) == [r101, r102, r103]
    assert observed_ids(office.get("/office/observation?sort=reason").text) == [r103, r101, r102]
    r = office.get("/office/observation?sort=nonsense", lang="en")
    assert r.status_code == 200 and 'data-field="sort"' in r.text
    assert observed_ids(r.text) == [r101, r103, r102]
