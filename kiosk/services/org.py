"""Managing the places and people: compounds (and their visitor policy), gates, buildings,
households, residents and their test results.

Inputs arrive as the declared models of ``kiosk.contract.org``: their shape is checked; what
is left here are the rules that need the database or the clock."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..contract import org as contract
from ..contract.directory import TestResultQuery
from ..domain import rules
from ..domain.decision import SealState
from ..domain.schedules import ScheduledSeal, SealNow, seal_now, winning_schedule
from ..domain.visitors import VisitorPolicy
from ..extensions import db
from ..models import (
    MAX_ID,
    Building,
    Community,
    Compound,
    Gate,
    Household,
    Resident,
    SealSchedule,
    Street,
    TestResult,
    User,
    utcnow,
)
from . import audit, moving, scope, security
from .errors import Conflict, Invalid, NotFound


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
    """Open or close a gate, set its opening hours, or both (the model has checked the hours)."""
    gate, community_id = scope.load(actor, Gate, gate_id)
    if data.open is not None:
        gate.is_open = data.open
        audit.record(
            actor, "gate.open" if gate.is_open else "gate.close", "gate", gate.id, community_id
        )
    if "opens_at" in data.model_fields_set:  # the model has checked closes_at came with it
        _hours(actor, gate, community_id, data.opens_at, data.closes_at)
    db.session.commit()
    return gate


def set_gate_hours(
    actor: User, gate_id: int, opens_at: time | None, closes_at: time | None
) -> Gate:
    """A gate's opening hours, local time of day; both None: no hours (the declared form has
    checked that they come together and differ)."""
    gate, community_id = scope.load(actor, Gate, gate_id)
    _hours(actor, gate, community_id, opens_at, closes_at)
    db.session.commit()
    return gate


def _hours(actor: User, gate: Gate, community_id: int, opens_at, closes_at) -> None:
    before = [_hhmm(gate.opens_at), _hhmm(gate.closes_at)]
    gate.opens_at, gate.closes_at = opens_at, closes_at
    audit.record(
        actor,
        "gate.hours",
        "gate",
        gate.id,
        community_id,
        before=before,
        after=[_hhmm(opens_at), _hhmm(closes_at)],
    )


def _hhmm(t: time | None) -> str | None:
    return t.strftime("%H:%M") if t is not None else None


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


def under_observation(actor: User, now, order: str = "until") -> list[tuple[Household, str, str]]:
    """Households under home observation now with building and compound, soonest end first
    (``order``: ``until``, ``-until`` latest end first, ``place``, ``reason``)."""
    scope.require_role(actor, scope.MANAGERS)
    place = (Compound.name, Building.name, Household.unit, Household.room)
    orders = {
        "until": (Household.observation_until, *place),
        "-until": (Household.observation_until.desc(), *place),
        "place": (*place, Household.observation_until),
        "reason": (Household.observation_reason, Household.observation_until, *place),
    }
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
            .order_by(*orders[order])
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


def identity(id_number: str | None, phone: str | None) -> dict[str, str | None]:
    """A resident's ID number and phone as they are kept: a keyed hash and the last four
    characters of each (``None`` when not given). The plain numbers go no further than this."""
    out: dict[str, str | None] = dict.fromkeys(("id_hash", "id_last4", "phone_hash", "phone_last4"))
    if id_number is not None:
        normalised = security.normalise_id_number(id_number)
        out["id_hash"], out["id_last4"] = security.keyed_hash(normalised), normalised[-4:]
    if phone is not None:
        digits = security.normalise_phone(phone)
        out["phone_hash"], out["phone_last4"] = security.keyed_hash(digits), digits[-4:]
    return out


def create_resident(actor: User, household_id: int, data: contract.ResidentCreate) -> Resident:
    """The model has checked the ID number's and the phone's shape; only hashes are kept."""
    household, community_id = scope.load(actor, Household, household_id)
    resident = Resident(
        household_id=household.id, name=data.name, **identity(data.id_number, data.phone)
    )
    db.session.add(resident)
    db.session.flush()
    audit.record(actor, "resident.create", "resident", resident.id, community_id)
    db.session.commit()
    return resident


def update_resident(actor: User, resident_id: int, data: contract.ResidentChange) -> Resident:
    """A member's new name, ID number or phone (each only when given). The numbers are kept as
    ``create_resident`` keeps them: a keyed hash and the last four characters. The audit names
    the fields changed, never their values."""
    resident, community_id = scope.load(actor, Resident, resident_id)
    moving.refuse_if_moved_away(resident)
    kept = identity(data.id_number, data.phone)
    changed = []
    if data.name is not None:
        resident.name = data.name
        changed.append("name")
    if data.id_number is not None:
        resident.id_hash, resident.id_last4 = kept["id_hash"], kept["id_last4"]
        changed.append("id_number")
    if data.phone is not None:
        resident.phone_hash, resident.phone_last4 = kept["phone_hash"], kept["phone_last4"]
        changed.append("phone")
    audit.record(actor, "resident.update", "resident", resident.id, community_id, fields=changed)
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


def _tests_in_scope(actor: User):
    """SELECT the test results of the actor's communities' residents."""
    scope.require_role(actor, scope.MANAGERS)
    return (
        select(TestResult)
        .join(Resident, Resident.id == TestResult.resident_id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Compound.community_id.in_(scope.community_ids(actor)))
    )


def list_tests(actor: User, query: TestResultQuery, limit: int) -> list[TestResult]:
    """Test results of the actor's communities by id, a page at a time; a person outside the
    scope is not found."""
    stmt = _tests_in_scope(actor)
    if query.resident_id is not None:
        scope.load(actor, Resident, query.resident_id)
        stmt = stmt.where(TestResult.resident_id == query.resident_id)
    if query.result is not None:
        stmt = stmt.where(TestResult.result == query.result.value)
    if query.since is not None:
        stmt = stmt.where(TestResult.taken_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(TestResult.taken_at < query.until)
    if query.after is not None:
        stmt = stmt.where(TestResult.id > query.after)
    return list(db.session.scalars(stmt.order_by(TestResult.id).limit(limit)))


def get_test(actor: User, test_id: int) -> TestResult:
    stmt = _tests_in_scope(actor)
    test = db.session.scalar(stmt.where(TestResult.id == test_id)) if test_id <= MAX_ID else None
    if test is None:
        raise NotFound()
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


# --- seal schedules ---------------------------------------------------------------------------

# A From typed as "now" on a page arrives a little late: it may lie this far in the past.
SCHEDULE_START_SLACK = timedelta(minutes=5)
# How far back the page looks at ended schedules, to say since when a state is in force.
SCHEDULE_LOOKBACK = timedelta(days=60)

_SEALABLE = {"compound": Compound, "building": Building}


def schedule_seal(
    actor: User,
    kind: str,
    target_id: int,
    data: contract.SealScheduleCreate,
    now: datetime | None = None,
) -> SealSchedule:
    """A compound's or building's seal state from ``starts_at`` (now when left out) until
    ``ends_at`` (until cancelled when left out). Nothing runs at those times: the scan computes
    the state in force (``domain.schedules``)."""
    obj, community_id = scope.load(actor, _SEALABLE[kind], target_id)
    now = now or utcnow()
    starts_at = data.starts_at or now
    if starts_at < now - SCHEDULE_START_SLACK:
        raise Invalid(_l("From: must not be in the past."), field="starts_at")
    if data.ends_at is not None and data.ends_at <= max(starts_at, now):
        raise Invalid(_l("Until: must be later than From."), field="ends_at")
    schedule = SealSchedule(
        target_kind=kind,
        target_id=obj.id,
        compound_id=obj.id if kind == "compound" else obj.compound_id,
        community_id=community_id,
        state=SealState(data.seal_state).value,
        starts_at=starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(schedule)
    db.session.flush()
    audit.record(
        actor,
        f"{kind}.seal_schedule",
        kind,
        obj.id,
        community_id,
        schedule=schedule.id,
        state=schedule.state,
        starts_at=starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
    )
    db.session.commit()
    return schedule


def cancel_schedule(actor: User, schedule_id: int, now: datetime | None = None) -> SealSchedule:
    """Cancel a schedule (from now on it counts no more); another community's is NotFound."""
    scope.require_role(actor, scope.MANAGERS)
    schedule = db.session.get(SealSchedule, schedule_id) if 1 <= schedule_id <= MAX_ID else None
    if schedule is None or not scope.in_scope(actor, schedule.community_id):
        raise NotFound()
    now = now or utcnow()
    if schedule.cancelled_at is not None or (
        schedule.ends_at is not None and schedule.ends_at <= now
    ):
        raise Conflict(_l("This schedule has ended or was cancelled."), code="schedule_over")
    schedule.cancelled_at = now
    schedule.cancelled_by_id = actor.id
    audit.record(
        actor,
        f"{schedule.target_kind}.seal_schedule_cancel",
        schedule.target_kind,
        schedule.target_id,
        schedule.community_id,
        schedule=schedule.id,
        state=schedule.state,
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        reason=schedule.reason,
    )
    db.session.commit()
    return schedule


