"""The gate decision: from the facts of one scan to allow, deny or refer, with every reason.

Pure: no Flask, no database, no clock. Messages are marked for translation with ``N_`` and
translated at the edges (the API and the pages), so the codes stay stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    REFER = "refer"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class SealState(StrEnum):
    OPEN = "open"
    IN_ONLY = "in_only"
    SEALED = "sealed"


class PassKind(StrEnum):
    RESIDENT = "resident"
    PAPER = "paper"
    VISITOR = "visitor"
    EXEMPTION = "exemption"


class OverrideReason(StrEnum):
    """Why a guard allowed a referred scan (a denial needs no reason)."""

    KNOWN_RESIDENT = "known_resident"
    CHECKED_ID = "checked_id"
    MEDICAL = "medical"
    OFFICIAL = "official"
    OTHER = "other"  # a note is required


class TestOutcome(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"


# Every reason code, the decision it forces and its message (English msgid; zh_CN in the catalog).
REASONS: dict[str, tuple[Decision, str]] = {
    "invalid_code": (Decision.DENY, N_("Not a valid pass code for this compound")),
    "unknown_pass": (Decision.DENY, N_("No such pass")),
    "revoked": (Decision.DENY, N_("The pass has been revoked")),
    "expired": (Decision.DENY, N_("The pass has expired")),
    "not_yet_valid": (Decision.DENY, N_("The pass is not valid yet")),
    "other_compound": (Decision.DENY, N_("The pass belongs to another compound")),
    "gate_closed": (Decision.DENY, N_("This gate is closed")),
    "compound_sealed": (Decision.DENY, N_("The compound is sealed: nobody in or out")),
    "building_sealed": (Decision.DENY, N_("The building is sealed: nobody in or out")),
    "compound_in_only": (Decision.DENY, N_("The compound is in-only: no exit")),
    "building_in_only": (Decision.DENY, N_("The building is in-only: no exit")),
    "home_observation": (Decision.DENY, N_("The household is under home observation: no exit")),
    "already_inside": (Decision.REFER, N_("The pass is already recorded as inside")),
    "already_outside": (Decision.REFER, N_("The pass is already recorded as outside")),
    "temperature_required": (Decision.REFER, N_("Take the temperature before entry")),
    "fever": (Decision.DENY, N_("Fever: entry refused")),
    "exemption_outside_window": (Decision.DENY, N_("The exemption is not valid at this time")),
    "exemption_used": (Decision.DENY, N_("The exemption has been used up")),
    "negative_test_required": (
        Decision.DENY,
        N_("A recent negative nucleic-acid test is required"),
    ),
    # The compound's outing quota (at most N exits per household per day or two): a resident's
    # or paper pass's exit only; an exemption is the office's own leave and is never capped.
    "quota_exceeded": (Decision.DENY, N_("The household has used up its outings for now")),
    # A resident on a screening list (核查名单) whose row is not closed: the guard calls the
    # office, which clears the row (or puts the household under observation).
    "screening": (Decision.REFER, N_("On a screening list: call the community office")),
}

TEMPERATURE_MIN = 34.0
TEMPERATURE_MAX = 43.0
DEFAULT_FEVER_THRESHOLD = 37.3


def temperature_is_plausible(value: float) -> bool:
    """A reading outside 34.0-43.0 C is a typing error, not a measurement."""
    return TEMPERATURE_MIN <= value <= TEMPERATURE_MAX


@dataclass(frozen=True)
class PassFacts:
    """The pass row that a verified code points at."""

    kind: PassKind
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    # Exemptions only.
    negative_test_within_hours: int | None = None
    allowed_exits: int = 0
    allowed_returns: int = 0


@dataclass(frozen=True)
class ScanFacts:
    """Everything known about a scan at the moment it is decided."""

    now: datetime
    direction: Direction
    code_valid: bool = True
    pass_: PassFacts | None = None
    gate_open: bool = True
    same_compound: bool = True  # the holder lives in the compound of this gate
    compound_seal: SealState = SealState.OPEN
    building_seal: SealState = SealState.OPEN
    observation_until: datetime | None = None
    temperature: float | None = None
    temperature_required: bool = True
    fever_threshold: float = DEFAULT_FEVER_THRESHOLD
    last_direction: Direction | None = None  # of the pass's last allowed event
    latest_test_at: datetime | None = None
    latest_test_outcome: TestOutcome | None = None
    # The outing quota of the holder's compound (None: no quota) and the allowed exits of the
    # holder's household in the quota's period so far (exemption exits are not counted).
    quota_exits: int | None = None
    household_exits_in_period: int = 0
    on_screening_list: bool = False  # a matched row of a screening list is not closed


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _verdict(reasons: list[str]) -> Outcome:
    forced = {REASONS[r][0] for r in reasons}
    if Decision.DENY in forced:
        decision = Decision.DENY
    elif Decision.REFER in forced:
        decision = Decision.REFER
    else:
        decision = Decision.ALLOW
    return Outcome(decision, tuple(reasons))


def _exemption_reasons(f: ScanFacts, p: PassFacts) -> tuple[list[str], bool]:
    """Reasons of an exemption pass, and whether it overrides seals and observation now."""
    reasons: list[str] = []
    in_window = (p.valid_from is None or f.now >= p.valid_from) and (
        p.valid_until is None or f.now < p.valid_until
    )
    if f.direction is Direction.OUT:
        if p.allowed_exits >= 1:
            reasons.append("exemption_used")
        if not in_window:
            reasons.append("exemption_outside_window")
        if p.negative_test_within_hours is not None:
            fresh = (
                f.latest_test_at is not None
                and f.latest_test_outcome is TestOutcome.NEGATIVE
                and f.latest_test_at <= f.now
                and f.now - f.latest_test_at <= timedelta(hours=p.negative_test_within_hours)
            )
            if not fresh:
                reasons.append("negative_test_required")
    else:
        if p.allowed_returns >= 1 or (p.allowed_exits == 0 and not in_window):
            # Spent, or an entry with an exemption that was never used to leave.
            reasons.append(
                "exemption_used" if p.allowed_returns >= 1 else "exemption_outside_window"
            )
        # A late return is the one case where the window does not bar the way home: the
        # holder left legitimately and the seal still applies to everyone else.
    return reasons, not reasons


class ExemptionStatus(StrEnum):
    """Where an exemption's holder stands, read from the gate log."""

    NOT_BACK = "not_back"  # left with it and the window has ended: the office follows up
    OUT = "out"  # left with it, the window still open
    UNUSED = "unused"  # not used to leave yet
    BACK = "back"  # left and came back
    EXPIRED = "expired"  # the window ended and it was never used
    REVOKED = "revoked"  # revoked before it was used


