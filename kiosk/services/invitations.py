"""Visitor invitations: a resident invites a visitor on a day and shares a link; the link shows
the visitor the same one-time visitor code the poster's self-registration issues.

An invitation is a ``VisitInvite`` and the ``Visit`` it points to (``via = "inv"``, status
``registered``, ``valid_on`` its day), so the gate takes it on the path it already has for
visitor codes (``visitors.scan_code``): the code works once, on its day, and the visit is
logged against the inviting household.

The health code. ``Visit.health_code`` is not null, and the gate decides with it. A resident
cannot vouch for a visitor's health code, and a placeholder "green" would let a red code in
without a word. So the visitor declares it on the share page, with the risk areas they have
been to (the poster form's questions, the same facts for the same decision), and only then
does the page show the code. Until then the column holds ``UNDECLARED`` (empty), which the gate
treats as not usable (and, were it decided, as yellow: refused). The declaration is one
conditional UPDATE, so it is made once.

The share link ``/v/<token>``: 32 random bytes, kept only as a keyed hash (``link_hash``), so
the database cannot give the link back; the resident sees it once, when the invitation is made.
The token is not personal data and the share page shows nothing of the household (no building,
unit or room): only the visitor's masked name, the compound and the day. A wrong token is "not
found"; a real one that was cancelled or has expired says so (the token has too much entropy
to be guessed, so saying so reveals nothing).

Refusals. An invitation is refused, with the reasons, when the gate would refuse any visitor of
the household on that day: the compound takes no visitors, the compound or the host's building
is sealed or in-only (an in-only building lets a guest in but never out again), or the
household is under home observation. ``visitors.host_refusals`` reads the same facts (seals in
force with their schedules) and gives the same reasons as the gate's decision, so the page and
the gate agree. Cancelling is a conditional UPDATE of the visit's status: from that moment the
gate finds no usable code, and a visitor already inside cannot be cancelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..contract.invitations import DATE_MESSAGE, DeclarationForm, InvitationCreate
from ..domain.invitations import (
    CANCELLED,
    INVITE_DAYS_AHEAD,
    UNDECLARED,
    VIA_INVITATION,
    InvitationStatus,
    invitation_status,
)
from ..domain.reasons import reason_message
from ..extensions import db
from ..models import MAX_ID, Building, Compound, Household, User, Visit, VisitInvite
from . import risk_areas, scope, security, visitors
from .errors import Conflict, Invalid, NotFound

# What a share link's token looks like (``security.new_token``): URL-safe base64.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
# The household's invitations a page lists, newest first.
LIST_LIMIT = 100


class Refused(Conflict):
    """No visitor may come to this household on that day: every reason, as the gate says it."""

    def __init__(self, reasons: tuple[str, ...]):
        text = "；".join(gettext(reason_message(r)) for r in reasons)
        super().__init__(
            _l("No visitors for your household on that day: %(reasons)s", reasons=text),
            code=reasons[0],
            field="date",
        )
        self.reasons = reasons


@dataclass(frozen=True)
class Row:
    """One invitation with its visit, as its household sees it."""

    invite: VisitInvite
    visit: Visit
    today: date

    @property
    def id(self) -> int:
        return self.invite.id

    @property
    def name(self) -> str:
        return self.visit.name

    @property
    def phone_last4(self) -> str:
        return self.visit.phone_last4

    @property
    def date(self) -> date | None:
        return self.visit.valid_on

    @property
    def purpose(self) -> str:
        return self.visit.purpose

    @property
    def status(self) -> InvitationStatus:
        return invitation_status(self.visit.status, self.visit.valid_on, self.today)

    @property
    def created_at(self) -> datetime:
        return self.invite.created_at

    @property
    def cancelled_at(self) -> datetime | None:
        return self.invite.cancelled_at

    @property
    def arrived_at(self) -> datetime | None:
        return self.visit.checked_in_at

    @property
    def left_at(self) -> datetime | None:
        return self.visit.checked_out_at

    @property
    def cancellable(self) -> bool:
        return self.status is InvitationStatus.WAITING


@dataclass(frozen=True)
class Share:
    """What the share page may show: the visitor's name (masked there), the compound, the day,
    and the invitation's state; the code only once the visitor has declared."""

    invite: VisitInvite
    visit: Visit
    compound: Compound
    status: InvitationStatus
    declared: bool


def local_today(now: datetime) -> date:
    return now.astimezone(current_app.config["TZ"]).date()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=current_app.config["TZ"])


def refusals(household_id: int, day: date, now: datetime) -> tuple[str, ...]:
    """Why the gate would refuse any visitor of the household on ``day`` (empty: it would not),
    judged at the later of now and the day's start (a seal scheduled for that day counts)."""
    return visitors.host_refusals(household_id, max(now, _start_of(day)))


def refusals_now(actor: User, now: datetime) -> tuple[str, ...]:
    """The same for today: what the invitation page says above its form."""
    return refusals(scope.own_household(actor), local_today(now), now)


def _compound_of(household_id: int) -> Compound:
    return db.session.scalars(
        select(Compound)
        .join(Building, Building.compound_id == Compound.id)
        .join(Household, Household.building_id == Building.id)
        .where(Household.id == household_id)
    ).one()


