"""Bulk import and export of the people list: buildings, households and residents of a compound,
from and to CSV and XLSX files (``tables``), one row per person or per household.

The import runs in two steps, ``preview`` and ``run``, on the same file:

1. ``preview`` reads the file, checks every row (``contract.imports.PersonRow``) and every row
   against the others and the database (the same person twice in the file, a person already
   living in the community) and counts what would be created. It changes nothing.
2. ``run`` is given the same file again with the digest the preview showed, checks it all again
   and, only if no row has a problem, creates everything in one transaction with one audit entry:
   the whole file or nothing.

Why the file comes twice rather than being kept between the steps: the app runs on several
servers behind a load balancer with no shared disk and no session store (docs/deployment.md), so
a file kept on the server that made the preview may not be on the one that gets the
confirmation; kept in the database, it would put the plain ID and phone numbers at rest where
only their keyed hashes may be (docs/privacy.md); kept in a cookie or a URL, it would hand them
to the browser's storage and the logs. Sent again, nothing about a pending import is stored
anywhere, nothing needs expiring or cleaning up, and the digest binds the confirmation to the
bytes that were previewed (a changed file is refused). The cost is one more upload of at most
``tables.MAX_BYTES`` (the page keeps the chosen file: the preview is shown beside the form) and
a second round of checks, which ``run`` needs anyway: the database may have changed meanwhile.

ID numbers and phones are hashed and cut to their last four characters as soon as a row is read
(``org.identity``, as for a resident added by hand): the plain numbers are in no return value,
log or page. Inserts are bulk (one ``executemany`` per table), so 10,000 rows take seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..contract import imports as contract
from ..contract.errors import ContractError, FieldError
from ..extensions import db
from ..models import Building, Compound, Household, Resident, User
from . import audit, org, scope, tables
from .errors import Conflict, Invalid

_CHUNK = 500  # values per IN (...): well under SQLite's limit of bound parameters


@dataclass
class Line:
    """One row of the file as the preview shows it: the plain numbers are already gone."""

    number: int
    building: str
    unit: str
    room: str
    name: str | None = None
    id_hash: str | None = None
    id_last4: str | None = None
    phone_hash: str | None = None
    phone_last4: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    # What importing the row does: "resident" (a person added), "household" (a building or
    # household only), "nothing" (the household exists already); "" while it has errors.
    action: str = ""

    @property
    def household_key(self) -> tuple[str, str, str]:
        return (self.building, self.unit, self.room)


@dataclass
class Preview:
    compound: Compound
    filename: str
    digest: str  # of the file and the compound: the confirmation must send the same
    lines: list[Line]
    unused_columns: list[str]
    buildings: int = 0  # to be created
    households: int = 0
    residents: int = 0

    @property
    def bad_lines(self) -> list[Line]:
        return [line for line in self.lines if line.errors]

    @property
    def importable(self) -> bool:
        return not self.bad_lines and (self.buildings or self.households or self.residents) > 0


@dataclass(frozen=True)
class Summary:
    compound: Compound
    rows: int
    buildings: int
    households: int
    residents: int


class Refused(Invalid):
    """The file has problems: nothing was imported; ``preview`` lists them row by row."""

    def __init__(self, preview: Preview, message):
        super().__init__(message, code="rows", field="file")
        self.preview = preview


def digest(data: bytes, compound_id: int) -> str:
    """What a confirmation must match: this file, for this compound."""
    return hashlib.sha256(f"{compound_id}:".encode() + data).hexdigest()


# --- reading and checking -----------------------------------------------------------------------


def _lines(table: tables.Table) -> tuple[list[Line], list[str]]:
    """Every row as a ``Line``, with the problems of the row on its own."""
    columns, unused = tables.match_header(table.header, contract.COLUMNS)
    missing = [c for c in contract.REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise Invalid(
            _l(
                "The first row must name the columns; missing: %(columns)s. Download the "
                "template to see them.",
                columns=", ".join(str(contract.COLUMN_LABELS[c]) for c in missing),
            ),
            code="columns",
            field="file",
        )
    if not table.rows:
        raise Invalid(_l("The file has no rows under its header."), code="file_empty", field="file")
    out = []
    for row in table.rows:
        cells = {name: row.get(index) for name, index in columns.items()}
        try:
            person = contract.PersonRow.read(cells)
        except ContractError as exc:
            # The last four characters as typed help to find the row; no more of them is kept.
            card = contract.normalise_card(cells.get("id_number", ""))
            digits = "".join(ch for ch in cells.get("phone", "") if ch.isdigit())
            out.append(
                Line(
                    row.number,
                    cells.get("building", ""),
                    cells.get("unit", ""),
                    cells.get("room", ""),
                    cells.get("name") or None,
                    id_last4=card[-4:] or None,
                    phone_last4=digits[-4:] or None,
                    errors=list(exc.errors),
                )
            )
            continue
        out.append(
            Line(
                row.number,
                person.building,
                person.unit,
                person.room,
                person.name,
                **org.identity(person.id_number, person.phone),
            )
        )
    return out, unused


def _chunks(values: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing(compound: Compound, lines: list[Line]):
    """What the database has already: the compound's buildings and households by name, the
    community's residents with any of the file's ID numbers, and the names of the residents of
    the file's existing households."""
    buildings = dict(
        db.session.execute(
            select(Building.name, Building.id).where(Building.compound_id == compound.id)
        ).all()
    )
    households = {
        (b, u, r): ident
        for ident, b, u, r in db.session.execute(
            select(Household.id, Building.name, Household.unit, Household.room)
            .join(Building, Building.id == Household.building_id)
            .where(Building.compound_id == compound.id)
        )
    }
    id_hashes = sorted({line.id_hash for line in lines if line.id_hash})
    living: set[str] = set()
    for chunk in _chunks(id_hashes):
        living.update(
            db.session.scalars(
                select(Resident.id_hash)
                .join(Household, Household.id == Resident.household_id)
                .join(Building, Building.id == Household.building_id)
                .join(Compound, Compound.id == Building.compound_id)
                .where(
                    Compound.community_id == compound.community_id,
                    Resident.id_hash.in_(chunk),
                )
            )
        )
    household_ids = sorted(
        {households[line.household_key] for line in lines if line.household_key in households}
    )
    names: set[tuple[int, str]] = set()
    for chunk in _chunks(household_ids):
        names.update(
            tuple(r)
            for r in db.session.execute(
                select(Resident.household_id, Resident.name).where(Resident.household_id.in_(chunk))
            )
        )
    return buildings, households, living, names


