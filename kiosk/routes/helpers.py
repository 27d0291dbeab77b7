"""Template helpers and small route helpers shared by the blueprints."""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user


ROLE_LABELS = {
    "street": _l("street office"),
    "office": _l("community office"),
    "guard": _l("guard"),
    "worker": _l("worker"),
    "resident": _l("resident"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def register(app: Flask) -> None:
    @app.context_processor
    def inject():
        return {
            "current_locale": "zh_CN" if get_locale().language == "zh" else "en",
            "languages": current_app.config["LANGUAGES"],
            "role_label": role_label,
        }

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.headers.get("HX-Request"):
            response.vary.add("HX-Request")
        return response


def role_required(*roles: str):
    """Page views: signed in with one of these roles, else 403 (or the login page)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
