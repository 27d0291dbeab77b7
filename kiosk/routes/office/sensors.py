"""Door sensors (门磁) on the doors of households under home observation, and their alarms:
add a sensor and read its one-time enrolment code (``/office/sensors``); the alarms, open ones
first, and every sensor's state (``/office/alarms``); acknowledge an alarm with a note."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, session, url_for
from flask_login import current_user

from ...contract.errors import problems
from ...contract.sensors import AlarmAckForm, SensorForm, SensorPageQuery
from ...extensions import htmx
from ...models import utcnow
from ...services import qr
from ...services import sensors as sensor_service
from ...services.errors import NotFound, ServiceError
from ..helpers import role_required, row_removed
from .blueprint import bp


def _sensors_page(household_id: int | None = None, **extra):
    now = utcnow()
    _open, _handled, sensors = sensor_service.page(current_user, now, household_id)
    return render_template(
        "office/sensors.html",
        sensors=sensors,
        households=sensor_service.observed_households(current_user, now),
        household_id=household_id,
        now=now,
        **extra,
    )


@bp.get("/sensors")
@role_required("office", "street")
def sensors():
    """The door sensors (one household's with ``?household=``), the form to add one and, after
    adding one, its enrolment code once."""
    try:
        query = SensorPageQuery.read(request.args)
    except ServiceError:
        abort(404)
    shown = session.pop("sensor_enrolment", None)
    if isinstance(shown, dict):
        try:
            sensor = sensor_service.load_sensor(current_user, int(shown["sensor_id"]))
            code = str(shown["code"])
        except (ServiceError, KeyError, TypeError, ValueError):
            return _sensors_page(query.household)
        return _sensors_page(query.household, enrolment=(sensor, code, qr.svg(code)))
    return _sensors_page(query.household)


def _show_code(sensor, code: str):
    """Post/redirect/get: a reload shows the list, it does not add another sensor."""
    session["sensor_enrolment"] = {"sensor_id": sensor.id, "code": code}
    return redirect(url_for(".sensors", household=sensor.household_id), code=303)


@bp.post("/sensors")
@role_required("office", "street")
def create_sensor():
    """A new door sensor on a household's door, with its enrolment code."""
    try:
        form = SensorForm.read(request.form)
        sensor, code = sensor_service.create_sensor(current_user, form)
    except NotFound:
        abort(404)  # a household outside the office's communities
    except ServiceError as exc:
        return _sensors_page(errors=problems(exc), form=request.form), 200
    return _show_code(sensor, code)


@bp.post("/sensors/<int:sensor_id>/enrolment")
@role_required("office", "street")
def new_sensor_enrolment(sensor_id: int):
    """A new enrolment code for a sensor (its token changes when the code is used)."""
    try:
        sensor, code = sensor_service.new_enrolment(current_user, sensor_id)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        return _sensors_page(errors=problems(exc)), 200
    return _show_code(sensor, code)


@bp.post("/sensors/<int:sensor_id>/revoke")
@role_required("office", "street")
def revoke_sensor(sensor_id: int):
    """Remove a door sensor (observation over, lost, replaced): its events are refused from the
    next one, its alarms stay to be handled. An empty answer removes its row."""
    return row_removed(lambda: sensor_service.revoke(current_user, sensor_id), url_for(".sensors"))


def _alarms_page(**extra):
    now = utcnow()
    open_alarms, handled, sensors = sensor_service.page(current_user, now)
    return render_template(
        "office/alarms.html",
        open_alarms=open_alarms,
        handled=handled,
        sensors=sensors,
        now=now,
        **extra,
    )


@bp.get("/alarms")
@role_required("office", "street")
def alarms():
    """Door alarms, the open ones first (oldest on top), then the recently handled; and every
    sensor's state: enrolled, last seen, silent, battery."""
    return _alarms_page()


@bp.post("/alarms/<int:alarm_id>/ack")
@role_required("office", "street")
def acknowledge_alarm(alarm_id: int):
    """Mark a door alarm handled with a note (called the household, visited)."""
    try:
        sensor_service.acknowledge(current_user, alarm_id, AlarmAckForm.read(request.form))
    except NotFound:
        abort(404)
    except ServiceError as exc:
        # The note as typed and the messages, next to that alarm's form (status 200: htmx
        # swaps it).
        return _alarms_page(failed=alarm_id, errors=problems(exc), form=request.form), 200
    if htmx:
        return "", 200, {"HX-Redirect": url_for(".alarms")}
    return redirect(url_for(".alarms"), code=303)
