"""Tables of rows in and out: CSV and XLSX files, read and written the same way for every list
the office moves in bulk (people, test results, reconciliations).

``read(data, filename)`` gives the header and the rows as text, whatever the file was:

- CSV in UTF-8 (with or without the byte-order mark Excel writes) or, failing that, GB18030 (a
  superset of GBK: what Excel on a Chinese Windows saves as "CSV"); comma, semicolon or tab
  separated, as the header line shows.
- XLSX (Office Open XML), read with openpyxl in read-only mode, the first sheet only. Numbers
  come back as Excel shows them (``301``, not ``301.0``); dates as ISO 8601.

Blank rows are skipped but keep their place: each row carries the number the spreadsheet shows
for it (the header is row 1), so a message can point at it. A file that cannot be read as a
table (another format, empty, too many bytes or rows) is ``TableError`` with a message for
people, never an exception from a parser.

``write_csv`` writes UTF-8 with a byte-order mark (so that Excel opens Chinese text right) and
``write_xlsx`` a one-sheet workbook. A cell that a spreadsheet would run as a formula (``=...``,
``+...``, ``@...``, ``-`` followed by anything but a number) is written as text: in CSV with a
leading apostrophe, in XLSX as a string cell.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.exceptions import InvalidFileException

from .errors import Invalid

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 50  # columns past this are not read: no list of ours has half as many
MAX_CELL = 1000  # characters kept of one cell; the row models refuse long values anyway

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Download:
    """A file for the office to download: its name, type and bytes."""

    filename: str
    mimetype: str
    content: bytes


FORMATS = ("csv", "xlsx")

_ZIP_MAGIC = b"PK\x03\x04"
_NUMBER = re.compile(r"[+-]?[0-9]+([.][0-9]+)?")


class TableError(Invalid):
    """The file is not a table we can read; ``message`` says why, for people."""


@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    cells: tuple[str, ...]

    def get(self, index: int | None) -> str:
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[Row, ...]


def kind_of(data: bytes, filename: str) -> str:
    """``csv`` or ``xlsx``, by the file's content first (a renamed workbook is still one)."""
    name = (filename or "").lower()
    if data.startswith(_ZIP_MAGIC):
        if name.endswith((".xlsx", ".xlsm")) or not name.endswith(".csv"):
            return "xlsx"
    if name.endswith(".xls"):
        raise TableError(
            _l("Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV."),
            code="file_type",
            field="file",
        )
    if name.endswith((".csv", ".txt")) and b"\x00" not in data[:4096]:
        return "csv"
    raise TableError(_l("Choose a CSV or Excel (.xlsx) file."), code="file_type", field="file")


def read(
    data: bytes, filename: str, max_rows: int | None = None, max_bytes: int | None = None
) -> Table:
    """The header and the non-blank rows of a CSV or XLSX file, every cell as stripped text
    (at most ``MAX_ROWS`` rows and ``MAX_BYTES`` bytes unless told)."""
    max_rows = MAX_ROWS if max_rows is None else max_rows
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    if len(data) > max_bytes:
        raise TableError(
            _l("The file is too large: at most %(mb)d MB.", mb=max_bytes // (1024 * 1024)),
            code="file_too_large",
            field="file",
        )
    if not data.strip():
        raise TableError(_l("The file is empty."), code="file_empty", field="file")
    kind = kind_of(data, filename)
    lines = _xlsx_lines(data) if kind == "xlsx" else _csv_lines(data)
    header: tuple[str, ...] | None = None
    rows: list[Row] = []
    for number, cells in lines:
        if number > 2 * max_rows + 1000:  # blank rows too cost time to read
            raise _too_many(max_rows)
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        if len(rows) >= max_rows:
            raise _too_many(max_rows)
        rows.append(Row(number, cells))
    if header is None:
        raise TableError(_l("The file is empty."), code="file_empty", field="file")
    return Table(header, tuple(rows))


def _too_many(max_rows: int) -> TableError:
    return TableError(
        _l("The file has more than %(n)d rows: split it into smaller files.", n=max_rows),
        code="too_many_rows",
        field="file",
    )


def decode(data: bytes) -> str:
    """UTF-8 (a byte-order mark is dropped), else GB18030 (GBK is a subset of it)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise TableError(
            _l("The file's text is neither UTF-8 nor GBK: save it again as CSV (UTF-8)."),
            code="file_encoding",
            field="file",
        ) from None


def _cells(values: Iterable[object]) -> tuple[str, ...]:
    out = [_text(v) for v in values][:MAX_COLUMNS]
    while out and not out[-1]:
        out.pop()
    return tuple(out)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return " ".join(str(value)[:MAX_CELL].split())


def _csv_lines(data: bytes):
    text = decode(data)
    if "\x00" in text:
        raise TableError(_l("Choose a CSV or Excel (.xlsx) file."), code="file_type", field="file")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, _cells(cells)
    except csv.Error:
        raise TableError(
            _l("The CSV file cannot be read: save it again from the spreadsheet."),
            code="file_unreadable",
            field="file",
        ) from None


def _xlsx_lines(data: bytes):
    try:
        with warnings.catch_warnings():
            # "Workbook contains no default style" and the like: the cells are still read.
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                for number, values in enumerate(
                    sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
                ):
                    yield number, _cells(values)
            finally:
                book.close()
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        IndexError,
        ValueError,
        TypeError,
        OSError,
    ):
        raise TableError(
            _l("The Excel file cannot be read: save it again as .xlsx or CSV."),
            code="file_unreadable",
            field="file",
        ) from None


def match_header(
    header: Sequence[str], columns: Mapping[str, Sequence[str]]
) -> tuple[dict[str, int], list[str]]:
    """Which column holds each field: ``columns`` maps a field to the header names it goes by
    (Chinese and English, compared without case and spaces). Returns ``{field: index}`` for the
    fields found (the first column of a name wins) and the header names of columns not used."""
    names = {
        "".join(alias.split()).casefold(): field
        for field, aliases in columns.items()
        for alias in aliases
    }
    found: dict[str, int] = {}
    unused: list[str] = []
    for index, title in enumerate(header):
        field = names.get("".join(title.split()).casefold())
        if field is not None and field not in found:
            found[field] = index
        elif title:
            unused.append(title)
    return found, unused


# --- writing ------------------------------------------------------------------------------------


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with a byte-order mark, CRLF line ends: what Excel opens without asking."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_safe(v) for v in header])
    writer.writerows([_safe(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], title: str = "") -> bytes:
    """One sheet (named ``title``), every cell text: nothing typed in is ever run as a formula,
    and ID-like numbers keep their leading zeros."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(title))

    def line(values: Sequence[object]) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=None if value is None else str(value))
            cell.data_type = "s"
            cells.append(cell)
        return cells

    sheet.append(line(header))
    for row in rows:
        sheet.append(line(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    # Excel's rules for a sheet's name: 1 to 31 characters, none of []:*?/\
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31]
    return cleaned or "Sheet1"
