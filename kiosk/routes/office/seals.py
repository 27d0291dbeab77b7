"""Seals: the office sets a compound's or a building's state (open, in-only, sealed) with a
reason, now or scheduled from/until a time; each change is kept in the audit trail and shown
beside it, with the schedules still to come (each can be cancelled) and the rule in one
sentence. The gate decides on the state in force at each scan: nothing runs at a schedule's
times. Gates are opened and closed here, and given opening hours."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import (
    BuildingSealForm,
    CompoundSealForm,
    GateHoursForm,
    GateOpenForm,
    SealScheduleForm,
)
from ...domain import rules
from ...domain.decision import SealState
from ...models import utcnow
from ...services import audit, in_force, org
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp

_SCHEDULE_FIELDS = ("starts_at", "ends_at")


def _page(status: int = 200, **extra):
    now = utcnow()
    compounds = org.compounds(current_user)
    buildings = org.buildings(current_user)
    gates = org.gates(current_user)
    schedules = org.seal_schedules(current_user, now)
    now_and_why = {
        (kind, obj.id): org.seals_now(obj, kind, schedules, now)
        for kind, objs in (("compound", compounds), ("building", buildings))
        for obj in objs
    }
    seal = {key: pair[0] for key, pair in now_and_why.items()}
    by_id = {c.id: c for c in compounds}
    sentence = {
        b.id: rules.sentence(
            rules.RuleFacts(
                now,
                rules.Place(by_id[b.compound_id].name, seal[("compound", b.compound_id)]),
                rules.Place(b.name, seal[("building", b.id)]),
            )
        )
        for b in buildings
    }
    page = render_template(
        "office/seals.html",
        now=now,
        compounds=compounds,
        buildings=buildings,
        gates=gates,
        seal_states=tuple(SealState),
        seal=seal,
        seal_reason={key: pair[1] for key, pair in now_and_why.items()},
        sentence=sentence,
        # Upcoming and in force, not those that ended (they stay in the history).
        schedules={
            key: [s for s in listed if s.ends_at is None or s.ends_at > now]
            for key, listed in schedules.items()
        },
        gate_open_now={
            g.id: in_force.gate_open(g.is_open, g.opens_at, g.closes_at, now) for g in gates
        },
        compound_history=org.seal_history(current_user, "compound", [c.id for c in compounds]),
        building_history=org.seal_history(current_user, "building", [b.id for b in buildings]),
        gate_history=_gate_history([g.id for g in gates]),
        failed=extra.pop("failed", None),
        typed=extra.pop("typed", {}),
        errors=extra.pop("errors", []),
        **extra,
    )
    return page, status


def _gate_history(gate_ids: list[int], per_gate: int = 3) -> dict:
    """Openings, closings and opening hours of each gate, newest first."""
    merged = audit.gate_history(current_user, gate_ids, per_gate)
    for gate_id, changes in audit.history(current_user, "gate.hours", gate_ids, per_gate).items():
        merged[gate_id] = sorted(merged.get(gate_id, []) + changes, key=lambda c: -c[0].id)
    return {gate_id: changes[:per_gate] for gate_id, changes in merged.items()}


@bp.get("/seals")
@role_required("office", "street")
def seals():
    """Every compound and building of the office's communities with its seal and history."""
    return _page()


def _set(kind: str, target_id: int, change, done: str | None = None):
    try:
        changed = change()
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _page(errors=problems(exc), failed=(kind, target_id), typed=request.form)
    flash(done or _("Seal changed."), "success")
    anchor = f"{kind}-{target_id}"
    if kind == "schedule":  # back to the row of its compound or building
        anchor = f"{changed.target_kind}-{changed.target_id}"
    return redirect(url_for(".seals", _anchor=anchor), code=303)


def _scheduled() -> bool:
    """A From or an Until on the seal form makes it a schedule, not a change now."""
    return any(request.form.get(name, "").strip() for name in _SCHEDULE_FIELDS)


def _seal(kind: str, target_id: int, update, form):
    if _scheduled():
        return _set(
            kind,
            target_id,
            lambda: org.schedule_seal(
                current_user, kind, target_id, SealScheduleForm.read(request.form)
            ),
            _("Seal scheduled."),
        )
    return _set(kind, target_id, lambda: update(current_user, target_id, form.read(request.form)))


@bp.post("/seals/buildings/<int:building_id>")
@role_required("office", "street")
def seal_building(building_id: int):
    """Set a building's seal state now, or from/until a time; a missing reason keeps the form
    with the message."""
    return _seal("building", building_id, org.update_building, BuildingSealForm)


@bp.post("/seals/compounds/<int:compound_id>")
@role_required("office", "street")
def seal_compound(compound_id: int):
    """Set a compound's seal state, the same way."""
    return _seal("compound", compound_id, org.update_compound, CompoundSealForm)


@bp.post("/seals/schedules/<int:schedule_id>/cancel")
@role_required("office", "street")
def cancel_schedule(schedule_id: int):
    """Cancel a scheduled seal: from now on it counts no more (kept in the history)."""
    return _set(
        "schedule",
        schedule_id,
        lambda: org.cancel_schedule(current_user, schedule_id),
        _("Schedule cancelled."),
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


def _set_hours(gate_id: int):
    form = GateHoursForm.read(request.form)
    return org.set_gate_hours(current_user, gate_id, form.opens_at, form.closes_at)


@bp.post("/seals/gates/<int:gate_id>/hours")
@role_required("office", "street")
def gate_hours(gate_id: int):
    """A gate's opening hours (blank: none); outside them the gate refuses everyone."""
    return _set("hours", gate_id, lambda: _set_hours(gate_id), _("Opening hours saved."))
