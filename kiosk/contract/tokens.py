"""Staff sign-in for the API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict, StringConstraints

from ..domain.people import Role
from .base import Body, Out
from .types import LocalTime


class TokenRequest(Body):
    username: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, Strict(), StringConstraints(max_length=256)]


class Token(Out):
    token: str = Field(description="Send as Authorization: Bearer <token>")
    expires_at: LocalTime
    role: Role
