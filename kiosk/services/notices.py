"""Notices of the community office to residents (the rules, testing times), for a whole
community, one compound or one building.

A notice is shown until its ``expires_at`` (none: until withdrawn); withdrawing sets it to now,
by a conditional UPDATE, so of two offices withdrawing at once one does it and the other is told
it has ended already. A building's notice also carries its compound, so that a compound's
residents' query stays one condition per level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update

from ..contract.notices import NoticeCreate, NoticeQuery
from ..domain.audit import AuditAction, AuditTarget
from ..extensions import db
from ..models import MAX_ID, Building, Community, Compound, Household, Notice, User, utcnow
from . import audit, scope
from .errors import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class Posted:
    """A notice with the name of where it is shown."""

    id: int
    community_id: int
    compound_id: int | None
    building_id: int | None
    place: str
    title: str
    body: str
    created_at: datetime
    expires_at: datetime | None
    active: bool


def _shown(now: datetime):
    return or_(Notice.expires_at.is_(None), Notice.expires_at > now)


def _select():
    return (
        select(Notice, Community.name, Compound.name, Building.name)
        .join(Community, Community.id == Notice.community_id)
        .outerjoin(Compound, Compound.id == Notice.compound_id)
        .outerjoin(Building, Building.id == Notice.building_id)
    )


def _posted(rows, now: datetime) -> list[Posted]:
    out = []
    for notice, community, compound, building in rows:
        if building is not None:
            place = f"{compound} {building}"
        else:
            place = compound or community
        out.append(
            Posted(
                notice.id,
                notice.community_id,
                notice.compound_id,
                notice.building_id,
                place,
                notice.title,
                notice.body,
                notice.created_at,
                notice.expires_at,
                notice.expires_at is None or notice.expires_at > now,
            )
        )
    return out


# --- residents --------------------------------------------------------------------------------


def for_resident(user: User, now: datetime) -> list[Posted]:
    """The notices shown now to a joined resident: their community's, their compound's and
    their building's, newest first (Forbidden for anyone else)."""
    household_id = scope.own_household(user)
    building_id, compound_id, community_id = db.session.execute(
        select(Building.id, Compound.id, Compound.community_id)
        .join(Household, Household.building_id == Building.id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Household.id == household_id)
    ).one()
    stmt = (
        _select()
        .where(
            Notice.community_id == community_id,
            or_(Notice.compound_id.is_(None), Notice.compound_id == compound_id),
            or_(Notice.building_id.is_(None), Notice.building_id == building_id),
            _shown(now),
        )
        .order_by(Notice.created_at.desc(), Notice.id.desc())
    )
    return _posted(db.session.execute(stmt), now)


# --- the office -------------------------------------------------------------------------------


def for_office(actor: User, now: datetime, limit: int = 100) -> list[Posted]:
    """The notices of the actor's communities, newest first: shown ones and ended ones."""
    scope.require_role(actor, scope.MANAGERS)
    stmt = (
        _select()
        .where(Notice.community_id.in_(scope.community_ids(actor)))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return _posted(db.session.execute(stmt), now)


def list_notices(actor: User, query: NoticeQuery, now: datetime) -> list[Posted]:
    """The API's list: by id, a page at a time, shown now or not."""
    scope.require_role(actor, scope.MANAGERS)
    stmt = _select().where(Notice.community_id.in_(scope.community_ids(actor)))
    if query.active is not None:
        shown = _shown(now)
        stmt = stmt.where(shown if query.active else ~shown)
    if query.after is not None:
        stmt = stmt.where(Notice.id > query.after)
    return _posted(db.session.execute(stmt.order_by(Notice.id).limit(query.size)), now)


def _target(actor: User, data: NoticeCreate) -> tuple[int, int | None, int | None]:
    """The community, compound and building the notice is for, in the actor's scope; a place
    out of reach is a field error (the form offers only those in reach)."""
    compound_id = data.compound_id
    building_id = data.building_id
    if building_id is not None:
        try:
            building, _community = scope.load(actor, Building, building_id)
        except NotFound:
            raise Invalid(_l("building_id: no such building."), field="building_id") from None
        if compound_id is not None and compound_id != building.compound_id:
            raise Invalid(_l("The building is not in the chosen compound."), field="building_id")
        compound_id = building.compound_id
    if compound_id is not None:
        try:
            compound, community_id = scope.load(actor, Compound, compound_id)
        except NotFound:
            raise Invalid(_l("compound_id: no such compound."), field="compound_id") from None
        if data.community_id is not None and data.community_id != community_id:
            raise Invalid(_l("The compound is not in the chosen community."), field="community_id")
        return community_id, compound.id, building_id
    if actor.role == "street":
        community_id = data.community_id
        if community_id is None or not scope.in_scope(actor, community_id):
            raise Invalid(_l("community_id: no such community."), field="community_id")
        return community_id, None, None
    community_id = actor.community_id
    if community_id is None or (
        data.community_id is not None and data.community_id != community_id
    ):
        raise Invalid(_l("community_id: no such community."), field="community_id")
    return community_id, None, None


def create(actor: User, data: NoticeCreate, now: datetime | None = None) -> Posted:
    """Post a notice; audited."""
    scope.require_role(actor, scope.MANAGERS)
    now = now or utcnow()
    community_id, compound_id, building_id = _target(actor, data)
    if data.expires_at is not None and data.expires_at <= now:
        raise Invalid(_l("Shown until: must be in the future."), field="expires_at")
    notice = Notice(
        community_id=community_id,
        compound_id=compound_id,
        building_id=building_id,
        title=data.title,
        body=data.body,
        created_by_id=actor.id,
        created_at=now,
        expires_at=data.expires_at,
    )
    db.session.add(notice)
    db.session.flush()
    audit.record(
        actor,
        AuditAction.NOTICE_CREATE,
        AuditTarget.NOTICE,
        notice.id,
        community_id,
        title=notice.title,
        compound_id=compound_id,
        building_id=building_id,
        expires_at=notice.expires_at,
    )
    db.session.commit()
    return get(actor, notice.id, now)


def get(actor: User, notice_id: int, now: datetime | None = None) -> Posted:
    """One notice of the actor's communities; any other is not found."""
    scope.require_role(actor, scope.MANAGERS)
    if not 1 <= notice_id <= MAX_ID:
        raise NotFound()
    row = db.session.execute(
        _select().where(Notice.id == notice_id, Notice.community_id.in_(scope.community_ids(actor)))
    ).one_or_none()
    if row is None:
        raise NotFound()
    return _posted([row], now or utcnow())[0]


def withdraw(actor: User, notice_id: int, now: datetime | None = None) -> Posted:
    """End a notice now (``expires_at`` = now); one that has ended already is a conflict."""
    now = now or utcnow()
    found = get(actor, notice_id, now)
    done = db.session.execute(
        update(Notice)
        .where(
            Notice.id == found.id,
            or_(Notice.expires_at.is_(None), and_(Notice.expires_at > now)),
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.rollback()
        raise Conflict(_l("The notice is no longer shown."), code="notice_ended")
    audit.record(
        actor, AuditAction.NOTICE_WITHDRAW, AuditTarget.NOTICE, found.id, found.community_id
    )
    db.session.commit()
    db.session.expire_all()
    return get(actor, notice_id, now)
