"""Tracing one person from the gate log: their passages and visits over a period, everyone who
passed the same gates around them (``domain/tracing.py`` decides who is a direct contact), the
gates and buildings of their route and the public areas there to disinfect.

Office and street roles only, within their communities (a street user traces across the
communities of the street). Every trace needs a reason and is written to the audit log.

Reads are shaped for a month of a street's log (docs/performance.md): the subject's passages by
``ix_access_event_resident_id`` (a visitor's by ``ix_access_event_visit_id``), everyone else's
by ``ix_access_event_gate_time`` over the merged windows around them, one range per gate.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..contract.tracing import TraceForm, TraceQuery
from ..domain import tracing as rules
from ..domain.audit import AuditAction, AuditTarget
from ..extensions import db
from ..models import (
    MAX_ID,
    AccessEvent,
    Building,
    Compound,
    Gate,
    Household,
    PublicArea,
    Resident,
    User,
    Visit,
)
from . import audit, replica, scope
from .errors import NotFound


@dataclass(frozen=True)
class Place:
    """Where a household is, for the report."""

    household_id: int
    building_id: int
    building: str
    unit: str
    room: str
    compound: str

    def label(self, unit: str, room: str) -> str:
        """Building, unit and room ("1号楼 2单元 301室"), with the two translated templates
        (``labels()``) looked up once per trace, not once per row."""
        return " ".join((self.building, unit % {"unit": self.unit}, room % {"room": self.room}))


def labels() -> tuple[str, str]:
    """The translated templates of a unit and a room."""
    return _("unit %(unit)s"), _("room %(room)s")


@dataclass(frozen=True)
class PassageRow:
    event_id: int
    at: datetime
    compound: str
    gate_id: int
    gate: str
    direction: str
    decision: str
    temperature: float | None


@dataclass(frozen=True)
class VisitRow:
    visit_id: int
    visitor: str
    phone_last4: str
    household_id: int
    household: str
    at: datetime | None
    left_at: datetime | None


@dataclass(frozen=True)
class LinkRow:
    their_event_id: int
    their_at: datetime
    subject_event_id: int
    gate: str
    minutes_apart: float


@dataclass(frozen=True)
class ContactRow:
    kind: str  # resident | visitor
    resident_id: int | None
    visit_id: int | None
    name: str
    household_id: int | None
    household: str | None
    direct: bool
    reasons: list[rules.ContactReason]
    links: list[LinkRow]


@dataclass(frozen=True)
class PlaceRow:
    kind: str  # gate | building
    id: int
    name: str
    compound: str
    passages: int
    first_at: datetime | None
    last_at: datetime | None


@dataclass
class Trace:
    subject: str
    subject_kind: str
    subject_id: int
    household: str | None
    since: dt.date
    until: dt.date
    window_minutes: int
    reason: str
    passages: list[PassageRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    direct: list[ContactRow] = field(default_factory=list)
    same_place: list[ContactRow] = field(default_factory=list)
    route: list[PlaceRow] = field(default_factory=list)
    area_ids: list[int] = field(default_factory=list)

    @property
    def household_ids(self) -> list[int]:
        """The households of resident contacts, for putting them under observation at once."""
        ids = []
        for c in self.direct + self.same_place:
            if c.kind == "resident" and c.household_id and c.household_id not in ids:
                ids.append(c.household_id)
        return ids


def _places(rs: Session, household_ids) -> dict[int, Place]:
    if not household_ids:
        return {}
    rows = rs.execute(
        select(Household.id, Building.id, Building.name, Household.unit, Household.room)
        .add_columns(Compound.name)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Household.id.in_(set(household_ids)))
    )
    return {r[0]: Place(*r) for r in rows}


def _bounds(since: dt.date, until: dt.date) -> tuple[datetime, datetime]:
    tz = current_app.config["TZ"]
    start = datetime.combine(since, dt.time(), tz)
    end = datetime.combine(until + timedelta(days=1), dt.time(), tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _gates(rs: Session, communities: list[int]) -> dict[int, tuple[str, str, int]]:
    """Every gate of these communities: id -> (gate name, compound name, compound id)."""
    rows = rs.execute(
        select(Gate.id, Gate.name, Compound.name, Compound.id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(communities))
    )
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _resident_key(resident_id: int) -> str:
    return f"r:{resident_id}"


def _visitor_key(phone_hash: str) -> str:
    return "v:" + phone_hash


def _subject(actor: User, query, communities: list[int]):
    """The subject as a domain Person, their name and the visits that make them a visitor."""
    if query.resident_id is not None:
        resident = scope.load(actor, Resident, query.resident_id).obj
        person = rules.Person(_resident_key(resident.id), homes=frozenset({resident.household_id}))
        return person, resident
    visit = visit_in_scope(query.visit_id, communities)
    return rules.Person(_visitor_key(visit.phone_hash)), visit


def visit_in_scope(visit_id: int | None, communities) -> Visit:
    """The visit, if it was to a compound of these communities; else NotFound (a visit of
    another community is not told apart from none)."""
    if visit_id is None or not 1 <= visit_id <= MAX_ID:
        raise NotFound()
    if db.session.scalar(scope.community_of(Visit, visit_id)) not in communities:
        raise NotFound()
    return db.session.get(Visit, visit_id)


def trace(actor: User, query: TraceQuery | TraceForm, now: datetime) -> Trace:
    """The trace of one person, read on the replica when there is one; audited with its
    reason on the primary."""
    scope.require_role(actor, scope.MANAGERS)
    with replica.reading() as rs:
        result, record = _read(rs, actor, query, now)
    resident = isinstance(record, Resident)
    audit.record(
        actor,
        AuditAction.RESIDENT_TRACE if resident else AuditAction.VISIT_TRACE,
        AuditTarget.RESIDENT if resident else AuditTarget.VISIT,
        record.id,
        community_id=_community_of(record),
        since=result.since.isoformat(),
        until=result.until.isoformat(),
        window_minutes=result.window_minutes,
        reason=result.reason,
        contacts=len(result.direct) + len(result.same_place),
    )
    db.session.commit()
    return result


def _read(rs: Session, actor: User, query: TraceQuery | TraceForm, now: datetime):
    communities = scope.community_ids(actor)
    today = now.astimezone(current_app.config["TZ"]).date()
    since, until = query.period(today)
    start, end = _bounds(since, until)
    window = timedelta(minutes=query.window)
    gates = _gates(rs, communities)
    subject, record = _subject(actor, query, communities)
    gate_ids = list(gates)
    in_period = and_(AccessEvent.occurred_at >= start, AccessEvent.occurred_at < end)
    passage = (
        AccessEvent.parent_id.is_(None),
        AccessEvent.gate_id.in_(gate_ids),
        in_period,
    )

    # The subject: a resident's events, or a visitor's events on any visit with their phone.
    if isinstance(record, Resident):
        mine = AccessEvent.resident_id == record.id
        my_visits = list(
            rs.scalars(
                select(Visit)
                .where(Visit.host_household_id == record.household_id)
                .where(Visit.created_at >= start - timedelta(days=1), Visit.created_at < end)
                .order_by(Visit.created_at)
            )
        )
        subject_name = record.name
        visited: frozenset[int] = frozenset()
    else:
        my_visits = list(
            rs.scalars(
                select(Visit)
                .join(Compound, Compound.id == Visit.compound_id)
                .where(Visit.phone_hash == record.phone_hash)
                .where(Compound.community_id.in_(communities))
                .where(Visit.created_at >= start - timedelta(days=1), Visit.created_at < end)
                .order_by(Visit.created_at)
            )
        )
        ids = [v.id for v in my_visits] or [record.id]
        mine = AccessEvent.visit_id.in_(ids)
        subject_name = record.name
        visited = frozenset(v.host_household_id for v in my_visits)
        subject = rules.Person(subject.key, visited=visited)
    cols = (
        AccessEvent.id,
        AccessEvent.occurred_at,
        AccessEvent.gate_id,
        AccessEvent.direction,
        AccessEvent.decision,
        AccessEvent.temperature,
    )
    own = list(rs.execute(select(*cols).where(mine, *passage).order_by(AccessEvent.id)))
    subject_passages = [rules.Passage(r.id, subject.key, r.gate_id, r.occurred_at) for r in own]

    # Everyone else at the same gates within the window: one indexed range per gate and stretch.
    ranges = rules.windows(subject_passages, window)
    others_rows = []
    if ranges:
        near = or_(
            *(
                and_(
                    AccessEvent.gate_id == gate,
                    AccessEvent.occurred_at >= lo,
                    AccessEvent.occurred_at <= hi,
                )
                for gate, spans in ranges.items()
                for lo, hi in spans
            )
        )
        others_rows = list(
            rs.execute(
                select(
                    AccessEvent.id,
                    AccessEvent.occurred_at,
                    AccessEvent.gate_id,
                    AccessEvent.resident_id,
                    AccessEvent.visit_id,
                ).where(
                    near,
                    AccessEvent.parent_id.is_(None),
                    or_(AccessEvent.resident_id.is_not(None), AccessEvent.visit_id.is_not(None)),
                )
            )
        )

    # Who they are: residents by id, visitors by their visit (grouped by phone).
    resident_ids = {r.resident_id for r in others_rows if r.resident_id is not None}
    visit_ids = {r.visit_id for r in others_rows if r.visit_id is not None}
    visit_ids |= {v.id for v in my_visits}
    if isinstance(record, Resident):
        resident_ids |= set(
            rs.scalars(
                select(Resident.id).where(
                    Resident.household_id == record.household_id,
                    Resident.moved_away_at.is_(None),
                )
            )
        )
    else:
        resident_ids |= set(
            rs.scalars(
                select(Resident.id).where(
                    Resident.household_id.in_(visited), Resident.moved_away_at.is_(None)
                )
            )
        )
    residents = (
        {
            r.id: r
            for r in rs.execute(
                select(
                    Resident.id, Resident.name, Resident.household_id, Resident.moved_away_at
                ).where(Resident.id.in_(resident_ids))
            )
        }
        if resident_ids
        else {}
    )
    visits = (
        {v.id: v for v in rs.scalars(select(Visit).where(Visit.id.in_(visit_ids)))}
        if visit_ids
        else {}
    )
    visitor_visits: dict[str, list[Visit]] = defaultdict(list)
    for v in sorted(visits.values(), key=lambda v: v.created_at):
        visitor_visits[_visitor_key(v.phone_hash)].append(v)

    people: dict[str, rules.Person] = {}
    for r in residents.values():
        people[_resident_key(r.id)] = rules.Person(
            _resident_key(r.id), homes=frozenset({r.household_id})
        )
    for key, vs in visitor_visits.items():
        if key != subject.key:
            people[key] = rules.Person(key, visited=frozenset(v.host_household_id for v in vs))
    others = [
        rules.Passage(
            r.id,
            _resident_key(r.resident_id)
            if r.resident_id is not None
            else _visitor_key(visits[r.visit_id].phone_hash),
            r.gate_id,
            r.occurred_at,
        )
        for r in others_rows
        if r.resident_id is not None or r.visit_id in visits
    ]
    # Only visitors of the subject's household in the period count by household alone.
    if isinstance(record, Resident):
        households_people = {
            k: p
            for k, p in people.items()
            if k.startswith("r:") or any(start <= v.created_at < end for v in visitor_visits[k])
        }
    else:
        households_people = people
    found = rules.contacts(subject, subject_passages, others, households_people, window)

    places = _places(
        rs,
        [r.household_id for r in residents.values()]
        + [v.host_household_id for v in visits.values()]
        + ([record.household_id] if isinstance(record, Resident) else []),
    )
    templates = labels()
    address = {hid: place.label(*templates) for hid, place in places.items()}
    result = Trace(
        subject=subject_name,
        subject_kind="resident" if isinstance(record, Resident) else "visitor",
        subject_id=record.id,
        household=address.get(record.household_id) if isinstance(record, Resident) else None,
        since=since,
        until=until,
        window_minutes=query.window,
        reason=query.reason,
    )
    for r in own:
        gate, compound, _cid = gates[r.gate_id]
        result.passages.append(
            PassageRow(
                r.id,
                r.occurred_at,
                compound,
                r.gate_id,
                gate,
                r.direction,
                r.decision,
                r.temperature,
            )
        )
    for v in my_visits:
        if not start <= v.created_at < end:
            continue
        place = places[v.host_household_id]
        result.visits.append(
            VisitRow(
                v.id,
                v.name,
                v.phone_last4,
                v.host_household_id,
                address[v.host_household_id],
                v.checked_in_at,
                v.checked_out_at,
            )
        )
    for c in found:
        links = [
            LinkRow(
                link.theirs.event_id,
                link.theirs.at,
                link.subjects.event_id,
                gates[link.theirs.gate_id][0],
                round(link.apart.total_seconds() / 60, 1),
            )
            for link in c.links
        ]
        if c.person.startswith("r:"):
            r = residents[int(c.person[2:])]
            place = places.get(r.household_id)
            row = ContactRow(
                "resident",
                r.id,
                None,
                r.name if r.moved_away_at is None else "—",
                r.household_id,
                address.get(place.household_id) if place else None,
                c.direct,
                sorted(c.reasons),
                links,
            )
        else:
            vs = visitor_visits[c.person]
            last = vs[-1]
            place = places.get(last.host_household_id)
            row = ContactRow(
                "visitor",
                None,
                last.id,
                last.name,
                last.host_household_id,
                address.get(place.household_id) if place else None,
                c.direct,
                sorted(c.reasons),
                links,
            )
        (result.direct if c.direct else result.same_place).append(row)

    # The route: the gates passed and the buildings lived in or visited.
    per_gate: dict[int, list[datetime]] = defaultdict(list)
    for p in subject_passages:
        per_gate[p.gate_id].append(p.at)
    for gate_id, times in sorted(per_gate.items(), key=lambda kv: min(kv[1])):
        gate, compound, _cid = gates[gate_id]
        result.route.append(
            PlaceRow("gate", gate_id, gate, compound, len(times), min(times), max(times))
        )
    buildings: dict[int, tuple[Place, list[datetime]]] = {}
    homes = [record.household_id] if isinstance(record, Resident) else []
    # (a replica a moment behind may not have a household the primary just made)
    for hid in homes:
        if hid in places:
            buildings.setdefault(places[hid].building_id, (places[hid], []))
    for v in result.visits if not isinstance(record, Resident) else []:
        place = places[v.household_id]
        buildings.setdefault(place.building_id, (place, []))[1].extend(
            t for t in (v.at,) if t is not None
        )
    for bid, (place, times) in buildings.items():
        result.route.append(
            PlaceRow(
                "building",
                bid,
                place.building,
                place.compound,
                len(times),
                min(times) if times else None,
                max(times) if times else None,
            )
        )
    route_compounds = {gates[g][2] for g in per_gate}
    areas = select(PublicArea.id).where(PublicArea.retired_at.is_(None))
    building_ids = list(buildings)
    result.area_ids = list(
        rs.scalars(
            areas.where(
                or_(
                    PublicArea.building_id.in_(building_ids),
                    and_(
                        PublicArea.compound_id.in_(route_compounds),
                        PublicArea.kind == "gate",
                    ),
                )
            ).order_by(PublicArea.id)
        )
    )

    return result, record


def _community_of(record) -> int | None:
    if isinstance(record, Resident):
        stmt = (
            select(Compound.community_id)
            .join(Building, Building.compound_id == Compound.id)
            .join(Household, Household.building_id == Building.id)
            .where(Household.id == record.household_id)
        )
    else:
        stmt = select(Compound.community_id).where(Compound.id == record.compound_id)
    return db.session.scalar(stmt)
