"""Deliveries and services (``/me/requests``): a household under home observation (or one the
office allows) asks for groceries, water, medicine, a parcel or rubbish collection and follows
each request until it confirms receipt; it announces before opening its door."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.deliveries import AnnouncementForm, ServiceRequestForm
from ...contract.errors import problems
from ...domain.deliveries import ANNOUNCE_DEFAULT_MINUTES, ANNOUNCE_MAX_MINUTES
from ...domain.deliveries import under_observation as observed
from ...extensions import htmx
from ...models import utcnow
from ...services import announcements, deliveries
from ...services.errors import ServiceError
from ..helpers import local_time, resident_required
from .blueprint import bp

POLL_SECONDS = 5


def _page(**extra):
    now = utcnow()
    household = deliveries.household_of(current_user)
    context = {
        "rows": deliveries.for_household(current_user),
        "poll_seconds": POLL_SECONDS,
        "now": now,
    }
    if htmx and not htmx.boosted and not extra:
        return render_template("me/_requests.html", **context)
    return render_template(
        "me/requests.html",
        household=household,
        may_ask=deliveries.eligibility(household, now),
        observed=observed(household.observation_until, now),
        announcement=announcements.current(current_user, now),
        default_minutes=ANNOUNCE_DEFAULT_MINUTES,
        max_minutes=ANNOUNCE_MAX_MINUTES,
        form=extra.pop("form", {}),
        door_form=extra.pop("door_form", {}),
        **context,
        **extra,
    )


@bp.get("/requests")
@resident_required
def requests():
    """The form, the household's requests with their steps (the list refreshes itself)."""
    return _page()


@bp.post("/requests")
@resident_required
def ask():
    """Ask for a service; refused with the reason when the household may not ask."""
    try:
        deliveries.create(current_user, ServiceRequestForm.read(request.form))
    except ServiceError as exc:
        return _page(form=request.form.to_dict(), errors=problems(exc))
    flash(_("Request sent. A worker will take it soon."), "success")
    return redirect(url_for(".requests"), code=303)


@bp.post("/requests/<int:request_id>/confirm")
@resident_required
def confirm_request(request_id: int):
    """The delivery is in: confirm it."""
    return _step(deliveries.confirm, request_id, _("Thank you: receipt confirmed."))


@bp.post("/requests/<int:request_id>/cancel")
@resident_required
def cancel_request(request_id: int):
    """Cancel a request no worker has taken yet."""
    return _step(deliveries.cancel, request_id, _("Request cancelled."))


def _step(action, request_id: int, done: str):
    try:
        action(current_user, request_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(str(exc.message), "error")
    else:
        flash(done, "success")
    return redirect(url_for(".requests"), code=303)


@bp.post("/announcements")
@resident_required
def announce():
    """Announce opening the door for a few minutes (under home observation)."""
    try:
        row = announcements.announce(current_user, AnnouncementForm.read(request.form))
    except ServiceError as exc:
        return _page(door_form=request.form.to_dict(), door_errors=problems(exc))
    flash(
        _(
            "Announced: you may open your door until %(time)s.",
            time=local_time(row.ends_at, "%H:%M"),
        ),
        "success",
    )
    return redirect(url_for(".requests"), code=303)
