"""A joined resident's own things: who and where they are, whether they may go out now (the
one sentence), the code to show at the gate, their last passages and test, care mode.

The sentence is ``domain.rules`` over the same facts the gate decides on: the compound's and
the building's seal in force now (with their schedules, ``in_force`` and ``domain.schedules``),
the household's home observation and the person's own exemption. The code shown is the pass
that those facts are about: an exemption while one is open and not yet spent (its window open
and not used to leave, or used to leave and not yet to come back), else the phone pass. So an
OUT scan of what the phone shows is allowed exactly when the sentence says "may go out"
(tests/web/test_me_pass.py proves it for every seal, observation and exemption case).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, or_, select, update

from ..contract import me as contract
from ..domain import rules
from ..domain.decision import PassKind
from ..extensions import db
from ..models import (
    AccessEvent,
    Building,
    Compound,
    Gate,
    Household,
    Pass,
    Resident,
    SealSchedule,
    TestResult,
    User,
    utcnow,
)
from . import org, passes, qr, scope


@dataclass(frozen=True)
class Place:
    """The resident, their household's address and their household's observation."""

    resident: Resident
    household: Household
    building: Building
    compound: Compound


def place(actor: User) -> Place:
    """The actor's own record and address (Forbidden for anyone but a joined resident)."""
    household_id = scope.own_household(actor)
    resident = db.session.get(Resident, actor.resident_id)
    household = db.session.get(Household, household_id)
    building = household.building
    return Place(resident, household, building, building.compound)


# --- the exemption and the pass shown ---------------------------------------------------------


@dataclass(frozen=True)
class _Exemption:
    pass_: Pass
    exits: int
    returns: int


def _exemptions(resident_id: int, now: datetime) -> list[_Exemption]:
    """The person's exemptions not revoked whose window has not ended or that took them out
    and not back, with their allowed uses, oldest window first."""
    used = (
        select(
            AccessEvent.pass_id,
            func.count().filter(AccessEvent.direction == "out").label("exits"),
            func.count().filter(AccessEvent.direction == "in").label("returns"),
        )
        .where(AccessEvent.decision == "allow", AccessEvent.pass_id.is_not(None))
        .group_by(AccessEvent.pass_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Pass, func.coalesce(used.c.exits, 0), func.coalesce(used.c.returns, 0))
        .outerjoin(used, used.c.pass_id == Pass.id)
        .where(
            Pass.resident_id == resident_id,
            Pass.kind == PassKind.EXEMPTION.value,
            Pass.revoked_at.is_(None),
        )
        .order_by(Pass.valid_from, Pass.id)
    )
    return [_Exemption(p, exits, returns) for p, exits, returns in rows]


def _open(e: _Exemption, now: datetime) -> bool:
    """Unused and its window open now: it lets its holder out."""
    p = e.pass_
    in_window = (p.valid_from is None or now >= p.valid_from) and (
        p.valid_until is None or now < p.valid_until
    )
    return in_window and e.exits == 0


def _away(e: _Exemption) -> bool:
    """Used to go out and not yet to come back: it lets its holder home."""
    return e.exits >= 1 and e.returns == 0


def _phone_pass(resident_id: int, now: datetime) -> Pass | None:
    return db.session.scalar(
        select(Pass)
        .where(
            Pass.resident_id == resident_id,
            Pass.kind == PassKind.RESIDENT.value,
            Pass.revoked_at.is_(None),
            or_(Pass.valid_from.is_(None), Pass.valid_from <= now),
            or_(Pass.valid_until.is_(None), Pass.valid_until > now),
        )
        .order_by(Pass.id.desc())
        .limit(1)
    )


def shown_pass(actor: User, now: datetime | None = None) -> Pass | None:
    """The pass whose code the phone shows now: an exemption in use, else the phone pass;
    None when the resident has neither (the office issues one)."""
    scope.own_household(actor)
    now = now or utcnow()
    for e in _exemptions(actor.resident_id, now):
        if _open(e, now) or _away(e):
            return e.pass_
    return _phone_pass(actor.resident_id, now)


# --- the status sentence ----------------------------------------------------------------------


def _schedules(p: Place, now: datetime) -> dict:
    """The uncancelled schedules of the resident's compound and building, as
    ``org.seals_now`` reads them."""
    out: dict[tuple[str, int], list[SealSchedule]] = {}
    for s in db.session.scalars(
        select(SealSchedule)
        .where(
            or_(
                (SealSchedule.target_kind == "compound")
                & (SealSchedule.target_id == p.compound.id),
                (SealSchedule.target_kind == "building")
                & (SealSchedule.target_id == p.building.id),
            ),
            SealSchedule.cancelled_at.is_(None),
            or_(
                SealSchedule.ends_at.is_(None),
                SealSchedule.ends_at > now - org.SCHEDULE_LOOKBACK,
            ),
        )
        .order_by(SealSchedule.starts_at, SealSchedule.id)
    ):
        out.setdefault((s.target_kind, s.target_id), []).append(s)
    return out


