"""Staff accounts: the office creates guards, workers and office users of its community, sets a
new password, and disables an account (tablet PINs: ``guards``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import STAFF_ROLES, ActiveForm, NewPasswordForm, StaffForm
from ...services import org, staff
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


def _page(status: int = 200, **extra):
    page = render_template(
        "office/staff.html",
        users=staff.staff(current_user),
        roles=STAFF_ROLES,
        communities=org.communities(current_user) if current_user.role == "street" else [],
        form=extra.pop("form", {}),
        **extra,
    )
    return page, status


@bp.get("/staff")
@role_required("office", "street")
def staff_accounts():
    """The community's staff, with a form to add one."""
    return _page()


@bp.post("/staff")
@role_required("office", "street")
def add_staff():
    """Create an account; every problem is shown on the form, which keeps what was typed (but
    not the password)."""
    try:
        user = staff.create(current_user, StaffForm.read(request.form))
    except ServiceError as exc:
        typed = {k: v for k, v in request.form.items() if k != "password"}
        return _page(form=typed, errors=problems(exc))
    flash(_("Account %(name)s created.", name=user.username), "success")
    return redirect(url_for(".staff_accounts"), code=303)


@bp.post("/staff/<int:user_id>/password")
@role_required("office", "street")
def reset_staff_password(user_id: int):
    """A new password: the person's sessions and API tokens end."""
    try:
        user = staff.reset_password(
            current_user, user_id, NewPasswordForm.read(request.form).password
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc))
    flash(_("New password set for %(name)s.", name=user.username), "success")
    return redirect(url_for(".staff_accounts"), code=303)


@bp.post("/staff/<int:user_id>/active")
@role_required("office", "street")
def set_staff_active(user_id: int):
    """Disable an account (its sessions end at once) or enable it again."""
    try:
        user = staff.set_active(current_user, user_id, ActiveForm.read(request.form).active)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc))
    if user.active:
        flash(_("%(name)s can sign in again.", name=user.username), "success")
    else:
        flash(_("%(name)s is disabled.", name=user.username), "success")
    return redirect(url_for(".staff_accounts"), code=303)
