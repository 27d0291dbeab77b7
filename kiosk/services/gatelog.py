"""The gate log: the one writer of access events, and its reads.

Every gate action (a scan, a manual look-up, a second reading, a guard's override, a visitor at
the gate) writes its event through ``write``; a repeated request id is answered by ``replay``;
a fever raises the office's alert in the same transaction. The tablet's panel reads occupancy
and the recent decisions from here too. Nothing else inserts into ``access_event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, cast, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from ..domain.decision import Direction, Outcome
from ..domain.people import mask_name
from ..extensions import db
from ..models import (
    AccessEvent,
    Alert,
    Building,
    Compound,
    Gate,
    Household,
    Pass,
    Resident,
    ScanDecision,
    ScanRequest,
    User,
    Visit,
)
from ..prepared import Prepared, Tx


@dataclass(frozen=True)
class Holder:
    """Only as much of a person as the guard needs."""

    display_name: str
    building: str | None
    unit: str | None
    pass_kind: str


@dataclass(frozen=True)
class ScanResult:
    decision: str
    reasons: tuple[str, ...]
    event_id: int
    holder: Holder | None
    occurred_at: datetime
    replayed: bool = False
    visit_id: int | None = None


@dataclass(frozen=True)
class Entry:
    """One line of the gate log, as every gate action writes it."""

    occurred_at: datetime
    gate_id: int
    device_id: int | None
    guard_id: int | None
    direction: Direction
    outcome: Outcome
    temperature: float | None = None
    request_id: str | None = None
    pass_id: int | None = None
    resident_id: int | None = None
    visit_id: int | None = None
    manual: bool = False
    parent_id: int | None = None
    override: bool = False
    override_reason: str | None = None
    note: str | None = None


# Built once (building an INSERT per request cost about half of a scan's CPU), compiled once per
# database and run on the driver's cursor (``kiosk.prepared``).
_EVENT_COLUMNS = (
    "occurred_at",
    "gate_id",
    "device_id",
    "user_id",
    "direction",
    "pass_id",
    "resident_id",
    "visit_id",
    "temperature",
    "decision",
    "reasons",
    "request_id",
    "manual",
    "parent_id",
    "override",
    "override_reason",
    "note",
)
_INSERT = Prepared(
    insert(AccessEvent.__table__).returning(AccessEvent.__table__.c.id), _EVENT_COLUMNS
)
_REQUEST = Prepared(
    insert(ScanRequest.__table__), ("device_id", "request_id", "event_id", "occurred_at")
)
_DECISION = Prepared(insert(ScanDecision.__table__), ("parent_id", "event_id", "occurred_at"))


@dataclass(frozen=True)
class Move:
    """An allowed passage moves the person: their state row changes with the event, if nobody
    changed it since ``seen_version`` was read (docs/concurrency.md)."""

    resident_id: int
    seen_version: int


_RESIDENT = Resident.__table__
# The guarantee: this matches no row when another passage of the person committed first.
_MOVE_STATEMENT = (
    update(_RESIDENT)
    .where(
        _RESIDENT.c.id == db.bindparam("move_id"),
        _RESIDENT.c.state_version == db.bindparam("seen_version"),
    )
    .values(presence=db.bindparam("presence"), state_version=_RESIDENT.c.state_version + 1)
)
_MOVE = Prepared(_MOVE_STATEMENT)


def _passage_statement(moving: bool):
    """PostgreSQL: the event and its request id (and with ``moving``, the move of the person)
    in one statement: one round trip instead of two or three, and atomic without a transaction
    (``prepared.Tx``). A moving event is inserted only if the person's row was moved (no row
    back: another gate moved them first). Every value is cast: a SELECT list gives no types."""
    events, requests = AccessEvent.__table__, ScanRequest.__table__

    def value(table, name: str):
        return cast(db.bindparam(name, type_=table.c[name].type), table.c[name].type)

    moved = _MOVE_STATEMENT.returning(_RESIDENT.c.id).cte("moved")
    source = select(*(value(events, c) for c in _EVENT_COLUMNS))
    event = (
        insert(events)
        .from_select(list(_EVENT_COLUMNS), source.select_from(moved) if moving else source)
        .returning(events.c.id, events.c.occurred_at)
        .cte("event")
    )
    request = (
        insert(requests)
        .from_select(
            ["device_id", "request_id", "event_id", "occurred_at"],
            select(
                value(requests, "device_id"),
                value(requests, "request_id"),
                event.c.id,
                event.c.occurred_at,
            ).where(value(requests, "request_id").is_not(None)),
        )
        .cte("request")
    )
    return select(event.c.id).add_cte(request)


_PASSAGE_PG = Prepared(_passage_statement(moving=True))
_EVENT_PG = Prepared(_passage_statement(moving=False))


def write(
    conn: Connection | Session, entry: Entry, move: Move | None = None, tx: Tx | None = None
) -> int | None:
    """Insert the event (and a fever alert) into the caller's transaction; the caller commits.

    With ``move``, the person's state row changes too; None when it had changed since it was
    read (nothing is written then: the caller rolls back and decides again).

    ``tx``: the gate path's unit of work on a ``prepared.connect()`` connection; it is begun
    here when the write takes more than one statement (on PostgreSQL the event, its request id
    and the move are one).

    A request id that this device has used already, or a second guard's decision on one scan,
    raises the unique key's ``IntegrityError``: the caller rolls back and answers with
    ``replay(answered(...))``.
    """
    values = dict(
        occurred_at=entry.occurred_at,
        gate_id=entry.gate_id,
        device_id=entry.device_id,
        user_id=entry.guard_id,
        direction=entry.direction.value,
        pass_id=entry.pass_id,
        resident_id=entry.resident_id,
        visit_id=entry.visit_id,
        temperature=entry.temperature,
        decision=entry.outcome.decision.value,
        reasons=" ".join(entry.outcome.reasons),
        request_id=entry.request_id,
        manual=entry.manual,
        parent_id=entry.parent_id,
        override=entry.override,
        override_reason=entry.override_reason,
        note=entry.note,
    )
    closes_alert = entry.parent_id is not None and not entry.override
    closes_alert = closes_alert and entry.temperature is not None
    if tx is not None and (entry.override or "fever" in entry.outcome.reasons or closes_alert):
        tx.begin()
    moving = move is not None and {
        "move_id": move.resident_id,
        "seen_version": move.seen_version,
        "presence": entry.direction.value,
    }
    if entry.device_id is not None and not entry.override and _dialect(conn) == "postgresql":
        if not moving:
            event_id = _EVENT_PG.execute(conn, values).scalar_one()
        else:
            row = _PASSAGE_PG.execute(conn, values | moving).first()
            if row is None:
                return None
            event_id = row.id
    else:
        if tx is not None:
            tx.begin()  # several statements: one transaction (on SQLite, the writers' turn)
        if moving and _MOVE.execute(conn, moving).rowcount != 1:
            return None
        event_id = _INSERT.execute(conn, values).scalar_one()
        # The unique keys that cannot live on a partitioned table (models.ScanRequest): a
        # repeated request id, or a second decision on one scan, fails here and the caller
        # rolls back.
        if entry.request_id is not None and entry.device_id is not None:
            _REQUEST.execute(
                conn,
                dict(
                    device_id=entry.device_id,
                    request_id=entry.request_id,
                    event_id=event_id,
                    occurred_at=entry.occurred_at,
                ),
            ).close()
    if entry.override:
        _DECISION.execute(
            conn,
            dict(parent_id=entry.parent_id, event_id=event_id, occurred_at=entry.occurred_at),
        ).close()
    if "fever" in entry.outcome.reasons:
        _fever_alert(conn, entry.gate_id, event_id, entry.temperature, entry.occurred_at)
    elif closes_alert:
        # A second reading below the threshold: the alert of the first is closed with it.
        conn.execute(
            update(Alert)
            .where(Alert.event_id == entry.parent_id, Alert.acknowledged_at.is_(None))
            .values(acknowledged_at=entry.occurred_at, closed_by_event_id=event_id)
        )
    return event_id


def _dialect(conn) -> str:
    return conn.dialect.name if isinstance(conn, Connection) else conn.get_bind().dialect.name


def _fever_alert(conn, gate_id: int, event_id: int, temperature, now: datetime) -> None:
    """The office sees a fever at once."""
    community_id = conn.scalar(
        select(Compound.community_id)
        .join(Gate, Gate.compound_id == Compound.id)
        .where(Gate.id == gate_id)
    )
    conn.execute(
        insert(Alert).values(
            community_id=community_id,
            gate_id=gate_id,
            event_id=event_id,
            kind="fever",
            temperature=temperature,
            created_at=now,
        )
    )


def answered(conn: Connection | Session, device_id: int, request_id: str | None) -> int | None:
    """The event that already answered this request id from this device, if any."""
    if request_id is None:
        return None
    return conn.scalar(
        select(ScanRequest.event_id).where(
            ScanRequest.device_id == device_id, ScanRequest.request_id == request_id
        )
    )


HOLDER_NAME = func.coalesce(Resident.name, Visit.name)


def with_holder(stmt):
    """Join an access event's holder: the resident or the visitor, and the household (the
    resident's, or the one the visitor came to) with its building. ``HOLDER_NAME`` is the name."""
    return (
        stmt.outerjoin(Resident, Resident.id == AccessEvent.resident_id)
        .outerjoin(Visit, Visit.id == AccessEvent.visit_id)
        .outerjoin(
            Household,
            Household.id == func.coalesce(Resident.household_id, Visit.host_household_id),
        )
        .outerjoin(Building, Building.id == Household.building_id)
    )


