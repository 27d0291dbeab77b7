"""Signing in and out of the web pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..services import auth
from ..services.throttle import Throttled
from .helpers import safe_next, throttled_page

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/login", methods=("GET", "POST"))
def login():
    """The sign-in form; a wrong password keeps the username and says so.

    Failures are throttled per username and per address (services/throttle.py), not the tries.
    """
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        try:
            user = auth.authenticate(username, request.form.get("password") or "")
        except Throttled as exc:
            return throttled_page("auth/login.html", exc, username=username)
        if user is not None:
            auth.start_session(user, auth.PASSWORD)
            flash(_("Signed in as %(name)s.", name=user.username), "success")
            # A joined resident's start is their pass; everyone else's the home page.
            home = url_for("me.index") if user.resident_id is not None else url_for("main.index")
            return redirect(safe_next(request.args.get("next"), home), code=303)
        error = _("Wrong username or password.")
    return render_template("auth/login.html", error=error, username=username), 200


@bp.post("/logout")
def logout():
    """Sign out: this session and every other session of the same user end."""
    auth.end_session()
    flash(_("Signed out."), "info")
    return redirect(url_for("main.index"), code=303)
