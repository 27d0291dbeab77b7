"""Deliveries and services: a household's request, a worker's view of it, and the door
announcement of a household under observation. One declaration for the API and the pages."""

from __future__ import annotations

from typing import ClassVar

from flask_babel import lazy_gettext as _l
from pydantic import ConfigDict, Field, model_validator

from ..domain.deliveries import (
    ANNOUNCE_DEFAULT_MINUTES,
    ANNOUNCE_MAX_MINUTES,
    DoorReason,
    ServiceKind,
    ServiceStatus,
)
from ..domain.people import mask_name
from .base import Body, Out, choice
from .errors import rule
from .forms import Form
from .paging import FlagText
from .types import LocalTime, text, whole_number, whole_number_text

MEDICINE_NOTE = rule("medicine_note", "note", _l("Note: write which medicine (the prescription)."))

Minutes = whole_number(1, ANNOUNCE_MAX_MINUTES)
MinutesText = whole_number_text(1, ANNOUNCE_MAX_MINUTES)


class ServiceRequestCreate(Body):
    """A household's request; medicine needs a note (which medicine, the prescription)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "if": {"required": ["kind"], "properties": {"kind": {"const": "medicine"}}},
            "then": {"required": ["note"]},
        },
    )
    messages: ClassVar[dict[str, object]] = {
        "kind": _l("Choose what you need."),
        "note": _l("Note: at most 300 characters."),
    }

    kind: choice(ServiceKind)
    note: text(300) = Field(None, description="What exactly; required for medicine")

    @model_validator(mode="after")
    def _medicine_note(self):
        if self.kind is ServiceKind.MEDICINE and self.note is None:
            raise MEDICINE_NOTE.error()
        return self


class ServiceRequestForm(Form, ServiceRequestCreate):
    """The same request from the resident's page."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class AnnouncementCreate(Body):
    """The door will be opened within the next minutes (1 to 30, 10 if left out)."""

    messages: ClassVar[dict[str, object]] = {
        "kind": _l("Choose why you open the door."),
        "minutes": _l("Minutes: from 1 to %(max)s.", max=ANNOUNCE_MAX_MINUTES),
    }

    kind: choice(DoorReason)
    minutes: Minutes = Field(ANNOUNCE_DEFAULT_MINUTES, description="The window from now")


class AnnouncementForm(Form):
    """The same announcement from the resident's page (the minutes as typed or chosen)."""

    messages = AnnouncementCreate.messages

    kind: choice(DoorReason)
    minutes: MinutesText = ANNOUNCE_DEFAULT_MINUTES


# --- answers ----------------------------------------------------------------------------------


class ServiceRequest(Out):
    """A request as its household sees it: each step's time and the worker's name."""

    id: int
    kind: ServiceKind
    note: str | None
    status: ServiceStatus
    worker: str | None = Field(description="The username of the worker who took it")
    created_at: LocalTime
    taken_at: LocalTime | None
    on_way_at: LocalTime | None
    delivered_at: LocalTime | None
    confirmed_at: LocalTime | None
    cancelled_at: LocalTime | None

    @classmethod
    def of(cls, row) -> ServiceRequest:
        """From a service's row: the request and the worker's username."""
        r = row.request
        return cls(
            id=r.id,
            kind=r.kind,
            note=r.note,
            status=r.status,
            worker=row.worker,
            created_at=r.created_at,
            taken_at=r.taken_at,
            on_way_at=r.on_way_at,
            delivered_at=r.delivered_at,
            confirmed_at=r.confirmed_at,
            cancelled_at=r.cancelled_at,
        )


class ServiceRequestList(Out):
    items: list[ServiceRequest]


class WorkerRequest(ServiceRequest):
    """A request as a worker sees it: where to bring it, and the requester's masked name."""

    compound: str
    building: str
    unit: str
    room: str
    requester: str | None = Field(description="Masked, e.g. 张**")

    @classmethod
    def of(cls, row) -> WorkerRequest:
        """From ``services.deliveries.WorkerRow``."""
        return cls(
            **ServiceRequest.of(row).model_dump(),
            compound=row.compound,
            building=row.building,
            unit=row.unit,
            room=row.room,
            requester=mask_name(row.requester) if row.requester else None,
        )


class WorkerRequestList(Out):
    items: list[WorkerRequest]


class Announcement(Out):
    id: int
    kind: DoorReason
    starts_at: LocalTime
    ends_at: LocalTime


class ServicesAllowedForm(Form):
    """The office's switch on a household's page."""

    messages = {"allowed": _l("Choose yes or no.")}

    allowed: FlagText
