"""Managing the places and people: compounds (and their visitor policy), gates, buildings,
households, residents and their test results.

Inputs arrive as the declared models of ``kiosk.contract.org``: their shape is checked; what
is left here are the rules that need the database or the clock."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..contract import org as contract
from ..domain.decision import SealState
from ..domain.visitors import VisitorPolicy
from ..extensions import db
from ..models import (
    Building,
    Community,
    Compound,
    Gate,
    Household,
    Resident,
    Street,
    TestResult,
    User,
    utcnow,
)
from . import audit, scope, security
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


def create_compound(actor: User, data: contract.CompoundCreate) -> Compound:
    """A new compound in the actor's community (street users name the community)."""
    scope.require_role(actor, scope.MANAGERS)
    if actor.role == "street":
        community_id = data.community_id
    else:
        community_id = actor.community_id
        # An office user may name its own community; naming another must not silently
        # create the compound in the caller's community instead.
        if data.community_id is not None and data.community_id != community_id:
            community_id = None
    if community_id is None or not scope.in_scope(actor, community_id):
        raise Invalid(_l("community_id: no such community."), field="community_id")
    compound = Compound(name=data.name, community_id=community_id)
    if data.temperature_required is not None:
        compound.temperature_required = data.temperature_required
    db.session.add(compound)
    _flush_unique(_l("A compound with this name exists already."))
    audit.record(actor, "compound.create", "compound", compound.id, community_id, name=data.name)
    _commit_unique(_l("A compound with this name exists already."))
    return compound


def _seal(actor: User, obj, community_id: int, kind: str, state: SealState, reason: str | None):
    """The model has checked that a reason comes with any state but open."""
    before = obj.seal_state
    obj.seal_state = state.value
    obj.seal_reason = reason
    obj.seal_changed_at = utcnow()
    audit.record(
        actor,
        f"{kind}.seal",
        kind,
        obj.id,
        community_id,
        before=before,
        after=state.value,
        reason=reason,
    )
    db.session.commit()
    return obj


def update_compound(actor: User, compound_id: int, data: contract.CompoundChange) -> Compound:
    """Change a compound's seal state or its temperature rule."""
    compound, community_id = scope.load(actor, Compound, compound_id)
    if data.temperature_required is not None:
        compound.temperature_required = data.temperature_required
        audit.record(
            actor,
            "compound.temperature_rule",
            "compound",
            compound.id,
            community_id,
            required=compound.temperature_required,
        )
    if data.seal_state is not None:
        return _seal(actor, compound, community_id, "compound", data.seal_state, data.reason)
    db.session.commit()
    return compound


def create_gate(actor: User, compound_id: int, data: contract.GateCreate) -> Gate:
    compound, community_id = scope.load(actor, Compound, compound_id)
    gate = Gate(compound_id=compound.id, name=data.name, is_open=True)
    db.session.add(gate)
    _flush_unique(_l("A gate with this name exists already."))
    audit.record(actor, "gate.create", "gate", gate.id, community_id, name=gate.name)
    _commit_unique(_l("A gate with this name exists already."))
    return gate


def update_gate(actor: User, gate_id: int, data: contract.GateChange) -> Gate:
    gate, community_id = scope.load(actor, Gate, gate_id)
    gate.is_open = data.open
    audit.record(
        actor, "gate.open" if gate.is_open else "gate.close", "gate", gate.id, community_id
    )
    db.session.commit()
    return gate


def create_building(actor: User, compound_id: int, data: contract.BuildingCreate) -> Building:
    compound, community_id = scope.load(actor, Compound, compound_id)
    building = Building(compound_id=compound.id, name=data.name)
    db.session.add(building)
    _flush_unique(_l("A building with this name exists already."))
    audit.record(actor, "building.create", "building", building.id, community_id)
    _commit_unique(_l("A building with this name exists already."))
    return building


def update_building(actor: User, building_id: int, data: contract.BuildingChange) -> Building:
    building, community_id = scope.load(actor, Building, building_id)
    return _seal(actor, building, community_id, "building", data.seal_state, data.reason)


def create_household(actor: User, building_id: int, data: contract.HouseholdCreate) -> Household:
    building, community_id = scope.load(actor, Building, building_id)
    household = Household(building_id=building.id, unit=data.unit, room=data.room)
    db.session.add(household)
    _flush_unique(_l("This unit and room exist already in the building."))
    audit.record(actor, "household.create", "household", household.id, community_id)
    _commit_unique(_l("This unit and room exist already in the building."))
    return household


def update_household(actor: User, household_id: int, data: contract.HouseholdChange) -> Household:
    """Start, change or end (``observation_until: null``) home observation."""
    return observe(actor, [household_id], data)[0]


