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
from ..contract import deliveries as delivery_contract
from ..contract import household as household_contract
from ..contract import invitations as invitation_contract
from ..contract import me as me_contract
from ..contract import moving as moving_contract
from ..contract import notices as notice_contract
from ..contract import screening as screening_contract
from ..contract import sensors as sensor_contract
from ..contract import tracing as trace_contract
from ..contract.openapi import document
from ..extensions import limiter
from ..models import utcnow
from ..services import announcements as announcement_service
from ..services import audit as audit_service
from ..services import auth, household_passes, my_data, scan
from ..services import deliveries as delivery_service
from ..services import devices as device_service
from ..services import directory as directory_service
from ..services import events as event_service
from ..services import invitations as invitation_service
from ..services import me as me_service
from ..services import moving as moving_service
from ..services import notices as notice_service
from ..services import org as org_service
from ..services import passes as pass_service
from ..services import risk_areas as risk_area_service
from ..services import screening as screening_service
from ..services import sensors as sensor_service
from ..services import staff as staff_service
from ..services import tracing as trace_service
from ..services.errors import NotFound, Unauthorized
from ..services.gate import GateAction
from .contract import DEVICE, RESIDENT, SENSOR, STAFF, endpoint
from .me.invitations import share_url

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
    """Exchange a username and password for a bearer token (rate-limited).

    Staff and joined residents alike; a resident's token opens the /me routes only.
    """
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
@endpoint(
    security=STAFF,
    status=201,
    body=passes.PassCreate,
    response=passes.IssuedPass,
    errors=(409,),
)
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
@endpoint(
    security=STAFF,
    status=201,
    body=passes.ExemptionCreate,
    response=passes.IssuedPass,
    errors=(409,),
)
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
@endpoint(security=STAFF, body=org.ResidentChange, response=org.Resident, errors=(409,))
def update_resident(resident_id: int, body: org.ResidentChange):
    """Change a resident's name, ID number or phone.

    A new ID number or phone is kept only as a keyed hash and its last four characters.
    """
    return org_service.update_resident(g.actor, resident_id, body)


@bp.post("/residents/<int:resident_id>/move-away")
@endpoint(security=STAFF, response=moving_contract.MovedAway, errors=(409,))
def move_away(resident_id: int):
    """Remove a person who moved away: passes revoked, record anonymised.

    Every live pass is revoked (the gate refuses it), a resident login bound to the person is
    disabled and unbound, their open screening rows are closed, and the name, ID number and
    phone (hashes and last fours) are removed from the record. Their past passages and test
    results stay, naming nobody. A person already moved away answers 409.
    """
    return moving_service.move_away(g.actor, resident_id, utcnow())


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


@bp.post("/devices/<int:device_id>/revoke")
@endpoint(security=STAFF, response=directory.DeviceInfo, errors=(409,))
def revoke_device(device_id: int):
    """Take a gate device out of service at once (lost, stolen, replaced): its token, a guard's
    session on it and a pending enrolment code are refused from its next request. 409
    already_revoked when it was."""
    return device_service.revoke(g.actor, device_id)


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


@bp.get("/trace")
@endpoint(
    security=STAFF, query=trace_contract.TraceQuery, response=trace_contract.TraceOut, errors=(403,)
)
def trace(query: trace_contract.TraceQuery):
    """One person's passages and visits over a period, and everyone who passed near them.

    Office and street roles only. A resident (resident_id) or a visitor (visit_id: any of their
    visits; every visit with the same phone is traced) over since..until (default the last 14
    days), with everyone who passed the same gate within ±window_minutes of each passage: direct
    contacts (same household, the household they visited or that visited them, the same gate
    within 2 minutes) and same-place contacts. The reason is required and the trace is written
    to the audit log.
    """
    result = trace_service.trace(g.actor, query, utcnow())
    return trace_contract.TraceOut.model_validate(result)


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


# --- deliveries and services (residents under observation, workers) --------------------------


def _own_requests(rows) -> delivery_contract.ServiceRequestList:
    return delivery_contract.ServiceRequestList(
        items=[delivery_contract.ServiceRequest.of(r) for r in rows]
    )


@bp.get("/me/requests")
@endpoint(security=RESIDENT, response=delivery_contract.ServiceRequestList)
def list_my_requests():
    """The household's service requests, newest first, with each step's time and the worker."""
    return _own_requests(delivery_service.for_household(g.actor))


