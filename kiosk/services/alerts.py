"""Fever alerts for the office: open ones with whose they are, those a second reading at the
gate closed, and acknowledging one. The gate log raises and closes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    AccessEvent,
    Alert,
    Building,
    Compound,
    Gate,
    Household,
    User,
    utcnow,
)
from . import audit, gatelog, scope
from .errors import NotFound


@dataclass(frozen=True)
class AlertRow:
    """An alert as the office reads it: where, whose, and the second reading that closed it."""

    alert: Alert
    gate: str
    compound: str
    name: str | None  # the resident's or the visitor's (pages show it masked, as everywhere)
    building: str | None  # the resident's home or the visitor's host
    unit: str | None
    room: str | None
    visitor: bool
    second_reading: float | None = None


_SECOND = aliased(AccessEvent)


def _rows(actor: User, *where, order, limit: int) -> list[AlertRow]:
    stmt = (
        gatelog.with_holder(
            select(
                Alert,
                Gate.name,
                Compound.name,
                gatelog.HOLDER_NAME,
                Building.name,
                Household.unit,
                Household.room,
                AccessEvent.visit_id.is_not(None),
                _SECOND.temperature,
            )
            .join(Gate, Gate.id == Alert.gate_id)
            .join(Compound, Compound.id == Gate.compound_id)
            .join(AccessEvent, AccessEvent.id == Alert.event_id)
        )
        .outerjoin(_SECOND, _SECOND.id == Alert.closed_by_event_id)
        .where(Alert.community_id.in_(scope.community_ids(actor)), *where)
        .order_by(order)
        .limit(limit)
    )
    out = []
    for alert, gate, compound, name, building, unit, room, visitor, second in db.session.execute(
        stmt
    ):
        out.append(AlertRow(alert, gate, compound, name, building, unit, room, visitor, second))
    return out


def open_alerts(actor: User) -> list[AlertRow]:
    """Fevers nobody has handled yet, newest first."""
    scope.require_role(actor, scope.MANAGERS)
    return _rows(actor, Alert.acknowledged_at.is_(None), order=Alert.id.desc(), limit=100)


def closed_by_second_reading(actor: User, now: datetime) -> list[AlertRow]:
    """Fevers of the last day that a second reading at the gate closed, newest first."""
    scope.require_role(actor, scope.MANAGERS)
    return _rows(
        actor,
        Alert.closed_by_event_id.is_not(None),
        Alert.acknowledged_at >= now - timedelta(days=1),
        order=Alert.acknowledged_at.desc(),
        limit=50,
    )


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
