"""The API's read endpoints: a list (filters, pages by id) and one item of every office
resource, the residents' search by POST, and a resident's change.

``READ_ROUTES`` are also called by the OpenAPI tests (``test_openapi.py``), as the scope
matrix's ``ROUTES`` are.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from test_scope_matrix import ROLES, Route, tokens

from kiosk.contract.org import ResidentChange, ResidentCreate
from kiosk.extensions import db
from kiosk.models import (
    AuditEntry,
    Building,
    Compound,
    Gate,
    Household,
    Resident,
    TestResult,
    User,
    utcnow,
)
from kiosk.services import org, security
from tests import factories
from tests.helpers import ApiClient

T0 = datetime(2020, 6, 13, 0, 0, tzinfo=UTC)
OUTSIDE_SEES_LIST = {"office_other": 200, "street_other": 200}


def _exemption(resident, **kw):
    now = utcnow()
    p = factories.pass_for(
        resident,
        kind="exemption",
        valid_from=kw.pop("valid_from", now - timedelta(hours=1)),
        valid_until=kw.pop("valid_until", now + timedelta(hours=8)),
        purpose="高考",
        **kw,
    )
    db.session.commit()
    return p


def _test(resident, taken_at=None, result="negative"):
    t = TestResult(
        resident_id=resident.id, taken_at=taken_at or utcnow() - timedelta(hours=2), result=result
    )
    db.session.add(t)
    db.session.commit()
    return t


def _entry(community, action="gate.open", user_id=None, at=None, **detail):
    e = AuditEntry(
        community_id=community.id,
        user_id=user_id,
        action=action,
        target_type=action.partition(".")[0],
        target_id=1,
        detail=json.dumps(detail, ensure_ascii=False) if detail else None,
        **({"at": at} if at else {}),
    )
    db.session.add(e)
    db.session.commit()
    return e


READ_ROUTES = [
    Route(
        "GET",
        "/api/v1/compounds",
        lambda w, r: ("/api/v1/compounds", None),
        200,
        overrides=OUTSIDE_SEES_LIST,
    ),
    Route(
        "GET",
        "/api/v1/compounds/{id}",
        lambda w, r: (f"/api/v1/compounds/{w.a.compound.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/gates",
        lambda w, r: (f"/api/v1/gates?compound_id={w.a.compound.id}", None),
        200,
    ),
    Route("GET", "/api/v1/gates/{id}", lambda w, r: (f"/api/v1/gates/{w.a.gate.id}", None), 200),
    Route(
        "GET",
        "/api/v1/buildings",
        lambda w, r: (f"/api/v1/buildings?compound_id={w.a.compound.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/buildings/{id}",
        lambda w, r: (f"/api/v1/buildings/{w.a.building.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/households",
        lambda w, r: (f"/api/v1/households?building_id={w.a.building.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/households/{id}",
        lambda w, r: (f"/api/v1/households/{w.a.household.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/residents",
        lambda w, r: (f"/api/v1/residents?household_id={w.a.household.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/residents/{id}",
        lambda w, r: (f"/api/v1/residents/{w.a.resident.id}", None),
        200,
    ),
    Route(
        "PATCH",
        "/api/v1/residents/{id}",
        lambda w, r: (f"/api/v1/residents/{w.a.resident.id}", {"name": "张三丰"}),
        200,
    ),
    Route(
        "POST",
        "/api/v1/residents/search",
        lambda w, r: ("/api/v1/residents/search", {"building_id": w.a.building.id, "q": "张"}),
        200,
        body_scoped=True,
    ),
    Route(
        "GET",
        "/api/v1/passes",
        lambda w, r: (f"/api/v1/passes?resident_id={w.a.resident.id}", None),
        200,
    ),
    Route("GET", "/api/v1/passes/{id}", lambda w, r: (f"/api/v1/passes/{w.a.pass_.id}", None), 200),
    Route(
        "GET",
        "/api/v1/exemptions",
        lambda w, r: (f"/api/v1/exemptions?resident_id={w.a.resident.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/exemptions/{id}",
        lambda w, r: (f"/api/v1/exemptions/{_exemption(w.a.resident).id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/tests",
        lambda w, r: (f"/api/v1/tests?resident_id={w.a.resident.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/tests/{id}",
        lambda w, r: (f"/api/v1/tests/{_test(w.a.resident).id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/devices",
        lambda w, r: (f"/api/v1/devices?gate_id={w.a.gate.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/devices/{id}",
        lambda w, r: (f"/api/v1/devices/{w.a.device.id}", None),
        200,
    ),
    Route(
        "GET",
        "/api/v1/users",
        lambda w, r: ("/api/v1/users?role=guard", None),
        200,
        overrides=OUTSIDE_SEES_LIST,
    ),
    Route("GET", "/api/v1/users/{id}", lambda w, r: (f"/api/v1/users/{w.a.guard.id}", None), 200),
    Route(
        "GET",
        "/api/v1/audit",
        lambda w, r: ("/api/v1/audit?target=gate", None),
        200,
        overrides=OUTSIDE_SEES_LIST,
    ),
    Route(
        "GET",
        "/api/v1/audit/{id}",
        lambda w, r: (f"/api/v1/audit/{_entry(w.a.community).id}", None),
        200,
    ),
]

LISTS = [r.rule for r in READ_ROUTES if r.method == "GET" and "{id}" not in r.rule]


@pytest.fixture
def office_a(world, client) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(world.a.office))


@pytest.fixture
def office_b(world, client) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(world.b.office))


@pytest.fixture
def street(world, client) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(world.street_user))


def listing(api: ApiClient, path: str, **params) -> dict:
    r = api.get(path + ("?" + urlencode(params) if params else ""))
    assert r.status_code == 200, (path, params, r.get_data(as_text=True))
    return r.get_json()


def ids(page: dict) -> list[int]:
    return [item["id"] for item in page["items"]]


# --- who may call what ---------------------------------------------------------------------------


@pytest.mark.parametrize("route", READ_ROUTES, ids=lambda r: r.id)
def test_read_route_by_caller(world, client, route):
    """Site a's office and the street reach it; site b's office and another street find
    nothing (404; 422 for a body's building); guards, workers and residents are 403."""
    callers = tokens(world)
    _entry(world.a.community)
    got = {}
    for role in ROLES:
        path, payload = route.build(world, role)
        r = ApiClient(client).bearer(callers[role])._call(route.method, path, json=payload)
        got[role] = r.status_code
        if r.status_code >= 400:
            assert r.get_json()["error"]["code"], (role, r.get_json())
    assert got == route.expected()


def test_every_list_shows_only_the_callers_communities(world, office_a, office_b, street):
    """Unfiltered, each list of site a's office has site a's object and not site b's; site b's
    office the other way round; the street user sees both communities."""
    ex_a, ex_b = _exemption(world.a.resident), _exemption(world.b.resident)
    test_a, test_b = _test(world.a.resident), _test(world.b.resident)
    audit_a, audit_b = _entry(world.a.community), _entry(world.b.community)
    objects = {
        "/api/v1/compounds": (world.a.compound.id, world.b.compound.id),
        "/api/v1/gates": (world.a.gate.id, world.b.gate.id),
        "/api/v1/buildings": (world.a.building.id, world.b.building.id),
        "/api/v1/households": (world.a.household.id, world.b.household.id),
        "/api/v1/residents": (world.a.resident.id, world.b.resident.id),
        "/api/v1/passes": (world.a.pass_.id, world.b.pass_.id),
        "/api/v1/exemptions": (ex_a.id, ex_b.id),
        "/api/v1/tests": (test_a.id, test_b.id),
        "/api/v1/devices": (world.a.device.id, world.b.device.id),
        "/api/v1/users": (world.a.guard.id, world.b.guard.id),
        "/api/v1/audit": (audit_a.id, audit_b.id),
    }
    assert set(objects) == set(LISTS)
    for path, (a, b) in objects.items():
        seen_a, seen_b, seen_street = (
            ids(listing(api, path)) for api in (office_a, office_b, street)
        )
        assert a in seen_a and b not in seen_a, path
        assert b in seen_b and a not in seen_b, path
        assert {a, b} <= set(seen_street), path


def test_a_guard_may_read_nothing(world, client):
    guard = ApiClient(client).bearer(factories.api_token(world.a.guard))
    for path in LISTS:
        r = guard.get(path)
        assert r.status_code == 403, path
        assert r.get_json()["error"]["code"] == "forbidden"
    assert guard.get(f"/api/v1/residents/{world.a.resident.id}").status_code == 403
    assert guard.post("/api/v1/residents/search", json={"q": "张"}).status_code == 403


def test_one_item_outside_the_scope_is_404_like_one_that_does_not_exist(world, office_b):
    for path in (
        f"/api/v1/compounds/{world.a.compound.id}",
        f"/api/v1/gates/{world.a.gate.id}",
        f"/api/v1/buildings/{world.a.building.id}",
        f"/api/v1/households/{world.a.household.id}",
        f"/api/v1/residents/{world.a.resident.id}",
        f"/api/v1/passes/{world.a.pass_.id}",
        f"/api/v1/exemptions/{_exemption(world.a.resident).id}",
        f"/api/v1/tests/{_test(world.a.resident).id}",
        f"/api/v1/devices/{world.a.device.id}",
        f"/api/v1/users/{world.a.guard.id}",
        f"/api/v1/audit/{_entry(world.a.community).id}",
    ):
        r = office_b.get(path)
        assert r.status_code == 404, path
        assert office_b.get(path.rpartition("/")[0] + "/2147483647").status_code == 404
        assert office_b.get(path.rpartition("/")[0] + "/99999999999").status_code == 404


# --- filters and pages -----------------------------------------------------------------------


def test_unknown_or_mistyped_filters_are_422(world, office_a):
    for path in LISTS:
        r = office_a.get(path + "?nope=1", lang="en")
        assert r.status_code == 422, path
        assert r.get_json()["error"]["field"] == "nope"
        for bad in ("limit=0", "limit=1001", "after=-1", "after=x"):
            assert office_a.get(f"{path}?{bad}").status_code == 422, (path, bad)
    for path, bad in (
        ("/api/v1/households", "under_observation=yes"),
        ("/api/v1/passes", "active=1"),
        ("/api/v1/passes", "kind=bus"),
        ("/api/v1/exemptions", "kind=exemption"),  # not a filter of this list
        ("/api/v1/tests", "result=maybe"),
        ("/api/v1/tests", "since=2020-02-30"),
        ("/api/v1/devices", "kind=phone"),
        ("/api/v1/users", "role=king"),
        ("/api/v1/audit", "action=gate.explode"),
        ("/api/v1/audit", "before=5"),  # the office page's paging, not the API's
        ("/api/v1/residents", "q=张"),  # names are searched with a POST, never in a URL
        ("/api/v1/residents", "last4=1234"),
    ):
        r = office_a.get(f"{path}?{bad}")
        assert r.status_code == 422, (path, bad)
        assert r.get_json()["error"]["field"] == bad.partition("=")[0]
    r = office_a.post("/api/v1/residents/search?q=1", json={})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "q"


def test_a_filter_on_another_communitys_object_is_404(world, office_a):
    for path, name, ident in (
        ("/api/v1/gates", "compound_id", world.b.compound.id),
        ("/api/v1/buildings", "compound_id", world.b.compound.id),
        ("/api/v1/households", "building_id", world.b.building.id),
        ("/api/v1/residents", "household_id", world.b.household.id),
        ("/api/v1/residents", "building_id", world.b.building.id),
        ("/api/v1/residents", "compound_id", world.b.compound.id),
        ("/api/v1/passes", "resident_id", world.b.resident.id),
        ("/api/v1/exemptions", "resident_id", world.b.resident.id),
        ("/api/v1/tests", "resident_id", world.b.resident.id),
        ("/api/v1/devices", "gate_id", world.b.gate.id),
    ):
        assert office_a.get(f"{path}?{name}={ident}").status_code == 404, (path, name)


@pytest.mark.parametrize("path", LISTS)
def test_pages_follow_next_after(world, street, path):
    """Every list pages the same way: by id, limit at a time, next_after null on the last."""
    _exemption(world.a.resident), _exemption(world.b.resident)
    _test(world.a.resident), _test(world.b.resident)
    _entry(world.a.community), _entry(world.b.community)
    everything = ids(listing(street, path))
    assert len(everything) >= 2 and everything == sorted(everything)
    first = listing(street, path, limit=len(everything) - 1)
    assert ids(first) == everything[:-1] and first["next_after"] == everything[-2]
    second = listing(street, path, limit=len(everything) - 1, after=first["next_after"])
    assert ids(second) == everything[-1:] and second["next_after"] is None
    whole = listing(street, path, limit=len(everything))
    assert ids(whole) == everything and whole["next_after"] is None


def test_place_filters(world, office_a, client):
    a = world.a
    other_compound = Compound(community_id=a.community.id, name="二期")
    db.session.add(other_compound)
    db.session.flush()
    gate2 = Gate(compound_id=other_compound.id, name="西门")
    building2 = Building(compound_id=other_compound.id, name="9号楼")
    db.session.add_all([gate2, building2])
    db.session.flush()
    watched = Household(
        building_id=a.building.id,
        unit="2",
        room="302",
        observation_until=utcnow() + timedelta(days=3),
        observation_reason="去过新发地",
    )
    ended = Household(
        building_id=a.building.id,
        unit="3",
        room="101",
        observation_until=utcnow() - timedelta(days=1),
        observation_reason="去过新发地",
    )
    elsewhere = Household(building_id=building2.id, unit="1", room="101")
    db.session.add_all([watched, ended, elsewhere])
    db.session.commit()

    assert ids(listing(office_a, "/api/v1/compounds")) == [a.compound.id, other_compound.id]
    gates = "/api/v1/gates"
    assert ids(listing(office_a, gates, compound_id=a.compound.id)) == [a.gate.id]
    assert ids(listing(office_a, gates, compound_id=other_compound.id)) == [gate2.id]
    buildings = "/api/v1/buildings"
    assert ids(listing(office_a, buildings, compound_id=other_compound.id)) == [building2.id]
    [building] = listing(office_a, buildings, compound_id=a.compound.id)["items"]
    expected = {
        "id": a.building.id,
        "compound_id": a.compound.id,
        "name": "1号楼",
        "seal_state": "open",
        "seal_reason": None,
    }
    assert building.items() >= expected.items()
    households = "/api/v1/households"
    assert ids(listing(office_a, households, building_id=a.building.id)) == [
        a.household.id,
        watched.id,
        ended.id,
    ]
    assert ids(listing(office_a, households, under_observation="true")) == [watched.id]
    assert ids(listing(office_a, households, under_observation="false")) == [
        a.household.id,
        ended.id,
        elsewhere.id,
    ]
    assert ids(listing(office_a, households, building_id=building2.id)) == [elsewhere.id]
    one = office_a.get(f"/api/v1/households/{watched.id}").get_json()
    assert one["observation_reason"] == "去过新发地" and one["observation_until"].endswith("+08:00")
    gate = office_a.get(f"/api/v1/gates/{gate2.id}").get_json()
    expected = {"id": gate2.id, "compound_id": other_compound.id, "name": "西门", "open": True}
    assert gate.items() >= expected.items()


def test_resident_filters_and_no_hash_in_the_output(world, office_a):
    a = world.a
    neighbour = Household(building_id=a.building.id, unit="5", room="301")
    db.session.add(neighbour)
    db.session.flush()
    r1 = factories.resident(neighbour, "李四")
    r2 = factories.resident(a.household, "王五")
    r2.id_hash, r2.id_last4 = security.keyed_hash("110101199003074518"), "4518"
    db.session.commit()
    path = "/api/v1/residents"
    assert ids(listing(office_a, path)) == [a.resident.id, r1.id, r2.id]
    assert ids(listing(office_a, path, household_id=a.household.id)) == [a.resident.id, r2.id]
    assert ids(listing(office_a, path, building_id=a.building.id)) == [a.resident.id, r1.id, r2.id]
    assert ids(listing(office_a, path, compound_id=a.compound.id)) == [a.resident.id, r1.id, r2.id]
    assert ids(listing(office_a, path, unit="5")) == [r1.id]
    assert ids(listing(office_a, path, room="301")) == [a.resident.id, r1.id, r2.id]
    assert ids(listing(office_a, path, unit="2", room="301")) == [a.resident.id, r2.id]
    assert ids(listing(office_a, path, unit="9")) == []
    one = office_a.get(f"/api/v1/residents/{r2.id}").get_json()
    assert one == {
        "id": r2.id,
        "household_id": a.household.id,
        "name": "王五",
        "id_last4": "4518",
        "phone_last4": None,
    }
    for item in listing(office_a, path)["items"]:
        assert set(item) == {"id", "household_id", "name", "id_last4", "phone_last4"}


def test_pass_and_exemption_filters(world, office_a):
    a = world.a
    now = utcnow()
    other = factories.resident(a.household, "李四")
    paper = factories.pass_for(other, kind="paper")
    revoked = factories.pass_for(other, kind="resident", revoked_at=now - timedelta(minutes=1))
    expired = factories.pass_for(
        other, kind="paper", valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1)
    )
    db.session.commit()
    ex_now = _exemption(other)
    ex_later = _exemption(
        a.resident, valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=2)
    )
    path = "/api/v1/passes"
    every = [a.pass_.id, paper.id, revoked.id, expired.id, ex_now.id, ex_later.id]
    assert ids(listing(office_a, path)) == every
    assert ids(listing(office_a, path, resident_id=other.id)) == [
        paper.id,
        revoked.id,
        expired.id,
        ex_now.id,
    ]
    assert ids(listing(office_a, path, kind="paper")) == [paper.id, expired.id]
    assert ids(listing(office_a, path, kind="exemption")) == [ex_now.id, ex_later.id]
    assert ids(listing(office_a, path, active="true")) == [a.pass_.id, paper.id, ex_now.id]
    assert ids(listing(office_a, path, active="false")) == [revoked.id, expired.id, ex_later.id]
    assert ids(listing(office_a, path, kind="paper", active="true", resident_id=other.id)) == [
        paper.id
    ]
    path = "/api/v1/exemptions"
    assert ids(listing(office_a, path)) == [ex_now.id, ex_later.id]
    assert ids(listing(office_a, path, resident_id=a.resident.id)) == [ex_later.id]
    assert ids(listing(office_a, path, active="true")) == [ex_now.id]
    assert ids(listing(office_a, path, active="false")) == [ex_later.id]
    one = office_a.get(f"/api/v1/exemptions/{ex_now.id}").get_json()
    assert one["kind"] == "exemption" and one["purpose"] == "高考" and "code" not in one
    assert office_a.get(f"/api/v1/exemptions/{paper.id}").status_code == 404
    assert office_a.get(f"/api/v1/passes/{ex_now.id}").get_json()["id"] == ex_now.id
    one = office_a.get(f"/api/v1/passes/{revoked.id}").get_json()
    assert one["revoked_at"] is not None and "code" not in one


