"""Gate tablets: create a device for a gate, show its enrolment code, remove it."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import DeviceForm
from ...models import Device
from ...services import devices as device_service
from ...services import qr, scope
from ...services.errors import ServiceError
from ..helpers import role_required, row_removed
from .blueprint import bp


def _page(**extra):
    return render_template(
        "office/devices.html", gates=device_service.gates_with_devices(current_user), **extra
    )


@bp.get("/devices")
@role_required("office", "street")
def devices():
    """Gates and their tablets; after an action, the new enrolment code once."""
    shown = session.pop("enrolment", None)
    if isinstance(shown, dict):
        try:
            device = scope.load(current_user, Device, int(shown["device_id"])).obj
        except (ServiceError, KeyError, TypeError, ValueError):
            return _page()
        code = str(shown.get("code", ""))
        return _page(enrolment=(device, code, qr.svg(code)))
    return _page()


def _show_code(device, code: str):
    """Post/redirect/get: a reload shows the list, it does not add another tablet."""
    session["enrolment"] = {"device_id": device.id, "code": code}
    return redirect(url_for(".devices"), code=303)


@bp.post("/devices")
@role_required("office", "street")
def create_device():
    """A new tablet for a gate, with its enrolment code."""
    try:
        form = DeviceForm.read(request.form)
        device, _token = device_service.create_device(current_user, form.gate_id, form)
        device, code = device_service.new_enrolment(current_user, device.id)
    except ServiceError as exc:
        return _page(errors=problems(exc), form=request.form), 200
    return _show_code(device, code)


@bp.post("/devices/<int:device_id>/enrolment")
@role_required("office", "street")
def new_enrolment(device_id: int):
    """A new enrolment code for an existing tablet (the old browser is unbound when it is used)."""
    try:
        device, code = device_service.new_enrolment(current_user, device_id)
    except ServiceError as exc:
        return _page(errors=problems(exc)), exc.status if exc.status == 404 else 200
    return _show_code(device, code)


@bp.post("/devices/<int:device_id>/revoke")
@role_required("office", "street")
def revoke_device(device_id: int):
    """Remove a tablet (lost, stolen, replaced): refused at the gate from its next request. An
    empty answer removes its row; one removed already is gone from the list too."""
    return row_removed(lambda: device_service.revoke(current_user, device_id), url_for(".devices"))
