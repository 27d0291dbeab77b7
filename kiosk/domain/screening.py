"""Screening lists (核查名单): how a row of a list was matched to a resident, how far the office
has got with it, and when the row is closed (needs nothing more at the gate).

Pure: no Flask, no database, no clock.
"""

from __future__ import annotations

from enum import StrEnum


class MatchStatus(StrEnum):
    """How a row of a list was matched to the residents of the office's communities."""

    MATCHED = "matched"  # exactly one resident
    AMBIGUOUS = "ambiguous"  # several: the office chooses among the candidates
    NOT_HERE = "not_here"  # nobody here: not living in the office's compounds


class CallStatus(StrEnum):
    """How far the office has got with a row (the call, the test, the outcome)."""

    NOT_REACHED = "not_reached"
    REACHED = "reached"
    TESTED = "tested"
    CLEARED = "cleared"
    OBSERVED = "observed"  # the household was put under home observation
    MOVED_AWAY = "moved_away"


# A cleared person may pass; one who moved away is no longer ours. Observation is not closing:
# the household's observation keeps them in, and the office still has to clear the row.
CLOSING_STATUSES = frozenset({CallStatus.CLEARED, CallStatus.MOVED_AWAY})


def is_closed(match: MatchStatus | str, call_status: CallStatus | str) -> bool:
    """Whether a row needs nothing more at the gate: cleared, moved away, or nobody here."""
    return MatchStatus(match) is MatchStatus.NOT_HERE or CallStatus(call_status) in CLOSING_STATUSES


def progress(closed: int, total: int) -> int:
    """The share of closed rows in whole percent, rounded down (100 only when all are)."""
    if total <= 0:
        return 100
    return closed * 100 // total