def test_test_result_filters(world, office_a):
    a = world.a
    other = factories.resident(a.household, "李四")
    db.session.commit()
    t1 = _test(a.resident, T0, "negative")
    t2 = _test(other, T0 + timedelta(days=1), "positive")
    t3 = _test(a.resident, T0 + timedelta(days=2), "negative")
    path = "/api/v1/tests"
    assert ids(listing(office_a, path)) == [t1.id, t2.id, t3.id]
    assert ids(listing(office_a, path, resident_id=a.resident.id)) == [t1.id, t3.id]
    assert ids(listing(office_a, path, result="positive")) == [t2.id]
    assert ids(listing(office_a, path, since="2020-06-14T08:00:00+08:00")) == [t2.id, t3.id]
    assert ids(listing(office_a, path, until="2020-06-14T08:00:00+08:00")) == [t1.id]
    assert ids(listing(office_a, path, since="2020-06-14", until="2020-06-15")) == [t2.id]
    one = office_a.get(f"/api/v1/tests/{t2.id}").get_json()
    assert one == {
        "id": t2.id,
        "resident_id": other.id,
        "taken_at": "2020-06-14T08:00:00+08:00",
        "result": "positive",
    }


def test_device_filters_and_no_token(world, office_a):
    a = world.a
    sensor, _ = factories.device(a.gate, "闸机")
    sensor.kind = "sensor"
    gate2 = Gate(compound_id=a.compound.id, name="西门")
    db.session.add(gate2)
    db.session.flush()
    west, _ = factories.device(gate2, "西门平板")
    db.session.commit()
    path = "/api/v1/devices"
    assert ids(listing(office_a, path)) == [a.device.id, sensor.id, west.id]
    assert ids(listing(office_a, path, gate_id=a.gate.id)) == [a.device.id, sensor.id]
    assert ids(listing(office_a, path, kind="sensor")) == [sensor.id]
    assert ids(listing(office_a, path, kind="tablet", gate_id=gate2.id)) == [west.id]
    one = office_a.get(f"/api/v1/devices/{sensor.id}").get_json()
    assert set(one) == {"id", "gate_id", "name", "kind", "created_at", "enrolled_at", "revoked_at"}
    assert one["kind"] == "sensor" and one["name"] == "闸机"


