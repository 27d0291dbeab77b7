"""A batch of nucleic-acid results from the testing site, declared once: its columns and one row.

A row names its person by the ID-card number (matched by its keyed hash), or by name, building,
unit and room (and the last four of the ID number when the list has them)."""

from __future__ import annotations

from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, model_validator

from ..domain.decision import TestOutcome
from .base import Body, choice
from .errors import rule
from .imports import IdCardNumber
from .types import Last4, Moment, text

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "building": ("楼栋", "楼号", "楼栋号", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "房间号", "门牌号", "room"),
    "id_number": ("身份证号", "身份证号码", "身份证", "id_number", "id number"),
    "id_last4": ("身份证后四位", "身份证号后四位", "id_last4"),
    "taken_at": ("采样时间", "检测时间", "采样日期", "taken_at", "taken at"),
    "result": ("结果", "检测结果", "result"),
}
REQUIRED_COLUMNS = ("taken_at", "result")
HEADER = {
    "zh": ("姓名", "楼栋", "单元", "房号", "身份证号后四位", "采样时间", "结果"),
    "en": ("name", "building", "unit", "room", "id_last4", "taken_at", "result"),
}

# The words a testing site's list uses for a result.
_OUTCOME_WORDS = {"阴性": TestOutcome.NEGATIVE.value, "阳性": TestOutcome.POSITIVE.value}

WHO = rule(
    "test_row_who",
    "name",
    _l("Name, building, unit and room, or the ID number: needed to find the person."),
)


def _outcome(value):
    if isinstance(value, str):
        word = value.strip()
        return _OUTCOME_WORDS.get(word, word.lower())
    return value


class TestRow(Body):
    """One result of the batch."""

    __test__ = False  # not a pytest class
    messages = {
        "taken_at": _l("Taken at: a date and time such as 2026-06-20 08:30."),
        "result": _l("Result: 阴性/negative or 阳性/positive."),
    }

    name: text(50) = None
    building: text(50) = None
    unit: text(20) = None
    room: text(20) = None
    id_number: IdCardNumber = None
    id_last4: Last4 = None
    taken_at: Moment
    result: Annotated[choice(TestOutcome), BeforeValidator(_outcome)]

    @model_validator(mode="after")
    def _who(self):
        address = (self.name, self.building, self.unit, self.room)
        if self.id_number is None and None in address:
            raise WHO.error()
        return self

    @classmethod
    def read(cls, cells: dict[str, str]):
        return cls.parse({k: v for k, v in cells.items() if v and v.strip()})


# The columns of an outside list of people (a ledger to reconcile with ours): who only.
PEOPLE_COLUMNS = {
    k: COLUMNS[k] for k in ("name", "building", "unit", "room", "id_number", "id_last4")
}


class LedgerRow(Body):
    """One person of an outside list: the ID number, or name, building, unit and room."""

    name: text(50) = None
    building: text(50) = None
    unit: text(20) = None
    room: text(20) = None
    id_number: IdCardNumber = None
    id_last4: Last4 = None

    @model_validator(mode="after")
    def _who(self):
        address = (self.name, self.building, self.unit, self.room)
        if self.id_number is None and None in address:
            raise WHO.error()
        return self

    @classmethod
    def read(cls, cells: dict[str, str]):
        return cls.parse({k: v for k, v in cells.items() if v and v.strip()})
