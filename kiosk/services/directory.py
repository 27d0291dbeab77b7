"""The office's directory: the buildings, households and people of the actor's communities,
found and shown a page at a time. Read-only: changes go through ``org`` and ``passes``.

A person is found by where they live (compound, building, unit, room) and by one search term:
part of the name, or the last four characters of the ID number or of the phone (the only part
of those numbers that is stored). The term arrives in a POST body, never in a URL.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select

from ..contract import directory as contract
from ..contract.forms import PeopleSearch
from ..contract.org import PeopleSearchBody
from ..extensions import db
from ..models import (
    AccessEvent,
    Building,
    Compound,
    Gate,
    Household,
    Pass,
    Resident,
    TestResult,
    User,
)
from . import scope, security
from .errors import Invalid, NotFound

PAGE_SIZE = 50
_LAST4 = re.compile(r"[0-9]{3}[0-9Xx]")


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


def paged(stmt: Select, number: int, size: int = PAGE_SIZE) -> Page:
    """One page of a statement's rows and the count of all of them."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(db.session.execute(stmt.limit(size).offset((number - 1) * size)))
    return Page(rows, number, size, total or 0)


def _in_scope(actor: User, stmt: Select) -> Select:
    scope.require_role(actor, scope.MANAGERS)
    return stmt.where(Compound.community_id.in_(scope.community_ids(actor)))


# A person who moved away (services/moving.py) is in no list, search or count: their anonymised
# record stays only for the history that points at it.
LIVING_HERE = Resident.moved_away_at.is_(None)


def _of_people(actor: User, *columns) -> Select:
    """SELECT ``columns`` of the residents of the actor's communities (not those who moved
    away), joined up to their compound."""
    return _in_scope(
        actor,
        select(*columns)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(LIVING_HERE),
    )


def _matching(stmt: Select, search: PeopleSearchBody) -> Select:
    """Only the residents matching a search: where they live, and part of the name or the last
    four characters of the ID number or phone."""
    if search.compound_id is not None:
        stmt = stmt.where(Compound.id == search.compound_id)
    if search.building_id is not None:
        stmt = stmt.where(Building.id == search.building_id)
    if search.unit is not None:
        stmt = stmt.where(Household.unit == search.unit)
    if search.room is not None:
        stmt = stmt.where(Household.room == search.room)
    if search.q is not None:
        term = search.q
        match = Resident.name.contains(term, autoescape=True)
        if _LAST4.fullmatch(term):
            match = or_(match, Resident.id_last4 == term.upper(), Resident.phone_last4 == term)
        stmt = stmt.where(match)
    return stmt


def people(actor: User, search: PeopleSearch, size: int = PAGE_SIZE) -> Page:
    """Residents matching the search, by compound, building, unit, room and name; each row is
    (resident, household, building, compound)."""
    stmt = _matching(_of_people(actor, Resident, Household, Building, Compound), search)
    stmt = stmt.order_by(Compound.name, Building.name, Household.unit, Household.room, Resident.id)
    return paged(stmt, search.page or 1, size)


@dataclass(frozen=True)
class BuildingRow:
    building: Building
    compound: Compound
    households: int
    residents: int
    observed: int


def buildings(actor: User, now: datetime, compound_id: int | None = None) -> list[BuildingRow]:
    """Every building of the actor's communities with its counts of households, residents and
    households under observation now."""
    households = (
        select(
            Household.building_id.label("building_id"),
            func.count(func.distinct(Household.id)).label("households"),
            func.count(Resident.id).label("residents"),
            func.count(func.distinct(Household.id))
            .filter(Household.observation_until > now)
            .label("observed"),
        )
        .outerjoin(Resident, and_(Resident.household_id == Household.id, LIVING_HERE))
        .group_by(Household.building_id)
        .subquery()
    )
    stmt = _in_scope(
        actor,
        select(
            Building,
            Compound,
            func.coalesce(households.c.households, 0),
            func.coalesce(households.c.residents, 0),
            func.coalesce(households.c.observed, 0),
        )
        .join(Compound, Compound.id == Building.compound_id)
        .outerjoin(households, households.c.building_id == Building.id),
    ).order_by(Compound.name, Building.name)
    if compound_id is not None:
        stmt = stmt.where(Compound.id == compound_id)
    return [BuildingRow(*r) for r in db.session.execute(stmt)]


@dataclass(frozen=True)
class HouseholdRow:
    household: Household
    members: int
    inside: int


def households(building_id: int) -> list[HouseholdRow]:
    """The households of one building (already loaded in scope), with member counts."""
    stmt = (
        select(
            Household,
            func.count(Resident.id),
            func.count(Resident.id).filter(Resident.presence == "in"),
        )
        .outerjoin(Resident, and_(Resident.household_id == Household.id, LIVING_HERE))
        .where(Household.building_id == building_id)
        .group_by(Household.id)
        .order_by(Household.unit, Household.room)
    )
    return [HouseholdRow(*r) for r in db.session.execute(stmt)]


@dataclass(frozen=True)
class Member:
    resident: Resident
    passes: list[Pass]
    latest_test: TestResult | None
    # When the member joined with the household's slip (their own login), if they have.
    joined_at: datetime | None = None


