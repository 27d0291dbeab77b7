"""Gate tablets: create a device for a gate and show its enrolment code."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from ...services import devices as device_service
from ...services import office as office_service
from ...services import org, qr
from ...services.errors import Invalid, ServiceError
from ..helpers import role_required
from . import bp


def _page(**extra):
    return render_template(
        "office/devices.html", gates=office_service.gates_with_devices(current_user), **extra
    )


@bp.get("/devices")
@role_required("office", "street")
def devices():
    """Gates and their tablets."""
    return _page()


@bp.post("/devices")
@role_required("office", "street")
def create_device():
    """A new tablet for a gate, with its enrolment code."""
    gate_id = request.form.get("gate_id", "")
    try:
        if not gate_id.isdigit():
            raise Invalid(office_service.choose_gate_message(), field="gate_id")
        device, _token = org.create_device(
            current_user, int(gate_id), {"name": request.form.get("name")}
        )
        device, code = device_service.new_enrolment(current_user, device.id)
    except ServiceError as exc:
        return _page(error=str(exc.message), form=request.form), 200
    return _page(enrolment=(device, code, qr.svg(code)))


@bp.post("/devices/<int:device_id>/enrolment")
@role_required("office", "street")
def new_enrolment(device_id: int):
    """A new enrolment code for an existing tablet (the old browser is unbound when it is used)."""
    try:
        device, code = device_service.new_enrolment(current_user, device_id)
    except ServiceError as exc:
        return _page(error=str(exc.message)), exc.status if exc.status == 404 else 200
    return _page(enrolment=(device, code, qr.svg(code)))
