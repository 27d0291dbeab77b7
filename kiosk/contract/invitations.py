"""Visitor invitations: what a resident sends to invite a visitor, what the visitor declares on
the share page, and what the resident sees of each invitation. One declaration for the API and
the pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar

from flask_babel import lazy_gettext as _l
from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from ..domain.invitations import INVITE_DAYS_AHEAD, InvitationStatus
from ..domain.visitors import HealthCode, VisitPurpose
from .base import Body, Out, choice
from .forms import Form
from .types import _DAY, IdText, LocalTime, Phone, text

# A calendar day, ISO 8601 (2020-06-20): the same real days as ``types.Moment``.
DAY_PATTERN = f"^{_DAY}$"
_DAY_SHAPE = re.compile(DAY_PATTERN.replace("$", r"\Z"))


def _day(value: Any) -> dt.date:
    if not isinstance(value, str) or not _DAY_SHAPE.match(value):
        raise PydanticCustomError("day", "must be a date")
    return dt.date.fromisoformat(value)


Day = Annotated[
    dt.date,
    PlainValidator(_day),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DAY_PATTERN,
            "description": "A day, ISO 8601 (2020-06-20); years 2000-2100",
        }
    ),
]

DATE_MESSAGE = _l("Date: a day from today to %(days)d days ahead.", days=INVITE_DAYS_AHEAD)


class InvitationCreate(Body):
    """A resident invites a visitor on a day (today up to seven days ahead)."""

    messages: ClassVar[dict[str, object]] = {
        "name": {"missing": _l("Write the visitor's name.")},
        "purpose": _l("Choose the purpose of the visit."),
        "date": DATE_MESSAGE,
    }
    labels: ClassVar[dict[str, object]] = {"name": _l("Visitor's name"), "date": _l("Date")}

    name: text(50) = Field(description="The visitor's name (shown masked at the gate)")
    phone: Phone
    date: Day = Field(description=f"The day of the visit: today to {INVITE_DAYS_AHEAD} days ahead")
    purpose: choice(VisitPurpose)


class InvitationForm(Form, InvitationCreate):
    """The same invitation from the resident's page."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class DeclarationForm(Form):
    """What the invited visitor declares on the share page before the code is shown: their
    health code colour and the risk areas they have been to (as on the poster's form)."""

    lists = frozenset({"risk_area_ids"})
    messages = {
        "health_code": _l("Choose the colour of your health code."),
        "risk_area_ids": _l("Choose risk areas from the list."),
    }

    health_code: choice(HealthCode)
    risk_area_ids: Annotated[list[IdText], Field(max_length=50)] = Field(default_factory=list)


# --- answers ----------------------------------------------------------------------------------


class Invitation(Out):
    """An invitation as its household sees it: the visitor, the day, and what happened."""

    id: int
    name: str = Field(description="The visitor's name as the resident wrote it")
    phone_last4: str
    date: dt.date
    purpose: VisitPurpose
    status: InvitationStatus
    created_at: LocalTime
    cancelled_at: LocalTime | None
    arrived_at: LocalTime | None
    left_at: LocalTime | None


class InvitationList(Out):
    items: list[Invitation]


class CreatedInvitation(Invitation):
    """A new invitation with its share link: shown this once (only its hash is kept)."""

    share_url: str = Field(description="The link to send to the visitor; shown only once")
