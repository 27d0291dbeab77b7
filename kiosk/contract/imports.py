"""Bulk imports, declared once: the columns of the people list, one row of it, and the forms and
queries of the import and export pages.

A row of the list is one model (``PersonRow``), read from the row's cells as text (a blank cell
counts as left out, as in a web form). Every problem of a row is a ``FieldError`` with its field
and a translated message; the import page lists them by row number.

The ID-card number of a row is checked as a card number (GB 11643): 18 characters whose last one
is the check digit of the other 17 (``X`` for ten), or the 15 digits of a first-generation card.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, Strict, StringConstraints, model_validator

from .base import Body
from .errors import rule
from .forms import Form
from .types import IdNumber, IdText, Phone, text

# Each field of the people list and the header names it goes by (Chinese first, then English;
# compared without case or spaces). The first three are required columns.
COLUMNS: dict[str, tuple[str, ...]] = {
    "building": ("楼栋", "楼号", "楼栋号", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "房间号", "门牌号", "room"),
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "身份证", "id_number", "id number"),
    "phone": ("手机号", "手机号码", "手机", "电话", "phone"),
}
REQUIRED_COLUMNS = ("building", "unit", "room")
# The header written into templates and exports, in the order above.
HEADER = {
    "zh": ("楼栋", "单元", "房号", "姓名", "身份证号", "手机号"),
    "en": ("building", "unit", "room", "name", "id_number", "phone"),
}
# An export names the compound in its first column (the import takes it from the page).
COMPOUND_COLUMN = {"zh": "小区", "en": "compound"}
# An export has the last four characters only: the whole numbers are never stored.
EXPORT_HEADER = {
    "zh": ("楼栋", "单元", "房号", "姓名", "身份证号后四位", "手机号后四位"),
    "en": ("building", "unit", "room", "name", "id_last4", "phone_last4"),
}

COLUMN_LABELS = {
    "building": _l("Building"),
    "unit": _l("Unit"),
    "room": _l("Room"),
    "name": _l("Name"),
    "id_number": _l("ID number"),
    "phone": _l("Phone"),
}

ID_CARD_LENGTH = rule(
    "id_card_length",
    "id_number",
    _l("ID number: an ID card number has 18 characters (15 digits on an old card)."),
)
ID_CARD_CHECK = rule(
    "id_card_check",
    "id_number",
    _l("ID number: the last character does not match the others: check it for a typing error."),
)
NAME_WITH_NUMBERS = rule(
    "import_name",
    "name",
    _l("Name: required when an ID number or a phone number is given."),
)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CARD_18 = re.compile(r"[0-9]{17}[0-9X]")
_CARD_15 = re.compile(r"[0-9]{15}")


def normalise_card(value: str) -> str:
    """Full-width characters and spaces as a Chinese input method may type them: the same
    number (``security.normalise_id_number`` does the same before hashing)."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _id_card(value: str) -> str:
    card = normalise_card(value)
    if _CARD_15.fullmatch(card):
        return value
    if not _CARD_18.fullmatch(card):
        raise ID_CARD_LENGTH.error()
    if check_digit(card[:17]) != card[17]:
        raise ID_CARD_CHECK.error()
    return value


IdCardNumber = Annotated[IdNumber, AfterValidator(_id_card)]


class PersonRow(Body):
    """One row of the people list: a building, a household (unit and room) and, when a name is
    given, a person living there. ID number and phone are optional; given, they need a name."""

    labels = {"building": _l("Building")}
    messages = {
        "building": {"missing": _l("Building: required.")},
        "unit": {"missing": _l("Unit: required.")},
        "room": {"missing": _l("Room: required.")},
    }

    building: text(50)
    unit: text(20)
    room: text(20)
    name: text(50) = None
    id_number: IdCardNumber = None
    phone: Phone = None

    @model_validator(mode="after")
    def _name_with_numbers(self):
        if self.name is None and (self.id_number is not None or self.phone is not None):
            raise NAME_WITH_NUMBERS.error()
        return self

    @classmethod
    def read(cls, cells: dict[str, str]):
        """The row from its cells by field; blank cells count as left out."""
        return cls.parse({k: v for k, v in cells.items() if v and v.strip()})


# --- the pages ----------------------------------------------------------------------------------

FileFormat = Literal["csv", "xlsx"]


class ImportForm(Form):
    """The upload: the compound the list is for (the file itself comes as ``file``)."""

    messages = {"compound_id": _l("Choose the compound.")}

    compound_id: IdText


DIGEST_PATTERN = "^[0-9a-f]{64}$"


class ImportConfirmForm(Form):
    """The confirmation of a previewed import: the same form and file again, with the digest of
    the file the preview was made of (``services.imports`` says why the file comes twice)."""

    messages = {
        "compound_id": _l("Choose the compound."),
        "digest": _l("Check the file before importing it."),
    }

    compound_id: IdText
    digest: Annotated[str, Strict(), StringConstraints(pattern=DIGEST_PATTERN)]


class ExportQuery(Form):
    """``?format=csv|xlsx&compound=<id>``: the residents of one compound, or of every compound
    the user reaches when none is named."""

    messages = {
        "format": _l("Choose CSV or Excel."),
        "compound": _l("Choose the compound."),
    }

    format: FileFormat = "csv"
    compound: IdText = None


class TemplateQuery(Form):
    """``?format=csv|xlsx``: the blank people list, its header only."""

    messages = {"format": _l("Choose CSV or Excel.")}

    format: FileFormat = "csv"
