"""Retention: how long the street keeps the gate log, when the last purge ran and what it
deleted, and the daily counts per gate that are all that remains of purged events."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...contract.errors import problems
from ...contract.retention import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS, RetentionForm
from ...services import retention as retention_service
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp

# What a purge run deleted, as the page names it (services/retention.py ``TABLES``).
TABLE_LABELS = {
    "alert": _l("Fever alerts"),
    "access_event": _l("Access events"),
    "visit_invite": _l("Visitor invitations"),
    "visit": _l("Visits"),
    "screening_row": _l("Screening list rows"),
    "screening_list": _l("Screening lists"),
    "door_alarm": _l("Door alarms"),
    "sensor_event": _l("Door sensor events"),
    "audit_entry": _l("Audit entries"),
}


def _page(errors=(), typed=None):
    return render_template(
        "office/retention.html",
        view=retention_service.overview(current_user),
        tables=retention_service.TABLES,
        table_labels=TABLE_LABELS,
        errors=list(errors),
        typed=typed,
        min_days=RETENTION_MIN_DAYS,
        max_days=RETENTION_MAX_DAYS,
    )


@bp.get("/retention")
@role_required("office", "street")
def retention():
    """The street's retention period, the audit trail's, the last purge and the counts kept."""
    return _page()


@bp.post("/retention")
@role_required("street")
def set_retention():
    """A street user changes the street's retention period (an office user sees it only); a
    refused form is shown again as typed."""
    try:
        form = RetentionForm.read(request.form)
        retention_service.set_retention_days(current_user, form.retention_days)
    except ServiceError as exc:
        return _page(problems(exc), typed=request.form.get("retention_days", ""))
    flash(_("Saved."), "success")
    return redirect(url_for(".retention"), code=303)
