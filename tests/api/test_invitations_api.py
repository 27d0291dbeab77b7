"""The invitations API (RESIDENT tokens): invite, list, cancel; refusals with the gate's reasons;
household scope; the code behind the share link scans at the gate.

``DOC_CALLS`` lets tests/api/test_openapi.py call each of these operations for real."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Household, Resident, User, Visit, VisitInvite, utcnow
from tests import factories
from tests.helpers import ApiClient


def inviting_resident(world) -> User:
    """A joined resident of a household of its own at site b (not under observation, so other
    modules' residents and their observation never meet it)."""
    found = db.session.scalar(select(User).where(User.username == "api_inviter"))
    if found is not None:
        return found
    household = Household(building_id=world.b.building.id, unit="3", room="502")
    db.session.add(household)
    db.session.flush()
    person = Resident(household_id=household.id, name="赵大为")
    db.session.add(person)
    db.session.flush()
    found = factories.user(
        "api_inviter", "resident", household_id=household.id, resident_id=person.id
    )
    db.session.commit()
    return found


def today():
    return utcnow().astimezone(current_app.config["TZ"]).date()


def body(**changes) -> dict:
    data = {
        "name": "王小明",
        "phone": "13800138000",
        "date": today().isoformat(),
        "purpose": "visit",
    }
    data.update(changes)
    return data


def fresh_invitation(world) -> int:
    """A new waiting invitation of the inviting resident's household."""
    api = ApiClient(world_client()).bearer(factories.api_token(inviting_resident(world)))
    r = api.post("/api/v1/me/invitations", body())
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def world_client():
    return current_app.test_client()


@dataclass(frozen=True)
class DocCall:
    """One operation called for real by the OpenAPI test: who calls it, and how."""

    method: str
    rule: str
    user: Callable  # (world) -> User
    build: Callable  # (world) -> (path, json body or None)
    success: int


DOC_CALLS = [
    DocCall(
        "GET",
        "/api/v1/me/invitations",
        inviting_resident,
        lambda w: ("/api/v1/me/invitations", None),
        200,
    ),
    DocCall(
        "POST",
        "/api/v1/me/invitations",
        inviting_resident,
        lambda w: ("/api/v1/me/invitations", body()),
        201,
    ),
    DocCall(
        "POST",
        "/api/v1/me/invitations/{id}/cancel",
        inviting_resident,
        lambda w: (f"/api/v1/me/invitations/{fresh_invitation(w)}/cancel", None),
        200,
    ),
]


def resident_api(client, world) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(inviting_resident(world)))


def test_invite_list_and_cancel(world, client):
    api = resident_api(client, world)
    r = api.post("/api/v1/me/invitations", body())
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["status"] == "waiting" and created["name"] == "王小明"
    assert created["phone_last4"] == "8000" and created["date"] == today().isoformat()
    assert created["arrived_at"] is None and created["left_at"] is None
    link = created["share_url"]
    assert re.fullmatch(r"http://localhost/v/[A-Za-z0-9_-]{43}", link)
    token = link.rsplit("/", 1)[1]
    invite = db.session.get(VisitInvite, created["id"])
    assert token not in invite.link_hash
    listed = api.get("/api/v1/me/invitations").get_json()["items"]
    assert [i["id"] for i in listed] == [created["id"]]
    assert "share_url" not in listed[0]
    r = api.post(f"/api/v1/me/invitations/{created['id']}/cancel")
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert r.get_json()["cancelled_at"] is not None
    r = api.post(f"/api/v1/me/invitations/{created['id']}/cancel")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_cancelled"


def test_refused_with_the_gates_reasons(world, client):
    api = resident_api(client, world)
    household = db.session.get(Household, inviting_resident(world).household_id)
    household.observation_until = utcnow() + timedelta(days=14)
    world.b.building.seal_state = "in_only"
    db.session.commit()
    r = api.post("/api/v1/me/invitations", body(), lang="en")
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "host_building_in_only" and err["field"] == "date"
    assert "The host's building is in-only: no visitors" in err["message"]
    assert "The host household is under home observation" in err["message"]
    assert db.session.scalars(select(Visit)).all() == []


def test_bad_bodies_name_every_field(world, client):
    api = resident_api(client, world)
    r = api.post(
        "/api/v1/me/invitations",
        {"name": "", "phone": "x", "date": "2026-02-30", "purpose": "party", "extra": 1},
    )
    assert r.status_code == 422
    fields = {f["field"] for f in r.get_json()["error"]["fields"]}
    assert fields == {"name", "phone", "date", "purpose", "extra"}
    far = (today() + timedelta(days=8)).isoformat()
    r = api.post("/api/v1/me/invitations", body(date=far))
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "date"


def test_scope_staff_and_other_households(world, client):
    invite_id = fresh_invitation(world)
    other = factories.user(
        "api_other", "resident", household_id=world.a.household.id, resident_id=world.a.resident.id
    )
    db.session.commit()
    api = ApiClient(client).bearer(factories.api_token(other))
    assert api.get("/api/v1/me/invitations").get_json()["items"] == []
    for ident in (invite_id, invite_id + 1, 2**31 - 1):
        assert api.post(f"/api/v1/me/invitations/{ident}/cancel").status_code == 404
    staff = ApiClient(client).bearer(factories.api_token(world.a.office))
    assert staff.get("/api/v1/me/invitations").status_code == 403
    assert staff.post("/api/v1/me/invitations", body()).status_code == 403
    assert ApiClient(client).get("/api/v1/me/invitations").status_code == 401
    assert db.session.get(VisitInvite, invite_id).cancelled_at is None


def test_the_shared_code_scans_at_the_gate_api_and_the_list_shows_arrival(world, client):
    api = resident_api(client, world)
    created = api.post("/api/v1/me/invitations", body()).get_json()
    path = "/v/" + created["share_url"].rsplit("/v/", 1)[1]
    page = client.get(path)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(path, data={"csrf_token": csrf, "health_code": "green"})
    code = html.unescape(re.search(r'data-code="([^"]+)"', r.text).group(1))
    device = ApiClient(client).as_device(world.b.device_token)
    r = device.scan(code, temperature=36.6)
    assert r.status_code == 200 and r.get_json()["decision"] == "allow", r.get_json()
    listed = api.get("/api/v1/me/invitations").get_json()["items"]
    assert listed[0]["status"] == "arrived" and listed[0]["arrived_at"] is not None
    visit = db.session.scalars(select(Visit)).one()
    assert visit.host_household_id == inviting_resident(world).household_id
    assert device.scan(code, direction="out", temperature=None).get_json()["decision"] == "allow"
    listed = api.get("/api/v1/me/invitations").get_json()["items"]
    assert listed[0]["status"] == "left" and listed[0]["left_at"] is not None
