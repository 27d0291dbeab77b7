"""Disinfection rounds (消杀): public areas of a compound (and buildings' rubbish rounds), their
QR stickers, the workers' ticks and which areas are overdue.

A sticker's QR holds a URL with a random token (no personal data); only its hash is kept, so
printing stickers again issues new tokens and the old stickers of those areas stop working.
Ticks are appended (two workers ticking at once make two records, which is true); retiring an
area is a conditional UPDATE, so a lost race says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..contract.disinfection import AreaForm, AreaWorkerForm, DoneForm
from ..domain import disinfection as rules
from ..domain.audit import AuditAction, AuditTarget
from ..extensions import db
from ..models import (
    MAX_ID,
    Building,
    Compound,
    DisinfectionRecord,
    PublicArea,
    User,
    utcnow,
)
from . import audit, scope, security, staff
from .errors import Conflict, Invalid, NotFound

WORKERS = ("worker",)


@dataclass(frozen=True)
class AreaRow:
    """An area on the office's or the worker's list, with where it stands now."""

    area: PublicArea
    compound: str
    building: str | None
    last_done: datetime | None
    status: rules.AreaStatus
    worker: str | None = None  # the username of the worker it is given to
    community_id: int | None = None

    @property
    def overdue(self) -> bool:
        return self.status.overdue


def _local(dt: datetime | None) -> datetime | None:
    return dt.astimezone(current_app.config["TZ"]) if dt is not None else None


def area_status(area: PublicArea, last_done: datetime | None, now: datetime) -> rules.AreaStatus:
    """The pure rule, in the deployment's local time."""
    return rules.status(
        _local(now),
        _local(last_done),
        _local(area.created_at),
        area.times_per_day,
        rules.parse_fixed_times(area.fixed_times or ""),
        _local(area.due_now_at),
    )


def _rows(ids: list[int], now: datetime) -> list[AreaRow]:
    """Every active area of these communities with its last record (one grouped query)."""
    if not ids:
        return []
    last = (
        select(DisinfectionRecord.area_id, func.max(DisinfectionRecord.done_at).label("done"))
        .group_by(DisinfectionRecord.area_id)
        .subquery()
    )
    found = db.session.execute(
        select(
            PublicArea,
            Compound.name,
            Building.name,
            last.c.done,
            User.username,
            Compound.community_id,
        )
        .join(Compound, Compound.id == PublicArea.compound_id)
        .outerjoin(Building, Building.id == PublicArea.building_id)
        .outerjoin(last, last.c.area_id == PublicArea.id)
        .outerjoin(User, User.id == PublicArea.worker_id)
        .where(Compound.community_id.in_(ids), PublicArea.retired_at.is_(None))
        .order_by(Compound.name, Building.name, PublicArea.name, PublicArea.id)
    ).all()
    return [
        AreaRow(area, compound, building, done, area_status(area, done, now), worker, community)
        for area, compound, building, done, worker, community in found
    ]


def areas(actor: User, now: datetime) -> list[AreaRow]:
    """The office's list: every active area it reaches, overdue first."""
    scope.require_role(actor, scope.MANAGERS)
    rows = _rows(scope.community_ids(actor), now)
    return sorted(rows, key=lambda r: not r.overdue)


def worker_areas(actor: User, now: datetime) -> list[AreaRow]:
    """The worker's list: the areas of their community, their own first, then those given to
    nobody, then the other workers'; overdue first within each."""
    scope.require_role(actor, WORKERS)

    def order(row: AreaRow) -> tuple[int, bool]:
        whose = 0 if row.area.worker_id == actor.id else 1 if row.area.worker_id is None else 2
        return whose, not row.overdue

    return sorted(_rows(scope.community_ids(actor), now), key=order)


def assign_area(actor: User, area_id: int, data: AreaWorkerForm) -> PublicArea:
    """Give an area to an active worker of its community, or to nobody (``worker_id`` left
    out); audited. The last choice stands: giving an area is not a counted rule."""
    area, community_id = scope.load(actor, PublicArea, area_id)
    if data.worker_id is not None and data.worker_id not in {
        w.id for w in staff.workers(actor, community_id)
    }:
        raise Invalid(_l("Choose a worker from the list."), field="worker_id")
    area.worker_id = data.worker_id
    audit.record(actor, "area.assign", "area", area.id, community_id, worker_id=data.worker_id)
    db.session.commit()
    return area


