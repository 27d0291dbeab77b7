"""What the office pages read and change beyond the API services: alerts, overrides, guards,
devices by gate, visitor policies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..domain.visitors import VisitorPolicy
from ..extensions import db
from ..models import AccessEvent, Alert, Community, Compound, Device, Gate, User, utcnow
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


def guards(actor: User) -> list[User]:
    scope.require_role(actor, scope.MANAGERS)
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.role.in_(("guard", "office")),
                User.community_id.in_(scope.community_ids(actor)),
            )
            .order_by(User.role, User.username)
        )
    )


def gates_with_devices(actor: User):
    scope.require_role(actor, scope.MANAGERS)
    gates = db.session.execute(
        select(Gate, Compound.name)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(scope.community_ids(actor)))
        .order_by(Compound.name, Gate.name)
    ).all()
    devices = db.session.scalars(
        select(Device).where(Device.gate_id.in_([g.id for g, _ in gates])).order_by(Device.id)
    ).all()
    by_gate: dict[int, list[Device]] = {}
    for d in devices:
        by_gate.setdefault(d.gate_id, []).append(d)
    return [(g, compound_name, by_gate.get(g.id, [])) for g, compound_name in gates]


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
    scope.require_role(actor, scope.MANAGERS)
    return list(
        db.session.scalars(
            select(Compound)
            .where(Compound.community_id.in_(scope.community_ids(actor)))
            .order_by(Compound.name)
        )
    )


def set_visitor_policy(actor: User, compound_id: int, policy: VisitorPolicy) -> Compound:
    """The form (``contract.forms.VisitorPolicyForm``) has checked the id and the policy."""
    compound = scope.load(actor, Compound, compound_id)
    policy = VisitorPolicy(policy).value
    before = compound.visitor_policy
    compound.visitor_policy = policy
    audit.record(
        actor,
        "compound.visitor_policy",
        "compound",
        compound.id,
        compound._community_id,
        before=before,
        after=policy,
    )
    db.session.commit()
    return compound
