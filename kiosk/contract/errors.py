"""From a pydantic ``ValidationError`` to translated messages, one per field, all at once.

The API answers ``{"error": {"code", "message", "field", "fields": [...]}}`` with the first
problem in ``code``/``message``/``field`` and every problem in ``fields``; the pages show the
messages next to the form. Messages are lazy (Flask-Babel): they are translated when shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from ..services.errors import Invalid
from . import types

# Field names as people read them; the API still reports the machine name in ``field``. A model
# may name a field its own way (``Body.labels``).
FIELD_LABELS = {
    "username": _l("Username"),
    "password": _l("Password"),
    "pin": _l("PIN"),
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
    "until": _l("Until"),
    "decision": _l("Decision"),
    "id_number": _l("ID number"),
    "last4": _l("Last four characters of the ID number"),
    "observation_until": _l("Observation until"),
    "observation_reason": _l("Observation reason"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "negative_test_within_hours": _l("Negative test within (hours)"),
    "taken_at": _l("Test taken at"),
    "result": _l("Test result"),
    "seal_state": _l("Seal state"),
    "temperature_required": _l("Temperature required"),
    "open": _l("Open"),
    "kind": _l("Kind"),
    "direction": _l("Direction"),
    "temperature": _l("Temperature (°C)"),
    "code": _l("Code"),
    "request_id": _l("Request id"),
    "scanned_at": _l("Scanned at"),
    "community_id": _l("Community"),
    "compound_id": _l("Compound"),
    "gate_id": _l("Gate"),
    "building_id": _l("Building"),
    "host_household_id": _l("Household visited"),
    "resident_id": _l("Person"),
    "user_id": _l("Guard"),
    "risk_area_ids": _l("Risk areas visited"),
    "visitor_policy": _l("Visitor policy"),
    "after": _l("After"),
    "limit": _l("Limit"),
}


PLACE_NAME = {"name": _l("Place name")}


def label(field: str):
    return FIELD_LABELS.get(field, field)


@dataclass(frozen=True)
class Rule:
    """A rule across fields (a reason when sealing, ...): its field and its message."""

    id: str
    field: str | None  # None: the request as a whole ("Nothing to change.")
    message: object  # a lazy string

    def error(self) -> PydanticCustomError:
        return PydanticCustomError("rule", "{rule}", {"rule": self.id, "field": self.field or ""})


_RULES: dict[str, Rule] = {}


def rule(id: str, field: str | None, message) -> Rule:
    _RULES[id] = r = Rule(id, field, message)
    return r


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: object  # a lazy string, translated when shown

    def as_json(self) -> dict:
        return {"field": self.field, "code": self.code, "message": str(self.message)}


class ContractError(Invalid):
    """Input that breaks the declared contract: every problem, the first one in front."""

    def __init__(self, errors: list[FieldError]):
        first = errors[0]
        super().__init__(first.message, code=first.code, field=first.field)
        self.errors = errors


def _visible(value: object) -> bool:
    return isinstance(value, str) and bool(value.split())


def _message(kind: str, field: str, ctx: Mapping, value: object, labels: Mapping | None = None):
    name = (labels or {}).get(field) or label(field)
    if kind in ("missing", "string_too_short"):
        return _l("%(field)s: this field is required.", field=name)
    if kind == "extra_forbidden":
        return _l("%(field)s: not a field of this request.", field=name)
    if kind == "string_type":
        return _l("%(field)s: must be text.", field=name)
    if kind == "string_unicode":
        return _l("%(field)s: contains control characters.", field=name)
    if kind == "string_too_long":
        return _l("%(field)s: at most %(n)d characters.", field=name, n=ctx["max_length"])
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        if pattern == types.TEXT_PATTERN:
            if not _visible(value):
                return _l("%(field)s: this field is required.", field=name)
            return _l("%(field)s: contains control characters.", field=name)
        if pattern == types.REQUEST_ID_PATTERN:
            return _l("request_id: at most 64 printable ASCII characters.")
        if pattern == types.ID_NUMBER_PATTERN:
            return _l("id_number: not a valid ID number.")
        if pattern == types.PHONE_PATTERN:
            return _l("phone: not a valid phone number.")
    if kind in ("enum", "literal_error"):
        options = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        return _l("%(field)s: must be one of %(options)s.", field=name, options=options)
    if kind == "bool_type":
        return _l("%(field)s: must be true or false.", field=name)
    if kind == "whole_number":
        return _l(
            "%(field)s: must be a whole number from %(lo)d to %(hi)d.",
            field=name,
            lo=ctx["lo"],
            hi=ctx["hi"],
        )
    if kind == "moment":
        return _l("%(field)s: must be an ISO 8601 time.", field=name)
    if kind == "temperature_type":
        return _l("Temperature must be a number.")
    if kind == "implausible_temperature":
        return _l(
            "%(value).1f °C is not a possible body temperature (34.0–43.0). Measure again.",
            value=ctx["value"],
        )
    if kind == "rule":
        return _RULES[ctx["rule"]].message
    return _l("%(field)s: the value is not valid.", field=name)


def field_errors(
    exc: ValidationError,
    messages: Mapping[str, object] | None = None,
    labels: Mapping[str, object] | None = None,
):
    """Every problem of a validation, in field order. ``messages`` words a field's problems
    itself (a form's "Choose the building."): field -> message, or field -> {error type ->
    message} for some problems only (``"missing"``: left blank). ``labels`` names a field
    where the common label does not fit (a place's name is not a person's)."""
    out: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        kind = err["type"]
        ctx = err.get("ctx") or {}
        loc = err["loc"]
        field = (ctx.get("field") or "") if kind == "rule" else (str(loc[0]) if loc else "")
        code = "implausible_temperature" if kind == "implausible_temperature" else "invalid"
        custom = messages.get(field) if messages else None
        if isinstance(custom, Mapping):
            custom = custom.get(kind)
        if custom is not None:
            if (field, code) in seen:
                continue  # one message per field is enough when the form words it itself
            message = custom
        else:
            message = _message(kind, field, ctx, err.get("input"), labels)
        seen.add((field, code))
        out.append(FieldError(field, code, message))
    return out


def refuse(
    exc: ValidationError,
    messages: Mapping[str, object] | None = None,
    labels: Mapping[str, object] | None = None,
) -> ContractError:
    return ContractError(field_errors(exc, messages, labels))


def problems(exc: Invalid | Exception) -> list[FieldError]:
    """What a page shows for a refused form: every field of a contract error, or the one
    problem a service found (which may name no field)."""
    errors = getattr(exc, "errors", None)
    if errors:
        return list(errors)
    return [FieldError(exc.field or "", exc.code, exc.message)]
