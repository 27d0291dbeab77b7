"""Input checks shared by the API and the pages. Each raises ``Invalid`` with a translated message."""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo

from flask_babel import lazy_gettext as _l

from ..domain.decision import temperature_is_plausible
from .errors import Invalid

# Field names as people read them; the API still reports the machine name in ``error.field``.
FIELD_LABELS = {
    "name": _l("Name"),
    "phone": _l("Phone"),
    "unit": _l("Unit"),
    "room": _l("Room"),
    "reason": _l("Reason"),
    "note": _l("Note"),
    "purpose": _l("Purpose"),
    "health_code": _l("Health code colour"),
    "level": _l("Level"),
    "since": _l("Since"),
    "decision": _l("Decision"),
    "id_number": _l("ID number"),
    "observation_until": _l("Observation until"),
    "observation_reason": _l("Observation reason"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "taken_at": _l("Test taken at"),
    "result": _l("Test result"),
    "seal_state": _l("Seal state"),
    "kind": _l("Kind"),
}


def label(field: str):
    return FIELD_LABELS.get(field, field)


def text(data: dict, field: str, max_len: int = 100, required: bool = True) -> str | None:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(_l("%(field)s: this field is required.", field=label(field)), field=field)
        return None
    if not isinstance(value, str):
        raise Invalid(_l("%(field)s: must be text.", field=label(field)), field=field)
    value = " ".join(value.split())
    if len(value) > max_len:
        raise Invalid(
            _l("%(field)s: at most %(n)d characters.", field=label(field), n=max_len), field=field
        )
    if any(ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        # Lone surrogates (JSON "\ud800") cannot be stored as UTF-8.
        raise Invalid(
            _l("%(field)s: contains control characters.", field=label(field)), field=field
        )
    return value


def choice(data: dict, field: str, options: tuple[str, ...], required: bool = True) -> str | None:
    value = data.get(field)
    if value is None and not required:
        return None
    if value not in options:
        raise Invalid(
            _l(
                "%(field)s: must be one of %(options)s.",
                field=label(field),
                options=", ".join(options),
            ),
            field=field,
        )
    return value


def boolean(data: dict, field: str) -> bool:
    value = data.get(field)
    if not isinstance(value, bool):
        raise Invalid(_l("%(field)s: must be true or false.", field=label(field)), field=field)
    return value


def integer(data: dict, field: str, lo: int, hi: int, required: bool = True) -> int | None:
    value = data.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise Invalid(
            _l(
                "%(field)s: must be a whole number from %(lo)d to %(hi)d.",
                field=label(field),
                lo=lo,
                hi=hi,
            ),
            field=field,
        )
    return value


def moment(data: dict, field: str, tz: tzinfo, required: bool = True) -> datetime | None:
    """An ISO 8601 time; without an offset it is read in the deployment's time zone."""
    value = data.get(field)
    if value is None:
        if required:
            raise Invalid(_l("%(field)s: this field is required.", field=label(field)), field=field)
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise Invalid(_l("%(field)s: must be an ISO 8601 time.", field=label(field)), field=field)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            _l("%(field)s: must be an ISO 8601 time.", field=label(field)), field=field
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if not 2000 <= parsed.year <= 2100:
        raise Invalid(_l("%(field)s: the year is out of range.", field=label(field)), field=field)
    return parsed.astimezone(UTC)


def temperature(value: object) -> float | None:
    """A reading in C, or None; impossible readings are typing errors."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            raise Invalid(_l("Temperature must be a number."), field="temperature") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(_l("Temperature must be a number."), field="temperature")
    try:
        value = float(value)  # an integer of 400 digits does not fit a float
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise Invalid(_l("Temperature must be a number."), field="temperature")
    value = round(value, 1)
    if not temperature_is_plausible(value):
        raise Invalid(
            _l(
                "%(value).1f °C is not a possible body temperature (34.0–43.0). Measure again.",
                value=value,
            ),
            field="temperature",
            code="implausible_temperature",
        )
    return value
