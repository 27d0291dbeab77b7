"""The office's start page: fever alerts (open, and closed by a second reading) and guards'
overrides, newest first."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template
from flask_login import current_user

from ...models import utcnow
from ...services import alerts, events
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


@bp.get("")
@role_required("office", "street")
def index():
    """Alerts to acknowledge and the latest overrides."""
    return render_template(
        "office/index.html",
        alerts=alerts.open_alerts(current_user),
        closed=alerts.closed_by_second_reading(current_user, utcnow()),
        undecided=events.undecided_refers(current_user, utcnow() - timedelta(days=1)),
        overrides=events.recent_overrides(current_user),
    )


@bp.post("/alerts/<int:alert_id>/ack")
@role_required("office", "street")
def acknowledge(alert_id: int):
    """Mark a fever alert as handled; the row disappears."""
    try:
        alerts.acknowledge_alert(current_user, alert_id)
    except ServiceError as exc:
        abort(exc.status)
    return ""
