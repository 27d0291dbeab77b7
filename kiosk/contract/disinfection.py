"""Disinfection rounds: the office's forms (add an area, print stickers, a week's record) and
the worker's tick (the sticker's token, an optional note; the photo is checked by content)."""

from __future__ import annotations

from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, Field, Strict, StringConstraints

from ..domain.disinfection import MAX_TIMES_PER_DAY, AreaKind
from .base import choice
from .forms import Form
from .types import IdText, Moment, text, whole_number_text

TimesPerDayText = whole_number_text(1, MAX_TIMES_PER_DAY)

_HHMM = "([01][0-9]|2[0-3]):[0-5][0-9]"
FIXED_TIMES_PATTERN = f"^ *{_HHMM}( *[,，] *{_HHMM}){{0,11}} *$"


def _normalise_times(value: str) -> str:
    """ "18:00, 08:00" is stored "08:00,18:00": sorted, once each."""
    parts = {p.strip() for p in value.replace("，", ",").split(",")}
    return ",".join(sorted(parts))


FixedTimes = Annotated[
    str,
    Strict(),
    StringConstraints(max_length=100, pattern=FIXED_TIMES_PATTERN),
    AfterValidator(_normalise_times),
    Field(description="Local times of day, HH:MM, separated by commas: 08:00,18:00"),
]

# A sticker's token: what ``security.new_token`` makes (URL-safe base64).
StickerToken = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=16, max_length=64, pattern="^[A-Za-z0-9_-]+$"),
]


class AreaForm(Form):
    """A public area (or a building's rubbish round) added on the office's page."""

    labels = {"name": _l("Area name")}
    messages = {
        "compound_id": _l("Choose the compound."),
        "building_id": _l("Choose the building from the list."),
        "kind": _l("Choose what kind of area it is."),
        "times_per_day": _l("Times a day: a whole number from 1 to 12."),
        "fixed_times": _l("Fixed times: times of day like 08:00,18:00."),
    }

    compound_id: IdText
    building_id: IdText = None
    name: text(100)
    kind: choice(AreaKind)
    times_per_day: TimesPerDayText = None
    fixed_times: FixedTimes = None


class AreaWorkerForm(Form):
    """The worker an area is given to (one of its community's); left empty: anyone's."""

    labels = {"worker_id": _l("Worker")}
    messages = {"worker_id": _l("Choose a worker from the list.")}

    worker_id: IdText = None


class StickerForm(Form):
    """The areas ticked for new stickers; none ticked: every area of the page."""

    lists = frozenset({"area_ids"})
    messages = {"area_ids": _l("Choose areas from the list.")}

    area_ids: Annotated[list[IdText], Field(max_length=500)] = Field(default_factory=list)


class WeekQuery(Form):
    """The week to print: the seven days ending on ``until`` (default today)."""

    messages = {"until": _l("Until: a date.")}

    until: Moment = None


class DoneForm(Form):
    """A worker's tick: the token read from the sticker, and a note if they like."""

    messages = {
        "token": _l("This sticker is not known. Scan the sticker at the area."),
        "note": _l("Note: at most 300 characters."),
    }

    token: StickerToken
    note: text(300) = None
