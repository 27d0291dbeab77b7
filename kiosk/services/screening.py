"""Screening lists (核查名单): the lists of people to check that the district's CDC issues from
big-data analysis, imported (a CSV or XLSX file, or JSON rows), matched to residents, worked
through row by row, and reconciled with another list or with the residents (双台账).

Each row is matched to the residents of the list's community by the keyed hash of the ID number,
then of the phone, then by name, building, unit and room (``match``): exactly one is matched,
several are ambiguous (the office chooses among the candidates), none is not living here. Of
the numbers only the keyed hash and the last four are kept.

A matched resident whose row is not closed (``domain.screening.is_closed``) is referred at the
gate (reason ``screening``, read in the scan's one SELECT): clearing the row ends that at once.
A row changes by one conditional UPDATE on the status read, so two people working the same row
at once cannot overwrite each other unseen: the second is told (409 ``row_changed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..contract.errors import ContractError, FieldError
from ..contract.org import HouseholdChange
from ..contract.screening import (
    COLUMNS,
    ScreeningHeading,
    ScreeningPerson,
    ScreeningRowFilter,
)
from ..domain.screening import CallStatus, MatchStatus, is_closed, progress
from ..extensions import db
from ..models import (
    MAX_ID,
    Building,
    Community,
    Compound,
    Household,
    Resident,
    ScreeningList,
    ScreeningRow,
    User,
    utcnow,
)
from . import audit, directory, org, scope, staff, tables
from .errors import Conflict, Invalid, NotFound

OBSERVATION_DAYS = 14
MAX_CANDIDATES = 20  # candidate_ids holds 200 characters


# --- matching ------------------------------------------------------------------------------------


def match(
    index: directory.PeopleIndex, person: ScreeningPerson, community_id: int
) -> tuple[MatchStatus, list[directory.Person]]:
    """Who of the community a row means: by the ID number's hash, else the phone's (narrowed
    by the name when a family shares the phone), else by name and address. The first way that
    finds anyone decides."""

    def ours(found: Iterable[directory.Person]) -> list[directory.Person]:
        return [p for p in found if p.community_id == community_id]

    found: list[directory.Person] = []
    if person.id_number is not None:
        found = ours(index.find(None, None, None, None, id_number=person.id_number))
    if not found and person.phone is not None:
        found = ours(index.find_phone(person.phone))
        if len(found) > 1 and person.name is not None:
            found = [p for p in found if p.name == person.name] or found
    if not found and None not in (person.name, person.building, person.unit, person.room):
        found = ours(index.find(person.name, person.building, person.unit, person.room))
    if not found:
        return MatchStatus.NOT_HERE, []
    if len(found) == 1:
        return MatchStatus.MATCHED, found
    return MatchStatus.AMBIGUOUS, found[:MAX_CANDIDATES]


# --- lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRow:
    number: int
    problems: list[FieldError]


@dataclass(frozen=True)
class Imported:
    list_: ScreeningList
    rows: int
    matched: int
    ambiguous: int
    not_here: int
    bad: list[BadRow] = field(default_factory=list)


def _community(actor: User, community_id: int | None) -> int:
    """The list's community: the one given (in the actor's scope), else the actor's only one."""
    scope.require_role(actor, scope.MANAGERS)
    if community_id is not None:
        if not scope.in_scope(actor, community_id):
            raise Invalid(_l("Choose the community."), field="community_id")
        return community_id
    ids = scope.community_ids(actor) or []
    if len(ids) != 1:
        raise Invalid(_l("Choose the community."), field="community_id")
    return ids[0]


