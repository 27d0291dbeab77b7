"""Joining: the office prints a household's slip with a one-time code; a member of the household
types or scans it, says who they are and chooses a username and a password, and is from then on
a user of role resident bound to their own record (``docs/residents.md``).

- A code is 10 characters of an alphabet without look-alikes (31 symbols, about 49.5 bits),
  stored only as a keyed hash (``security.token_hash``), valid for 14 days, single use. A new
  slip for a household revokes its earlier unused ones.
- Every way a code can be wrong (mistyped, unknown, expired, used, revoked) gets the same
  answer; failures are counted per address by the sign-in throttle (``throttle``, kind
  ``join``), so nobody can try codes at any useful rate.
- Spending a code is one conditional UPDATE (``used_at IS NULL AND revoked_at IS NULL AND
  expires_at > now``): of two people joining with one code at the same moment one gets in, the
  other gets the same "not valid" answer, never a 500. The account and the phone pass are
  written in the same transaction, so a refused username undoes the spending.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError

from ..contract import me as contract
from ..domain.decision import PassKind
from ..domain.people import Role, mask_name
from ..extensions import db
from ..models import Building, Household, HouseholdInvite, Pass, Resident, User, utcnow
from . import audit, qr, scope, security, throttle
from .errors import Invalid

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
LENGTH = 10
VALID_DAYS = 14
THROTTLE_KIND = "join"

NOT_VALID = _l(
    "This code is not valid. Check it on the slip, or ask the community office for a new slip."
)


@dataclass(frozen=True)
class Slip:
    """One printed slip: the code exists only here, never in the database."""

    code: str
    compound: str
    building: str
    unit: str
    room: str
    expires_at: datetime

    @property
    def spaced(self) -> str:
        """The code as printed: two groups of five, easy to read out and type."""
        return f"{self.code[:5]} {self.code[5:]}"

    def qr_svg(self, join_url: str) -> Markup:
        """The QR of the joining page with the code in the fragment (``/join#CODE``): a
        browser never sends a fragment, so the code is in no server's log."""
        return qr.svg(f"{join_url}#{self.code}")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(code: str) -> str:
    """What was typed, as stored: upper case, without spaces and dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -")


def _issue(actor: User, household: Household, now: datetime) -> Slip:
    db.session.execute(
        update(HouseholdInvite)
        .where(
            HouseholdInvite.household_id == household.id,
            HouseholdInvite.used_at.is_(None),
            HouseholdInvite.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    code = new_code()
    expires_at = now + timedelta(days=VALID_DAYS)
    db.session.add(
        HouseholdInvite(
            household_id=household.id,
            code_hash=security.token_hash(code),
            created_at=now,
            created_by_id=actor.id,
            expires_at=expires_at,
        )
    )
    building = household.building
    return Slip(
        code, building.compound.name, building.name, household.unit, household.room, expires_at
    )


def issue_slip(actor: User, household_id: int) -> Slip:
    """A new joining slip for a household (its earlier unused slips stop working)."""
    household, community_id = scope.load(actor, Household, household_id)
    now = utcnow()
    slip = _issue(actor, household, now)
    db.session.flush()
    audit.record(actor, "invite.issue", "invite", household.id, community_id)
    db.session.commit()
    return slip


def issue_building_slips(actor: User, building_id: int) -> list[Slip]:
    """A new slip for every household of a building, in one transaction with one audit entry."""
    building, community_id = scope.load(actor, Building, building_id)
    now = utcnow()
    households = db.session.scalars(
        select(Household).where(Household.building_id == building.id).order_by(Household.id)
    ).all()
    slips = [_issue(actor, h, now) for h in households]
    slips.sort(key=lambda s: (_natural(s.unit), _natural(s.room)))
    db.session.flush()
    audit.record(
        actor,
        "invite.issue_bulk",
        "invite",
        None,
        community_id,
        building=building.id,
        count=len(slips),
    )
    db.session.commit()
    return slips


def _natural(value: str) -> tuple:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


# --- the resident's side ----------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A member of the household without a login, as the slip's holder sees them."""

    resident_id: int
    masked: str


@dataclass(frozen=True)
class Opened:
    """A valid code: the household's address and who may still join."""

    code: str
    compound: str
    building: str
    unit: str
    room: str
    members: list[Member]


def _valid(code_hash: str, now: datetime):
    return and_(
        HouseholdInvite.code_hash == code_hash,
        HouseholdInvite.used_at.is_(None),
        HouseholdInvite.revoked_at.is_(None),
        HouseholdInvite.expires_at > now,
    )


def _members(household_id: int) -> list[Member]:
    has_login = exists().where(User.resident_id == Resident.id)
    rows = db.session.execute(
        select(Resident.id, Resident.name)
        .where(
            Resident.household_id == household_id,
            Resident.moved_away_at.is_(None),
            ~has_login,
        )
        .order_by(Resident.id)
    )
    return [Member(rid, mask_name(name)) for rid, name in rows]


def open_code(data: contract.JoinCode) -> Opened:
    """The household behind a valid code; one answer for every wrong code, counted per address
    (``throttle.Throttled`` while the address is locked out)."""
    attempt = throttle.attempt(THROTTLE_KIND, None)
    code = normalise(data.code)
    now = utcnow()
    household = db.session.scalar(
        select(Household)
        .join(HouseholdInvite, HouseholdInvite.household_id == Household.id)
        .where(_valid(security.token_hash(code), now))
    )
    if household is None:
        attempt.failed()
        raise Invalid(NOT_VALID, code="bad_code", field="code")
    building = household.building
    return Opened(
        code,
        building.compound.name,
        building.name,
        household.unit,
        household.room,
        _members(household.id),
    )


def join(data: contract.JoinAccount) -> User:
    """Spend the code, create the resident's account (and a phone pass if they have no active
    one), all or nothing. Raises ``Invalid`` for a wrong code, a member who is not of the
    household or has a login already, or a username that is taken."""
    attempt = throttle.attempt(THROTTLE_KIND, None)
    code = normalise(data.code)
    now = utcnow()
    code_hash = security.token_hash(code)
    invite = db.session.scalar(select(HouseholdInvite).where(_valid(code_hash, now)))
    if invite is None:
        attempt.failed()
        raise Invalid(NOT_VALID, code="bad_code", field="code")
    resident = db.session.get(Resident, data.resident_id)
    if (
        resident is None
        or resident.household_id != invite.household_id
        or resident.moved_away_at is not None
    ):
        raise Invalid(_l("Choose who you are from the list."), field="resident_id")
    if db.session.scalar(select(User.id).where(User.resident_id == resident.id)) is not None:
        raise Invalid(_l("This member has joined already."), field="resident_id")
    if db.session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Invalid(_l("username: taken already."), field="username")
    user = User(
        username=data.username,
        role=Role.RESIDENT.value,
        password_hash=security.hash_password(data.password),
        household_id=invite.household_id,
        resident_id=resident.id,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same username or member at the same moment
        db.session.rollback()
        raise Invalid(_l("username: taken already."), field="username") from None
    spent = db.session.execute(
        update(HouseholdInvite)
        .where(HouseholdInvite.id == invite.id, _valid(code_hash, now))
        .values(used_at=now, used_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # another tab or person spent it first
        db.session.rollback()
        raise Invalid(NOT_VALID, code="bad_code", field="code")
    if not _has_phone_pass(resident.id, now):
        db.session.add(Pass(resident_id=resident.id, kind=PassKind.RESIDENT.value, valid_from=now))
    db.session.commit()
    return user


def _has_phone_pass(resident_id: int, now: datetime) -> bool:
    return (
        db.session.scalar(
            select(Pass.id)
            .where(
                Pass.resident_id == resident_id,
                Pass.kind == PassKind.RESIDENT.value,
                Pass.revoked_at.is_(None),
                (Pass.valid_until.is_(None)) | (Pass.valid_until > now),
            )
            .limit(1)
        )
        is not None
    )
