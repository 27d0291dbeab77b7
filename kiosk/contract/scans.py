"""A scan at a gate device, and its answer."""

from __future__ import annotations

from typing import Annotated

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from pydantic import Field, Strict, StringConstraints

from ..domain.decision import Decision, Direction, PassKind
from ..domain.reasons import reason_message
from .base import Body, Out, choice
from .types import LocalTime, RequestId, Temperature

MAX_CODE_TEXT = 200  # the tablet page cuts what a scanner typed to this, as the API refuses more

ScannedText = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=MAX_CODE_TEXT),
    Field(description="The scanned text as read; anything that is not a valid code is denied"),
]


class ScanRequest(Body):
    """One scan. A repeated ``request_id`` from the same device returns the first answer."""

    messages = {"direction": _l("direction: must be in or out.")}

    code: ScannedText
    direction: choice(Direction)
    temperature: Temperature | None = Field(
        None, description="°C; needed on entry where the compound takes temperatures"
    )
    request_id: RequestId = None


class Reason(Out):
    code: str = Field(description="A stable reason code (docs/api.md lists them)")
    message: str = Field(description="The reason in the caller's language")


class Holder(Out):
    display_name: str = Field(description="Masked: the first character, the rest starred")
    building: str | None
    unit: str | None
    pass_kind: PassKind


class ScanAnswer(Out):
    decision: Decision
    reasons: list[Reason]
    event_id: int
    occurred_at: LocalTime
    replayed: bool = Field(description="true when this answers a repeated request_id")
    holder: Holder | None

    @classmethod
    def of(cls, result) -> ScanAnswer:
        return cls(
            decision=result.decision,
            reasons=[Reason(code=c, message=gettext(reason_message(c))) for c in result.reasons],
            event_id=result.event_id,
            occurred_at=result.occurred_at,
            replayed=result.replayed,
            holder=Holder.model_validate(result.holder) if result.holder is not None else None,
        )
