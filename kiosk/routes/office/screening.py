"""Screening lists (核查名单): import a list (CSV, GBK or UTF-8, or XLSX) with its name, source
and date, see each row matched to a resident, ambiguous or not living here, work through the
rows (status, note, worker; home observation from a row), and reconcile a list with another or
with the residents (双台账), downloadable.

A row's form posts to one URL: with htmx the row replaces itself (``hx-target="closest tr"``),
without JavaScript the page is shown again (303).
"""

from __future__ import annotations

from io import BytesIO

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.screening import (
    HEADER,
    ReconcileForm,
    ScreeningFilterForm,
    ScreeningImportForm,
    ScreeningRowFilter,
    ScreeningRowForm,
)
from ...domain.screening import CallStatus, MatchStatus
from ...extensions import htmx
from ...models import utcnow
from ...services import org, staff, tables
from ...services import screening as service
from ...services.errors import ServiceError
from ..helpers import label, role_required
from .blueprint import bp
from .imports import _lang, uploaded_file

PAGE_ROWS = 500


def _index(status: int = 200, **extra):
    return (
        render_template(
            "office/screening.html",
            lists=service.lists(current_user),
            header=HEADER,
            communities=org.communities(current_user) if current_user.role == "street" else [],
            form=extra.pop("form", {}),
            errors=extra.pop("errors", []),
            imported=extra.pop("imported", None),
            label=label,
        ),
        status,
    )


@bp.get("/screening")
@role_required("office", "street")
def screening():
    """The screening lists with their progress, and the form that imports one."""
    return _index()


@bp.post("/screening")
@role_required("office", "street")
def import_screening():
    """Import a list and match its rows; bad rows are listed with their problems. A bad field
    or an unreadable file shows the form again with what was typed."""
    try:
        heading = ScreeningImportForm.read(request.form)
        data, filename = uploaded_file()
        imported = service.import_file(current_user, heading, data, filename)
    except ServiceError as exc:
        return _index(form=request.form.to_dict(), errors=problems(exc))
    return _index(imported=imported)


def _filters() -> tuple[ScreeningRowFilter, list]:
    try:
        form = ScreeningFilterForm.read(request.args)
    except ServiceError as exc:
        return ScreeningRowFilter.model_construct(), problems(exc)
    # Already checked by the form: the API's filter model is only filled in.
    return ScreeningRowFilter.model_construct(
        call_status=form.call_status, match=form.match, assigned_to_id=form.assigned_to_id
    ), []


@bp.get("/screening/<int:list_id>")
@role_required("office", "street")
def screening_list(list_id: int):
    """A list's rows, filtered by status, match and worker, with the progress bar."""
    summary = service.summary(current_user, list_id)
    query, errors = _filters()
    found = service.rows(current_user, list_id, query, limit=PAGE_ROWS)
    return render_template(
        "office/screening_list.html",
        summary=summary,
        rows=service.views(found),
        workers=staff.workers(current_user, summary.community_id),
        others=[s for s in service.lists(current_user) if s.id != summary.id],
        query=query,
        errors=errors,
        statuses=tuple(CallStatus),
        matches=tuple(MatchStatus),
        page_rows=PAGE_ROWS,
        label=label,
    )


def _row_answer(row_id: int, list_id: int, errors: list | None = None):
    """The row again for htmx (itself, with any problem), else back to the list (303)."""
    if htmx and not htmx.boosted:
        row = service.views([service.load_row(current_user, row_id)[0]])[0]
        summary = service.summary(current_user, list_id)
        return render_template(
            "office/screening_row.html",
            view=row,
            workers=staff.workers(current_user, summary.community_id),
            statuses=tuple(CallStatus),
            errors=errors or [],
            label=label,
        )
    for e in errors or []:
        flash(e.message, "error")
    return redirect(url_for(".screening_list", list_id=list_id), code=303)


@bp.post("/screening/rows/<int:row_id>")
@role_required("office", "street")
def update_screening_row(row_id: int):
    """Save a row's status, note and worker (and the person chosen for an ambiguous row)."""
    row, lst = service.load_row(current_user, row_id)
    try:
        form = ScreeningRowForm.read(request.form)
        changes: dict[str, object] = {"note": form.note, "assigned_to_id": form.assigned_to_id}
        if form.call_status is not None:
            changes["call_status"] = form.call_status
        if form.resident_id is not None:
            changes["resident_id"] = form.resident_id
        service.change(current_user, row.id, changes)
    except ServiceError as exc:
        return _row_answer(row_id, lst.id, problems(exc))
    if not (htmx and not htmx.boosted):
        flash(_("Row %(n)s saved.", n=row.row_number), "success")
    return _row_answer(row_id, lst.id)


@bp.post("/screening/rows/<int:row_id>/observe")
@role_required("office", "street")
def observe_screening_row(row_id: int):
    """Put the row's household under home observation for 14 days (the list's name as the
    reason) and mark the row."""
    row, lst = service.load_row(current_user, row_id)
    try:
        service.observe(current_user, row.id, utcnow())
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _row_answer(row_id, lst.id, problems(exc))
    if not (htmx and not htmx.boosted):
        flash(_("The household is under home observation for 14 days."), "success")
    return _row_answer(row_id, lst.id)


def _words() -> dict[str, str]:
    return {
        "side": _("Where"),
        "row_a": _("Row in A"),
        "row_b": _("Row in B"),
        "name": _("Name"),
        "address": _("Address"),
        "phone_last4": _("Phone (last 4)"),
        "id_last4": _("ID number (last 4)"),
        "both": _("On both"),
        "only_a": _("Only in A"),
        "only_b": _("Only in B"),
    }


@bp.get("/screening/<int:list_id>/reconcile")
@role_required("office", "street")
def reconcile_screening(list_id: int):
    """List A against another list or the residents: on both, only in A, only in B; with
    ``format`` the same as a CSV or Excel download."""
    errors: list = []
    try:
        form = ReconcileForm.read(request.args)
    except ServiceError as exc:
        form, errors = ReconcileForm(), problems(exc)
    rec = service.reconcile(current_user, list_id, form.other_id)
    if form.format is not None and not errors:
        data = service.download(rec, form.format, _words())
        name = f"reconciliation-{list_id}-{form.other_id or 'residents'}.{form.format}"
        mimetype = tables.XLSX_TYPE if form.format == "xlsx" else tables.CSV_TYPE
        return send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)
    return render_template(
        "office/screening_reconcile.html",
        rec=rec,
        others=[s for s in service.lists(current_user) if s.id != list_id],
        other_id=form.other_id,
        errors=errors,
        lang=_lang(),
    )
