"""The workers' phone pages (``/worker``): the community's open service requests, oldest first,
and the worker's own in progress. Take one, mark it on the way, mark it delivered at the door;
a request another worker took first is said so, never an error page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import htmx
from ..services import deliveries
from ..services.errors import ServiceError
from .helpers import role_required

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
