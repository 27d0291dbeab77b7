"""Who may reach what: roles and the community scope of every staff action.

An object outside the actor's scope is reported as not found, so IDs of other communities and
households tell nothing.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select

from ..extensions import db
from ..models import (
    MAX_ID,
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Household,
    Pass,
    PublicArea,
    Resident,
    User,
    Visit,
)
from .errors import Forbidden, NotFound

MANAGERS = ("street", "office")


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


# Each kind of object and the column that points at its parent, up to the compound.
_PARENT = {
    Gate: (Compound, Gate.compound_id),
    Building: (Compound, Building.compound_id),
    Household: (Building, Household.building_id),
    Resident: (Household, Resident.household_id),
    Pass: (Resident, Pass.resident_id),
    Device: (Gate, Device.gate_id),
    PublicArea: (Compound, PublicArea.compound_id),
    Visit: (Compound, Visit.compound_id),
}


def community_of(model, ident: int):
    """SELECT the community id of one object by walking its parents up to the compound."""
    stmt = select(Compound.community_id).select_from(model).where(model.id == ident)
    child = model
    while child is not Compound:
        parent, link = _PARENT[child]
        stmt = stmt.join(parent, parent.id == link)
        child = parent
    return stmt


class Scoped(NamedTuple):
    """An object the actor may act on, and the community it belongs to (for the audit)."""

    obj: Any
    community_id: int


def load(actor: User, model, ident: int, roles: tuple[str, ...] = MANAGERS) -> Scoped:
    """The object and its community, if the actor's role and scope reach it; else Forbidden or
    NotFound."""
    require_role(actor, roles)
    if not 1 <= ident <= MAX_ID:  # PostgreSQL would refuse to compare it with an integer key
        raise NotFound()
    community_id = db.session.scalar(community_of(model, ident))
    if community_id is None or not in_scope(actor, community_id):
        raise NotFound()
    return Scoped(db.session.get(model, ident), community_id)


def own_household(actor: User) -> int:
    """The household of a joined resident (role resident bound to their record): the only one
    whose objects they reach; anything else is not found. Forbidden for anyone else."""
    if actor is None or actor.role != "resident" or actor.resident_id is None:
        raise Forbidden()
    household_id = db.session.scalar(
        select(Resident.household_id).where(Resident.id == actor.resident_id)
    )
    if household_id is None:
        raise Forbidden()
    return household_id
