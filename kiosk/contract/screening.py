"""Screening lists (核查名单), declared once: the columns of an imported file and one person of
it, the list's heading, a row's update, the filters, and what the API answers.

A person is named by the phone, the ID-card number (each matched by its keyed hash, the only
form of it kept, with the last four), or the name with building, unit and room."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from ..domain.screening import CallStatus, MatchStatus
from .base import Body, Out, choice
from .errors import rule
from .forms import Form
from .imports import IdCardNumber
from .invitations import Day
from .paging import FlagText, Paged, option
from .types import Id, IdText, LocalTime, Phone, text

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "phone": ("手机号", "手机号码", "手机", "电话", "联系电话", "phone"),
    "id_number": ("身份证号", "身份证号码", "身份证", "证件号码", "id_number", "id number"),
    "building": ("楼栋", "楼号", "楼栋号", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "房间号", "门牌号", "room"),
    "address": ("地址", "住址", "现住址", "address"),
}
HEADER = {
    "zh": ("姓名", "手机号", "身份证号", "楼栋", "单元", "房号", "地址"),
    "en": ("name", "phone", "id_number", "building", "unit", "room", "address"),
}
MAX_ROWS = 5000

WHO = rule(
    "screening_row_who",
    "name",
    _l(
        "The phone, the ID number, or the name with building, unit and room: needed to find "
        "the person."
    ),
)


class ScreeningPerson(Body):
    """One person of a list, as issued."""

    name: text(50) = None
    phone: Phone = None
    id_number: IdCardNumber = None
    building: text(50) = None
    unit: text(20) = None
    room: text(20) = None
    address: text(200) = Field(None, description="As written on the list; not used to match")

    @model_validator(mode="after")
    def _who(self):
        place = (self.name, self.building, self.unit, self.room)
        if self.phone is None and self.id_number is None and None in place:
            raise WHO.error()
        return self

    @classmethod
    def read(cls, cells: dict[str, str]):
        return cls.parse({k: v for k, v in cells.items() if v and v.strip()})


class ScreeningHeading(Body):
    """A list's name, source and date ("30日后到过新发地市场人员", "区疾控", 2020-06-14)."""

    labels = {"name": _l("List"), "source": _l("Source"), "issued_on": _l("Date")}
    messages = {"issued_on": _l("Date: a day such as 2020-06-14.")}

    name: text(200)
    source: text(100) = None
    issued_on: Day = None
    community_id: Id = Field(
        None, description="Required for street users; office users may give only their own"
    )


class ScreeningListCreate(ScreeningHeading):
    """A list with its rows, as JSON."""

    rows: Annotated[list[ScreeningPerson], Field(min_length=1, max_length=MAX_ROWS)]


class ScreeningImportForm(Form, ScreeningHeading):
    """The office's import form: the heading, and the file (``file``) beside it."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {**ScreeningHeading.messages, "community_id": _l("Choose the community.")}

    community_id: IdText = None


class ScreeningRowChange(Body):
    """A row worked through: its call status, a note, the worker it is assigned to, and the
    resident chosen among the candidates of an ambiguous row. Fields left out are kept."""

    labels = {"call_status": _l("Status"), "note": _l("Note"), "assigned_to_id": _l("Worker")}

    call_status: choice(CallStatus) = None
    note: text(300) | None = Field(None, description="null clears the note")
    assigned_to_id: Id | None = Field(None, description="A worker of the list's community; null")
    resident_id: Id = Field(None, description="Ambiguous rows: one of candidate_ids")


class ScreeningRowForm(Form):
    """The same change from the office's page (a blank note or worker clears it)."""

    labels = ScreeningRowChange.labels
    messages = {
        "call_status": _l("Choose a status from the list."),
        "assigned_to_id": _l("Choose a worker from the list."),
        "resident_id": _l("Choose one of the people found."),
    }

    call_status: choice(CallStatus) = None
    note: text(300) = None
    assigned_to_id: IdText = None
    resident_id: IdText = None


class ScreeningRowFilter(Paged):
    """Filters of a list's rows."""

    call_status: option(CallStatus) = Field(None, description="Only rows with this status")
    match: option(MatchStatus) = Field(None, description="Only rows matched this way")
    assigned_to_id: IdText = Field(None, description="Only rows assigned to this worker")
    open: FlagText = Field(None, description="true: only rows not closed; false: only closed")


class ScreeningListQuery(Paged):
    pass


class ScreeningList(Out):
    id: int
    community_id: int
    name: str
    source: str | None
    issued_on: dt.date | None
    created_at: LocalTime
    total: int = 0
    closed: int = 0
    matched: int = 0
    ambiguous: int = 0
    not_here: int = 0
    progress: int = Field(0, description="Closed rows, whole percent")


class ScreeningListPage(Out):
    items: list[ScreeningList]
    next_after: int | None = Field(description="Pass as after for the next page; null at the end")


def _ids(value):
    """The candidates as stored ("12,15") or as a list."""
    if isinstance(value, str):
        return [int(part) for part in value.split(",") if part.isdigit()]
    return value


class ScreeningRow(Out):
    id: int
    list_id: int
    row_number: int
    name: str | None
    address: str | None
    phone_last4: str | None
    id_last4: str | None
    match: MatchStatus
    candidate_ids: Annotated[list[int], BeforeValidator(_ids)]
    resident_id: int | None
    call_status: CallStatus
    closed: bool
    note: str | None
    assigned_to_id: int | None
    updated_by_id: int | None
    updated_at: LocalTime | None


class ScreeningRowPage(Out):
    items: list[ScreeningRow]
    next_after: int | None = Field(description="Pass as after for the next page; null at the end")


class ScreeningFilterForm(Form):
    """The filters of the list's page (``?call_status=&match=&assigned_to_id=``)."""

    messages = {
        "call_status": _l("Choose a status from the list."),
        "match": _l("Choose a match from the list."),
        "assigned_to_id": _l("Choose a worker from the list."),
    }

    call_status: choice(CallStatus) = None
    match: choice(MatchStatus) = None
    assigned_to_id: IdText = None


class ReconcileForm(Form):
    """``?other_id=`` a second list (blank: the residents), ``&format=csv|xlsx`` to download."""

    messages = {
        "other_id": _l("Choose a list from the list."),
        "format": _l("Choose CSV or Excel."),
    }

    other_id: IdText = None
    format: Literal["csv", "xlsx"] = None


class WorkerRowForm(Form):
    """A worker's call from the phone: the status reached and a note (blank clears it)."""

    labels = ScreeningRowChange.labels
    messages = {"call_status": _l("Choose a status from the list.")}

    call_status: choice(CallStatus) = None
    note: text(300) = None
