"""Visitor invitations on the resident's phone (``/me/invitations``): invite a visitor on a day,
share the link, follow and cancel the household's invitations.

The share link's token exists only in the answer to the invitation (its hash is kept), so the
page that shows it is rendered straight from that answer and is never cached.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.invitations import InvitationForm
from ...domain.invitations import INVITE_DAYS_AHEAD
from ...extensions import db, htmx
from ...models import utcnow
from ...services import invitations as invitation_service
from ...services import qr
from ...services.errors import ServiceError
from ..helpers import resident_required
from .blueprint import bp


def share_url(token: str) -> str:
    """The link the visitor opens (absolute: it is sent in a chat)."""
    return url_for("invite_link.show", token=token, _external=True)


def _render(status: int = 200, **extra):
    now = utcnow()
    today = invitation_service.local_today(now)
    context = dict(
        rows=invitation_service.for_household(current_user, now),
        refused=invitation_service.refusals_now(current_user, now),
        today=today,
        last_day=today + timedelta(days=INVITE_DAYS_AHEAD),
        form=extra.pop("form", {}),
        errors=extra.pop("errors", []),
        **extra,
    )
    fragment = htmx and not htmx.boosted and not htmx.history_restore_request
    template = "me/_invitations.html" if fragment else "me/invitations.html"
    return render_template(template, **context), status


@bp.get("/invitations")
@resident_required
def invitations():
    """The household's invitations and the form to invite a visitor."""
    return _render()


@bp.post("/invitations")
@resident_required
def invite():
    """Invite a visitor: the page again with the share link (shown this once) and its QR."""
    try:
        row, token = invitation_service.create(
            current_user, InvitationForm.read(request.form), utcnow()
        )
    except ServiceError as exc:
        db.session.rollback()
        return _render(form=request.form.to_dict(), errors=problems(exc))
    url = share_url(token)
    body, status = _render(created=row, share=url, share_qr=qr.svg(url))
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/invitations/<int:invite_id>/cancel")
@resident_required
def cancel_invitation(invite_id: int):
    """Cancel an invitation whose visitor has not come: the code is refused at the gate."""
    try:
        invitation_service.cancel(current_user, invite_id, utcnow())
    except ServiceError as exc:
        if exc.status == 404:
            raise
        db.session.rollback()
        return _render(errors=problems(exc))
    if htmx:
        return _render()
    flash(_("The invitation is cancelled: the code no longer opens the gate."), "success")
    return redirect(url_for(".invitations"), code=303)
