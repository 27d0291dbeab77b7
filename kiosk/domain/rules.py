"""The rule in one sentence: what the people of a building or household may do at the gate now.

    rule(facts: RuleFacts) -> Rule        pure: may come in, may go out, the message and its values
    sentence(facts: RuleFacts, tz=None) -> str
                                          the same, translated (Flask-Babel's gettext, dates
                                          with format_date/format_time in ``tz``, by default
                                          the deployment's time zone ``TIMEZONE``)

``RuleFacts``: the moment (``now``), the compound and the building, each a ``Place`` (its name
and its seal in force now as ``schedules.SealNow``: state, since when, next change; see
``schedules.seal_now``), the household's home observation end (``observation_until``), and
optionally one person's unused exemption window (``exemption``: valid from, valid until).

"Building 3 is in-only (since June 18): you may come in, not go out"; "Your household is under
home observation until July 2: you may come in, not go out"; "You may come and go freely".

The sentence agrees with the gate (``decision.decide``) for a valid resident pass at an open
gate, a normal temperature and no anti-passback (tests/unit/test_rules.py checks every
combination): ``may_in``/``may_out`` are what ``decide`` answers for an IN and an OUT scan.
An exemption counts while its window is open and it has not been used; what the gate checks
beyond that (a negative test, a late return) is not in the sentence. Gates' opening hours are
not either: they are the gate's, not the household's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from flask import current_app, has_app_context
from flask_babel import format_date, format_time, get_locale, gettext

from .decision import N_, SealState
from .schedules import SealNow

# Where the since/until of a seal goes in its sentence.
WHEN_SINCE = N_("since %(since)s")
WHEN_UNTIL = N_("until %(until)s")
WHEN_BOTH = N_("%(since)s to %(until)s")

SEALED = N_("%(place)s is sealed: nobody may come in or go out")
SEALED_WHEN = N_("%(place)s is sealed (%(when)s): nobody may come in or go out")
IN_ONLY = N_("%(place)s is in-only: you may come in, not go out")
IN_ONLY_WHEN = N_("%(place)s is in-only (%(when)s): you may come in, not go out")
IN_ONLY_OBSERVED = N_(
    "%(place)s is in-only and your household is under home observation until %(until)s: "
    "you may come in, not go out"
)
IN_ONLY_WHEN_OBSERVED = N_(
    "%(place)s is in-only (%(when)s) and your household is under home observation until "
    "%(until)s: you may come in, not go out"
)
OBSERVED = N_(
    "Your household is under home observation until %(until)s: you may come in, not go out"
)
FREE = N_("You may come and go freely")
FREE_UNTIL_IN_ONLY = N_("You may come and go freely; from %(at)s %(place)s will be in-only")
FREE_UNTIL_SEALED = N_("You may come and go freely; from %(at)s %(place)s will be sealed")
EXEMPT = N_("Your exemption lets you go out once and come back")
EXEMPT_UNTIL = N_("Your exemption lets you go out once and come back until %(until)s")


@dataclass(frozen=True)
class Place:
    """A compound or building: its name and its seal in force now."""

    name: str
    seal: SealNow = field(default_factory=lambda: SealNow(SealState.OPEN))


@dataclass(frozen=True)
class RuleFacts:
    now: datetime
    compound: Place
    building: Place | None = None
    observation_until: datetime | None = None
    # One person's unused exemption: its window (valid_from, valid_until), either end open.
    exemption: tuple[datetime | None, datetime | None] | None = None


@dataclass(frozen=True)
class Rule:
    """What the sentence says: whether one may come in and go out, the message (an English
    msgid) and its values (names as text, moments as aware datetimes, ``when`` as a Rule)."""

    may_in: bool
    may_out: bool
    message: str
    values: dict = field(default_factory=dict)


def _places(f: RuleFacts) -> list[Place]:
    return [f.compound] + ([f.building] if f.building is not None else [])


def _when(seal: SealNow) -> Rule | None:
    if seal.since is not None and seal.next_at is not None:
        return Rule(False, False, WHEN_BOTH, {"since": seal.since, "until": seal.next_at})
    if seal.since is not None:
        return Rule(False, False, WHEN_SINCE, {"since": seal.since})
    if seal.next_at is not None:
        return Rule(False, False, WHEN_UNTIL, {"until": seal.next_at})
    return None


def _exempt(f: RuleFacts) -> bool:
    if f.exemption is None:
        return False
    valid_from, valid_until = f.exemption
    return (valid_from is None or f.now >= valid_from) and (
        valid_until is None or f.now < valid_until
    )


def rule(f: RuleFacts) -> Rule:
    """The rule for the facts: sealed, then in-only (the compound before the building), then
    home observation, else free (with the next restriction scheduled, if any)."""
    if _exempt(f):
        if f.exemption[1] is not None:
            return Rule(True, True, EXEMPT_UNTIL, {"until": f.exemption[1]})
        return Rule(True, True, EXEMPT)
    places = _places(f)
    observed = f.observation_until is not None and f.now < f.observation_until
    for state in (SealState.SEALED, SealState.IN_ONLY):
        for place in places:
            if place.seal.state is not state:
                continue
            when = _when(place.seal)
            values = {"place": place.name}
            if when is not None:
                values["when"] = when
            if state is SealState.SEALED:
                return Rule(False, False, SEALED_WHEN if when else SEALED, values)
            if observed:
                message = IN_ONLY_WHEN_OBSERVED if when else IN_ONLY_OBSERVED
                return Rule(True, False, message, values | {"until": f.observation_until})
            return Rule(True, False, IN_ONLY_WHEN if when else IN_ONLY, values)
    if observed:
        return Rule(True, False, OBSERVED, {"until": f.observation_until})
    coming = [
        p for p in places if p.seal.next_at is not None and p.seal.next_state is not SealState.OPEN
    ]
    if coming:
        place = min(coming, key=lambda p: p.seal.next_at)
        message = FREE_UNTIL_SEALED if place.seal.next_state is SealState.SEALED else None
        return Rule(
            True,
            True,
            message or FREE_UNTIL_IN_ONLY,
            {"place": place.name, "at": place.seal.next_at},
        )
    return Rule(True, True, FREE)


def _moment(value: datetime, tz: tzinfo) -> str:
    """A day in the locale's words ("June 18", "6月18日"), with the time unless midnight."""
    local = value.astimezone(tz)
    day = format_date(local.date(), get_locale().datetime_skeletons["MMMMd"].pattern)
    if local.hour == 0 and local.minute == 0:
        return day
    return f"{day} {format_time(local.time().replace(tzinfo=None), 'HH:mm', rebase=False)}"


def _text(r: Rule, tz: tzinfo) -> str:
    values = {}
    for key, value in r.values.items():
        if isinstance(value, Rule):
            values[key] = _text(value, tz)
        elif isinstance(value, datetime):
            values[key] = _moment(value, tz)
        else:
            values[key] = value
    return gettext(r.message, **values)


def sentence(f: RuleFacts, tz: tzinfo | None = None) -> str:
    """The rule as one sentence in the request's language; dates in ``tz`` (by default the
    deployment's time zone)."""
    if tz is None:
        tz = current_app.config["TZ"] if has_app_context() else None
    return _text(rule(f), tz)