def observe(actor: User, household_ids: list[int], data: contract.HouseholdChange) -> list:
    """Start, extend or end (``observation_until: null``) home observation of many households
    at once: all of them or none (one outside the actor's scope is NotFound, nothing changed)."""
    loaded = [scope.load(actor, Household, ident) for ident in dict.fromkeys(household_ids)]
    until, reason = data.observation_until, data.observation_reason
    if until is not None and until <= utcnow():
        raise Invalid(
            _l("observation_until: must be in the future; send null to end the observation."),
            field="observation_until",
        )
    for household, community_id in loaded:
        household.observation_until = until
        household.observation_reason = reason if until is not None else None
        audit.record(
            actor,
            "household.observation" if until else "household.observation_end",
            "household",
            household.id,
            community_id,
            until=until,
            reason=reason,
        )
    db.session.commit()
    return [household for household, _community in loaded]


def under_observation(actor: User, now) -> list[tuple[Household, str, str]]:
    """Households under home observation now, soonest end first, with building and compound."""
    scope.require_role(actor, scope.MANAGERS)
    return [
        tuple(r)
        for r in db.session.execute(
            select(Household, Building.name, Compound.name)
            .join(Building, Building.id == Household.building_id)
            .join(Compound, Compound.id == Building.compound_id)
            .where(
                Compound.community_id.in_(scope.community_ids(actor)),
                Household.observation_until > now,
            )
            .order_by(Household.observation_until, Building.name, Household.unit, Household.room)
        )
    ]


def household_choices(actor: User) -> list[tuple[int, str, str, str, str]]:
    """(id, compound, building, unit, room) of every household the actor reaches."""
    scope.require_role(actor, scope.MANAGERS)
    return [
        tuple(r)
        for r in db.session.execute(
            select(Household.id, Compound.name, Building.name, Household.unit, Household.room)
            .join(Building, Building.id == Household.building_id)
            .join(Compound, Compound.id == Building.compound_id)
            .where(Compound.community_id.in_(scope.community_ids(actor)))
            .order_by(Compound.name, Building.name, Household.unit, Household.room)
        )
    ]


def create_resident(actor: User, household_id: int, data: contract.ResidentCreate) -> Resident:
    """The model has checked the ID number's and the phone's shape; only hashes are kept."""
    household, community_id = scope.load(actor, Household, household_id)
    resident = Resident(household_id=household.id, name=data.name)
    if data.id_number is not None:
        id_number = security.normalise_id_number(data.id_number)
        resident.id_hash = security.keyed_hash(id_number)
        resident.id_last4 = id_number[-4:]
    if data.phone is not None:
        digits = security.normalise_phone(data.phone)
        resident.phone_hash = security.keyed_hash(digits)
        resident.phone_last4 = digits[-4:]
    db.session.add(resident)
    db.session.flush()
    audit.record(actor, "resident.create", "resident", resident.id, community_id)
    db.session.commit()
    return resident


def record_test(actor: User, resident_id: int, data: contract.TestResultCreate) -> TestResult:
    resident, community_id = scope.load(actor, Resident, resident_id)
    if data.taken_at > utcnow():
        raise Invalid(_l("taken_at: cannot be in the future."), field="taken_at")
    test = TestResult(
        resident_id=resident.id,
        taken_at=data.taken_at,
        result=data.result.value,
        recorded_by_id=actor.id,
    )
    db.session.add(test)
    db.session.flush()
    audit.record(actor, "test.record", "resident", resident.id, community_id, result=test.result)
    db.session.commit()
    return test


def communities(actor: User) -> list[tuple[int, str]]:
    """(id, name) of the communities the actor reaches."""
    scope.require_role(actor, scope.MANAGERS)
    return [
        tuple(r)
        for r in db.session.execute(
            select(Community.id, Community.name)
            .where(Community.id.in_(scope.community_ids(actor)))
            .order_by(Community.name)
        )
    ]


def compounds(actor: User) -> list[Compound]:
    return _of_compounds(actor, Compound)


def _of_compounds(actor: User, model) -> list:
    """The compounds of the actor's communities, or their buildings or gates (``model``), by
    compound and name."""
    scope.require_role(actor, scope.MANAGERS)
    stmt = select(model)
    if model is not Compound:
        stmt = stmt.join(Compound, Compound.id == model.compound_id)
    return list(
        db.session.scalars(
            stmt.where(Compound.community_id.in_(scope.community_ids(actor))).order_by(
                Compound.name, model.name
            )
        )
    )


def set_visitor_policy(actor: User, compound_id: int, policy: VisitorPolicy) -> Compound:
    """The form (``contract.forms.VisitorPolicyForm``) has checked the id and the policy."""
    compound, community_id = scope.load(actor, Compound, compound_id)
    policy = VisitorPolicy(policy).value
    before = compound.visitor_policy
    compound.visitor_policy = policy
    audit.record(
        actor,
        "compound.visitor_policy",
        "compound",
        compound.id,
        community_id,
        before=before,
        after=policy,
    )
    db.session.commit()
    return compound


def buildings(actor: User) -> list[Building]:
    return _of_compounds(actor, Building)


def gates(actor: User) -> list[Gate]:
    return _of_compounds(actor, Gate)