def create(
    actor: User,
    heading: ScreeningHeading,
    people: list[tuple[int, ScreeningPerson]],
    bad: list[BadRow] | None = None,
) -> Imported:
    """A new list with its rows (``(row number, person)``), each matched at once; audited."""
    community_id = _community(actor, heading.community_id)
    index = directory.PeopleIndex.of(actor)
    list_ = ScreeningList(
        community_id=community_id,
        name=heading.name,
        source=heading.source,
        issued_on=heading.issued_on,
        created_by_id=actor.id,
    )
    db.session.add(list_)
    db.session.flush()
    counts = dict.fromkeys(MatchStatus, 0)
    values = []
    for number, person in people:
        status, found = match(index, person, community_id)
        counts[status] += 1
        kept = org.identity(person.id_number, person.phone)
        values.append(
            {
                "list_id": list_.id,
                "row_number": number,
                "name": person.name,
                "address": _address(person),
                **kept,
                "match": status.value,
                "candidate_ids": ",".join(str(p.id) for p in found)
                if status is MatchStatus.AMBIGUOUS
                else "",
                "resident_id": found[0].id if status is MatchStatus.MATCHED else None,
                "call_status": CallStatus.NOT_REACHED.value,
                "closed": is_closed(status, CallStatus.NOT_REACHED),
            }
        )
    if values:
        db.session.execute(ScreeningRow.__table__.insert(), values)
    bad = bad or []
    audit.record(
        actor,
        "screening.import",
        "screening",
        list_.id,
        community_id,
        rows=len(values),
        matched=counts[MatchStatus.MATCHED],
        ambiguous=counts[MatchStatus.AMBIGUOUS],
        not_here=counts[MatchStatus.NOT_HERE],
        invalid=len(bad),
    )
    db.session.commit()
    return Imported(
        list_,
        len(values),
        counts[MatchStatus.MATCHED],
        counts[MatchStatus.AMBIGUOUS],
        counts[MatchStatus.NOT_HERE],
        bad,
    )


def _address(person: ScreeningPerson) -> str | None:
    if person.address is not None:
        return person.address
    parts = [p for p in (person.building, person.unit, person.room) if p]
    return " ".join(parts)[:200] or None


def import_file(actor: User, heading: ScreeningHeading, data: bytes, filename: str) -> Imported:
    """Read a CSV (UTF-8 or GBK) or XLSX list and create it; rows that cannot be read are left
    out and reported with every problem. A file with no readable row creates nothing."""
    scope.require_role(actor, scope.MANAGERS)
    _community(actor, heading.community_id)
    table = tables.read(data, filename, max_rows=5000)
    columns, _unused = tables.match_header(table.header, COLUMNS)
    if not ({"phone", "id_number", "name"} & set(columns)):
        raise tables.TableError(
            _l(
                "The file needs a column with the phone or the ID number, or name, building, "
                "unit and room (Chinese or English column names)."
            ),
            code="columns",
            field="file",
        )
    people: list[tuple[int, ScreeningPerson]] = []
    bad: list[BadRow] = []
    for r in table.rows:
        try:
            people.append(
                (r.number, ScreeningPerson.read({n: r.get(i) for n, i in columns.items()}))
            )
        except ContractError as exc:
            bad.append(BadRow(r.number, exc.errors))
    if not people:
        raise Invalid(_l("No row of the file could be read."), code="no_rows", field="file")
    return create(actor, heading, people, bad)


@dataclass(frozen=True)
class Summary:
    """A list with its counts: rows, closed, by match, and the closed share."""

    id: int
    community_id: int
    name: str
    source: str | None
    issued_on: object
    created_at: datetime
    total: int
    closed: int
    matched: int
    ambiguous: int
    not_here: int

    @property
    def progress(self) -> int:
        return progress(self.closed, self.total)


def _counts():
    r = ScreeningRow
    return (
        select(
            r.list_id,
            func.count().label("total"),
            func.count().filter(r.closed.is_(True)).label("closed"),
            func.count().filter(r.match == MatchStatus.MATCHED.value).label("matched"),
            func.count().filter(r.match == MatchStatus.AMBIGUOUS.value).label("ambiguous"),
            func.count().filter(r.match == MatchStatus.NOT_HERE.value).label("not_here"),
        )
        .group_by(r.list_id)
        .subquery()
    )


def lists(actor: User, after: int | None = None, limit: int | None = None) -> list[Summary]:
    """The lists of the actor's communities with their counts, newest first (by id after
    ``after`` oldest first, for the API's pages)."""
    scope.require_role(actor, scope.MANAGERS)
    counts = _counts()
    stmt = (
        select(
            ScreeningList,
            func.coalesce(counts.c.total, 0),
            func.coalesce(counts.c.closed, 0),
            func.coalesce(counts.c.matched, 0),
            func.coalesce(counts.c.ambiguous, 0),
            func.coalesce(counts.c.not_here, 0),
        )
        .outerjoin(counts, counts.c.list_id == ScreeningList.id)
        .where(ScreeningList.community_id.in_(scope.community_ids(actor) or []))
    )
    if limit is None:
        stmt = stmt.order_by(ScreeningList.id.desc())
    else:
        if after is not None:
            stmt = stmt.where(ScreeningList.id > after)
        stmt = stmt.order_by(ScreeningList.id).limit(limit)
    return [_summary(lst, *numbers) for lst, *numbers in db.session.execute(stmt)]


