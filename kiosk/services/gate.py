"""The guard's tablet: who is at which gate, guard sign-in, overrides, second readings,
the no-code look-up, occupancy and the recent decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from ..domain.decision import Direction
from ..domain.people import mask_name
from ..extensions import db
from ..models import (
    AccessEvent,
    Building,
    Compound,
    Device,
    Gate,
    Household,
    Pass,
    Resident,
    User,
    Visit,
    utcnow,
)
from . import audit, scan, security, validate
from .errors import Conflict, Forbidden, Invalid, NotFound

OVERRIDE_REASONS = ("known_resident", "checked_id", "medical", "official", "other")


@dataclass(frozen=True)
class GateContext:
    device_id: int
    device_name: str
    gate_id: int
    gate_name: str
    gate_open: bool
    compound_id: int
    compound_name: str
    community_id: int
    temperature_required: bool
    fever_threshold: float
    visitor_policy: str


def context(device_token: str | None) -> GateContext | None:
    """The enrolled device behind a tablet's cookie, or None."""
    if not device_token or len(device_token) > 200:
        return None
    row = db.session.execute(
        select(
            Device.id,
            Device.name,
            Gate.id,
            Gate.name,
            Gate.is_open,
            Compound.id,
            Compound.name,
            Compound.community_id,
            Compound.temperature_required,
            Compound.fever_threshold,
            Compound.visitor_policy,
        )
        .join(Gate, Gate.id == Device.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Device.token_hash == security.token_hash(device_token), Device.revoked_at.is_(None))
    ).first()
    return GateContext(*row) if row is not None else None


def authenticate_guard(ctx: GateContext, username: object, pin: object) -> User | None:
    """A guard (or office user) of this gate's community, by username and PIN."""
    if not isinstance(username, str) or not isinstance(pin, str) or not username or len(pin) > 32:
        return None
    user = db.session.scalar(select(User).where(User.username == username.strip()[:64]))
    if user is None or user.pin_hash is None:
        security.dummy_password_check(pin)
        return None
    if not security.check_password(user.pin_hash, pin):
        return None
    if (
        not user.active
        or user.role not in ("guard", "office")
        or user.community_id != ctx.community_id
    ):
        return None
    return user


def set_pin(actor: User, guard_id: int, pin: object) -> User:
    """The office sets a guard's PIN (4-8 digits)."""
    from . import scope

    scope.require_role(actor, scope.MANAGERS)
    guard = db.session.get(User, guard_id)
    if guard is None or guard.role not in ("guard", "office") or guard.community_id is None:
        raise NotFound()
    if not scope.in_scope(actor, guard.community_id):
        raise NotFound()
    if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8 or not pin.isascii():
        raise Invalid(_l("The PIN must be 4 to 8 digits."), field="pin")
    guard.pin_hash = security.hash_password(pin)
    audit.record(actor, "user.pin", "user", guard.id, guard.community_id)
    db.session.commit()
    return guard


def _event_at_gate(ctx: GateContext, event_id: int) -> AccessEvent:
    event = db.session.get(AccessEvent, event_id)
    if event is None or event.gate_id != ctx.gate_id:
        raise NotFound()
    return event


def override(ctx: GateContext, guard: User, event_id: int, data: dict) -> AccessEvent:
    """The guard decides a referred scan: allow (with a reason) or deny. Logged with the guard."""
    if guard is None:
        raise Forbidden()
    event = _event_at_gate(ctx, event_id)
    if event.decision != "refer" or event.parent_id is not None:
        raise Conflict(_l("Only a referred scan can be decided by the guard."), code="not_referred")
    if utcnow() - event.occurred_at > timedelta(minutes=10):
        raise Conflict(_l("This scan is too old to decide; scan again."), code="too_old")
    already = db.session.scalar(
        select(AccessEvent.id).where(
            AccessEvent.parent_id == event.id, AccessEvent.override.is_(True)
        )
    )
    if already is not None:
        raise Conflict(_l("This scan has been decided already."), code="already_decided")
    decision = validate.choice(data, "decision", ("allow", "deny"))
    # The reasons are reasons to allow: a denial keeps only its note (the form always sends the
    # select's value, which must not be shown to the office as the reason for a denial).
    reason_code = validate.choice(data, "reason", OVERRIDE_REASONS) if decision == "allow" else None
    text = validate.text(data, "note", 200, required=reason_code == "other")
    note = " ".join(x for x in (reason_code, text) if x) or None
    child = AccessEvent(
        occurred_at=utcnow(),
        gate_id=event.gate_id,
        device_id=ctx.device_id,
        user_id=guard.id,
        direction=event.direction,
        pass_id=event.pass_id,
        resident_id=event.resident_id,
        visit_id=event.visit_id,
        temperature=event.temperature,
        decision=decision,
        reasons=event.reasons,
        manual=event.manual,
        parent_id=event.id,
        override=True,
        note=note,
    )
    db.session.add(child)
    if event.visit_id is not None:
        visit = db.session.get(Visit, event.visit_id)
        visit.status = "inside" if decision == "allow" else "denied"
        visit.decision = decision
        if decision == "allow":
            visit.checked_in_at = child.occurred_at
    audit.record(
        guard,
        "scan.override",
        "access_event",
        event.id,
        ctx.community_id,
        decision=decision,
        note=note,
    )
    db.session.commit()
    return child


