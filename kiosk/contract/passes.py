"""Passes and exemptions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..domain.decision import PassKind
from .base import Body, Out
from .paging import FlagText, Paged, option
from .types import IdText, LocalTime, Moment, TestWindowHours, text


class PassCreate(Body):
    """A phone pass (rotating code) or a paper pass (static code)."""

    kind: Literal[PassKind.RESIDENT, PassKind.PAPER]
    valid_until: Moment = Field(None, description="In the future; without it the pass has no end")


class PassRevoke(Body):
    reason: text(200) = None


class ExemptionCreate(Body):
    """One exit and one return for a purpose within a window of at most 14 days."""

    purpose: text(200)
    valid_from: Moment
    valid_until: Moment = Field(description="After valid_from, in the future, at most 14 days on")
    negative_test_within_hours: TestWindowHours = Field(
        None, description="A negative test within this many hours is needed to leave"
    )


class Pass(Out):
    id: int
    resident_id: int
    kind: PassKind
    valid_from: LocalTime | None
    valid_until: LocalTime | None
    revoked_at: LocalTime | None
    purpose: str | None = Field(description="Exemptions only")
    negative_test_within_hours: int | None = Field(description="Exemptions only")


class IssuedPass(Pass):
    code: str = Field(
        max_length=64, description="The exact QR text; for phone passes, the code valid now"
    )

    @classmethod
    def of(cls, row, code: str) -> IssuedPass:
        return cls.model_validate({**Pass.model_validate(row).__dict__, "code": code})


# --- reading -----------------------------------------------------------------------------------


class PassQuery(Paged):
    resident_id: IdText = Field(None, description="Only this person's passes")
    kind: option(PassKind) = Field(None, description="Only this kind of pass")
    active: FlagText = Field(
        None,
        description="true: only passes valid now (not revoked, within their window); "
        "false: only revoked, expired or not yet valid ones",
    )


class ExemptionQuery(Paged):
    resident_id: IdText = Field(None, description="Only this person's exemptions")
    active: FlagText = Field(
        None,
        description="true: only exemptions valid now (not revoked, within their window); "
        "false: only the others",
    )


class PassPage(Out):
    items: list[Pass]
    next_after: int | None = Field(description="Pass as after for the next page; null at the end")
