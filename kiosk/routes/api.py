"""JSON API v1: bearer tokens for staff and for gate devices, never cookies.

Every view parses, calls one service, and answers JSON. Errors are
``{"error": {"code", "message"}}`` (see ``errors.py``); the contract is ``openapi.json``.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain.reasons import reason_message
from ..extensions import limiter
from ..models import Pass
from ..services import auth, events, org, passes, scan, validate, visitors
from ..services.errors import Invalid, ServiceError, Unauthorized
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def iso(dt):
    return dt.astimezone(current_app.config["TZ"]).isoformat() if dt is not None else None


def body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError(_l("The request body must be a JSON object."), code="bad_json")
    return data


def bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise Unauthorized()
    return token.strip()


def staff(view):
    """Resolve the bearer token to a staff user in ``g.actor``; roles are checked by services."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        user = auth.user_for_token(bearer())
        if user is None:
            raise Unauthorized(_l("The token is not valid or has expired."), code="bad_token")
        g.actor = user
        return view(*args, **kwargs)

    return wrapped


def tz():
    return current_app.config["TZ"]


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(document())


@bp.post("/tokens")
@limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"])
def create_token():
    """Exchange a staff username and password for a bearer token."""
    data = body()
    user = auth.authenticate(data.get("username"), data.get("password"))
    if user is None:
        raise Unauthorized(_l("Wrong username or password."), code="bad_credentials")
    token, row = auth.issue_api_token(user)
    return jsonify(token=token, expires_at=iso(row.expires_at), role=user.role), 201


def compound_json(c):
    return {
        "id": c.id,
        "name": c.name,
        "community_id": c.community_id,
        "seal_state": c.seal_state,
        "seal_reason": c.seal_reason,
        "temperature_required": c.temperature_required,
    }


@bp.post("/compounds")
@staff
def create_compound():
    """Create a compound."""
    c = org.create_compound(g.actor, body())
    return jsonify(compound_json(c)), 201


@bp.patch("/compounds/<int:compound_id>")
@staff
def update_compound(compound_id: int):
    """Seal, set in-only or open a compound; change its temperature rule."""
    return jsonify(compound_json(org.update_compound(g.actor, compound_id, body())))


@bp.post("/compounds/<int:compound_id>/gates")
@staff
def create_gate(compound_id: int):
    """Add a gate to a compound."""
    gate = org.create_gate(g.actor, compound_id, body())
    return jsonify(gate_json(gate)), 201


def gate_json(gate):
    return {"id": gate.id, "compound_id": gate.compound_id, "name": gate.name, "open": gate.is_open}


@bp.patch("/gates/<int:gate_id>")
@staff
def update_gate(gate_id: int):
    """Open or close a gate."""
    return jsonify(gate_json(org.update_gate(g.actor, gate_id, body())))


def building_json(b):
    return {
        "id": b.id,
        "compound_id": b.compound_id,
        "name": b.name,
        "seal_state": b.seal_state,
        "seal_reason": b.seal_reason,
    }


@bp.post("/compounds/<int:compound_id>/buildings")
@staff
def create_building(compound_id: int):
    """Add a building to a compound."""
    return jsonify(building_json(org.create_building(g.actor, compound_id, body()))), 201


@bp.patch("/buildings/<int:building_id>")
@staff
def update_building(building_id: int):
    """Seal, set in-only or open a building."""
    return jsonify(building_json(org.update_building(g.actor, building_id, body())))


def household_json(h):
    return {
        "id": h.id,
        "building_id": h.building_id,
        "unit": h.unit,
        "room": h.room,
        "observation_until": iso(h.observation_until),
        "observation_reason": h.observation_reason,
    }


@bp.post("/buildings/<int:building_id>/households")
@staff
def create_household(building_id: int):
    """Add a household (unit and room) to a building."""
    return jsonify(household_json(org.create_household(g.actor, building_id, body()))), 201


@bp.patch("/households/<int:household_id>")
@staff
def update_household(household_id: int):
    """Start, change or end home observation."""
    return jsonify(household_json(org.update_household(g.actor, household_id, body(), tz())))


@bp.post("/households/<int:household_id>/residents")
@staff
def create_resident(household_id: int):
    """Add a resident; ID number and phone are stored only as a keyed hash and the last four."""
    r = org.create_resident(g.actor, household_id, body())
    return jsonify(
        id=r.id,
        household_id=r.household_id,
        name=r.name,
        id_last4=r.id_last4,
        phone_last4=r.phone_last4,
    ), 201


def pass_json(p: Pass, code: str | None = None):
    out = {
        "id": p.id,
        "resident_id": p.resident_id,
        "kind": p.kind,
        "valid_from": iso(p.valid_from),
        "valid_until": iso(p.valid_until),
        "revoked_at": iso(p.revoked_at),
    }
    if p.kind == "exemption":
        out["purpose"] = p.purpose
        out["negative_test_within_hours"] = p.negative_test_within_hours
    if code is not None:
        out["code"] = code
    return out


