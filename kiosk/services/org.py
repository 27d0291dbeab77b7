"""Managing the places and people: compounds, gates, buildings, households, residents, devices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    SEAL_STATES,
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Household,
    Resident,
    Street,
    TestResult,
    User,
    utcnow,
)
from . import audit, scope, security, validate
from .errors import Conflict, Invalid


def _commit_unique(message) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message, code="duplicate") from None


def _flush_unique(message) -> None:
    """Flush a new row; a unique constraint is hit here, at the INSERT, not at the commit."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message, code="duplicate") from None


def get_or_create_community(name: str, street_name: str = "默认街道") -> Community:
    """Used by the CLI: a community by name, created under a street if missing."""
    street = db.session.scalar(select(Street).where(Street.name == street_name))
    if street is None:
        street = Street(name=street_name)
        db.session.add(street)
        db.session.flush()
    community = db.session.scalar(
        select(Community).where(Community.name == name, Community.street_id == street.id)
    )
    if community is None:
        community = db.session.scalar(select(Community).where(Community.name == name))
    if community is None:
        community = Community(name=name, street_id=street.id)
        db.session.add(community)
        db.session.flush()
    return community


def create_compound(actor: User, data: dict) -> Compound:
    """A new compound in the actor's community (street users name the community)."""
    scope.require_role(actor, scope.MANAGERS)
    name = validate.text(data, "name")
    if actor.role == "street":
        community_id = validate.integer(data, "community_id", 1, 2**31 - 1)
    else:
        community_id = actor.community_id
        # An office user may name its own community; naming another must not silently
        # create the compound in the caller's community instead.
        if data.get("community_id") is not None and data.get("community_id") != community_id:
            community_id = None
    if community_id is None or not scope.in_scope(actor, community_id):
        raise Invalid(_l("community_id: no such community."), field="community_id")
    compound = Compound(name=name, community_id=community_id)
    if "temperature_required" in data:
        compound.temperature_required = validate.boolean(data, "temperature_required")
    db.session.add(compound)
    _flush_unique(_l("A compound with this name exists already."))
    audit.record(actor, "compound.create", "compound", compound.id, community_id, name=name)
    _commit_unique(_l("A compound with this name exists already."))
    return compound


def _seal(actor: User, obj, kind: str, data: dict):
    state = validate.choice(data, "seal_state", SEAL_STATES)
    reason = validate.text(data, "reason", 200, required=False)
    if state != "open" and reason is None:
        raise Invalid(_l("reason: say why the seal changes."), field="reason")
    before = obj.seal_state
    obj.seal_state = state
    obj.seal_reason = reason
    obj.seal_changed_at = utcnow()
    audit.record(
        actor,
        f"{kind}.seal",
        kind,
        obj.id,
        obj._community_id,
        before=before,
        after=state,
        reason=reason,
    )
    db.session.commit()
    return obj


def update_compound(actor: User, compound_id: int, data: dict) -> Compound:
    """Change a compound's seal state or its temperature rule."""
    compound = scope.load(actor, Compound, compound_id)
    if not any(k in data for k in ("seal_state", "temperature_required")):
        raise Invalid(_l("Nothing to change."))
    if "temperature_required" in data:
        compound.temperature_required = validate.boolean(data, "temperature_required")
        audit.record(
            actor,
            "compound.temperature_rule",
            "compound",
            compound.id,
            compound._community_id,
            required=compound.temperature_required,
        )
    if "seal_state" in data:
        return _seal(actor, compound, "compound", data)
    db.session.commit()
    return compound


def create_gate(actor: User, compound_id: int, data: dict) -> Gate:
    compound = scope.load(actor, Compound, compound_id)
    gate = Gate(compound_id=compound.id, name=validate.text(data, "name"), is_open=True)
    db.session.add(gate)
    _flush_unique(_l("A gate with this name exists already."))
    audit.record(actor, "gate.create", "gate", gate.id, compound._community_id, name=gate.name)
    _commit_unique(_l("A gate with this name exists already."))
    return gate


def update_gate(actor: User, gate_id: int, data: dict) -> Gate:
    gate = scope.load(actor, Gate, gate_id)
    gate.is_open = validate.boolean(data, "open")
    audit.record(
        actor, "gate.open" if gate.is_open else "gate.close", "gate", gate.id, gate._community_id
    )
    db.session.commit()
    return gate


