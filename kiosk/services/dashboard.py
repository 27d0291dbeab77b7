"""The office's live dashboard: who is inside each compound now, entries and exits per gate today
(the community's local day), the last 24 hours by hour, denials and refers today by reason, and
exemption holders who left on their exemption and are not back after its window.

Read-only: the gate log is written by ``gatelog`` alone. Every query is scoped to communities the
actor reaches (``scope``), grouped in the database and indexed by time or by pass; people inside
are counted by ``gatelog.occupancy``, once per compound, never person by person.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import aliased

from ..domain.decision import Decision, Direction, PassKind
from ..extensions import db
from ..models import (
    MAX_ID,
    AccessEvent,
    Alert,
    Building,
    Community,
    Compound,
    Gate,
    Household,
    Pass,
    Resident,
    User,
)
from . import alerts, events, gatelog, scope
from . import disinfection as disinfection_rounds
from . import sensors as door_sensors
from .errors import NotFound
from .quota import out_too_long

HOURS = 24  # the chart's span, one bar pair per local hour, the current hour last
UNDECIDED_HOURS = 24  # refers no guard decided are listed for this long (as the office page did)


# --- the clock: the community's local day and hours -------------------------------------------


def day_start(now: datetime) -> datetime:
    """Local midnight of ``now`` (``TIMEZONE``), in UTC: "today" on the dashboard."""
    local = now.astimezone(current_app.config["TZ"])
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def hour_starts(now: datetime) -> list[datetime]:
    """The starts of the last ``HOURS`` local hours, oldest first, in UTC; the last one is the
    hour ``now`` is in."""
    local = now.astimezone(current_app.config["TZ"])
    top = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return [top - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]


# --- what the pages read ----------------------------------------------------------------------


@dataclass(frozen=True)
class CompoundCount:
    compound_id: int
    name: str
    inside: int


@dataclass(frozen=True)
class GateCount:
    gate_id: int
    compound: str
    gate: str
    entries: int
    exits: int


@dataclass(frozen=True)
class HourCount:
    start: datetime  # UTC; shown in local time
    entries: int
    exits: int


@dataclass(frozen=True)
class ReasonCount:
    code: str
    count: int


@dataclass(frozen=True)
class NotBack:
    """An exemption holder who left on the exemption, is still out, and whose window ended."""

    pass_id: int
    resident_id: int
    name: str  # shown masked, as every name on the office's pages
    compound: str
    building: str
    unit: str
    room: str
    valid_until: datetime
    left_at: datetime | None


@dataclass(frozen=True)
class Summary:
    """One community's row on the street's overview."""

    community_id: int
    name: str
    inside: int = 0
    entries: int = 0
    exits: int = 0
    denials: int = 0
    open_alerts: int = 0
    undecided: int = 0
    observed: int = 0
    not_back: int = 0


@dataclass(frozen=True)
class Dashboard:
    """One community's live dashboard."""

    community_id: int
    name: str
    compounds: list[CompoundCount]
    gates: list[GateCount]
    hours: list[HourCount]
    denials: list[ReasonCount]
    refers: list[ReasonCount]
    alerts: list
    closed: list
    undecided: list
    overrides: list
    observed: int
    not_back: list[NotBack]
    door_alarms: door_sensors.AlarmBoard | None = None  # door alarms (services/sensors.py)
    overdue_areas: list | None = None  # disinfection overdue (services/disinfection.py)
    out_too_long: list | None = None  # out past the outing quota's hours (services/quota.py)

    @property
    def inside(self) -> int:
        return sum(c.inside for c in self.compounds)

    @property
    def entries(self) -> int:
        return sum(g.entries for g in self.gates)

    @property
    def exits(self) -> int:
        return sum(g.exits for g in self.gates)


# --- which communities ------------------------------------------------------------------------


def communities(actor: User) -> list[tuple[int, str]]:
    """(id, name) of every community the actor reaches, by name."""
    scope.require_role(actor, scope.MANAGERS)
    return [
        tuple(r)
        for r in db.session.execute(
            select(Community.id, Community.name)
            .where(Community.id.in_(scope.community_ids(actor)))
            .order_by(Community.name)
        )
    ]


def community(actor: User, community_id: int) -> tuple[int, str]:
    """(id, name) of one community the actor reaches; any other id is not found."""
    scope.require_role(actor, scope.MANAGERS)
    if not 1 <= community_id <= MAX_ID or not scope.in_scope(actor, community_id):
        raise NotFound()
    name = db.session.scalar(select(Community.name).where(Community.id == community_id))
    if name is None:
        raise NotFound()
    return community_id, name


# --- the street's overview --------------------------------------------------------------------


