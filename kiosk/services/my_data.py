"""What the system holds about a resident ("my data"): their record, passes, gate events and
test results, and the visits to and service requests of their household.

Only the signed-in resident's own record, passes, events and tests; of the household, the
visits it received and the requests it made. Nothing about anyone outside the household: a
visitor's name is masked and their phone is left out, the guards who decided are not named.
The record holds only the last four characters of the ID number and the phone: the full numbers
are kept as keyed hashes, which are not data anyone can read, so they are not shown either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..domain.people import mask_name
from ..extensions import db
from ..models import (
    AccessEvent,
    Building,
    Compound,
    Gate,
    Household,
    Pass,
    Resident,
    ServiceRequest,
    TestResult,
    User,
    Visit,
    VisitInvite,
)
from . import scope


@dataclass(frozen=True)
class Record:
    resident_id: int
    name: str
    username: str
    compound: str
    building: str
    unit: str
    room: str
    id_last4: str | None
    phone_last4: str | None
    created_at: datetime


@dataclass(frozen=True)
class Event:
    id: int
    occurred_at: datetime
    gate: str
    compound: str
    direction: str
    decision: str
    reasons: list[str]
    temperature: float | None
    pass_id: int | None


@dataclass(frozen=True)
class VisitRow:
    id: int
    visitor: str
    purpose: str
    status: str
    valid_on: str | None
    created_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    invited: bool


@dataclass(frozen=True)
class MyData:
    generated_at: datetime
    record: Record
    passes: list[Pass]
    events: list[Event]
    tests: list[TestResult]
    visits: list[VisitRow]
    service_requests: list[ServiceRequest]


def collect(actor: User, now: datetime) -> MyData:
    """Everything above, newest first, for the signed-in resident (Forbidden for anyone else)."""
    household_id = scope.own_household(actor)
    resident, home, building, compound = db.session.execute(
        select(Resident, Household, Building, Compound)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Resident.id == actor.resident_id)
    ).one()
    record = Record(
        resident.id,
        resident.name,
        actor.username,
        compound.name,
        building.name,
        home.unit,
        home.room,
        resident.id_last4,
        resident.phone_last4,
        resident.created_at,
    )
    passes = list(
        db.session.scalars(
            select(Pass).where(Pass.resident_id == resident.id).order_by(Pass.id.desc())
        )
    )
    events = [
        Event(
            e.id,
            e.occurred_at,
            gate,
            place,
            e.direction,
            e.decision,
            e.reasons.split() if e.reasons else [],
            e.temperature,
            e.pass_id,
        )
        for e, gate, place in db.session.execute(
            select(AccessEvent, Gate.name, Compound.name)
            .join(Gate, Gate.id == AccessEvent.gate_id)
            .join(Compound, Compound.id == Gate.compound_id)
            .where(AccessEvent.resident_id == resident.id)
            .order_by(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())
        )
    ]
    tests = list(
        db.session.scalars(
            select(TestResult)
            .where(TestResult.resident_id == resident.id)
            .order_by(TestResult.taken_at.desc(), TestResult.id.desc())
        )
    )
    visits = [
        VisitRow(
            v.id,
            mask_name(v.name),
            v.purpose,
            v.status,
            v.valid_on.isoformat() if v.valid_on else None,
            v.created_at,
            v.checked_in_at,
            v.checked_out_at,
            invite is not None,
        )
        for v, invite in db.session.execute(
            select(Visit, VisitInvite.id)
            .outerjoin(VisitInvite, VisitInvite.visit_id == Visit.id)
            .where(Visit.host_household_id == household_id)
            .order_by(Visit.created_at.desc(), Visit.id.desc())
        )
    ]
    requests = list(
        db.session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.household_id == household_id)
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        )
    )
    return MyData(now, record, passes, events, tests, visits, requests)
