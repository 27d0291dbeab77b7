"""Who may call which staff route: every route against every kind of caller.

The objects are those of site a. The street user and the office user of community a may act
(201/200/204); the office of community b and the street user of another street find nothing
(404, or 422 where the community is named in the body); guards, workers and residents may not
manage (403); no token, or a gate device's token, is not a staff sign-in (401).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from kiosk.extensions import db
from kiosk.models import DoorSensor, RiskArea, utcnow
from tests import factories
from tests.helpers import ApiClient

ROLES = (
    "street",
    "office",
    "office_other",
    "street_other",
    "guard",
    "worker",
    "resident",
    "anonymous",
    "device",
)


def _iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


def _fresh_pass(w, role):
    p = factories.pass_for(w.a.resident, kind="paper")
    db.session.commit()
    return p.id


def _fresh_device(w, role):
    """A tablet at gate a for each caller to remove (a second removal would be 409)."""
    device, _token = factories.device(w.a.gate, "平板-" + role)
    db.session.commit()
    return device.id


def _fresh_sensor(w, role):
    """A door sensor on household a's door for each caller to remove."""
    sensor = DoorSensor(
        household_id=w.a.household.id, community_id=w.a.community.id, name="门磁-" + role
    )
    db.session.add(sensor)
    db.session.commit()
    return sensor.id


def _fresh_resident(w, role):
    """A member of household a for each caller to move away (a second call would be 409)."""
    r = factories.resident(w.a.household, "搬走-" + role)
    db.session.commit()
    return r.id


def _fresh_area(w, role):
    area = RiskArea(
        community_id=w.a.community.id,
        name="新发地市场-" + role,
        level="high",
        since=utcnow() - timedelta(days=3),
    )
    db.session.add(area)
    db.session.commit()
    return area.id


@dataclass(frozen=True)
class Route:
    """One staff route: how to call it on site a's objects, and what success looks like."""

    method: str
    rule: str  # as documented in openapi.json
    build: Callable  # (world, role) -> (path, json body or None)
    success: int
    body_scoped: bool = False  # the community is named in the body: 422 outside the scope
    lists: bool = True  # a GET answers a page of items (the trace answers one report)
    overrides: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}"

    def expected(self) -> dict[str, int]:
        outside = 422 if self.body_scoped else 404
        out = {
            "street": self.success,
            "office": self.success,
            "office_other": outside,
            "street_other": outside,
            "guard": 403,
            "worker": 403,
            "resident": 403,
            "anonymous": 401,
            "device": 401,
        }
        out.update(self.overrides)
        return out


ROUTES = [
    Route(
        "POST",
        "/api/v1/compounds",
        lambda w, r: (
            "/api/v1/compounds",
            {"name": "新小区-" + r, "community_id": w.a.community.id},
        ),
        201,
        body_scoped=True,
    ),
    Route(
        "PATCH",
        "/api/v1/compounds/{id}",
        lambda w, r: (
            f"/api/v1/compounds/{w.a.compound.id}",
            {"seal_state": "in_only", "reason": "疑似病例"},
        ),
        200,
    ),
    Route(
        "POST",
        "/api/v1/compounds/{id}/gates",
        lambda w, r: (f"/api/v1/compounds/{w.a.compound.id}/gates", {"name": "北门-" + r}),
        201,
    ),
    Route(
        "PATCH",
        "/api/v1/gates/{id}",
        lambda w, r: (f"/api/v1/gates/{w.a.gate.id}", {"open": False}),
        200,
    ),
    Route(
        "POST",
        "/api/v1/compounds/{id}/buildings",
        lambda w, r: (f"/api/v1/compounds/{w.a.compound.id}/buildings", {"name": "楼-" + r}),
        201,
    ),
    Route(
        "PATCH",
        "/api/v1/buildings/{id}",
        lambda w, r: (
            f"/api/v1/buildings/{w.a.building.id}",
            {"seal_state": "sealed", "reason": "确诊"},
        ),
        200,
    ),
    Route(
        "POST",
        "/api/v1/buildings/{id}/households",
        lambda w, r: (
            f"/api/v1/buildings/{w.a.building.id}/households",
            {"unit": "9", "room": r[:20]},
        ),
        201,
    ),
    Route(
        "PATCH",
        "/api/v1/households/{id}",
        lambda w, r: (
            f"/api/v1/households/{w.a.household.id}",
            {"observation_until": _iso(timedelta(days=14)), "observation_reason": "去过新发地"},
        ),
        200,
    ),
    Route(
        "POST",
        "/api/v1/households/{id}/residents",
        lambda w, r: (
            f"/api/v1/households/{w.a.household.id}/residents",
            {"name": "李四", "id_number": "110101199003074518", "phone": "13800138000"},
        ),
        201,
    ),
    Route(
        "POST",
        "/api/v1/residents/{id}/passes",
        lambda w, r: (f"/api/v1/residents/{w.a.resident.id}/passes", {"kind": "paper"}),
        201,
    ),
    Route(
        "POST",
        "/api/v1/passes/{id}/revoke",
        lambda w, r: (f"/api/v1/passes/{_fresh_pass(w, r)}/revoke", {"reason": "丢失"}),
        200,
    ),
    Route(
        "POST",
        "/api/v1/residents/{id}/exemptions",
        lambda w, r: (
            f"/api/v1/residents/{w.a.resident.id}/exemptions",
            {
                "purpose": "高考",
                "valid_from": _iso(-timedelta(minutes=1)),
                "valid_until": _iso(timedelta(hours=8)),
                "negative_test_within_hours": 48,
            },
        ),
        201,
    ),
    Route(
        "POST",
        "/api/v1/residents/{id}/move-away",
        lambda w, r: (f"/api/v1/residents/{_fresh_resident(w, r)}/move-away", None),
        200,
    ),
    Route(
        "POST",
        "/api/v1/residents/{id}/tests",
        lambda w, r: (
            f"/api/v1/residents/{w.a.resident.id}/tests",
            {"taken_at": _iso(-timedelta(hours=2)), "result": "negative"},
        ),
        201,
    ),
    Route(
        "POST",
        "/api/v1/gates/{id}/devices",
        lambda w, r: (f"/api/v1/gates/{w.a.gate.id}/devices", {"name": "平板-" + r}),
        201,
    ),
    Route(
        "POST",
        "/api/v1/devices/{id}/revoke",
        lambda w, r: (f"/api/v1/devices/{_fresh_device(w, r)}/revoke", None),
        200,
    ),
    Route(
        "POST",
        "/api/v1/sensors/{id}/revoke",
        lambda w, r: (f"/api/v1/sensors/{_fresh_sensor(w, r)}/revoke", None),
        200,
    ),
    Route(
        "GET", "/api/v1/events", lambda w, r: (f"/api/v1/events?gate_id={w.a.gate.id}", None), 200
    ),
    Route(
        "GET",
        "/api/v1/trace",
        lambda w, r: (f"/api/v1/trace?resident_id={w.a.resident.id}&reason=case", None),
        200,
        lists=False,
    ),
    Route(
        "GET",
        "/api/v1/risk-areas",
        # A list: outside the scope it answers, but without site a's areas (checked below).
        lambda w, r: ("/api/v1/risk-areas", None),
        200,
        overrides={"office_other": 200, "street_other": 200},
    ),
    Route(
        "POST",
        "/api/v1/risk-areas",
        lambda w, r: (
            "/api/v1/risk-areas",
            {
                "name": "新发地市场",
                "level": "high",
                "since": _iso(-timedelta(days=2)),
                "community_id": w.a.community.id,
            },
        ),
        201,
        body_scoped=True,
    ),
    Route(
        "DELETE",
        "/api/v1/risk-areas/{id}",
        lambda w, r: (f"/api/v1/risk-areas/{_fresh_area(w, r)}", None),
        204,
    ),
]