def street_summary(actor: User, now: datetime) -> list[Summary]:
    """One row per community the actor reaches, by name: a handful of grouped queries for all."""
    rows = communities(actor)
    ids = [cid for cid, _name in rows]
    if not ids:
        return []
    inside: Counter = Counter()
    for compound in _compounds(ids):
        inside[compound.community_id] += gatelog.occupancy(compound.id)
    moves: Counter = Counter()
    for cid, direction, count in db.session.execute(
        _in_communities(select(Compound.community_id, AccessEvent.direction, func.count()), ids)
        .where(
            AccessEvent.decision == Decision.ALLOW.value, AccessEvent.occurred_at >= day_start(now)
        )
        .group_by(Compound.community_id, AccessEvent.direction)
    ):
        moves[cid, direction] = count
    denials: Counter = Counter()
    for cid, decision, _reasons, count in _decided_today(ids, now):
        if decision == Decision.DENY.value:
            denials[cid] += count
    open_alerts = dict(
        db.session.execute(
            select(Alert.community_id, func.count())
            .where(Alert.community_id.in_(ids), Alert.acknowledged_at.is_(None))
            .group_by(Alert.community_id)
        ).all()
    )
    undecided = dict(
        db.session.execute(
            _in_communities(select(Compound.community_id, func.count()), ids)
            .where(
                AccessEvent.occurred_at >= now - timedelta(hours=UNDECIDED_HOURS),
                gatelog.still_open(),
            )
            .group_by(Compound.community_id)
        ).all()
    )
    observed = _observed(ids, now)
    not_back = Counter(cid for cid, _row in exemptions_not_back(ids, now))
    return [
        Summary(
            community_id=cid,
            name=name,
            inside=inside[cid],
            entries=moves[cid, Direction.IN.value],
            exits=moves[cid, Direction.OUT.value],
            denials=denials[cid],
            open_alerts=open_alerts.get(cid, 0),
            undecided=undecided.get(cid, 0),
            observed=observed.get(cid, 0),
            not_back=not_back[cid],
        )
        for cid, name in rows
    ]


# --- one community ----------------------------------------------------------------------------


def community_dashboard(actor: User, community_id: int, now: datetime) -> Dashboard:
    """Everything the office watches for one community it reaches (else not found)."""
    cid, name = community(actor, community_id)
    ids = [cid]
    gates = gate_counts(ids, now)
    gate_ids = {g.gate_id for g in gates}
    denials: Counter = Counter()
    refers: Counter = Counter()
    for _cid, decision, reasons, count in _decided_today(ids, now):
        into = denials if decision == Decision.DENY.value else refers
        for code in reasons.split():
            into[code] += count
    # The office's lists, as the start page always showed them, kept to this community (a
    # street user sees every community of the street in them otherwise).
    since = now - timedelta(hours=UNDECIDED_HOURS)
    return Dashboard(
        community_id=cid,
        name=name,
        compounds=[CompoundCount(c.id, c.name, gatelog.occupancy(c.id)) for c in _compounds(ids)],
        gates=gates,
        hours=by_hour(ids, now),
        denials=_ranked(denials),
        refers=_ranked(refers),
        alerts=[r for r in alerts.open_alerts(actor) if r.alert.community_id == cid],
        closed=[
            r for r in alerts.closed_by_second_reading(actor, now) if r.alert.community_id == cid
        ],
        undecided=[r for r in events.undecided_refers(actor, since) if r[0].gate_id in gate_ids],
        overrides=[r for r in events.recent_overrides(actor) if r[0].gate_id in gate_ids],
        observed=_observed(ids, now).get(cid, 0),
        not_back=[row for _cid, row in exemptions_not_back(ids, now)],
        door_alarms=door_sensors.board(ids, now),
        overdue_areas=disinfection_rounds.overdue_areas(ids, now),
        out_too_long=out_too_long(ids, now),
    )


def open_alerts(actor: User) -> list:
    """Every open fever alert the actor reaches (the street's overview lists them all)."""
    return alerts.open_alerts(actor)


# --- the queries: ``ids`` are communities the caller has checked the actor reaches -------------


def _in_communities(stmt, ids: list[int]):
    """Access events at the gates of these communities."""
    return (
        stmt.select_from(AccessEvent)
        .join(Gate, Gate.id == AccessEvent.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(ids))
    )


def _compounds(ids: list[int]) -> list[Compound]:
    return list(
        db.session.scalars(
            select(Compound)
            .where(Compound.community_id.in_(ids))
            .order_by(Compound.community_id, Compound.name)
        )
    )


def gate_counts(ids: list[int], now: datetime) -> list[GateCount]:
    """Every gate of these communities with its allowed entries and exits since local midnight
    (a guard's allowance of a referred scan is one passage; the referred scan itself is none)."""
    counted = and_(
        AccessEvent.gate_id == Gate.id,
        AccessEvent.decision == Decision.ALLOW.value,
        AccessEvent.occurred_at >= day_start(now),
    )
    rows = db.session.execute(
        select(
            Gate.id,
            Compound.name,
            Gate.name,
            func.sum(case((AccessEvent.direction == Direction.IN.value, 1), else_=0)),
            func.sum(case((AccessEvent.direction == Direction.OUT.value, 1), else_=0)),
        )
        .join(Compound, Compound.id == Gate.compound_id)
        .outerjoin(AccessEvent, counted)
        .where(Compound.community_id.in_(ids))
        .group_by(Gate.id, Compound.name, Gate.name)
        .order_by(Compound.name, Gate.name)
    )
    return [GateCount(gid, c, g, int(i or 0), int(o or 0)) for gid, c, g, i, o in rows]


