"""Guards: set the PIN a guard signs in with on a tablet."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import GuardPinForm
from ...services import auth, staff
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


@bp.route("/guards", methods=("GET", "POST"))
@role_required("office", "street")
def guards():
    """Guards of the community; set a PIN."""
    errors = []
    if request.method == "POST":
        try:
            form = GuardPinForm.read(request.form)
            guard = staff.set_pin(current_user, form.user_id, form.pin)
        except ServiceError as exc:
            errors = problems(exc)
        else:
            if guard.id == current_user.id:
                # A new PIN ends the user's sessions (services/auth.py); this one carries on.
                auth.start_session(guard, auth.PASSWORD)
            flash(_("PIN set for %(name)s.", name=guard.username), "success")
            return redirect(url_for(".guards"), code=303)
    return render_template(
        "office/guards.html",
        guards=staff.guards(current_user),
        errors=errors,
    )
