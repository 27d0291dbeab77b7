"""The guard's tablet at the gate: enrolment, guard sign-in, the scan page and its fragments.

A tablet is bound to a device (and so to a gate) by a long-lived httpOnly cookie holding the
device token; a guard signs in on it with a username and PIN. Every action needs both.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import current_user, logout_user
from sqlalchemy import select

from ..contract import forms, scans
from ..contract.errors import problems
from ..domain.decision import OverrideReason
from ..domain.visitors import PURPOSES
from ..extensions import db, htmx, limiter
from ..models import Building, utcnow
from ..services import auth, devices, gate, gatelog, risk_areas, visitors
from ..services import scan as scan_service
from ..services.errors import Invalid, ServiceError
from ..services.gate import GateAction
from ..services.throttle import Throttled
from .helpers import throttled_page

bp = Blueprint("gate", __name__, url_prefix="/gate")

DEVICE_COOKIE = "kiosk_device"
DEVICE_COOKIE_DAYS = 400


def _not_enrolled():
    if request.method == "GET" and not htmx:
        return redirect(url_for(".enrol"))
    return render_template("gate/_error.html", message=_("This tablet is not enrolled.")), 401


def device_required(view):
    """An enrolled tablet, else the enrolment page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        ctx = gate.context(request.cookies.get(DEVICE_COOKIE))
        if ctx is None:
            return _not_enrolled()
        g.gate = ctx
        g.device_token = request.cookies[DEVICE_COOKIE]
        return view(*args, **kwargs)

    return wrapped


def guard_required(view):
    """An enrolled tablet and a guard of its community signed in on it (``g.guard_id``).

    Device and guard are checked by one statement (``gate.tablet``), with the same rules as
    the user loader (a current session of an active user); ``current_user`` is loaded only by
    the views and pages that use it.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = request.cookies.get(DEVICE_COOKIE)
        found = gate.tablet(token, auth.session_id(session.get("_user_id")))
        if found is None:
            return _not_enrolled()
        g.gate, g.guard_id, g.device_token = found.gate, found.guard_id, token
        if found.guard_id is None:
            if request.method == "GET" and not htmx:
                return redirect(url_for(".login"))
            return htmx_response(
                render_template(
                    "gate/_error.html", message=_("Sign in as the guard on duty first.")
                ),
                401,
                redirect=url_for(".login"),
            )
        g.user_locale = found.guard_locale  # the language check needs no load of the user
        return view(*args, **kwargs)

    return wrapped


def fragment_or_page(fragment: str, page: str, **context):
    """The fragment for a targeted htmx request, the full page otherwise."""
    if htmx and not htmx.boosted:
        return render_template(fragment, **context)
    return render_template(page, fragment=fragment, **context)


# --- enrolment and sign-in --------------------------------------------------------------------


@bp.route("/enrol", methods=("GET", "POST"))
@limiter.limit("10 per minute", methods=["POST"])
def enrol():
    """Bind this browser to a gate device with the office's enrolment code."""
    error = None
    code = ""
    if request.method == "POST":
        code = (request.form.get("code") or "")[:32]
        try:
            device, token = devices.enrol(code)
        except ServiceError as exc:
            error = str(exc.message)
        else:
            logout_user()
            response = redirect(url_for(".login"), code=303)
            response.set_cookie(
                DEVICE_COOKIE,
                token,
                max_age=DEVICE_COOKIE_DAYS * 86400,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure,
            )
            return response
    return render_template("gate/enrol.html", error=error, code=code)


@bp.route("/login", methods=("GET", "POST"))
@device_required
def login():
    """The guard on duty signs in with username and PIN: a session for the gate pages only.

    Failures are throttled per username and per address (services/throttle.py).
    """
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        try:
            user = auth.authenticate_guard(
                g.gate.community_id, username, request.form.get("pin") or ""
            )
        except Throttled as exc:
            return throttled_page("gate/login.html", exc, username=username)
        if user is not None:
            auth.start_session(user, auth.PIN)
            return redirect(url_for(".index"), code=303)
        error = _("Wrong username or PIN, or not a guard of this compound.")
    return render_template("gate/login.html", error=error, username=username)


