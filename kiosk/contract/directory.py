"""Reading the places and people of the caller's communities: the filters of each list and
its pages (every list pages by id, ``paging``). The items are the models of ``org``; a
device's token is never shown again, and a resident's ID number and phone only as their last
four characters."""

from __future__ import annotations

from pydantic import Field

from ..domain.decision import TestOutcome
from ..domain.devices import DeviceKind
from .base import Out
from .org import Building, Compound, Gate, Household, Resident, TestResult
from .paging import FlagText, Paged, option
from .types import IdText, LocalTime, Moment, text

NEXT_AFTER = "Pass as after for the next page; null at the end"


# --- compounds, gates, buildings, households ---------------------------------------------------


class CompoundQuery(Paged):
    pass


class CompoundPage(Out):
    items: list[Compound]
    next_after: int | None = Field(description=NEXT_AFTER)


class GateQuery(Paged):
    compound_id: IdText = Field(None, description="Only this compound's gates")


class GatePage(Out):
    items: list[Gate]
    next_after: int | None = Field(description=NEXT_AFTER)


class BuildingQuery(Paged):
    compound_id: IdText = Field(None, description="Only this compound's buildings")


class BuildingPage(Out):
    items: list[Building]
    next_after: int | None = Field(description=NEXT_AFTER)


class HouseholdQuery(Paged):
    building_id: IdText = Field(None, description="Only this building's households")
    under_observation: FlagText = Field(
        None, description="true: only households under home observation now; false: only others"
    )


class HouseholdPage(Out):
    items: list[Household]
    next_after: int | None = Field(description=NEXT_AFTER)


# --- residents ---------------------------------------------------------------------------------


class ResidentQuery(Paged):
    """Where people live. A name or the last four of a number is searched with
    ``POST /residents/search``, never in a URL."""

    household_id: IdText = Field(None, description="Only this household's members")
    building_id: IdText = Field(None, description="Only this building's residents")
    compound_id: IdText = Field(None, description="Only this compound's residents")
    unit: text(20) = None
    room: text(20) = None


class ResidentPage(Out):
    items: list[Resident]
    next_after: int | None = Field(description=NEXT_AFTER)


# --- test results ------------------------------------------------------------------------------


class TestResultQuery(Paged):
    __test__ = False  # not a pytest class

    resident_id: IdText = Field(None, description="Only this person's results")
    result: option(TestOutcome) = Field(None, description="Only this outcome")
    since: Moment = Field(None, description="Taken at or after this time")
    until: Moment = Field(None, description="Taken before this time")


class TestResultPage(Out):
    __test__ = False

    items: list[TestResult]
    next_after: int | None = Field(description=NEXT_AFTER)


# --- devices -----------------------------------------------------------------------------------


class DeviceQuery(Paged):
    gate_id: IdText = Field(None, description="Only this gate's devices")
    kind: option(DeviceKind) = Field(None, description="Only this kind of device")


class DeviceInfo(Out):
    """A registered device (its token was shown once, when it was registered)."""

    id: int
    gate_id: int
    name: str
    kind: DeviceKind
    created_at: LocalTime
    enrolled_at: LocalTime | None = Field(description="When a tablet's browser was last enrolled")
    revoked_at: LocalTime | None


class DevicePage(Out):
    items: list[DeviceInfo]
    next_after: int | None = Field(description=NEXT_AFTER)