def _summary(lst: ScreeningList, total, closed, matched, ambiguous, not_here) -> Summary:
    return Summary(
        lst.id,
        lst.community_id,
        lst.name,
        lst.source,
        lst.issued_on,
        lst.created_at,
        total,
        closed,
        matched,
        ambiguous,
        not_here,
    )


def get_list(actor: User, list_id: int) -> ScreeningList:
    """A list of the actor's communities, else NotFound."""
    scope.require_role(actor, scope.MANAGERS)
    lst = db.session.get(ScreeningList, list_id) if 1 <= list_id <= MAX_ID else None
    if lst is None or not scope.in_scope(actor, lst.community_id):
        raise NotFound()
    return lst


def summary(actor: User, list_id: int) -> Summary:
    lst = get_list(actor, list_id)
    counts = _counts()
    numbers = db.session.execute(
        select(counts.c.total, counts.c.closed, counts.c.matched, counts.c.ambiguous)
        .add_columns(counts.c.not_here)
        .where(counts.c.list_id == lst.id)
    ).first()
    return _summary(lst, *(numbers or (0, 0, 0, 0, 0)))


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowView:
    """A row as the office's page shows it: where the matched resident lives, who works it,
    and the candidates of an ambiguous row."""

    row: ScreeningRow
    place: str | None
    household_id: int | None
    assigned_to: str | None
    updated_by: str | None
    candidates: list[tuple[int, str]]


def rows(
    actor: User, list_id: int, query: ScreeningRowFilter, limit: int | None = None
) -> list[ScreeningRow]:
    """A list's rows by row id, filtered (status, match, worker, open or closed)."""
    lst = get_list(actor, list_id)
    stmt = select(ScreeningRow).where(ScreeningRow.list_id == lst.id)
    if query.call_status is not None:
        stmt = stmt.where(ScreeningRow.call_status == query.call_status.value)
    if query.match is not None:
        stmt = stmt.where(ScreeningRow.match == query.match.value)
    if query.assigned_to_id is not None:
        stmt = stmt.where(ScreeningRow.assigned_to_id == query.assigned_to_id)
    if query.open is not None:
        stmt = stmt.where(ScreeningRow.closed.is_(not query.open))
    if query.after is not None:
        stmt = stmt.where(ScreeningRow.id > query.after)
    return list(db.session.scalars(stmt.order_by(ScreeningRow.id).limit(limit or query.size)))


def _places(resident_ids: set[int]) -> dict[int, tuple[str, str, int]]:
    """resident id -> (name, "building unit-room", household id)."""
    if not resident_ids:
        return {}
    found = db.session.execute(
        select(Resident.id, Resident.name, Building.name, Household.unit, Household.room)
        .add_columns(Household.id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Resident.id.in_(resident_ids))
    )
    return {rid: (name, f"{b} {u}-{r}", hid) for rid, name, b, u, r, hid in found}


def views(found: list[ScreeningRow]) -> list[RowView]:
    """The rows with what the page shows beside them (three small queries for the page)."""
    candidates = {int(c) for r in found for c in r.candidate_ids.split(",") if c}
    places = _places({r.resident_id for r in found if r.resident_id} | candidates)
    users = {
        u.id: u.username
        for u in db.session.scalars(
            select(User).where(
                User.id.in_(
                    {r.assigned_to_id for r in found if r.assigned_to_id}
                    | {r.updated_by_id for r in found if r.updated_by_id}
                )
            )
        )
    }
    out = []
    for r in found:
        place = places.get(r.resident_id) if r.resident_id else None
        out.append(
            RowView(
                r,
                place[1] if place else None,
                place[2] if place else None,
                users.get(r.assigned_to_id),
                users.get(r.updated_by_id),
                [
                    (int(c), f"{places[int(c)][0]} · {places[int(c)][1]}")
                    for c in r.candidate_ids.split(",")
                    if c and int(c) in places
                ],
            )
        )
    return out


def load_row(actor: User, row_id: int) -> tuple[ScreeningRow, ScreeningList]:
    """A row of a list of the actor's communities and its list, else NotFound."""
    scope.require_role(actor, scope.MANAGERS)
    row = db.session.get(ScreeningRow, row_id) if 1 <= row_id <= MAX_ID else None
    if row is None:
        raise NotFound()
    return row, get_list(actor, row.list_id)


_CHANGED = _l("Someone changed this row meanwhile: look at it again.")


