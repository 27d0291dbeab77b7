"""Retention: what the gate log and its kin keep, for how long, and ``flask purge`` that deletes
the rest.

Each street keeps access events (with their temperatures), visits, fever alerts, screening lists
and door-sensor events for its own period (``Street.retention_days``, 28 days by default); the
audit trail keeps its entries for ``AUDIT_RETENTION_DAYS`` (400). ``purge`` deletes what is older:

- in batches of ``PURGE_BATCH_SIZE`` rows, each batch its own short transaction, so that a scan
  waits at most for one batch and never for the whole purge (SQLite has one writer at a time: a
  batch of 500 events holds it some 16 ms, of 100 some 7 ms; on PostgreSQL a scan does not wait
  for it at all: docs/deployment.md);
- access events are counted per gate, local day (``TIMEZONE``), direction and decision into
  ``GateDailyCount`` from the rows the ``DELETE`` returned, in its transaction, so a purge cut
  short, run twice or twice at the same moment never counts an event twice: that count is all
  that is kept of them;
- a guard's decision or a second reading (``AccessEvent.parent_id``) goes with its scan, a fever
  alert with its event, a visitor's invitation with its visit; a visit stays while an event that
  is kept points at it;
- each run is recorded per street (``PurgeRun``: when, the cutoff, what went), and the office's
  retention page shows the last one.

Running it again deletes nothing more: it is safe from cron or a systemd timer
(docs/deployment.md). PostgreSQL and SQLite alike: ``DELETE ... WHERE id IN (...)`` (with
``RETURNING`` for the events), the ids read first through the indexes.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    ARRAY,
    Integer,
    and_,
    any_,
    case,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from .. import partitions
from ..domain.decision import Decision, Direction
from ..domain.invitations import INVITE_DAYS_AHEAD
from ..extensions import db
from ..models import (
    AccessEvent,
    Alert,
    AuditEntry,
    Building,
    Community,
    Compound,
    DoorAlarm,
    DoorSensor,
    Gate,
    GateDailyCount,
    Household,
    PurgeRun,
    ScanDecision,
    ScanRequest,
    ScreeningList,
    ScreeningRow,
    SensorEvent,
    Street,
    User,
    Visit,
    VisitInvite,
)
from . import audit, scope
from .errors import Forbidden, NotFound

# What a run deletes, in the order it deletes them (rows that point at others go first).
TABLES = (
    "alert",
    "access_event",
    "visit_invite",
    "visit",
    "screening_row",
    "screening_list",
    "door_alarm",
    "sensor_event",
    "audit_entry",
)
# Between two batches on SQLite (one writer at a time): long enough for a scan waiting on the
# lock (its busy handler retries after 1, 2, 5, 10 ms) to get in before the next batch.
SQLITE_PAUSE_SECONDS = 0.01
COUNT_DAYS = 30  # the retention page shows the daily counts of the latest days kept

_EVENTS = AccessEvent.__table__
_ALERTS = Alert.__table__
_VISITS = Visit.__table__
_INVITES = VisitInvite.__table__
_ROWS = ScreeningRow.__table__
_LISTS = ScreeningList.__table__
_ALARMS = DoorAlarm.__table__
_SENSOR_EVENTS = SensorEvent.__table__
_AUDIT = AuditEntry.__table__
_COUNTS = GateDailyCount.__table__
_DECISIONS = ScanDecision.__table__
_REQUESTS = ScanRequest.__table__


# --- the purge ----------------------------------------------------------------------------------


@dataclass
class _Street:
    """One street's run: its cutoff, and its communities, compounds and gates (subqueries)."""

    street: Street
    cutoff: datetime
    community_ids: object
    compound_ids: object
    gate_ids: object
    run: PurgeRun
    deleted: Counter = field(default_factory=Counter)


