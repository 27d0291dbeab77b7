"""Issuing, showing and revoking passes, and exemptions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, not_, or_, select

from ..contract import passes as contract
from ..domain import passcodes
from ..domain.decision import (
    Decision,
    Direction,
    ExemptionStatus,
    PassKind,
    exemption_status,
)
from ..extensions import db
from ..models import (
    AccessEvent,
    Building,
    Compound,
    Household,
    Pass,
    Resident,
    User,
    utcnow,
)
from . import audit, moving, scope
from .errors import Conflict, Invalid, NotFound

STATIC_KINDS = ("paper", "exemption", "visitor")


def code_for(pass_: Pass, unix_seconds: float | None = None) -> str:
    """The QR text of a pass: rotating for phone passes (valid now), static for the rest."""
    keys = current_app.config["PASS_KEYRING"]
    if pass_.kind in STATIC_KINDS:
        return passcodes.sign(keys, pass_.id, passcodes.STATIC)
    now = time.time() if unix_seconds is None else unix_seconds
    step = passcodes.time_step(now, current_app.config["PASS_STEP_SECONDS"])
    return passcodes.sign(keys, pass_.id, passcodes.ROTATING, step)


def issue_pass(actor: User, resident_id: int, data: contract.PassCreate) -> Pass:
    """A resident (phone, rotating code) or paper (printed, static code) pass."""
    resident, community_id = scope.load(actor, Resident, resident_id)
    moving.refuse_if_moved_away(resident)
    kind = PassKind(data.kind).value
    valid_until = data.valid_until
    now = utcnow()
    if valid_until is not None and valid_until <= now:
        raise Invalid(_l("valid_until: must be in the future."), field="valid_until")
    pass_ = Pass(
        resident_id=resident.id,
        kind=kind,
        valid_from=now,
        valid_until=valid_until,
        created_by_id=actor.id,
    )
    db.session.add(pass_)
    db.session.flush()
    audit.record(actor, "pass.issue", "pass", pass_.id, community_id, kind=kind)
    db.session.commit()
    return pass_


def issue_exemption(actor: User, resident_id: int, data: contract.ExemptionCreate) -> Pass:
    """One exit and one return for a purpose within a window, overriding seals for this person."""
    return issue_exemptions(actor, [resident_id], data)[0]


def issue_exemptions(
    actor: User, resident_ids: list[int], data: contract.ExemptionCreate
) -> list[Pass]:
    """The same exemption window for every one of ``resident_ids`` (the exam students at once):
    all of them or, if one is out of reach or the window is wrong, none."""
    valid_from, valid_until = data.valid_from, data.valid_until
    if valid_until <= valid_from:
        raise Invalid(_l("valid_until: must be after valid_from."), field="valid_until")
    if valid_until <= utcnow():
        raise Invalid(_l("valid_until: must be in the future."), field="valid_until")
    if valid_until - valid_from > timedelta(days=14):
        raise Invalid(_l("An exemption lasts at most 14 days."), field="valid_until")
    loaded = [scope.load(actor, Resident, ident) for ident in dict.fromkeys(resident_ids)]
    for resident, _community_id in loaded:
        moving.refuse_if_moved_away(resident)
    issued = []
    for resident, community_id in loaded:
        pass_ = Pass(
            resident_id=resident.id,
            kind=PassKind.EXEMPTION.value,
            valid_from=valid_from,
            valid_until=valid_until,
            purpose=data.purpose,
            negative_test_within_hours=data.negative_test_within_hours,
            created_by_id=actor.id,
        )
        db.session.add(pass_)
        db.session.flush()
        audit.record(
            actor,
            "exemption.issue",
            "pass",
            pass_.id,
            community_id,
            purpose=data.purpose,
            valid_from=valid_from,
            valid_until=valid_until,
            hours=data.negative_test_within_hours,
        )
        issued.append(pass_)
    db.session.commit()
    return issued


@dataclass(frozen=True)
class Exemption:
    pass_: Pass
    resident: Resident
    household: Household
    building: str
    left_at: datetime | None
    back_at: datetime | None
    status: ExemptionStatus


def exemptions(actor: User, now: datetime, since: datetime) -> list[Exemption]:
    """Exemptions of the actor's communities whose window ends after ``since``, with when the
    holder left and came back with it (allowed passages, a guard's allow included): not back
    first, then by the window's end."""
    scope.require_role(actor, scope.MANAGERS)
    used = (
        select(
            AccessEvent.pass_id.label("pass_id"),
            func.min(AccessEvent.occurred_at)
            .filter(AccessEvent.direction == Direction.OUT.value)
            .label("left_at"),
            func.max(AccessEvent.occurred_at)
            .filter(AccessEvent.direction == Direction.IN.value)
            .label("back_at"),
        )
        .where(AccessEvent.decision == Decision.ALLOW.value, AccessEvent.pass_id.is_not(None))
        .group_by(AccessEvent.pass_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Pass, Resident, Household, Building.name, used.c.left_at, used.c.back_at)
        .join(Resident, Resident.id == Pass.resident_id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .outerjoin(used, used.c.pass_id == Pass.id)
        .where(
            Compound.community_id.in_(scope.community_ids(actor)),
            Pass.kind == PassKind.EXEMPTION.value,
            Pass.valid_until > since,
        )
        .order_by(Pass.valid_until, Pass.id)
    )
    result = []
    for pass_, resident, household, building, left_at, back_at in rows:
        if back_at is not None and (left_at is None or back_at < left_at):
            back_at = None
        result.append(
            Exemption(
                pass_,
                resident,
                household,
                building,
                left_at,
                back_at,
                exemption_status(pass_.valid_until, pass_.revoked_at, left_at, back_at, now),
            )
        )
    result.sort(key=lambda e: e.status is not ExemptionStatus.NOT_BACK)
    return result


def revoke(actor: User, pass_id: int, data: contract.PassRevoke) -> Pass:
    pass_, community_id = scope.load(actor, Pass, pass_id)
    if pass_.revoked_at is not None:
        raise Conflict(_l("The pass is revoked already."), code="already_revoked")
    reason = data.reason
    pass_.revoked_at = utcnow()
    pass_.revoked_reason = reason
    audit.record(actor, "pass.revoke", "pass", pass_.id, community_id, reason=reason)
    db.session.commit()
    return pass_


# --- reading ---------------------------------------------------------------------------------


def _valid_at(now: datetime):
    """A pass is valid at ``now``: not revoked, and within its window."""
    return and_(
        Pass.revoked_at.is_(None),
        or_(Pass.valid_from.is_(None), Pass.valid_from <= now),
        or_(Pass.valid_until.is_(None), Pass.valid_until > now),
    )


def list_passes(
    actor: User,
    query: contract.PassQuery | contract.ExemptionQuery,
    now: datetime,
    limit: int,
    kind: PassKind | None = None,
) -> list[Pass]:
    """Passes of the actor's communities' residents by id, a page at a time: of one person, of
    one kind, valid at ``now`` or not. A person outside the scope is not found."""
    scope.require_role(actor, scope.MANAGERS)
    if query.resident_id is not None:
        scope.load(actor, Resident, query.resident_id)
    kind = kind or getattr(query, "kind", None)
    stmt = (
        select(Pass)
        .join(Resident, Resident.id == Pass.resident_id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Compound.community_id.in_(scope.community_ids(actor)))
    )
    if query.resident_id is not None:
        stmt = stmt.where(Pass.resident_id == query.resident_id)
    if kind is not None:
        stmt = stmt.where(Pass.kind == PassKind(kind).value)
    if query.active is not None:
        stmt = stmt.where(_valid_at(now) if query.active else not_(_valid_at(now)))
    if query.after is not None:
        stmt = stmt.where(Pass.id > query.after)
    return list(db.session.scalars(stmt.order_by(Pass.id).limit(limit)))


def list_exemptions(
    actor: User, query: contract.ExemptionQuery, now: datetime, limit: int
) -> list[Pass]:
    return list_passes(actor, query, now, limit, kind=PassKind.EXEMPTION)


def get_pass(actor: User, pass_id: int) -> Pass:
    return scope.load(actor, Pass, pass_id).obj


def get_exemption(actor: User, pass_id: int) -> Pass:
    """An exemption; any other kind of pass is not found here."""
    pass_ = get_pass(actor, pass_id)
    if pass_.kind != PassKind.EXEMPTION:
        raise NotFound()
    return pass_
