"""Signing in and out of the web pages."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from ..extensions import limiter
from ..services import auth

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/login", methods=("GET", "POST"))
@limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"], methods=["POST"])
def login():
    """The sign-in form; a wrong password keeps the username and says so."""
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        user = auth.authenticate(username, request.form.get("password") or "")
        if user is not None:
            login_user(user)
            flash(_("Signed in as %(name)s.", name=user.username), "success")
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("main.index")
            return redirect(target, code=303)
        error = _("Wrong username or password.")
    return render_template("auth/login.html", error=error, username=username), 200


@bp.post("/logout")
def logout():
    """Sign out."""
    logout_user()
    flash(_("Signed out."), "info")
    return redirect(url_for("main.index"), code=303)
