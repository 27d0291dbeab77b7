"""Reading the access log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import AccessEvent, Compound, Gate, User
from . import scope
from .errors import NotFound


def list_events(
    actor: User,
    gate_id: int | None,
    since: datetime | None,
    until: datetime | None,
    after_id: int | None,
    limit: int,
) -> list[AccessEvent]:
    """Events in the actor's communities, oldest first, keyset-paginated by id."""
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
    if gate_id is not None:
        scope.load(actor, Gate, gate_id)  # 404 outside the scope
        stmt = stmt.where(AccessEvent.gate_id == gate_id)
    if since is not None:
        stmt = stmt.where(AccessEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AccessEvent.occurred_at < until)
    if after_id is not None:
        stmt = stmt.where(AccessEvent.id > after_id)
    return list(db.session.scalars(stmt))


__all__ = ["list_events", "NotFound"]
