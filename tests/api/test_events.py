"""GET /api/v1/events: the access log of the caller's communities, paged and filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from kiosk.extensions import db
from kiosk.models import Gate
from tests import factories
from tests.helpers import ApiClient

# 13 June 2020, 08:00 in Beijing: the day the market was closed.
T0 = datetime(2020, 6, 13, 0, 0, tzinfo=UTC)


@pytest.fixture
def office_a(world, client) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(world.a.office))


@pytest.fixture
def office_b(world, client) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(world.b.office))


def listing(api: ApiClient, **params) -> dict:
    r = api.get("/api/v1/events" + ("?" + urlencode(params) if params else ""))
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def ids(page: dict) -> list[int]:
    return [e["id"] for e in page["items"]]


def hourly_events(gate, n: int, start=T0) -> list[int]:
    """n events at ``gate``, one an hour from ``start``."""
    out = [
        factories.event(
            gate,
            start + timedelta(hours=i),
            direction="in" if i % 2 == 0 else "out",
            temperature=36.0 + i / 10,
            reasons="fever" if i == 1 else "",
            decision="deny" if i == 1 else "allow",
        ).id
        for i in range(n)
    ]
    db.session.commit()
    return out


def test_pages_follow_next_after_oldest_first(world, office_a):
    made = hourly_events(world.a.gate, 5)
    first = listing(office_a, limit=2)
    assert ids(first) == made[:2] and first["next_after"] == made[1]
    second = listing(office_a, limit=2, after=first["next_after"])
    assert ids(second) == made[2:4] and second["next_after"] == made[3]
    last = listing(office_a, limit=2, after=second["next_after"])
    assert ids(last) == made[4:] and last["next_after"] is None

    # A full last page points on; the next page is empty and ends the walk.
    full = listing(office_a, limit=5)
    assert ids(full) == made and full["next_after"] == made[-1]
    assert listing(office_a, limit=5, after=made[-1]) == {"items": [], "next_after": None}

    # Without limit, everything fits the default page.
    assert ids(listing(office_a)) == made

    item = first["items"][1]
    assert item == {
        "id": made[1],
        "occurred_at": "2020-06-13T09:00:00+08:00",
        "gate_id": world.a.gate.id,
        "device_id": None,
        "direction": "out",
        "pass_id": None,
        "resident_id": None,
        "temperature": 36.1,
        "decision": "deny",
        "reasons": ["fever"],
        "manual": False,
        "visit_id": None,
        "parent_id": None,
        "override": False,
        "override_reason": None,
    }


def test_since_is_inclusive_until_exclusive_in_any_offset(world, office_a):
    made = hourly_events(world.a.gate, 6)  # 08:00 .. 13:00 Beijing time
    page = listing(office_a, since="2020-06-13T10:00:00+08:00", until="2020-06-13T12:00:00+08:00")
    assert ids(page) == made[2:4]
    # The same moments written in UTC, with Z, and without offset (read as Beijing time).
    assert (
        ids(listing(office_a, since="2020-06-13T02:00:00+00:00", until="2020-06-13T04:00:00Z"))
        == made[2:4]
    )
    assert (
        ids(listing(office_a, since="2020-06-13T10:00:00", until="2020-06-13T12:00:00"))
        == made[2:4]
    )
    assert ids(listing(office_a, since="2020-06-13T12:30:00+08:00")) == made[5:]
    assert ids(listing(office_a, until="2020-06-13T08:00:01+08:00")) == made[:1]
    assert listing(office_a, since="2020-06-14T00:00:00+08:00")["items"] == []
    # Filters combine with paging.
    page = listing(office_a, since="2020-06-13T09:00:00+08:00", limit=2)
    assert ids(page) == made[1:3]
    assert (
        ids(listing(office_a, since="2020-06-13T09:00:00+08:00", limit=2, after=page["next_after"]))
        == made[3:5]
    )


def test_gate_filter(world, office_a):
    west = Gate(compound_id=world.a.compound.id, name="西门")
    db.session.add(west)
    db.session.flush()
    east_events = hourly_events(world.a.gate, 2)
    west_events = hourly_events(west, 3, start=T0 + timedelta(minutes=30))
    assert ids(listing(office_a, gate_id=west.id)) == west_events
    assert ids(listing(office_a, gate_id=world.a.gate.id)) == east_events
    assert sorted(ids(listing(office_a))) == sorted(east_events + west_events)


def test_scope_each_office_sees_its_own_community(world, office_a, office_b, client):
    a_events = hourly_events(world.a.gate, 2)
    b_events = hourly_events(world.b.gate, 2)
    # A real scan at gate a shows up too.
    scan = ApiClient(client).as_device(world.a.device_token).scan(factories.code(world.a.pass_))
    a_events.append(scan.get_json()["event_id"])

    assert ids(listing(office_a)) == a_events
    assert ids(listing(office_b)) == b_events
    street = ApiClient(client).bearer(factories.api_token(world.street_user))
    assert sorted(ids(listing(street))) == sorted(a_events + b_events)
    assert ids(listing(street, gate_id=world.b.gate.id)) == b_events

    # Another community's gate is not found, and neither is a gate that does not exist.
    for gate_id in (world.a.gate.id, 999999):
        r = office_b.get(f"/api/v1/events?gate_id={gate_id}")
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    # Paging past the other community's ids does not leak them either.
    assert ids(listing(office_b, after=0, limit=1000)) == b_events
    # A street user of another street sees none of it.
    _, _, foreign = factories.foreign_street()
    outsider = ApiClient(client).bearer(factories.api_token(foreign))
    assert listing(outsider)["items"] == []
    assert outsider.get(f"/api/v1/events?gate_id={world.a.gate.id}").status_code == 404


def test_bad_parameters_are_422(world, office_a):
    cases = [
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("limit", "1.5"),
        ("limit", "²"),
        ("limit", "１０"),
        ("after", "x"),
        ("after", "-5"),
        ("after", "99999999999"),
        ("after", "9" * 40),
        ("gate_id", "east"),
        ("gate_id", "1e3"),
        ("gate_id", "99999999999"),
        ("since", "yesterday"),
        ("since", "1999-12-31T23:00:00+08:00"),
        ("since", "2020-13-01"),
        ("until", "2020-06-13T25:00:00+08:00"),
        ("until", "x" * 41),
    ]
    for name, value in cases:
        r = office_a.get("/api/v1/events?" + urlencode({name: value}), lang="en")
        assert r.status_code == 422, (name, value, r.status_code, r.get_data(as_text=True))
        err = r.get_json()["error"]
        assert err["code"] == "invalid" and err["field"] == name and err["message"].strip(), (
            name,
            value,
        )
    # The limits themselves are fine.
    for limit in ("1", "1000"):
        assert office_a.get(f"/api/v1/events?limit={limit}").status_code == 200


def test_a_guards_decision_is_told_apart_from_a_scan(world, office_a):
    """An override names the scan it answers and the guard's reason; a visitor's event its
    visit."""
    now = datetime.now(UTC)
    referred = factories.event(world.a.gate, now, "in", "refer", reasons="already_inside")
    decided = factories.event(
        world.a.gate,
        now,
        "in",
        "allow",
        reasons="already_inside",
        parent_id=referred.id,
        override=True,
        override_reason="known_resident",
        user_id=world.a.guard.id,
    )
    db.session.commit()
    items = {i["id"]: i for i in listing(office_a)["items"]}
    assert (items[referred.id]["override"], items[referred.id]["parent_id"]) == (False, None)
    got = items[decided.id]
    assert (got["override"], got["parent_id"], got["override_reason"]) == (
        True,
        referred.id,
        "known_resident",
    )


def test_events_of_one_person_or_one_pass(world, office_a, office_b):
    """A person's events with any of their passes; a pass's events; another community's person
    or pass is not found; an unknown filter is refused, not ignored."""
    a = world.a
    paper = factories.pass_for(a.resident, "paper")
    neighbour = factories.resident(a.household, "邻居")
    mine = [
        factories.event(a.gate, T0, pass_id=a.pass_.id, resident_id=a.resident.id).id,
        factories.event(a.gate, T0, pass_id=paper.id, resident_id=a.resident.id).id,
    ]
    factories.event(a.gate, T0, resident_id=neighbour.id)
    factories.event(a.gate, T0)
    db.session.commit()
    assert ids(listing(office_a, resident_id=a.resident.id)) == mine
    assert ids(listing(office_a, pass_id=paper.id)) == mine[1:]
    for params in ({"resident_id": a.resident.id}, {"pass_id": paper.id}):
        r = office_b.get("/api/v1/events?" + urlencode(params))
        assert r.status_code == 404, params
    r = office_a.get("/api/v1/events?" + urlencode({"person": a.resident.id}), lang="en")
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "person"
