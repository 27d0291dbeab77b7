"""The office's start page, a live dashboard: fever alerts first, then who is inside each compound
now, entries and exits per gate today, the last 24 hours by hour, denials and refers by reason,
referred scans no guard decided, exemption holders not back, households under observation and
the guards' overrides. A street user sees one row per community and opens one with
``?community=<id>``.

One URL serves the page, or for htmx's poll (every ``DASHBOARD_REFRESH_SECONDS``) the live part
alone."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app, make_response, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ...contract.forms import Form
from ...contract.types import IdText
from ...extensions import htmx
from ...models import utcnow
from ...services import alerts
from ...services import dashboard as dashboard_service
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


class DashboardQuery(Form):
    """The dashboard's query: which community (a street user's choice; an office user's own)."""

    messages = {"community": _l("Not found.")}

    community: IdText = None


def signed_out_poll_reloads(view):
    """htmx's poll once the session has ended: send the browser to the sign-in page rather than
    swapping the sign-in form into the dashboard (htmx follows a redirect and swaps its page)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if htmx and not current_user.is_authenticated:
            login = url_for("auth.login", next=request.full_path.rstrip("?"))
            return htmx_response("", 401, redirect=login)
        return view(*args, **kwargs)

    return wrapped


@bp.get("")
@signed_out_poll_reloads
@role_required("office", "street")
def index():
    """The live dashboard of the office's community, or the street's overview."""
    try:
        query = DashboardQuery.read(request.args)
    except ServiceError:
        abort(404)  # a malformed id names no community
    now = utcnow()
    chosen = query.community
    if chosen is None and current_user.role != "street":
        chosen = current_user.community_id
    context = {
        "refresh_ms": int(current_app.config["DASHBOARD_REFRESH_SECONDS"] * 1000),
        "poll_url": url_for(".index", community=query.community),
        "street": current_user.role == "street",
        "now": now,
    }
    if chosen is None:
        context |= {
            "summary": dashboard_service.street_summary(current_user, now),
            "alerts": dashboard_service.open_alerts(current_user),
        }
    else:
        context["board"] = dashboard_service.community_dashboard(current_user, int(chosen), now)
    # The fragment for htmx's poll; a boosted link or a history restore wants the page.
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        response = make_response(render_template("office/dashboard/_live.html", **context))
    else:
        response = make_response(render_template("office/index.html", **context))
    response.vary.add("HX-Request")  # one URL, two answers: caches must tell them apart
    return response


@bp.post("/alerts/<int:alert_id>/ack")
@role_required("office", "street")
def acknowledge(alert_id: int):
    """Mark a fever alert as handled; the row disappears."""
    try:
        alerts.acknowledge_alert(current_user, alert_id)
    except ServiceError as exc:
        abort(exc.status)
    return ""
