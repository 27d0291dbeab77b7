"""Compounds, gates, buildings, households, residents, test results and devices."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from ..domain.decision import SealState, TestOutcome
from ..domain.devices import DeviceKind
from .base import Body, Out, choice
from .errors import PLACE_NAME, rule
from .types import Id, IdNumber, LocalTime, Moment, Phone, text

SealStateValue = choice(SealState)
_CLOSING = [s.value for s in SealState if s is not SealState.OPEN]

SEAL_REASON = rule("seal_reason", "reason", _l("reason: say why the seal changes."))
NOTHING_TO_CHANGE = rule("nothing_to_change", None, _l("Nothing to change."))
OBSERVATION_REASON = rule(
    "observation_reason",
    "observation_reason",
    _l("observation_reason: say why the household is observed."),
)

# JSON Schema for "a reason unless the new state is open".
_SEAL_REASON_SCHEMA = {
    "if": {"required": ["seal_state"], "properties": {"seal_state": {"enum": _CLOSING}}},
    "then": {"required": ["reason"]},
}


def _needs_reason(state: SealState | None, reason: str | None) -> None:
    if state is not None and state is not SealState.OPEN and reason is None:
        raise SEAL_REASON.error()


# --- compounds --------------------------------------------------------------------------------


class CompoundCreate(Body):
    """A new compound. An office user's goes into its own community; a street user names one."""

    labels = PLACE_NAME

    name: text(100)
    community_id: Id = Field(
        None,
        description="Required for street users: a community of their street; office users "
        "may give only their own",
    )
    temperature_required: bool = Field(None, description="Entry needs a reading (default true)")


class CompoundChange(Body):
    """Change the seal state, the temperature rule, or both."""

    model_config = {
        "json_schema_extra": {
            "anyOf": [{"required": ["seal_state"]}, {"required": ["temperature_required"]}],
            **_SEAL_REASON_SCHEMA,
        }
    }

    seal_state: SealStateValue = Field(None, description="A reason is required unless open")
    reason: text(200) = None
    temperature_required: bool = None

    @model_validator(mode="after")
    def _rules(self):
        if self.seal_state is None and self.temperature_required is None:
            raise NOTHING_TO_CHANGE.error()
        _needs_reason(self.seal_state, self.reason)
        return self


class Compound(Out):
    id: int
    name: str
    community_id: int
    seal_state: SealState
    seal_reason: str | None
    temperature_required: bool


# --- gates ------------------------------------------------------------------------------------


class GateCreate(Body):
    labels = PLACE_NAME

    name: text(100)


# A time of day, local to the deployment's time zone: "08:00" or "08:00:00".
TIME_OF_DAY_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_TIME_OF_DAY = re.compile(TIME_OF_DAY_PATTERN.replace("$", r"\Z"))


def _time_of_day(value: Any) -> time:
    if not isinstance(value, str) or not _TIME_OF_DAY.match(value):
        raise PydanticCustomError("time_of_day", "must be a time of day such as 08:00")
    return time.fromisoformat(value)


TimeOfDay = Annotated[
    time,
    PlainValidator(_time_of_day),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TIME_OF_DAY_PATTERN,
            "description": "Local time of day in the deployment's time zone, HH:MM",
        }
    ),
]
TimeOfDayOut = Annotated[
    time,
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": TIME_OF_DAY_PATTERN}, mode="serialization"),
]

# Hours go together: the one left out (or null beside a time) is named.
_BOTH = _l("Give both opening hours, or neither (open all day).")
GATE_HOURS_NEED_OPENS = rule("gate_hours_need_opens", "opens_at", _BOTH)
GATE_HOURS_NEED_CLOSES = rule("gate_hours_need_closes", "closes_at", _BOTH)
GATE_HOURS_EQUAL = rule(
    "gate_hours_equal", "closes_at", _l("The gate must close at another time than it opens.")
)
GATE_NOTHING_TO_CHANGE = rule(
    "gate_nothing_to_change", "open", _l("open: open or close the gate, or give opening hours.")
)
GATE_HOURS_LABELS = {"opens_at": _l("Opens at"), "closes_at": _l("Closes at")}


def check_gate_hours(opens_at: time | None, closes_at: time | None) -> None:
    if opens_at is None and closes_at is not None:
        raise GATE_HOURS_NEED_OPENS.error()
    if closes_at is None and opens_at is not None:
        raise GATE_HOURS_NEED_CLOSES.error()
    if opens_at is not None and opens_at == closes_at:
        raise GATE_HOURS_EQUAL.error()


def _null_with(a: str, b: str) -> dict:
    """JSON Schema: when ``a`` is sent as null, ``b`` is null too."""
    return {
        "if": {"required": [a], "properties": {a: {"type": "null"}}},
        "then": {"properties": {b: {"type": "null"}}},
    }