def purge(
    now: datetime,
    *,
    batch_size: int | None = None,
    street_id: int | None = None,
    dry_run: bool = False,
) -> list[PurgeRun]:
    """Delete what every street (or one) keeps no longer; one ``PurgeRun`` per street, newest
    counts in ``deleted`` (``deleted_counts(run)``). ``dry_run`` counts what would go, deletes
    and records nothing (its runs are not saved)."""
    batch = batch_size or current_app.config["PURGE_BATCH_SIZE"]
    if batch < 1:
        raise ValueError("batch_size must be at least 1")
    audit_cutoff = now - timedelta(days=current_app.config["AUDIT_RETENTION_DAYS"])
    stmt = select(Street).order_by(Street.id)
    if street_id is not None:
        stmt = stmt.where(Street.id == street_id)
    streets = list(db.session.scalars(stmt))
    pause = SQLITE_PAUSE_SECONDS if db.engine.dialect.name == "sqlite" else 0
    if not dry_run:
        _weeks_ahead(now)
    dropped = Counter() if dry_run or street_id is not None else _drop_weeks(now)
    visits_dropped = {} if dry_run or street_id is not None else _drop_visit_weeks(now)
    runs = []
    for street in streets:
        clock = time.monotonic()
        one = _prepare(street, now, dry_run)
        if dropped[street.id]:
            one.deleted["access_event"] += dropped[street.id]
        for name, n in visits_dropped.get(street.id, {}).items():
            one.deleted[name] += n
        purger = _Purger(one, batch, dry_run, pause)
        purger.alerts()
        purger.events()
        purger.visits()
        purger.screening()
        purger.sensors()
        purger.audit(and_(_AUDIT.c.community_id.in_(one.community_ids), _AUDIT.c.at < audit_cutoff))
        if street is streets[0]:
            # Entries of no community (a street-wide change): once per run, with the first street.
            purger.audit(and_(_AUDIT.c.community_id.is_(None), _AUDIT.c.at < audit_cutoff))
        purger.finish(now + timedelta(seconds=time.monotonic() - clock))
        runs.append(one.run)
    return runs


def _weeks_ahead(now: datetime) -> None:
    """PostgreSQL: the coming weeks' partitions of the access log and the visits, made where missing (the
    default partition catches the rest meanwhile); tried again next run if a lock is busy."""
    if db.engine.dialect.name != "postgresql":
        return  # SQLite keeps one table of each
    for partitioned in partitions.TABLES:
        try:
            with db.engine.begin() as conn:
                partitions.ensure(conn, now, table=partitioned)
        except OperationalError:
            pass


def _drop_weeks(now: datetime) -> Counter:
    """PostgreSQL: drop the weekly partitions of the access log (kiosk/partitions.py) that
    ended before every street's cutoff, each in one short transaction after counting its
    events into the daily counts and deleting what points at them: alerts, the unique keys
    kept beside the log, and decisions or readings on them that fell in a later week. A week
    whose lock is not had at once is left to the batched deletes. Events dropped, per street.
    """
    dropped: Counter = Counter()
    longest = db.session.scalar(select(func.max(Street.retention_days)))
    if longest is None:
        return dropped
    cutoff = now - timedelta(days=longest)
    with db.engine.connect() as conn:
        weeks = [w for w in partitions.weeks(conn) if w[2] <= cutoff]
    tz = current_app.config["TZ"].key
    for name, lo, hi in weeks:
        week = select(table(name, column("id")).c.id)  # a name read from the catalog
        partitions.lock(db.session.connection())
        if not partitions.exists(db.session.connection(), name):
            db.session.rollback()
            continue  # a purge running at the same moment dropped it
        try:
            counts = db.session.execute(
                text(
                    "SELECT c.street_id, e.gate_id, (e.occurred_at AT TIME ZONE :tz)::date, "
                    f"e.direction, e.decision, count(*) FROM {name} e "
                    "JOIN gate g ON g.id = e.gate_id JOIN compound p ON p.id = g.compound_id "
                    "JOIN community c ON c.id = p.community_id GROUP BY 1, 2, 3, 4, 5"
                ),
                {"tz": tz},
            ).all()
            db.session.execute(
                delete(_ALERTS).where(
                    or_(_ALERTS.c.event_id.in_(week), _ALERTS.c.closed_by_event_id.in_(week))
                )
            )
            db.session.execute(delete(_DECISIONS).where(_DECISIONS.c.parent_id.in_(week)))
            db.session.execute(
                delete(_REQUESTS).where(_REQUESTS.c.occurred_at >= lo, _REQUESTS.c.occurred_at < hi)
            )
            later = list(_later_links(name, hi))
            _add_counts([row[1:] for row in later])
            partitions.drop_before(db.session.connection(), hi)
            _upsert_counts(Counter({tuple(row[1:5]): row[5] for row in counts}))
            db.session.commit()
        except OperationalError:  # the lock was not had at once: the batches will do it
            db.session.rollback()
            continue
        for street_id, *_key, n in counts:
            dropped[street_id] += n
        for street_id, *_row in later:
            dropped[street_id] += 1
    return dropped


