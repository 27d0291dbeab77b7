"""Compounds: visitor policy, the household outing quota and the printable self-registration
poster."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import QuotaForm, VisitorPolicyForm
from ...models import Compound
from ...services import org, qr, quota, scope
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


@bp.route("/compounds", methods=("GET", "POST"))
@role_required("office", "street")
def compounds():
    """Compounds of the community; set each one's visitor policy."""
    errors = []
    if request.method == "POST":
        try:
            form = VisitorPolicyForm.read(request.form)
            org.set_visitor_policy(current_user, form.compound_id, form.visitor_policy)
        except ServiceError as exc:
            errors = problems(exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".compounds"), code=303)
    return _page(errors)


def _page(errors, quota_typed=None):
    return render_template(
        "office/compounds.html",
        compounds=org.compounds(current_user),
        errors=errors,
        quota_typed=quota_typed,
        quota_days=quota.QUOTA_DAYS,
    )


@bp.post("/compounds/quota")
@role_required("office", "street")
def compound_quota():
    """Set or lift a compound's household outing quota; a refused form is shown again as typed."""
    try:
        form = QuotaForm.read(request.form)
        quota.set_quota(
            current_user, form.compound_id, form.quota_exits, form.quota_days, form.quota_hours
        )
    except ServiceError as exc:
        return _page(problems(exc), quota_typed=request.form)
    flash(_("Saved."), "success")
    return redirect(url_for(".compounds"), code=303)


@bp.get("/compounds/<int:compound_id>/poster")
@role_required("office", "street")
def poster(compound_id: int):
    """A printable poster: the QR links to the visitor self-registration form."""
    compound = scope.load(current_user, Compound, compound_id).obj
    link = url_for("visit.register", slug=compound.public_slug, _external=True)
    return render_template("office/poster.html", compound=compound, link=link, qr_svg=qr.svg(link))
