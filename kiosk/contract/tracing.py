"""Tracing one person, declared once: whom, over which days, with which window, and why (a
trace without a reason is refused); and what the API answers."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from pydantic import Field, model_validator

from ..domain.decision import Decision, Direction
from ..domain.tracing import (
    DEFAULT_DAYS,
    DEFAULT_WINDOW_MINUTES,
    MAX_DAYS,
    MAX_WINDOW_MINUTES,
    ContactReason,
)
from .base import Body, Out, Query, choice
from .errors import ContractError, FieldError, rule
from .forms import Form
from .invitations import Day
from .types import IdText, LocalTime, text, whole_number_text

WHO = rule(
    "trace_who",
    "resident_id",
    _l("Choose one person to trace: a resident or a visitor."),
)
PERIOD = rule(
    "trace_period",
    "since",
    _l("The period runs from its first day to its last, at most %(days)d days.", days=MAX_DAYS),
)
WindowMinutesText = whole_number_text(1, MAX_WINDOW_MINUTES)


class _TraceFields(Body):
    labels = {
        "resident_id": _l("Resident"),
        "visit_id": _l("Visitor"),
        "since": _l("From"),
        "until": _l("To"),
        "window_minutes": _l("Window (minutes)"),
        "reason": _l("Reason"),
    }
    messages = {
        "since": _l("From: a day such as 2020-06-14."),
        "until": _l("To: a day such as 2020-06-14."),
        "window_minutes": _l(
            "Window: a whole number of minutes from 1 to %(n)d.", n=MAX_WINDOW_MINUTES
        ),
        "reason": _l("Reason: why this person is traced (a case number, a notice)."),
    }

    resident_id: IdText = Field(None, description="The resident to trace")
    visit_id: IdText = Field(
        None, description="A visitor to trace: one of their visits (all visits with the same phone)"
    )
    since: Day = Field(
        None, description=f"First day (local), default {DEFAULT_DAYS - 1} days before until"
    )
    until: Day = Field(None, description="Last day (local), default today")
    window_minutes: WindowMinutesText = Field(
        None,
        description=f"Co-presence window around each passage, ± minutes (default "
        f"{DEFAULT_WINDOW_MINUTES})",
    )
    reason: text(200, "Why this person is traced; kept in the audit log")

    @model_validator(mode="after")
    def _check(self):
        if (self.resident_id is None) == (self.visit_id is None):
            raise WHO.error()
        if self.since and self.until:
            if self.since > self.until or (self.until - self.since).days >= MAX_DAYS:
                raise PERIOD.error()
        return self

    def period(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day traced: the given ones, or ``DEFAULT_DAYS`` days up to today
        (from ``since``, not beyond today). A first day after the last is refused."""
        until = self.until or min(today, (self.since or today) + dt.timedelta(DEFAULT_DAYS - 1))
        since = self.since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
        if since > until or (until - since).days >= MAX_DAYS:
            raise ContractError([FieldError(PERIOD.field, PERIOD.id, PERIOD.message)])
        return since, until

    @property
    def window(self) -> int:
        return self.window_minutes or DEFAULT_WINDOW_MINUTES


class TraceQuery(Query, _TraceFields):
    """``GET /api/v1/trace``: one person, a period, a window and the reason."""


class TraceForm(Form, _TraceFields):
    """The office's trace form (``/office/trace``), posted: no one's name in a URL."""


class VisitorSearch(Form):
    """Finding a visitor to trace: part of the name or the phone's last four."""

    labels = {"q": _l("Name or last four of the phone")}

    q: text(50)


# --- answers ------------------------------------------------------------------------------------


class TracePassage(Out):
    event_id: int
    at: LocalTime
    compound: str
    gate_id: int
    gate: str
    direction: Direction
    decision: Decision
    temperature: float | None


class TraceVisit(Out):
    visit_id: int
    visitor: str = Field(description="The visitor's name (office roles only)")
    phone_last4: str
    household_id: int
    household: str = Field(description="Building, unit and room visited")
    at: LocalTime | None = Field(description="Checked in; null when never let in")
    left_at: LocalTime | None


class TraceLink(Out):
    their_event_id: int
    their_at: LocalTime
    subject_event_id: int
    gate: str
    minutes_apart: float


class TraceContact(Out):
    kind: str = Field(description="resident | visitor")
    resident_id: int | None
    visit_id: int | None = Field(description="A visitor: their latest visit in the period")
    name: str
    household_id: int | None = Field(
        description="A resident's household; a visitor's last host household"
    )
    household: str | None
    direct: bool
    reasons: list[choice(ContactReason)]
    links: list[TraceLink]


class TracePlace(Out):
    kind: str = Field(description="gate | building")
    id: int
    name: str
    compound: str
    passages: int
    first_at: LocalTime | None
    last_at: LocalTime | None


class TraceOut(Out):
    subject: str = Field(description="The person's name (office roles only)")
    subject_kind: str = Field(description="resident | visitor")
    subject_id: int = Field(description="The resident's id, or the visit's id")
    household: str | None = Field(description="A resident's building, unit and room")
    reason: str
    since: dt.date
    until: dt.date
    window_minutes: int
    passages: list[TracePassage]
    visits: list[TraceVisit]
    direct: list[TraceContact]
    same_place: list[TraceContact]
    route: list[TracePlace]
