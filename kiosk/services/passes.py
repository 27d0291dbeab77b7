"""Issuing, showing and revoking passes, and exemptions."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..contract import passes as contract
from ..domain import passcodes
from ..domain.decision import PassKind
from ..extensions import db
from ..models import Pass, Resident, User, utcnow
from . import audit, scope
from .errors import Conflict, Invalid

STATIC_KINDS = ("paper", "exemption", "visitor")


def code_for(pass_: Pass, unix_seconds: float | None = None) -> str:
    """The QR text of a pass: rotating for phone passes (valid now), static for the rest."""
    keys = current_app.config["PASS_KEYRING"]
    if pass_.kind in STATIC_KINDS:
        return passcodes.sign(keys, pass_.id, passcodes.STATIC)
    now = time.time() if unix_seconds is None else unix_seconds
    step = passcodes.time_step(now, current_app.config["PASS_STEP_SECONDS"])
    return passcodes.sign(keys, pass_.id, passcodes.ROTATING, step)


def issue_pass(actor: User, resident_id: int, data: contract.PassCreate) -> Pass:
    """A resident (phone, rotating code) or paper (printed, static code) pass."""
    resident, community_id = scope.load(actor, Resident, resident_id)
    kind = PassKind(data.kind).value
    valid_until = data.valid_until
    now = utcnow()
    if valid_until is not None and valid_until <= now:
        raise Invalid(_l("valid_until: must be in the future."), field="valid_until")
    pass_ = Pass(
        resident_id=resident.id,
        kind=kind,
        valid_from=now,
        valid_until=valid_until,
        created_by_id=actor.id,
    )
    db.session.add(pass_)
    db.session.flush()
    audit.record(actor, "pass.issue", "pass", pass_.id, community_id, kind=kind)
    db.session.commit()
    return pass_


def issue_exemption(actor: User, resident_id: int, data: contract.ExemptionCreate) -> Pass:
    """One exit and one return for a purpose within a window, overriding seals for this person."""
    resident, community_id = scope.load(actor, Resident, resident_id)
    purpose, valid_from, valid_until = data.purpose, data.valid_from, data.valid_until
    hours = data.negative_test_within_hours
    if valid_until <= valid_from:
        raise Invalid(_l("valid_until: must be after valid_from."), field="valid_until")
    if valid_until <= utcnow():
        raise Invalid(_l("valid_until: must be in the future."), field="valid_until")
    if valid_until - valid_from > timedelta(days=14):
        raise Invalid(_l("An exemption lasts at most 14 days."), field="valid_until")
    pass_ = Pass(
        resident_id=resident.id,
        kind=PassKind.EXEMPTION.value,
        valid_from=valid_from,
        valid_until=valid_until,
        purpose=purpose,
        negative_test_within_hours=hours,
        created_by_id=actor.id,
    )
    db.session.add(pass_)
    db.session.flush()
    audit.record(
        actor,
        "exemption.issue",
        "pass",
        pass_.id,
        community_id,
        purpose=purpose,
        valid_from=valid_from,
        valid_until=valid_until,
        hours=hours,
    )
    db.session.commit()
    return pass_


def revoke(actor: User, pass_id: int, data: contract.PassRevoke) -> Pass:
    pass_, community_id = scope.load(actor, Pass, pass_id)
    if pass_.revoked_at is not None:
        raise Conflict(_l("The pass is revoked already."), code="already_revoked")
    reason = data.reason
    pass_.revoked_at = utcnow()
    pass_.revoked_reason = reason
    audit.record(actor, "pass.revoke", "pass", pass_.id, community_id, reason=reason)
    db.session.commit()
    return pass_
