"""Deliveries and services for households that may not go out, and their door announcements.

Pure: the value sets, the steps a request goes through, and who may ask. The services change a
request's status only by a conditional UPDATE from the step's expected status
(``services/deliveries.py``), so two workers cannot both take one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ServiceKind(StrEnum):
    """What a household asks to be brought or taken away."""

    GROCERIES = "groceries"
    WATER = "water"
    MEDICINE = "medicine"  # with a note: the prescription
    PARCEL = "parcel"  # a parcel at the gate, brought up
    RUBBISH = "rubbish"  # rubbish collected at the door


class ServiceStatus(StrEnum):
    """received → taken (by a named worker) → on the way → delivered at the door (contactless)
    → confirmed by the resident; cancelled by the resident while still received."""

    RECEIVED = "received"
    TAKEN = "taken"
    ON_THE_WAY = "on_the_way"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


# Still to be done by someone: the office's list and the worker's "in progress".
OPEN_STATUSES = (
    ServiceStatus.RECEIVED,
    ServiceStatus.TAKEN,
    ServiceStatus.ON_THE_WAY,
    ServiceStatus.DELIVERED,
)


@dataclass(frozen=True)
class Step:
    """One step of a request: from which status to which, and the column stamped with its time."""

    name: str
    expected: ServiceStatus
    to: ServiceStatus
    stamp: str
    by_worker: bool  # a worker's step (else the resident's)


STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("take", ServiceStatus.RECEIVED, ServiceStatus.TAKEN, "taken_at", True),
        Step("on_the_way", ServiceStatus.TAKEN, ServiceStatus.ON_THE_WAY, "on_way_at", True),
        Step("delivered", ServiceStatus.ON_THE_WAY, ServiceStatus.DELIVERED, "delivered_at", True),
        Step("confirm", ServiceStatus.DELIVERED, ServiceStatus.CONFIRMED, "confirmed_at", False),
        Step("cancel", ServiceStatus.RECEIVED, ServiceStatus.CANCELLED, "cancelled_at", False),
    )
}

# At most this many requests of one household not yet delivered: enough for a family, not a
# flood of the workers' list.
MAX_OPEN_PER_HOUSEHOLD = 5


class DoorReason(StrEnum):
    """Why a household under observation opens its door (what a door alarm will read)."""

    DELIVERY = "delivery"  # collecting a delivery
    RUBBISH = "rubbish"  # putting out rubbish
    OTHER = "other"


ANNOUNCE_DEFAULT_MINUTES = 10
ANNOUNCE_MAX_MINUTES = 30


def under_observation(observation_until: datetime | None, now: datetime) -> bool:
    return observation_until is not None and observation_until > now


def may_ask(observation_until: datetime | None, services_allowed: bool, now: datetime) -> bool:
    """A household may ask for services while under home observation or when the office allows
    it (an elderly couple living alone, a household in a sealed building)."""
    return services_allowed or under_observation(observation_until, now)