def members(household_id: int) -> list[Member]:
    """The members of one household (already loaded in scope) with every pass, newest first,
    their latest test and when they joined (their own login, active); not those who moved away
    (``moved_away``)."""
    residents = list(
        db.session.scalars(
            select(Resident)
            .where(Resident.household_id == household_id, LIVING_HERE)
            .order_by(Resident.id)
        )
    )
    ids = [r.id for r in residents]
    passes: dict[int, list[Pass]] = {i: [] for i in ids}
    for p in db.session.scalars(
        select(Pass).where(Pass.resident_id.in_(ids)).order_by(Pass.id.desc())
    ):
        passes[p.resident_id].append(p)
    latest: dict[int, TestResult] = {}
    for t in db.session.scalars(
        select(TestResult).where(TestResult.resident_id.in_(ids)).order_by(TestResult.taken_at)
    ):
        latest[t.resident_id] = t
    joined = dict(
        db.session.execute(
            select(User.resident_id, User.created_at).where(
                User.resident_id.in_(ids), User.role == "resident", User.active
            )
        ).all()
    )
    return [Member(r, passes[r.id], latest.get(r.id), joined.get(r.id)) for r in residents]


def moved_away(household_id: int) -> int:
    """How many members of one household (already loaded in scope) moved away."""
    return db.session.scalar(
        select(func.count(Resident.id)).where(
            Resident.household_id == household_id, Resident.moved_away_at.is_not(None)
        )
    )


@dataclass(frozen=True)
class Passage:
    occurred_at: datetime
    gate: str
    direction: str
    decision: str
    reasons: tuple[str, ...]
    resident_id: int | None


def passages(*, household_id: int | None = None, building_id: int | None = None, limit=20):
    """The latest gate events of a household's or a building's residents, newest first."""
    stmt = (
        select(
            AccessEvent.occurred_at,
            Gate.name,
            AccessEvent.direction,
            AccessEvent.decision,
            AccessEvent.reasons,
            AccessEvent.resident_id,
        )
        .join(Gate, Gate.id == AccessEvent.gate_id)
        .join(Resident, Resident.id == AccessEvent.resident_id)
        .order_by(AccessEvent.id.desc())
        .limit(limit)
    )
    if household_id is not None:
        stmt = stmt.where(Resident.household_id == household_id)
    if building_id is not None:
        stmt = stmt.join(Household, Household.id == Resident.household_id).where(
            Household.building_id == building_id
        )
    return [
        Passage(r[0], r[1], r[2], r[3], tuple(r[4].split()) if r[4] else (), r[5])
        for r in db.session.execute(stmt)
    ]


def chosen(actor: User, resident_ids: list[int]) -> list:
    """The ticked people of a picker that the actor reaches, as ``people`` rows."""
    if not resident_ids:
        return []
    stmt = _in_scope(
        actor,
        select(Resident, Household, Building, Compound)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Resident.id.in_(resident_ids), LIVING_HERE),
    ).order_by(Building.name, Household.unit, Household.room, Resident.id)
    return list(db.session.execute(stmt))


# --- the API's lists: a page at a time by id (``contract.paging``) ------------------------------


def _page(stmt: Select, column, after: int | None, limit: int) -> list:
    """Up to ``limit`` rows after the id ``after``, by id."""
    if after is not None:
        stmt = stmt.where(column > after)
    return list(db.session.scalars(stmt.order_by(column).limit(limit)))


def _require(actor: User, **ids) -> None:
    """404 for a filter's object outside the actor's scope, like one that does not exist."""
    scope.require_role(actor, scope.MANAGERS)
    for name, ident in ids.items():
        if ident is not None:
            scope.load(actor, _FILTERS[name], ident)


_FILTERS = {
    "compound_id": Compound,
    "gate_id": Gate,
    "building_id": Building,
    "household_id": Household,
    "resident_id": Resident,
}


def get(actor: User, model, ident: int):
    """One compound, gate, building, household or resident of the actor's communities."""
    return scope.load(actor, model, ident).obj


def get_compound(actor: User, compound_id: int) -> Compound:
    return get(actor, Compound, compound_id)


def get_gate(actor: User, gate_id: int) -> Gate:
    return get(actor, Gate, gate_id)


def get_building(actor: User, building_id: int) -> Building:
    return get(actor, Building, building_id)


def get_household(actor: User, household_id: int) -> Household:
    return get(actor, Household, household_id)


def get_resident(actor: User, resident_id: int) -> Resident:
    return get(actor, Resident, resident_id)


def list_compounds(actor: User, query: contract.CompoundQuery, limit: int) -> list[Compound]:
    stmt = _in_scope(actor, select(Compound))
    return _page(stmt, Compound.id, query.after, limit)


def list_gates(actor: User, query: contract.GateQuery, limit: int) -> list[Gate]:
    _require(actor, compound_id=query.compound_id)
    stmt = _in_scope(actor, select(Gate).join(Compound, Compound.id == Gate.compound_id))
    if query.compound_id is not None:
        stmt = stmt.where(Gate.compound_id == query.compound_id)
    return _page(stmt, Gate.id, query.after, limit)


