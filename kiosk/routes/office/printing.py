"""Paper passes: print a household's or a building's (a page and a PDF), and issue a building's
in one go."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...contract.forms import ExemptionPrintQuery
from ...services import printing
from ..helpers import role_required
from .blueprint import bp


def _page(sheet: printing.Sheet, pdf_url: str, issue_url: str | None = None, heading=None):
    return render_template(
        "office/print_passes.html",
        place=sheet.place,
        cards=sheet.cards,
        pdf_url=pdf_url,
        issue_url=issue_url,
        heading=heading,
    )


def _pdf(sheet: printing.Sheet):
    response = make_response(printing.pdf(sheet.cards))
    response.headers["Content-Type"] = "application/pdf"
    # The file name names the household or building by number only, never a person.
    response.headers["Content-Disposition"] = f'attachment; filename="{sheet.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/households/<int:household_id>/passes/print")
@role_required("office", "street")
def print_household_passes(household_id: int):
    sheet = printing.household_cards(current_user, household_id)
    return _page(sheet, url_for(".household_passes_pdf", household_id=household_id))


@bp.get("/households/<int:household_id>/passes.pdf")
@role_required("office", "street")
def household_passes_pdf(household_id: int):
    return _pdf(printing.household_cards(current_user, household_id))


@bp.get("/buildings/<int:building_id>/passes/print")
@role_required("office", "street")
def print_building_passes(building_id: int):
    sheet = printing.building_cards(current_user, building_id)
    return _page(
        sheet,
        url_for(".building_passes_pdf", building_id=building_id),
        url_for(".issue_building_passes", building_id=building_id),
    )


@bp.get("/buildings/<int:building_id>/passes.pdf")
@role_required("office", "street")
def building_passes_pdf(building_id: int):
    return _pdf(printing.building_cards(current_user, building_id))


@bp.post("/buildings/<int:building_id>/passes")
@role_required("office", "street")
def issue_building_passes(building_id: int):
    """A paper pass for every resident of the building who has none, then the print view."""
    issued = printing.issue_building_passes(current_user, building_id)
    if issued:
        message = ngettext(
            "%(num)d paper pass issued.", "%(num)d paper passes issued.", len(issued)
        )
        flash(message, "success")
    else:
        flash(_("Every resident of the building has a paper pass already."), "info")
    return redirect(url_for(".print_building_passes", building_id=building_id), code=303)


@bp.get("/exemptions/print")
@role_required("office", "street")
def print_exemptions():
    """The exemptions still to be used, one card each (``?purpose=`` one purpose only)."""
    purpose = ExemptionPrintQuery.read(request.args).purpose
    sheet = printing.exemption_cards(current_user, purpose)
    pdf_url = url_for(".exemptions_pdf", purpose=purpose) if purpose else url_for(".exemptions_pdf")
    return _page(sheet, pdf_url, heading=_("Exemptions"))


@bp.get("/exemptions.pdf")
@role_required("office", "street")
def exemptions_pdf():
    purpose = ExemptionPrintQuery.read(request.args).purpose
    return _pdf(printing.exemption_cards(current_user, purpose))
