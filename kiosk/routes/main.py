"""The front door: home page, language switch and the health check."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import text

from ..extensions import db
from .helpers import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Home: where each role goes next."""
    return render_template("index.html")


@bp.post("/locale")
def set_locale():
    """Switch the interface language for this browser (and the signed-in user)."""
    locale = request.form.get("locale")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for(".index")), code=303)


@bp.get("/healthz")
def healthz():
    """200 when the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:
        current_app.logger.exception("health check failed")
        return jsonify(status="error", detail="database"), 503
    return jsonify(status="ok")