def test_user_filters_and_no_password_or_pin(world, office_a, street):
    a = world.a
    factories.set_pin(a.guard)
    off = factories.user("guard_off", "guard", community_id=a.community.id, active=False)
    db.session.commit()
    path = "/api/v1/users"
    every = [a.office.id, a.guard.id, world.resident_user.id, world.worker.id, off.id]
    assert ids(listing(office_a, path)) == every
    assert ids(listing(office_a, path, role="guard")) == [a.guard.id, off.id]
    assert ids(listing(office_a, path, role="guard", active="true")) == [a.guard.id]
    assert ids(listing(office_a, path, active="false")) == [off.id]
    assert ids(listing(office_a, path, role="resident")) == [world.resident_user.id]
    # The street user sees the users of every community of the street.
    assert ids(listing(street, path, role="office")) == [a.office.id, world.b.office.id]
    for item in listing(office_a, path)["items"]:
        assert set(item) == {"id", "username", "role", "community_id", "active"}
        assert item["community_id"] == a.community.id  # a resident user's: the household's
    one = office_a.get(f"/api/v1/users/{a.guard.id}").get_json()
    assert one == {
        "id": a.guard.id,
        "username": "guard_a",
        "role": "guard",
        "community_id": a.community.id,
        "active": True,
    }
    # Users without a community of the caller's: the street user, another community's office.
    assert office_a.get(f"/api/v1/users/{world.street_user.id}").status_code == 404
    assert office_a.get(f"/api/v1/users/{world.b.office.id}").status_code == 404