def create(actor: User, data: InvitationCreate, now: datetime) -> tuple[Row, str]:
    """Invite a visitor on a day: the invitation and its share link's token (shown once)."""
    household_id = scope.own_household(actor)
    today = local_today(now)
    if not today <= data.date <= today + timedelta(days=INVITE_DAYS_AHEAD):
        raise Invalid(DATE_MESSAGE, code="invalid", field="date")
    refused = refusals(household_id, data.date, now)
    if refused:
        raise Refused(refused)
    phone = security.normalise_phone(data.phone)
    visit = Visit(
        compound_id=_compound_of(household_id).id,
        host_household_id=household_id,
        name=data.name,
        phone_hash=security.keyed_hash(phone),
        phone_last4=phone[-4:],
        purpose=data.purpose.value,
        health_code=UNDECLARED,
        risk_area_ids="",
        via=VIA_INVITATION,
        status="registered",
        valid_on=data.date,
        created_at=now,
    )
    db.session.add(visit)
    db.session.flush()
    token = security.new_token()
    invite = VisitInvite(
        visit_id=visit.id,
        household_id=household_id,
        invited_by_id=actor.id,
        link_hash=security.keyed_hash(token),
        created_at=now,
    )
    db.session.add(invite)
    db.session.commit()
    return Row(invite, visit, today), token


def for_household(actor: User, now: datetime) -> list[Row]:
    """The household's invitations, newest first."""
    household_id = scope.own_household(actor)
    today = local_today(now)
    rows = db.session.execute(
        select(VisitInvite, Visit)
        .join(Visit, Visit.id == VisitInvite.visit_id)
        .where(VisitInvite.household_id == household_id)
        .order_by(VisitInvite.created_at.desc(), VisitInvite.id.desc())
        .limit(LIST_LIMIT)
    )
    return [Row(invite, visit, today) for invite, visit in rows]


def _own(actor: User, invite_id: int) -> VisitInvite:
    """One invitation of the actor's household; any other is not found."""
    household_id = scope.own_household(actor)
    if not 1 <= invite_id <= MAX_ID:
        raise NotFound()
    invite = db.session.get(VisitInvite, invite_id)
    if invite is None or invite.household_id != household_id:
        raise NotFound()
    return invite


def get(actor: User, invite_id: int, now: datetime) -> Row:
    invite = _own(actor, invite_id)
    return Row(invite, db.session.get(Visit, invite.visit_id), local_today(now))


def cancel(actor: User, invite_id: int, now: datetime) -> Row:
    """Cancel an invitation whose visitor has not come: its code is refused at the gate from
    now on. One conditional UPDATE: a visitor scanned in at the same moment wins, and the
    resident is told so."""
    invite = _own(actor, invite_id)
    moved = db.session.execute(
        update(Visit)
        .where(Visit.id == invite.visit_id, Visit.status == "registered")
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        row = get(actor, invite_id, now)
        if row.status is InvitationStatus.CANCELLED:
            raise Conflict(_l("This invitation is cancelled already."), code="already_cancelled")
        raise Conflict(
            _l("The visitor has come already: the invitation cannot be cancelled."),
            code="visitor_came",
        )
    db.session.execute(
        update(VisitInvite)
        .where(VisitInvite.id == invite.id, VisitInvite.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.expire_all()
    return get(actor, invite_id, now)


# --- the share page ---------------------------------------------------------------------------


def _by_token(token: object) -> VisitInvite:
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise NotFound()
    invite = db.session.scalar(
        select(VisitInvite).where(VisitInvite.link_hash == security.keyed_hash(token))
    )
    if invite is None:
        raise NotFound()
    return invite


def share(token: object, now: datetime) -> Share:
    """The invitation behind a share link; a wrong token is not found."""
    invite = _by_token(token)
    visit = db.session.get(Visit, invite.visit_id)
    status = invitation_status(visit.status, visit.valid_on, local_today(now))
    return Share(
        invite,
        visit,
        db.session.get(Compound, visit.compound_id),
        status,
        visit.health_code != UNDECLARED,
    )


def declare(token: object, form: DeclarationForm, now: datetime) -> Share:
    """The visitor declares their health code and risk areas, once, while the code is unused."""
    current = share(token, now)
    if current.status is not InvitationStatus.WAITING:
        raise Conflict(_l("This invitation cannot be used any more."), code="not_waiting")
    known = {a.id for a in risk_areas.current_risk_areas(current.compound.community_id)}
    if not set(form.risk_area_ids) <= known:
        raise Invalid(_l("Choose risk areas from the list."), field="risk_area_ids")
    db.session.execute(
        update(Visit)
        .where(
            Visit.id == current.visit.id,
            Visit.status == "registered",
            Visit.health_code == UNDECLARED,
        )
        .values(
            health_code=form.health_code.value,
            risk_area_ids=",".join(map(str, sorted(set(form.risk_area_ids)))),
        )
        .execution_options(synchronize_session=False)
    )
    # Declared now or a moment ago in another tab: either way the page shows the code.
    db.session.commit()
    db.session.expire_all()
    return share(token, now)


def preview(visit: Visit, now: datetime):
    """What the gate will say on the visit's day if nothing changes (without a temperature)."""
    return visitors.preview(visit, max(now, _start_of(visit.valid_on)))
