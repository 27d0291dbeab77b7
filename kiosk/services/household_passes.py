"""A resident looks after the paper passes of their own household's members without a phone.

The elderly who never touch a phone carry a printed pass (``passes.code_for``: a static signed
code). Someone in the family issues it, prints it (``printing``: the same cards and PDF as the
office's) and, when it is lost, revokes it and prints a new one; the gate refuses the old code at
its next scan, since the scan reads ``Pass.revoked_at``.

The rules a resident acts under, narrower than the office's:
- only members of their own household (``scope.own_household``); any other person or pass is
  not found, whatever its id, so ids of other households tell nothing;
- only members **without a login**: a member who signed in has a phone pass and manages their
  own, so a relative cannot print a second, static code of them behind their back;
- only paper passes, and one active paper pass per member at a time (a lost one is revoked
  first): a second card in a drawer is a second way through the gate.

Every issue and revocation is audited with the resident as the actor (the office's audit trail
shows who did it). Two relatives pressing "issue" at once do not make two passes: the first
write takes the member's row lock (PostgreSQL) or the database's write lock (SQLite), so the
second waits and then finds the active pass. A revocation is a conditional UPDATE (``WHERE
revoked_at IS NULL``): of two at once, one revokes and the other is told it was revoked already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..contract.household import PaperPassCreate
from ..contract.passes import PassRevoke
from ..domain.audit import AuditAction, AuditTarget
from ..domain.decision import PassKind
from ..extensions import db
from ..models import MAX_ID, Building, Compound, Household, Pass, Resident, User, utcnow
from . import audit, printing, scope
from .errors import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class Member:
    """One member of the actor's household as the household page shows them (full name: they
    are the actor's own family)."""

    resident_id: int
    name: str
    is_you: bool
    has_login: bool
    phone_pass: bool  # an active phone pass (rotating code)
    paper_pass: Pass | None  # the active paper pass, if any

    @property
    def may_have_paper_pass(self) -> bool:
        """The actor may issue or revoke this member's paper pass: they have no login."""
        return not self.has_login


@dataclass(frozen=True)
class HouseholdView:
    household_id: int
    community_id: int
    compound: str
    building: str
    unit: str
    room: str
    members: list[Member]


def _place(household_id: int):
    """The household with its building and compound (one query)."""
    return db.session.execute(
        select(Household, Building, Compound)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Household.id == household_id)
    ).one()


def _active(kind: PassKind, now: datetime):
    if kind is PassKind.PAPER:
        return printing.active_paper(now)
    return (
        (Pass.kind == kind.value)
        & Pass.revoked_at.is_(None)
        & ((Pass.valid_until.is_(None)) | (Pass.valid_until > now))
    )


def household(actor: User) -> HouseholdView:
    """The actor's household: its address and its members, who has a login, who has an active
    phone or paper pass."""
    household_id = scope.own_household(actor)
    home, building, compound = _place(household_id)
    now = utcnow()
    residents = list(
        db.session.scalars(
            select(Resident)
            .where(Resident.household_id == household_id, Resident.moved_away_at.is_(None))
            .order_by(Resident.id)
        )
    )
    ids = [r.id for r in residents]
    logins = set(
        db.session.scalars(
            select(User.resident_id).where(User.resident_id.in_(ids), User.role == "resident")
        )
    )
    phone = set(
        db.session.scalars(
            select(Pass.resident_id).where(
                Pass.resident_id.in_(ids), _active(PassKind.RESIDENT, now)
            )
        )
    )
    paper: dict[int, Pass] = {}
    for p in db.session.scalars(
        select(Pass)
        .where(Pass.resident_id.in_(ids), _active(PassKind.PAPER, now))
        .order_by(Pass.id)
    ):
        paper[p.resident_id] = p  # the newest, should there ever be two
    members = [
        Member(
            resident_id=r.id,
            name=r.name,
            is_you=r.id == actor.resident_id,
            has_login=r.id in logins,
            phone_pass=r.id in phone,
            paper_pass=paper.get(r.id),
        )
        for r in residents
    ]
    return HouseholdView(
        household_id,
        compound.community_id,
        compound.name,
        building.name,
        home.unit,
        home.room,
        members,
    )


