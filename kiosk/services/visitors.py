"""Visitors: registered at the gate or on their own phone, decided, checked in and out (the
risk areas they declare against are ``risk_areas``'s)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..contract.forms import GateVisitorForm, VisitorForm
from ..domain import passcodes
from ..domain.decision import Decision, Direction, Outcome, SealState
from ..domain.invitations import HOST_REASONS, UNDECLARED, VIA_INVITATION
from ..domain.people import mask_name
from ..domain.visitors import (
    HealthCode,
    VisitorFacts,
    VisitorPolicy,
    decide_visitor,
)
from ..extensions import db
from ..models import (
    Building,
    Compound,
    Household,
    Visit,
    utcnow,
)
from . import gatelog, in_force, risk_areas, scope, security
from .errors import Conflict, Forbidden, Invalid, NotFound
from .gate import GateAction, GateContext
from .gatelog import Holder, ScanResult

# --- the visitor form -------------------------------------------------------------------------


def household_choices(compound_id: int) -> list[tuple[int, str, str, str]]:
    """(household id, building, unit, room) of a compound, for the host lists."""
    return [
        tuple(r)
        for r in db.session.execute(
            select(Household.id, Building.name, Household.unit, Household.room)
            .join(Building, Building.id == Household.building_id)
            .where(Building.compound_id == compound_id)
            .order_by(Building.name, Household.unit, Household.room)
        )
    ]


def _clean_form(compound_id: int, community_id: int, form: VisitorForm) -> dict:
    """The declared form has checked the shapes; the host and the risk areas must be this
    compound's and this community's."""
    phone = security.normalise_phone(form.phone)
    household = db.session.get(Household, form.host_household_id)
    if household is None or household.building.compound_id != compound_id:
        raise Invalid(_l("Choose the household being visited."), field="host_household_id")
    known = {a.id for a in risk_areas.current_risk_areas(community_id)}
    if not set(form.risk_area_ids) <= known:
        raise Invalid(_l("Choose risk areas from the list."), field="risk_area_ids")
    return {
        "name": form.name,
        "phone_hash": security.keyed_hash(phone),
        "phone_last4": phone[-4:],
        "host_household_id": household.id,
        "purpose": form.purpose.value,
        "health_code": form.health_code.value,
        "risk_area_ids": ",".join(map(str, sorted(set(form.risk_area_ids)))),
    }


def _visitor_facts(
    visit: Visit,
    ctx: GateContext | None,
    now: datetime,
    temperature,
    pre_registered: bool,
    code_used=False,
):
    """The facts of a visitor's scan at ``now``: the gate's state with its hours, and the seals
    of the compound and of the host's building in force then (with their schedules). Without a
    gate (the self-registration's preview), the gate counts as open."""
    row = db.session.execute(
        select(
            Compound.visitor_policy,
            Compound.id,
            Compound.seal_state,
            Compound.fever_threshold,
            Building.id,
            Building.seal_state,
            Household.observation_until,
        )
        .select_from(Household)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Household.id == visit.host_household_id)
    ).one()
    policy, compound_id, compound_seal, threshold, building_id, building_seal, observed = row
    compound_seal, building_seal = in_force.seals(
        db.session.connection(),
        now,
        compound_id,
        SealState(compound_seal),
        building_id,
        SealState(building_seal),
    )
    return VisitorFacts(
        policy=VisitorPolicy(policy),
        pre_registered=pre_registered,
        health_code=_health_code(visit),
        risk_area_visit=bool(visit.risk_area_ids),
        temperature=temperature,
        gate_open=ctx.open_at(now) if ctx is not None else True,
        compound_seal=compound_seal,
        host_building_seal=building_seal,
        host_under_observation=observed is not None and observed > now,
        code_used=code_used,
        fever_threshold=threshold,
    )


def _health_code(visit: Visit) -> HealthCode:
    """The declared colour; an invited visitor who has not declared it yet counts as yellow
    (refused), the safe side: their share page shows the code only once it is declared."""
    if visit.health_code == UNDECLARED:
        return HealthCode.YELLOW
    return HealthCode(visit.health_code)