class GateChange(Body):
    """Open or close a gate, set its opening hours, or both. Hours go together: both times
    (a window across midnight when it opens later than it closes; not the same time twice) or
    both null (no hours: open whenever it is open)."""

    labels = GATE_HOURS_LABELS
    model_config = {
        "json_schema_extra": {
            "anyOf": [{"required": ["open"]}, {"required": ["opens_at", "closes_at"]}],
            "dependentRequired": {"opens_at": ["closes_at"], "closes_at": ["opens_at"]},
            "allOf": [_null_with("opens_at", "closes_at"), _null_with("closes_at", "opens_at")],
        }
    }

    open: bool = None
    opens_at: TimeOfDay | None = Field(None, description="Opens at (inclusive), HH:MM local")
    closes_at: TimeOfDay | None = Field(None, description="Closes at (exclusive), HH:MM local")

    @model_validator(mode="after")
    def _rules(self):
        hours = {"opens_at", "closes_at"} & self.model_fields_set
        if self.open is None and not hours:
            raise GATE_NOTHING_TO_CHANGE.error()
        if hours:
            if hours == {"opens_at"}:
                raise GATE_HOURS_NEED_CLOSES.error()
            if hours == {"closes_at"}:
                raise GATE_HOURS_NEED_OPENS.error()
            check_gate_hours(self.opens_at, self.closes_at)
        return self


class Gate(Out):
    id: int
    compound_id: int
    name: str
    open: bool = Field(validation_alias="is_open")
    opens_at: TimeOfDayOut | None = Field(description="Opening hours, HH:MM local; null: none")
    closes_at: TimeOfDayOut | None


# --- buildings --------------------------------------------------------------------------------


class BuildingCreate(Body):
    labels = PLACE_NAME

    name: text(50)


class BuildingChange(Body):
    model_config = {"json_schema_extra": _SEAL_REASON_SCHEMA}

    seal_state: SealStateValue = Field(description="A reason is required unless open")
    reason: text(200) = None

    @model_validator(mode="after")
    def _rules(self):
        _needs_reason(self.seal_state, self.reason)
        return self


class Building(Out):
    id: int
    compound_id: int
    name: str
    seal_state: SealState
    seal_reason: str | None


# --- seal schedules ---------------------------------------------------------------------------

SCHEDULE_ORDER = rule("schedule_order", "ends_at", _l("Until: must be later than From."))
SCHEDULE_LABELS = {"starts_at": _l("From"), "ends_at": _l("Until")}


class SealScheduleCreate(Body):
    """A compound's or building's seal state from a moment (now when left out) until another
    (until cancelled when left out), with a reason. It takes effect at the gate at its time."""

    labels = SCHEDULE_LABELS

    seal_state: SealStateValue
    reason: text(200)
    starts_at: Moment = Field(None, description="Not in the past; now when left out")
    ends_at: Moment = Field(None, description="Later than starts_at; none: until cancelled")

    @model_validator(mode="after")
    def _rules(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise SCHEDULE_ORDER.error()
        return self


# --- households -------------------------------------------------------------------------------


class HouseholdCreate(Body):
    unit: text(20)
    room: text(20)


class HouseholdChange(Body):
    """Start or change home observation; ``observation_until: null`` ends it."""

    model_config = {
        "json_schema_extra": {
            "if": {
                "required": ["observation_until"],
                "properties": {"observation_until": {"type": "string"}},
            },
            "then": {
                "required": ["observation_reason"],
                "properties": {"observation_reason": {"type": "string"}},
            },
        }
    }

    observation_until: Moment | None = Field(description="In the future; null ends the observation")
    observation_reason: text(200) | None = Field(None, description="Required with a time")

    @model_validator(mode="after")
    def _rules(self):
        if self.observation_until is not None and self.observation_reason is None:
            raise OBSERVATION_REASON.error()
        return self


class Household(Out):
    id: int
    building_id: int
    unit: str
    room: str
    observation_until: LocalTime | None
    observation_reason: str | None


# --- residents --------------------------------------------------------------------------------


class ResidentCreate(Body):
    """ID number and phone are kept only as a keyed hash and their last four characters."""

    name: text(50)
    id_number: IdNumber = None
    phone: Phone = None


class ResidentChange(Body):
    """A member's name, or a new ID number or phone (only their hash and last four are kept)."""

    model_config = {"json_schema_extra": {"minProperties": 1}}

    name: text(50) = None
    id_number: IdNumber = None
    phone: Phone = None

    @model_validator(mode="after")
    def _rules(self):
        if self.name is None and self.id_number is None and self.phone is None:
            raise NOTHING_TO_CHANGE.error()
        return self


class PeopleSearchBody(Body):
    """A search for people: where they live, and part of the name or the last four characters
    of the ID number or phone. Sent in a POST body, so no name or number is ever in a URL."""

    compound_id: Id = Field(None, description="Only this compound's residents")
    building_id: Id = Field(None, description="Only this building's residents")
    unit: text(20) = None
    room: text(20) = None
    q: text(50) = Field(
        None,
        description="Part of the name, or the last four characters of the ID number or phone",
    )


class Resident(Out):
    id: int
    household_id: int
    name: str
    id_last4: str | None
    phone_last4: str | None


# --- test results -----------------------------------------------------------------------------


class TestResultCreate(Body):
    __test__ = False  # not a pytest class

    taken_at: Moment = Field(description="Not in the future")
    result: choice(TestOutcome)


class TestResult(Out):
    __test__ = False

    id: int
    resident_id: int
    taken_at: LocalTime
    result: TestOutcome


# --- devices ----------------------------------------------------------------------------------


class DeviceCreate(Body):
    labels = {"name": _l("Tablet name")}

    name: text(100)
    kind: choice(DeviceKind) = DeviceKind.TABLET


class Device(Out):
    """A registered device with its bearer token, shown this once."""

    id: int
    gate_id: int
    name: str
    kind: DeviceKind
    token: str
