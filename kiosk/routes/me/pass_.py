"""My pass (``/me``): the one sentence (may I go out now?), the live QR code with a clock and a
countdown, the last passages and the latest test; care mode (关怀模式).

The QR rotates every ``PASS_STEP_SECONDS``: the page polls its own URL for the fragment (htmx,
``every 10s`` and when me-pass.js's countdown reaches the step boundary), so the code on the
screen is always current, and a screenshot is refused at the gate within 90 seconds.
"""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.me import CareForm
from ...extensions import htmx
from ...models import utcnow
from ...services import me, notices
from ...services.errors import ServiceError
from ..helpers import resident_required
from .blueprint import bp

POLL_SECONDS = 10


def _context() -> dict:
    return {
        "place": me.place(current_user),
        "status": me.status(current_user),
        "code": me.code(current_user),
        "poll_seconds": POLL_SECONDS,
    }


def _below() -> dict:
    """What the full page shows under the code (not in care mode's template branch)."""
    return {
        "passages": me.passages(current_user),
        "latest_test": me.latest_test(current_user),
        "notices": notices.for_resident(current_user, utcnow()),
    }


@bp.get("")
@resident_required
def index():
    """The resident's pass page, or (for htmx's poll) the live part of it."""
    context = _context()
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        response = make_response(render_template("me/_pass.html", **context))
    else:
        context |= _below()
        response = make_response(render_template("me/index.html", **context))
    response.headers["Cache-Control"] = "no-store"  # a live code is never served from a cache
    response.vary.add("HX-Request")
    return response


@bp.post("/care")
@resident_required
def care():
    """Care mode on or off: larger type, fewer things on the page, high contrast; remembered."""
    try:
        on = me.set_care_mode(current_user, CareForm.read(request.form))
    except ServiceError as exc:
        errors = problems(exc)
        context = _context() | _below() | {"errors": errors}
        return render_template("me/index.html", **context)
    flash(_("Care mode is on.") if on else _("Care mode is off."), "success")
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url_for(".index")
        return response
    return redirect(url_for(".index"), code=303)