@bp.post("/logout")
@device_required
def logout():
    """Shift change: the guard signs out (everywhere), the tablet stays enrolled."""
    auth.end_session()
    return redirect(url_for(".login"), code=303)


# --- the scan page ----------------------------------------------------------------------------


@bp.get("")
@guard_required
def index():
    """The scan page."""
    return render_template(
        "gate/index.html",
        ctx=g.gate,
        clear_seconds=current_app.config["GATE_RESULT_SECONDS"],
        **_panel_context(),
    )


@bp.get("/panel")
@guard_required
def panel():
    """People inside now, referred scans still waiting for the guard, and the last ten decisions
    (refreshed after every scan)."""
    return render_template("gate/_panel.html", ctx=g.gate, **_panel_context())


def _panel_context() -> dict:
    since = utcnow() - timedelta(minutes=scan_service.DECIDE_MINUTES)
    return dict(
        occupancy=gatelog.occupancy(g.gate.compound_id),
        pending=gatelog.pending(g.gate.gate_id, since),
        recent=gatelog.recent(g.gate.gate_id),
    )


@bp.get("/events/<int:event_id>")
@guard_required
def reopen(event_id: int):
    """A referred scan of this gate shown again, with its decision form: a dismissed answer
    stays open on the panel until the guard decides it."""
    try:
        scan_service.event_at_gate(g.gate, event_id)
    except ServiceError as exc:
        return render_problem(exc)
    return render_result(gatelog.replay(event_id))


def _action(request_id: str | None = None) -> GateAction:
    """This tablet and its guard, now; the (declared) request id that makes a retry safe."""
    return GateAction.tablet(g.gate, g.guard_id, request_id)


def render_result(result: gatelog.ScanResult, status: int = 200, **extra):
    """The answer on the tablet; the panel refreshes itself on ``scanned``."""
    page = render_template(
        "gate/_result.html", result=result, override_reasons=list(OverrideReason), **extra
    )
    return htmx_response(page, status, trigger="scanned")


def render_problem(exc: ServiceError):
    """A validation problem on the scan path: shown to the guard, nothing decided, status 200.

    An event, person or visit that is not at this gate's compound is a 404, as everywhere else:
    a tablet never learns whether another compound's ids exist.
    """
    if exc.status == 404:
        raise exc
    return render_template("gate/_problem.html", errors=problems(exc))


@bp.post("/scan")
@guard_required
def scan():
    """Decide a scanned code (wedge or camera)."""
    try:
        form = forms.TabletScanForm.read(request.form)
        result = scan_service.scan(
            _action(form.request_id),
            (request.form.get("code") or "")[: scans.MAX_CODE_TEXT],
            form.direction,
            form.temperature,
            code_seen_at=scan_service.seen_at(form.scanned_at),
        )
    except ServiceError as exc:
        db.session.rollback()
        return render_problem(exc)
    return render_result(result)


@bp.post("/events/<int:event_id>/override")
@guard_required
def override(event_id: int):
    """The guard allows (with a reason) or denies a referred scan."""
    try:
        scan_service.event_at_gate(g.gate, event_id)  # nothing of another gate's events shown
        form = forms.OverrideForm.read(request.form)
        event = scan_service.override(
            _action(), g.gate, current_user, event_id, form.decision, form.reason_kept, form.note
        )
    except Invalid as exc:
        db.session.rollback()
        # A missing note: the CHECK screen stays, with the message and the chosen reason, so the
        # guard can complete it (the problem screen would lose the form and the person's scan).
        message = _("Note (required for other)") if exc.field == "note" else str(exc.message)
        return render_result(
            gatelog.replay(event_id),
            override_error=message,
            override_form=request.form.to_dict(),
        )
    except ServiceError as exc:
        db.session.rollback()
        return render_problem(exc)
    result = gatelog.replay(event.id)
    return render_result(result)


