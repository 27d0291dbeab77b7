"""What the office's tracing pages need besides the trace itself (``services/tracing.py``): the
person a trace form is for, the visitor search, the report's tables, its files, and what its
actions offer (the contacts' households to observe, the route's areas to disinfect).

The report's tables (passages, visits, direct contacts, same-place contacts, route) are defined
once, in ``sections``: the CSV file, the Excel workbook and the printable page all write them.
Headers are in the reader's language; values that are a domain value set (direction, decision,
why someone is a contact) come in words through ``words(kind, value)``, which the route gives
(the labels live with the pages: ``routes/helpers.py``). A file is named by its day only
(``trace-2026-12-03.csv``): never by the person.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import or_, select

from ..contract.tracing import VisitorSearch
from ..extensions import db
from ..models import Building, Compound, Household, Resident, User, Visit
from . import disinfection, scope, tables
from .tracing import ContactRow, Trace, visit_in_scope

VISITOR_ROWS = 50  # a visitor search shows the newest visits, this many at most
_LAST4 = re.compile(r"[0-9]{4}")
_NUMBER = re.compile(r"[+-]?[0-9]+([.][0-9]+)?")

Words = Callable[[str, str], str]


def _place(building: str, unit: str, room: str) -> str:
    return " ".join((building, _("unit %(unit)s", unit=unit), _("room %(room)s", room=room)))


def _local(when: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if when is None:
        return ""
    return when.astimezone(current_app.config["TZ"]).strftime(fmt)


# --- the person -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Whom a trace form is for: a resident, or a visitor by one of their visits."""

    kind: str  # resident | visitor
    id: int  # the resident's id, or the visit's
    name: str
    compound: str
    place: str  # a resident's home; the household a visitor visited
    phone_last4: str | None = None

    @property
    def field(self) -> str:
        return "resident_id" if self.kind == "resident" else "visit_id"


def subject(actor: User, resident_id: int | None, visit_id: int | None) -> Subject:
    """The resident or the visit, if the actor reaches it; else NotFound (as the trace would)."""
    scope.require_role(actor, scope.MANAGERS)
    where = select(Building.name, Household.unit, Household.room, Compound.name).join(
        Compound, Compound.id == Building.compound_id
    )
    if resident_id is not None:
        resident = scope.load(actor, Resident, resident_id).obj
        building, unit, room, compound = db.session.execute(
            where.join(Household, Household.building_id == Building.id).where(
                Household.id == resident.household_id
            )
        ).one()
        return Subject(
            "resident", resident.id, resident.name, compound, _place(building, unit, room)
        )
    visit = visit_in_scope(visit_id, scope.community_ids(actor))
    building, unit, room, compound = db.session.execute(
        where.join(Household, Household.building_id == Building.id).where(
            Household.id == visit.host_household_id
        )
    ).one()
    return Subject(
        "visitor", visit.id, visit.name, compound, _place(building, unit, room), visit.phone_last4
    )


@dataclass(frozen=True)
class VisitorRow:
    visit_id: int
    name: str
    phone_last4: str
    compound: str
    household: str
    registered_at: datetime
    checked_in_at: datetime | None


def visitors(actor: User, search: VisitorSearch) -> list[VisitorRow]:
    """Visits of the actor's communities by part of the visitor's name or the last four of the
    phone, newest first, ``VISITOR_ROWS`` at most. Full names: office roles only."""
    scope.require_role(actor, scope.MANAGERS)
    match = Visit.name.contains(search.q, autoescape=True)
    if _LAST4.fullmatch(search.q):
        match = or_(match, Visit.phone_last4 == search.q)
    rows = db.session.execute(
        select(Visit, Compound.name, Building.name, Household.unit, Household.room)
        .join(Compound, Compound.id == Visit.compound_id)
        .join(Household, Household.id == Visit.host_household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Compound.community_id.in_(scope.community_ids(actor)), match)
        .order_by(Visit.created_at.desc(), Visit.id.desc())
        .limit(VISITOR_ROWS)
    )
    return [
        VisitorRow(
            v.id,
            v.name,
            v.phone_last4,
            compound,
            _place(building, unit, room),
            v.created_at,
            v.checked_in_at,
        )
        for v, compound, building, unit, room in rows
    ]


# --- what the report's actions offer ----------------------------------------------------------


@dataclass(frozen=True)
class HouseholdChoice:
    """A resident contact's household, to put under observation (direct ones ticked)."""

    household_id: int
    place: str
    names: list[str]
    direct: bool


def households(trace: Trace) -> list[HouseholdChoice]:
    """The households of ``trace.household_ids``, each with its contacts' names."""
    found: dict[int, tuple[str, list[str], bool]] = {}
    for contact in trace.direct + trace.same_place:
        if contact.kind != "resident" or not contact.household_id:
            continue
        place, names, direct = found.get(contact.household_id, (contact.household or "", [], False))
        names.append(contact.name)
        found[contact.household_id] = (place, names, direct or contact.direct)
    return [HouseholdChoice(hid, *found[hid]) for hid in trace.household_ids if hid in found]


def route_areas(actor: User, trace: Trace, now: datetime) -> list[disinfection.AreaRow]:
    """The public areas on the route (``trace.area_ids``) with where each stands now."""
    wanted = set(trace.area_ids)
    rows = [row for row in disinfection.areas(actor, now) if row.area.id in wanted]
    order = {ident: i for i, ident in enumerate(trace.area_ids)}
    return sorted(rows, key=lambda row: order[row.area.id])


