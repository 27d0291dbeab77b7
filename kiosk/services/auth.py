"""Signing in: passwords for people, bearer tokens for the API. (Gate devices: ``gate.context``.)"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import ROLES, ApiToken, Community, Household, User, utcnow
from . import security
from .errors import Invalid


def authenticate(username: object, password: object) -> User | None:
    """The active user with this username and password, else None (timing does not tell which)."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    if not username or len(username) > 64 or len(password) > 256:
        return None
    if not _storable(username) or not _storable(password):
        return None  # NUL or a lone surrogate: no user has it, and the database would refuse it
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        security.dummy_password_check(password)
        return None
    if not security.check_password(user.password_hash, password) or not user.active:
        return None
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
    if role not in ROLES:
        raise Invalid(
            _l("role: must be one of %(options)s.", options=", ".join(ROLES)), field="role"
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
    db.session.commit()
    return user