def _check(compound: Compound, lines: list[Line]) -> tuple[int, int, int]:
    """Rows against each other and the database; sets each line's errors and action. Returns
    how many buildings, households and residents the import would create."""
    buildings, households, living, names = _existing(compound, lines)
    new_buildings: set[str] = set()
    new_households: set[tuple[str, str, str]] = set()
    residents = 0
    first_of: dict[object, int] = {}
    for line in lines:
        if line.errors:
            continue
        if line.name is not None:
            # The same person twice: the same ID number, or (without one) the same name in the
            # same household.
            key = ("id", line.id_hash) if line.id_hash else ("name", line.household_key, line.name)
            if key in first_of:
                line.errors.append(
                    FieldError(
                        "id_number" if line.id_hash else "name",
                        "duplicate",
                        _l("The same person is in row %(row)d of this file.", row=first_of[key]),
                    )
                )
                continue
            first_of[key] = line.number
            household_id = households.get(line.household_key)
            if line.id_hash and line.id_hash in living:
                line.errors.append(
                    FieldError(
                        "id_number",
                        "already_living",
                        _l(
                            "Already living there: a resident of this community has this ID number."
                        ),
                    )
                )
                continue
            if not line.id_hash and (household_id, line.name) in names:
                line.errors.append(
                    FieldError(
                        "name",
                        "already_living",
                        _l("Already living there: this household has a resident of this name."),
                    )
                )
                continue
        if line.building not in buildings:
            new_buildings.add(line.building)
        if line.household_key not in households:
            new_households.add(line.household_key)
        if line.name is not None:
            residents += 1
            line.action = "resident"
        elif line.household_key in households:
            line.action = "nothing"
        else:
            line.action = "household"
    return len(new_buildings), len(new_households), residents


def preview(actor: User, compound_id: int, data: bytes, filename: str) -> Preview:
    """Every row of the file with its problems, and what importing it would create. Changes
    nothing."""
    compound = scope.load(actor, Compound, compound_id).obj
    table = tables.read(data, filename)
    lines, unused = _lines(table)
    preview = Preview(compound, filename, digest(data, compound.id), lines, unused)
    preview.buildings, preview.households, preview.residents = _check(compound, lines)
    return preview


# --- importing ----------------------------------------------------------------------------------


def run(actor: User, compound_id: int, data: bytes, filename: str, previewed: str) -> Summary:
    """Import the file previewed as ``previewed`` (its digest): every row, or none of them
    (``Refused`` with the rows' problems, ``Conflict`` if someone else created the same rows
    at the same moment)."""
    if digest(data, compound_id) != previewed:
        raise Invalid(
            _l("The file is not the one that was checked: check it again before importing."),
            code="changed",
            field="file",
        )
    checked = preview(actor, compound_id, data, filename)
    if checked.bad_lines:
        raise Refused(
            checked,
            _l(
                "Nothing was imported: %(n)d rows have problems now. Correct them and check the "
                "file again.",
                n=len(checked.bad_lines),
            ),
        )
    if not checked.importable:
        raise Invalid(_l("There is nothing to import in this file."), code="empty", field="file")
    compound = checked.compound
    try:
        created = _insert(compound, checked.lines)
        audit.record(
            actor,
            "import.people",
            "import",
            None,
            compound.community_id,
            compound_id=compound.id,
            rows=len(checked.lines),
            **created,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _l("Someone added the same buildings or households meanwhile: check the file again."),
            code="duplicate",
        ) from None
    return Summary(compound, len(checked.lines), **created)


