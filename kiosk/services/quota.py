"""Household outing quotas (出行限额): at most ``quota_exits`` exits per household per day or two
(``quota_days``), each at most ``quota_hours`` hours out.

The gate's rule is ``domain.decision`` (reason ``quota_exceeded``); this module holds its facts
(the period's start, the household's exits so far, the lock that serialises one household's
exits: docs/concurrency.md), the office's setting, and the dashboard's list of people out past
the allowed hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from flask import current_app
from sqlalchemy import func, or_, select, update

from ..domain.decision import QUOTA_PASS_KINDS, Decision, Direction
from ..extensions import db
from ..models import AccessEvent, Building, Compound, Household, Pass, Resident, User
from ..prepared import Prepared
from . import audit, scope

QUOTA_DAYS = (1, 2)  # per day, or per two days (today and yesterday, local calendar days)


def period_start(now: datetime, days: int, tz: tzinfo) -> datetime:
    """The start of the quota's period, in UTC: local midnight of today (``days`` 1), or of
    yesterday (``days`` 2: the two calendar days ending today)."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    first = (midnight - timedelta(days=days - 1)).replace(tzinfo=None)
    # Built again from the wall clock, so a time zone with summer time still starts at 00:00.
    return first.replace(tzinfo=tz).astimezone(UTC)


# --- the gate's facts (Core statements on the scan's own connection) --------------------------

# Allowed exits of a household's residents since the period's start, on their own passes (an
# exemption's exit is the office's leave: not counted). Indexed by resident (few per household).
HOUSEHOLD_EXITS = Prepared(
    select(func.count())
    .select_from(AccessEvent)
    .join(Resident, Resident.id == AccessEvent.resident_id)
    .join(Pass, Pass.id == AccessEvent.pass_id)
    .where(
        Resident.household_id == db.bindparam("household_id"),
        AccessEvent.decision == Decision.ALLOW.value,
        AccessEvent.direction == Direction.OUT.value,
        AccessEvent.occurred_at >= db.bindparam("since"),
        or_(*(Pass.kind == k.value for k in QUOTA_PASS_KINDS)),  # no expanding IN: prepared
    )
)

# The household's row, locked until the scan's transaction ends, so two members' exits at two
# gates are counted one after the other. PostgreSQL: a row lock. SQLite has none, and a SELECT
# does not start the write transaction: an UPDATE that changes nothing takes the database's
# write lock (SQLite serialises writers), and the count read after it is the latest.
_LOCK_HOUSEHOLD = {
    "postgresql": Prepared(
        select(Household.id).where(Household.id == db.bindparam("household_id")).with_for_update()
    ),
    "sqlite": Prepared(
        update(Household.__table__)
        .where(Household.__table__.c.id == db.bindparam("household_id"))
        .values(services_allowed=Household.__table__.c.services_allowed)
    ),
}


def household_exits(conn, household_id: int, days: int, now: datetime) -> int:
    """Lock the household (until the caller's transaction ends), then count its exits in the
    quota's period. Called only when a quota applies to this scan."""
    _LOCK_HOUSEHOLD[conn.dialect.name].execute(conn, {"household_id": household_id}).close()
    since = period_start(now, days, current_app.config["TZ"])
    params = {"household_id": household_id, "since": since}
    return HOUSEHOLD_EXITS.execute(conn, params).scalar_one()


# --- the office's setting ---------------------------------------------------------------------


def set_quota(
    actor: User,
    compound_id: int,
    exits: int | None,
    days: int,
    hours: int | None,
) -> Compound:
    """Set (or, with neither number, lift) a compound's outing quota. The form
    (``contract.forms.QuotaForm``) has checked the numbers."""
    compound, community_id = scope.load(actor, Compound, compound_id)
    before = _quota(compound)
    compound.quota_exits, compound.quota_days, compound.quota_hours = exits, days, hours
    audit.record(
        actor,
        "compound.quota",
        "compound",
        compound.id,
        community_id,
        before=before,
        after=_quota(compound),
    )
    db.session.commit()
    return compound


def _quota(c: Compound) -> dict[str, int | None]:
    return {"exits": c.quota_exits, "days": c.quota_days, "hours": c.quota_hours}


# --- the dashboard: people out past the allowed hours -----------------------------------------


@dataclass(frozen=True)
class OutTooLong:
    """A resident still out whose last exit (on their own pass) is older than the hours allowed."""

    resident_id: int
    name: str  # shown masked
    compound: str
    building: str
    unit: str
    room: str
    left_at: datetime
    hours: int  # the compound's quota_hours


def out_too_long(ids: list[int], now: datetime) -> list[OutTooLong]:
    """People of these communities (checked by the caller) out longer than their compound's
    ``quota_hours``, longest out first. Someone whose last exit was on an exemption is the
    exemption's business (the "not back" list), not the quota's."""
    last_out = (
        select(AccessEvent.id)
        .where(
            AccessEvent.resident_id == Resident.id,
            AccessEvent.decision == Decision.ALLOW.value,
            AccessEvent.direction == Direction.OUT.value,
        )
        .order_by(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())
        .limit(1)
        .correlate(Resident)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Resident.id,
            Resident.name,
            Compound.name,
            Building.name,
            Household.unit,
            Household.room,
            AccessEvent.occurred_at,
            Compound.quota_hours,
        )
        .select_from(Resident)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .join(AccessEvent, AccessEvent.id == last_out)
        .join(Pass, Pass.id == AccessEvent.pass_id)
        .where(
            Compound.community_id.in_(ids),
            Compound.quota_hours.is_not(None),
            Resident.presence == Direction.OUT.value,
            Pass.kind.in_([k.value for k in QUOTA_PASS_KINDS]),
        )
    ).all()
    late = [
        OutTooLong(rid, name, compound, building, unit, room, left_at, hours)
        for rid, name, compound, building, unit, room, left_at, hours in rows
        if now - left_at > timedelta(hours=hours)
    ]
    return sorted(late, key=lambda r: (r.left_at, r.resident_id))