def host_refusals(household_id: int, at: datetime) -> tuple[str, ...]:
    """The reasons the gate would refuse any visitor of this household at ``at``: the same
    facts and reasons as the gate's decision (visitor policy, seals in force with their
    schedules, home observation), so the invitation page and the gate agree."""
    probe = Visit(host_household_id=household_id, health_code=HealthCode.GREEN, risk_area_ids="")
    outcome = decide_visitor(_visitor_facts(probe, None, at, 36.5, pre_registered=True))
    return tuple(r for r in outcome.reasons if r in HOST_REASONS)


def preview(visit: Visit, at: datetime) -> Outcome:
    """What the gate would say of a registered visitor at ``at``, before the temperature."""
    return decide_visitor(_visitor_facts(visit, None, at, 36.5, pre_registered=True))


def _holder(visit: Visit) -> Holder:
    household = visit.household
    return Holder(mask_name(visit.name), household.building.name, household.unit, "visitor")


def _apply(visit: Visit, outcome: Outcome, now: datetime) -> None:
    visit.decision = outcome.decision.value
    visit.reasons = " ".join(outcome.reasons)
    if outcome.decision is Decision.ALLOW:
        visit.status = "inside"
        visit.checked_in_at = now
    elif outcome.decision is Decision.DENY:
        visit.status = "denied"


def _claim(visit_id: int, outcome: Outcome, now: datetime, gate_id: int, temp) -> bool:
    """Use a self-registered code: one conditional UPDATE, so only one gate can (the rule
    "one use" holds with any number of app servers). A referral does not use it up."""
    values = dict(decision=outcome.decision.value, reasons=" ".join(outcome.reasons))
    if outcome.decision is Decision.ALLOW:
        values |= dict(status="inside", checked_in_at=now, temperature=temp, gate_id=gate_id)
    elif outcome.decision is Decision.DENY:
        values |= dict(status="denied", temperature=temp, gate_id=gate_id)
    return _move(visit_id, "registered", values)


