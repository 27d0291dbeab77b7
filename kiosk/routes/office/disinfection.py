"""Disinfection rounds (消杀): the areas of the office's compounds with their last tick and
whether they are overdue; add and retire areas; print QR stickers and a week's record."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.disinfection import AreaForm, AreaWorkerForm, StickerForm, WeekQuery
from ...contract.errors import problems
from ...extensions import htmx
from ...models import utcnow
from ...services import disinfection, qr, staff
from ...services.errors import ServiceError
from ..helpers import role_required, row_removed
from .blueprint import bp


def _page(**extra):
    now = utcnow()
    context = {
        "rows": disinfection.areas(current_user, now),
        "compounds": disinfection.compounds(current_user),
        "workers": staff.workers(current_user),
        "now": now,
        "form": {},
        **extra,
    }
    if htmx and not htmx.boosted:
        return render_template("office/_disinfection_areas.html", **context)
    return render_template("office/disinfection.html", **context)


@bp.get("/disinfection")
@role_required("office", "street")
def disinfection_areas():
    """Every area with its last tick, overdue ones first, and the form to add one."""
    return _page()


@bp.post("/disinfection")
@role_required("office", "street")
def add_area():
    """Add an area; a bad field re-renders the form with what was typed."""
    try:
        disinfection.create_area(current_user, AreaForm.read(request.form))
    except ServiceError as exc:
        return render_template(
            "office/disinfection.html",
            rows=disinfection.areas(current_user, utcnow()),
            compounds=disinfection.compounds(current_user),
            workers=staff.workers(current_user),
            now=utcnow(),
            form=request.form.to_dict(),
            errors=problems(exc),
        )
    flash(_("Area added. Print its sticker and put it up at the area."), "success")
    return redirect(url_for(".disinfection_areas"), code=303)


@bp.post("/disinfection/areas/<int:area_id>/retire")
@role_required("office", "street")
def retire_area(area_id: int):
    """Retire an area: an empty answer removes its row."""
    return row_removed(
        lambda: disinfection.retire_area(current_user, area_id), url_for(".disinfection_areas")
    )


@bp.post("/disinfection/areas/<int:area_id>/worker")
@role_required("office", "street")
def assign_area(area_id: int):
    """Give an area to a worker of its community (first on their list), or to nobody. htmx
    gets the table again; a bad choice is a message on the page."""
    try:
        disinfection.assign_area(current_user, area_id, AreaWorkerForm.read(request.form))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(str(problems(exc)[0].message), "error")
        if htmx:
            return "", 200, {"HX-Redirect": url_for(".disinfection_areas")}
    return _page() if htmx else redirect(url_for(".disinfection_areas"), code=303)


@bp.post("/disinfection/stickers")
@role_required("office", "street")
def print_stickers():
    """New QR stickers for the ticked areas (or all), on an A4 sheet to print."""
    try:
        form = StickerForm.read(request.form)
        stickers = disinfection.issue_stickers(current_user, form.area_ids, utcnow())
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(str(problems(exc)[0].message), "error")
        return redirect(url_for(".disinfection_areas"), code=303)
    sheet = []
    for sticker in stickers:
        link = url_for("worker.area_sticker", token=sticker.token, _external=True)
        sheet.append((sticker, link, qr.svg(link)))
    response = make_response(render_template("office/disinfection_stickers.html", stickers=sheet))
    response.headers["Cache-Control"] = "no-store"  # the tokens are shown on this page only
    return response


@bp.get("/disinfection/areas/<int:area_id>/week")
@role_required("office", "street")
def area_week(area_id: int):
    """A week's record of one area, each day's times and who, to print for an inspection."""
    try:
        query = WeekQuery.read(request.args)
    except ServiceError:
        query = WeekQuery()
    row, days = disinfection.week(current_user, area_id, query.until)
    return render_template("office/disinfection_week.html", row=row, days=days)


@bp.get("/disinfection/records/<int:record_id>/photo")
@role_required("office", "street")
def area_photo(record_id: int):
    """The photo a worker took when ticking an area."""
    data, kind = disinfection.photo(current_user, record_id)
    response = make_response(data)
    response.headers["Content-Type"] = kind
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
