"""Home observation: the office puts households under observation until a time with a reason,
many at once, extends it or ends it early; their members' exits are refused at the gate."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import EndObservationForm, ObservationForm, ObservationQuery
from ...contract.org import HouseholdChange
from ...models import utcnow
from ...services import audit, org
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


def _page(status: int = 200, **extra):
    now = utcnow()
    try:
        order = ObservationQuery.read(request.args).sort
    except ServiceError as exc:
        order = "until"
        extra.setdefault("errors", problems(exc))
    observed = org.under_observation(current_user, now, order)
    page = render_template(
        "office/observation.html",
        now=now,
        order=order,
        observed=observed,
        set_by=audit.history(
            current_user, "household.observation", [h.id for h, _b, _c in observed], 1
        ),
        households=org.household_choices(current_user),
        form=extra.pop("form", {}),
        chosen=extra.pop("chosen", []),
        **extra,
    )
    return page, status


@bp.get("/observation")
@role_required("office", "street")
def observation():
    """Households under observation now, soonest end first, and the form to add or extend."""
    return _page()


@bp.post("/observation")
@role_required("office", "street")
def observe():
    """Start or extend observation for the chosen households: all of them or none."""
    try:
        form = ObservationForm.read(request.form)
        done = org.observe(current_user, form.household_ids, form)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(
            form=request.form, chosen=request.form.getlist("household_ids"), errors=problems(exc)
        )
    flash(_("%(n)d households under observation.", n=len(done)), "success")
    return redirect(url_for(".observation"), code=303)


@bp.post("/observation/end")
@role_required("office", "street")
def end_observation():
    """End observation early for the ticked households."""
    try:
        form = EndObservationForm.read(request.form)
        ended = org.observe(
            current_user,
            form.household_ids,
            HouseholdChange(observation_until=None, observation_reason=None),
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc))
    flash(_("Observation ended for %(n)d households.", n=len(ended)), "success")
    return redirect(url_for(".observation"), code=303)
