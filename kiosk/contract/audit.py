"""Reading the audit trail: its filters (shared by the API and the office's audit page) and
its entries."""

from __future__ import annotations

import json

from pydantic import Field, field_validator

from ..domain.audit import AuditAction, AuditTarget
from .base import Body, Out
from .paging import Paged, option
from .types import IdText, LocalTime, Moment


class AuditFilters(Body):
    """Who, what kind of change, which kind of object, from and until when. Every value is text
    (a query string or a GET form)."""

    # A user chosen in a list: an id, never a name in the URL.
    who: IdText = Field(None, description="Only this user's changes (a user id)")
    action: option(AuditAction) = Field(None, description="Only this kind of change")
    target: option(AuditTarget) = Field(None, description="Only changes to this kind of object")
    since: Moment = Field(None, description="Changes at or after this time")
    until: Moment = Field(None, description="Changes before this time")


class AuditListQuery(Paged, AuditFilters):
    pass


class AuditEntry(Out):
    id: int
    at: LocalTime
    user_id: int | None = Field(description="Who made the change; null for a device's own")
    action: str = Field(description="The kind of change (compound.seal, pass.issue, ...)")
    target_type: str
    target_id: int | None
    detail: dict = Field(description="What changed, as recorded with the change")

    @field_validator("detail", mode="before")
    @classmethod
    def _parse(cls, value):
        if value is None or value == "":
            return {}
        return json.loads(value) if isinstance(value, str) else value


class AuditPage(Out):
    items: list[AuditEntry]
    next_after: int | None = Field(description="Pass as after for the next page; null at the end")
