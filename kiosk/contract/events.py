"""Reading the access log."""

from __future__ import annotations

from pydantic import Field, field_validator

from ..domain.decision import Decision, Direction, OverrideReason
from .base import Out, Query
from .types import AfterIdText, IdText, LocalTime, Moment, PageSizeText


class EventQuery(Query):
    gate_id: IdText = Field(None, description="Only this gate's events")
    resident_id: IdText = Field(None, description="Only this person's events, with any pass")
    pass_id: IdText = Field(None, description="Only this pass's events")
    since: Moment = Field(None, description="Events at or after this time")
    until: Moment = Field(None, description="Events before this time")
    after: AfterIdText = Field(None, description="The next page: the previous page's next_after")
    limit: PageSizeText = Field(None, description="Events per page (default 100)")


class Event(Out):
    id: int
    occurred_at: LocalTime
    gate_id: int
    device_id: int | None
    direction: Direction
    pass_id: int | None
    resident_id: int | None
    temperature: float | None
    decision: Decision
    reasons: list[str] = Field(description="Reason codes")
    manual: bool
    visit_id: int | None = Field(description="A visitor's event: the visit")
    parent_id: int | None = Field(
        description="A guard's decision or a second reading: the scan it answers"
    )
    override: bool = Field(description="true for a guard's decision on a referred scan")
    override_reason: OverrideReason | None = Field(
        description="Why the guard allowed it (a denial needs no reason)"
    )

    @field_validator("reasons", mode="before")
    @classmethod
    def _split(cls, value):
        return value.split() if isinstance(value, str) else value


class EventPage(Out):
    items: list[Event]
    next_after: int | None = Field(description="Pass as after for the next page; null at the end")
