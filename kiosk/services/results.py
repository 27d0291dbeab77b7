"""Nucleic-acid results in a batch, as the testing site sends them (CSV or XLSX): each row is
matched to a resident of the office's communities and recorded at once, so an exemption's test
rule counts it at the next scan. The report says, row by row, what became of it: recorded,
already recorded (the same file twice adds nothing), not found here, ambiguous (two people
match: record that one by hand on the household's page), or invalid (with every problem).

A row names its person by the ID-card number (matched by its keyed hash, the only form of it
stored) or by name, building, unit and room, narrowed by the last four of the ID number when the
list has them. Rows in the report show only masked names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..contract.errors import ContractError, FieldError
from ..contract.results import COLUMNS, REQUIRED_COLUMNS, TestRow
from ..domain.people import mask_name
from ..extensions import db
from ..models import TestResult, User, utcnow
from . import audit, directory, scope, tables

_FUTURE = _l("Taken at: cannot be in the future.")


class RowStatus(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    INVALID = "invalid"


@dataclass(frozen=True)
class RowReport:
    number: int
    status: RowStatus
    who: str = ""
    problems: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    rows: list[RowReport]

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.rows if r.status is status)


def import_results(actor: User, data: bytes, filename: str) -> Report:
    """Read, match and record a batch; one audit entry per community it recorded results in."""
    scope.require_role(actor, scope.MANAGERS)
    table = tables.read(data, filename)
    columns, _unused = tables.match_header(table.header, COLUMNS)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing or not ({"id_number", "name"} & set(columns)):
        raise tables.TableError(
            _l(
                "The file needs the columns taken at and result, and either the ID number or "
                "name, building, unit and room (Chinese or English column names)."
            ),
            code="columns",
            field="file",
        )
    index = directory.PeopleIndex.of(actor)
    now = utcnow()
    parsed: list[tuple[int, TestRow | None, list[FieldError]]] = []
    for r in table.rows:
        cells = {name: r.get(index) for name, index in columns.items()}
        try:
            row = TestRow.read(cells)
        except ContractError as exc:
            parsed.append((r.number, None, exc.errors))
            continue
        if row.taken_at > now:
            parsed.append((r.number, None, [FieldError("taken_at", "future", _FUTURE)]))
            continue
        parsed.append((r.number, row, []))

    matched: dict[int, tuple[int, directory.Person, TestRow]] = {}
    reports: dict[int, RowReport] = {}
    for number, row, problems in parsed:
        if row is None:
            reports[number] = RowReport(number, RowStatus.INVALID, problems=problems)
            continue
        found = index.find(row.name, row.building, row.unit, row.room, row.id_number, row.id_last4)
        if not found:
            reports[number] = RowReport(number, RowStatus.UNMATCHED, mask_name(row.name or ""))
        elif len(found) > 1:
            reports[number] = RowReport(number, RowStatus.AMBIGUOUS, mask_name(row.name or ""))
        else:
            matched[number] = (number, found[0], row)

    existing = set(
        db.session.execute(
            select(TestResult.resident_id, TestResult.taken_at, TestResult.result).where(
                TestResult.resident_id.in_({p.id for _n, p, _r in matched.values()})
            )
        ).tuples()
    )
    recorded: dict[int, int] = defaultdict(int)
    for number, person, row in matched.values():
        who = f"{mask_name(person.name)} · {person.building} {person.unit}-{person.room}"
        key = (person.id, row.taken_at, row.result.value)
        if key in existing:
            reports[number] = RowReport(number, RowStatus.ALREADY, who)
            continue
        existing.add(key)
        db.session.add(
            TestResult(
                resident_id=person.id,
                taken_at=row.taken_at,
                result=row.result.value,
                recorded_by_id=actor.id,
            )
        )
        recorded[person.community_id] += 1
        reports[number] = RowReport(number, RowStatus.RECORDED, who)
    report = Report([reports[n] for n, _row, _p in parsed])
    for community_id, count in recorded.items():
        audit.record(
            actor,
            "test.import",
            "test",
            None,
            community_id,
            recorded=count,
            unmatched=report.count(RowStatus.UNMATCHED),
            ambiguous=report.count(RowStatus.AMBIGUOUS),
            invalid=report.count(RowStatus.INVALID),
        )
    db.session.commit()
    return report