def create_building(actor: User, compound_id: int, data: dict) -> Building:
    compound = scope.load(actor, Compound, compound_id)
    building = Building(compound_id=compound.id, name=validate.text(data, "name", 50))
    db.session.add(building)
    _flush_unique(_l("A building with this name exists already."))
    audit.record(actor, "building.create", "building", building.id, compound._community_id)
    _commit_unique(_l("A building with this name exists already."))
    return building


def update_building(actor: User, building_id: int, data: dict) -> Building:
    building = scope.load(actor, Building, building_id)
    return _seal(actor, building, "building", data)


def create_household(actor: User, building_id: int, data: dict) -> Household:
    building = scope.load(actor, Building, building_id)
    household = Household(
        building_id=building.id,
        unit=validate.text(data, "unit", 20),
        room=validate.text(data, "room", 20),
    )
    db.session.add(household)
    _flush_unique(_l("This unit and room exist already in the building."))
    audit.record(actor, "household.create", "household", household.id, building._community_id)
    _commit_unique(_l("This unit and room exist already in the building."))
    return household


def update_household(actor: User, household_id: int, data: dict, tz) -> Household:
    """Start, change or end (``observation_until: null``) home observation."""
    household = scope.load(actor, Household, household_id)
    if "observation_until" not in data:
        raise Invalid(_l("observation_until: this field is required."), field="observation_until")
    until = validate.moment(data, "observation_until", tz, required=False)
    reason = validate.text(data, "observation_reason", 200, required=False)
    if until is not None:
        if until <= utcnow():
            raise Invalid(
                _l("observation_until: must be in the future; send null to end the observation."),
                field="observation_until",
            )
        if reason is None:
            raise Invalid(
                _l("observation_reason: say why the household is observed."),
                field="observation_reason",
            )
    household.observation_until = until
    household.observation_reason = reason if until is not None else None
    audit.record(
        actor,
        "household.observation" if until else "household.observation_end",
        "household",
        household.id,
        household._community_id,
        until=until,
        reason=reason,
    )
    db.session.commit()
    return household


def create_resident(actor: User, household_id: int, data: dict) -> Resident:
    household = scope.load(actor, Household, household_id)
    name = validate.text(data, "name", 50)
    resident = Resident(household_id=household.id, name=name)
    id_number = validate.text(data, "id_number", 30, required=False)
    if id_number is not None:
        id_number = security.normalise_id_number(id_number)
        if not (6 <= len(id_number) <= 20 and id_number.isalnum() and id_number.isascii()):
            raise Invalid(_l("id_number: not a valid ID number."), field="id_number")
        resident.id_hash = security.keyed_hash(id_number)
        resident.id_last4 = id_number[-4:]
    phone = validate.text(data, "phone", 30, required=False)
    if phone is not None:
        digits = security.normalise_phone(phone)
        if not 5 <= len(digits) <= 15:
            raise Invalid(_l("phone: not a valid phone number."), field="phone")
        resident.phone_hash = security.keyed_hash(digits)
        resident.phone_last4 = digits[-4:]
    db.session.add(resident)
    db.session.flush()
    audit.record(actor, "resident.create", "resident", resident.id, household._community_id)
    db.session.commit()
    return resident


def record_test(actor: User, resident_id: int, data: dict, tz) -> TestResult:
    resident = scope.load(actor, Resident, resident_id)
    taken_at = validate.moment(data, "taken_at", tz)
    if taken_at > utcnow():
        raise Invalid(_l("taken_at: cannot be in the future."), field="taken_at")
    result = validate.choice(data, "result", ("negative", "positive"))
    test = TestResult(
        resident_id=resident.id, taken_at=taken_at, result=result, recorded_by_id=actor.id
    )
    db.session.add(test)
    db.session.flush()
    audit.record(
        actor, "test.record", "resident", resident.id, resident._community_id, result=result
    )
    db.session.commit()
    return test


def create_device(actor: User, gate_id: int, data: dict) -> tuple[Device, str]:
    """A device bound to a gate; the token is returned once and stored only as a hash."""
    gate = scope.load(actor, Gate, gate_id)
    token = security.new_token()
    device = Device(
        gate_id=gate.id,
        name=validate.text(data, "name"),
        kind=validate.choice(data, "kind", ("tablet", "sensor"), required=False) or "tablet",
        token_hash=security.token_hash(token),
    )
    db.session.add(device)
    db.session.flush()
    audit.record(actor, "device.create", "device", device.id, gate._community_id, name=device.name)
    db.session.commit()
    return device, token
