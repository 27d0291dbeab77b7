"""Deliveries and services from the office: the open requests of its communities by age, and
the switch that allows a household not under observation to ask (audited)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.deliveries import ServicesAllowedForm
from ...models import utcnow
from ...services import deliveries
from ..helpers import role_required
from .blueprint import bp


@bp.get("/requests")
@role_required("office", "street")
def service_requests():
    """Every request not yet confirmed or cancelled, oldest first."""
    return render_template(
        "office/requests.html", rows=deliveries.office_open(current_user), now=utcnow()
    )


@bp.post("/households/<int:household_id>/services")
@role_required("office", "street")
def household_services(household_id: int):
    """Allow or stop deliveries for a household (under observation it may ask anyway)."""
    form = ServicesAllowedForm.read(request.form)
    household = deliveries.set_allowed(current_user, household_id, form.allowed)
    if household.services_allowed:
        flash(_("This household may now ask for deliveries."), "success")
    else:
        flash(_("Deliveries stopped for this household (unless under observation)."), "success")
    return redirect(url_for(".household", household_id=household_id), code=303)
