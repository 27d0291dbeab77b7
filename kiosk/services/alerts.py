"""Fever alerts for the office: open ones, and acknowledging one (raised by the gate log)."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Alert, Compound, Gate, User, utcnow
from . import audit, scope
from .errors import NotFound


def open_alerts(actor: User) -> list[tuple[Alert, str, str]]:
    scope.require_role(actor, scope.MANAGERS)
    rows = db.session.execute(
        select(Alert, Gate.name, Compound.name)
        .join(Gate, Gate.id == Alert.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Alert.community_id.in_(scope.community_ids(actor)), Alert.acknowledged_at.is_(None))
        .order_by(Alert.id.desc())
        .limit(100)
    ).all()
    return [tuple(r) for r in rows]


def acknowledge_alert(actor: User, alert_id: int) -> None:
    scope.require_role(actor, scope.MANAGERS)
    # An id beyond the integer keys names nothing (and PostgreSQL refuses to compare it).
    alert = db.session.get(Alert, alert_id) if alert_id <= scope.MAX_ID else None
    if alert is None or not scope.in_scope(actor, alert.community_id):
        raise NotFound()
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = actor.id
        audit.record(actor, "alert.ack", "alert", alert.id, alert.community_id)
        db.session.commit()
