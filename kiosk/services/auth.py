"""Signing in: passwords for people, PINs for guards on a gate tablet, bearer tokens for the API;
and the sessions that follow, which the server can end.

A session's user id is ``"<id>.<session_epoch>"``. Raising the user's epoch (sign-out, a new
password or PIN, disabling the user) ends every session of that user on every server at once:
the user loader refuses an id whose epoch is not the current one. A session also records how it
was opened: a PIN session (a guard's tablet) is a session on the gate pages only.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app, request, session
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from sqlalchemy import delete, event, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.people import Role
from ..extensions import db
from ..models import ApiToken, Community, Household, User, utcnow
from . import security, throttle
from .errors import Invalid

AUTH_METHOD = "_auth_method"  # the session key: how this session was opened
PASSWORD = "password"
PIN = "pin"
PIN_BLUEPRINTS = frozenset({"gate"})  # where a PIN session is a session at all
GATE_ROLES = ("guard", "office")

_SESSION_ID = re.compile(r"([0-9]{1,18})\.([0-9]{1,9})")


def authenticate(username: object, password: object) -> User | None:
    """The active user with this username and password, else None (timing does not tell which).

    Raises ``throttle.Throttled`` while this username or this address is locked out.
    """
    name = _username(username)
    attempt = throttle.attempt(throttle.PASSWORD, name)
    user = _check_password(name, password)
    if user is None:
        attempt.failed()
    else:
        attempt.succeeded()
    return user


def _username(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not name or len(name) > 64 or not _storable(name):
        return None  # NUL or a lone surrogate: no user has it, and the database would refuse it
    return name


def _check_password(name: str | None, password: object) -> User | None:
    if name is None or not isinstance(password, str):
        return None
    if len(password) > 256 or not _storable(password):
        return None
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        security.dummy_password_check(password)
        return None
    if not security.check_password(user.password_hash, password) or not user.active:
        return None
    return user


def authenticate_guard(community_id: int, username: object, pin: object) -> User | None:
    """A guard (or office user) of this community, by username and PIN, on that community's tablet.

    Raises ``throttle.Throttled`` while this username (at this community's tablets) or this
    address is locked out: another community's tablets cannot lock a guard out of their own.
    """
    name = _username(username)
    attempt = throttle.attempt(throttle.PIN, f"{community_id}:{name}" if name else None)
    user = _check_pin(community_id, name, pin)
    if user is None:
        attempt.failed()
    else:
        attempt.succeeded()
    return user


def _check_pin(community_id: int, name: str | None, pin: object) -> User | None:
    if name is None or not isinstance(pin, str) or len(pin) > 32 or not _storable(pin):
        return None
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None or user.pin_hash is None:
        security.dummy_password_check(pin)
        return None
    if not security.check_password(user.pin_hash, pin):
        return None
    if not user.active or user.role not in GATE_ROLES or user.community_id != community_id:
        return None
    return user


# --- sessions ---------------------------------------------------------------------------------


def start_session(user: User, method: str) -> None:
    """Sign ``user`` in on this browser; ``method`` is PASSWORD or PIN."""
    login_user(user)
    session[AUTH_METHOD] = method


def session_id(value: object) -> tuple[int, int] | None:
    """The (user id, epoch) a session names, or None for anything else (signed out)."""
    found = _SESSION_ID.fullmatch(value) if isinstance(value, str) else None
    return (int(found[1]), int(found[2])) if found is not None else None


def end_session() -> None:
    """Sign-out: this browser's session and every other session of the same user end."""
    found = session_id(session.get("_user_id"))
    if found is not None:
        user_id, epoch = found
        db.session.execute(
            update(User)
            .where(User.id == user_id, User.session_epoch == epoch)
            .values(session_epoch=User.session_epoch + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    logout_user()
    session.pop(AUTH_METHOD, None)


def load_user(session_user_id: str) -> User | None:
    """Flask-Login's user loader: the user of a current session, else None (signed out)."""
    found = session_id(session_user_id)
    if found is None:
        return None  # a session from before epochs, or anything else: signed out
    user = db.session.get(User, found[0])
    if user is None or not user.active or user.session_epoch != found[1]:
        return None
    if session.get(AUTH_METHOD) == PIN and request.blueprint not in PIN_BLUEPRINTS:
        return None  # a tablet PIN opens the gate pages, nothing else
    return user


def pin_session() -> bool:
    return session.get(AUTH_METHOD) == PIN


@event.listens_for(Session, "before_flush")
def _end_sessions_on_new_credentials(sess, _flush_context, _instances) -> None:
    """A new password or PIN, or disabling a user, ends that user's sessions, whoever writes it."""
    for obj in sess.dirty:
        if not isinstance(obj, User):
            continue
        state = inspect(obj)
        if any(
            state.attrs[name].history.has_changes()
            for name in ("password_hash", "pin_hash", "active")
        ):
            obj.session_epoch = User.session_epoch + 1


def set_password(user: User, password: object) -> User:
    """A new password: every session and API token of the user ends."""
    if not isinstance(password, str) or len(password) < 8 or not _storable(password):
        raise Invalid(_l("password: at least 8 characters."), field="password")
    user.password_hash = security.hash_password(password)
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.commit()
    return user


def set_active(user: User, active: bool) -> User:
    """Disable (or enable again) a user; disabling ends every session and API token."""
    user.active = active
    if not active:
        db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.commit()
    return user


def _storable(value: str) -> bool:
    return "\x00" not in value and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def issue_api_token(user: User) -> tuple[str, ApiToken]:
    token = security.new_token()
    row = ApiToken(
        user_id=user.id,
        token_hash=security.token_hash(token),
        expires_at=utcnow() + timedelta(hours=current_app.config["API_TOKEN_HOURS"]),
    )
    db.session.add(row)
    db.session.commit()
    return token, row


def user_for_token(token: str) -> User | None:
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == security.token_hash(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.expires_at <= utcnow() or not user.active:
        return None
    return user


def create_user(
    username: str,
    role: str,
    password: str,
    community: Community | None = None,
    household: Household | None = None,
) -> User:
    """Used by the CLI and demo data."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        raise Invalid(_l("username: 1-64 characters without spaces."), field="username")
    if role not in tuple(Role):
        raise Invalid(
            _l("role: must be one of %(options)s.", options=", ".join(Role)), field="role"
        )
    if len(password) < 8:
        raise Invalid(_l("password: at least 8 characters."), field="password")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Invalid(_l("username: taken already."), field="username")
    user = User(username=username, role=role, password_hash=security.hash_password(password))
    if role == "street":
        if community is None:
            raise Invalid(_l("A street user needs a community of the street."), field="community")
        user.street_id = community.street_id
    elif role in ("office", "guard", "worker"):
        if community is None:
            raise Invalid(_l("This role needs a community."), field="community")
        user.community_id = community.id
    elif role == "resident":
        if household is None:
            raise Invalid(_l("A resident user needs a household."), field="household")
        user.household_id = household.id
    db.session.add(user)
    try:
        db.session.flush()  # the unique index decides a race for the same name
    except IntegrityError:
        db.session.rollback()
        raise Invalid(_l("username: taken already."), field="username") from None
    db.session.commit()
    return user
