"""Door announcements: a household under home observation says it will open its door
(collecting a delivery, putting out rubbish) within a short window. Door alarms (a later
issue) read ``active(household_id, at)``: an opening inside an announced window is expected."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..contract.deliveries import AnnouncementCreate
from ..domain.deliveries import under_observation
from ..extensions import db
from ..models import DoorAnnouncement, Household, User, utcnow
from . import scope
from .errors import Conflict


def active(household_id: int, at: datetime) -> DoorAnnouncement | None:
    """The household's announcement whose window holds ``at`` (the latest to end), if any."""
    return db.session.scalar(
        select(DoorAnnouncement)
        .where(
            DoorAnnouncement.household_id == household_id,
            DoorAnnouncement.starts_at <= at,
            DoorAnnouncement.ends_at > at,
        )
        .order_by(DoorAnnouncement.ends_at.desc(), DoorAnnouncement.id.desc())
        .limit(1)
    )


def current(actor: User, now: datetime | None = None) -> DoorAnnouncement | None:
    """The resident's household's announcement in force now."""
    return active(scope.own_household(actor), now or utcnow())


def announce(actor: User, data: AnnouncementCreate, now: datetime | None = None):
    """Announce that the door will be opened from now for ``data.minutes``; only a household
    under home observation announces (others open their door as they like)."""
    now = now or utcnow()
    household = db.session.get(Household, scope.own_household(actor))
    if not under_observation(household.observation_until, now):
        raise Conflict(
            _l("Only a household under home observation announces opening its door."),
            code="not_under_observation",
        )
    row = DoorAnnouncement(
        household_id=household.id,
        user_id=actor.id,
        kind=data.kind.value,
        starts_at=now,
        ends_at=now + timedelta(minutes=data.minutes),
        created_at=now,
    )
    db.session.add(row)
    db.session.commit()
    return row