@bp.post("/me/requests")
@endpoint(
    security=RESIDENT,
    status=201,
    body=delivery_contract.ServiceRequestCreate,
    response=delivery_contract.ServiceRequest,
    errors=(409,),
)
def create_my_request(body: delivery_contract.ServiceRequestCreate):
    """Ask for groceries, water, medicine, a parcel or rubbish collection.

    Only while the household is under home observation or allowed by the office (else 409
    services_not_allowed); medicine needs a note.
    """
    return delivery_contract.ServiceRequest.of(delivery_service.create(g.actor, body))


@bp.post("/me/requests/<int:request_id>/confirm")
@endpoint(security=RESIDENT, response=delivery_contract.ServiceRequest, errors=(404, 409))
def confirm_my_request(request_id: int):
    """Confirm receipt of a delivered request."""
    return delivery_contract.ServiceRequest.of(delivery_service.confirm(g.actor, request_id))


@bp.post("/me/requests/<int:request_id>/cancel")
@endpoint(security=RESIDENT, response=delivery_contract.ServiceRequest, errors=(404, 409))
def cancel_my_request(request_id: int):
    """Cancel a request no worker has taken yet."""
    return delivery_contract.ServiceRequest.of(delivery_service.cancel(g.actor, request_id))


@bp.post("/me/announcements")
@endpoint(
    security=RESIDENT,
    status=201,
    body=delivery_contract.AnnouncementCreate,
    response=delivery_contract.Announcement,
    errors=(409,),
)
def create_announcement(body: delivery_contract.AnnouncementCreate):
    """Announce opening the door from now for a few minutes (home observation only)."""
    return announcement_service.announce(g.actor, body)


@bp.get("/requests")
@endpoint(security=STAFF, response=delivery_contract.WorkerRequestList)
def list_open_requests():
    """A worker's list: the community's open requests, oldest first, then the worker's own in
    progress (role worker)."""
    rows = delivery_service.open_requests(g.actor) + delivery_service.my_requests(g.actor)
    return delivery_contract.WorkerRequestList(
        items=[delivery_contract.WorkerRequest.of(r) for r in rows]
    )


def _worker_step(request_id: int, step: str) -> delivery_contract.WorkerRequest:
    return delivery_contract.WorkerRequest.of(delivery_service.advance(g.actor, request_id, step))


@bp.post("/requests/<int:request_id>/take")
@endpoint(security=STAFF, response=delivery_contract.WorkerRequest, errors=(404, 409))
def take_request(request_id: int):
    """Take an open request (role worker); 409 taken_by_another when another worker was first."""
    return _worker_step(request_id, "take")


@bp.post("/requests/<int:request_id>/on-the-way")
@endpoint(security=STAFF, response=delivery_contract.WorkerRequest, errors=(404, 409))
def request_on_the_way(request_id: int):
    """Mark a request you took as on the way."""
    return _worker_step(request_id, "on_the_way")


@bp.post("/requests/<int:request_id>/delivered")
@endpoint(security=STAFF, response=delivery_contract.WorkerRequest, errors=(404, 409))
def request_delivered(request_id: int):
    """Mark a request you took as delivered at the door (contactless)."""
    return _worker_step(request_id, "delivered")


# --- the household's paper passes, notices, my data (residents; notices for the office) -------


@bp.get("/me/household")
@endpoint(security=RESIDENT, response=household_contract.Household)
def my_household():
    """The caller's household: its members, who has a login, a phone pass or a paper pass."""
    return household_passes.household(g.actor)


@bp.post("/me/household/members/<int:resident_id>/paper-passes")
@endpoint(
    security=RESIDENT,
    status=201,
    body=household_contract.PaperPassCreate,
    body_required=False,
    response=passes.IssuedPass,
    errors=(409,),
)
def issue_my_paper_pass(resident_id: int, body: household_contract.PaperPassCreate):
    """Issue a paper pass for a member of the caller's household without a login.

    409 member_has_login for a member who signs in on their own phone, 409 paper_pass_active
    while they have one (revoke the lost one first). The answer's code is the printed QR's text;
    the printable sheet and PDF are on the web pages (/me/household/passes/print).
    """
    pass_ = household_passes.issue_paper_pass(g.actor, resident_id, body)
    return passes.IssuedPass.of(pass_, pass_service.code_for(pass_))


@bp.post("/me/passes/<int:pass_id>/revoke")
@endpoint(
    security=RESIDENT,
    body=passes.PassRevoke,
    body_required=False,
    response=passes.Pass,
    errors=(409,),
)
def revoke_my_paper_pass(pass_id: int, body: passes.PassRevoke):
    """Revoke a lost paper pass of a member of the caller's household without a login.

    The gate refuses it from its next scan; 409 already_revoked when it was.
    """
    return household_passes.revoke_paper_pass(g.actor, pass_id, body)


