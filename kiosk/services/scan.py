"""Every gate action that decides for a person: a scanned code, a manual look-up, a second
temperature reading, and the guard's override of a referred scan.

The code's signature is checked before the database is touched. Then a single SELECT loads the
device, its gate and compound, the pass, its holder's state, household and building, and any
earlier answer to the same request id; exemption passes need one more, and so does a resident's
exit under an outing quota (``quota.household_exits``: the household is locked, then its exits
counted). The event is written by the gate log (``gatelog.write``).

Rules that count hold under concurrency (docs/concurrency.md): an allowed passage changes the
person's state row with one conditional UPDATE (``state_version`` as read). When another gate
changed it in between, the UPDATE matches no row, and the scan is decided again on the fresh
state: so the loser of a race is told ``already_inside`` or ``exemption_used``, never allowed
twice and never a 500. Core statements, not ORM objects: see docs/performance.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import prepared
from ..domain import passcodes
from ..domain.decision import (
    QUOTA_PASS_KINDS,
    Decision,
    Direction,
    Outcome,
    OverrideReason,
    PassFacts,
    PassKind,
    ScanFacts,
    SealState,
    TestOutcome,
    decide,
)
from ..domain.people import mask_name
from ..domain.reasons import BUSY
from ..extensions import db
from ..models import (
    MAX_ID,
    AccessEvent,
    Building,
    Compound,
    Device,
    Gate,
    Household,
    Pass,
    Resident,
    ScanRequest,
    ScreeningRow,
    SealSchedule,
    TestResult,
    User,
    utcnow,
)
from ..prepared import Prepared
from . import audit, gatelog, in_force, quota, security, visitors
from .errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from .gate import GateAction, GateContext, context, context_by_id
from .gatelog import Holder, ScanResult

# A scan that loses a race is decided again on the fresh state; one retry is what a race of two
# gates needs, the rest covers a burst at several gates at once.
MAX_ATTEMPTS = 4


_FACT_COLUMNS = (
    Device.id.label("device_id"),
    Gate.id.label("gate_id"),
    Gate.is_open,
    Gate.opens_at,
    Gate.closes_at,
    Gate.compound_id,
    Compound.seal_state.label("compound_seal"),
    Compound.temperature_required,
    Compound.fever_threshold,
    Compound.quota_exits,
    Compound.quota_days,
    Pass.id.label("pass_id"),
    Pass.kind,
    Pass.valid_from,
    Pass.valid_until,
    Pass.revoked_at,
    Pass.negative_test_within_hours,
    Resident.id.label("resident_id"),
    Resident.name,
    Resident.presence,
    Resident.state_version,
    Household.id.label("household_id"),
    Household.unit,
    Household.observation_until,
    Building.id.label("building_id"),
    Building.name.label("building_name"),
    Building.seal_state.label("building_seal"),
    Building.compound_id.label("holder_compound_id"),
    select(ScanRequest.event_id)
    .where(ScanRequest.device_id == Device.id, ScanRequest.request_id == db.bindparam("rid"))
    .scalar_subquery()
    .label("replay_id"),
    # Whether a scheduled seal of the gate's or the holder's compound is in force now: only
    # then is a second (small, indexed) query needed to find which (``_SCHEDULES``).
    select(SealSchedule.id)
    .where(
        SealSchedule.compound_id.in_((Compound.id, Building.compound_id)),
        SealSchedule.cancelled_at.is_(None),
        SealSchedule.starts_at <= db.bindparam("now"),
        or_(SealSchedule.ends_at.is_(None), SealSchedule.ends_at > db.bindparam("now")),
    )
    .exists()
    .label("scheduled"),
    # Whether the holder is on a screening list with a row not closed yet (the index
    # ix_screening_row_resident_open answers it): the gate refers them (reason ``screening``).
    select(ScreeningRow.id)
    .where(ScreeningRow.resident_id == Resident.id, ScreeningRow.closed == false())
    .exists()
    .label("screening"),
)


def _facts_query(device_filter):
    return (
        select(*_FACT_COLUMNS)
        .select_from(Device)
        .join(Gate, Gate.id == Device.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .outerjoin(Pass, Pass.id == db.bindparam("pid"))
        .outerjoin(Resident, Resident.id == Pass.resident_id)
        .outerjoin(Household, Household.id == Resident.household_id)
        .outerjoin(Building, Building.id == Household.building_id)
        .where(device_filter, Device.revoked_at.is_(None))
    )


# Built once per process (building statements per request was half a scan's CPU), compiled
# once per database and run on the driver's cursor (``kiosk.prepared``).
_FACTS_BY_TOKEN = Prepared(_facts_query(Device.token_hash == db.bindparam("token_hash")))
_FACTS_BY_DEVICE = Prepared(_facts_query(Device.id == db.bindparam("device_id")))

_EXEMPTION_USES = Prepared(
    select(
        func.count().filter(AccessEvent.direction == "out"),
        func.count().filter(AccessEvent.direction == "in"),
    ).where(AccessEvent.pass_id == db.bindparam("pid"), AccessEvent.decision == "allow")
)

_LATEST_TEST = Prepared(
    select(TestResult.taken_at, TestResult.result)
    .where(
        TestResult.resident_id == db.bindparam("resident_id"),
        TestResult.taken_at <= db.bindparam("now"),
    )
    .order_by(TestResult.taken_at.desc())
    .limit(1)
)

SEEN_AT_MAX_AGE = timedelta(minutes=15)


def seen_at(unix_millis: int | None, now: datetime | None = None) -> datetime | None:
    """A tablet's reading time (declared as Unix milliseconds), kept only if it is within the
    last 15 minutes: long enough to bridge an outage, too short to make an old screenshot
    useful."""
    if unix_millis is None:
        return None
    now = now or utcnow()
    seen = datetime.fromtimestamp(unix_millis / 1000, tz=UTC)
    if not now - SEEN_AT_MAX_AGE <= seen <= now + timedelta(seconds=5):
        return None
    return min(seen, now)


# --- a scanned code ---------------------------------------------------------------------------


def scan(
    action: GateAction,
    code: object,
    direction: Direction | str,
    temperature: float | None = None,
    code_seen_at: datetime | None = None,
) -> ScanResult:
    """Decide and log one scan. A repeated request id returns the first answer, logging nothing.

    ``code_seen_at``: when an enrolled tablet read the code, for a scan it had to queue while the
    server was unreachable; the rotating code is checked against that moment (see
    ``seen_at`` for the bounds), everything else against now. Every input has been declared
    and checked by the caller's model; the code is any text (a bad one is denied and logged).
    """
    dir_, temp = Direction(direction), temperature
    cfg = current_app.config
    keys, step = cfg["PASS_KEYRING"], cfg["PASS_STEP_SECONDS"]
    verified = passcodes.verify(keys, code, action.now.timestamp(), step)
    if verified is None and code_seen_at is not None and code_seen_at < action.now:
        # Checked at now first, so a tablet whose clock is off never spoils a live scan.
        verified = passcodes.verify(keys, code, code_seen_at.timestamp(), step)
    # A signed id beyond the integer keys names nothing (and PostgreSQL refuses to compare it).
    pass_id = verified.pass_id if verified is not None and verified.pass_id <= MAX_ID else None
    if verified is not None and verified.form == passcodes.VISITOR and pass_id is not None:
        return visitors.scan_code(_device_context(action), action, pass_id, dir_, temp)
    return _decide_and_log(
        action,
        pass_id,
        dir_,
        temp,
        form=verified.form if verified else None,
        code_valid=verified is not None,
    )


def _device_context(action: GateAction) -> GateContext:
    ctx = (
        context_by_id(action.device_id)
        if action.device_id is not None
        else context(action.device_token)
    )
    if ctx is None:
        raise Unauthorized(
            _l("This device is not enrolled or has been revoked."), code="bad_device"
        )
    return ctx


def _decide_and_log(
    action: GateAction,
    pass_id: int | None,
    dir_: Direction,
    temp: float | None,
    *,
    form: str | None = None,
    code_valid: bool = True,
    manual: bool = False,
    parent_id: int | None = None,
) -> ScanResult:
    """Load the facts for a pass at the device's gate, decide, log. ``form`` None skips the
    code-form check (a manual look-up or a second reading of a scan that was verified)."""
    if action.device_id is not None:
        stmt, params = _FACTS_BY_DEVICE, {"device_id": action.device_id}
    else:
        stmt, params = _FACTS_BY_TOKEN, {"token_hash": security.token_hash(action.device_token)}
    params |= {"pid": pass_id, "rid": action.request_id, "now": action.now}
    # Core on a pooled connection of its own, not the ORM session: the session's statement
    # handling and commit bookkeeping were a third of a scan's CPU (docs/performance.md). On
    # PostgreSQL it is in autocommit: the facts are one round trip, the write one more, and a
    # transaction is begun only where statements must share one (``prepared.Tx``).
    with prepared.connect(db.engine) as conn:
        for _attempt in range(MAX_ATTEMPTS):
            tx = prepared.Tx(conn)
            row = stmt.execute(conn, params).first()
            if row is None:
                raise Unauthorized(
                    _l("This device is not enrolled or has been revoked."), code="bad_device"
                )
            if row.replay_id is not None:
                return gatelog.replay(row.replay_id)
            pass_ok = code_valid and row.pass_id is not None
            if (
                pass_ok
                and form is not None
                and (form == passcodes.ROTATING) != (row.kind == PassKind.RESIDENT)
            ):
                # A code form that does not fit the pass kind was never issued: a forgery.
                pass_ok = code_valid = False
            # Another compound's gate learns only that the pass is not theirs: no name, no
            # address, and its log keeps no link to the person.
            ours = pass_ok and row.holder_compound_id == row.compound_id
            outcome = decide(_facts(tx, row, code_valid, pass_ok, dir_, temp, action.now))
            entry = _entry(action, row, ours, dir_, outcome, temp, manual, parent_id)
            # The guarantee: an allowed passage moves the person only if nobody else did since
            # the row was read (``gatelog.Move``); else nothing is written and it is decided again.
            move = (
                gatelog.Move(row.resident_id, row.state_version)
                if outcome.decision is Decision.ALLOW
                else None
            )
            logged = _log(tx, action, row, entry, move)
            if logged is None:
                continue  # another gate moved this person first: decide again
            if isinstance(logged, ScanResult):
                return logged
            break
        else:
            # Every attempt lost to another gate: the guard is asked to scan again, and the
            # person did not pass.
            outcome = Outcome(Decision.REFER, (BUSY,))
            entry = _entry(action, row, ours, dir_, outcome, temp, manual, parent_id)
            logged = _log(prepared.Tx(conn), action, row, entry)
            if isinstance(logged, ScanResult):
                return logged
        event_id = logged
    holder = Holder(mask_name(row.name), row.building_name, row.unit, row.kind) if ours else None
    return ScanResult(outcome.decision.value, outcome.reasons, event_id, holder, action.now)


def _log(tx: prepared.Tx, action, row, entry, move=None) -> int | ScanResult | None:
    """Write the event and commit: its id; None when the move lost (rolled back); the first
    answer when another worker or server answered the same request id meanwhile."""
    try:
        event_id = gatelog.write(tx.conn, entry, move, tx)
        if event_id is None:
            tx.rollback()
            return None
        tx.commit()
        return event_id
    except IntegrityError:
        tx.rollback()
        replay_id = gatelog.answered(tx.conn, row.device_id, action.request_id)
        tx.rollback()
        if replay_id is None:
            raise
        return gatelog.replay(replay_id)


def _entry(action, row, ours: bool, dir_, outcome, temp, manual, parent_id) -> gatelog.Entry:
    return gatelog.Entry(
        occurred_at=action.now,
        gate_id=row.gate_id,
        device_id=row.device_id,
        guard_id=action.guard_id,
        direction=dir_,
        outcome=outcome,
        temperature=temp,
        request_id=action.request_id,
        pass_id=row.pass_id if ours else None,
        resident_id=row.resident_id if ours else None,
        manual=manual,
        parent_id=parent_id,
    )


def _seals(conn, row, now: datetime) -> tuple[SealState, SealState | None]:
    """The compound's and the building's seal in force now: the base states, unless a
    scheduled seal covers now (the main SELECT says whether any does)."""
    compound_seal = SealState(row.compound_seal)
    building_seal = SealState(row.building_seal) if row.building_seal else None
    if not row.scheduled:
        return compound_seal, building_seal
    return in_force.seals(
        conn,
        now,
        row.compound_id,
        compound_seal,
        row.building_id,
        building_seal,
        row.holder_compound_id,
    )


def _gate_open(row, now: datetime) -> bool:
    return in_force.gate_open(row.is_open, row.opens_at, row.closes_at, now)


def _facts(
    tx: prepared.Tx, row, code_valid: bool, pass_ok: bool, dir_: Direction, temp, now: datetime
) -> ScanFacts:
    conn = tx.conn
    compound_seal, building_seal = _seals(conn, row, now)
    base = dict(
        now=now,
        direction=dir_,
        gate_open=_gate_open(row, now),
        compound_seal=compound_seal,
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
    if row.kind == PassKind.EXEMPTION:
        # Counted under the person's state row: every allowed use changed it (``gatelog.Move``).
        exits, returns = _EXEMPTION_USES.execute(conn, {"pid": row.pass_id}).first()
        if row.negative_test_within_hours is not None:
            params = {"resident_id": row.resident_id, "now": now}
            test = _LATEST_TEST.execute(conn, params).first()
            if test is not None:
                test_at = test.taken_at
                test_outcome = TestOutcome(test.result)
    # The outing quota: only for a resident's exit at their own compound's gate under a quota;
    # the household is locked before its exits are counted (``quota.household_exits``).
    quota_applies = (
        row.quota_exits is not None
        and dir_ is Direction.OUT
        and row.kind in QUOTA_PASS_KINDS
        and row.holder_compound_id == row.compound_id
    )
    household_exits = 0
    if quota_applies:
        tx.begin()  # the household's lock holds until this scan's event is written
        household_exits = quota.household_exits(conn, row.household_id, row.quota_days, now)
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
        building_seal=building_seal,
        observation_until=row.observation_until,
        last_direction=Direction(row.presence) if row.presence else None,
        latest_test_at=test_at,
        latest_test_outcome=test_outcome,
        quota_exits=row.quota_exits if quota_applies else None,
        household_exits_in_period=household_exits,
        on_screening_list=bool(row.screening),
        **base,
    )


# --- no code, a second reading, the guard's decision -----------------------------------------


def manual(
    action: GateAction,
    ctx: GateContext,
    resident_id: int,
    direction: Direction | str,
    temperature: float | None,
) -> ScanResult:
    """Decide for a person found by the look-up, as a scan marked manual."""
    compound_id = db.session.scalar(
        select(Building.compound_id)
        .join(Household, Household.building_id == Building.id)
        .join(Resident, Resident.household_id == Household.id)
        .where(Resident.id == resident_id)
    )
    if compound_id != ctx.compound_id:
        raise NotFound()
    # Prefer a valid paper pass (the person has no phone), then a phone pass, then anything.
    pass_id = db.session.scalar(
        select(Pass.id)
        .where(Pass.resident_id == resident_id, Pass.kind.in_((PassKind.PAPER, PassKind.RESIDENT)))
        .order_by(
            Pass.revoked_at.is_not(None),
            case((Pass.valid_until.is_(None), 0), (Pass.valid_until > action.now, 0), else_=1),
            case((Pass.kind == PassKind.PAPER, 0), else_=1),
            Pass.id.desc(),
        )
        .limit(1)
    )
    db.session.rollback()
    if pass_id is None:
        raise Invalid(_l("This person has no pass. The office must issue one."), code="no_pass")
    return _decide_and_log(action, pass_id, Direction(direction), temperature, manual=True)


def event_at_gate(ctx: GateContext, event_id: int) -> AccessEvent:
    """An event of this gate, else NotFound (a tablet never learns of other gates' events)."""
    event = db.session.get(AccessEvent, event_id) if event_id <= MAX_ID else None
    if event is None or event.gate_id != ctx.gate_id:
        raise NotFound()
    return event


def remeasure(
    action: GateAction, ctx: GateContext, event_id: int, temperature: float | None
) -> ScanResult:
    """A second reading after a fever: decided again for the same pass, logged against the scan."""
    event = event_at_gate(ctx, event_id)
    if "fever" not in event.reasons.split() or event.pass_id is None:
        raise Conflict(_l("Only a fever reading can be measured again."), code="not_fever")
    _not_too_old(action, event)
    if temperature is None:  # declared, checked and rounded by the caller's model
        raise Invalid(_l("Enter the new reading."), field="temperature")
    pass_id, direction, was_manual = event.pass_id, Direction(event.direction), event.manual
    db.session.rollback()
    return _decide_and_log(
        action, pass_id, direction, temperature, manual=was_manual, parent_id=event_id
    )


# A guard decides (or measures again) the person in front of the gate, not an old scan.
DECIDE_MINUTES = 10


def _not_too_old(action: GateAction, event: AccessEvent) -> None:
    if action.now - event.occurred_at > timedelta(minutes=DECIDE_MINUTES):
        raise Conflict(_l("This scan is too old to decide; scan again."), code="too_old")


def override(
    action: GateAction,
    ctx: GateContext,
    guard: User | None,
    event_id: int,
    decision: Decision,
    reason: OverrideReason | None,
    note: str | None,
) -> AccessEvent:
    """The guard decides a referred scan: allow (with a reason) or deny. Logged with the guard.

    One decision per scan, however many taps: the unique index on an override's ``parent_id``
    turns a second one into ``already_decided``.
    """
    if guard is None:
        raise Forbidden()
    event = event_at_gate(ctx, event_id)
    if event.decision != Decision.REFER or event.override:
        raise Conflict(_l("Only a referred scan can be decided by the guard."), code="not_referred")
    _not_too_old(action, event)
    # The declared form (contract.forms.OverrideForm) has checked the decision, the reason an
    # allowance needs and the note "other" needs.
    entry = gatelog.Entry(
        occurred_at=action.now,
        gate_id=event.gate_id,
        device_id=ctx.device_id,
        guard_id=guard.id,
        direction=Direction(event.direction),
        outcome=Outcome(decision, tuple(event.reasons.split())),
        temperature=event.temperature,
        pass_id=event.pass_id,
        resident_id=event.resident_id,
        visit_id=event.visit_id,
        manual=event.manual,
        parent_id=event.id,
        override=True,
        override_reason=reason.value if reason else None,
        note=note,
    )
    try:
        child_id = gatelog.write(db.session, entry)
        if decision is Decision.ALLOW and event.resident_id is not None:
            # The guard's word is final: the person is where the guard let them go.
            db.session.execute(
                update(Resident)
                .where(Resident.id == event.resident_id)
                .values(presence=event.direction, state_version=Resident.state_version + 1)
            )
        if event.visit_id is not None:
            visitors.apply_override(event.visit_id, decision, action.now)
        audit.record(
            guard,
            "scan.override",
            "scan",
            event.id,
            ctx.community_id,
            decision=decision.value,
            reason=reason.value if reason else None,
        )  # the note (free text) is kept once, on the event
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("This scan has been decided already."), code="already_decided") from None
    return db.session.get(AccessEvent, child_id)
