"""Staff accounts of a community: its guards and office users, and their tablet PINs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..domain.people import Role
from ..extensions import db
from ..models import User
from . import audit, scope, security
from .errors import Invalid, NotFound


def guards(actor: User) -> list[User]:
    """Whose PIN the actor may set: the guards of the actor's communities, and the actor."""
    scope.require_role(actor, scope.MANAGERS)
    return list(
        db.session.scalars(
            select(User)
            .where(
                or_(User.role == Role.GUARD.value, User.id == actor.id),
                User.community_id.in_(scope.community_ids(actor)),
            )
            .order_by(User.role, User.username)
        )
    )


def set_pin(actor: User, guard_id: int, pin: object) -> User:
    """The office sets a guard's PIN (4-8 digits), or an office user their own (to stand in at a
    gate). Never another office user's: a PIN signs in at the gate under that person's name."""
    scope.require_role(actor, scope.MANAGERS)
    guard = db.session.get(User, guard_id) if guard_id <= scope.MAX_ID else None
    if guard is None or guard.community_id is None:
        raise NotFound()
    if guard.role != Role.GUARD and guard.id != actor.id:
        raise NotFound()
    if not scope.in_scope(actor, guard.community_id):
        raise NotFound()
    if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8 or not pin.isascii():
        raise Invalid(_l("The PIN must be 4 to 8 digits."), field="pin")
    guard.pin_hash = security.hash_password(pin)
    audit.record(actor, "user.pin", "user", guard.id, guard.community_id)
    db.session.commit()
    return guard