def _drop_visit_weeks(now: datetime) -> dict[int, Counter]:
    """PostgreSQL: drop the weekly partitions of the visits that ended before every street's
    cutoff by more than an invitation's days ahead (a visit registered then was for a day
    before the cutoff too), unless a kept access event still points at one of their visits;
    their invitations go first. Visits and invitations dropped, per street."""
    dropped: dict[int, Counter] = {}
    longest = db.session.scalar(select(func.max(Street.retention_days)))
    if longest is None:
        return dropped
    cutoff = now - timedelta(days=longest + INVITE_DAYS_AHEAD + 1)
    with db.engine.connect() as conn:
        weeks = [w for w in partitions.weeks(conn, "visit") if w[2] <= cutoff]
    for name, _lo, hi in weeks:
        week = select(table(name, column("id")).c.id)  # a name read from the catalog
        partitions.lock(db.session.connection())
        if not partitions.exists(db.session.connection(), name):
            db.session.rollback()
            continue  # a purge running at the same moment dropped it
        if db.session.scalar(select(exists().where(_EVENTS.c.visit_id.in_(week)))):
            db.session.rollback()
            continue  # a visit of the week still has a kept passage: the batches will see
        try:
            counts = db.session.execute(
                text(
                    f"SELECT c.street_id, count(*) FROM {name} v "
                    "JOIN compound p ON p.id = v.compound_id "
                    "JOIN community c ON c.id = p.community_id GROUP BY 1"
                )
            ).all()
            invites = db.session.execute(
                delete(_INVITES)
                .where(_INVITES.c.visit_id.in_(week))
                .returning(_INVITES.c.household_id)
            ).all()
            partitions.drop_before(db.session.connection(), hi, "visit")
            db.session.commit()
        except OperationalError:  # the lock was not had at once: the batches will do it
            db.session.rollback()
            continue
        for street_id, n in counts:
            dropped.setdefault(street_id, Counter())["visit"] += n
        if invites:
            streets = dict(
                db.session.execute(
                    select(Household.id, Community.street_id)
                    .join(Building, Building.id == Household.building_id)
                    .join(Compound, Compound.id == Building.compound_id)
                    .join(Community, Community.id == Compound.community_id)
                    .where(Household.id.in_({i[0] for i in invites}))
                ).all()
            )
            for (household_id,) in invites:
                dropped.setdefault(streets[household_id], Counter())["visit_invite"] += 1
    return dropped