def test_audit_filters_and_detail(world, office_a, client):
    a = world.a
    e1 = _entry(a.community, "gate.open", user_id=a.office.id, at=T0)
    e2 = _entry(a.community, "pass.issue", user_id=world.worker.id, at=T0 + timedelta(days=1))
    e3 = _entry(
        a.community,
        "gate.close",
        user_id=a.office.id,
        at=T0 + timedelta(days=2),
        reason="夜间",
    )
    path = "/api/v1/audit"
    assert ids(listing(office_a, path)) == [e1.id, e2.id, e3.id]
    assert ids(listing(office_a, path, who=a.office.id)) == [e1.id, e3.id]
    assert ids(listing(office_a, path, action="pass.issue")) == [e2.id]
    assert ids(listing(office_a, path, target="gate")) == [e1.id, e3.id]
    assert ids(listing(office_a, path, since="2020-06-14")) == [e2.id, e3.id]
    assert ids(listing(office_a, path, until="2020-06-14")) == [e1.id]
    assert ids(listing(office_a, path, target="gate", since="2020-06-14")) == [e3.id]
    one = office_a.get(f"/api/v1/audit/{e3.id}").get_json()
    assert one == {
        "id": e3.id,
        "at": "2020-06-15T08:00:00+08:00",
        "user_id": a.office.id,
        "action": "gate.close",
        "target_type": "gate",
        "target_id": 1,
        "detail": {"reason": "夜间"},
    }
    assert office_a.get(f"/api/v1/audit/{e1.id}").get_json()["detail"] == {}
    # A real change is in the trail the API reads.
    office_a.patch(f"/api/v1/gates/{a.gate.id}", json={"open": False})
    last = listing(office_a, path, action="gate.close")["items"][-1]
    assert last["user_id"] == a.office.id and last["target_id"] == a.gate.id


