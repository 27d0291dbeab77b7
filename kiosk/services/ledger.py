"""The two-ledger check (双台账): the office's list of exemption holders, as another body keeps
it (the school's list of exam students, say), against the exemptions in the system. Each row
of the uploaded list is matched to a resident (``directory.PeopleIndex``); the report lists the
people on both, those only in the system and those only on the list (with why: not living
here, ambiguous, or living here without an exemption), and rows that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from ..contract.errors import ContractError, FieldError
from ..contract.results import PEOPLE_COLUMNS, LedgerRow
from ..domain.people import mask_name
from ..models import User
from . import directory, passes, scope, tables


class Miss(StrEnum):
    """Why a row of the list has no exemption in the system."""

    NO_EXEMPTION = "no_exemption"  # lives here, holds no such exemption
    NOT_FOUND = "not_found"  # nobody here by that name and address (or ID number)
    AMBIGUOUS = "ambiguous"  # several people here match the row
    INVALID = "invalid"  # the row cannot be read


@dataclass(frozen=True)
class ListRow:
    number: int
    who: str  # masked
    why: Miss
    problems: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class Reconciliation:
    both: list[tuple[int, passes.Exemption]]
    only_here: list[passes.Exemption]
    only_there: list[ListRow]


def reconcile(
    actor: User, data: bytes, filename: str, purpose: str | None, now: datetime, since: datetime
) -> Reconciliation:
    scope.require_role(actor, scope.MANAGERS)
    table = tables.read(data, filename)
    columns, _unused = tables.match_header(table.header, PEOPLE_COLUMNS)
    if "id_number" not in columns and "name" not in columns:
        raise tables.TableError(
            _l(
                "The file needs a column with the ID number, or name, building, unit and room "
                "(Chinese or English column names)."
            ),
            code="columns",
            field="file",
        )
    held = [
        e
        for e in passes.exemptions(actor, now, since)
        if purpose is None or e.pass_.purpose == purpose
    ]
    by_resident: dict[int, list[passes.Exemption]] = {}
    for e in held:
        by_resident.setdefault(e.resident.id, []).append(e)
    index = directory.PeopleIndex.of(actor)
    both: list[tuple[int, passes.Exemption]] = []
    seen: set[int] = set()
    only_there: list[ListRow] = []
    for r in table.rows:
        cells = {name: r.get(i) for name, i in columns.items()}
        try:
            row = LedgerRow.read(cells)
        except ContractError as exc:
            only_there.append(ListRow(r.number, "", Miss.INVALID, exc.errors))
            continue
        who = mask_name(row.name or "")
        found = index.find(row.name, row.building, row.unit, row.room, row.id_number, row.id_last4)
        if not found:
            only_there.append(ListRow(r.number, who, Miss.NOT_FOUND))
        elif len(found) > 1:
            only_there.append(ListRow(r.number, who, Miss.AMBIGUOUS))
        elif found[0].id not in by_resident:
            only_there.append(ListRow(r.number, who, Miss.NO_EXEMPTION))
        else:
            seen.add(found[0].id)
            both.extend((r.number, e) for e in by_resident[found[0].id])
    only_here = [e for e in held if e.resident.id not in seen]
    return Reconciliation(both, only_here, only_there)