def tokens(world) -> dict[str, str | None]:
    """A bearer token for every kind of caller (written straight to the database)."""
    _, _, foreign_street_user = factories.foreign_street()
    return {
        "street": factories.api_token(world.street_user),
        "office": factories.api_token(world.a.office),
        "office_other": factories.api_token(world.b.office),
        "street_other": factories.api_token(foreign_street_user),
        "guard": factories.api_token(world.a.guard),
        "worker": factories.api_token(world.worker),
        "resident": factories.api_token(world.resident_user),
        "anonymous": None,
        "device": world.a.device_token,
    }


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_route_by_caller(world, client, route):
    callers = tokens(world)
    # Something of site a to be seen (or not) in the lists.
    factories.event(world.a.gate, utcnow() - timedelta(minutes=5))
    _fresh_area(world, "list")
    got: dict[str, int] = {}
    for role in ROLES:
        api = ApiClient(client).bearer(callers[role])
        path, payload = route.build(world, role)
        r = api._call(route.method, path, json=payload)
        got[role] = r.status_code
        if r.status_code >= 400:
            err = r.get_json()["error"]
            assert err["code"] and err["message"], (role, err)
            if r.status_code == 401:
                assert r.headers["WWW-Authenticate"] == "Bearer"
        elif route.method == "GET" and route.lists:
            items = r.get_json()["items"]
            sees_a = bool(items)
            assert sees_a == (role in ("street", "office")), (role, items)
    assert got == route.expected()


def test_no_staff_token_can_scan(world, client):
    """The scan route takes gate devices only: every staff token is refused with 401."""
    callers = tokens(world)
    code = factories.code(world.a.pass_)
    for role in ROLES:
        if role == "device":
            continue
        r = ApiClient(client).bearer(callers[role]).scan(code)
        assert r.status_code == 401, (role, r.status_code)
    ok = ApiClient(client).bearer(callers["device"]).scan(code)
    assert ok.status_code == 200 and ok.get_json()["decision"] == "allow"


def test_street_user_reaches_every_community_of_its_street(world, client):
    street = ApiClient(client).bearer(factories.api_token(world.street_user))
    for site in (world.a, world.b):
        assert (
            street.patch(f"/api/v1/gates/{site.gate.id}", json={"open": False}).status_code == 200
        )
        r = street.post(f"/api/v1/residents/{site.resident.id}/passes", json={"kind": "paper"})
        assert r.status_code == 201
    r = street.post(
        "/api/v1/compounds", json={"name": "樱桃二期", "community_id": world.b.community.id}
    )
    assert r.status_code == 201 and r.get_json()["community_id"] == world.b.community.id