def list_buildings(actor: User, query: contract.BuildingQuery, limit: int) -> list[Building]:
    _require(actor, compound_id=query.compound_id)
    stmt = _in_scope(actor, select(Building).join(Compound, Compound.id == Building.compound_id))
    if query.compound_id is not None:
        stmt = stmt.where(Building.compound_id == query.compound_id)
    return _page(stmt, Building.id, query.after, limit)


def list_households(
    actor: User, query: contract.HouseholdQuery, now: datetime, limit: int
) -> list[Household]:
    """Households, or only those under home observation at ``now`` (or only the others)."""
    _require(actor, building_id=query.building_id)
    stmt = _in_scope(
        actor,
        select(Household)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id),
    )
    if query.building_id is not None:
        stmt = stmt.where(Household.building_id == query.building_id)
    if query.under_observation is True:
        stmt = stmt.where(Household.observation_until > now)
    elif query.under_observation is False:
        stmt = stmt.where(
            or_(Household.observation_until.is_(None), Household.observation_until <= now)
        )
    return _page(stmt, Household.id, query.after, limit)


def list_residents(actor: User, query: contract.ResidentQuery, limit: int) -> list[Resident]:
    """Residents by where they live (no name or number: those are searched with a POST)."""
    _require(
        actor,
        compound_id=query.compound_id,
        building_id=query.building_id,
        household_id=query.household_id,
    )
    stmt = _of_people(actor, Resident)
    if query.household_id is not None:
        stmt = stmt.where(Resident.household_id == query.household_id)
    for column, value in (
        (Compound.id, query.compound_id),
        (Building.id, query.building_id),
        (Household.unit, query.unit),
        (Household.room, query.room),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return _page(stmt, Resident.id, query.after, limit)


def find_people(
    actor: User, search: PeopleSearchBody, after: int | None, limit: int
) -> list[Resident]:
    """The residents matching a search (``people``'s), a page at a time by id. A compound or
    building outside the actor's scope is refused like one that does not exist (a body's field:
    422)."""
    scope.require_role(actor, scope.MANAGERS)
    for field, model, ident in (
        ("compound_id", Compound, search.compound_id),
        ("building_id", Building, search.building_id),
    ):
        if ident is not None:
            try:
                scope.load(actor, model, ident)
            except NotFound:
                raise Invalid(_NO_SUCH[field], field=field) from None
    return _page(_matching(_of_people(actor, Resident), search), Resident.id, after, limit)


_NO_SUCH = {
    "compound_id": _l("compound_id: no such compound."),
    "building_id": _l("building_id: no such building."),
}


@dataclass(frozen=True)
class Person:
    """A resident as a list from outside names them: by name and address."""

    id: int
    community_id: int
    name: str
    building: str
    unit: str
    room: str
    id_last4: str | None


@dataclass(frozen=True)
class PeopleIndex:
    """Everyone the actor reaches, to match the rows of an outside list (test results, a
    ledger) to residents: by the ID number's keyed hash, or by name, building, unit and room
    narrowed by the last four of the ID number, or by the phone's keyed hash (``find_phone``).
    One query for the whole list."""

    by_hash: dict[str, list[Person]]
    by_address: dict[tuple[str, str, str, str], list[Person]]
    by_phone: dict[str, list[Person]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, actor: User) -> PeopleIndex:
        by_hash: dict[str, list[Person]] = defaultdict(list)
        by_address: dict[tuple[str, str, str, str], list[Person]] = defaultdict(list)
        by_phone: dict[str, list[Person]] = defaultdict(list)
        rows = db.session.execute(
            _in_scope(
                actor,
                select(
                    Resident.id,
                    Compound.community_id,
                    Resident.name,
                    Building.name,
                    Household.unit,
                    Household.room,
                    Resident.id_last4,
                    Resident.id_hash,
                    Resident.phone_hash,
                )
                .join(Household, Household.id == Resident.household_id)
                .join(Building, Building.id == Household.building_id)
                .join(Compound, Compound.id == Building.compound_id)
                .where(LIVING_HERE),
            )
        )
        for *values, id_hash, phone_hash in rows:
            person = Person(*values)
            if id_hash:
                by_hash[id_hash].append(person)
            if phone_hash:
                by_phone[phone_hash].append(person)
            by_address[(person.name, person.building, person.unit, person.room)].append(person)
        return cls(dict(by_hash), dict(by_address), dict(by_phone))

    def find(self, name, building, unit, room, id_number=None, id_last4=None) -> list[Person]:
        """Everyone the row can mean: none, one, or several (ambiguous)."""
        if id_number is not None:
            number = security.normalise_id_number(id_number)
            return self.by_hash.get(security.keyed_hash(number), [])
        found = self.by_address.get((name, building, unit, room), [])
        if id_last4 is not None:
            found = [p for p in found if p.id_last4 == id_last4]
        return found

    def find_phone(self, phone: str) -> list[Person]:
        """Everyone whose phone is this number (a family may share one)."""
        return self.by_phone.get(security.keyed_hash(security.normalise_phone(phone)), [])
