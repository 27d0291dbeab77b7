"""Moving away from the office's pages: the "Moved away" button of a member on the household's
page (behind a confirmation step) removes the person (services/moving.py)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...models import Resident, utcnow
from ...services import moving, scope
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp
from .places import household_page


@bp.post("/residents/<int:resident_id>/move-away")
@role_required("office", "street")
def move_away(resident_id: int):
    """The member moved away: passes revoked, logins disabled, the record anonymised."""
    resident = scope.load(current_user, Resident, resident_id).obj
    household_id = resident.household_id
    try:
        moving.move_away(current_user, resident_id, utcnow())
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return household_page(household_id, failed="moved_away", errors=problems(exc)), exc.status
    flash(
        _("The member moved away: their passes no longer work and their name is removed."),
        "success",
    )
    return redirect(url_for(".household", household_id=household_id), code=303)
