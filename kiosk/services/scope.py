"""Who may reach what: roles and the community scope of every staff action.

An object outside the actor's scope is reported as not found, so IDs of other communities and
households tell nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import (
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Household,
    Pass,
    Resident,
    User,
)
from .errors import Forbidden, NotFound

MANAGERS = ("street", "office")
MAX_ID = 2**31 - 1  # the largest integer primary key


def require_role(actor: User, roles: tuple[str, ...]) -> None:
    if actor is None or actor.role not in roles:
        raise Forbidden()


def community_ids(actor: User) -> list[int] | None:
    """The communities an actor may see; ``None`` means none at all."""
    if actor.role == "street":
        if actor.street_id is None:
            return []
        return list(
            db.session.scalars(select(Community.id).where(Community.street_id == actor.street_id))
        )
    if actor.community_id is not None:
        return [actor.community_id]
    return []


def in_scope(actor: User, community_id: int) -> bool:
    if actor.role == "street":
        street_id = db.session.scalar(
            select(Community.street_id).where(Community.id == community_id)
        )
        return street_id is not None and street_id == actor.street_id
    return actor.community_id == community_id


# How to reach the community of each kind of object.
_PATHS = {
    Compound: lambda ident: select(Compound.community_id).where(Compound.id == ident),
    Gate: lambda ident: (
        select(Compound.community_id)
        .join(Gate, Gate.compound_id == Compound.id)
        .where(Gate.id == ident)
    ),
    Building: lambda ident: (
        select(Compound.community_id)
        .join(Building, Building.compound_id == Compound.id)
        .where(Building.id == ident)
    ),
    Household: lambda ident: (
        select(Compound.community_id)
        .join(Building, Building.compound_id == Compound.id)
        .join(Household, Household.building_id == Building.id)
        .where(Household.id == ident)
    ),
    Resident: lambda ident: (
        select(Compound.community_id)
        .join(Building, Building.compound_id == Compound.id)
        .join(Household, Household.building_id == Building.id)
        .join(Resident, Resident.household_id == Household.id)
        .where(Resident.id == ident)
    ),
    Pass: lambda ident: (
        select(Compound.community_id)
        .join(Building, Building.compound_id == Compound.id)
        .join(Household, Household.building_id == Building.id)
        .join(Resident, Resident.household_id == Household.id)
        .join(Pass, Pass.resident_id == Resident.id)
        .where(Pass.id == ident)
    ),
    Device: lambda ident: (
        select(Compound.community_id)
        .join(Gate, Gate.compound_id == Compound.id)
        .join(Device, Device.gate_id == Gate.id)
        .where(Device.id == ident)
    ),
}


def load(actor: User, model, ident: int, roles: tuple[str, ...] = MANAGERS):
    """The object, if the actor's role and scope reach it; else Forbidden or NotFound."""
    require_role(actor, roles)
    if not 1 <= ident <= MAX_ID:  # PostgreSQL would refuse to compare it with an integer key
        raise NotFound()
    community_id = db.session.scalar(_PATHS[model](ident))
    if community_id is None or not in_scope(actor, community_id):
        raise NotFound()
    obj = db.session.get(model, ident)
    obj._community_id = community_id  # for the audit entry
    return obj