@bp.post("/events/<int:event_id>/remeasure")
@guard_required
def remeasure(event_id: int):
    """A second temperature reading after a fever, logged against the same scan."""
    try:
        form = forms.RemeasureForm.read(request.form)
        result = scan_service.remeasure(
            _action(form.request_id), g.gate, event_id, form.temperature
        )
    except ServiceError as exc:
        db.session.rollback()
        return render_problem(exc)
    return render_result(result)


def _buildings():
    return db.session.execute(
        select(Building.id, Building.name)
        .where(Building.compound_id == g.gate.compound_id)
        .order_by(Building.name)
    ).all()


@bp.route("/lookup", methods=("GET", "POST"))
@guard_required
def lookup():
    """No code: find a resident by building, unit and the last four of the ID number."""
    errors = []
    matches = None
    form = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST":
        try:
            matches = gate.lookup(g.gate, forms.LookupForm.read(request.form))
        except ServiceError as exc:
            errors = problems(exc)
        else:
            if not matches:
                errors = problems(
                    Invalid(_("Nobody matches. Check the building, unit and the four characters."))
                )
    return fragment_or_page(
        "gate/_lookup.html",
        "gate/page.html",
        buildings=_buildings(),
        form=form,
        errors=errors,
        matches=matches,
    )


@bp.post("/manual")
@guard_required
def manual():
    """Decide for a person found by the look-up (logged as manual)."""
    try:
        form = forms.ManualForm.read(request.form)
        result = scan_service.manual(
            _action(form.request_id), g.gate, form.resident_id, form.direction, form.temperature
        )
    except ServiceError as exc:
        db.session.rollback()
        return render_problem(exc)
    return render_result(result)


# --- visitors ---------------------------------------------------------------------------------


def _visitor_form(form: dict, errors=()):
    return fragment_or_page(
        "gate/_visitor_form.html",
        "gate/page.html",
        households=visitors.household_choices(g.gate.compound_id),
        risk_areas=risk_areas.current_risk_areas(g.gate.community_id),
        lookback_days=current_app.config["RISK_LOOKBACK_DAYS"],
        purposes=PURPOSES,
        form=form,
        errors=errors,
    )


@bp.get("/visitors/new")
@guard_required
def visitor_form():
    """The visitor form."""
    return _visitor_form({})


@bp.post("/visitors")
@guard_required
def register_visitor():
    """Register a visitor at the gate: decided and logged at once."""
    try:
        form = forms.GateVisitorForm.read(request.form)
        result = visitors.register_at_gate(_action(form.request_id), g.gate, form)
    except ServiceError as exc:
        db.session.rollback()
        typed = request.form.to_dict()
        typed["risk_area_ids"] = request.form.getlist("risk_area_ids")
        return _visitor_form(typed, problems(exc))
    # Into #result, and the sheet closes only after htmx has moved the answer there (the sheet is
    # the request's source element; removing it first breaks the retarget).
    page = render_template(
        "gate/_result.html", result=result, override_reasons=list(OverrideReason)
    )
    return htmx_response(
        page, retarget="#result", reswap="innerHTML", trigger_after_swap="closePanel"
    )


@bp.get("/visitors")
@guard_required
def visitors_inside():
    """Visitors inside now, each checked out with one tap."""
    return fragment_or_page("gate/_visitors.html", "gate/page.html", visits=visitors.inside(g.gate))


@bp.post("/visitors/<int:visit_id>/checkout")
@guard_required
def checkout(visit_id: int):
    """The visitor has left: the row disappears."""
    try:
        visitors.check_out(_action(), g.gate, visit_id)
    except ServiceError as exc:
        db.session.rollback()
        return render_problem(exc)
    return htmx_response("", 200, trigger="scanned")