def by_hour(ids: list[int], now: datetime) -> list[HourCount]:
    """Allowed entries and exits of the last ``HOURS`` local hours, oldest first."""
    starts = hour_starts(now)
    # The hour's number, computed alike on SQLite and PostgreSQL (no date functions).
    bucket = case(
        *[(AccessEvent.occurred_at < edge, i) for i, edge in enumerate(starts[1:])],
        else_=HOURS - 1,
    )
    # Grouped outside: PostgreSQL does not match a GROUP BY expression with bound parameters
    # against the same expression in the SELECT list.
    moves = _in_communities(
        select(bucket.label("hour"), AccessEvent.direction.label("direction")), ids
    ).where(
        AccessEvent.decision == Decision.ALLOW.value,
        AccessEvent.occurred_at >= starts[0],
        AccessEvent.occurred_at <= now,
    )
    moves = moves.subquery()
    counts: Counter = Counter()
    for hour, direction, count in db.session.execute(
        select(moves.c.hour, moves.c.direction, func.count()).group_by(
            moves.c.hour, moves.c.direction
        )
    ):
        counts[int(hour), direction] = count
    return [
        HourCount(start, counts[i, Direction.IN.value], counts[i, Direction.OUT.value])
        for i, start in enumerate(starts)
    ]


def _decided_today(ids: list[int], now: datetime):
    """(community, decision, reasons, count) of today's denials and refers at the gates. A
    guard's decision on a referred scan is not counted again: the refer is."""
    return db.session.execute(
        _in_communities(
            select(Compound.community_id, AccessEvent.decision, AccessEvent.reasons, func.count()),
            ids,
        )
        .where(
            AccessEvent.decision.in_((Decision.DENY.value, Decision.REFER.value)),
            AccessEvent.override.is_(False),
            AccessEvent.occurred_at >= day_start(now),
        )
        .group_by(Compound.community_id, AccessEvent.decision, AccessEvent.reasons)
    ).all()


def _ranked(counts: Counter) -> list[ReasonCount]:
    return [ReasonCount(code, n) for code, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


def _observed(ids: list[int], now: datetime) -> dict[int, int]:
    """Households under home observation now, per community."""
    return dict(
        db.session.execute(
            select(Compound.community_id, func.count())
            .select_from(Household)
            .join(Building, Building.id == Household.building_id)
            .join(Compound, Compound.id == Building.compound_id)
            .where(Compound.community_id.in_(ids), Household.observation_until > now)
            .group_by(Compound.community_id)
        ).all()
    )


_EXIT = aliased(AccessEvent)
_EXIT_AT = aliased(AccessEvent)
_BACK = aliased(AccessEvent)


def _exemption_exits(alias):
    """The allowed exits on the exemption (the pass-and-decision index answers them)."""
    return and_(
        alias.pass_id == Pass.id,
        alias.decision == Decision.ALLOW.value,
        alias.direction == Direction.OUT.value,
    )


def exemptions_not_back(ids: list[int], now: datetime) -> list[tuple[int, NotBack]]:
    """Exemption holders whose window has ended, who left on the exemption and whose last
    allowed passage is that exit or a later one: nobody let them in since. Latest window first.
    """
    left = select(func.max(_EXIT.id)).where(_exemption_exits(_EXIT)).correlate(Pass)
    left = left.scalar_subquery()
    left_at = select(func.max(_EXIT_AT.occurred_at)).where(_exemption_exits(_EXIT_AT))
    left_at = left_at.correlate(Pass).scalar_subquery()
    came_back = (
        exists()
        .where(
            _BACK.resident_id == Pass.resident_id,
            _BACK.decision == Decision.ALLOW.value,
            _BACK.direction == Direction.IN.value,
            _BACK.id > left,
        )
        .correlate(Pass)
    )
    rows = db.session.execute(
        select(
            Compound.community_id,
            Pass.id,
            Resident.id,
            Resident.name,
            Compound.name,
            Building.name,
            Household.unit,
            Household.room,
            Pass.valid_until,
            left_at,
        )
        .select_from(Pass)
        .join(Resident, Resident.id == Pass.resident_id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(
            Compound.community_id.in_(ids),
            Pass.kind == PassKind.EXEMPTION.value,
            Pass.valid_until < now,
            Resident.presence == Direction.OUT.value,
            left.is_not(None),
            ~came_back,
        )
        .order_by(Pass.valid_until.desc(), Pass.id.desc())
    ).all()
    return [(r[0], NotBack(*r[1:])) for r in rows]