def _later_links(week: str, end: datetime):
    """Delete the decisions and second readings, in later weeks, on a week's events (and
    theirs): rows (street, gate, moment, direction, decision)."""
    on = _EVENTS.c.parent_id.in_(select(table(week, column("id")).c.id))
    while True:
        rows = db.session.execute(
            delete(_EVENTS)
            .where(on, _EVENTS.c.occurred_at >= end)
            .returning(
                _EVENTS.c.id,
                _EVENTS.c.gate_id,
                _EVENTS.c.occurred_at,
                _EVENTS.c.direction,
                _EVENTS.c.decision,
            )
        ).all()
        if not rows:
            return
        ids = [r[0] for r in rows]
        db.session.execute(
            delete(_ALERTS).where(
                or_(_one_of(_ALERTS.c.event_id, ids), _one_of(_ALERTS.c.closed_by_event_id, ids))
            )
        )
        db.session.execute(delete(_DECISIONS).where(_one_of(_DECISIONS.c.parent_id, ids)))
        streets = dict(
            db.session.execute(
                select(Gate.id, Community.street_id)
                .join(Compound, Compound.id == Gate.compound_id)
                .join(Community, Community.id == Compound.community_id)
                .where(Gate.id.in_({r[1] for r in rows}))
            ).all()
        )
        yield from ((streets[r[1]], *r[1:]) for r in rows)
        on = _one_of(_EVENTS.c.parent_id, ids)


def deleted_counts(run: PurgeRun) -> dict[str, int]:
    """What a run deleted: table -> rows, every table of ``TABLES`` (0 when none)."""
    found = json.loads(run.deleted or "{}")
    return {t: int(found.get(t, 0)) for t in TABLES}


def _prepare(street: Street, now: datetime, dry_run: bool) -> _Street:
    cutoff = now - timedelta(days=street.retention_days)
    community_ids = select(Community.id).where(Community.street_id == street.id)
    compound_ids = select(Compound.id).where(Compound.community_id.in_(community_ids))
    gate_ids = select(Gate.id).where(Gate.compound_id.in_(compound_ids))
    run = PurgeRun(
        street_id=street.id,
        started_at=now,
        cutoff=cutoff,
        retention_days=street.retention_days,
        deleted=json.dumps(dict.fromkeys(TABLES, 0)),
    )
    if not dry_run:
        db.session.add(run)  # seen as started (not finished) while it runs
        db.session.commit()
    return _Street(street, cutoff, community_ids, compound_ids, gate_ids, run)


