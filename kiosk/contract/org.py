"""Compounds, gates, buildings, households, residents, test results and devices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from pydantic import Field, model_validator

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


class GateChange(Body):
    open: bool


class Gate(Out):
    id: int
    compound_id: int
    name: str
    open: bool = Field(validation_alias="is_open")


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
