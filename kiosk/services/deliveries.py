"""Deliveries and services for households that may not go out: a resident asks, a worker of
the community takes the request, brings it to the door and the resident confirms.

Every step is one conditional UPDATE from the step's expected status (``... WHERE status =
:expected``): of two workers taking one request at the same moment exactly one changes the
row; the other finds it changed and is told why (taken by someone else, cancelled), never a
500. Residents reach only their own household's requests (another household's are not found);
workers only their community's.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from ..contract.deliveries import ServiceRequestCreate
from ..domain.deliveries import (
    MAX_OPEN_PER_HOUSEHOLD,
    OPEN_STATUSES,
    STEPS,
    ServiceStatus,
    may_ask,
)
from ..extensions import db
from ..models import (
    MAX_ID,
    Building,
    Compound,
    Household,
    Resident,
    ServiceRequest,
    User,
    utcnow,
)
from . import audit, scope
from .errors import Conflict, NotFound

WORKERS = ("worker",)

_AUDIT = {
    "take": "service.take",
    "on_the_way": "service.on_the_way",
    "delivered": "service.deliver",
}

# What a step finds when the request was changed under it: said in words, never a 500.
_LOST = {
    ServiceStatus.TAKEN: _l("Another worker has already taken this request."),
    ServiceStatus.ON_THE_WAY: _l("This request is already on its way."),
    ServiceStatus.DELIVERED: _l("This request has already been delivered."),
    ServiceStatus.CONFIRMED: _l("This request has already been confirmed."),
    ServiceStatus.CANCELLED: _l("The household has cancelled this request."),
    ServiceStatus.RECEIVED: _l("This request has not been taken yet."),
}


class Row(NamedTuple):
    """A request and the username of the worker who took it."""

    request: ServiceRequest
    worker: str | None


class WorkerRow(NamedTuple):
    """A request with what a worker needs: the address and the requester's name (masked on
    the pages), and who took it."""

    request: ServiceRequest
    worker: str | None
    compound: str
    building: str
    unit: str
    room: str
    requester: str | None


# --- the household's side ---------------------------------------------------------------------


def eligibility(household: Household, now: datetime | None = None) -> bool:
    """Whether the household may ask now (under observation, or allowed by the office)."""
    return may_ask(household.observation_until, household.services_allowed, now or utcnow())


def household_of(actor: User) -> Household:
    return db.session.get(Household, scope.own_household(actor))


def _worker_name():
    return aliased(User)


def for_household(actor: User, limit: int = 50) -> list[Row]:
    """The household's requests, newest first, with the worker's name."""
    household_id = scope.own_household(actor)
    worker = _worker_name()
    rows = db.session.execute(
        select(ServiceRequest, worker.username)
        .outerjoin(worker, worker.id == ServiceRequest.worker_id)
        .where(ServiceRequest.household_id == household_id)
        .order_by(ServiceRequest.id.desc())
        .limit(limit)
    )
    return [Row(*r) for r in rows]


def create(actor: User, data: ServiceRequestCreate, now: datetime | None = None) -> Row:
    """Ask for a service; refused with the reason when the household may not ask or has too
    many requests not yet delivered."""
    now = now or utcnow()
    household = household_of(actor)
    if not eligibility(household, now):
        raise Conflict(
            _l(
                "Deliveries are for households under home observation or allowed by the "
                "community office. Ask the office if you need help."
            ),
            code="services_not_allowed",
        )
    waiting = db.session.scalar(
        select(func.count(ServiceRequest.id)).where(
            ServiceRequest.household_id == household.id,
            ServiceRequest.status.in_(
                [ServiceStatus.RECEIVED, ServiceStatus.TAKEN, ServiceStatus.ON_THE_WAY]
            ),
        )
    )
    if waiting >= MAX_OPEN_PER_HOUSEHOLD:
        raise Conflict(
            _l(
                "You have %(n)s requests still waiting: wait until one is delivered.",
                n=MAX_OPEN_PER_HOUSEHOLD,
            ),
            code="too_many_requests",
        )
    community_id = db.session.scalar(
        select(Compound.community_id)
        .join(Building, Building.compound_id == Compound.id)
        .where(Building.id == household.building_id)
    )
    request = ServiceRequest(
        household_id=household.id,
        community_id=community_id,
        kind=data.kind.value,
        note=data.note,
        status=ServiceStatus.RECEIVED.value,
        requested_by_id=actor.id,
        created_at=now,
    )
    db.session.add(request)
    db.session.commit()
    return Row(request, None)


def _own(actor: User, request_id: int) -> ServiceRequest:
    household_id = scope.own_household(actor)
    request = db.session.get(ServiceRequest, request_id) if 1 <= request_id <= MAX_ID else None
    if request is None or request.household_id != household_id:
        raise NotFound()
    return request


def confirm(actor: User, request_id: int, now: datetime | None = None) -> Row:
    """The resident has the delivery: delivered → confirmed."""
    request = _own(actor, request_id)
    _step(request, "confirm", now or utcnow())
    return _row(request)


def cancel(actor: User, request_id: int, now: datetime | None = None) -> Row:
    """The resident no longer needs it: only while no worker has taken it."""
    request = _own(actor, request_id)
    _step(request, "cancel", now or utcnow())
    return _row(request)


# --- the workers' side ------------------------------------------------------------------------


def _listed(actor: User, *where, limit: int = 200) -> list[WorkerRow]:
    """Requests of the actor's communities with address, requester and worker, oldest first."""
    worker = _worker_name()
    requester = aliased(User)
    stmt = (
        select(
            ServiceRequest,
            worker.username,
            Compound.name,
            Building.name,
            Household.unit,
            Household.room,
            Resident.name,
        )
        .join(Household, Household.id == ServiceRequest.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .outerjoin(worker, worker.id == ServiceRequest.worker_id)
        .outerjoin(requester, requester.id == ServiceRequest.requested_by_id)
        .outerjoin(Resident, Resident.id == requester.resident_id)
        .where(ServiceRequest.community_id.in_(scope.community_ids(actor)), *where)
        .order_by(ServiceRequest.created_at, ServiceRequest.id)
        .limit(limit)
    )
    return [WorkerRow(*r) for r in db.session.execute(stmt)]


def _worker_rows(actor: User, *where) -> list[WorkerRow]:
    scope.require_role(actor, WORKERS)
    return _listed(actor, *where)


def open_requests(actor: User) -> list[WorkerRow]:
    """The community's requests nobody has taken yet, oldest first."""
    return _worker_rows(actor, ServiceRequest.status == ServiceStatus.RECEIVED)


def my_requests(actor: User) -> list[WorkerRow]:
    """The worker's requests in progress (taken, on the way), oldest first."""
    return _worker_rows(
        actor,
        ServiceRequest.worker_id == actor.id,
        ServiceRequest.status.in_([ServiceStatus.TAKEN, ServiceStatus.ON_THE_WAY]),
    )


def worker_request(actor: User, request_id: int) -> WorkerRow:
    """One request of the worker's community (else not found)."""
    if not 1 <= request_id <= MAX_ID:
        scope.require_role(actor, WORKERS)
        raise NotFound()
    rows = _worker_rows(actor, ServiceRequest.id == request_id)
    if not rows:
        raise NotFound()
    return rows[0]


def advance(actor: User, request_id: int, step: str, now: datetime | None = None) -> WorkerRow:
    """A worker's step: ``take`` (received → taken by this worker), ``on_the_way``,
    ``delivered`` (only by the worker who took it). Audited."""
    row = worker_request(actor, request_id)
    request = row.request
    _step(request, step, now or utcnow(), actor)
    audit.record(
        actor, _AUDIT[step], "service", request.id, request.community_id, kind=request.kind
    )
    db.session.commit()
    return worker_request(actor, request_id)


# --- the office's list ------------------------------------------------------------------------


def office_open(actor: User, limit: int = 500) -> list[WorkerRow]:
    """Every request of the office's communities not yet confirmed or cancelled, oldest first."""
    scope.require_role(actor, scope.MANAGERS)
    return _listed(actor, ServiceRequest.status.in_(list(OPEN_STATUSES)), limit=limit)


def set_allowed(actor: User, household_id: int, allowed: bool) -> Household:
    """The office allows (or stops) deliveries for a household not under observation. Audited."""
    household, community_id = scope.load(actor, Household, household_id)
    if household.services_allowed != allowed:
        household.services_allowed = allowed
        audit.record(
            actor, "household.services", "household", household.id, community_id, allowed=allowed
        )
    db.session.commit()
    return household


# --- one step ---------------------------------------------------------------------------------


def _step(request: ServiceRequest, name: str, now: datetime, worker: User | None = None) -> None:
    """Move the request one step by a conditional UPDATE; a request changed meanwhile (another
    worker took it, the household cancelled) is a Conflict saying what happened."""
    step = STEPS[name]
    stmt = (
        update(ServiceRequest)
        .where(ServiceRequest.id == request.id, ServiceRequest.status == step.expected.value)
        .values(status=step.to.value, **{step.stamp: now})
        .execution_options(synchronize_session=False)
    )
    if worker is not None:
        if name == "take":
            stmt = stmt.values(worker_id=worker.id)
        else:  # only the worker who took it carries it on
            stmt = stmt.where(ServiceRequest.worker_id == worker.id)
    changed = db.session.execute(stmt).rowcount
    if changed != 1:
        db.session.rollback()
        db.session.refresh(request)
        raise _lost(request, step, worker)
    if worker is None:
        db.session.commit()  # a worker's step commits with its audit entry
    else:
        db.session.flush()
    db.session.refresh(request)


def _lost(request: ServiceRequest, step, worker: User | None) -> Conflict:
    status = ServiceStatus(request.status)
    if (
        worker is not None
        and request.worker_id not in (None, worker.id)
        and status
        in (
            ServiceStatus.TAKEN,
            ServiceStatus.ON_THE_WAY,
            ServiceStatus.DELIVERED,
        )
    ):
        return Conflict(_LOST[ServiceStatus.TAKEN], code="taken_by_another")
    if status is step.to:
        return Conflict(_LOST[status], code="already_done")
    if step.name == "cancel" and status is not ServiceStatus.CANCELLED:
        return Conflict(
            _l("A worker has already taken this request: it can no longer be cancelled."),
            code="not_cancellable",
        )
    if step.name == "confirm" and status is not ServiceStatus.CONFIRMED:
        return Conflict(_l("This request has not been delivered yet."), code="not_delivered")
    return Conflict(_LOST.get(status, _LOST[ServiceStatus.RECEIVED]), code="wrong_status")


def _row(request: ServiceRequest) -> Row:
    worker = db.session.get(User, request.worker_id) if request.worker_id else None
    return Row(request, worker.username if worker else None)