def _move(visit_id: int, from_status: str, values: dict) -> bool:
    """Change a visit's state if it is still ``from_status``; False when another gate was first."""
    result = db.session.execute(
        update(Visit)
        .where(Visit.id == visit_id, Visit.status == from_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _log_and_answer(
    action: GateAction, ctx: GateContext, visit: Visit | None, outcome: Outcome, direction, temp
) -> ScanResult:
    """Write the event and commit; a request id answered meanwhile gets that answer."""
    entry = gatelog.Entry(
        occurred_at=action.now,
        gate_id=ctx.gate_id,
        device_id=ctx.device_id,
        guard_id=action.guard_id,
        direction=Direction(direction),
        outcome=outcome,
        temperature=temp,
        request_id=action.request_id,
        visit_id=visit.id if visit is not None else None,
    )
    try:
        event_id = gatelog.write(db.session, entry)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = gatelog.answered(db.session, ctx.device_id, action.request_id)
        if existing is None:
            raise
        return gatelog.replay(existing)
    holder = _holder(visit) if visit is not None else None
    return ScanResult(
        outcome.decision.value,
        outcome.reasons,
        event_id,
        holder,
        action.now,
        visit_id=visit.id if visit is not None else None,
    )


def register_at_gate(action: GateAction, ctx: GateContext, data: GateVisitorForm) -> ScanResult:
    """A visitor registered by the guard: decided and logged at once."""
    existing = gatelog.answered(db.session, ctx.device_id, action.request_id)
    if existing is not None:
        return gatelog.replay(existing)
    fields = _clean_form(ctx.compound_id, ctx.community_id, data)
    temp = data.temperature
    visit = Visit(
        compound_id=ctx.compound_id,
        via="gate",
        status="registered",
        temperature=temp,
        gate_id=ctx.gate_id,
        **fields,
    )
    db.session.add(visit)
    db.session.flush()
    outcome = decide_visitor(_visitor_facts(visit, ctx, action.now, temp, pre_registered=False))
    _apply(visit, outcome, action.now)
    return _log_and_answer(action, ctx, visit, outcome, Direction.IN, temp)


def compound_for_slug(slug: object) -> Compound:
    if not isinstance(slug, str) or not 8 <= len(slug) <= 32:
        raise NotFound()
    compound = db.session.scalar(select(Compound).where(Compound.public_slug == slug))
    if compound is None:
        raise NotFound()
    return compound


def self_register(slug: str, data: VisitorForm) -> tuple[Visit, str, Outcome]:
    """A visitor registers on their own phone and gets a one-time code for today.

    The outcome is a preview without the temperature: what the gate will say if nothing changes.
    """
    compound = compound_for_slug(slug)
    if compound.visitor_policy == VisitorPolicy.NONE:
        raise Forbidden(_l("This compound takes no visitors now."), code="visitors_not_allowed")
    fields = _clean_form(compound.id, compound.community_id, data)
    tz = current_app.config["TZ"]
    visit = Visit(
        compound_id=compound.id,
        via="self",
        status="registered",
        valid_on=utcnow().astimezone(tz).date(),
        **fields,
    )
    db.session.add(visit)
    db.session.flush()
    preview = decide_visitor(_visitor_facts(visit, None, utcnow(), 36.5, pre_registered=True))
    db.session.commit()
    return visit, visitor_code(visit), preview


def visitor_code(visit: Visit) -> str:
    return passcodes.sign(current_app.config["PASS_KEYRING"], visit.id, passcodes.VISITOR)


def scan_code(
    ctx: GateContext, action: GateAction, visit_id: int, direction: Direction, temp
) -> ScanResult:
    """A visitor's one-time code at the gate: entry once today (with a temperature), then exit."""
    existing = gatelog.answered(db.session, ctx.device_id, action.request_id)
    if existing is not None:
        return gatelog.replay(existing)
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.compound_id != ctx.compound_id:
        outcome = Outcome(Decision.DENY, ("other_compound",) if visit else ("unknown_pass",))
        return _log_and_answer(action, ctx, None, outcome, direction, temp)
    today = action.now.astimezone(current_app.config["TZ"]).date()
    if direction is Direction.OUT:
        left = _move(visit.id, "inside", dict(status="left", checked_out_at=action.now))
        outcome = (
            Outcome(Decision.ALLOW, ()) if left else Outcome(Decision.DENY, ("visitor_code_used",))
        )
    else:
        usable = (
            visit.status == "registered"
            and visit.via in ("self", VIA_INVITATION)
            and visit.valid_on == today
            and visit.health_code != UNDECLARED
        )
        facts = _visitor_facts(visit, ctx, action.now, temp, pre_registered=True)
        outcome = decide_visitor(facts if usable else replace(facts, code_used=True))
        if usable and not _claim(visit.id, outcome, action.now, ctx.gate_id, temp):
            # Another gate used the code at the same moment.
            outcome = decide_visitor(replace(facts, code_used=True))
    return _log_and_answer(action, ctx, visit, outcome, direction, temp)


def apply_override(visit_id: int, decision: Decision, now: datetime) -> None:
    """The guard decided a referred visitor: inside or turned away, once."""
    values = dict(
        decision=decision.value, status="inside" if decision is Decision.ALLOW else "denied"
    )
    if decision is Decision.ALLOW:
        values["checked_in_at"] = now
    if not _move(visit_id, "registered", values):
        raise Conflict(_l("This visitor code has been used."), code="visitor_code_used")


def inside(ctx: GateContext) -> list[Visit]:
    """Visitors inside the compound now, longest first."""
    return list(
        db.session.scalars(
            select(Visit)
            .where(Visit.compound_id == ctx.compound_id, Visit.status == "inside")
            .order_by(Visit.checked_in_at)
        )
    )


def check_out(action: GateAction, ctx: GateContext, visit_id: int) -> Visit:
    """One tap at the gate: the visitor has left (once, whichever gate taps first)."""
    visit = db.session.get(Visit, visit_id) if visit_id <= scope.MAX_ID else None
    if visit is None or visit.compound_id != ctx.compound_id:
        raise NotFound()
    if not _move(visit.id, "inside", dict(status="left", checked_out_at=action.now)):
        db.session.rollback()
        raise Conflict(_l("This visitor is not inside."), code="not_inside")
    gatelog.write(
        db.session,
        gatelog.Entry(
            occurred_at=action.now,
            gate_id=ctx.gate_id,
            device_id=ctx.device_id,
            guard_id=action.guard_id,
            direction=Direction.OUT,
            outcome=Outcome(Decision.ALLOW, ()),
            visit_id=visit.id,
        ),
    )
    db.session.commit()
    db.session.refresh(visit)
    return visit