class _Purger:
    """One street's deletions, batch by batch; a dry run counts instead."""

    def __init__(self, one: _Street, batch: int, dry_run: bool, pause: float):
        self.one = one
        self.batch = batch
        self.dry_run = dry_run
        self.pause = pause

    # Each batch is one transaction: the statements, the run's counts so far, commit.

    def _commit(self, table: str, rows: int) -> None:
        self.one.deleted[table] += rows
        self.one.run.deleted = json.dumps({t: self.one.deleted[t] for t in TABLES})
        db.session.commit()
        if self.pause:
            time.sleep(self.pause)

    def _drain(self, table, where, name: str, before: Callable[[list[int]], None] | None = None):
        """Delete the rows of ``table`` that match ``where``, a batch at a time (``before``
        deletes what points at a batch, in its transaction); a dry run counts them. A batch is
        any ``batch`` of them (no order: the database stops at the first it finds)."""
        if self.dry_run:
            count = db.session.scalar(select(func.count()).select_from(table).where(where))
            self.one.deleted[name] += count
            return
        while True:
            if before is None:
                batch = select(table.c.id).where(where).limit(self.batch)
                rows = db.session.execute(delete(table).where(table.c.id.in_(batch))).rowcount
                if not rows:
                    db.session.rollback()
                    return
            else:
                ids = list(db.session.scalars(select(table.c.id).where(where).limit(self.batch)))
                if not ids:
                    db.session.rollback()
                    return
                before(ids)
                rows = db.session.execute(delete(table).where(_one_of(table.c.id, ids))).rowcount
            self._commit(name, rows)

    def alerts(self) -> None:
        """Fever alerts older than the cutoff (those of younger events go with their events)."""
        one = self.one
        old = and_(_ALERTS.c.community_id.in_(one.community_ids), _ALERTS.c.created_at < one.cutoff)
        if self.dry_run:
            doomed = select(self._doomed().c.id)
            old = or_(old, _ALERTS.c.event_id.in_(doomed), _ALERTS.c.closed_by_event_id.in_(doomed))
        self._drain(_ALERTS, old, "alert")

    def events(self) -> None:
        """Access events older than the cutoff with what points at them, counted per gate and
        local day into ``GateDailyCount`` in the transaction that deletes them.

        A batch is the ``batch`` oldest old events (to the time of the last of them, read on the
        time index) and, recursively, the guards' decisions and second readings on them however
        young: their ids are read once, then what points at them is deleted, then the events,
        whose rows as deleted are added to the counts."""
        if self.dry_run:
            doomed = select(self._doomed().c.id)
            self._drain(_EVENTS, _EVENTS.c.id.in_(doomed), "access_event")
            return
        # After the first batch, from the last batch's time on, not from the start of the time
        # index again: on PostgreSQL its first entries are the rows just deleted, dead until a
        # vacuum, and each batch would step over all of them.
        floor = None
        while True:
            last = db.session.scalar(
                select(_EVENTS.c.occurred_at)
                .where(self._window(floor))
                .order_by(_EVENTS.c.occurred_at)
                .offset(self.batch - 1)
                .limit(1)
            )
            ids = list(db.session.scalars(select(self._doomed(floor, last).c.id)))
            if not ids:
                db.session.rollback()
                return
            for link in (_ALERTS.c.event_id, _ALERTS.c.closed_by_event_id):
                self.one.deleted["alert"] += db.session.execute(
                    delete(_ALERTS).where(_one_of(link, ids))
                ).rowcount
            # The unique keys kept beside the log (a guard's one decision, a device's request
            # ids: services/gatelog.py) go with their events.
            db.session.execute(delete(_DECISIONS).where(_one_of(_DECISIONS.c.parent_id, ids)))
            db.session.execute(
                delete(_REQUESTS).where(
                    tuple_(_REQUESTS.c.device_id, _REQUESTS.c.request_id).in_(
                        select(_EVENTS.c.device_id, _EVENTS.c.request_id).where(
                            _one_of(_EVENTS.c.id, ids), _EVENTS.c.request_id.is_not(None)
                        )
                    )
                )
            )
            # Counted from the rows this statement deleted: a purge running at the same moment
            # (that deleted them first) makes it count nothing, never twice.
            gone = db.session.execute(
                delete(_EVENTS)
                .where(_one_of(_EVENTS.c.id, ids))
                .returning(
                    _EVENTS.c.gate_id,
                    _EVENTS.c.occurred_at,
                    _EVENTS.c.direction,
                    _EVENTS.c.decision,
                )
            ).all()
            floor = last if last is not None else floor
            if not gone:  # another purge took this batch first
                db.session.rollback()
                continue
            _add_counts(gone)
            self._commit("access_event", len(gone))

    def _window(self, floor: datetime | None = None, last: datetime | None = None):
        """The street's events older than the cutoff, after ``floor`` and up to ``last`` (older
        than the cutoff: then the only upper bound, so the index range read is short)."""
        found = [
            _EVENTS.c.gate_id.in_(self.one.gate_ids),
            _EVENTS.c.occurred_at <= last
            if last is not None
            else _EVENTS.c.occurred_at < self.one.cutoff,
        ]
        if floor is not None:
            found.append(_EVENTS.c.occurred_at > floor)
        return and_(*found)

    def _doomed(self, floor: datetime | None = None, last: datetime | None = None):
        """The ids of the events that go (of a batch: from ``floor`` to ``last``), with the
        decisions and readings that point at them, and theirs: a recursive CTE."""
        start = select(_EVENTS.c.id).where(self._window(floor, last))
        doomed = start.cte("doomed", recursive=True, nesting=True)
        child = _EVENTS.alias("child")
        return doomed.union(select(child.c.id).join(doomed, child.c.parent_id == doomed.c.id))

    def visits(self) -> None:
        """Visits registered before the cutoff (and not for a later day) that no kept event
        points at, with their invitations."""
        one = self.one
        kept_event = exists().where(_EVENTS.c.visit_id == _VISITS.c.id)
        if self.dry_run:
            kept_event = kept_event.where(_EVENTS.c.id.not_in(select(self._doomed().c.id)))
        cutoff_day = one.cutoff.astimezone(current_app.config["TZ"]).date()
        old = and_(
            _VISITS.c.compound_id.in_(one.compound_ids),
            _VISITS.c.created_at < one.cutoff,
            or_(_VISITS.c.valid_on.is_(None), _VISITS.c.valid_on < cutoff_day),
            ~kept_event,
        )
        if self.dry_run:
            self._drain(
                _INVITES, _INVITES.c.visit_id.in_(select(_VISITS.c.id).where(old)), "visit_invite"
            )
            self._drain(_VISITS, old, "visit")
            return

        def invites(ids: list[int]) -> None:
            rows = db.session.execute(delete(_INVITES).where(_one_of(_INVITES.c.visit_id, ids)))
            self.one.deleted["visit_invite"] += rows.rowcount

        self._drain(_VISITS, old, "visit", before=invites)

    def screening(self) -> None:
        """Screening lists made before the cutoff, their rows first."""
        one = self.one
        old_list = and_(
            _LISTS.c.community_id.in_(one.community_ids), _LISTS.c.created_at < one.cutoff
        )
        self._drain(
            _ROWS, _ROWS.c.list_id.in_(select(_LISTS.c.id).where(old_list)), "screening_row"
        )
        self._drain(_LISTS, old_list, "screening_list")

    def sensors(self) -> None:
        """Door alarms raised and sensor events received before the cutoff (no person in them,
        and no reason to keep them); an event stays while a kept alarm points at it."""
        one = self.one
        old_alarm = and_(
            _ALARMS.c.community_id.in_(one.community_ids), _ALARMS.c.raised_at < one.cutoff
        )
        self._drain(_ALARMS, old_alarm, "door_alarm")
        kept_alarm = exists().where(_ALARMS.c.sensor_event_id == _SENSOR_EVENTS.c.id)
        if self.dry_run:
            kept_alarm = kept_alarm.where(~old_alarm)
        sensors = select(DoorSensor.id).where(DoorSensor.community_id.in_(one.community_ids))
        old_event = and_(
            _SENSOR_EVENTS.c.sensor_id.in_(sensors),
            _SENSOR_EVENTS.c.received_at < one.cutoff,
            ~kept_alarm,
        )
        self._drain(_SENSOR_EVENTS, old_event, "sensor_event")

    def audit(self, where) -> None:
        """Audit entries older than the audit trail's own period."""
        self._drain(_AUDIT, where, "audit_entry")

    def finish(self, finished_at: datetime) -> None:
        run = self.one.run
        run.deleted = json.dumps({t: self.one.deleted[t] for t in TABLES})
        run.finished_at = finished_at
        if not self.dry_run:
            db.session.commit()


