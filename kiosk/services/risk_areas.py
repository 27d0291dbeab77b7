"""Risk areas: places the office rates by risk, that visitors declare they have been to."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..contract.risk_areas import RiskAreaCreate
from ..extensions import db
from ..models import RiskArea, User, utcnow
from . import audit, scope
from .errors import Invalid, NotFound


def current_risk_areas(community_id: int) -> list[RiskArea]:
    return list(
        db.session.scalars(
            select(RiskArea)
            .where(RiskArea.community_id == community_id, RiskArea.deleted_at.is_(None))
            .order_by(RiskArea.since.desc(), RiskArea.id)
        )
    )


def list_risk_areas(actor: User) -> list[RiskArea]:
    scope.require_role(actor, scope.MANAGERS)
    ids = scope.community_ids(actor)
    return list(
        db.session.scalars(
            select(RiskArea)
            .where(RiskArea.community_id.in_(ids), RiskArea.deleted_at.is_(None))
            .order_by(RiskArea.since.desc(), RiskArea.id)
        )
    )


def create_risk_area(actor: User, data: RiskAreaCreate) -> RiskArea:
    """The declared model (the API's body or the office's form) has checked the shapes."""
    scope.require_role(actor, scope.MANAGERS)
    if actor.role == "street":
        community_id = data.community_id
        if community_id is None or not scope.in_scope(actor, community_id):
            raise Invalid(_l("community_id: no such community."), field="community_id")
    else:
        community_id = actor.community_id
        if data.community_id is not None and data.community_id != community_id:
            # Naming another community must not silently declare the area in the caller's own.
            raise Invalid(_l("community_id: no such community."), field="community_id")
    area = RiskArea(
        community_id=community_id, name=data.name, level=data.level.value, since=data.since
    )
    if area.since > utcnow():
        raise Invalid(_l("since: cannot be in the future."), field="since")
    db.session.add(area)
    db.session.flush()
    audit.record(actor, "risk_area.create", "risk_area", area.id, community_id, name=area.name)
    db.session.commit()
    return area


def delete_risk_area(actor: User, area_id: int) -> None:
    scope.require_role(actor, scope.MANAGERS)
    # An id beyond the integer keys names nothing (and PostgreSQL refuses to compare it).
    area = db.session.get(RiskArea, area_id) if area_id <= scope.MAX_ID else None
    if area is None or area.deleted_at is not None or not scope.in_scope(actor, area.community_id):
        raise NotFound()
    area.deleted_at = utcnow()
    audit.record(actor, "risk_area.delete", "risk_area", area.id, area.community_id)
    db.session.commit()