@bp.get("/me/notices")
@endpoint(security=RESIDENT, response=notice_contract.NoticeList)
def my_notices():
    """The notices shown now to the caller: their community's, compound's and building's,
    newest first."""
    return notice_contract.NoticeList(items=notice_service.for_resident(g.actor, utcnow()))


@bp.get("/me/data")
@endpoint(security=RESIDENT, response=household_contract.MyData)
def my_data_document():
    """Everything the system holds about the caller.

    Their record (ID number and phone: the last four only, the rest is not stored), passes,
    gate events and test results, and their household's visits (visitors' names masked) and
    service requests. Nothing about anyone outside the household.
    """
    return my_data.collect(g.actor, utcnow())


@bp.get("/notices")
@endpoint(security=STAFF, query=notice_contract.NoticeQuery, response=notice_contract.NoticePage)
def list_notices(query: notice_contract.NoticeQuery):
    """The notices of the caller's communities by id, shown now or ended."""
    items = notice_service.list_notices(g.actor, query, utcnow())
    next_after = items[-1].id if len(items) == query.size else None
    return notice_contract.NoticePage(items=items, next_after=next_after)


@bp.post("/notices")
@endpoint(
    security=STAFF,
    status=201,
    body=notice_contract.NoticeCreate,
    response=notice_contract.Notice,
)
def create_notice(body: notice_contract.NoticeCreate):
    """Post a notice for a building, a compound or a whole community."""
    return notice_service.create(g.actor, body)


@bp.post("/notices/<int:notice_id>/withdraw")
@endpoint(security=STAFF, response=notice_contract.Notice, errors=(409,))
def withdraw_notice(notice_id: int):
    """End a notice now; 409 notice_ended when it has ended already."""
    return notice_service.withdraw(g.actor, notice_id)


# --- the resident's own pass and status (kiosk/services/me.py) ------------------------------


@bp.get("/me")
@endpoint(security=RESIDENT, response=me_contract.Me)
def me():
    """The signed-in resident: their record, address, status sentence and latest test.

    status.may_in and status.may_out are what the gate answers now for the code of /me/code.
    """
    return me_service.me(g.actor)


@bp.get("/me/code")
@endpoint(security=RESIDENT, response=me_contract.Code, errors=(404,))
def me_code():
    """The code to show at the gate now, when the next replaces it and the seconds left.

    A phone pass's code rotates every step_seconds and is refused at the gate within 90
    seconds; an exemption in use is shown instead of it. 404 when there is no pass to show.
    """
    found = me_service.code(g.actor)
    if found is None:
        raise NotFound(_l("You have no pass to show at the gate. Ask the community office."))
    return me_contract.Code(
        code=found.text,
        kind=found.kind,
        pass_id=found.pass_id,
        rotating=found.rotating,
        step_seconds=found.step_seconds,
        expires_at=found.expires_at,
        seconds_left=found.seconds_left,
    )


# --- visitor invitations (a resident's; kiosk/services/invitations.py) -----------------------


@bp.get("/me/invitations")
@endpoint(security=RESIDENT, response=invitation_contract.InvitationList)
def list_invitations():
    """The household's visitor invitations, newest first, with when each visitor came and
    left."""
    return invitation_contract.InvitationList(
        items=invitation_service.for_household(g.actor, utcnow())
    )


@bp.post("/me/invitations")
@limiter.limit(lambda: current_app.config["VISIT_RATE_LIMIT"])
@endpoint(
    security=RESIDENT,
    status=201,
    body=invitation_contract.InvitationCreate,
    response=invitation_contract.CreatedInvitation,
    errors=(409,),
)
def create_invitation(body: invitation_contract.InvitationCreate):
    """Invite a visitor on a day (today to 7 days ahead): the answer carries the share link,
    shown this once. 409 with the gate's reason when no visitor may come to the household on
    that day (home observation, a sealed or in-only building or compound, no visitors)."""
    row, token = invitation_service.create(g.actor, body, utcnow())
    item = invitation_contract.Invitation.model_validate(row)
    return invitation_contract.CreatedInvitation(**dict(item), share_url=share_url(token))


@bp.post("/me/invitations/<int:invite_id>/cancel")
@endpoint(security=RESIDENT, response=invitation_contract.Invitation, errors=(404, 409))
def cancel_invitation(invite_id: int):
    """Cancel an invitation whose visitor has not come: the code is refused at the gate at
    once. 409 when the visitor came already or it is cancelled already."""
    return invitation_service.cancel(g.actor, invite_id, utcnow())