# --- the search -----------------------------------------------------------------------------


def _people(world, office_a):
    """Three residents of site a added through the API (the numbers are hashed there)."""
    made = {}
    for name, id_number, phone in (
        ("张伟", "11010119900307451X", "13800138000"),
        ("张小红", "110101199203071234", "139-0013-9876"),
        ("李娜", None, "13700001234"),
    ):
        body = {"name": name, "phone": phone} | ({"id_number": id_number} if id_number else {})
        r = office_a.post(f"/api/v1/households/{world.a.household.id}/residents", json=body)
        assert r.status_code == 201, r.get_json()
        made[name] = r.get_json()["id"]
    return made


def search(api: ApiClient, body: dict, **params) -> dict:
    path = "/api/v1/residents/search" + ("?" + urlencode(params) if params else "")
    r = api.post(path, json=body)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def test_search_by_name_part_and_last_four_of_id_number_or_phone(world, office_a, office_b):
    made = _people(world, office_a)
    assert ids(search(office_a, {"q": "张"})) == [world.a.resident.id, made["张伟"], made["张小红"]]
    assert ids(search(office_a, {"q": "小红"})) == [made["张小红"]]
    assert ids(search(office_a, {"q": "451x"})) == [made["张伟"]]  # the ID's last four
    assert ids(search(office_a, {"q": "451X"})) == [made["张伟"]]
    assert ids(search(office_a, {"q": "9876"})) == [made["张小红"]]  # the phone's last four
    assert ids(search(office_a, {"q": "1234"})) == [made["张小红"], made["李娜"]]  # both kinds
    assert ids(search(office_a, {"q": "0000"})) == []
    assert ids(search(office_a, {"q": "张", "unit": "2", "room": "301"})) == [
        world.a.resident.id,
        made["张伟"],
        made["张小红"],
    ]
    assert ids(search(office_a, {"q": "张", "room": "999"})) == []
    assert ids(search(office_a, {"q": "张", "compound_id": world.a.compound.id})) == [
        world.a.resident.id,
        made["张伟"],
        made["张小红"],
    ]
    assert len(search(office_a, {})["items"]) == 4
    # Another community's office finds none of them, by name or number.
    assert search(office_b, {"q": "小红"})["items"] == []
    assert search(office_b, {"q": "9876"})["items"] == []
    r = office_b.post("/api/v1/residents/search", json={"building_id": world.a.building.id})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "building_id"
    # The output: the last four only, never a hash.
    for item in search(office_a, {"q": "张"})["items"]:
        assert set(item) == {"id", "household_id", "name", "id_last4", "phone_last4"}
    assert search(office_a, {"q": "小红"})["items"][0]["phone_last4"] == "9876"


