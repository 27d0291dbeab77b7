"""Gate devices: creating one, the gates with their devices, and enrolling a tablet (a short
single-use code binds a browser to a device and its gate)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..contract.directory import DeviceQuery
from ..contract.org import DeviceCreate
from ..extensions import db
from ..models import Compound, Device, Gate, User, utcnow
from . import audit, scope, security
from .errors import Conflict, Invalid

# No 0/O, 1/I/L: the code is read off a screen and typed on a tablet.
ENROL_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ENROL_LENGTH = 8
ENROL_MINUTES = 15


def normalise_code(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value.upper() if ch.isalnum())[:32]


def new_enrolment(actor: User, device_id: int) -> tuple[Device, str]:
    """A fresh enrolment code for a device (any earlier one stops working)."""
    device, community_id = scope.load(actor, Device, device_id)
    if device.revoked_at is not None:
        raise Invalid(_l("This device has been revoked."))
    code = "".join(secrets.choice(ENROL_ALPHABET) for _ in range(ENROL_LENGTH))
    device.enrol_code_hash = security.token_hash(code)
    device.enrol_expires_at = utcnow() + timedelta(minutes=ENROL_MINUTES)
    audit.record(actor, "device.enrolment_code", "device", device.id, community_id)
    db.session.commit()
    return device, code


def revoke(actor: User, device_id: int) -> Device:
    """Take a tablet out of service at once (lost, stolen, replaced): from its next request its
    token, its guard's session on it and any enrolment code it was waiting for are refused.
    Once: a second removal (another office worker at the same moment) is refused with a
    reason."""
    device, community_id = scope.load(actor, Device, device_id)
    if revoke_row(Device, device.id) != 1:
        raise Conflict(_l("This tablet has already been removed."), code="already_revoked")
    audit.record(actor, "device.revoke", "device", device.id, community_id, name=device.name)
    db.session.commit()
    return device


def revoke_row(model, row_id: int) -> int:
    """Revoke a tablet or door sensor (``model``) by one conditional UPDATE: 1, or 0 (rolled
    back) when it was revoked already."""
    done = db.session.execute(
        update(model)
        .where(model.id == row_id, model.revoked_at.is_(None))
        .values(revoked_at=utcnow(), enrol_code_hash=None, enrol_expires_at=None)
    ).rowcount
    if done != 1:
        db.session.rollback()
    return done


def holder_of_code(model, code: object):
    """The tablet or door sensor (``model``) a one-time enrolment code was issued for, if the
    code is well formed, known, not revoked and not expired (an expired code is voided here);
    else Invalid with a message for the person typing it."""
    clean = normalise_code(code)
    if len(clean) != ENROL_LENGTH:
        raise Invalid(
            _l("Enter the %(n)d-character code shown in the office.", n=ENROL_LENGTH), field="code"
        )
    holder = db.session.scalar(
        select(model).where(model.enrol_code_hash == security.token_hash(clean))
    )
    if holder is None or holder.revoked_at is not None:
        raise Invalid(_l("This code is not valid. Ask the office for a new one."), field="code")
    if holder.enrol_expires_at is None or holder.enrol_expires_at <= utcnow():
        holder.enrol_code_hash = None
        db.session.commit()
        raise Invalid(_l("This code has expired. Ask the office for a new one."), field="code")
    return holder


def enrol(code: object) -> tuple[Device, str]:
    """Bind a browser: check and spend the code, give the device a new token for the cookie.

    The code is spent by one conditional UPDATE: of two browsers using it at the same moment,
    or a use at the moment the office removes the tablet, one wins and the other is told the
    code is not valid."""
    device = holder_of_code(Device, code)
    token = security.new_token()
    done = db.session.execute(
        update(Device)
        .where(
            Device.id == device.id,
            Device.enrol_code_hash == device.enrol_code_hash,
            Device.revoked_at.is_(None),
        )
        .values(
            # Any earlier browser or API token stops working.
            token_hash=security.token_hash(token),
            enrol_code_hash=None,
            enrol_expires_at=None,
            enrolled_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.rollback()
        raise Invalid(_l("This code is not valid. Ask the office for a new one."), field="code")
    audit.record(None, "device.enrol", "device", device.id, None)
    db.session.commit()
    db.session.refresh(device)
    return device, token


def gates_with_devices(actor: User):
    scope.require_role(actor, scope.MANAGERS)
    gates = db.session.execute(
        select(Gate, Compound.name)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(scope.community_ids(actor)))
        .order_by(Compound.name, Gate.name)
    ).all()
    devices = db.session.scalars(
        select(Device)
        .where(Device.gate_id.in_([g.id for g, _ in gates]), Device.revoked_at.is_(None))
        .order_by(Device.id)
    ).all()
    by_gate: dict[int, list[Device]] = {}
    for d in devices:
        by_gate.setdefault(d.gate_id, []).append(d)
    return [(g, compound_name, by_gate.get(g.id, [])) for g, compound_name in gates]


def create_device(actor: User, gate_id: int, data: DeviceCreate) -> tuple[Device, str]:
    """A device bound to a gate; the token is returned once and stored only as a hash."""
    gate, community_id = scope.load(actor, Gate, gate_id)
    token = security.new_token()
    device = Device(
        gate_id=gate.id,
        name=data.name,
        kind=data.kind.value,
        token_hash=security.token_hash(token),
    )
    db.session.add(device)
    db.session.flush()
    audit.record(actor, "device.create", "device", device.id, community_id, name=device.name)
    db.session.commit()
    return device, token


def list_devices(actor: User, query: DeviceQuery, limit: int) -> list[Device]:
    """The devices of the actor's communities' gates by id, a page at a time; a gate outside
    the scope is not found."""
    scope.require_role(actor, scope.MANAGERS)
    stmt = (
        select(Device)
        .join(Gate, Gate.id == Device.gate_id)
        .join(Compound, Compound.id == Gate.compound_id)
        .where(Compound.community_id.in_(scope.community_ids(actor)))
    )
    if query.gate_id is not None:
        scope.load(actor, Gate, query.gate_id)
        stmt = stmt.where(Device.gate_id == query.gate_id)
    if query.kind is not None:
        stmt = stmt.where(Device.kind == query.kind.value)
    if query.after is not None:
        stmt = stmt.where(Device.id > query.after)
    return list(db.session.scalars(stmt.order_by(Device.id).limit(limit)))


def get_device(actor: User, device_id: int) -> Device:
    return scope.load(actor, Device, device_id).obj