def overdue_areas(ids: list[int], now: datetime) -> list[AreaRow]:
    """The dashboard's block: overdue areas of these communities (the caller has checked the
    actor reaches them)."""
    return [row for row in _rows(ids, now) if row.overdue]


def compounds(actor: User) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """(compound id, name, [(building id, name)]) the actor reaches, for the form's lists."""
    scope.require_role(actor, scope.MANAGERS)
    ids = scope.community_ids(actor)
    out = []
    for compound in db.session.scalars(
        select(Compound).where(Compound.community_id.in_(ids)).order_by(Compound.name)
    ):
        buildings = db.session.execute(
            select(Building.id, Building.name)
            .where(Building.compound_id == compound.id)
            .order_by(Building.name)
        ).all()
        out.append((compound.id, compound.name, [tuple(b) for b in buildings]))
    return out


def create_area(actor: User, data: AreaForm) -> PublicArea:
    """A new area of a compound the actor reaches (a rubbish round names its building)."""
    try:
        compound, community_id = scope.load(actor, Compound, data.compound_id)
    except NotFound:
        raise Invalid(_l("Choose the compound."), field="compound_id") from None
    if data.building_id is not None:
        building = db.session.get(Building, data.building_id)
        if building is None or building.compound_id != compound.id:
            raise Invalid(_l("Choose the building from the list."), field="building_id")
    fixed = data.fixed_times or ""
    if fixed:
        times = len(rules.parse_fixed_times(fixed))
    else:
        times = data.times_per_day or rules.default_times_per_day(data.kind)
    area = PublicArea(
        compound_id=compound.id,
        building_id=data.building_id,
        name=data.name,
        kind=data.kind.value,
        times_per_day=times,
        fixed_times=fixed,
        # A token nobody knows until stickers are printed (which issues new ones).
        sticker_hash=security.token_hash(security.new_token()),
    )
    db.session.add(area)
    db.session.flush()
    audit.record(actor, "area.create", "area", area.id, community_id, name=area.name)
    db.session.commit()
    return area


def retire_area(actor: User, area_id: int) -> None:
    """The area is no longer done (its records stay); retiring twice says so."""
    area, community_id = scope.load(actor, PublicArea, area_id)
    done = db.session.execute(
        update(PublicArea)
        .where(PublicArea.id == area.id, PublicArea.retired_at.is_(None))
        .values(retired_at=utcnow())
    )
    if done.rowcount != 1:
        db.session.rollback()
        raise Conflict(_l("This area was retired already."))
    audit.record(actor, "area.retire", "area", area.id, community_id)
    db.session.commit()


def make_due(actor: User, area_ids: list[int], now: datetime) -> list[PublicArea]:
    """The chosen active areas are due at once (a case passed by, ``tracing``): overdue on
    every list until a worker ticks them. All of them or none: one out of reach is NotFound,
    one retired is refused."""
    loaded = [scope.load(actor, PublicArea, ident) for ident in dict.fromkeys(area_ids)]
    if not loaded:
        raise Invalid(_l("Choose areas from the list."), field="area_ids")
    if any(area.retired_at is not None for area, _community in loaded):
        raise Invalid(_l("Choose areas from the list."), field="area_ids")
    for area, community_id in loaded:
        area.due_now_at = now
        audit.record(
            actor, AuditAction.AREA_DUE_NOW, AuditTarget.AREA, area.id, community_id, name=area.name
        )
    db.session.commit()
    return [area for area, _community in loaded]


@dataclass(frozen=True)
class Sticker:
    area: PublicArea
    compound: str
    building: str | None
    token: str


def issue_stickers(actor: User, area_ids: list[int], now: datetime) -> list[Sticker]:
    """New stickers for the chosen active areas (none chosen: all of them): new tokens, the old
    stickers of these areas stop working."""
    rows = areas(actor, now)
    if area_ids:
        wanted = set(area_ids)
        rows = [r for r in rows if r.area.id in wanted]
        if len(rows) != len(wanted):
            raise Invalid(_l("Choose areas from the list."), field="area_ids")
    rows.sort(key=lambda r: (r.compound, r.building or "", r.area.name, r.area.id))
    stickers = []
    for row in rows:
        token = security.new_token(24)
        db.session.execute(
            update(PublicArea)
            .where(PublicArea.id == row.area.id)
            .values(sticker_hash=security.token_hash(token))
        )
        community_id = db.session.scalar(
            select(Compound.community_id).where(Compound.id == row.area.compound_id)
        )
        audit.record(actor, "area.sticker", "area", row.area.id, community_id)
        stickers.append(Sticker(row.area, row.compound, row.building, token))
    db.session.commit()
    return stickers