def remeasure(
    ctx: GateContext,
    device_token: str,
    guard: User | None,
    event_id: int,
    temperature: object,
    request_id: object = None,
) -> scan.ScanResult:
    """A second reading after a fever: decided again for the same pass, logged against the scan."""
    event = _event_at_gate(ctx, event_id)
    if "fever" not in event.reasons.split() or event.pass_id is None:
        raise Conflict(_l("Only a fever reading can be measured again."), code="not_fever")
    temp = validate.temperature(temperature)
    if temp is None:
        raise Invalid(_l("Enter the new reading."), field="temperature")
    return scan.decide_and_log(
        device_token,
        event.pass_id,
        None,
        Direction(event.direction),
        temp,
        scan.clean_request_id(request_id),
        guard.id if guard else None,
        utcnow(),
        manual=event.manual,
        parent_id=event.id,
    )


def lookup(ctx: GateContext, data: dict) -> list[tuple[int, str, str, str]]:
    """People without a code: building, unit and the last four of the ID number.

    Returns (resident id, masked name, building, unit) for each match in this compound only.
    """
    building_id = data.get("building_id")
    if isinstance(building_id, str) and building_id.isdigit():
        building_id = int(building_id)
    if not isinstance(building_id, int):
        raise Invalid(_l("Choose the building."), field="building_id")
    unit = validate.text(data, "unit", 20)
    last4 = (validate.text(data, "last4", 4) or "").upper()
    if len(last4) != 4 or not last4.isalnum():
        raise Invalid(_l("Enter the last four characters of the ID number."), field="last4")
    rows = db.session.execute(
        select(Resident.id, Resident.name, Building.name, Household.unit)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(
            Building.id == building_id,
            Building.compound_id == ctx.compound_id,
            Household.unit == unit,
            Resident.id_last4 == last4,
        )
        .order_by(Resident.id)
    ).all()
    return [(rid, mask_name(name), b, u) for rid, name, b, u in rows]


def manual_scan(
    ctx: GateContext,
    device_token: str,
    guard: User | None,
    resident_id: object,
    direction: object,
    temperature: object,
    request_id: object,
) -> scan.ScanResult:
    """Decide for a person found by the look-up, as a scan marked manual."""
    dir_ = scan.clean_direction(direction)
    temp = validate.temperature(temperature)
    if isinstance(resident_id, str) and resident_id.isdigit():
        resident_id = int(resident_id)
    if not isinstance(resident_id, int):
        raise Invalid(_l("Choose the person."), field="resident_id")
    now = utcnow()
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
        .where(Pass.resident_id == resident_id, Pass.kind.in_(("paper", "resident")))
        .order_by(
            Pass.revoked_at.is_not(None),
            case((Pass.valid_until.is_(None), 0), (Pass.valid_until > now, 0), else_=1),
            case((Pass.kind == "paper", 0), else_=1),
            Pass.id.desc(),
        )
        .limit(1)
    )
    if pass_id is None:
        raise Invalid(_l("This person has no pass. The office must issue one."), code="no_pass")
    return scan.decide_and_log(
        device_token,
        pass_id,
        None,
        dir_,
        temp,
        scan.clean_request_id(request_id),
        guard.id if guard else None,
        now,
        manual=True,
    )


def local_midnight(now: datetime) -> datetime:
    tz = current_app.config["TZ"]
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def occupancy(ctx: GateContext, now: datetime | None = None) -> int:
    """People inside the compound now: allowed entries minus allowed exits today, at all gates."""
    since = local_midnight(now or utcnow())
    ins, outs = db.session.execute(
        select(
            func.count().filter(AccessEvent.direction == "in"),
            func.count().filter(AccessEvent.direction == "out"),
        )
        .join(Gate, Gate.id == AccessEvent.gate_id)
        .where(
            Gate.compound_id == ctx.compound_id,
            AccessEvent.occurred_at >= since,
            AccessEvent.decision == "allow",
        )
    ).one()
    return max(ins - outs, 0)


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


def recent(ctx: GateContext, limit: int = 10) -> list[RecentDecision]:
    """The last decisions at this gate, newest first, with only masked names."""
    rows = db.session.execute(
        select(
            AccessEvent.id,
            AccessEvent.occurred_at,
            AccessEvent.direction,
            AccessEvent.decision,
            AccessEvent.reasons,
            Resident.name,
            Visit.name,
            AccessEvent.override,
            AccessEvent.manual,
            User.username,
            AccessEvent.pass_id,
        )
        .outerjoin(Resident, Resident.id == AccessEvent.resident_id)
        .outerjoin(Visit, Visit.id == AccessEvent.visit_id)
        .outerjoin(User, User.id == AccessEvent.user_id)
        .where(AccessEvent.gate_id == ctx.gate_id)
        .order_by(AccessEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        RecentDecision(
            r[0],
            r[1],
            r[2],
            r[3],
            tuple(r[4].split()) if r[4] else (),
            mask_name(r[5] or r[6] or ""),
            r[7],
            r[8],
            r[9],
            r[10] is not None,
        )
        for r in rows
    ]