# --- the report's tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    key: str  # passages | visits | direct | same_place | route
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


def summary(trace: Trace, traced_at: datetime) -> list[tuple[str, str]]:
    """The report's head: whom, which days, which window, why, when."""
    kind = _("resident") if trace.subject_kind == "resident" else _("visitor")
    return [
        (_("Person"), f"{trace.subject} ({kind})"),
        (_("Household"), trace.household or ""),
        (_("Period"), f"{trace.since.isoformat()} – {trace.until.isoformat()}"),
        (_("Co-presence window"), _("± %(n)d minutes", n=trace.window_minutes)),
        (_("Reason"), trace.reason),
        (_("Traced at"), _local(traced_at)),
    ]


def _links(contact: ContactRow) -> str:
    return "; ".join(
        _(
            "%(time)s %(gate)s (%(minutes)s min apart)",
            time=_local(link.their_at),
            gate=link.gate,
            minutes=f"{link.minutes_apart:g}",
        )
        for link in contact.links
    )


def _contacts(contacts: list[ContactRow], words: Words) -> list[tuple[str, ...]]:
    return [
        (
            c.name,
            _("resident") if c.kind == "resident" else _("visitor"),
            c.household or "",
            ", ".join(words("contact_reason", r) for r in c.reasons),
            _links(c),
        )
        for c in contacts
    ]


def sections(trace: Trace, words: Words) -> list[Section]:
    """The report's five tables, in the reader's language."""
    contact_header = (
        _("Name"),
        _("Resident or visitor"),
        _("Household"),
        _("Why"),
        _("Linking passages"),
    )
    return [
        Section(
            "passages",
            _("Passages"),
            (
                _("Time"),
                _("Compound"),
                _("Gate"),
                _("Direction"),
                _("Decision"),
                _("Temperature (°C)"),
            ),
            [
                (
                    _local(p.at),
                    p.compound,
                    p.gate,
                    words("direction", p.direction),
                    words("decision", p.decision),
                    "" if p.temperature is None else f"{p.temperature:.1f}",
                )
                for p in trace.passages
            ],
        ),
        Section(
            "visits",
            _("Visits"),
            (
                _("Visitor"),
                _("Phone (last four)"),
                _("Household visited"),
                _("In"),
                _("Out"),
            ),
            [
                (v.visitor, v.phone_last4, v.household, _local(v.at), _local(v.left_at))
                for v in trace.visits
            ],
        ),
        Section("direct", _("Direct contacts"), contact_header, _contacts(trace.direct, words)),
        Section(
            "same_place",
            _("Same-place contacts"),
            contact_header,
            _contacts(trace.same_place, words),
        ),
        Section(
            "route",
            _("Route"),
            (_("Place"), _("Name"), _("Compound"), _("Passages"), _("First"), _("Last")),
            [
                (
                    _("Gate") if p.kind == "gate" else _("Building"),
                    p.name,
                    p.compound,
                    str(p.passages),
                    _local(p.first_at),
                    _local(p.last_at),
                )
                for p in trace.route
            ],
        ),
    ]


# --- the files ----------------------------------------------------------------------------------


def _safe(value: object) -> str:
    """A cell a spreadsheet would run as a formula is written as text (as ``tables`` does)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(head: Sequence[tuple[str, str]], parts: Sequence[Section]) -> bytes:
    """One CSV: the summary, then each table under its title, a blank line between. UTF-8 with
    a byte-order mark and CRLF line ends, so that Excel opens the Chinese right."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for key, value in head:
        writer.writerow([_safe(key), _safe(value)])
    for part in parts:
        writer.writerow([])
        writer.writerow([_safe(part.title)])
        writer.writerow([_safe(v) for v in part.header])
        writer.writerows([_safe(v) for v in row] for row in part.rows)
    return out.getvalue().encode("utf-8-sig")


def _sheet_title(title: str) -> str:
    # Excel's rules for a sheet's name: 1 to 31 characters, none of []:*?/\
    return re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"


def write_xlsx(head: Sequence[tuple[str, str]], parts: Sequence[Section], head_title: str) -> bytes:
    """A workbook: the summary on the first sheet, then a sheet per table. Every cell is text,
    so nothing typed in (a name) is ever run as a formula."""
    book = Workbook(write_only=True)

    def sheet(title: str, lines: Sequence[Sequence[object]]) -> None:
        ws = book.create_sheet(title=_sheet_title(title))
        for values in lines:
            cells = []
            for value in values:
                cell = WriteOnlyCell(ws, value=None if value in (None, "") else str(value))
                cell.data_type = "s"
                cells.append(cell)
            ws.append(cells)

    sheet(head_title, head)
    for part in parts:
        sheet(part.title, [part.header, *part.rows])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(trace: Trace, fmt: str, words: Words, traced_at: datetime) -> tables.Download:
    """The report as ``csv`` or ``xlsx``, named by the day it was made."""
    day: date = traced_at.astimezone(current_app.config["TZ"]).date()
    head = summary(trace, traced_at)
    parts = sections(trace, words)
    stem = f"trace-{day.isoformat()}"
    if fmt == "xlsx":
        content = write_xlsx(head, parts, _("Trace"))
        return tables.Download(f"{stem}.xlsx", tables.XLSX_TYPE, content)
    return tables.Download(f"{stem}.csv", tables.CSV_TYPE, write_csv(head, parts))
