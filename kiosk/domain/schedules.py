"""Rules of time: a seal scheduled from/until a moment, and a gate's opening hours.

Pure: no Flask, no database, no clock. Nothing runs at a schedule's start or end: the state in
force is computed from the facts at the moment a scan (or a page) asks.

- A scheduled seal covers ``starts_at <= t < ends_at`` (``ends_at`` None: until cancelled).
  A schedule covering ``t`` wins over the base state (the one set "now" on the compound or
  building); among overlapping schedules the one created last wins (then the higher id).
- A gate with opening hours is open from ``opens_at`` (inclusive) to ``closes_at`` (exclusive),
  local time of day; ``opens_at > closes_at`` is a window across midnight (22:00-06:00 is open
  at night). Without hours a gate is open whenever ``is_open`` says so; outside its hours it is
  closed as if ``is_open`` were false.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from .decision import SealState

# The state "just before" a moment: datetimes are kept to the microsecond.
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class ScheduledSeal:
    """One uncancelled schedule of a compound or building."""

    state: SealState
    starts_at: datetime
    ends_at: datetime | None
    created_at: datetime
    id: int = 0
    reason: str | None = None

    def covers(self, t: datetime) -> bool:
        """Starts inclusive, ends exclusive."""
        return self.starts_at <= t and (self.ends_at is None or t < self.ends_at)


def winning_schedule(schedules: Iterable[ScheduledSeal], t: datetime) -> ScheduledSeal | None:
    """The schedule in force at ``t``: the latest created among those covering it, or None."""
    covering = [s for s in schedules if s.covers(t)]
    return max(covering, key=lambda s: (s.created_at, s.id)) if covering else None


def effective_seal(base: SealState, schedules: Iterable[ScheduledSeal], t: datetime) -> SealState:
    """The seal state in force at ``t``: a covering schedule's, else the base state."""
    winner = winning_schedule(schedules, t)
    return SealState(winner.state) if winner is not None else SealState(base)


@dataclass(frozen=True)
class SealNow:
    """A place's seal at a moment: the state in force, since when (None: not known) and its
    next change (None: none scheduled)."""

    state: SealState
    since: datetime | None = None
    next_at: datetime | None = None
    next_state: SealState | None = None


def seal_now(
    base: SealState,
    base_since: datetime | None,
    schedules: Iterable[ScheduledSeal],
    t: datetime,
) -> SealNow:
    """The state in force at ``t``, when it began, and when and to what it changes next.

    ``base_since``: when the base state was set (``seal_changed_at``); before it the base is
    unknown. ``schedules`` should include those that ended recently, so that "since" can see
    back to them; a schedule that ended before the earliest one given is not known.
    """
    schedules = list(schedules)
    base = SealState(base)
    state = effective_seal(base, schedules, t)

    def at(moment: datetime) -> SealState | None:
        winner = winning_schedule(schedules, moment)
        if winner is not None:
            return SealState(winner.state)
        return base if base_since is None or moment >= base_since else None

    points = {s.starts_at for s in schedules} | {s.ends_at for s in schedules if s.ends_at}
    since = None
    for p in sorted((p for p in points | {base_since} if p is not None and p <= t), reverse=True):
        if at(p - _TICK) != state:
            since = p
            break
    next_at = next_state = None
    for p in sorted(p for p in points if p > t):
        if (later := effective_seal(base, schedules, p)) != state:
            next_at, next_state = p, later
            break
    return SealNow(state, since, next_at, next_state)


def gate_open_at(is_open: bool, opens_at: time | None, closes_at: time | None, local: time) -> bool:
    """Whether a gate lets anyone through at the local time of day ``local``.

    Hours apply only when both times are set; equal times mean open all day.
    """
    if not is_open:
        return False
    if opens_at is None or closes_at is None or opens_at == closes_at:
        return True
    local = local.replace(tzinfo=None)
    if opens_at < closes_at:
        return opens_at <= local < closes_at
    return local >= opens_at or local < closes_at  # across midnight
