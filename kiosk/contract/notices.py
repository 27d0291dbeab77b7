"""The office's notices to residents: for a whole community, one compound or one building."""

from __future__ import annotations

from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, ConfigDict, Field, Strict, StringConstraints

from .base import Body, Out
from .forms import Form
from .paging import FlagText, Paged
from .types import TEXT_PATTERN, Id, IdText, LocalTime, Moment, text


def _paragraphs(value: str) -> str:
    """Line breaks are kept (a notice has paragraphs); trailing spaces and blank edges go."""
    lines = [line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


# A notice's body: like ``text`` but the lines are kept.
NoticeText = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=2000, pattern=TEXT_PATTERN),
    AfterValidator(_paragraphs),
    Field(description="1 to 2000 characters; line breaks are kept"),
]


class NoticeCreate(Body):
    """A notice for the residents of a building, a compound or a whole community."""

    labels = {"title": _l("Title"), "body": _l("Text"), "expires_at": _l("Shown until")}

    title: text(100)
    body: NoticeText
    building_id: Id = Field(None, description="Only this building's residents")
    compound_id: Id = Field(
        None, description="Only this compound's residents (the building's, if both are given)"
    )
    community_id: Id = Field(
        None,
        description="The whole community: required for street users when neither a compound "
        "nor a building is given; office users may give only their own",
    )
    expires_at: Moment = Field(None, description="In the future; without it the notice stays")


class NoticeForm(Form, NoticeCreate):
    """The office's form: the place chosen in lists (blank: the whole community)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {
        "building_id": _l("Choose the building."),
        "compound_id": _l("Choose the compound."),
        "community_id": _l("Choose the community."),
        "expires_at": _l("Shown until: a date and time."),
    }

    building_id: IdText = None
    compound_id: IdText = None
    community_id: IdText = None


class NoticeQuery(Paged):
    active: FlagText = Field(
        None, description="true: only notices shown now; false: only expired or withdrawn ones"
    )


class Notice(Out):
    id: int
    community_id: int
    compound_id: int | None
    building_id: int | None
    place: str = Field(description="Where it is shown: the community, a compound or a building")
    title: str
    body: str
    created_at: LocalTime
    expires_at: LocalTime | None
    active: bool


class NoticeList(Out):
    items: list[Notice]


class NoticePage(Out):
    items: list[Notice]
    next_after: int | None = Field(description="Pass as after for the next page; null at the end")