def area_by_token(actor: User, token: str) -> AreaRow:
    """The active area a sticker names, in the worker's community; else not found."""
    scope.require_role(actor, WORKERS)
    found = db.session.execute(
        select(PublicArea, Compound.community_id)
        .join(Compound, Compound.id == PublicArea.compound_id)
        .where(
            PublicArea.sticker_hash == security.token_hash(token),
            PublicArea.retired_at.is_(None),
        )
    ).first()
    if found is None or not scope.in_scope(actor, found[1]):
        raise NotFound(_l("This sticker is not known. Scan the sticker at the area."))
    area = found[0]
    now = utcnow()
    rows = [r for r in _rows([found[1]], now) if r.area.id == area.id]
    return rows[0]


def mark_done(
    actor: User, data: DoneForm, photo: bytes | None = None, now: datetime | None = None
) -> DisinfectionRecord:
    """A worker's tick, proven by the sticker's token; with a photo if they took one."""
    row = area_by_token(actor, data.token)
    photo_type = None
    if photo:
        if len(photo) > rules.MAX_PHOTO_BYTES:
            raise Invalid(_l("The photo is too large (at most 5 MB)."), field="photo")
        photo_type = rules.photo_type(photo)
        if photo_type is None:
            raise Invalid(_l("The photo must be a JPEG, PNG or WebP image."), field="photo")
    record = DisinfectionRecord(
        area_id=row.area.id,
        worker_id=actor.id,
        done_at=now or utcnow(),
        photo=photo or None,
        photo_type=photo_type,
        note=data.note,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(actor, "area.done", "area", row.area.id, actor.community_id)
    db.session.commit()
    return record


@dataclass(frozen=True)
class WeekDay:
    day: datetime  # local midnight
    records: list  # (DisinfectionRecord, worker's username)


def week(actor: User, area_id: int, until: datetime | None) -> tuple[AreaRow, list[WeekDay]]:
    """An area's record for the seven local days ending on ``until`` (default today)."""
    area, community_id = scope.load(actor, PublicArea, area_id)
    tz = current_app.config["TZ"]
    last_day = (until or utcnow()).astimezone(tz).date()
    first = datetime.combine(last_day - timedelta(days=6), datetime.min.time(), tzinfo=tz)
    end = first + timedelta(days=7)
    records = db.session.execute(
        select(DisinfectionRecord, User.username)
        .outerjoin(User, User.id == DisinfectionRecord.worker_id)
        .where(
            DisinfectionRecord.area_id == area.id,
            DisinfectionRecord.done_at >= first.astimezone(UTC),
            DisinfectionRecord.done_at < end.astimezone(UTC),
        )
        .order_by(DisinfectionRecord.done_at)
    ).all()
    days = []
    for i in range(7):
        start = first + timedelta(days=i)
        stop = start + timedelta(days=1)
        days.append(
            WeekDay(
                start,
                [(r, who) for r, who in records if start <= r.done_at.astimezone(tz) < stop],
            )
        )
    compound = db.session.get(Compound, area.compound_id)
    building = db.session.get(Building, area.building_id) if area.building_id else None
    now = utcnow()
    last_done = db.session.scalar(
        select(func.max(DisinfectionRecord.done_at)).where(DisinfectionRecord.area_id == area.id)
    )
    row = AreaRow(
        area,
        compound.name,
        building.name if building else None,
        last_done,
        area_status(area, last_done, now),
    )
    return row, days


def photo(actor: User, record_id: int) -> tuple[bytes, str]:
    """A record's photo, for the office that reaches its area."""
    scope.require_role(actor, scope.MANAGERS)
    record = db.session.get(DisinfectionRecord, record_id) if 1 <= record_id <= MAX_ID else None
    if record is None or record.photo is None:
        raise NotFound()
    scope.load(actor, PublicArea, record.area_id)
    return record.photo, record.photo_type or "application/octet-stream"
