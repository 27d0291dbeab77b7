"""Disinfection rounds (消杀): the kinds of public area, how often each is done, and when an area
is overdue. Pure: the caller gives local times (the deployment's time zone) and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum


class AreaKind(StrEnum):
    """What is disinfected: public areas, and a building's rubbish collection round."""

    LIFT = "lift"
    STAIRWELL = "stairwell"
    GATE = "gate"
    BINS = "bins"
    FITNESS = "fitness"
    BENCH = "bench"
    RUBBISH = "rubbish"  # a building's rubbish collection at fixed times


# How often an area is done when the office does not say: daily, twice daily for lifts.
DEFAULT_TIMES_PER_DAY = {AreaKind.LIFT: 2}
MAX_TIMES_PER_DAY = 12
# A round at a fixed time may be done until this long after it (rubbish collected at 08:00
# is ticked by 09:00); an area done N times a day is due at the end of each Nth of the day.
FIXED_TIME_GRACE = timedelta(hours=1)


def default_times_per_day(kind: str) -> int:
    return DEFAULT_TIMES_PER_DAY.get(kind, 1)


def parse_fixed_times(value: str) -> list[time]:
    """The stored fixed times ("08:00,18:00", checked by the contract), sorted; empty: none."""
    return sorted({time.fromisoformat(part.strip()) for part in value.split(",") if part.strip()})


def deadlines(day: datetime, times_per_day: int, fixed_times: list[time]) -> list[datetime]:
    """The due times of one local day (``day`` is its local midnight, tz-aware), in order.

    Fixed times: each round is due ``FIXED_TIME_GRACE`` after its time. Otherwise the day is cut
    into ``times_per_day`` equal windows, each due at its end (once a day: by midnight)."""
    if fixed_times:
        return [
            datetime.combine(day.date(), t, tzinfo=day.tzinfo) + FIXED_TIME_GRACE
            for t in fixed_times
        ]
    n = max(1, times_per_day)
    return [day + timedelta(seconds=86400 * k // n) for k in range(1, n + 1)]


@dataclass(frozen=True)
class AreaStatus:
    """Where an area stands at ``now``: overdue, since when, and when it is due next."""

    overdue: bool
    missed: datetime | None  # the due time that passed without a record
    due_next: datetime
    due_now: bool = False  # made due at once (a case's route) and not done since


def status(
    now: datetime,
    last_done: datetime | None,
    created_at: datetime,
    times_per_day: int,
    fixed_times: list[time],
    due_now_at: datetime | None = None,
) -> AreaStatus:
    """Overdue when the last due time passed with no record since the due time before it.

    Windows are half-open, (previous due, due]: a record exactly at a due time counts for the
    window that ends there. A late record clears the flag (the area is done, late). A new area
    counts from its creation, as if done then: it is not overdue before a whole window passes.
    An area made due now (``due_now_at``: a case passed by) is overdue from that moment until a
    record at or after it, whatever its rounds say.
    All times are tz-aware in the deployment's zone; ``now`` gives the zone.
    """
    tz = now.tzinfo
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    times: list[datetime] = []
    for offset in (-2, -1, 0, 1):
        midnight = datetime.combine((today + timedelta(days=offset)).date(), time(0), tzinfo=tz)
        times.extend(deadlines(midnight, times_per_day, fixed_times))
    times.sort()
    passed = [t for t in times if t <= now]
    due_next = next(t for t in times if t > now)
    last, before = passed[-1], passed[-2]
    since = max(last_done, created_at) if last_done is not None else created_at
    overdue = since <= before
    missed = last if overdue else None
    due_now = (
        due_now_at is not None
        and due_now_at <= now
        and (last_done is None or last_done < due_now_at)
    )
    if due_now:
        missed = min(missed, due_now_at) if missed is not None else due_now_at
    return AreaStatus(overdue=overdue or due_now, missed=missed, due_next=due_next, due_now=due_now)


# Photos a worker may add: what the phone's camera gives, recognised by their first bytes.
MAX_PHOTO_BYTES = 5 * 1024 * 1024
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def photo_type(data: bytes) -> str | None:
    """The image type of a photo by its content (JPEG, PNG, WebP), else None."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