@bp.post("/residents/<int:resident_id>/passes")
@staff
def issue_pass(resident_id: int):
    """Issue a phone (rotating code) or paper (static code) pass."""
    p = passes.issue_pass(g.actor, resident_id, body(), tz())
    return jsonify(pass_json(p, passes.code_for(p))), 201


@bp.post("/passes/<int:pass_id>/revoke")
@staff
def revoke_pass(pass_id: int):
    """Revoke a pass: its codes stop working at once."""
    data = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(data, dict):
        raise ServiceError(_l("The request body must be a JSON object."), code="bad_json")
    return jsonify(pass_json(passes.revoke(g.actor, pass_id, data)))


@bp.post("/residents/<int:resident_id>/exemptions")
@staff
def issue_exemption(resident_id: int):
    """Issue an exemption: one exit and one return within a window."""
    p = passes.issue_exemption(g.actor, resident_id, body(), tz())
    return jsonify(pass_json(p, passes.code_for(p))), 201


@bp.post("/residents/<int:resident_id>/tests")
@staff
def record_test(resident_id: int):
    """Record a nucleic-acid test result."""
    t = org.record_test(g.actor, resident_id, body(), tz())
    return jsonify(
        id=t.id, resident_id=t.resident_id, taken_at=iso(t.taken_at), result=t.result
    ), 201


@bp.post("/gates/<int:gate_id>/devices")
@staff
def create_device(gate_id: int):
    """Register a gate device; its token is shown once."""
    device, token = org.create_device(g.actor, gate_id, body())
    return jsonify(
        id=device.id, gate_id=device.gate_id, name=device.name, kind=device.kind, token=token
    ), 201


@bp.post("/scans")
@limiter.exempt
def create_scan():
    """Decide one scan, authenticated by the device's bearer token."""
    token = bearer()
    data = body()
    result = scan.scan(
        token,
        data.get("code"),
        data.get("direction"),
        data.get("temperature"),
        data.get("request_id"),
    )
    return jsonify(scan_json(result))


def scan_json(result: scan.ScanResult) -> dict:
    holder = result.holder
    return {
        "decision": result.decision,
        "reasons": [{"code": c, "message": _(reason_message(c))} for c in result.reasons],
        "event_id": result.event_id,
        "occurred_at": iso(result.occurred_at),
        "replayed": result.replayed,
        "holder": None
        if holder is None
        else {
            "display_name": holder.display_name,
            "building": holder.building,
            "unit": holder.unit,
            "pass_kind": holder.pass_kind,
        },
    }


@bp.get("/events")
@staff
def list_events():
    """Access events in the caller's communities, oldest first, paginated by ``after``."""
    args = request.args
    gate_id = _int_arg("gate_id")
    after = _int_arg("after")
    limit = _int_arg("limit")
    if limit is None:
        limit = current_app.config["EVENTS_PAGE_SIZE"]
    if not 1 <= limit <= 1000:
        raise Invalid(_l("limit: must be a whole number from 1 to 1000."), field="limit")
    since = validate.moment(args, "since", tz(), required=False)
    until = validate.moment(args, "until", tz(), required=False)
    rows = events.list_events(g.actor, gate_id, since, until, after, limit)
    items = [
        {
            "id": e.id,
            "occurred_at": iso(e.occurred_at),
            "gate_id": e.gate_id,
            "device_id": e.device_id,
            "direction": e.direction,
            "pass_id": e.pass_id,
            "resident_id": e.resident_id,
            "temperature": e.temperature,
            "decision": e.decision,
            "reasons": e.reasons.split() if e.reasons else [],
            "manual": e.manual,
        }
        for e in rows
    ]
    next_after = items[-1]["id"] if len(items) == limit else None
    return jsonify(items=items, next_after=next_after)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    # isascii: str.isdigit() is also true for "²", which int() refuses.
    if not (value.isascii() and value.isdigit()) or len(value) > 12 or int(value) > 2**31 - 1:
        raise Invalid(_l("%(field)s: must be a whole number.", field=name), field=name)
    return int(value)


def risk_area_json(a):
    return {
        "id": a.id,
        "community_id": a.community_id,
        "name": a.name,
        "level": a.level,
        "since": iso(a.since),
    }


@bp.get("/risk-areas")
@staff
def list_risk_areas():
    """The current risk areas of the caller's communities."""
    return jsonify(items=[risk_area_json(a) for a in visitors.list_risk_areas(g.actor)])


@bp.post("/risk-areas")
@staff
def create_risk_area():
    """Declare a risk area (name, level high|medium|low, since)."""
    return jsonify(risk_area_json(visitors.create_risk_area(g.actor, body(), tz()))), 201


@bp.delete("/risk-areas/<int:area_id>")
@staff
def delete_risk_area(area_id: int):
    """Remove a risk area from the current list."""
    visitors.delete_risk_area(g.actor, area_id)
    return "", 204
