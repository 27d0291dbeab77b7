"""The visitor decision: delivery people, relatives, repair and medical workers at the gate.

Pure, like ``decision.py``: the facts in, allow or deny with every reason out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .decision import DEFAULT_FEVER_THRESHOLD, N_, Decision, Outcome, SealState


class VisitorPolicy(StrEnum):
    OPEN = "open"  # anyone may be registered at the gate
    REGISTERED = "registered"  # only visitors who registered beforehand (the poster form)
    NONE = "none"  # no visitors at all


class HealthCode(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class RiskLevel(StrEnum):
    """How risky the office rates a place that visitors declare against."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class VisitPurpose(StrEnum):
    DELIVERY = "delivery"
    VISIT = "visit"
    REPAIR = "repair"
    MEDICAL = "medical"
    OFFICIAL = "official"
    OTHER = "other"


PURPOSES = tuple(p.value for p in VisitPurpose)

VISITOR_REASONS: dict[str, tuple[Decision, str]] = {
    "visitors_not_allowed": (Decision.DENY, N_("No visitors are allowed into this compound now")),
    "visitor_not_registered": (Decision.DENY, N_("Only visitors registered in advance may enter")),
    "visitor_code_used": (Decision.DENY, N_("This visitor code has been used or is not for today")),
    "health_code_red": (Decision.DENY, N_("Red health code")),
    "health_code_yellow": (Decision.DENY, N_("Yellow health code")),
    "risk_area_visit": (Decision.DENY, N_("Has been to a risk area recently")),
    "fever": (Decision.DENY, N_("Fever: entry refused")),
    "temperature_required": (Decision.REFER, N_("Take the temperature before entry")),
    "gate_closed": (Decision.DENY, N_("This gate is closed")),
    "compound_sealed": (Decision.DENY, N_("The compound is sealed: nobody in or out")),
    "compound_in_only": (Decision.DENY, N_("The compound is in-only: no visitors")),
    "host_building_sealed": (Decision.DENY, N_("The host's building is sealed")),
    "host_building_in_only": (Decision.DENY, N_("The host's building is in-only: no visitors")),
    "host_observation": (Decision.DENY, N_("The host household is under home observation")),
}


@dataclass(frozen=True)
class VisitorFacts:
    policy: VisitorPolicy
    pre_registered: bool
    health_code: HealthCode
    risk_area_visit: bool
    temperature: float | None
    gate_open: bool = True
    compound_seal: SealState = SealState.OPEN
    host_building_seal: SealState = SealState.OPEN
    host_under_observation: bool = False
    code_used: bool = False
    fever_threshold: float = DEFAULT_FEVER_THRESHOLD


def decide_visitor(f: VisitorFacts) -> Outcome:
    """Decide a visitor's entry. Visitors always need a temperature reading."""
    reasons: list[str] = []
    if f.code_used:
        reasons.append("visitor_code_used")
    if f.policy is VisitorPolicy.NONE:
        reasons.append("visitors_not_allowed")
    elif f.policy is VisitorPolicy.REGISTERED and not f.pre_registered:
        reasons.append("visitor_not_registered")
    if not f.gate_open:
        reasons.append("gate_closed")
    if f.compound_seal is SealState.SEALED:
        reasons.append("compound_sealed")
    elif f.compound_seal is SealState.IN_ONLY:
        # An in-only compound lets its people home; a guest could not leave again.
        reasons.append("compound_in_only")
    if f.host_building_seal is SealState.SEALED:
        reasons.append("host_building_sealed")
    elif f.host_building_seal is SealState.IN_ONLY:
        reasons.append("host_building_in_only")
    if f.host_under_observation:
        reasons.append("host_observation")
    if f.health_code is HealthCode.RED:
        reasons.append("health_code_red")
    elif f.health_code is HealthCode.YELLOW:
        reasons.append("health_code_yellow")
    if f.risk_area_visit:
        reasons.append("risk_area_visit")
    if f.temperature is None:
        reasons.append("temperature_required")
    elif f.temperature >= f.fever_threshold:
        reasons.append("fever")
    forced = {VISITOR_REASONS[r][0] for r in reasons}
    if Decision.DENY in forced:
        return Outcome(Decision.DENY, tuple(reasons))
    if Decision.REFER in forced:
        return Outcome(Decision.REFER, tuple(reasons))
    return Outcome(Decision.ALLOW, ())
