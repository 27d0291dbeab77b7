"""Visitor invitations: what a resident sees of each invitation, read from its visit.

Pure: the visit's state, its day and the invitation's cancellation in, one status out.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

# How far ahead a resident may invite: today and the next days.
INVITE_DAYS_AHEAD = 7
# The visit's status once its invitation is cancelled: the gate finds no usable code.
CANCELLED = "cancelled"
# A visit made by an invitation (``Visit.via``: gate | self | inv).
VIA_INVITATION = "inv"
# An invited visitor has not declared their health code yet (``Visit.health_code``).
UNDECLARED = ""

# The host-side reasons of the visitor decision: what the resident's household, building and
# compound decide, whoever the visitor is. An invitation is refused for any of them.
HOST_REASONS = (
    "visitors_not_allowed",
    "compound_sealed",
    "compound_in_only",
    "host_building_sealed",
    "host_building_in_only",
    "host_observation",
)


class InvitationStatus(StrEnum):
    WAITING = "waiting"  # the code works on its day
    ARRIVED = "arrived"  # the visitor is inside
    LEFT = "left"
    REFUSED = "refused"  # the gate turned the visitor away
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # its day has passed unused


def invitation_status(visit_status: str, valid_on: date | None, today: date) -> InvitationStatus:
    """The status of an invitation from its visit's state on ``today`` (local)."""
    if visit_status == CANCELLED:
        return InvitationStatus.CANCELLED
    if visit_status == "inside":
        return InvitationStatus.ARRIVED
    if visit_status == "left":
        return InvitationStatus.LEFT
    if visit_status == "denied":
        return InvitationStatus.REFUSED
    if valid_on is None or valid_on < today:
        return InvitationStatus.EXPIRED
    return InvitationStatus.WAITING
