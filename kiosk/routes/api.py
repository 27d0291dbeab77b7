"""JSON API v1: bearer tokens for staff and for gate devices, never cookies.

Every view declares its contract with ``@endpoint`` (``routes/contract.py``): the models it
takes and answers, from ``kiosk/contract``. It receives validated models, calls one service and
returns what the service gave; the decorator writes the answer. Errors are
``{"error": {"code", "message", "field", "fields"}}`` (see ``errors.py``); the contract is
``openapi.json``, generated from the same declarations.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from flask_babel import lazy_gettext as _l

from ..contract import common, events, org, passes, risk_areas, scans, tokens
from ..contract.openapi import document
from ..extensions import limiter
from ..services import auth, scan
from ..services import devices as device_service
from ..services import events as event_service
from ..services import org as org_service
from ..services import passes as pass_service
from ..services import risk_areas as risk_area_service
from ..services.errors import Unauthorized
from ..services.gate import GateAction
from .contract import DEVICE, STAFF, endpoint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_INFO = {
    "title": "kiosk gate-check API",
    "version": "1",
    "description": "Gate checks for residential compounds under closed management. Times are "
    "ISO 8601; answers carry the deployment's offset. Errors are "
    '{"error": {"code", "message", "field", "fields"}}; messages follow Accept-Language '
    "(zh-CN by default, en). Unknown fields in a body are refused. The walk-through is "
    "docs/api.md.",
}


@bp.get("/openapi.json")
@endpoint(security=None, response=common.Document)
def openapi():
    """The OpenAPI 3.1 description of this API (this document)."""
    doc = current_app.extensions.get("kiosk.openapi")
    if doc is None:
        doc = current_app.extensions["kiosk.openapi"] = document(current_app, bp.name, _INFO)
    return jsonify(doc)


@bp.post("/tokens")
@limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"])
@endpoint(
    security=None, status=201, body=tokens.TokenRequest, response=tokens.Token, errors=(401, 429)
)
def create_token(body: tokens.TokenRequest):
    """Exchange a staff username and password for a bearer token (rate-limited)."""
    user = auth.authenticate(body.username, body.password)
    if user is None:
        raise Unauthorized(_l("Wrong username or password."), code="bad_credentials")
    token, row = auth.issue_api_token(user)
    return tokens.Token(token=token, expires_at=row.expires_at, role=user.role)


# --- places -----------------------------------------------------------------------------------


@bp.post("/compounds")
@endpoint(
    security=STAFF,
    status=201,
    body=org.CompoundCreate,
    response=org.Compound,
    errors=(409,),
)
def create_compound(body: org.CompoundCreate):
    """Create a compound (street users name the community)."""
    return org_service.create_compound(g.actor, body)


@bp.patch("/compounds/<int:compound_id>")
@endpoint(security=STAFF, body=org.CompoundChange, response=org.Compound)
def update_compound(compound_id: int, body: org.CompoundChange):
    """Seal, set in-only or open a compound; change its temperature rule.

    A reason is required unless the new state is open.
    """
    return org_service.update_compound(g.actor, compound_id, body)


@bp.post("/compounds/<int:compound_id>/gates")
@endpoint(security=STAFF, status=201, body=org.GateCreate, response=org.Gate, errors=(409,))
def create_gate(compound_id: int, body: org.GateCreate):
    """Add a gate to a compound."""
    return org_service.create_gate(g.actor, compound_id, body)


@bp.patch("/gates/<int:gate_id>")
@endpoint(security=STAFF, body=org.GateChange, response=org.Gate)
def update_gate(gate_id: int, body: org.GateChange):
    """Open or close a gate."""
    return org_service.update_gate(g.actor, gate_id, body)


@bp.post("/compounds/<int:compound_id>/buildings")
@endpoint(security=STAFF, status=201, body=org.BuildingCreate, response=org.Building, errors=(409,))
def create_building(compound_id: int, body: org.BuildingCreate):
    """Add a building to a compound."""
    return org_service.create_building(g.actor, compound_id, body)


@bp.patch("/buildings/<int:building_id>")
@endpoint(security=STAFF, body=org.BuildingChange, response=org.Building)
def update_building(building_id: int, body: org.BuildingChange):
    """Seal, set in-only or open a building.

    A reason is required unless the new state is open.
    """
    return org_service.update_building(g.actor, building_id, body)


@bp.post("/buildings/<int:building_id>/households")
@endpoint(
    security=STAFF, status=201, body=org.HouseholdCreate, response=org.Household, errors=(409,)
)
def create_household(building_id: int, body: org.HouseholdCreate):
    """Add a household (unit and room) to a building."""
    return org_service.create_household(g.actor, building_id, body)


@bp.patch("/households/<int:household_id>")
@endpoint(security=STAFF, body=org.HouseholdChange, response=org.Household)
def update_household(household_id: int, body: org.HouseholdChange):
    """Start, change or end home observation.

    observation_until must be in the future and needs an observation_reason; null ends the
    observation.
    """
    return org_service.update_household(g.actor, household_id, body)


# --- people -----------------------------------------------------------------------------------


@bp.post("/households/<int:household_id>/residents")
@endpoint(security=STAFF, status=201, body=org.ResidentCreate, response=org.Resident)
def create_resident(household_id: int, body: org.ResidentCreate):
    """Add a resident; ID number and phone are kept only as a keyed hash and the last four."""
    return org_service.create_resident(g.actor, household_id, body)


@bp.post("/residents/<int:resident_id>/passes")
@endpoint(security=STAFF, status=201, body=passes.PassCreate, response=passes.IssuedPass)
def issue_pass(resident_id: int, body: passes.PassCreate):
    """Issue a phone (rotating code) or paper (static code) pass."""
    p = pass_service.issue_pass(g.actor, resident_id, body)
    return passes.IssuedPass.of(p, pass_service.code_for(p))


@bp.post("/passes/<int:pass_id>/revoke")
@endpoint(
    security=STAFF,
    body=passes.PassRevoke,
    body_required=False,
    response=passes.Pass,
    errors=(409,),
)
def revoke_pass(pass_id: int, body: passes.PassRevoke):
    """Revoke a pass: its codes stop working at once. The body may be left out."""
    return pass_service.revoke(g.actor, pass_id, body)


@bp.post("/residents/<int:resident_id>/exemptions")
@endpoint(security=STAFF, status=201, body=passes.ExemptionCreate, response=passes.IssuedPass)
def issue_exemption(resident_id: int, body: passes.ExemptionCreate):
    """Issue an exemption: one exit and one return within a window.

    While valid it overrides seals and home observation for this person only. valid_until is
    after valid_from, in the future, and at most 14 days after valid_from.
    """
    p = pass_service.issue_exemption(g.actor, resident_id, body)
    return passes.IssuedPass.of(p, pass_service.code_for(p))


@bp.post("/residents/<int:resident_id>/tests")
@endpoint(security=STAFF, status=201, body=org.TestResultCreate, response=org.TestResult)
def record_test(resident_id: int, body: org.TestResultCreate):
    """Record a nucleic-acid test result (taken_at not in the future)."""
    return org_service.record_test(g.actor, resident_id, body)


@bp.post("/gates/<int:gate_id>/devices")
@endpoint(security=STAFF, status=201, body=org.DeviceCreate, response=org.Device)
def create_device(gate_id: int, body: org.DeviceCreate):
    """Register a gate device; its token is shown this once."""
    device, token = device_service.create_device(g.actor, gate_id, body)
    return org.Device(
        id=device.id, gate_id=device.gate_id, name=device.name, kind=device.kind, token=token
    )


# --- the gate ---------------------------------------------------------------------------------


@bp.post("/scans")
@limiter.exempt
@endpoint(security=DEVICE, body=scans.ScanRequest, response=scans.ScanAnswer)
def create_scan(body: scans.ScanRequest):
    """Decide one scan at the device's gate (device bearer token).

    A repeated request_id from the same device returns the first answer and logs nothing.
    """
    action = GateAction(device_token=g.device_token, request_id=body.request_id)
    result = scan.scan(action, body.code, body.direction, body.temperature)
    return scans.ScanAnswer.of(result)


@bp.get("/events")
@endpoint(security=STAFF, query=events.EventQuery, response=events.EventPage)
def list_events(query: events.EventQuery):
    """Access events in the caller's communities, oldest first.

    Paginated by id: pass next_after as after for the next page.
    """
    limit = query.limit or current_app.config["EVENTS_PAGE_SIZE"]
    rows = event_service.list_events(g.actor, query, limit)
    return events.EventPage(
        items=[events.Event.model_validate(e) for e in rows],
        next_after=rows[-1].id if len(rows) == limit else None,
    )


# --- risk areas -------------------------------------------------------------------------------


@bp.get("/risk-areas")
@endpoint(security=STAFF, response=risk_areas.RiskAreaList)
def list_risk_areas():
    """The current risk areas of the caller's communities."""
    return risk_areas.RiskAreaList(items=risk_area_service.list_risk_areas(g.actor))


@bp.post("/risk-areas")
@endpoint(security=STAFF, status=201, body=risk_areas.RiskAreaCreate, response=risk_areas.RiskArea)
def create_risk_area(body: risk_areas.RiskAreaCreate):
    """Declare a risk area that visitors declare against (street users name the community)."""
    return risk_area_service.create_risk_area(g.actor, body)


@bp.delete("/risk-areas/<int:area_id>")
@endpoint(security=STAFF, status=204)
def delete_risk_area(area_id: int):
    """Remove a risk area from the current list."""
    risk_area_service.delete_risk_area(g.actor, area_id)
