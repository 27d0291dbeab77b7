"""A resident's household and its paper passes, and everything the system holds about them
("my data"): what the resident's API answers and takes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from pydantic import ConfigDict, Field

from ..domain.decision import Decision, Direction, PassKind
from .base import Body, Out
from .forms import Form
from .passes import Pass
from .types import LocalTime, Moment


class PaperPassCreate(Body):
    """A paper pass (static printed code) for a member of the caller's household without a
    login."""

    valid_until: Moment = Field(None, description="In the future; without it the pass has no end")


class PaperPassForm(Form, PaperPassCreate):
    """The household page's "issue a paper pass" (an end date is optional)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {"valid_until": _l("Valid until: a date.")}


class PaperPass(Out):
    id: int
    valid_from: LocalTime | None
    valid_until: LocalTime | None
    created_at: LocalTime


class Member(Out):
    resident_id: int
    name: str = Field(description="In full: the caller's own household")
    is_you: bool
    has_login: bool = Field(description="Signs in with their own phone (and manages their pass)")
    phone_pass: bool = Field(description="Has an active phone pass")
    paper_pass: PaperPass | None = Field(description="The active paper pass, if any")
    may_have_paper_pass: bool = Field(
        description="The caller may issue and revoke this member's paper pass (no login)"
    )


class Household(Out):
    household_id: int
    compound: str
    building: str
    unit: str
    room: str
    members: list[Member]


# --- my data ----------------------------------------------------------------------------------


class MyRecord(Out):
    resident_id: int
    name: str
    username: str
    compound: str
    building: str
    unit: str
    room: str
    id_last4: str | None = Field(description="The full ID number is not stored")
    phone_last4: str | None = Field(description="The full phone number is not stored")
    created_at: LocalTime


class MyEvent(Out):
    id: int
    occurred_at: LocalTime
    gate: str
    compound: str
    direction: Direction
    decision: Decision
    reasons: list[str]
    temperature: float | None
    pass_id: int | None


class MyTest(Out):
    taken_at: LocalTime
    result: str
    recorded_at: LocalTime


class MyVisit(Out):
    id: int
    visitor: str = Field(description="Masked: the visitor is not of the household")
    purpose: str
    status: str
    valid_on: str | None = Field(description="The day of an invited or self-registered visit")
    created_at: LocalTime
    checked_in_at: LocalTime | None
    checked_out_at: LocalTime | None
    invited: bool = Field(description="Invited by a member of the household")


class MyServiceRequest(Out):
    id: int
    kind: str
    note: str | None
    status: str
    created_at: LocalTime
    taken_at: LocalTime | None
    on_way_at: LocalTime | None
    delivered_at: LocalTime | None
    confirmed_at: LocalTime | None
    cancelled_at: LocalTime | None


class MyPass(Pass):
    kind: PassKind
    created_at: LocalTime


class MyData(Out):
    """Everything the system holds about the caller, and of their household what concerns
    them: never anyone outside the household (a visitor's name is masked)."""

    generated_at: LocalTime
    record: MyRecord
    passes: list[MyPass]
    events: list[MyEvent]
    tests: list[MyTest]
    visits: list[MyVisit]
    service_requests: list[MyServiceRequest]