def seal_schedules(actor: User, now: datetime) -> dict[tuple[str, int], list[SealSchedule]]:
    """Uncancelled schedules of the actor's compounds and buildings that end after ``now - 60
    days`` (or never), by (kind, id), in order of their start."""
    scope.require_role(actor, scope.MANAGERS)
    out: dict[tuple[str, int], list[SealSchedule]] = {}
    for schedule in db.session.scalars(
        select(SealSchedule)
        .where(
            SealSchedule.community_id.in_(scope.community_ids(actor)),
            SealSchedule.cancelled_at.is_(None),
            or_(SealSchedule.ends_at.is_(None), SealSchedule.ends_at > now - SCHEDULE_LOOKBACK),
        )
        .order_by(SealSchedule.starts_at, SealSchedule.id)
    ):
        out.setdefault((schedule.target_kind, schedule.target_id), []).append(schedule)
    return out


def seals_now(obj, kind: str, schedules: dict, now: datetime) -> tuple[SealNow, str | None]:
    """The seal of a compound or building in force at ``now`` (since when, its next change)
    and its reason, from ``seal_schedules``' answer."""
    entries = [
        ScheduledSeal(SealState(s.state), s.starts_at, s.ends_at, s.created_at, s.id, s.reason)
        for s in schedules.get((kind, obj.id), [])
    ]
    winner = winning_schedule(entries, now)
    reason = winner.reason if winner is not None else obj.seal_reason
    return seal_now(SealState(obj.seal_state), obj.seal_changed_at, entries, now), reason


