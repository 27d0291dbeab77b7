"""The deliveries API: a resident's requests and door announcements (RESIDENT tokens), a
worker's open requests and steps (STAFF tokens, role worker); household and community scope;
a lost race is a 409 with a reason.

``DOC_CALLS`` lets tests/api/test_openapi.py call each of these operations for real."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import DoorAnnouncement, ServiceRequest, User, utcnow
from kiosk.services import deliveries
from tests import factories
from tests.helpers import ApiClient


def joined_resident(world, site="a") -> User:
    """A joined resident of the site's household, which is under home observation."""
    s = getattr(world, site)
    # Another test module may have joined the same person already (one login per person).
    found = db.session.scalar(select(User).where(User.resident_id == s.resident.id))
    if found is None:
        found = factories.user(
            "api_resident_" + site,
            "resident",
            household_id=s.household.id,
            resident_id=s.resident.id,
        )
    if s.household.observation_until is None or s.household.observation_until <= utcnow():
        s.household.observation_until = utcnow() + timedelta(days=3)
    db.session.commit()
    return found


def fresh_request(world, steps=(), site="a") -> int:
    """A new request of the site's household (written straight to the database, past the cap of
    waiting requests), moved through the workers' ``steps``."""
    s = getattr(world, site)
    request = ServiceRequest(
        household_id=s.household.id,
        community_id=s.community.id,
        kind="water",
        requested_by_id=joined_resident(world, site).id,
    )
    db.session.add(request)
    db.session.commit()
    for step in steps:
        deliveries.advance(world.worker, request.id, step)
    return request.id


@dataclass(frozen=True)
class DocCall:
    """One operation called for real by the OpenAPI test: who calls it, and how."""

    method: str
    rule: str
    user: Callable  # (world) -> User
    build: Callable  # (world) -> (path, json body or None)
    success: int


def _resident(w):
    return joined_resident(w)


def _worker(w):
    return w.worker


DOC_CALLS = [
    DocCall("GET", "/api/v1/me/requests", _resident, lambda w: ("/api/v1/me/requests", None), 200),
    DocCall(
        "POST",
        "/api/v1/me/requests",
        _resident,
        lambda w: ("/api/v1/me/requests", {"kind": "medicine", "note": "布洛芬"}),
        201,
    ),
    DocCall(
        "POST",
        "/api/v1/me/requests/{id}/confirm",
        _resident,
        lambda w: (
            f"/api/v1/me/requests/{fresh_request(w, ('take', 'on_the_way', 'delivered'))}/confirm",
            None,
        ),
        200,
    ),
    DocCall(
        "POST",
        "/api/v1/me/requests/{id}/cancel",
        _resident,
        lambda w: (f"/api/v1/me/requests/{fresh_request(w)}/cancel", None),
        200,
    ),
    DocCall(
        "POST",
        "/api/v1/me/announcements",
        _resident,
        lambda w: ("/api/v1/me/announcements", {"kind": "delivery", "minutes": 10}),
        201,
    ),
    DocCall(
        "GET",
        "/api/v1/requests",
        _worker,
        lambda w: (fresh_request(w, ("take",)) and fresh_request(w) and "/api/v1/requests", None),
        200,
    ),
    DocCall(
        "POST",
        "/api/v1/requests/{id}/take",
        _worker,
        lambda w: (f"/api/v1/requests/{fresh_request(w)}/take", None),
        200,
    ),
    DocCall(
        "POST",
        "/api/v1/requests/{id}/on-the-way",
        _worker,
        lambda w: (f"/api/v1/requests/{fresh_request(w, ('take',))}/on-the-way", None),
        200,
    ),
    DocCall(
        "POST",
        "/api/v1/requests/{id}/delivered",
        _worker,
        lambda w: (
            f"/api/v1/requests/{fresh_request(w, ('take', 'on_the_way'))}/delivered",
            None,
        ),
        200,
    ),
]


def api_as(client, user) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(user))


@pytest.fixture
def resident(world, client):
    return api_as(client, joined_resident(world))


@pytest.fixture
def worker(world, client):
    return api_as(client, world.worker)


@pytest.mark.parametrize("call", DOC_CALLS, ids=lambda c: f"{c.method} {c.rule}")
def test_each_operation_succeeds_for_its_caller(world, client, call):
    path, payload = call.build(world)
    r = api_as(client, call.user(world))._call(call.method, path, json=payload)
    assert r.status_code == call.success, r.get_json()


