"""A resident's own pass and status, and joining with a slip: the forms and the API answers."""

from __future__ import annotations

from typing import Annotated

from flask_babel import lazy_gettext as _l
from pydantic import Field, Strict, StringConstraints

from ..domain.decision import PassKind
from .base import Out
from .forms import Form, NewPassword, Username
from .org import TestResult
from .types import IdText, LocalTime

# What may be typed for a slip's code: its letters and digits, with spaces or dashes between.
JoinCodeText = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=10, max_length=20, pattern=r"^[A-Za-z0-9 -]+$"),
    Field(description="the 10 characters on the joining slip"),
]

CODE_MESSAGE = _l("Type the 10 letters and digits of the code on the slip.")


class JoinCode(Form):
    """Step one of joining: the code on the slip (typed, or filled in from the QR)."""

    messages = {"code": CODE_MESSAGE}

    code: JoinCodeText


class JoinAccount(Form):
    """Step two: who one is among the household's members, and the new login."""

    messages = {
        "code": CODE_MESSAGE,
        "resident_id": _l("Choose who you are from the list."),
        "username": _l("Username: 1 to 64 characters without spaces."),
        "password": _l("Password: at least 8 characters."),
    }

    code: JoinCodeText
    resident_id: IdText
    username: Username
    password: NewPassword


class CareForm(Form):
    """Care mode (关怀模式) on or off."""

    messages = {"care": _l("Choose on or off.")}

    care: Annotated[bool, Strict(False)]


# --- answers ----------------------------------------------------------------------------------


class Status(Out):
    may_in: bool = Field(description="what the gate answers for an IN scan of this pass now")
    may_out: bool = Field(description="what the gate answers for an OUT scan of this pass now")
    sentence: str = Field(description="the rule in one sentence, in the request's language")


class Me(Out):
    """The signed-in resident: their own record in full, their household and their status."""

    username: str
    resident_id: int
    name: str
    household_id: int
    compound: str
    building: str
    unit: str
    room: str
    observation_until: LocalTime | None
    care_mode: bool
    status: Status
    latest_test: TestResult | None


class Code(Out):
    """The code to show at the gate now."""

    code: str = Field(description="the QR text")
    kind: PassKind
    pass_id: int
    rotating: bool = Field(description="true: a new code every step_seconds")
    step_seconds: int | None
    expires_at: LocalTime | None = Field(description="when the next code replaces this one")
    seconds_left: int | None