def rule_sentence(
    actor: User, building: Building, now: datetime, observation_until: datetime | None = None
) -> str:
    """The rule of a building, or of a household of it (with its observation), as the one
    sentence the resident sees, from the seals in force now with their schedules."""
    schedules = seal_schedules(actor, now)
    compound = building.compound
    compound_seal, _reason = seals_now(compound, "compound", schedules, now)
    building_seal, _reason = seals_now(building, "building", schedules, now)
    return rules.sentence(
        rules.RuleFacts(
            now,
            rules.Place(compound.name, compound_seal),
            rules.Place(building.name, building_seal),
            observation_until=observation_until,
        )
    )


def seal_history(actor: User, kind: str, target_ids: list[int], per_target: int = 5) -> dict:
    """The latest seal changes of each compound or building, newest first: set now, scheduled
    and schedules cancelled (as ``audit.history``)."""
    merged: dict[int, list] = {}
    for action in (f"{kind}.seal", f"{kind}.seal_schedule", f"{kind}.seal_schedule_cancel"):
        for target_id, changes in audit.history(actor, action, target_ids, per_target).items():
            merged.setdefault(target_id, []).extend(changes)
    for changes in merged.values():
        for _entry, _who, detail in changes:
            for key in ("starts_at", "ends_at"):  # kept as ISO text in the audit entry
                if isinstance(detail.get(key), str):
                    detail[key] = datetime.fromisoformat(detail[key])
    return {
        target_id: sorted(changes, key=lambda c: -c[0].id)[:per_target]
        for target_id, changes in merged.items()
    }
