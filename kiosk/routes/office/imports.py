"""Import the people list (buildings, households, residents) from a CSV or Excel file, and export
it: check the file, see every row's problems and what would be created, then import it all.

The upload form posts the file to be checked; the preview is shown inside the same form, so its
"Import" button sends the form again (the chosen file with it) to the confirmation, with the
digest of the file that was checked (``services.imports`` says why nothing is kept between the
two). With htmx the preview replaces ``#import-preview`` and ``upload-progress.js`` shows the
upload's progress; without JavaScript both are whole pages.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ...contract.errors import problems
from ...contract.imports import ExportQuery, ImportConfirmForm, ImportForm, TemplateQuery
from ...extensions import htmx
from ...services import imports, org, tables
from ...services.errors import Invalid, ServiceError
from ..helpers import role_required, send_download
from .blueprint import bp


def _lang() -> str:
    return "zh" if get_locale().language == "zh" else "en"


def uploaded_file() -> tuple[bytes, str]:
    """The uploaded file's bytes (read up to one past the limit, so a huge file is refused
    without reading it all) and its name."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_l("Choose a CSV or Excel (.xlsx) file."), code="file_missing", field="file")
    return upload.stream.read(tables.MAX_BYTES + 1), upload.filename


def _page(status: int = 200, **context):
    """The whole page, or only the preview for htmx (which swaps it into ``#import-preview``)."""
    context.setdefault("errors", [])
    context.setdefault("preview", None)
    context.setdefault("chosen", request.form.get("compound_id", ""))
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        return render_template("office/import_preview.html", **context), status
    return (
        render_template(
            "office/import.html",
            compounds=org.compounds(current_user),
            overview=imports.overview(current_user),
            max_rows=tables.MAX_ROWS,
            max_bytes=tables.MAX_BYTES,
            **context,
        ),
        status,
    )


@bp.get("/import")
@role_required("office", "street")
def import_page():
    """The upload form, the template, and the export of each compound's people."""
    return _page()


@bp.post("/import")
@role_required("office", "street")
def import_preview():
    """Check the uploaded file: every row with its problems, and what would be created."""
    try:
        form = ImportForm.read(request.form)
        data, filename = uploaded_file()
        preview = imports.preview(current_user, form.compound_id, data, filename)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc))
    return _page(preview=preview)


@bp.post("/import/confirm")
@role_required("office", "street")
def import_confirm():
    """Import the checked file: all of its rows in one transaction, or none."""
    try:
        form = ImportConfirmForm.read(request.form)
        data, filename = uploaded_file()
        done = imports.run(current_user, form.compound_id, data, filename, form.digest)
    except imports.Refused as exc:
        return _page(errors=problems(exc), preview=exc.preview)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc))
    flash(
        _(
            "Imported into %(compound)s: %(buildings)d buildings, %(households)d households, "
            "%(residents)d residents.",
            compound=done.compound.name,
            buildings=done.buildings,
            households=done.households,
            residents=done.residents,
        ),
        "success",
    )
    if htmx:  # the browser loads the page (with the message) itself: XHR would follow a 303
        return "", 200, {"HX-Redirect": url_for(".import_page")}
    return redirect(url_for(".import_page"), code=303)


@bp.get("/people/export")
@role_required("office", "street")
def people_export():
    """The residents of a compound (or of all), as CSV or Excel: ID and phone by last four."""
    query = ExportQuery.read(request.args)
    return send_download(imports.export(current_user, query.compound, query.format, _lang()))


@bp.get("/import/template")
@role_required("office", "street")
def import_template():
    """The blank people list to fill in: its header row."""
    query = TemplateQuery.read(request.args)
    return send_download(imports.template(query.format, _lang()))
