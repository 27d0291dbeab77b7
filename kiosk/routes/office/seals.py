"""Seals: the office sets a compound's or a building's state (open, in-only, sealed) with a
reason; each change is kept in the audit trail and shown beside it. The gate decides on the
new state at the next scan."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import BuildingSealForm, CompoundSealForm, GateOpenForm
from ...domain.decision import SealState
from ...services import audit, org
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp


def _page(status: int = 200, **extra):
    compounds = org.compounds(current_user)
    buildings = org.buildings(current_user)
    gates = org.gates(current_user)
    page = render_template(
        "office/seals.html",
        compounds=compounds,
        buildings=buildings,
        gates=gates,
        seal_states=tuple(SealState),
        compound_history=audit.history(current_user, "compound.seal", [c.id for c in compounds]),
        building_history=audit.history(current_user, "building.seal", [b.id for b in buildings]),
        gate_history=audit.gate_history(current_user, [g.id for g in gates]),
        failed=extra.pop("failed", None),
        typed=extra.pop("typed", {}),
        errors=extra.pop("errors", []),
        **extra,
    )
    return page, status


@bp.get("/seals")
@role_required("office", "street")
def seals():
    """Every compound and building of the office's communities with its seal and history."""
    return _page()


def _set(kind: str, target_id: int, change):
    try:
        change()
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc), failed=(kind, target_id), typed=request.form)
    flash(_("Seal changed."), "success")
    return redirect(url_for(".seals", _anchor=f"{kind}-{target_id}"), code=303)


@bp.post("/seals/buildings/<int:building_id>")
@role_required("office", "street")
def seal_building(building_id: int):
    """Set a building's seal state; a missing reason keeps the form with the message."""
    return _set(
        "building",
        building_id,
        lambda: org.update_building(current_user, building_id, BuildingSealForm.read(request.form)),
    )


@bp.post("/seals/compounds/<int:compound_id>")
@role_required("office", "street")
def seal_compound(compound_id: int):
    """Set a compound's seal state, the same way."""
    return _set(
        "compound",
        compound_id,
        lambda: org.update_compound(current_user, compound_id, CompoundSealForm.read(request.form)),
    )


@bp.post("/seals/gates/<int:gate_id>")
@role_required("office", "street")
def open_gate(gate_id: int):
    """Open or close a gate: a closed gate refuses everyone at the next scan."""
    return _set(
        "gate",
        gate_id,
        lambda: org.update_gate(current_user, gate_id, GateOpenForm.read(request.form)),
    )