def replay(event_id: int) -> ScanResult:
    """The answer already given to an event (a resident's scan or a visitor's)."""
    row = db.session.execute(
        with_holder(
            select(
                AccessEvent,
                Pass.kind,
                HOLDER_NAME,
                Household.unit,
                Building.name,
                Building.compound_id == Gate.compound_id,
            )
            .join(Gate, Gate.id == AccessEvent.gate_id)
            .outerjoin(Pass, Pass.id == AccessEvent.pass_id)
        ).where(AccessEvent.id == event_id)
    ).one()
    event, kind, name, unit, building, ours = row
    db.session.rollback()
    if event.visit_id is not None:
        kind = "visitor"
    # As on the first answer: another compound's gate learns nothing about the holder.
    holder = Holder(mask_name(name), building, unit, kind) if kind is not None and ours else None
    reasons = tuple(event.reasons.split()) if event.reasons else ()
    return ScanResult(
        event.decision,
        reasons,
        event.id,
        holder,
        event.occurred_at,
        replayed=True,
        visit_id=event.visit_id,
    )


# --- reads for the tablet's panel -----------------------------------------------------------


def occupancy(compound_id: int) -> int:
    """People inside the compound now, per person: residents whose last allowed passage was an
    entry (their state row, at any gate), and visitors checked in and not yet out. A person let in
    twice counts once; one who came in yesterday still counts; a resident never scanned is not
    known to be inside."""
    residents = (
        select(func.count())
        .select_from(Resident)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Building.compound_id == compound_id, Resident.presence == Direction.IN.value)
        .scalar_subquery()
    )
    guests = (
        select(func.count())
        .select_from(Visit)
        .where(Visit.compound_id == compound_id, Visit.status == "inside")
        .scalar_subquery()
    )
    return db.session.execute(select(residents + guests)).scalar_one()


