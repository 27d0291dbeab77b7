"""The audit trail: every change by a staff user, filtered by person, kind of change, kind of
object and date. Read-only: there is no route that changes or deletes an entry."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from ...contract.errors import problems
from ...contract.forms import AuditQuery
from ...domain.audit import AuditAction, AuditTarget
from ...services import audit
from ...services.errors import ServiceError
from ..helpers import role_required
from .blueprint import bp

PAGE_SIZE = 50


@bp.get("/audit")
@role_required("office", "street")
def audit_trail():
    """Newest first, 50 a page; the filters are a GET form of ids and codes only."""
    errors, rows, query = [], [], None
    try:
        query = AuditQuery.read(request.args)
        rows = audit.entries(current_user, query, PAGE_SIZE)
    except ServiceError as exc:
        errors = problems(exc)
    older = None
    if len(rows) == PAGE_SIZE:
        older = {k: v for k, v in request.args.items() if v} | {"before": rows[-1][0].id}
    return render_template(
        "office/audit.html",
        rows=[(entry, who, audit.details(entry)) for entry, who in rows],
        people=audit.people(current_user),
        actions=tuple(AuditAction),
        targets=tuple(AuditTarget),
        form=request.args,
        errors=errors,
        older=older,
    )