def change(actor: User, row_id: int, changes: dict[str, object]) -> ScreeningRow:
    """Change a row: ``call_status``, ``note``, ``assigned_to_id`` (a worker of the list's
    community, or None), ``resident_id`` (one of an ambiguous row's candidates). Only the keys
    given change. One conditional UPDATE on the status and match read: a lost race is 409."""
    row, lst = load_row(actor, row_id)
    return _apply(actor, row, lst, changes)


# What a worker may set on the phone: the office decides observation and who works a row.
WORKER_STATUSES = tuple(s for s in CallStatus if s is not CallStatus.OBSERVED)


def assigned(actor: User) -> list[RowView]:
    """The rows assigned to a worker (open ones first), in the worker's community."""
    scope.require_role(actor, ("worker",))
    found = list(
        db.session.scalars(
            select(ScreeningRow)
            .join(ScreeningList, ScreeningList.id == ScreeningRow.list_id)
            .where(
                ScreeningRow.assigned_to_id == actor.id,
                ScreeningList.community_id.in_(scope.community_ids(actor)),
            )
            .order_by(ScreeningRow.closed, ScreeningRow.id)
            .limit(200)
        )
    )
    return views(found)


def worker_change(
    actor: User, row_id: int, call_status: CallStatus | None, note: str | None
) -> ScreeningRow:
    """A worker's call: the status (not observation) and a note, on a row assigned to them;
    any other row is not found."""
    scope.require_role(actor, ("worker",))
    row = db.session.get(ScreeningRow, row_id) if 1 <= row_id <= MAX_ID else None
    lst = db.session.get(ScreeningList, row.list_id) if row is not None else None
    if row is None or row.assigned_to_id != actor.id or not scope.in_scope(actor, lst.community_id):
        raise NotFound()
    if call_status is not None and call_status not in WORKER_STATUSES:
        raise Invalid(_l("Choose a status from the list."), field="call_status")
    changes: dict[str, object] = {"note": note}
    if call_status is not None:
        changes["call_status"] = call_status
    return _apply(actor, row, lst, changes)


