"""The audit trail: who changed what, when."""

from __future__ import annotations

import json

from ..extensions import db
from ..models import AuditEntry, User


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    community_id: int | None = None,
    **detail,
) -> None:
    """Add an audit entry to the session; the caller commits with the change itself."""
    db.session.add(
        AuditEntry(
            user_id=actor.id if actor is not None else None,
            community_id=community_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        )
    )
