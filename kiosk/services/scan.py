"""The hot path: one scan at a gate, from the scanned text to a logged decision.

The code's signature is checked before the database is touched. Then a single SELECT loads the
device, its gate and compound, the pass and its holder's household and building, the pass's last
allowed direction and any earlier answer to the same request id; exemption passes need one more.
One INSERT logs the event. Core statements, not ORM objects: see docs/performance.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ..domain import passcodes
from ..domain.decision import (
    Direction,
    Outcome,
    PassFacts,
    PassKind,
    ScanFacts,
    SealState,
    TestOutcome,
    decide,
)
from ..domain.people import mask_name
from ..extensions import db
from ..models import (
    AccessEvent,
    Alert,
    Building,
    Compound,
    Device,
    Gate,
    Household,
    Pass,
    Resident,
    TestResult,
    Visit,
    utcnow,
)
from . import security, validate
from .errors import Invalid, Unauthorized


@dataclass(frozen=True)
class Holder:
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


_last_allowed_direction = (
    select(AccessEvent.direction)
    .where(AccessEvent.pass_id == Pass.id, AccessEvent.decision == "allow")
    .order_by(AccessEvent.id.desc())
    .limit(1)
    .scalar_subquery()
)

_FACTS = (
    select(
        Device.id.label("device_id"),
        Gate.id.label("gate_id"),
        Gate.is_open,
        Gate.compound_id,
        Compound.seal_state.label("compound_seal"),
        Compound.temperature_required,
        Compound.fever_threshold,
        Pass.id.label("pass_id"),
        Pass.kind,
        Pass.valid_from,
        Pass.valid_until,
        Pass.revoked_at,
        Pass.negative_test_within_hours,
        Resident.id.label("resident_id"),
        Resident.name,
        Household.unit,
        Household.observation_until,
        Building.name.label("building_name"),
        Building.seal_state.label("building_seal"),
        Building.compound_id.label("holder_compound_id"),
        _last_allowed_direction.label("last_direction"),
        select(AccessEvent.id)
        .where(AccessEvent.device_id == Device.id, AccessEvent.request_id == db.bindparam("rid"))
        .scalar_subquery()
        .label("replay_id"),
    )
    .select_from(Device)
    .join(Gate, Gate.id == Device.gate_id)
    .join(Compound, Compound.id == Gate.compound_id)
    .outerjoin(Pass, Pass.id == db.bindparam("pid"))
    .outerjoin(Resident, Resident.id == Pass.resident_id)
    .outerjoin(Household, Household.id == Resident.household_id)
    .outerjoin(Building, Building.id == Household.building_id)
    .where(Device.token_hash == db.bindparam("token_hash"), Device.revoked_at.is_(None))
)

_EXEMPTION_USES = select(
    func.count().filter(AccessEvent.direction == "out"),
    func.count().filter(AccessEvent.direction == "in"),
).where(AccessEvent.pass_id == db.bindparam("pid"), AccessEvent.decision == "allow")

_LATEST_TEST = (
    select(TestResult.taken_at, TestResult.result)
    .where(
        TestResult.resident_id == db.bindparam("resident_id"),
        TestResult.taken_at <= db.bindparam("now"),
    )
    .order_by(TestResult.taken_at.desc())
    .limit(1)
)


# Built once: building an INSERT per request cost about half of a scan's CPU.
_INSERT_EVENT = insert(AccessEvent.__table__).returning(AccessEvent.__table__.c.id)


def clean_request_id(value: object) -> str | None:
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str)
        or len(value) > 64
        or not value.isascii()
        or not value.isprintable()
    ):
        raise Invalid(_l("request_id: at most 64 printable ASCII characters."), field="request_id")
    return value


SEEN_AT_MAX_AGE = timedelta(minutes=15)


def clean_seen_at(value: object, now: datetime | None = None) -> datetime | None:
    """A tablet's reading time (Unix milliseconds), kept only if it is within the last 15 minutes:
    long enough to bridge an outage, too short to make an old screenshot useful."""
    if not isinstance(value, str) or not value.isdigit() or len(value) > 15:
        return None
    now = now or utcnow()
    seen = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    if not now - SEEN_AT_MAX_AGE <= seen <= now + timedelta(seconds=5):
        return None
    return min(seen, now)


def clean_direction(value: object) -> Direction:
    if value not in ("in", "out"):
        raise Invalid(_l("direction: must be in or out."), field="direction")
    return Direction(value)


def scan(
    device_token: str,
    code: object,
    direction: object,
    temperature: object = None,
    request_id: object = None,
    guard_id: int | None = None,
    now: datetime | None = None,
    code_seen_at: datetime | None = None,
) -> ScanResult:
    """Decide and log one scan. A repeated request id returns the first answer, logging nothing.

    ``code_seen_at``: when an enrolled tablet read the code, for a scan it had to queue while the
    server was unreachable; the rotating code is checked against that moment (see
    ``clean_seen_at`` for the bounds), everything else against now.
    """
    dir_ = clean_direction(direction)
    temp = validate.temperature(temperature)
    rid = clean_request_id(request_id)
    now = now or utcnow()
    cfg = current_app.config
    verified = passcodes.verify(
        cfg["PASS_KEYRING"], code, now.timestamp(), cfg["PASS_STEP_SECONDS"]
    )
    if verified is None and code_seen_at is not None and code_seen_at < now:
        # Checked at now first, so a tablet whose clock is off never spoils a live scan.
        verified = passcodes.verify(
            cfg["PASS_KEYRING"], code, code_seen_at.timestamp(), cfg["PASS_STEP_SECONDS"]
        )
    # A signed id beyond the integer keys names nothing (and PostgreSQL refuses to compare it).
    pass_id = verified.pass_id if verified is not None and verified.pass_id <= 2**31 - 1 else None
    if verified is not None and verified.form == passcodes.VISITOR and pass_id is not None:
        from . import visitors  # the visitor flow has its own rules

        return visitors.scan_code(device_token, pass_id, dir_, temp, rid, guard_id, now)
    return decide_and_log(
        device_token,
        pass_id,
        verified.form if verified else None,
        dir_,
        temp,
        rid,
        guard_id,
        now,
        code_valid=verified is not None,
    )


def decide_and_log(
    device_token: str,
    pass_id: int | None,
    form: str | None,
    dir_: Direction,
    temp: float | None,
    rid: str | None,
    guard_id: int | None,
    now: datetime,
    code_valid: bool = True,
    manual: bool = False,
    parent_id: int | None = None,
) -> ScanResult:
    """Load the facts for a pass at the device's gate, decide, log. ``form`` None skips the
    code-form check (a manual look-up or a second reading of a scan that was verified)."""
    params = {"token_hash": security.token_hash(device_token), "pid": pass_id, "rid": rid}
    # Core on a pooled connection of its own, not the ORM session: the session's statement
    # handling and commit bookkeeping were a third of a scan's CPU (docs/performance.md).
    with db.engine.connect() as conn:
        row = conn.execute(_FACTS, params).first()
        if row is None:
            raise Unauthorized(
                _l("This device is not enrolled or has been revoked."), code="bad_device"
            )
        replay_id = row.replay_id
        if replay_id is None:
            pass_ok = code_valid and row.pass_id is not None
            if (
                pass_ok
                and form is not None
                and (form == passcodes.ROTATING) != (row.kind == "resident")
            ):
                # A code form that does not fit the pass kind was never issued: a forgery.
                pass_ok = code_valid = False
            outcome = decide(_facts(conn, row, code_valid, pass_ok, dir_, temp, now))
            event_id = _log(
                conn, row, outcome, dir_, temp, rid, guard_id, manual, now, pass_ok, parent_id
            )
            if event_id is None:  # a concurrent retry with the same request id won the race
                replay_id = conn.execute(
                    select(AccessEvent.id).where(
                        AccessEvent.device_id == row.device_id, AccessEvent.request_id == rid
                    )
                ).scalar()
    if replay_id is not None:
        return replay(replay_id)
    holder = Holder(mask_name(row.name), row.building_name, row.unit, row.kind) if pass_ok else None
    return ScanResult(outcome.decision.value, outcome.reasons, event_id, holder, now)


def _facts(
    conn, row, code_valid: bool, pass_ok: bool, dir_: Direction, temp, now: datetime
) -> ScanFacts:
    base = dict(
        now=now,
        direction=dir_,
        gate_open=row.is_open,
        compound_seal=SealState(row.compound_seal),
        temperature=temp,
        temperature_required=row.temperature_required,
        fever_threshold=row.fever_threshold,
    )
    if not code_valid:
        return ScanFacts(code_valid=False, **base)
    if not pass_ok:
        return ScanFacts(pass_=None, **base)
    exits = returns = 0
    test_at = test_outcome = None
    if row.kind == "exemption":
        exits, returns = conn.execute(_EXEMPTION_USES, {"pid": row.pass_id}).one()
        if row.negative_test_within_hours is not None:
            test = conn.execute(_LATEST_TEST, {"resident_id": row.resident_id, "now": now}).first()
            if test is not None:
                test_at = test.taken_at
                test_outcome = TestOutcome(test.result)
    return ScanFacts(
        pass_=PassFacts(
            kind=PassKind(row.kind),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            revoked_at=row.revoked_at,
            negative_test_within_hours=row.negative_test_within_hours,
            allowed_exits=exits,
            allowed_returns=returns,
        ),
        same_compound=row.holder_compound_id == row.compound_id,
        building_seal=SealState(row.building_seal),
        observation_until=row.observation_until,
        last_direction=Direction(row.last_direction) if row.last_direction else None,
        latest_test_at=test_at,
        latest_test_outcome=test_outcome,
        **base,
    )


def _log(
    conn, row, outcome: Outcome, dir_, temp, rid, guard_id, manual, now, pass_ok, parent_id
) -> int | None:
    values = dict(
        occurred_at=now,
        gate_id=row.gate_id,
        device_id=row.device_id,
        user_id=guard_id,
        direction=dir_.value,
        pass_id=row.pass_id if pass_ok else None,
        resident_id=row.resident_id if pass_ok else None,
        temperature=temp,
        decision=outcome.decision.value,
        reasons=" ".join(outcome.reasons),
        request_id=rid,
        manual=manual,
        parent_id=parent_id,
    )
    try:
        event_id = conn.execute(_INSERT_EVENT, values).scalar_one()
        if "fever" in outcome.reasons:
            raise_fever_alert(row.gate_id, event_id, temp, now, conn)
        conn.commit()
    except IntegrityError:
        conn.rollback()
        if rid is None:
            raise
        return None
    return event_id


def replay(event_id: int) -> ScanResult:
    """The answer already given to a request id (a resident's scan or a visitor's)."""
    row = db.session.execute(
        select(
            AccessEvent,
            Pass.kind,
            func.coalesce(Resident.name, Visit.name),
            Household.unit,
            Building.name,
        )
        .outerjoin(Pass, Pass.id == AccessEvent.pass_id)
        .outerjoin(Resident, Resident.id == Pass.resident_id)
        .outerjoin(Visit, Visit.id == AccessEvent.visit_id)
        .outerjoin(
            Household,
            Household.id == func.coalesce(Resident.household_id, Visit.host_household_id),
        )
        .outerjoin(Building, Building.id == Household.building_id)
        .where(AccessEvent.id == event_id)
    ).one()
    event, kind, name, unit, building = row
    db.session.rollback()
    if event.visit_id is not None:
        kind = "visitor"
    holder = Holder(mask_name(name), building, unit, kind) if kind is not None else None
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


def raise_fever_alert(
    gate_id: int, event_id: int, temperature: float | None, now: datetime, conn=None
) -> None:
    """The office sees a fever at once; added to the caller's transaction (a connection, or
    the session by default)."""
    conn = conn if conn is not None else db.session
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
