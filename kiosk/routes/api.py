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

from ..contract import (
    audit,
    common,
    directory,
    events,
    org,
    paging,
    passes,
    risk_areas,
    scans,
    staff,
    tokens,
)
from ..contract.openapi import document
from ..extensions import limiter
from ..models import utcnow
from ..services import audit as audit_service
from ..services import auth, scan
from ..services import devices as device_service
from ..services import directory as directory_service
from ..services import events as event_service
from ..services import org as org_service
from ..services import passes as pass_service
from ..services import risk_areas as risk_area_service
from ..services import staff as staff_service
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


# --- reading: every list pages by id (after, limit, next_after), oldest first ---------------


def _page(page: type, rows: list, size: int):
    """A page of at most ``size`` items; the service was asked for one more, whose presence
    says that there is a next page."""
    items = rows[:size]
    return page.model_validate(
        {"items": items, "next_after": items[-1].id if len(rows) > size else None}
    )


@bp.get("/compounds")
@endpoint(security=STAFF, query=directory.CompoundQuery, response=directory.CompoundPage)
def list_compounds(query: directory.CompoundQuery):
    """The compounds of the caller's communities."""
    rows = directory_service.list_compounds(g.actor, query, query.size + 1)
    return _page(directory.CompoundPage, rows, query.size)


@bp.get("/compounds/<int:compound_id>")
@endpoint(security=STAFF, response=org.Compound)
def get_compound(compound_id: int):
    """One compound."""
    return directory_service.get_compound(g.actor, compound_id)


@bp.get("/gates")
@endpoint(security=STAFF, query=directory.GateQuery, response=directory.GatePage)
def list_gates(query: directory.GateQuery):
    """The gates of the caller's communities, or of one compound."""
    rows = directory_service.list_gates(g.actor, query, query.size + 1)
    return _page(directory.GatePage, rows, query.size)


@bp.get("/gates/<int:gate_id>")
@endpoint(security=STAFF, response=org.Gate)
def get_gate(gate_id: int):
    """One gate."""
    return directory_service.get_gate(g.actor, gate_id)


@bp.get("/buildings")
@endpoint(security=STAFF, query=directory.BuildingQuery, response=directory.BuildingPage)
def list_buildings(query: directory.BuildingQuery):
    """The buildings of the caller's communities, or of one compound."""
    rows = directory_service.list_buildings(g.actor, query, query.size + 1)
    return _page(directory.BuildingPage, rows, query.size)


@bp.get("/buildings/<int:building_id>")
@endpoint(security=STAFF, response=org.Building)
def get_building(building_id: int):
    """One building."""
    return directory_service.get_building(g.actor, building_id)


@bp.get("/households")
@endpoint(security=STAFF, query=directory.HouseholdQuery, response=directory.HouseholdPage)
def list_households(query: directory.HouseholdQuery):
    """The households of the caller's communities: of one building, under home observation
    now or not."""
    rows = directory_service.list_households(g.actor, query, utcnow(), query.size + 1)
    return _page(directory.HouseholdPage, rows, query.size)


@bp.get("/households/<int:household_id>")
@endpoint(security=STAFF, response=org.Household)
def get_household(household_id: int):
    """One household."""
    return directory_service.get_household(g.actor, household_id)


@bp.get("/residents")
@endpoint(security=STAFF, query=directory.ResidentQuery, response=directory.ResidentPage)
def list_residents(query: directory.ResidentQuery):
    """Residents by where they live.

    A name or the last four characters of an ID number or phone are never sent in a URL:
    search with POST /residents/search.
    """
    rows = directory_service.list_residents(g.actor, query, query.size + 1)
    return _page(directory.ResidentPage, rows, query.size)


@bp.post("/residents/search")
@endpoint(
    security=STAFF,
    query=paging.Paged,
    body=org.PeopleSearchBody,
    response=directory.ResidentPage,
)
def search_residents(query: paging.Paged, body: org.PeopleSearchBody):
    """Search residents by part of the name or the last four of the ID number or phone.

    The search is a POST body so that no name or number is ever in a URL, a proxy's log or a
    browser's history; where they live may be given too. Paged like every list (after and
    limit in the query string).
    """
    rows = directory_service.find_people(g.actor, body, query.after, query.size + 1)
    return _page(directory.ResidentPage, rows, query.size)