def exemption_status(
    valid_until: datetime,
    revoked_at: datetime | None,
    left_at: datetime | None,
    back_at: datetime | None,
    now: datetime,
) -> ExemptionStatus:
    """An exemption's status from when its holder left and came back with it (allowed
    passages; a return is after the exit)."""
    if back_at is not None and (left_at is None or back_at < left_at):
        back_at = None  # an entry before leaving is not a return
    if left_at is None:
        if revoked_at is not None:
            return ExemptionStatus.REVOKED
        return ExemptionStatus.UNUSED if now < valid_until else ExemptionStatus.EXPIRED
    if back_at is not None:
        return ExemptionStatus.BACK
    return ExemptionStatus.OUT if now < valid_until else ExemptionStatus.NOT_BACK


QUOTA_PASS_KINDS = (PassKind.RESIDENT, PassKind.PAPER)


def _over_quota(f: ScanFacts, p: PassFacts) -> bool:
    """An exit of a household that has had its quota of exits in the period (with N allowed,
    the N-th exit passes and the N+1-th is refused). Only residents' own passes: an exemption is
    the office's leave, a visitor is not a household's outing, and entries are never capped."""
    return (
        f.direction is Direction.OUT
        and p.kind in QUOTA_PASS_KINDS
        and f.quota_exits is not None
        and f.household_exits_in_period >= f.quota_exits
    )


def decide(f: ScanFacts) -> Outcome:
    """Decide one scan. Returns every reason that applies, not just the first."""
    if not f.code_valid:
        return Outcome(Decision.DENY, ("invalid_code",))
    p = f.pass_
    if p is None:
        return Outcome(Decision.DENY, ("unknown_pass",))

    reasons: list[str] = []
    if p.revoked_at is not None and p.revoked_at <= f.now:
        reasons.append("revoked")
    exempt = False
    if p.kind is PassKind.EXEMPTION:
        ex_reasons, exempt = _exemption_reasons(f, p)
        reasons += ex_reasons
        exempt = exempt and "revoked" not in reasons
    else:
        if p.valid_from is not None and f.now < p.valid_from:
            reasons.append("not_yet_valid")
        if p.valid_until is not None and f.now >= p.valid_until:
            reasons.append("expired")

    if not f.same_compound:
        reasons.append("other_compound")
    if not f.gate_open:
        reasons.append("gate_closed")

    if not exempt:
        if f.compound_seal is SealState.SEALED:
            reasons.append("compound_sealed")
        elif f.compound_seal is SealState.IN_ONLY and f.direction is Direction.OUT:
            reasons.append("compound_in_only")
        if f.building_seal is SealState.SEALED:
            reasons.append("building_sealed")
        elif f.building_seal is SealState.IN_ONLY and f.direction is Direction.OUT:
            reasons.append("building_in_only")
        if (
            f.direction is Direction.OUT
            and f.observation_until is not None
            and f.now < f.observation_until
        ):
            reasons.append("home_observation")

    if f.last_direction is f.direction:
        reasons.append("already_inside" if f.direction is Direction.IN else "already_outside")

    if f.direction is Direction.IN:
        if f.temperature is None:
            if f.temperature_required:
                reasons.append("temperature_required")
        elif f.temperature >= f.fever_threshold:
            reasons.append("fever")

    if _over_quota(f, p):
        reasons.append("quota_exceeded")

    # Either way and whatever the pass (an exemption too): the office must hear of this person.
    if f.on_screening_list:
        reasons.append("screening")

    return _verdict(reasons)
