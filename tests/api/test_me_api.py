"""The resident's own API: a token from their username and password, GET /api/v1/me and
GET /api/v1/me/code; the code scans at the gate now and is refused once 90 seconds old."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import User, utcnow
from kiosk.services.passes import code_for
from tests import factories
from tests.helpers import ApiClient


@dataclass(frozen=True)
class DocCall:
    """One operation called for real by the OpenAPI test (tests/api/test_openapi.py)."""

    method: str
    rule: str
    user: Callable  # (world) -> User
    build: Callable  # (world) -> (path, json body or None)
    success: int


def _joined(world) -> User:
    """Site a's resident, joined (another module may have joined them already)."""
    found = db.session.scalar(select(User).where(User.resident_id == world.a.resident.id))
    if found is None:
        found = factories.user(
            "doc_me", "resident", household_id=world.a.household.id, resident_id=world.a.resident.id
        )
        db.session.commit()
    return found


DOC_CALLS = [
    DocCall("GET", "/api/v1/me", _joined, lambda w: ("/api/v1/me", None), 200),
    DocCall("GET", "/api/v1/me/code", _joined, lambda w: ("/api/v1/me/code", None), 200),
]


@pytest.fixture
def resident_user(world):
    u = factories.user(
        "zhang", "resident", household_id=world.a.household.id, resident_id=world.a.resident.id
    )
    db.session.commit()
    return u


@pytest.fixture
def resident(resident_user, client) -> ApiClient:
    return ApiClient(client).login("zhang")


@pytest.fixture
def gate_a(world, app) -> ApiClient:
    return ApiClient(app.test_client()).as_device(world.a.device_token)


def test_a_resident_signs_in_for_a_token(resident_user, client):
    r = client.post("/api/v1/tokens", json={"username": "zhang", "password": factories.PASSWORD})
    assert r.status_code == 201 and r.get_json()["role"] == "resident"


def test_me(resident, world):
    r = resident.get("/api/v1/me", lang="en")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["username"] == "zhang"
    assert body["name"] == "张三丰"  # their own record, in full
    assert (body["compound"], body["building"], body["unit"], body["room"]) == (
        "丰台小区",
        "1号楼",
        "2",
        "301",
    )
    assert body["status"] == {
        "may_in": True,
        "may_out": True,
        "sentence": "You may come and go freely",
    }
    assert body["latest_test"] is None and body["care_mode"] is False


def test_the_status_follows_the_building(resident, world):
    world.a.building.seal_state = "in_only"
    world.a.building.seal_changed_at = utcnow()
    db.session.commit()
    body = resident.get("/api/v1/me", lang="zh-CN").get_json()
    assert (body["status"]["may_in"], body["status"]["may_out"]) == (True, False)
    assert body["status"]["sentence"].startswith("1号楼")


def test_my_code_scans_now_and_not_after_90_seconds(resident, world, gate_a, app):
    r = resident.get("/api/v1/me/code")
    assert r.status_code == 200
    body = r.get_json()
    assert body["kind"] == "resident" and body["rotating"] is True
    assert body["step_seconds"] == app.config["PASS_STEP_SECONDS"]
    assert 1 <= body["seconds_left"] <= body["step_seconds"]
    assert body["pass_id"] == world.a.pass_.id
    assert gate_a.scan(body["code"]).get_json()["decision"] == "allow"
    # A code read from the screen at t and scanned at t + 91 s.
    t = time.time()
    captured = code_for(world.a.pass_, t - 91)
    answer = gate_a.scan(captured, "out", None).get_json()
    assert (answer["decision"], [x["code"] for x in answer["reasons"]]) == (
        "deny",
        ["invalid_code"],
    )
    # The same pass's code of now still goes through.
    assert gate_a.scan(code_for(world.a.pass_, t), "out", None).get_json()["decision"] == "allow"


def test_no_pass_no_code(resident, world):
    world.a.pass_.revoked_at = utcnow()
    db.session.commit()
    r = resident.get("/api/v1/me/code", lang="en")
    assert r.status_code == 404
    assert "no pass" in r.get_json()["error"]["message"]


def test_only_a_joined_resident(world, client):
    api = ApiClient(client)
    assert api.get("/api/v1/me").status_code == 401
    for user in (world.a.office, world.worker, world.resident_user):  # not bound to a record
        api.bearer(factories.api_token(user))
        assert api.get("/api/v1/me").status_code == 403
        assert api.get("/api/v1/me/code").status_code == 403