def _apply(actor: User, row: ScreeningRow, lst: ScreeningList, changes: dict) -> ScreeningRow:
    seen_status, seen_match = row.call_status, row.match
    values: dict[str, object] = {}
    if "resident_id" in changes and changes["resident_id"] is not None:
        chosen = changes["resident_id"]
        if row.match != MatchStatus.AMBIGUOUS or str(chosen) not in row.candidate_ids.split(","):
            raise Invalid(_l("Choose one of the people found."), field="resident_id")
        values |= {"resident_id": chosen, "match": MatchStatus.MATCHED.value}
    if "assigned_to_id" in changes:
        worker_id = changes["assigned_to_id"]
        if worker_id is not None and worker_id not in {
            w.id for w in staff.workers(actor, lst.community_id)
        }:
            raise Invalid(_l("Choose a worker from the list."), field="assigned_to_id")
        values["assigned_to_id"] = worker_id
    if "note" in changes:
        values["note"] = changes["note"]
    status = changes.get("call_status")
    if status is not None:
        values["call_status"] = CallStatus(status).value
    new_match = values.get("match", seen_match)
    new_status = values.get("call_status", seen_status)
    if (
        new_status == CallStatus.OBSERVED
        and row.resident_id is None
        and "resident_id" not in values
    ):
        raise Invalid(_l("Only a matched row can be put under observation."), field="call_status")
    values["closed"] = is_closed(new_match, new_status)
    values |= {"updated_by_id": actor.id, "updated_at": utcnow()}
    done = db.session.execute(
        update(ScreeningRow)
        .where(
            ScreeningRow.id == row.id,
            ScreeningRow.call_status == seen_status,
            ScreeningRow.match == seen_match,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.rollback()
        raise Conflict(_CHANGED, code="row_changed")
    audit.record(
        actor,
        "screening.row",
        "screening",
        lst.id,
        lst.community_id,
        row=row.row_number,
        **{k: v for k, v in values.items() if k not in ("note", "updated_by_id", "updated_at")},
    )  # the note (free text) is kept once, on the row
    db.session.commit()
    db.session.refresh(row)
    return row


def observe(actor: User, row_id: int, now: datetime) -> ScreeningRow:
    """Put a matched row's household under home observation for 14 days, the list's name as
    the reason (``org.observe``, audited there), and mark the row ``observed``."""
    row, lst = load_row(actor, row_id)
    if row.resident_id is None:
        raise Conflict(_l("Only a matched row can be put under observation."), code="not_matched")
    household_id = db.session.scalar(
        select(Resident.household_id).where(Resident.id == row.resident_id)
    )
    # Built here from checked values (the list's name is at most 200 characters).
    change_ = HouseholdChange.model_construct(
        observation_until=now + timedelta(days=OBSERVATION_DAYS),
        observation_reason=lst.name[:200],
    )
    org.observe(actor, [household_id], change_)
    return change(actor, row_id, {"call_status": CallStatus.OBSERVED})


# --- reconciliation (双台账) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One person of a reconciliation, as each side names them."""

    name: str | None
    address: str | None
    phone_last4: str | None
    id_last4: str | None
    row_a: int | None = None
    row_b: int | None = None
    status: str | None = None  # list A's call status


@dataclass(frozen=True)
class Reconciliation:
    a: Summary
    b: Summary | None  # None: against the residents
    both: list[Entry]
    only_a: list[Entry]
    only_b: list[Entry]


def _key(row: ScreeningRow) -> tuple:
    """Who a row means, as far as two lists can tell: the resident, else the numbers' hashes,
    else name and address."""
    if row.resident_id is not None:
        return ("resident", row.resident_id)
    if row.id_hash:
        return ("id", row.id_hash)
    if row.phone_hash:
        return ("phone", row.phone_hash)
    return ("name", row.name, row.address)


def _entry(row: ScreeningRow, side: str, place: tuple | None = None) -> Entry:
    name = place[0] if place else row.name
    return Entry(
        name,
        place[1] if place else row.address,
        row.phone_last4,
        row.id_last4,
        row.row_number if side == "a" else None,
        row.row_number if side == "b" else None,
        row.call_status,
    )


def reconcile(actor: User, a_id: int, b_id: int | None) -> Reconciliation:
    """List A against list B, or (no B) against the residents of A's community: on both, only
    in A, only in B."""
    a = summary(actor, a_id)
    a_rows = list(db.session.scalars(select(ScreeningRow).where(ScreeningRow.list_id == a.id)))
    if b_id is not None:
        b = summary(actor, b_id)
        b_rows = list(db.session.scalars(select(ScreeningRow).where(ScreeningRow.list_id == b.id)))
        places = _places({r.resident_id for r in a_rows + b_rows if r.resident_id})
        b_by_key = {}
        for r in b_rows:
            b_by_key.setdefault(_key(r), r)
        both, only_a, seen = [], [], set()
        for r in a_rows:
            k = _key(r)
            other = b_by_key.get(k)
            if other is not None:
                seen.add(k)
                e = _entry(r, "a", places.get(r.resident_id))
                both.append(Entry(**{**e.__dict__, "row_b": other.row_number}))
            else:
                only_a.append(_entry(r, "a", places.get(r.resident_id)))
        only_b = [
            _entry(r, "b", places.get(r.resident_id)) for k, r in b_by_key.items() if k not in seen
        ]
        return Reconciliation(a, b, both, only_a, only_b)
    matched = {r.resident_id for r in a_rows if r.resident_id}
    places = _places(matched)
    both = [_entry(r, "a", places.get(r.resident_id)) for r in a_rows if r.resident_id]
    only_a = [_entry(r, "a") for r in a_rows if r.resident_id is None]
    residents = db.session.execute(
        select(
            Resident.id,
            Resident.name,
            Building.name,
            Household.unit,
            Household.room,
            Resident.phone_last4,
            Resident.id_last4,
        )
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .join(Community, Community.id == Compound.community_id)
        .where(Community.id == a.community_id, Resident.moved_away_at.is_(None))
        .order_by(Building.name, Household.unit, Household.room, Resident.id)
    )
    only_b = [
        Entry(name, f"{b} {u}-{r}", phone4, id4)
        for rid, name, b, u, r, phone4, id4 in residents
        if rid not in matched
    ]
    return Reconciliation(a, None, both, only_a, only_b)


def download(rec: Reconciliation, fmt: str, words: dict[str, str]) -> bytes:
    """The reconciliation as one table (CSV or XLSX): which side, the rows on each list, and
    who. ``words`` are the translated header and side names."""
    header = [
        words["side"],
        words["row_a"],
        words["row_b"],
        words["name"],
        words["address"],
        words["phone_last4"],
        words["id_last4"],
    ]
    lines = [
        [words[side], e.row_a, e.row_b, e.name, e.address, e.phone_last4, e.id_last4]
        for side, entries in (("both", rec.both), ("only_a", rec.only_a), ("only_b", rec.only_b))
        for e in entries
    ]
    if fmt == "xlsx":
        return tables.write_xlsx(header, lines, title=rec.a.name)
    return tables.write_csv(header, lines)