def test_search_pages_like_every_list(world, office_a):
    made = _people(world, office_a)
    first = search(office_a, {"q": "张"}, limit=2)
    assert ids(first) == [world.a.resident.id, made["张伟"]]
    second = search(office_a, {"q": "张"}, limit=2, after=first["next_after"])
    assert ids(second) == [made["张小红"]] and second["next_after"] is None


def test_search_refuses_what_the_contract_does_not_say(world, office_a):
    for body in (
        {"q": ""},
        {"q": "x" * 51},
        {"compound_id": "1"},
        {"name": "张"},
        {"q": None},
        {"unit": 5},
    ):
        r = office_a.post("/api/v1/residents/search", json=body)
        assert r.status_code == 422, body
    assert office_a.post("/api/v1/residents/search", json=["张"]).status_code == 400


# --- a resident's change --------------------------------------------------------------------


def test_patch_resident_hashes_the_new_numbers_and_is_audited(world, office_a, office_b):
    rid = world.a.resident.id
    r = office_a.patch(
        f"/api/v1/residents/{rid}",
        json={
            "name": "张三",
            "id_number": "１１０１０１１９９００３０７４５１ｘ",
            "phone": "138 0013 8000",
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {
        "id": rid,
        "household_id": world.a.household.id,
        "name": "张三",
        "id_last4": "451X",
        "phone_last4": "8000",
    }
    db.session.expire_all()
    resident = db.session.get(Resident, rid)
    assert resident.id_hash == security.keyed_hash("11010119900307451X")
    assert resident.phone_hash == security.keyed_hash("13800138000")
    entry = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "resident.update")
    ).one()
    assert entry.target_id == rid and entry.user_id == world.a.office.id
    assert json.loads(entry.detail) == {"fields": ["name", "id_number", "phone"]}
    assert "451" not in entry.detail and "138" not in entry.detail
    # Only what is given changes.
    r = office_a.patch(f"/api/v1/residents/{rid}", json={"phone": "13912345678"})
    assert r.get_json()["name"] == "张三" and r.get_json()["id_last4"] == "451X"
    assert r.get_json()["phone_last4"] == "5678"
    # The search finds the new numbers.
    assert ids(search(office_a, {"q": "5678"})) == [rid]
    # Nothing to change, a bad number, another community's resident.
    r = office_a.patch(f"/api/v1/residents/{rid}", json={})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid"
    assert office_a.patch(f"/api/v1/residents/{rid}", json={"id_number": "12"}).status_code == 422
    assert office_a.patch(f"/api/v1/residents/{rid}", json={"name": None}).status_code == 422
    assert office_b.patch(f"/api/v1/residents/{rid}", json={"name": "李四"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Resident, rid).name == "张三"


def test_update_resident_service_keeps_numbers_as_create_does(world):
    """The office's pages call the same function: hash and last four, as ``create_resident``."""
    office = db.session.get(User, world.a.office.id)
    created = org.create_resident(
        office,
        world.a.household.id,
        ResidentCreate(name="赵六", id_number="110101199003074518", phone="13800001111"),
    )
    twin = org.create_resident(office, world.a.household.id, ResidentCreate(name="赵七"))
    org.update_resident(
        office, twin.id, ResidentChange(id_number="110101199003074518", phone="13800001111")
    )
    assert (twin.id_hash, twin.id_last4) == (created.id_hash, created.id_last4)
    assert (twin.phone_hash, twin.phone_last4) == (created.phone_hash, created.phone_last4)
