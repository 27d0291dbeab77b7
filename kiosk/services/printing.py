"""Paper passes to print: the cards of a household or a building, as a page or as an A4 PDF.

Elderly residents without a phone carry a printed pass with a static signed code
(``passes.code_for``). A card shows the QR, the compound, building, unit and room, the masked name
(``mask_name``: the guard compares the face with the ID card, the paper never carries the full
name), the validity and the pass number. Only active paper passes (not revoked, not expired) are
printed. The office prints them here; residents will print their own household's the same way.

The PDF is made with fpdf2 rather than reportlab: reportlab's ready CJK fonts (STSong-Light) are
CID fonts that are *not embedded*, so the Chinese text depends on the viewer or printer having
Adobe's Asian font pack, and many (print shops' machines, phones, cheap laser printers) do not;
fpdf2 embeds a subset of a TrueType/OpenType font, collections (``.ttc``) included, so the PDF
prints the same everywhere and stays small (only the characters used are embedded). The font is
``PASS_PDF_FONT`` (with ``PASS_PDF_FONT_INDEX`` for a collection), by default WenQuanYi Zen Hei
from Debian's ``fonts-wqy-zenhei``, the CJK font the project already installs
(``scripts/system-deps.sh``). The QR is drawn as vector rectangles, sharp at any printer's
resolution.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import qrcode
import qrcode.constants
from flask import current_app
from flask_babel import gettext as _
from fpdf import FPDF
from markupsafe import Markup
from sqlalchemy import and_, or_, select, update

from ..domain.audit import AuditAction
from ..domain.decision import PassKind
from ..domain.people import mask_name
from ..extensions import db
from ..models import Building, Compound, Household, Pass, Resident, User, utcnow
from . import audit, passes, qr, scope

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FONT_PACKAGE = "fonts-wqy-zenhei"

# fontTools names each table it leaves out of a font subset (the bitmap ones of WenQuanYi).
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class FontMissing(RuntimeError):
    """The CJK font the PDF embeds is not there: a setup error, said plainly in the log."""


@dataclass(frozen=True)
class Card:
    """What one printed pass shows. ``name`` is masked already; the full name is never here."""

    pass_id: int
    code: str
    name: str
    compound: str
    building: str
    unit: str
    room: str
    valid_until: datetime | None
    # An exemption's card: its purpose and window (one exit, one return).
    purpose: str | None = None
    valid_from: datetime | None = None

    @classmethod
    def of(cls, row) -> Card:
        """A card from a row of (pass, resident's name, unit, room, building, compound)."""
        pass_, name, unit, room, building, compound = row
        exemption = pass_.kind == PassKind.EXEMPTION.value
        return cls(
            pass_id=pass_.id,
            code=passes.code_for(pass_),
            name=mask_name(name),
            compound=compound,
            building=building,
            unit=unit,
            room=room,
            valid_until=pass_.valid_until,
            purpose=pass_.purpose if exemption else None,
            valid_from=pass_.valid_from if exemption else None,
        )

    @property
    def number(self) -> str:
        return str(self.pass_id)

    @property
    def address(self) -> str:
        """Building, unit and room: "1号楼 2单元 301室"."""
        return " ".join(
            (self.building, _("unit %(unit)s", unit=self.unit), _("room %(room)s", room=self.room))
        )

    @property
    def validity(self) -> str:
        if self.valid_until is None:
            return _("No end date")
        tz = current_app.config["TZ"]
        until = self.valid_until.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        if self.purpose is not None and self.valid_from is not None:
            since = self.valid_from.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            return _(
                "%(purpose)s: out once and back once, %(since)s to %(until)s",
                purpose=self.purpose,
                since=since,
                until=until,
            )
        return "{} {}".format(_("Valid until"), until)

    @property
    def qr_svg(self) -> Markup:
        return qr.svg(self.code)


class Sheet(NamedTuple):
    """The cards of one household or building, with where they are (for the page's title) and
    a file name that names no person."""

    place: str
    cards: list[Card]
    filename: str


# --- which passes ----------------------------------------------------------------------------


def active_paper(now: datetime):
    """The SQL condition of a paper pass that still opens the gate (or will, once valid)."""
    return and_(
        Pass.kind == PassKind.PAPER.value,
        Pass.revoked_at.is_(None),
        or_(Pass.valid_until.is_(None), Pass.valid_until > now),
    )


def _is_active(pass_: Pass, now: datetime) -> bool:
    return (
        pass_.kind == PassKind.PAPER.value
        and pass_.revoked_at is None
        and (pass_.valid_until is None or pass_.valid_until > now)
    )


def _rows(*where) -> list:
    """One query: each pass matching ``where`` with its resident's name and its place."""
    stmt = (
        select(Pass, Resident.name, Household.unit, Household.room, Building.name, Compound.name)
        .join(Resident, Resident.id == Pass.resident_id)
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(*where)
    )
    return list(db.session.execute(stmt))


def _natural(text: str) -> tuple:
    """Sort "2" before "10" in unit and room numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", text or "")
        if part
    )


def cards(pass_rows: Iterable[Sequence]) -> list[Card]:
    """The cards of the active paper passes among rows of (pass, resident's name, unit, room,
    building's name, compound's name), ordered by unit, room and pass."""
    now = utcnow()
    out = [Card.of(row) for row in pass_rows if _is_active(row[0], now)]
    out.sort(key=lambda c: (_natural(c.unit), _natural(c.room), c.pass_id))
    return out


def household_cards(actor: User, household_id: int) -> Sheet:
    """The active paper passes of one household in the actor's scope (else NotFound)."""
    household = scope.load(actor, Household, household_id).obj
    building = household.building
    place = " ".join(
        (
            building.compound.name,
            building.name,
            _("unit %(unit)s", unit=household.unit),
            _("room %(room)s", room=household.room),
        )
    )
    found = cards(_rows(Household.id == household.id, active_paper(utcnow())))
    return Sheet(place, found, f"passes-household-{household.id}.pdf")


def building_cards(actor: User, building_id: int) -> Sheet:
    """The active paper passes of every household of a building in the actor's scope."""
    building = scope.load(actor, Building, building_id).obj
    place = f"{building.compound.name} {building.name}"
    found = cards(_rows(Household.building_id == building.id, active_paper(utcnow())))
    return Sheet(place, found, f"passes-building-{building.id}.pdf")


def exemption_cards(actor: User, purpose: str | None = None) -> Sheet:
    """The exemptions of the actor's communities still to be used (not revoked, the window
    not over), of one purpose or all, ordered by building, unit and room."""
    scope.require_role(actor, scope.MANAGERS)
    where = [
        Compound.community_id.in_(scope.community_ids(actor)),
        Pass.kind == PassKind.EXEMPTION.value,
        Pass.revoked_at.is_(None),
        Pass.valid_until > utcnow(),
    ]
    if purpose is not None:
        where.append(Pass.purpose == purpose)
    found = [Card.of(row) for row in _rows(*where)]
    found.sort(key=lambda c: (c.building, _natural(c.unit), _natural(c.room), c.pass_id))
    return Sheet(purpose or _("Exemptions"), found, "exemptions.pdf")


def issue_building_passes(actor: User, building_id: int) -> list[Pass]:
    """A paper pass (no end date) for every resident of the building who has no active one, in
    one transaction with one audit entry; none when everybody has one."""
    building, community_id = scope.load(actor, Building, building_id)
    # Two offices pressing the button at once must not issue twice: this write that changes
    # nothing takes the building's row lock (PostgreSQL) or the database's write lock (SQLite,
    # whose driver starts the transaction at the first write, not at a SELECT), so the second
    # waits here and then finds everybody served.
    db.session.execute(
        update(Building)
        .where(Building.id == building.id)
        .values(seal_state=Building.seal_state)
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    has_one = select(Pass.id).where(Pass.resident_id == Resident.id, active_paper(now)).exists()
    resident_ids = db.session.scalars(
        select(Resident.id)
        .join(Household, Household.id == Resident.household_id)
        .where(Household.building_id == building.id, Resident.moved_away_at.is_(None), ~has_one)
        .order_by(Resident.id)
    ).all()
    issued = [
        Pass(
            resident_id=resident_id,
            kind=PassKind.PAPER.value,
            valid_from=now,
            valid_until=None,
            created_by_id=actor.id,
        )
        for resident_id in resident_ids
    ]
    if not issued:
        db.session.commit()  # nothing to write; ends the transaction and its lock
        return []
    db.session.add_all(issued)
    db.session.flush()
    audit.record(
        actor,
        AuditAction.PASS_ISSUE_BULK,
        "building",
        building.id,
        community_id,
        count=len(issued),
        pass_ids=[p.id for p in issued],
    )
    db.session.commit()
    return issued


# --- the PDF ---------------------------------------------------------------------------------

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
MARGIN = 10.0
COLUMNS, ROWS = 2, 4
CARD_W = (PAGE_W - 2 * MARGIN) / COLUMNS  # 95 mm
CARD_H = (PAGE_H - 2 * MARGIN) / ROWS  # 69.25 mm
PAD = 3.0
QR_SIDE = 48.0  # the symbol with its quiet zone of 4 modules
QR_BORDER = 4
TEXT_GAP = 1.5
FONT = "cjk"


def font_path() -> tuple[str, int]:
    """The CJK font to embed, from the configuration; FontMissing says how to get it."""
    path = current_app.config.get("PASS_PDF_FONT") or DEFAULT_FONT
    index = int(current_app.config.get("PASS_PDF_FONT_INDEX") or 0)
    if not os.path.isfile(path):
        raise FontMissing(
            f"The font for printed passes is missing: {path}. Install Debian's {FONT_PACKAGE} "
            f"(apt-get install {FONT_PACKAGE}) or set PASS_PDF_FONT to a TTF, OTF or TTC font "
            "with Chinese characters (PASS_PDF_FONT_INDEX picks the face of a collection)."
        )
    return path, index


@lru_cache(maxsize=1024)
def _matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The modules of the QR of ``text`` (choosing the mask is most of a PDF's time: cached)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(text)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def _qr(pdf: FPDF, text: str, x: float, y: float, side: float) -> None:
    """The QR of ``text`` as filled rectangles, one per run of dark modules in a row."""
    matrix = _matrix(text)
    module = side / (len(matrix) + 2 * QR_BORDER)
    x0, y0 = x + QR_BORDER * module, y + QR_BORDER * module
    pdf.set_fill_color(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # A hair taller than the module so that rows meet without a seam when rasterised.
            pdf.rect(x0 + start * module, y0 + r * module, (c - start) * module, module + 0.02, "F")


def _fit(pdf: FPDF, text: str, width: float, size: float, lines: int = 1) -> None:
    """Set the largest font size up to ``size`` at which ``text`` fits in ``lines`` lines."""
    while size > 6 and pdf.get_string_width(text) > width * lines * 0.92:
        size -= 0.5
        pdf.set_font_size(size)
    pdf.set_font_size(size)


def _text(pdf: FPDF, text: str, x: float, width: float, size: float, lines: int = 1) -> None:
    pdf.set_font(FONT, size=size)
    _fit(pdf, text, width, size, lines)
    pdf.set_x(x)
    pdf.multi_cell(width, size * 0.45, text, align="L", new_x="LEFT", new_y="NEXT")


def _card(pdf: FPDF, card: Card, x: float, y: float) -> None:
    _qr(pdf, card.code, x + PAD - 1, y + (CARD_H - QR_SIDE) / 2, QR_SIDE)
    tx = x + PAD - 1 + QR_SIDE + TEXT_GAP
    tw = x + CARD_W - PAD - tx
    pdf.set_text_color(90)
    pdf.set_xy(tx, y + PAD + 2)
    _text(pdf, _("paper pass"), tx, tw, 8)
    pdf.set_text_color(0)
    pdf.set_y(pdf.get_y() + 1.5)
    _text(pdf, card.compound, tx, tw, 13, lines=2)
    pdf.set_y(pdf.get_y() + 1)
    _text(pdf, card.address, tx, tw, 10.5, lines=2)
    pdf.set_y(pdf.get_y() + 2.5)
    _text(pdf, card.name, tx, tw, 18)
    pdf.set_y(pdf.get_y() + 2.5)
    _text(pdf, card.validity, tx, tw, 9, lines=2)
    pdf.set_text_color(90)
    pdf.set_xy(tx, y + CARD_H - PAD - 5)
    _text(pdf, _("Pass No. %(number)s", number=card.number), tx, tw, 8)
    pdf.set_text_color(0)


def _cut_lines(pdf: FPDF) -> None:
    pdf.set_draw_color(150)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=2, gap=1.5)
    for col in range(COLUMNS + 1):
        x = MARGIN + col * CARD_W
        pdf.line(x, MARGIN, x, PAGE_H - MARGIN)
    for row in range(ROWS + 1):
        y = MARGIN + row * CARD_H
        pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
    pdf.set_dash_pattern()


def pdf(cards: Sequence[Card]) -> bytes:
    """An A4 PDF of the cards, eight to a page (two across, four down) with dashed cut lines;
    the CJK font is embedded (a subset). A page that says so when there are no cards."""
    path, index = font_path()
    doc = FPDF(orientation="P", unit="mm", format="A4")
    doc.set_auto_page_break(False)
    doc.set_margins(MARGIN, MARGIN, MARGIN)
    doc.set_title(_("Paper passes"))
    doc.set_creator("kiosk")
    doc.add_font(FONT, "", path, collection_font_number=index)
    per_page = COLUMNS * ROWS
    if not cards:
        doc.add_page()
        doc.set_xy(MARGIN, MARGIN)
        _text(doc, _("No active paper passes."), MARGIN, PAGE_W - 2 * MARGIN, 14)
    for i, card in enumerate(cards):
        slot = i % per_page
        if slot == 0:
            doc.add_page()
            _cut_lines(doc)
        col, row = slot % COLUMNS, slot // COLUMNS
        _card(doc, card, MARGIN + col * CARD_W, MARGIN + row * CARD_H)
    return bytes(doc.output())