def _own_member(actor: User, resident_id: int) -> tuple[Resident, int]:
    """A member of the actor's household and its community; anyone else is not found."""
    household_id = scope.own_household(actor)
    if not 1 <= resident_id <= MAX_ID:
        raise NotFound()
    resident = db.session.get(Resident, resident_id)
    if resident is None or resident.household_id != household_id:
        raise NotFound()
    if resident.moved_away_at is not None:
        raise NotFound()
    return resident, _place(household_id)[2].community_id


def _without_login(resident: Resident) -> None:
    has_login = db.session.scalar(select(User.id).where(User.resident_id == resident.id))
    if has_login is not None:
        raise Conflict(
            _l("This member signs in with their own phone: they manage their own pass."),
            code="member_has_login",
        )


def issue_paper_pass(actor: User, resident_id: int, data: PaperPassCreate) -> Pass:
    """A paper pass for a member of the actor's household without a login, who has no active
    one; audited with the resident as the actor."""
    resident, community_id = _own_member(actor, resident_id)
    _without_login(resident)
    now = utcnow()
    if data.valid_until is not None and data.valid_until <= now:
        raise Invalid(_l("valid_until: must be in the future."), field="valid_until")
    # A write that changes nothing takes the member's row lock (SQLite: the write lock), so two
    # relatives issuing at once are served one after the other and the second finds the pass.
    db.session.execute(
        update(Resident)
        .where(Resident.id == resident.id)
        .values(household_id=Resident.household_id)
        .execution_options(synchronize_session=False)
    )
    active = db.session.scalar(
        select(Pass.id).where(Pass.resident_id == resident.id, printing.active_paper(now))
    )
    if active is not None:
        db.session.rollback()
        raise Conflict(
            _l("This member has an active paper pass: revoke the lost one first."),
            code="paper_pass_active",
        )
    pass_ = Pass(
        resident_id=resident.id,
        kind=PassKind.PAPER.value,
        valid_from=now,
        valid_until=data.valid_until,
        created_by_id=actor.id,
    )
    db.session.add(pass_)
    db.session.flush()
    audit.record(
        actor,
        AuditAction.PASS_ISSUE,
        AuditTarget.PASS,
        pass_.id,
        community_id,
        kind=PassKind.PAPER.value,
        by="resident",
    )
    db.session.commit()
    return pass_


def revoke_paper_pass(actor: User, pass_id: int, data: PassRevoke) -> Pass:
    """Revoke a lost paper pass of a member of the actor's household without a login: the gate
    refuses it from its next scan. A pass of another household, or not a paper pass, is not
    found."""
    household_id = scope.own_household(actor)
    if not 1 <= pass_id <= MAX_ID:
        raise NotFound()
    found = db.session.execute(
        select(Pass, Resident)
        .join(Resident, Resident.id == Pass.resident_id)
        .where(
            Pass.id == pass_id,
            Resident.household_id == household_id,
            Pass.kind == PassKind.PAPER.value,
        )
    ).one_or_none()
    if found is None:
        raise NotFound()
    pass_, resident = found
    _without_login(resident)
    now = utcnow()
    done = db.session.execute(
        update(Pass)
        .where(Pass.id == pass_.id, Pass.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=data.reason)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.rollback()
        raise Conflict(_l("The pass is revoked already."), code="already_revoked")
    audit.record(
        actor,
        AuditAction.PASS_REVOKE,
        AuditTarget.PASS,
        pass_.id,
        _place(household_id)[2].community_id,
        reason=data.reason,
        by="resident",
    )
    db.session.commit()
    db.session.refresh(pass_)
    return pass_


def sheet(actor: User) -> printing.Sheet:
    """The active paper passes of the actor's household as cards to print (masked names: a
    card is shown to guards and may be lost in the street)."""
    household_id = scope.own_household(actor)
    home, building, compound = _place(household_id)
    rows = db.session.execute(
        select(Pass, Resident.name, Household.unit, Household.room, Building.name, Compound.name)
        .join(Resident, Resident.id == Pass.resident_id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Household.id == household_id, printing.active_paper(utcnow()))
    )
    place = " ".join(
        (
            compound.name,
            building.name,
            str(_l("unit %(unit)s", unit=home.unit)),
            str(_l("room %(room)s", room=home.room)),
        )
    )
    return printing.Sheet(place, printing.cards(rows), f"passes-household-{household_id}.pdf")
