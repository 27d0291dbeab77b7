"""What is in force at a gate at a moment: a gate's state with its opening hours, and the
seals of a compound and a building with their schedules. One definition for residents' scans
(``scan``, on its connection), visitors' (``visitors``) and the pages that show them; the rules
themselves are the domain's (``domain/schedules.py``)."""

from __future__ import annotations

from datetime import datetime, time

from flask import current_app
from sqlalchemy import or_, select

from ..domain.decision import SealState
from ..domain.schedules import ScheduledSeal, effective_seal, gate_open_at
from ..extensions import db
from ..models import SealSchedule


def gate_open(is_open: bool, opens_at: time | None, closes_at: time | None, now: datetime) -> bool:
    """Closed by the office, or outside its opening hours (the deployment's local time)."""
    if opens_at is None or not is_open:
        return is_open
    local = now.astimezone(current_app.config["TZ"]).time()
    return gate_open_at(is_open, opens_at, closes_at, local)


# The schedules in force now of the gate's compound and the holder's compound; which one applies
# to which place is the domain's rule (``schedules.effective_seal``).
SCHEDULES = select(
    SealSchedule.target_kind,
    SealSchedule.target_id,
    SealSchedule.state,
    SealSchedule.starts_at,
    SealSchedule.ends_at,
    SealSchedule.created_at,
    SealSchedule.id,
).where(
    or_(
        SealSchedule.compound_id == db.bindparam("compound_id"),
        SealSchedule.compound_id == db.bindparam("holder_compound_id"),
    ),
    SealSchedule.cancelled_at.is_(None),
    SealSchedule.starts_at <= db.bindparam("now"),
    or_(SealSchedule.ends_at.is_(None), SealSchedule.ends_at > db.bindparam("now")),
)


def seals(
    conn,
    now: datetime,
    compound_id: int,
    compound_base: SealState,
    building_id: int | None = None,
    building_base: SealState | None = None,
    building_compound_id: int | None = None,
) -> tuple[SealState, SealState | None]:
    """The compound's and the building's seal in force at ``now``: the base states, unless a
    schedule covers ``now``. The building may be of another compound (a holder's home)."""
    params = {
        "compound_id": compound_id,
        "holder_compound_id": building_compound_id or compound_id,
        "now": now,
    }
    compound, building = [], []
    for s in conn.execute(SCHEDULES, params):
        entry = ScheduledSeal(SealState(s.state), s.starts_at, s.ends_at, s.created_at, s.id)
        if s.target_kind == "compound" and s.target_id == compound_id:
            compound.append(entry)
        elif s.target_kind == "building" and s.target_id == building_id:
            building.append(entry)
    compound_seal = effective_seal(compound_base, compound, now)
    building_seal = None
    if building_base is not None:
        building_seal = effective_seal(building_base, building, now)
    return compound_seal, building_seal
