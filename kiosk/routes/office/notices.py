"""Notices to residents: the office posts one for its community, a compound or a building, and
withdraws it (it ends now)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.notices import NoticeForm
from ...models import utcnow
from ...services import notices as notice_service
from ...services import org
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


def _page(**extra):
    return render_template(
        "office/notices.html",
        rows=notice_service.for_office(current_user, utcnow()),
        compounds=org.compounds(current_user),
        buildings=org.buildings(current_user),
        communities=org.communities(current_user) if current_user.role == "street" else [],
        form=extra.pop("form", {}),
        errors=extra.pop("errors", []),
        **extra,
    )


@bp.get("/notices")
@role_required("office", "street")
def notices():
    """The notices posted, newest first, with the form that posts one."""
    return _page()


@bp.post("/notices")
@role_required("office", "street")
def post_notice():
    """Post a notice; a bad field shows the form again with what was typed."""
    try:
        notice_service.create(current_user, NoticeForm.read(request.form))
    except ServiceError as exc:
        return _page(form=request.form.to_dict(), errors=problems(exc))
    flash(_("Notice posted: the residents it concerns see it now."), "success")
    return redirect(url_for(".notices"), code=303)


@bp.post("/notices/<int:notice_id>/withdraw")
@role_required("office", "street")
def withdraw_notice(notice_id: int):
    """End a notice now: residents no longer see it."""
    try:
        notice_service.withdraw(current_user, notice_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc))
    flash(_("Notice withdrawn."), "success")
    return redirect(url_for(".notices"), code=303)
