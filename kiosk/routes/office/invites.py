"""Joining slips: the office prints a household's slip (or one for every household of a
building) with a one-time code and its QR. The code is shown once, on the page answering the
POST, and kept only as a keyed hash: printing again issues a new slip and voids the old one."""

from __future__ import annotations

from flask import make_response, render_template, url_for
from flask_login import current_user

from ...services import joining
from ..helpers import role_required
from .blueprint import bp


def _slips(slips: list[joining.Slip], place: str):
    response = make_response(
        render_template(
            "office/invite_slips.html",
            slips=slips,
            place=place,
            join_url=url_for("join.start", _external=True),
        )
    )
    response.headers["Cache-Control"] = "no-store"  # the codes are on this page only
    return response


@bp.post("/households/<int:household_id>/invites")
@role_required("office", "street")
def issue_household_slip(household_id: int):
    """A new joining slip for the household, ready to print (earlier unused slips stop)."""
    slip = joining.issue_slip(current_user, household_id)
    return _slips([slip], f"{slip.building} {slip.unit}-{slip.room}")


@bp.post("/buildings/<int:building_id>/invites")
@role_required("office", "street")
def issue_building_slips(building_id: int):
    """A new joining slip for every household of the building, ready to print."""
    slips = joining.issue_building_slips(current_user, building_id)
    place = slips[0].building if slips else ""
    return _slips(slips, place)
