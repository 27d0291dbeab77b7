"""Joining (``/join``): a member of a household types or scans the code on the slip the office
printed, says who they are, chooses a username and a password, and is signed in on ``/me``.

No sign-in needed; CSRF-protected; rate-limited per address (flask-limiter on every POST, and
wrong codes counted by the sign-in throttle). Every wrong code gets the same answer. The slip's
QR opens ``/join#CODE``: the code never travels in a URL a server sees (``static/js/join.js``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..contract.errors import problems
from ..contract.me import JoinAccount, JoinCode
from ..extensions import db, limiter
from ..services import auth, joining
from ..services.errors import ServiceError
from ..services.throttle import Throttled
from .helpers import throttled_page

bp = Blueprint("join", __name__, url_prefix="/join")


def _limit() -> str:
    return current_app.config["JOIN_RATE_LIMIT"]


@bp.get("")
def start():
    """Type the code on the slip (the slip's QR fills it in)."""
    return render_template("join/code.html", code="", errors=[])


@bp.post("")
@limiter.limit(_limit)
def check_code():
    """A valid code shows who may join; any wrong code the same message."""
    typed = (request.form.get("code") or "")[:40]
    try:
        opened = joining.open_code(JoinCode.read(request.form))
    except Throttled as exc:
        return throttled_page("join/code.html", exc, code=typed, errors=[])
    except ServiceError as exc:
        db.session.rollback()
        return render_template("join/code.html", code=typed, errors=problems(exc))
    return render_template("join/account.html", opened=opened, form={}, errors=[])


@bp.post("/account")
@limiter.limit(_limit)
def create_account():
    """Spend the code: the resident's account is created and signed in, then ``/me``."""
    typed = (request.form.get("code") or "")[:40]
    try:
        user = joining.join(JoinAccount.read(request.form))
    except Throttled as exc:
        return throttled_page("join/code.html", exc, code=typed, errors=[])
    except ServiceError as exc:
        db.session.rollback()
        errors = problems(exc)
        if any(e.field == "code" for e in errors):
            return render_template("join/code.html", code=typed, errors=errors)
        try:
            opened = joining.open_code(JoinCode.read(request.form))
        except (ServiceError, Throttled):
            return render_template("join/code.html", code=typed, errors=errors)
        form = {k: request.form.get(k, "") for k in ("resident_id", "username")}
        return render_template("join/account.html", opened=opened, form=form, errors=errors)
    auth.start_session(user, auth.PASSWORD)
    flash(_("Welcome, %(name)s. This is your pass.", name=user.username), "success")
    return redirect(url_for("me.index"), code=303)
