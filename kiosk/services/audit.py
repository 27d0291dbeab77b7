"""The audit trail: who changed what, when."""

from __future__ import annotations

import json

from sqlalchemy import select

from ..contract.audit import AuditFilters, AuditListQuery
from ..contract.forms import AuditQuery
from ..domain.audit import AuditAction, AuditTarget
from ..extensions import db
from ..models import MAX_ID, AuditEntry, User
from . import scope
from .errors import NotFound


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    community_id: int | None = None,
    **detail,
) -> None:
    """Add an audit entry to the session; the caller commits with the change itself. The action
    is one of ``AuditAction`` and the target one of ``AuditTarget`` (a ValueError otherwise:
    every kind of change and of object is named once)."""
    db.session.add(
        AuditEntry(
            user_id=actor.id if actor is not None else None,
            community_id=community_id,
            action=AuditAction(action).value,
            target_type=AuditTarget(target_type).value,
            target_id=target_id,
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        )
    )


def entries(
    actor: User, query: AuditQuery, page_size: int = 50
) -> list[tuple[AuditEntry, str | None]]:
    """The audit trail of the actor's communities, newest first, a page at a time (``before``:
    the last id of the previous page), with who made each change. Read-only: nothing in the
    application changes or deletes an entry."""
    scope.require_role(actor, scope.MANAGERS)
    stmt = (
        select(AuditEntry, User.username)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(AuditEntry.community_id.in_(scope.community_ids(actor)))
        .order_by(AuditEntry.id.desc())
        .limit(page_size)
    )
    stmt = _filtered(stmt, query)
    if query.before is not None:
        stmt = stmt.where(AuditEntry.id < query.before)
    return [tuple(row) for row in db.session.execute(stmt)]


def _filtered(stmt, query: AuditFilters):
    """Only the entries the filters ask for: who, what kind of change, which kind of object,
    from and until when."""
    if query.who is not None:
        stmt = stmt.where(AuditEntry.user_id == query.who)
    if query.action is not None:
        stmt = stmt.where(AuditEntry.action == query.action.value)
    if query.target is not None:
        stmt = stmt.where(AuditEntry.action.startswith(query.target.value + "."))
    if query.since is not None:
        stmt = stmt.where(AuditEntry.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEntry.at < query.until)
    return stmt


def _in_scope(actor: User):
    scope.require_role(actor, scope.MANAGERS)
    return select(AuditEntry).where(AuditEntry.community_id.in_(scope.community_ids(actor)))


def list_entries(actor: User, query: AuditListQuery, limit: int) -> list[AuditEntry]:
    """The audit trail of the actor's communities, oldest first, a page at a time by id (the
    API's paging; the office's page reads it newest first with ``entries``)."""
    stmt = _filtered(_in_scope(actor), query)
    if query.after is not None:
        stmt = stmt.where(AuditEntry.id > query.after)
    return list(db.session.scalars(stmt.order_by(AuditEntry.id).limit(limit)))


def get_entry(actor: User, entry_id: int) -> AuditEntry:
    stmt = _in_scope(actor)
    entry = db.session.scalar(stmt.where(AuditEntry.id == entry_id)) if entry_id <= MAX_ID else None
    if entry is None:
        raise NotFound()
    return entry


def details(entry: AuditEntry) -> dict:
    return json.loads(entry.detail) if entry.detail else {}


def people(actor: User) -> list[tuple[int, str]]:
    """Who appears in the actor's audit trail, for the filter's list."""
    scope.require_role(actor, scope.MANAGERS)
    rows = db.session.execute(
        select(User.id, User.username)
        .join(AuditEntry, AuditEntry.user_id == User.id)
        .where(AuditEntry.community_id.in_(scope.community_ids(actor)))
        .distinct()
        .order_by(User.username)
    )
    return [tuple(r) for r in rows]


def history(actor: User, action: str, target_ids: list[int], per_target: int = 3) -> dict:
    """The latest changes of one kind per object, newest first: ``{target_id: [(entry, who,
    details)]}`` (e.g. each building's seal history)."""
    scope.require_role(actor, scope.MANAGERS)
    out: dict[int, list] = {}
    if not target_ids:
        return out
    rows = db.session.execute(
        select(AuditEntry, User.username)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(
            AuditEntry.community_id.in_(scope.community_ids(actor)),
            AuditEntry.action == AuditAction(action).value,
            AuditEntry.target_id.in_(target_ids),
        )
        .order_by(AuditEntry.id.desc())
    )
    for entry, who in rows:
        changes = out.setdefault(entry.target_id, [])
        if len(changes) < per_target:
            changes.append((entry, who, details(entry)))
    return out


def gate_history(actor: User, gate_ids: list[int], per_gate: int = 3) -> dict:
    """The latest openings and closings of each gate, newest first (as ``history``)."""
    opened = history(actor, "gate.open", gate_ids, per_gate)
    closed = history(actor, "gate.close", gate_ids, per_gate)
    return {
        gate_id: sorted(opened.get(gate_id, []) + closed.get(gate_id, []), key=lambda c: -c[0].id)[
            :per_gate
        ]
        for gate_id in set(opened) | set(closed)
    }
