"""Who was near a person: pure facts in (passages at gates, who lives where and visited whom),
every contact out with the reasons that make it one and the passages that link it.

A passage of someone else links to one of the subject's when it is at the same gate and at most
``window`` apart, both ends included. A contact is **direct** when they share a household with
the subject, visited the subject's household or were visited by the subject, or passed the same
gate at most ``CLOSE`` apart; the others who passed within the window are **same-place**
contacts. Household members and visitors of the household are direct contacts even when the
gate log never put them side by side: they shared a home.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_DAYS = 14  # the incubation period the notices use
MAX_DAYS = 31
DEFAULT_WINDOW_MINUTES = 15
MAX_WINDOW_MINUTES = 60
CLOSE = timedelta(minutes=2)  # the same gate this close is a direct contact


class ContactReason(StrEnum):
    """Why someone is a contact; every one but ``same_place`` makes a direct contact."""

    SAME_HOUSEHOLD = "same_household"
    VISITED_THEM = "visited_them"  # the contact visited the subject's household
    VISITED_BY_THEM = "visited_by_them"  # the subject visited the contact's household
    CLOSE_IN_TIME = "close_in_time"  # the same gate at most CLOSE apart
    SAME_PLACE = "same_place"  # the same gate within the window


@dataclass(frozen=True)
class Person:
    """Someone in the log: ``key`` is ``r:<resident id>`` or ``v:<visitor's phone hash>``;
    ``homes`` the households they live in, ``visited`` the households they visited."""

    key: str
    homes: frozenset[int] = frozenset()
    visited: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Passage:
    event_id: int
    person: str  # a Person.key
    gate_id: int
    at: datetime


@dataclass(frozen=True)
class Link:
    theirs: Passage
    subjects: Passage

    @property
    def apart(self) -> timedelta:
        return abs(self.theirs.at - self.subjects.at)


@dataclass(frozen=True)
class Contact:
    person: str
    reasons: frozenset[ContactReason]
    links: tuple[Link, ...] = field(default=())

    @property
    def direct(self) -> bool:
        return bool(self.reasons - {ContactReason.SAME_PLACE})


def windows(
    passages: Iterable[Passage], window: timedelta
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per gate, the merged time ranges ``[at - window, at + window]`` around the passages: what
    the log must be read for to find everyone linked to them."""
    by_gate: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for p in sorted(passages, key=lambda p: (p.gate_id, p.at)):
        lo, hi = p.at - window, p.at + window
        ranges = by_gate[p.gate_id]
        if ranges and lo <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))
    return dict(by_gate)


def household_reasons(subject: Person, other: Person) -> set[ContactReason]:
    reasons = set()
    if subject.homes & other.homes:
        reasons.add(ContactReason.SAME_HOUSEHOLD)
    if other.visited & subject.homes:
        reasons.add(ContactReason.VISITED_THEM)
    if subject.visited & other.homes:
        reasons.add(ContactReason.VISITED_BY_THEM)
    return reasons


def contacts(
    subject: Person,
    subject_passages: Iterable[Passage],
    others: Iterable[Passage],
    people: Mapping[str, Person],
    window: timedelta,
    close: timedelta = CLOSE,
) -> list[Contact]:
    """Everyone linked to the subject: by a passage within ``window`` at the same gate, or by
    a household (``people`` holds everyone the caller knows of, linked or not). Direct
    contacts first, then by their first linked passage."""
    mine: dict[int, list[Passage]] = defaultdict(list)
    for p in sorted(subject_passages, key=lambda p: p.at):
        mine[p.gate_id].append(p)
    times = {gate: [p.at for p in passages] for gate, passages in mine.items()}
    links: dict[str, list[Link]] = defaultdict(list)
    for q in others:
        if q.person == subject.key or q.gate_id not in mine:
            continue
        at = times[q.gate_id]
        # the subject's passages at this gate within the window, found by bisection
        first, last = bisect_left(at, q.at - window), bisect_right(at, q.at + window)
        for p in mine[q.gate_id][first:last]:
            links[q.person].append(Link(q, p))
    found = []
    for key in set(links) | set(people):
        if key == subject.key:
            continue
        reasons = household_reasons(subject, people.get(key, Person(key)))
        theirs = sorted(links.get(key, ()), key=lambda link: (link.subjects.at, link.theirs.at))
        if theirs:
            reasons.add(ContactReason.SAME_PLACE)
            if any(link.apart <= close for link in theirs):
                reasons.add(ContactReason.CLOSE_IN_TIME)
        if reasons:
            found.append(Contact(key, frozenset(reasons), tuple(theirs)))
    never = datetime.max.replace(tzinfo=None)

    def order(c: Contact):
        first = c.links[0].theirs.at.replace(tzinfo=None) if c.links else never
        return (not c.direct, first, c.person)

    return sorted(found, key=order)
