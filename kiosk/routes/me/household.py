"""The household's page on a resident's phone: the members, who has a login or a pass, and the
paper passes of the members without a phone (issue, print as a page or a PDF, revoke a lost
one); the notices that concern the household on top.

Plain forms answered by a redirect (303): they work in every in-app browser, with or without
JavaScript. A refused action shows the page again with the message next to the member.
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import RevokeForm
from ...contract.household import PaperPassForm
from ...models import utcnow
from ...services import household_passes, notices, printing
from ...services.errors import ServiceError
from ..helpers import resident_required
from .blueprint import bp


def _page(status: int = 200, **extra):
    return (
        render_template(
            "me/household.html",
            home=household_passes.household(current_user),
            notices=notices.for_resident(current_user, utcnow()),
            failed=extra.pop("failed", None),
            errors=extra.pop("errors", []),
            form=extra.pop("form", {}),
            **extra,
        ),
        status,
    )


@bp.get("/household")
@resident_required
def household():
    """The household's members and the paper passes of those without a phone."""
    return _page()


@bp.post("/household/members/<int:resident_id>/paper-passes")
@resident_required
def issue_paper_pass(resident_id: int):
    """A paper pass for a member without a login; then print it from the page."""
    try:
        household_passes.issue_paper_pass(
            current_user, resident_id, PaperPassForm.read(request.form)
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(
            failed=f"member-{resident_id}", errors=problems(exc), form=request.form.to_dict()
        )
    flash(_("Paper pass issued: print it and give it to them."), "success")
    return redirect(url_for(".household"), code=303)


@bp.post("/passes/<int:pass_id>/revoke")
@resident_required
def revoke_paper_pass(pass_id: int):
    """Revoke a lost paper pass: the gate refuses it from its next scan."""
    try:
        revoked = household_passes.revoke_paper_pass(
            current_user, pass_id, RevokeForm.read(request.form)
        )
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(failed=f"pass-{pass_id}", errors=problems(exc), form=request.form.to_dict())
    flash(
        _("Pass revoked: the gate refuses it from now on. Issue and print a new one below."),
        "success",
    )
    return redirect(url_for(".household", _anchor=f"member-{revoked.resident_id}"), code=303)


@bp.get("/household/passes/print")
@resident_required
def print_passes():
    """The household's active paper passes on A4 cards to print (masked names)."""
    sheet = household_passes.sheet(current_user)
    return render_template(
        "office/print_passes.html",
        place=sheet.place,
        cards=sheet.cards,
        pdf_url=url_for(".passes_pdf"),
        issue_url=None,
    )


@bp.get("/household/passes.pdf")
@resident_required
def passes_pdf():
    """The same cards as an A4 PDF with the Chinese font embedded."""
    sheet = household_passes.sheet(current_user)
    response = make_response(printing.pdf(sheet.cards))
    response.headers["Content-Type"] = "application/pdf"
    # The file name names the household by number only, never a person.
    response.headers["Content-Disposition"] = f'attachment; filename="{sheet.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