@bp.get("/residents/<int:resident_id>")
@endpoint(security=STAFF, response=org.Resident)
def get_resident(resident_id: int):
    """One resident (the ID number and phone only as their last four characters)."""
    return directory_service.get_resident(g.actor, resident_id)


@bp.patch("/residents/<int:resident_id>")
@endpoint(security=STAFF, body=org.ResidentChange, response=org.Resident)
def update_resident(resident_id: int, body: org.ResidentChange):
    """Change a resident's name, ID number or phone.

    A new ID number or phone is kept only as a keyed hash and its last four characters.
    """
    return org_service.update_resident(g.actor, resident_id, body)


@bp.get("/passes")
@endpoint(security=STAFF, query=passes.PassQuery, response=passes.PassPage)
def list_passes(query: passes.PassQuery):
    """The passes of the caller's communities' residents (exemptions too): of one person, of
    one kind, valid now or not."""
    rows = pass_service.list_passes(g.actor, query, utcnow(), query.size + 1)
    return _page(passes.PassPage, rows, query.size)


@bp.get("/passes/<int:pass_id>")
@endpoint(security=STAFF, response=passes.Pass)
def get_pass(pass_id: int):
    """One pass (its code is shown only when it is issued)."""
    return pass_service.get_pass(g.actor, pass_id)


@bp.get("/exemptions")
@endpoint(security=STAFF, query=passes.ExemptionQuery, response=passes.PassPage)
def list_exemptions(query: passes.ExemptionQuery):
    """The exemptions of the caller's communities' residents: of one person, valid now or
    not."""
    rows = pass_service.list_exemptions(g.actor, query, utcnow(), query.size + 1)
    return _page(passes.PassPage, rows, query.size)


@bp.get("/exemptions/<int:pass_id>")
@endpoint(security=STAFF, response=passes.Pass)
def get_exemption(pass_id: int):
    """One exemption (another kind of pass is not found here)."""
    return pass_service.get_exemption(g.actor, pass_id)


@bp.get("/tests")
@endpoint(security=STAFF, query=directory.TestResultQuery, response=directory.TestResultPage)
def list_tests(query: directory.TestResultQuery):
    """Nucleic-acid test results of the caller's communities' residents."""
    rows = org_service.list_tests(g.actor, query, query.size + 1)
    return _page(directory.TestResultPage, rows, query.size)


@bp.get("/tests/<int:test_id>")
@endpoint(security=STAFF, response=org.TestResult)
def get_test(test_id: int):
    """One test result."""
    return org_service.get_test(g.actor, test_id)


@bp.get("/devices")
@endpoint(security=STAFF, query=directory.DeviceQuery, response=directory.DevicePage)
def list_devices(query: directory.DeviceQuery):
    """The gate devices of the caller's communities (never their tokens)."""
    rows = device_service.list_devices(g.actor, query, query.size + 1)
    return _page(directory.DevicePage, rows, query.size)


@bp.get("/devices/<int:device_id>")
@endpoint(security=STAFF, response=directory.DeviceInfo)
def get_device(device_id: int):
    """One gate device (its token was shown once, when it was registered)."""
    return device_service.get_device(g.actor, device_id)


@bp.get("/users")
@endpoint(security=STAFF, query=staff.UserQuery, response=staff.UserPage)
def list_users(query: staff.UserQuery):
    """The user accounts of the caller's communities (never a password or PIN)."""
    rows = staff_service.list_users(g.actor, query, query.size + 1)
    return _page(staff.UserPage, rows, query.size)


@bp.get("/users/<int:user_id>")
@endpoint(security=STAFF, response=staff.User)
def get_user(user_id: int):
    """One user account."""
    return staff_service.get_user(g.actor, user_id)


@bp.get("/audit")
@endpoint(security=STAFF, query=audit.AuditListQuery, response=audit.AuditPage)
def list_audit(query: audit.AuditListQuery):
    """The audit trail of the caller's communities: who changed what, when."""
    rows = audit_service.list_entries(g.actor, query, query.size + 1)
    return _page(audit.AuditPage, rows, query.size)


@bp.get("/audit/<int:entry_id>")
@endpoint(security=STAFF, response=audit.AuditEntry)
def get_audit_entry(entry_id: int):
    """One audit entry."""
    return audit_service.get_entry(g.actor, entry_id)


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