# --- door sensors (门磁): enrolment and events (kiosk/services/sensors.py) --------------------


@bp.post("/sensors/enrol")
@limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"])
@endpoint(
    security=None,
    status=201,
    body=sensor_contract.SensorEnrol,
    response=sensor_contract.SensorToken,
    errors=(429,),
)
def enrol_sensor(body: sensor_contract.SensorEnrol):
    """Exchange a door sensor's one-time enrolment code for its own bearer token (shown once).

    The office adds the sensor to a household and reads the 8-character code (15 minutes, one
    use); 422 when the code is wrong, spent or expired. Rate-limited.
    """
    sensor, token = sensor_service.enrol(body.code)
    return sensor_contract.SensorToken(
        token=token, sensor_id=sensor.id, heartbeat_seconds=sensor.heartbeat_seconds
    )


@bp.post("/sensors/events")
@limiter.exempt
@endpoint(
    security=SENSOR,
    body=sensor_contract.SensorEventCreate,
    response=sensor_contract.SensorEventAnswer,
)
def create_sensor_event(body: sensor_contract.SensorEventCreate):
    """Report what a door sensor saw (sensor bearer token): door_open, door_closed, tamper,
    battery_low or heartbeat.

    Idempotent by the sensor's event id: a repeat answers the first result. A door opening at a
    household under home observation raises an alarm unless announced or explained by a
    delivery marked at the door within 10 minutes; tamper raises one; battery_low raises one
    until a heartbeat reports the battery fine again.
    """
    return sensor_service.record_event(g.sensor_token, body)


@bp.post("/sensors/<int:sensor_id>/revoke")
@endpoint(security=STAFF, response=sensor_contract.SensorInfo, errors=(409,))
def revoke_sensor(sensor_id: int):
    """Take a door sensor out of service (observation over, lost, replaced): its events are
    refused from the next one; its alarms stay to be handled. 409 already_revoked when it
    was."""
    return sensor_service.revoke(g.actor, sensor_id)


# --- screening lists (核查名单; kiosk/services/screening.py) -----------------------------------


@bp.get("/screening-lists")
@endpoint(
    security=STAFF,
    query=screening_contract.ScreeningListQuery,
    response=screening_contract.ScreeningListPage,
)
def list_screening_lists(query: screening_contract.ScreeningListQuery):
    """The screening lists of the caller's communities by id, with their counts and progress."""
    rows = screening_service.lists(g.actor, query.after, query.size + 1)
    return _page(screening_contract.ScreeningListPage, rows, query.size)


@bp.post("/screening-lists")
@endpoint(
    security=STAFF,
    status=201,
    body=screening_contract.ScreeningListCreate,
    response=screening_contract.ScreeningList,
)
def create_screening_list(body: screening_contract.ScreeningListCreate):
    """Create a screening list with its rows, each matched at once to a resident of the list's
    community.

    A row names its person by the phone, the ID number (kept only as a keyed hash and the last
    four), or the name with building, unit and room. A matched resident whose row is not closed
    is referred at the gate (reason screening).
    """
    created = screening_service.create(g.actor, body, list(enumerate(body.rows, start=1)))
    return screening_service.summary(g.actor, created.list_.id)


@bp.get("/screening-lists/<int:list_id>/rows")
@endpoint(
    security=STAFF,
    query=screening_contract.ScreeningRowFilter,
    response=screening_contract.ScreeningRowPage,
    errors=(404,),
)
def list_screening_rows(list_id: int, query: screening_contract.ScreeningRowFilter):
    """A screening list's rows by id, filtered by call status, match, worker, open or closed."""
    rows = screening_service.rows(g.actor, list_id, query, limit=query.size + 1)
    return _page(screening_contract.ScreeningRowPage, rows, query.size)


@bp.patch("/screening-rows/<int:row_id>")
@endpoint(
    security=STAFF,
    body=screening_contract.ScreeningRowChange,
    response=screening_contract.ScreeningRow,
    errors=(404, 409),
)
def change_screening_row(row_id: int, body: screening_contract.ScreeningRowChange):
    """Work a screening row: its call status, a note, the worker it is assigned to, or the
    resident chosen among an ambiguous row's candidate_ids.

    Fields left out are kept. cleared and moved_away close the row (the gate stops referring
    the resident at once). 409 row_changed when someone changed the row meanwhile.
    """
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return screening_service.change(g.actor, row_id, changes)
