"""Moving away: the office removes a person who no longer lives here.

In one transaction: every live pass of the person is revoked (the gate refuses it at its next
scan), any resident login bound to them is disabled and unbound (its sessions and API tokens
end), their open screening rows are closed as "moved away", and their record is anonymised: the
name becomes a neutral marker, the keyed hashes and last fours of the ID number and phone are
cleared. The row itself stays, so their past access events and test results still count and a
trace still holds, but they name nobody. Moved-away people are left out of the office's lists
and counts (``directory``) and of the lists residents see.

The record is changed by one conditional UPDATE (``moved_away_at IS NULL``): of two calls at the
same moment one moves the person away and the other is told so (409), never a second time. The
UPDATE also raises the person's ``state_version``, so a scan deciding for them at that moment
loses its own conditional write and decides again, against the revoked pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, false, or_, select, update

from ..domain.audit import AuditAction, AuditTarget
from ..domain.screening import CallStatus
from ..extensions import db
from ..models import ApiToken, Pass, Resident, ScreeningRow, User
from . import audit, scope
from .errors import Conflict

# What the anonymised record keeps in place of the name: pages show a translated "moved away"
# label instead (``routes/helpers.py`` ``person_name``), the gate's masked name is this too.
PLACEHOLDER_NAME = "—"
REVOKED_REASON = "moved away"


@dataclass(frozen=True)
class MovedAway:
    """What moving one person away did."""

    resident_id: int
    household_id: int
    moved_away_at: datetime
    passes_revoked: int
    logins_disabled: int
    screening_rows_closed: int


def already_moved() -> Conflict:
    return Conflict(_l("This person has moved away already."), code="moved_away")


def refuse_if_moved_away(resident: Resident) -> None:
    """For the changes that make no sense for a moved-away person (a new pass, new details)."""
    if resident.moved_away_at is not None:
        raise already_moved()


def move_away(actor: User, resident_id: int, now: datetime) -> MovedAway:
    """Move one person of the actor's communities away (office and street roles; anyone else's
    person is not found). A second call for the same person is a Conflict."""
    resident, community_id = scope.load(actor, Resident, resident_id)
    household_id = resident.household_id
    anonymised = db.session.execute(
        update(Resident)
        .where(Resident.id == resident_id, Resident.moved_away_at.is_(None))
        .values(
            name=PLACEHOLDER_NAME,
            id_hash=None,
            id_last4=None,
            phone_hash=None,
            phone_last4=None,
            presence=None,  # neither inside nor outside: no longer counted anywhere
            state_version=Resident.state_version + 1,
            moved_away_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if anonymised.rowcount != 1:
        db.session.rollback()
        raise already_moved()
    revoked = db.session.execute(
        update(Pass)
        .where(
            Pass.resident_id == resident_id,
            Pass.revoked_at.is_(None),
            or_(Pass.valid_until.is_(None), Pass.valid_until > now),
        )
        .values(revoked_at=now, revoked_reason=REVOKED_REASON)
        .execution_options(synchronize_session=False)
    ).rowcount
    logins = list(db.session.scalars(select(User).where(User.resident_id == resident_id)))
    for user in logins:
        # Disabling ends every session of the user (auth's flush hook raises the epoch).
        user.active = False
        user.resident_id = None
    if logins:
        db.session.execute(
            delete(ApiToken)
            .where(ApiToken.user_id.in_([u.id for u in logins]))
            .execution_options(synchronize_session=False)
        )
    closed = db.session.execute(
        update(ScreeningRow)
        .where(ScreeningRow.resident_id == resident_id, ScreeningRow.closed == false())
        .values(
            closed=True,
            call_status=CallStatus.MOVED_AWAY.value,
            updated_by_id=actor.id,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        actor,
        AuditAction.RESIDENT_MOVE_AWAY,
        AuditTarget.RESIDENT,
        resident_id,
        community_id,
        household_id=household_id,
        passes_revoked=revoked,
        logins_disabled=len(logins),
        screening_rows_closed=closed,
    )
    db.session.commit()
    return MovedAway(resident_id, household_id, now, revoked, len(logins), closed)