def facts(actor: User, now: datetime | None = None) -> rules.RuleFacts:
    """The facts of the resident's rule now: their seals, observation and exemption."""
    now = now or utcnow()
    p = place(actor)
    schedules = _schedules(p, now)
    compound_seal, _reason = org.seals_now(p.compound, "compound", schedules, now)
    building_seal, _reason = org.seals_now(p.building, "building", schedules, now)
    exemption = None
    for e in _exemptions(p.resident.id, now):
        if _open(e, now) or _away(e):
            exemption = (e.pass_.valid_from, e.pass_.valid_until)
            if _away(e):
                # Out on it: the way home is open whatever its window says (a late return).
                exemption = (None, None)
            break
    return rules.RuleFacts(
        now,
        rules.Place(p.compound.name, compound_seal),
        rules.Place(p.building.name, building_seal),
        observation_until=p.household.observation_until,
        exemption=exemption,
    )


def status(actor: User, now: datetime | None = None) -> contract.Status:
    """May the resident come in and go out now, and the sentence that says so."""
    f = facts(actor, now)
    r = rules.rule(f)
    return contract.Status(may_in=r.may_in, may_out=r.may_out, sentence=rules.sentence(f))


# --- the code ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    text: str
    kind: str
    pass_id: int
    rotating: bool
    step_seconds: int | None
    expires_at: datetime | None
    seconds_left: int | None

    @property
    def qr_svg(self) -> Markup:
        return qr.svg(self.text)


def code(actor: User, unix_seconds: float | None = None) -> Code | None:
    """The code to show now, with when the next one replaces it; None without a pass."""
    now_s = time.time() if unix_seconds is None else unix_seconds
    pass_ = shown_pass(actor, datetime.fromtimestamp(now_s, UTC))
    if pass_ is None:
        return None
    text = passes.code_for(pass_, now_s)
    if pass_.kind in passes.STATIC_KINDS:
        return Code(text, pass_.kind, pass_.id, False, None, None, None)
    step = current_app.config["PASS_STEP_SECONDS"]
    ends = (int(now_s // step) + 1) * step
    return Code(
        text,
        pass_.kind,
        pass_.id,
        True,
        step,
        datetime.fromtimestamp(ends, UTC),
        max(1, round(ends - now_s)),
    )


# --- history, test, care mode -----------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    occurred_at: datetime
    gate: str
    direction: str
    decision: str
    reasons: tuple[str, ...]


def passages(actor: User, limit: int = 10) -> list[Passage]:
    """The resident's own last entries and exits (and refusals), newest first."""
    scope.own_household(actor)
    rows = db.session.execute(
        select(
            AccessEvent.occurred_at,
            Gate.name,
            AccessEvent.direction,
            AccessEvent.decision,
            AccessEvent.reasons,
        )
        .join(Gate, Gate.id == AccessEvent.gate_id)
        .where(AccessEvent.resident_id == actor.resident_id, AccessEvent.parent_id.is_(None))
        .order_by(AccessEvent.id.desc())
        .limit(limit)
    )
    return [Passage(r[0], r[1], r[2], r[3], tuple(r[4].split()) if r[4] else ()) for r in rows]


def latest_test(actor: User) -> TestResult | None:
    scope.own_household(actor)
    return db.session.scalar(
        select(TestResult)
        .where(TestResult.resident_id == actor.resident_id)
        .order_by(TestResult.taken_at.desc(), TestResult.id.desc())
        .limit(1)
    )


def set_care_mode(actor: User, data: contract.CareForm) -> bool:
    """Remember care mode for this resident (on every device they sign in on)."""
    scope.own_household(actor)
    db.session.execute(
        update(User)
        .where(User.id == actor.id)
        .values(care_mode=data.care)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return data.care


def me(actor: User, now: datetime | None = None) -> contract.Me:
    """The resident's own record, address, status and latest test (the API's ``/me``)."""
    p = place(actor)
    test = latest_test(actor)
    return contract.Me(
        username=actor.username,
        resident_id=p.resident.id,
        name=p.resident.name,
        household_id=p.household.id,
        compound=p.compound.name,
        building=p.building.name,
        unit=p.household.unit,
        room=p.household.room,
        observation_until=p.household.observation_until,
        care_mode=bool(actor.care_mode),
        status=status(actor, now),
        latest_test=test,
    )
