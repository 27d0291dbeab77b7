"""The value types every input and output is declared with, once: JSON bodies, query strings
and web forms use the same rules, and the OpenAPI document states them exactly.

Each type is a pydantic ``Annotated`` type whose JSON Schema is the rule the server applies:
a value the schema calls valid is accepted, a value it calls invalid is refused. Error types
raised here (``whole_number``, ``moment``, ...) are turned into translated messages by
``contract.errors``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any

from flask import current_app, has_app_context
from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from ..domain.decision import TEMPERATURE_MAX, TEMPERATURE_MIN
from ..models import MAX_ID

# --- whole numbers ------------------------------------------------------------------------------


def whole_number(lo: int, hi: int):
    """A JSON number without a fraction (``5`` or ``5.0``, as JSON Schema's "integer"); never
    ``true``, never a string."""

    def check(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise PydanticCustomError(
                "whole_number", "must be a whole number from {lo} to {hi}", {"lo": lo, "hi": hi}
            )
        return value

    return Annotated[
        int,
        PlainValidator(check),
        WithJsonSchema({"type": "integer", "minimum": lo, "maximum": hi}),
    ]


_DIGITS = re.compile(r"-?[0-9]{1,19}")


def whole_number_text(lo: int, hi: int):
    """The same whole number written as text: a query parameter or a form field."""

    def check(value: Any) -> int:
        if not isinstance(value, str) or not _DIGITS.fullmatch(value) or not lo <= int(value) <= hi:
            raise PydanticCustomError(
                "whole_number", "must be a whole number from {lo} to {hi}", {"lo": lo, "hi": hi}
            )
        return int(value)

    return Annotated[
        int,
        PlainValidator(check),
        WithJsonSchema({"type": "integer", "minimum": lo, "maximum": hi}),
    ]


Id = whole_number(1, MAX_ID)
# An id typed or chosen in a web form: ASCII digits only, so "²" or an id beyond the integer
# keys is a clear error on the page, never a 500.
IdText = whole_number_text(1, MAX_ID)
TestWindowHours = whole_number(1, 24 * 14)
TestWindowHoursText = whole_number_text(1, 24 * 14)
PageSizeText = whole_number_text(1, 1000)
AfterIdText = whole_number_text(0, MAX_ID)
PageNumberText = whole_number_text(1, 100_000)


# --- text ---------------------------------------------------------------------------------------

# Control characters other than tab, line feed and carriage return are refused (as are lone
# surrogates, which cannot be stored as UTF-8). Whitespace is what ``str.split`` splits on.
_CONTROL = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]
_SPACE = [c for c in range(0x110000) if chr(c).isspace()]


def _char_class(codes: list[int]) -> str:
    """The characters as regex class ranges, spelled \\uXXXX (ECMA-262, Rust and Python alike)."""
    out: list[tuple[int, int]] = []
    for c in sorted(set(codes)):
        if out and out[-1][1] == c - 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return "".join(f"\\u{lo:04x}" if lo == hi else f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in out)


_NOT_CONTROL = f"[^{_char_class(_CONTROL)}]"
_VISIBLE = f"[^{_char_class(_CONTROL + _SPACE)}]"
TEXT_PATTERN = f"^{_NOT_CONTROL}*{_VISIBLE}{_NOT_CONTROL}*$"


def _collapse(value: str) -> str:
    return " ".join(value.split())


def text(max_length: int, description: str | None = None):
    """A line of text: 1 to ``max_length`` characters as sent, at least one of them visible, no
    control characters but tab and line breaks. Runs of whitespace are stored as one space."""
    extra = {"description": description} if description else {}
    return Annotated[
        str,
        Strict(),
        StringConstraints(min_length=1, max_length=max_length, pattern=TEXT_PATTERN),
        AfterValidator(_collapse),
        Field(**extra),
    ]


# Spaces between them are allowed; full-width letters and digits (a Chinese input method) are
# the same characters.
ID_NUMBER_PATTERN = "^ *([0-9A-Za-z０-９Ａ-Ｚａ-ｚ] *){6,20}$"
IdNumber = Annotated[
    str,
    Strict(),
    StringConstraints(max_length=60, pattern=ID_NUMBER_PATTERN),
    Field(description="6 to 20 letters and digits (full-width ones too), spaces ignored"),
]

PHONE_PATTERN = "^[+]?[ ()-]*([0-9０-９][ ()-]*){5,15}$"
Phone = Annotated[
    str,
    Strict(),
    StringConstraints(max_length=60, pattern=PHONE_PATTERN),
    Field(description="5 to 15 digits (full-width ones too); spaces, hyphens and brackets ignored"),
]

PIN_PATTERN = "^[0-9]{4,8}$"
Pin = Annotated[
    str, Strict(), StringConstraints(pattern=PIN_PATTERN), Field(description="4 to 8 digits")
]

# The last four characters of an ID number, as the guard types them (full-width too).
LAST4_PATTERN = "^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]{4}$"
Last4 = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=LAST4_PATTERN),
    AfterValidator(lambda value: unicodedata.normalize("NFKC", value).upper()),
]

REQUEST_ID_PATTERN = "^[ -~]{1,64}$"
RequestId = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=REQUEST_ID_PATTERN),
    Field(description="1 to 64 printable ASCII characters, unique per device"),
]


# --- times --------------------------------------------------------------------------------------

# ISO 8601 as the clients send it: a date, or a date and time with an optional offset (without
# one, the time is read in the deployment's time zone). Real calendar days of the years 2000-2100
# only, spelled out so that the pattern is the whole rule: 30 February does not match it.
_YEAR = "(20[0-9]{2}|2100)"
_LEAP_YEAR = "20([02468][048]|[13579][26])"  # 2000, 2004, ... 2096 (2100 is not a leap year)
_DAY = (
    f"({_YEAR}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    f"|{_YEAR}-(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    f"|{_YEAR}-02-(0[1-9]|1[0-9]|2[0-8])"
    f"|{_LEAP_YEAR}-02-29)"
)
MOMENT_PATTERN = (
    f"^{_DAY}"
    r"([T ]([01][0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9])([.][0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)
_MOMENT = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?"
    r"(Z|([+-])(\d\d):(\d\d))?)?"
)
MOMENT_DESCRIPTION = (
    "ISO 8601: a date (2020-06-13) or a date and time (2020-06-13T08:30:00+08:00); without an "
    "offset the time is read in the deployment's time zone. A real calendar day, years 2000-2100."
)


def deployment_tz(info: ValidationInfo | None = None) -> tzinfo:
    context = info.context if info is not None else None
    if isinstance(context, dict) and context.get("tz") is not None:
        return context["tz"]
    return current_app.config["TZ"] if has_app_context() else UTC


def parse_moment(value: str, info: ValidationInfo | None = None) -> datetime:
    """The pattern has checked the shape; the calendar (30 February) is checked here."""
    m = _MOMENT.fullmatch(value)
    if m is None:  # pragma: no cover - the pattern ran first
        raise PydanticCustomError("moment", "must be an ISO 8601 time")
    year, month, day, hour, minute, second, fraction, offset, sign, oh, om = m.groups()
    try:
        if offset is None:
            tz = deployment_tz(info)
        elif offset == "Z":
            tz = UTC
        else:
            delta = timedelta(hours=int(oh), minutes=int(om))
            tz = timezone(-delta if sign == "-" else delta)
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        raise PydanticCustomError("moment", "not a day of the calendar") from None
    return moment.astimezone(UTC)


_MOMENT_SHAPE = re.compile(MOMENT_PATTERN.replace("$", r"\Z"))


def _moment(value: Any, info: ValidationInfo) -> datetime:
    if not isinstance(value, str) or not _MOMENT_SHAPE.match(value):
        raise PydanticCustomError("moment", "must be an ISO 8601 time")
    return parse_moment(value, info)


Moment = Annotated[
    datetime,
    PlainValidator(_moment),
    WithJsonSchema(
        {"type": "string", "pattern": MOMENT_PATTERN, "description": MOMENT_DESCRIPTION}
    ),
]


def _local_iso(value: datetime) -> str:
    return value.astimezone(deployment_tz()).isoformat()


# An answer's time: ISO 8601 with the offset of the deployment's time zone.
LocalTime = Annotated[
    datetime,
    PlainSerializer(_local_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


# --- temperature --------------------------------------------------------------------------------


def _temperature(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("temperature_type", "must be a number")
    try:
        reading = float(value)  # an integer of 400 digits does not fit a float
    except OverflowError:
        raise PydanticCustomError("temperature_type", "must be a number") from None
    if not math.isfinite(reading):
        raise PydanticCustomError("temperature_type", "must be a number")
    return _plausible(reading)


def _plausible(reading: float) -> float:
    """In the stated range as sent (33.96 is refused, not rounded into it); then kept to the
    tenth of a degree a thermometer shows."""
    if not TEMPERATURE_MIN <= reading <= TEMPERATURE_MAX:
        raise PydanticCustomError(
            "implausible_temperature", "not a possible body temperature", {"value": reading}
        )
    return round(reading, 1)


TEMPERATURE_DESCRIPTION = (
    "°C as a JSON number, 34.0 to 43.0 (anything else is a typing error, not a reading); "
    "kept to one decimal"
)
Temperature = Annotated[
    float,
    PlainValidator(_temperature),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": TEMPERATURE_MIN,
            "maximum": TEMPERATURE_MAX,
            "description": TEMPERATURE_DESCRIPTION,
        }
    ),
]


def _temperature_text(value: Any) -> float | None:
    """A reading typed on a tablet: blank for none, a decimal comma allowed ("36,5")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 20:
        raise PydanticCustomError("temperature_type", "must be a number")
    try:
        reading = float(value.strip().replace(",", "."))
    except ValueError:
        raise PydanticCustomError("temperature_type", "must be a number") from None
    if not math.isfinite(reading):
        raise PydanticCustomError("temperature_type", "must be a number")
    return _plausible(reading)


# A tablet's reading time, Unix milliseconds, up to the end of 2100.
UnixMillisText = whole_number_text(0, 4_133_980_799_999)

TemperatureText = Annotated[
    float | None,
    PlainValidator(_temperature_text),
    WithJsonSchema({"type": "string", "description": TEMPERATURE_DESCRIPTION}),
]
