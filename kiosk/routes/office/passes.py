"""Passes, exemptions and test results from the office's pages: a member's phone or paper pass
issued and revoked on the household's page, a test result recorded there, and the exemptions
page, where one window is given to many people at once and followed up (left, back, not back).
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import (
    ChosenPeople,
    ExemptionForm,
    LedgerForm,
    PassForm,
    PeopleSearch,
    RevokeForm,
    TestForm,
)
from ...domain.decision import PassKind, TestOutcome
from ...extensions import htmx
from ...models import Pass, Resident, utcnow
from ...services import directory, ledger, org, passes, scope
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp
from .imports import uploaded_file
from .places import household_page

# The exemptions page shows windows that ended up to a week ago (and every one not back).
FOLLOW_UP = timedelta(days=7)


def _member(resident_id: int) -> Resident:
    return scope.load(current_user, Resident, resident_id).obj


def _back_to(resident: Resident):
    return redirect(url_for(".household", household_id=resident.household_id), code=303)


@bp.post("/residents/<int:resident_id>/passes")
@role_required("office", "street")
def issue_pass(resident_id: int):
    """A phone pass or a paper pass for one member."""
    resident = _member(resident_id)
    try:
        pass_ = passes.issue_pass(current_user, resident_id, PassForm.read(request.form))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return household_page(resident.household_id, failed=resident_id, errors=problems(exc))
    if pass_.kind == PassKind.PAPER:
        flash(_("Paper pass issued: print it from this page."), "success")
    else:
        flash(_("Phone pass issued."), "success")
    return _back_to(resident)


@bp.post("/passes/<int:pass_id>/revoke")
@role_required("office", "street")
def revoke_pass(pass_id: int):
    """Revoke a lost or wrong pass: the gate refuses it at its next scan."""
    pass_ = scope.load(current_user, Pass, pass_id).obj
    resident = _member(pass_.resident_id)
    try:
        passes.revoke(current_user, pass_id, RevokeForm.read(request.form))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return household_page(resident.household_id, failed=pass_.resident_id, errors=problems(exc))
    flash(_("Pass revoked: the gate refuses it from now on."), "success")
    return _back_to(resident)


@bp.post("/residents/<int:resident_id>/tests")
@role_required("office", "street")
def record_test(resident_id: int):
    """A nucleic-acid result; it counts for an exemption's test rule at the next scan."""
    resident = _member(resident_id)
    try:
        org.record_test(current_user, resident_id, TestForm.read(request.form))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return household_page(resident.household_id, failed=resident_id, errors=problems(exc))
    flash(_("Test result recorded."), "success")
    return _back_to(resident)


def _exemptions_page(**extra):
    now = utcnow()
    return render_template(
        "office/exemptions.html",
        now=now,
        rows=passes.exemptions(current_user, now, now - FOLLOW_UP),
        compounds=org.compounds(current_user),
        buildings=org.buildings(current_user),
        outcomes=tuple(TestOutcome),
        form=extra.pop("form", {}),
        chosen=extra.pop("chosen", []),
        results=extra.pop("results", None),
        reconciliation=extra.pop("reconciliation", None),
        ledger_form=extra.pop("ledger_form", {}),
        ledger_errors=extra.pop("ledger_errors", []),
        **extra,
    )


@bp.get("/exemptions")
@role_required("office", "street")
def exemptions():
    """Exemption holders (not back first), and the form that gives one window to many."""
    return _exemptions_page()


@bp.post("/exemptions/people")
@role_required("office", "street")
def pick_people():
    """The exemption form's people picker: the people ticked so far, then the search's results
    to tick more. An htmx request gets the picker alone; without script, the whole page."""
    try:
        chosen = directory.chosen(current_user, ChosenPeople.read(request.form).resident_ids)
        results = directory.people(current_user, PeopleSearch.read(request.form))
    except ServiceError as exc:
        if htmx and not htmx.boosted:
            return render_template("office/_errors.html", errors=problems(exc))
        return _exemptions_page(form=request.form, errors=problems(exc))
    if htmx and not htmx.boosted:
        return render_template(
            "office/_pick_people.html", chosen=chosen, results=results, form=request.form
        )
    return _exemptions_page(form=request.form, chosen=chosen, results=results)


@bp.post("/exemptions")
@role_required("office", "street")
def issue_exemptions():
    """One window for every ticked person: all of them, or none with the reasons why."""
    try:
        form = ExemptionForm.read(request.form)
        issued = passes.issue_exemptions(current_user, form.resident_ids, form)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        try:
            chosen = directory.chosen(current_user, ChosenPeople.read(request.form).resident_ids)
        except ServiceError:
            chosen = []
        return _exemptions_page(form=request.form, chosen=chosen, errors=problems(exc))
    flash(_("%(n)d exemptions issued.", n=len(issued)), "success")
    return redirect(url_for(".exemptions"), code=303)


@bp.post("/exemptions/reconcile")
@role_required("office", "street")
def reconcile_exemptions():
    """The two-ledger check: an uploaded list against the exemptions (of one purpose)."""
    now = utcnow()
    try:
        form = LedgerForm.read(request.form)
        data, filename = uploaded_file()
        result = ledger.reconcile(current_user, data, filename, form.purpose, now, now - FOLLOW_UP)
    except ServiceError as exc:
        return _exemptions_page(ledger_errors=problems(exc), ledger_form=request.form)
    return _exemptions_page(reconciliation=result, ledger_form=request.form)
