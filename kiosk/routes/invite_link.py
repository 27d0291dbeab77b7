"""The share link of a visitor invitation (``/v/<token>``): public, no sign-in, rate-limited.

The visitor declares their health code (and risk areas) once, then sees the one-time visitor
code for the invitation's day. The page shows the visitor's masked name, the compound and the
day, and nothing of the household; a wrong token is "not found", a cancelled or expired
invitation says so.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..contract.errors import problems
from ..contract.invitations import DeclarationForm
from ..domain.invitations import InvitationStatus
from ..extensions import db, limiter
from ..models import utcnow
from ..services import invitations, qr, risk_areas, visitors
from ..services.errors import ServiceError

bp = Blueprint("invite_link", __name__, url_prefix="/v")


def _limit() -> str:
    return current_app.config.get("INVITE_LINK_RATE_LIMIT", "30 per minute")


def _page(share, form=None, errors=()):
    context = dict(share=share, form=form or {}, errors=list(errors), waiting=False)
    if share.status is InvitationStatus.WAITING:
        context["waiting"] = True
        if share.declared:
            code = visitors.visitor_code(share.visit)
            context |= dict(
                code=code,
                qr_svg=qr.svg(code),
                preview=invitations.preview(share.visit, utcnow()),
            )
        else:
            context |= dict(
                risk_areas=risk_areas.current_risk_areas(share.compound.community_id),
                lookback_days=current_app.config["RISK_LOOKBACK_DAYS"],
            )
    response = render_template("visit/invitation.html", **context)
    return response, 200, {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@bp.route("/<token>", methods=("GET", "POST"))
@limiter.limit(_limit, methods=["GET"])
@limiter.limit(lambda: current_app.config["VISIT_RATE_LIMIT"], methods=["POST"])
def show(token: str):
    """The invitation's code for the visitor, after their health declaration."""
    share = invitations.share(token, utcnow())
    if request.method == "POST":
        try:
            share = invitations.declare(token, DeclarationForm.read(request.form), utcnow())
        except ServiceError as exc:
            db.session.rollback()
            form = request.form.to_dict()
            form["risk_area_ids"] = request.form.getlist("risk_area_ids")
            return _page(invitations.share(token, utcnow()), form, problems(exc))
    return _page(share)
