"""Risk areas that visitors declare against."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import RiskAreaForm
from ...services import org
from ...services import risk_areas as risk_area_service
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


def _page(**extra):
    return render_template(
        "office/risk_areas.html",
        areas=risk_area_service.list_risk_areas(current_user),
        communities=org.communities(current_user) if current_user.role == "street" else [],
        **extra,
    )


@bp.get("/risk-areas")
@role_required("office", "street")
def risk_areas():
    """The current list, with a form to add one."""
    return _page(form={})


@bp.post("/risk-areas")
@role_required("office", "street")
def add_risk_area():
    """Add a risk area; a bad field re-renders the form with the message."""
    try:
        risk_area_service.create_risk_area(current_user, RiskAreaForm.read(request.form))
    except ServiceError as exc:
        return _page(form=request.form.to_dict(), errors=problems(exc))
    flash(_("Risk area added."), "success")
    return redirect(url_for(".risk_areas"), code=303)


@bp.post("/risk-areas/<int:area_id>/delete")
@role_required("office", "street")
def delete_risk_area(area_id: int):
    """Remove a risk area: an empty answer removes the row."""
    risk_area_service.delete_risk_area(current_user, area_id)
    return ""
