"""Who acts at which gate: the enrolled device behind a tablet or a bearer token, the action's
context, and the no-code look-up. A guard's sign-in is ``auth.authenticate_guard``, a guard's
PIN ``staff.set_pin``; deciding is ``scan``'s; the log is ``gatelog``'s."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import and_, or_, select

from .. import prepared
from ..contract.forms import LookupForm
from ..domain.people import mask_name
from ..extensions import db
from ..models import (
    Building,
    Compound,
    Device,
    Gate,
    Household,
    Resident,
    User,
    utcnow,
)
from ..prepared import Prepared
from . import in_force, security
from .auth import GATE_ROLES


@dataclass(frozen=True)
class GateContext:
    device_id: int
    device_name: str
    gate_id: int
    gate_name: str
    is_open: bool
    opens_at: time | None
    closes_at: time | None
    compound_id: int
    compound_name: str
    community_id: int
    temperature_required: bool
    fever_threshold: float
    visitor_policy: str

    def open_at(self, now: datetime) -> bool:
        """Open by the office and within its opening hours at ``now``."""
        return in_force.gate_open(self.is_open, self.opens_at, self.closes_at, now)

    @property
    def gate_open(self) -> bool:
        return self.open_at(utcnow())


_CONTEXT = (
    select(
        Device.id,
        Device.name,
        Gate.id,
        Gate.name,
        Gate.is_open,
        Gate.opens_at,
        Gate.closes_at,
        Compound.id,
        Compound.name,
        Compound.community_id,
        Compound.temperature_required,
        Compound.fever_threshold,
        Compound.visitor_policy,
    )
    .join(Gate, Gate.id == Device.gate_id)
    .join(Compound, Compound.id == Gate.compound_id)
    .where(Device.revoked_at.is_(None))
)


# Built once per process, run on the session's connection by the driver's cursor
# (``kiosk.prepared``): every tablet request asks.
_CONTEXT_BY_TOKEN = Prepared(_CONTEXT.where(Device.token_hash == db.bindparam("token_hash")))
_CONTEXT_BY_ID = Prepared(_CONTEXT.where(Device.id == db.bindparam("device_id")))


def _read(stmt: Prepared, params: dict):
    """One row, on a gate-path connection of its own (on PostgreSQL one round trip, and no
    transaction left open on the ORM session for the request's end to roll back)."""
    with prepared.connect(db.engine) as conn:
        return stmt.execute(conn, params).first()


def context(device_token: str | None) -> GateContext | None:
    """The enrolled device behind a tablet's cookie or a device's bearer token, or None."""
    if not device_token or len(device_token) > 200:
        return None
    params = {"token_hash": security.token_hash(device_token)}
    row = _read(_CONTEXT_BY_TOKEN, params)
    return GateContext(*row) if row is not None else None


# The tablet page's check in one round trip: its device, and the guard its session names if that
# session is current (the epoch: ``auth``) and the user may act at this gate (``GATE_ROLES`` of
# the gate's community). Flask-Login's loader would add an ORM load of the user to every scan.
_TABLET = Prepared(
    _CONTEXT.add_columns(User.id.label("guard_id"), User.locale.label("guard_locale"))
    .outerjoin(
        User,
        and_(
            User.id == db.bindparam("user_id"),
            User.session_epoch == db.bindparam("epoch"),
            User.active.is_(True),
            or_(*(User.role == role for role in GATE_ROLES)),  # no expanding IN: compiled once
            User.community_id == Compound.community_id,
        ),
    )
    .where(Device.token_hash == db.bindparam("token_hash"))
)


@dataclass(frozen=True)
class Tablet:
    """A tablet's device, and the guard signed in on it (None: nobody who may act here)."""

    gate: GateContext
    guard_id: int | None
    guard_locale: str | None  # the guard's saved language, read with the guard


def tablet(device_token: str | None, session: tuple[int, int] | None) -> Tablet | None:
    """The enrolled device behind a tablet's cookie and its guard; None when the device is not
    enrolled. ``session``: the (user id, epoch) of the tablet's session (``auth.session_id``)."""
    if not device_token or len(device_token) > 200:
        return None
    user_id, epoch = session if session is not None else (None, None)
    params = {"token_hash": security.token_hash(device_token), "user_id": user_id, "epoch": epoch}
    row = _read(_TABLET, params)
    if row is None:
        return None
    return Tablet(GateContext(*row[:-2]), row.guard_id, row.guard_locale)


def context_by_id(device_id: int) -> GateContext | None:
    """The same, for a device already known by id (the tablet page resolved its cookie)."""
    row = _read(_CONTEXT_BY_ID, {"device_id": device_id})
    return GateContext(*row) if row is not None else None


@dataclass(frozen=True)
class GateAction:
    """Who acts at which gate, and when: what every gate action shares.

    The device is named by its bearer token (the API: looked up in the scan's one SELECT) or by
    its id (the tablet page, whose cookie was resolved once by the page's guard check).
    """

    device_token: str | None = None
    device_id: int | None = None
    guard_id: int | None = None
    request_id: str | None = None
    now: datetime = field(default_factory=utcnow)

    @classmethod
    def tablet(cls, ctx: GateContext, guard_id: int | None, request_id: str | None = None):
        return cls(device_id=ctx.device_id, guard_id=guard_id, request_id=request_id)


def lookup(ctx: GateContext, form: LookupForm) -> list[tuple[int, str, str, str]]:
    """People without a code: building, unit and the last four of the ID number (the declared
    form has checked them).

    Returns (resident id, masked name, building, unit) for each match in this compound only.
    """
    building_id, unit, last4 = form.building_id, form.unit, form.last4
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