def _insert(compound: Compound, lines: list[Line]) -> dict[str, int]:
    """The new buildings, then the new households, then the residents: three bulk INSERTs."""
    buildings = dict(
        db.session.execute(
            select(Building.name, Building.id).where(Building.compound_id == compound.id)
        ).all()
    )
    new_buildings = list(
        dict.fromkeys(line.building for line in lines if line.building not in buildings)
    )
    if new_buildings:
        db.session.execute(
            insert(Building), [{"compound_id": compound.id, "name": n} for n in new_buildings]
        )
        buildings = dict(
            db.session.execute(
                select(Building.name, Building.id).where(Building.compound_id == compound.id)
            ).all()
        )

    def households() -> dict[tuple[str, str, str], int]:
        return {
            (b, u, r): ident
            for ident, b, u, r in db.session.execute(
                select(Household.id, Building.name, Household.unit, Household.room)
                .join(Building, Building.id == Household.building_id)
                .where(Building.compound_id == compound.id)
            )
        }

    known = households()
    new_households = list(
        dict.fromkeys(line.household_key for line in lines if line.household_key not in known)
    )
    if new_households:
        db.session.execute(
            insert(Household),
            [{"building_id": buildings[b], "unit": u, "room": r} for b, u, r in new_households],
        )
        known = households()
    people = [
        {
            "household_id": known[line.household_key],
            "name": line.name,
            "id_hash": line.id_hash,
            "id_last4": line.id_last4,
            "phone_hash": line.phone_hash,
            "phone_last4": line.phone_last4,
        }
        for line in lines
        if line.name is not None
    ]
    if people:
        db.session.execute(insert(Resident), people)
    return {
        "buildings": len(new_buildings),
        "households": len(new_households),
        "residents": len(people),
    }


# --- exporting ----------------------------------------------------------------------------------


def _file(stem: str, fmt: str, header: Sequence[str], rows: list, title: str) -> tables.Download:
    if fmt == "xlsx":
        return tables.Download(
            f"{stem}.xlsx", tables.XLSX_TYPE, tables.write_xlsx(header, rows, title)
        )
    return tables.Download(f"{stem}.csv", tables.CSV_TYPE, tables.write_csv(header, rows))


def export(actor: User, compound_id: int | None, fmt: str, lang: str = "zh") -> tables.Download:
    """The residents of a compound (or of every compound the actor reaches), with their
    building, unit and room, and the households nobody lives in yet. ID number and phone are
    the last four characters: the whole numbers are not kept anywhere."""
    scope.require_role(actor, scope.MANAGERS)
    stmt = (
        select(
            Compound.name,
            Building.name,
            Household.unit,
            Household.room,
            Resident.name,
            Resident.id_last4,
            Resident.phone_last4,
        )
        .select_from(Household)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .outerjoin(
            Resident,
            and_(Resident.household_id == Household.id, Resident.moved_away_at.is_(None)),
        )
        .order_by(Compound.name, Building.name, Household.unit, Household.room, Resident.id)
    )
    if compound_id is not None:
        compound = scope.load(actor, Compound, compound_id).obj
        stmt = stmt.where(Compound.id == compound.id)
        stem = title = compound.name
    else:
        stmt = stmt.where(Compound.community_id.in_(scope.community_ids(actor)))
        stem, title = "residents", ""
    rows = [tuple("" if v is None else v for v in r) for r in db.session.execute(stmt)]
    header = (contract.COMPOUND_COLUMN[lang], *contract.EXPORT_HEADER[lang])
    return _file(stem, fmt, header, rows, title)


def template(fmt: str, lang: str = "zh") -> tables.Download:
    """The blank people list: the header row only."""
    stem = "人员导入模板" if lang == "zh" else "people-import-template"
    return _file(stem, fmt, contract.HEADER[lang], [], "")


def overview(actor: User) -> list[tuple[int, str, int, int, int]]:
    """(id, name, buildings, households, residents) of each compound the actor reaches."""
    scope.require_role(actor, scope.MANAGERS)
    rows = db.session.execute(
        select(
            Compound.id,
            Compound.name,
            func.count(Building.id.distinct()),
            func.count(Household.id.distinct()),
            func.count(Resident.id.distinct()),
        )
        .select_from(Compound)
        .outerjoin(Building, Building.compound_id == Compound.id)
        .outerjoin(Household, Household.building_id == Building.id)
        .outerjoin(
            Resident,
            and_(Resident.household_id == Household.id, Resident.moved_away_at.is_(None)),
        )
        .where(Compound.community_id.in_(scope.community_ids(actor)))
        .group_by(Compound.id, Compound.name)
        .order_by(Compound.name)
    )
    return [tuple(r) for r in rows]
