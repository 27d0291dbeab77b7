"""Visitor self-registration: the public form behind the poster's QR code.

No sign-in; CSRF-protected and rate-limited. It never shows anything about other people: the
host is chosen from building, unit and room only.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..contract.errors import problems
from ..contract.forms import VisitorForm
from ..domain.visitors import PURPOSES, VisitorPolicy
from ..extensions import db, limiter
from ..services import qr, risk_areas, visitors
from ..services.errors import ServiceError

bp = Blueprint("visit", __name__, url_prefix="/visit")


@bp.route("/<slug>", methods=("GET", "POST"))
@limiter.limit(lambda: current_app.config["VISIT_RATE_LIMIT"], methods=["POST"])
def register(slug: str):
    """The visitor fills in the form on their phone and gets a one-time code for today."""
    compound = visitors.compound_for_slug(slug)
    if compound.visitor_policy == VisitorPolicy.NONE:
        # An old poster still leads here: no form, no code (the gate would refuse it anyway).
        status = 403 if request.method == "POST" else 200
        return render_template("visit/closed.html", compound=compound), status
    form: dict = {}
    errors = []
    if request.method == "POST":
        form = request.form.to_dict()
        form["risk_area_ids"] = request.form.getlist("risk_area_ids")
        try:
            visit, code, preview = visitors.self_register(slug, VisitorForm.read(request.form))
        except ServiceError as exc:
            db.session.rollback()
            errors = problems(exc)
        else:
            return render_template(
                "visit/code.html",
                compound=compound,
                visit=visit,
                code=code,
                qr_svg=qr.svg(code),
                preview=preview,
            )
    return render_template(
        "visit/form.html",
        compound=compound,
        households=visitors.household_choices(compound.id),
        risk_areas=risk_areas.current_risk_areas(compound.community_id),
        lookback_days=current_app.config["RISK_LOOKBACK_DAYS"],
        purposes=PURPOSES,
        form=form,
        errors=errors,
    )