def _one_of(column, ids: list[int]):
    """``column IN ids`` as one parameter, however many ids: a JSON array on SQLite, an array
    on PostgreSQL. The statement stays the same (no placeholder per id to build each time) and
    both engines look the ids up on the column's index."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(ids))))


def _add_counts(rows) -> None:
    """Add events (gate, moment, direction, decision) to the kept daily counts: an upsert, so
    a count is made once per (gate, local day, direction, decision) and then added to."""
    tz = current_app.config["TZ"]
    counts: Counter = Counter()
    for gate_id, occurred_at, direction, decision in rows:
        counts[gate_id, occurred_at.astimezone(tz).date(), direction, decision] += 1
    _upsert_counts(counts)


def _upsert_counts(counts: Counter) -> None:
    """Add (gate, local day, direction, decision) -> events to the kept daily counts."""
    if not counts:
        return
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(_COUNTS)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_COUNTS.c.gate_id, _COUNTS.c.day, _COUNTS.c.direction, _COUNTS.c.decision],
        set_={"count": _COUNTS.c.count + stmt.excluded["count"]},
    )
    db.session.execute(
        stmt,
        [
            {"gate_id": g, "day": d, "direction": di, "decision": de, "count": n}
            for (g, d, di, de), n in sorted(counts.items())
        ],
    )


# --- the office's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    """What is kept of a gate's purged events on one local day."""

    day: date
    gate_id: int
    compound: str
    gate: str
    entries: int  # allowed in
    exits: int  # allowed out
    denied: int
    referred: int


