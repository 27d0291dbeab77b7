"""Moving away: what the office is told when a person is removed (services/moving.py)."""

from __future__ import annotations

from pydantic import Field

from .base import Out
from .types import LocalTime


class MovedAway(Out):
    """The person's record is anonymised; their history stays, naming nobody."""

    resident_id: int
    household_id: int
    moved_away_at: LocalTime
    passes_revoked: int = Field(description="Live passes revoked: the gate refuses them")
    logins_disabled: int = Field(description="Resident logins disabled and unbound")
    screening_rows_closed: int = Field(description="Open screening rows closed as moved away")