def test_ask_and_follow_to_confirmed(world, resident, worker):
    r = resident.post("/api/v1/me/requests", json={"kind": "groceries", "note": "米 面"})
    assert r.status_code == 201
    rid = r.get_json()["id"]
    assert r.get_json()["status"] == "received" and r.get_json()["worker"] is None
    listed = worker.get("/api/v1/requests").get_json()["items"]
    [item] = [i for i in listed if i["id"] == rid]
    assert (item["building"], item["unit"], item["room"]) == ("1号楼", "2", "301")
    assert item["requester"] == "张**"
    for step, status in (("take", "taken"), ("on-the-way", "on_the_way")):
        r = worker.post(f"/api/v1/requests/{rid}/{step}")
        assert r.status_code == 200 and r.get_json()["status"] == status
    assert resident.post(f"/api/v1/me/requests/{rid}/confirm").status_code == 409
    worker.post(f"/api/v1/requests/{rid}/delivered")
    mine = resident.get("/api/v1/me/requests").get_json()["items"][0]
    assert mine["status"] == "delivered" and mine["worker"] == "worker_a"
    assert mine["delivered_at"].endswith("+08:00")
    r = resident.post(f"/api/v1/me/requests/{rid}/confirm")
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"


def test_medicine_needs_a_note_and_every_field_is_reported(resident):
    r = resident.post("/api/v1/me/requests", json={"kind": "medicine"}, lang="en")
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "note"
    r = resident.post("/api/v1/me/requests", json={"kind": "pizza", "note": 5, "x": 1})
    fields = {f["field"] for f in r.get_json()["error"]["fields"]}
    assert r.status_code == 422 and {"kind", "note", "x"} <= fields


def test_refused_when_neither_observed_nor_allowed(world, client):
    user = factories.user(
        "plain", "resident", household_id=world.b.household.id, resident_id=world.b.resident.id
    )
    db.session.commit()
    api = api_as(client, user)
    r = api.post("/api/v1/me/requests", json={"kind": "water"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "services_not_allowed"
    r = api.post("/api/v1/me/announcements", json={"kind": "rubbish"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_under_observation"


def test_another_households_request_is_404_with_every_id(world, client, resident):
    world.b.household.services_allowed = True
    db.session.commit()
    theirs = fresh_request(world, site="b")
    for rid in (theirs, 999999, 2**31 - 1, 2**31):
        for action in ("confirm", "cancel"):
            r = resident.post(f"/api/v1/me/requests/{rid}/{action}")
            assert r.status_code == 404, (rid, action)
    assert db.session.get(ServiceRequest, theirs).status == "received"
    assert all(i["id"] != theirs for i in resident.get("/api/v1/me/requests").get_json()["items"])


def test_workers_reach_only_their_community(world, client, worker):
    world.b.household.services_allowed = True
    db.session.commit()
    theirs = fresh_request(world, site="b")
    assert all(i["id"] != theirs for i in worker.get("/api/v1/requests").get_json()["items"])
    for step in ("take", "on-the-way", "delivered"):
        assert worker.post(f"/api/v1/requests/{theirs}/{step}").status_code == 404


def test_who_may_call(world, client):
    rid = fresh_request(world)
    for user in (world.a.office, world.a.guard, world.street_user, joined_resident(world)):
        api = api_as(client, user)
        assert api.get("/api/v1/requests").status_code == 403
        assert api.post(f"/api/v1/requests/{rid}/take").status_code == 403
    for user in (world.a.office, world.worker, world.resident_user):  # not joined residents
        api = api_as(client, user)
        assert api.get("/api/v1/me/requests").status_code == 403
        assert api.post("/api/v1/me/requests", json={"kind": "water"}).status_code == 403
    anonymous = ApiClient(client)
    assert anonymous.get("/api/v1/me/requests").status_code == 401
    assert anonymous.get("/api/v1/requests").status_code == 401
    assert db.session.get(ServiceRequest, rid).status == "received"


def test_a_second_worker_gets_409_with_the_reason(world, client, worker):
    rid = fresh_request(world)
    rival = factories.user("worker_a2", "worker", community_id=world.a.community.id)
    db.session.commit()
    assert worker.post(f"/api/v1/requests/{rid}/take").status_code == 200
    r = api_as(client, rival).post(f"/api/v1/requests/{rid}/take", lang="en")
    assert r.status_code == 409
    assert r.get_json()["error"] == {
        "code": "taken_by_another",
        "message": "Another worker has already taken this request.",
    }


def test_announcement_window(world, resident):
    r = resident.post("/api/v1/me/announcements", json={"kind": "rubbish"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["kind"] == "rubbish"
    row = db.session.get(DoorAnnouncement, body["id"])
    assert row.ends_at - row.starts_at == timedelta(minutes=10)
    for bad in (0, 31, "10", 1.5, True):
        r = resident.post("/api/v1/me/announcements", json={"kind": "other", "minutes": bad})
        assert r.status_code == 422 and r.get_json()["error"]["field"] == "minutes", bad