@dataclass(frozen=True)
class Overview:
    street_id: int
    street: str
    retention_days: int
    audit_days: int
    can_change: bool  # a street user may change the street's period; an office user sees it
    last_run: PurgeRun | None
    last_deleted: dict[str, int]
    counts: list[DayCount]


def _street_of(actor: User) -> Street:
    scope.require_role(actor, scope.MANAGERS)
    if actor.role == "street":
        street_id = actor.street_id
    else:
        street_id = db.session.scalar(
            select(Community.street_id).where(Community.id == actor.community_id)
        )
    street = db.session.get(Street, street_id) if street_id is not None else None
    if street is None:
        raise NotFound()
    return street


def overview(actor: User) -> Overview:
    """The retention page: the period of the actor's street, the audit trail's, the street's
    last purge run and the daily counts kept for the gates the actor reaches."""
    street = _street_of(actor)
    last = db.session.scalar(
        select(PurgeRun)
        .where(PurgeRun.street_id == street.id)
        .order_by(PurgeRun.started_at.desc(), PurgeRun.id.desc())
        .limit(1)
    )
    return Overview(
        street_id=street.id,
        street=street.name,
        retention_days=street.retention_days,
        audit_days=current_app.config["AUDIT_RETENTION_DAYS"],
        can_change=actor.role == "street",
        last_run=last,
        last_deleted=deleted_counts(last) if last is not None else {},
        counts=daily_counts(scope.community_ids(actor)),
    )


def daily_counts(community_ids: list[int], days: int = COUNT_DAYS) -> list[DayCount]:
    """The kept counts of the latest ``days`` days that have any, newest day first, per gate of
    these communities."""
    in_scope = (
        select(GateDailyCount.day)
        .join(Gate, Gate.id == GateDailyCount.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(community_ids))
    )
    latest = list(
        db.session.scalars(in_scope.distinct().order_by(GateDailyCount.day.desc()).limit(days))
    )
    if not latest:
        return []

    def total(direction: str | None, decision: str):
        match = GateDailyCount.decision == decision
        if direction is not None:
            match = and_(match, GateDailyCount.direction == direction)
        return func.sum(case((match, GateDailyCount.count), else_=0))

    rows = db.session.execute(
        select(
            GateDailyCount.day,
            Gate.id,
            Compound.name,
            Gate.name,
            total(Direction.IN.value, Decision.ALLOW.value),
            total(Direction.OUT.value, Decision.ALLOW.value),
            total(None, Decision.DENY.value),
            total(None, Decision.REFER.value),
        )
        .join(Gate, Gate.id == GateDailyCount.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(community_ids), GateDailyCount.day >= latest[-1])
        .group_by(GateDailyCount.day, Gate.id, Compound.name, Gate.name)
        .order_by(GateDailyCount.day.desc(), Compound.name, Gate.name)
    )
    return [DayCount(*(int(v) if i >= 4 else v for i, v in enumerate(r))) for r in rows]


def set_retention_days(actor: User, days: int) -> Street:
    """A street user sets the street's retention period (the form, ``RetentionForm``, has
    checked the number); an office user may not."""
    street = _street_of(actor)
    if actor.role != "street":
        raise Forbidden()
    before = street.retention_days
    street.retention_days = days
    # In the actor's own community's trail (a street user may have none: the street's first).
    community_id = actor.community_id or db.session.scalar(
        select(func.min(Community.id)).where(Community.street_id == street.id)
    )
    audit.record(
        actor,
        "street.retention",
        "street",
        street.id,
        community_id,
        before=before,
        after=days,
    )
    db.session.commit()
    return street
