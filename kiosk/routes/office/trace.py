"""Tracing one person (``/office/trace``): find them (a resident by the people search, a visitor
by name or phone), open the trace form (ids only in the URL), run the trace with a reason, and
act on the report: export it (CSV, Excel, a page to print; each export is a trace again, and
audited again), put contacts' households under observation (the observation page's own form),
make the route's public areas due for disinfection now."""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user

from ...contract.errors import problems
from ...contract.trace_pages import DueNowForm, TraceExportForm, TracePick
from ...contract.tracing import TraceForm, VisitorSearch
from ...domain.tracing import DEFAULT_DAYS, DEFAULT_WINDOW_MINUTES
from ...extensions import htmx
from ...models import utcnow
from ...services import disinfection, org, trace_report, tracing
from ...services.errors import ServiceError
from ..helpers import label, role_required, send_download
from .blueprint import bp

OBSERVE_DAYS = 14  # the observation the report's action offers: until this many days ahead
TRACE_FIELDS = ("since", "until", "window_minutes", "reason")


def _today() -> dt.date:
    return utcnow().astimezone(current_app.config["TZ"]).date()


def _page(person: trace_report.Subject | None, status: int = 200, typed=None, **extra):
    """The find page, or (a person chosen) the trace form, with what was typed if anything."""
    today = _today()
    defaults = {
        "since": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "until": today.isoformat(),
        "window_minutes": str(DEFAULT_WINDOW_MINUTES),
        "reason": "",
    }
    values = defaults if typed is None else {key: typed.get(key, "") for key in TRACE_FIELDS}
    context = {"visitor_form": {}, "visitors": None, **extra}
    if person is None:
        context.update(
            buildings=org.buildings(current_user),
            compounds=org.compounds(current_user),
            form={},
        )
    page = render_template("office/trace.html", person=person, values=values, **context)
    return page, status


def _typed_person() -> trace_report.Subject | None:
    """The person a posted trace form names, if it names one well; out of reach is 404."""
    try:
        pick = TracePick.read(request.form)
    except ServiceError:
        return None
    if pick.resident_id is None and pick.visit_id is None:
        return None
    return trace_report.subject(current_user, pick.resident_id, pick.visit_id)


def _refused(exc: ServiceError):
    """A trace refused for its fields: the form again with every problem (422)."""
    if exc.status in (403, 404):
        raise exc
    return _page(_typed_person(), 422, typed=request.form, errors=problems(exc))


@bp.get("/trace")
@role_required("office", "street")
def trace():
    """Find the person to trace; with ``?resident_id=`` or ``?visit_id=``, their trace form."""
    try:
        pick = TracePick.read(request.args)
    except ServiceError as exc:
        return _page(None, errors=problems(exc))
    if pick.resident_id is None and pick.visit_id is None:
        return _page(None)
    return _page(trace_report.subject(current_user, pick.resident_id, pick.visit_id))


@bp.post("/trace/visitors")
@role_required("office", "street")
def trace_visitors():
    """Visits by part of the visitor's name or the phone's last four, newest first; an htmx
    request gets only the results."""
    fragment = htmx and not htmx.boosted
    try:
        found = trace_report.visitors(current_user, VisitorSearch.read(request.form))
        errors = []
    except ServiceError as exc:
        found, errors = None, problems(exc)
    if fragment:
        return render_template("office/_trace_visitors.html", visitors=found, visitor_errors=errors)
    return _page(None, visitor_form=request.form, visitors=found, errors=errors)


@bp.post("/trace")
@role_required("office", "street")
def run_trace():
    """The report: the person's passages and visits, their direct and same-place contacts,
    their route, and the actions on them. The trace is in the audit log with its reason."""
    now = utcnow()
    try:
        result = tracing.trace(current_user, TraceForm.read(request.form), now)
    except ServiceError as exc:
        return _refused(exc)
    local_now = now.astimezone(current_app.config["TZ"])
    return render_template(
        "office/trace_report.html",
        trace=result,
        traced_at=now,
        households=trace_report.households(result),
        areas=trace_report.route_areas(current_user, result, now),
        observe_until=(local_now + dt.timedelta(days=OBSERVE_DAYS)).strftime("%Y-%m-%dT%H:%M"),
    )


@bp.post("/trace/export")
@role_required("office", "street")
def export_trace():
    """The report as CSV, Excel or a page to print: the trace runs (and is audited) again."""
    now = utcnow()
    try:
        form = TraceExportForm.read(request.form)
        result = tracing.trace(current_user, form, now)
    except ServiceError as exc:
        return _refused(exc)
    if form.format == "print":
        return render_template(
            "office/trace_print.html",
            trace=result,
            summary=trace_report.summary(result, now),
            sections=trace_report.sections(result, label),
        )
    download = trace_report.export(result, form.format, label, now)
    return send_download(download)


@bp.post("/trace/disinfect")
@role_required("office", "street")
def trace_disinfect():
    """The ticked public areas of a route are due now: overdue on every list until ticked."""
    try:
        done = disinfection.make_due(current_user, DueNowForm.read(request.form).area_ids, utcnow())
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(str(problems(exc)[0].message), "error")
        return redirect(url_for(".disinfection_areas"), code=303)
    flash(
        ngettext(
            "%(num)d area is due for disinfection now.",
            "%(num)d areas are due for disinfection now.",
            len(done),
        ),
        "success",
    )
    return redirect(url_for(".disinfection_areas"), code=303)
