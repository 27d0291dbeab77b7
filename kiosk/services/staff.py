"""Staff accounts of a community, kept by its office: guards, workers and office users; their
passwords, tablet PINs, and disabling an account. Every change is audited and ends the
sessions it must (``auth``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from ..contract.forms import STAFF_ROLES, StaffForm
from ..contract.staff import UserQuery
from ..domain.people import Role
from ..extensions import db
from ..models import MAX_ID, Building, Community, Compound, Household, User
from . import audit, auth, scope, security
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


def workers(actor: User, community_id: int | None = None) -> list[User]:
    """The active workers of the actor's communities (or of one of them), to give work to: a
    screening list's rows, disinfection areas."""
    scope.require_role(actor, scope.MANAGERS)
    ids = scope.community_ids(actor)
    if community_id is not None:
        ids = [community_id] if community_id in ids else []
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.WORKER.value, User.community_id.in_(ids), User.active)
            .order_by(User.username)
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


def staff(actor: User) -> list[User]:
    """The staff accounts of the actor's communities (street users are the street's)."""
    scope.require_role(actor, scope.MANAGERS)
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.role.in_([r.value for r in STAFF_ROLES]),
                User.community_id.in_(scope.community_ids(actor)),
            )
            .order_by(User.community_id, User.role, User.username)
        )
    )


def create(actor: User, form: StaffForm) -> User:
    """A guard, worker or office user of one of the actor's communities."""
    scope.require_role(actor, scope.MANAGERS)
    if form.role not in STAFF_ROLES:
        raise Invalid(_l("Choose the role."), field="role")
    community_id = form.community_id if actor.role == Role.STREET else actor.community_id
    if community_id is None:
        raise Invalid(_l("Choose the community."), field="community_id")
    community = db.session.get(Community, community_id)
    if community is None or not scope.in_scope(actor, community.id):
        raise Invalid(_l("Choose the community."), field="community_id")
    user = auth.create_user(form.username, form.role.value, form.password, community=community)
    audit.record(actor, "user.create", "user", user.id, community.id, role=user.role)
    db.session.commit()
    return user


def _managed(actor: User, user_id: int) -> User:
    scope.require_role(actor, scope.MANAGERS)
    user = db.session.get(User, user_id) if user_id <= scope.MAX_ID else None
    if (
        user is None
        or user.role not in STAFF_ROLES
        or user.community_id is None
        or not scope.in_scope(actor, user.community_id)
    ):
        raise NotFound()
    return user


def reset_password(actor: User, user_id: int, password: str) -> User:
    """A new password for a staff account: its sessions and API tokens end."""
    user = _managed(actor, user_id)
    audit.record(actor, "user.password", "user", user.id, user.community_id)
    return auth.set_password(user, password)


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Disable (or enable again) a staff account; never one's own."""
    user = _managed(actor, user_id)
    if user.id == actor.id:
        raise Invalid(_l("You cannot disable your own account."), field="active")
    audit.record(
        actor, "user.enable" if active else "user.disable", "user", user.id, user.community_id
    )
    return auth.set_active(user, active)


@dataclass(frozen=True)
class Account:
    """A user as others see it: never a password or PIN hash. ``community_id`` is a resident
    user's household's community."""

    id: int
    username: str
    role: str
    community_id: int | None
    active: bool


def _accounts(actor: User) -> Select:
    """SELECT the users of the actor's communities (staff by their community, resident users by
    their household's) with that community."""
    scope.require_role(actor, scope.MANAGERS)
    community = func.coalesce(User.community_id, Compound.community_id)
    return (
        select(User.id, User.username, User.role, community, User.active)
        .outerjoin(Household, Household.id == User.household_id)
        .outerjoin(Building, Building.id == Household.building_id)
        .outerjoin(Compound, Compound.id == Building.compound_id)
        .where(community.in_(scope.community_ids(actor)))
    )


def list_users(actor: User, query: UserQuery, limit: int) -> list[Account]:
    """The users of the actor's communities by id, a page at a time."""
    stmt = _accounts(actor)
    if query.role is not None:
        stmt = stmt.where(User.role == query.role.value)
    if query.active is not None:
        stmt = stmt.where(User.active == query.active)
    if query.after is not None:
        stmt = stmt.where(User.id > query.after)
    return [Account(*row) for row in db.session.execute(stmt.order_by(User.id).limit(limit))]


def get_user(actor: User, user_id: int) -> Account:
    stmt = _accounts(actor)
    row = db.session.execute(stmt.where(User.id == user_id)).first() if user_id <= MAX_ID else None
    if row is None:
        raise NotFound()
    return Account(*row)
