"""Reading the access log: the API's event pages and the guards' overrides for the office."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..contract.events import EventQuery
from ..extensions import db
from ..models import AccessEvent, Compound, Gate, Pass, Resident, User
from . import gatelog, scope


def list_events(actor: User, query: EventQuery, limit: int) -> list[AccessEvent]:
    """Events in the actor's communities, oldest first, keyset-paginated by id. A gate, person
    or pass outside the actor's scope is not found, like one that does not exist."""
    scope.require_role(actor, scope.MANAGERS)
    communities = scope.community_ids(actor)
    stmt = (
        select(AccessEvent)
        .join(Gate, Gate.id == AccessEvent.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(communities))
        .order_by(AccessEvent.id)
        .limit(limit)
    )
    for model, ident, column in (
        (Gate, query.gate_id, AccessEvent.gate_id),
        (Resident, query.resident_id, AccessEvent.resident_id),
        (Pass, query.pass_id, AccessEvent.pass_id),
    ):
        if ident is not None:
            scope.load(actor, model, ident)  # 404 outside the scope
            stmt = stmt.where(column == ident)
    if query.since is not None:
        stmt = stmt.where(AccessEvent.occurred_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AccessEvent.occurred_at < query.until)
    if query.after is not None:
        stmt = stmt.where(AccessEvent.id > query.after)
    return list(db.session.scalars(stmt))


def recent_overrides(actor: User, limit: int = 50):
    """Guards' decisions on referred scans, with the guard's name and reason."""
    scope.require_role(actor, scope.MANAGERS)
    parent = aliased(AccessEvent)
    return db.session.execute(
        select(AccessEvent, User.username, Gate.name, parent.reasons)
        .join(Gate, Gate.id == AccessEvent.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .outerjoin(User, User.id == AccessEvent.user_id)
        .join(parent, parent.id == AccessEvent.parent_id)
        .where(
            AccessEvent.override.is_(True), Compound.community_id.in_(scope.community_ids(actor))
        )
        .order_by(AccessEvent.id.desc())
        .limit(limit)
    ).all()


def undecided_refers(actor: User, since: datetime, limit: int = 50):
    """Referred scans of the actor's communities since ``since`` that no guard decided and whose
    person has not been scanned again, newest first, with the gate's name and the masked holder.
    """
    scope.require_role(actor, scope.MANAGERS)
    return db.session.execute(
        gatelog.with_holder(
            select(AccessEvent, Gate.name, gatelog.HOLDER_NAME)
            .join(Gate, Gate.id == AccessEvent.gate_id)
            .join(Compound, Compound.id == Gate.compound_id)
        )
        .where(
            Compound.community_id.in_(scope.community_ids(actor)),
            AccessEvent.occurred_at >= since,
            gatelog.still_open(),
        )
        .order_by(AccessEvent.id.desc())
        .limit(limit)
    ).all()
