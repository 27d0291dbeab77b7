"""The workers' phone pages (``/worker``): the community's open service requests, oldest first,
and the worker's own in progress. Take one, mark it on the way, mark it delivered at the door;
a request another worker took first is said so, never an error page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..contract.disinfection import DoneForm
from ..contract.errors import problems
from ..contract.screening import WorkerRowForm
from ..domain.disinfection import MAX_PHOTO_BYTES
from ..extensions import db, htmx
from ..models import PublicArea, utcnow
from ..services import deliveries, disinfection, screening
from ..services.errors import NotFound, ServiceError
from .helpers import label, local_time, role_required

bp = Blueprint("worker", __name__, url_prefix="/worker")

POLL_SECONDS = 10


@bp.get("")
@role_required("worker")
def index():
    """Open requests of the worker's community and the worker's own in progress (the lists
    refresh themselves)."""
    context = {
        "open_rows": deliveries.open_requests(current_user),
        "my_rows": deliveries.my_requests(current_user),
        "poll_seconds": POLL_SECONDS,
    }
    if htmx and not htmx.boosted:
        return render_template("worker/_lists.html", **context)
    return render_template("worker/index.html", **context)


_DONE = {
    "take": lambda: _("You have taken the request."),
    "on_the_way": lambda: _("Marked on the way."),
    "delivered": lambda: _("Marked delivered at the door."),
}


def _advance(request_id: int, step: str):
    try:
        deliveries.advance(current_user, request_id, step)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(str(exc.message), "error")
    else:
        flash(_DONE[step](), "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/requests/<int:request_id>/take")
@role_required("worker")
def take(request_id: int):
    """Take a request: it is the worker's now (unless another worker was first)."""
    return _advance(request_id, "take")


@bp.post("/requests/<int:request_id>/on-the-way")
@role_required("worker")
def on_the_way(request_id: int):
    """The worker is on the way to the door."""
    return _advance(request_id, "on_the_way")


@bp.post("/requests/<int:request_id>/delivered")
@role_required("worker")
def delivered(request_id: int):
    """Left at the door, contactless."""
    return _advance(request_id, "delivered")


# --- Disinfection rounds (消杀): tick an area by scanning its sticker ------------------------


def _areas_page(**extra):
    rows = disinfection.worker_areas(current_user, utcnow())
    return render_template("worker/areas.html", rows=rows, **extra)


@bp.get("/areas")
@role_required("worker")
def areas():
    """The community's areas, overdue first, and the button that scans an area's sticker."""
    return _areas_page()


@bp.get("/areas/<token>")
@role_required("worker")
def area_sticker(token: str):
    """A sticker opened by the phone's own camera app: the area, and "Mark done"."""
    try:
        row = disinfection.area_by_token(current_user, DoneForm.read({"token": token}).token)
    except ServiceError as exc:
        if exc.status == 403:
            raise
        raise NotFound(exc.message) from None
    return render_template("worker/areas_sticker.html", row=row, token=token, form={})


@bp.post("/areas/done")
@role_required("worker")
def area_done():
    """Tick an area done: the sticker's token proves the worker was there; a photo if taken."""
    upload = request.files.get("photo")
    photo = upload.read(MAX_PHOTO_BYTES + 1) if upload and upload.filename else None
    try:
        data = DoneForm.read(request.form)
        record = disinfection.mark_done(current_user, data, photo)
    except ServiceError as exc:
        if exc.status == 403:
            raise
        token = request.form.get("token", "")
        try:
            row = disinfection.area_by_token(current_user, DoneForm.read({"token": token}).token)
        except ServiceError:
            flash(str(problems(exc)[0].message), "error")
            return redirect(url_for(".areas"), code=303)
        return render_template(
            "worker/areas_sticker.html",
            row=row,
            token=token,
            form=request.form.to_dict(),
            errors=problems(exc),
        )
    name = db.session.get(PublicArea, record.area_id).name
    flash(
        _("Done: %(area)s at %(time)s.", area=name, time=local_time(record.done_at, "%H:%M")),
        "success",
    )
    return redirect(url_for(".areas"), code=303)


# --- screening rows assigned to the worker ------------------------------------------------------


def _screening_page(errors=None, failed=None):
    return render_template(
        "worker/screening.html",
        rows=screening.assigned(current_user),
        statuses=screening.WORKER_STATUSES,
        label=label,
        errors=errors or [],
        failed=failed,
    )


@bp.get("/screening")
@role_required("worker")
def screening_rows():
    """The screening rows the office assigned to this worker, open ones first: whom to call,
    where they live, and the form to say how the call went."""
    return _screening_page()


@bp.post("/screening/<int:row_id>")
@role_required("worker")
def update_screening_row(row_id: int):
    """Save how the call went; a row not assigned to this worker is not found."""
    try:
        form = WorkerRowForm.read(request.form)
        screening.worker_change(current_user, row_id, form.call_status, form.note)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _screening_page(problems(exc), row_id)
    flash(_("Saved."), "success")
    return redirect(url_for(".screening_rows"), code=303)