@dataclass(frozen=True)
class RecentDecision:
    event_id: int
    occurred_at: datetime
    direction: str
    decision: str
    reasons: tuple[str, ...]
    who: str
    override: bool
    manual: bool
    guard: str | None
    has_pass: bool = False  # a second reading needs the pass (visitors have none)


def recent(gate_id: int, limit: int = 10) -> list[RecentDecision]:
    """The last decisions at a gate, newest first, with only masked names."""
    return _decisions(AccessEvent.gate_id == gate_id, order=AccessEvent.id.desc(), limit=limit)


def _decisions(*where, order, limit: int) -> list[RecentDecision]:
    rows = db.session.execute(
        select(
            AccessEvent.id,
            AccessEvent.occurred_at,
            AccessEvent.direction,
            AccessEvent.decision,
            AccessEvent.reasons,
            func.coalesce(HOLDER_NAME, ""),
            AccessEvent.override,
            AccessEvent.manual,
            User.username,
            AccessEvent.pass_id.is_not(None),
        )
        .outerjoin(Resident, Resident.id == AccessEvent.resident_id)
        .outerjoin(Visit, Visit.id == AccessEvent.visit_id)
        .outerjoin(User, User.id == AccessEvent.user_id)
        .where(*where)
        .order_by(order)
        .limit(limit)
    ).all()
    return [
        RecentDecision(
            event_id=r[0],
            occurred_at=r[1],
            direction=r[2],
            decision=r[3],
            reasons=tuple(r[4].split()) if r[4] else (),
            who=mask_name(r[5]),
            override=r[6],
            manual=r[7],
            guard=r[8],
            has_pass=bool(r[9]),
        )
        for r in rows
    ]


_LATER = aliased(AccessEvent)


def still_open():
    """A referred scan nobody has answered: no guard's decision on it, and the person (or the
    visitor) has not been scanned since, at any gate. A clause on ``AccessEvent``."""
    return and_(
        AccessEvent.decision == "refer",
        ~exists().where(
            _LATER.id > AccessEvent.id,
            or_(
                _LATER.parent_id == AccessEvent.id,
                and_(
                    AccessEvent.resident_id.is_not(None),
                    _LATER.resident_id == AccessEvent.resident_id,
                ),
                and_(AccessEvent.visit_id.is_not(None), _LATER.visit_id == AccessEvent.visit_id),
            ),
        ),
    )


def pending(gate_id: int, since: datetime) -> list[RecentDecision]:
    """Referred scans at this gate since ``since`` that still wait for the guard, oldest first:
    dismissing the answer on the tablet does not make them go away."""
    return _decisions(
        AccessEvent.gate_id == gate_id,
        AccessEvent.occurred_at >= since,
        still_open(),
        order=AccessEvent.id,
        limit=20,
    )
