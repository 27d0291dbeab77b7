"""The office imports its people list from CSV (UTF-8, with or without BOM, or GBK) and Excel
files: a preview with every row's problems, then all of the file or nothing; and exports it."""

from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from kiosk.contract.imports import check_digit
from kiosk.extensions import db
from kiosk.models import AuditEntry, Building, Compound, Household, Resident
from kiosk.services import security, tables
from kiosk.services.imports import digest

from .conftest import Browser, attr

HEADER = "楼栋,单元,房号,姓名,身份证号,手机号"


def card(seed: int, region: str = "110105", born: str = "19900101") -> str:
    """A valid 18-character ID card number (the check digit computed)."""
    first = f"{region}{born}{seed % 1000:03d}"
    return first + check_digit(first)


def people_csv(rows: list[tuple], header: str = HEADER) -> str:
    return "\n".join([header, *(",".join(str(c) for c in row) for row in rows)]) + "\n"


GOOD = [
    ("3号楼", "1", "101", "李四", card(1), "13800138001"),
    ("3号楼", "1", "101", "李小四", card(2), ""),
    ("3号楼", "2", "202", "", "", ""),  # a household nobody lives in yet
    ("1号楼", "2", "302", "王五", "", "139 0013 9002"),
]


def post_file(browser: Browser, path: str, fields: dict, content: bytes, filename: str, **kw):
    """A multipart form post with one file, encoded in memory (the test client spools a body
    over 500 KB to a temporary file that it never closes: a ResourceWarning, an error here)."""
    headers = browser._headers(kw.get("htmx", False), kw.get("lang"), None)
    fields = dict(fields)
    if kw.get("csrf", True):
        if kw.get("htmx"):
            headers["X-CSRFToken"] = browser.csrf()
        else:
            fields["csrf_token"] = browser.csrf()
    if content is not None:
        fields["file"] = FileStorage(io.BytesIO(content), filename=filename)
    boundary, body = encode_multipart(fields)
    return browser.client.post(
        path,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


def upload(office: Browser, compound_id: int, content: bytes, filename: str, **kw):
    return post_file(
        office, "/office/import", {"compound_id": str(compound_id)}, content, filename, **kw
    )


def confirm(office, compound_id: int, content: bytes, filename: str, digest: str, **kw):
    fields = {"compound_id": str(compound_id), "digest": digest}
    return post_file(office, "/office/import/confirm", fields, content, filename, **kw)


def preview_of(response) -> dict:
    assert response.status_code == 200, response.text
    section = re.search(r'<section data-testid="import-preview"[^>]*>', response.text)
    assert section, response.text
    tag = section.group(0)
    return {
        k: int(attr(tag, f"data-{k}"))
        for k in ("rows", "problems", "buildings", "households", "residents")
    }


def problems_of(response) -> list[tuple[int, str, str]]:
    return [
        (int(row), field, code)
        for row, field, code in re.findall(
            r'<tr data-row="(\d+)" data-field="(\w*)" data-code="(\w+)">', response.text
        )
    ]


def digest_of(response) -> str:
    found = re.search(r'name="digest" value="([0-9a-f]{64})"', response.text)
    assert found, "no Import button: " + response.text
    return found.group(1)


def counts(compound_id: int) -> tuple[int, int, int]:
    db.session.expire_all()
    buildings = db.session.scalar(
        select(func.count(Building.id)).where(Building.compound_id == compound_id)
    )
    households = db.session.scalar(
        select(func.count(Household.id))
        .join(Building, Building.id == Household.building_id)
        .where(Building.compound_id == compound_id)
    )
    residents = db.session.scalar(
        select(func.count(Resident.id))
        .join(Household, Household.id == Resident.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Building.compound_id == compound_id)
    )
    return buildings, households, residents


def import_entries() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "import.people")))


def check_and_import(office, compound_id, content: bytes, filename: str) -> dict:
    r = upload(office, compound_id, content, filename)
    seen = preview_of(r)
    assert seen["problems"] == 0, problems_of(r)
    r = confirm(office, compound_id, content, filename, digest_of(r))
    assert r.status_code == 303 and r.headers["Location"] == "/office/import", r.text
    return seen


# --- the page ---------------------------------------------------------------------------------


def test_the_page_offers_the_compounds_the_templates_and_the_exports(soffice, sworld):
    r = soffice.get("/office/import", lang="en")
    assert r.status_code == 200
    assert "<h1>Import and export people</h1>" in r.text
    assert f'<option value="{sworld.a.compound.id}"' in r.text
    assert f'<option value="{sworld.b.compound.id}"' not in r.text  # another community's
    assert 'enctype="multipart/form-data"' in r.text and 'name="csrf_token"' in r.text
    assert "/office/import/template?format=xlsx" in r.text
    assert f"/office/people/export?compound={sworld.a.compound.id}&amp;format=csv" in r.text
    assert "upload-progress.js" in r.text and "<script>" not in r.text
    assert "/office/import" in soffice.get("/office").text  # the office's menu links to it


# --- good files, in every encoding -----------------------------------------------------------


def test_a_utf8_csv_is_previewed_then_imported_whole(app, world, office):
    a = world.a
    content = people_csv(GOOD).encode("utf-8")
    before = counts(a.compound.id)
    r = upload(office, a.compound.id, content, "people.csv", lang="en")
    assert preview_of(r) == {
        "rows": 4,
        "problems": 0,
        "buildings": 1,  # 3号楼 is new, 1号楼 exists
        "households": 3,  # 3-1-101, 3-2-202, 1-2-302
        "residents": 3,
    }
    assert "creates 1 buildings, 3 households and 3 residents" in r.text
    # The preview shows the last four characters only, never the whole numbers.
    for _b, _u, _r, _n, number, phone in GOOD:
        if number:
            assert number not in r.text and number[-4:] in r.text
        if phone:
            assert phone.replace(" ", "") not in r.text
    assert counts(a.compound.id) == before  # a preview changes nothing

    r = confirm(office, a.compound.id, content, "people.csv", digest_of(r), lang="en")
    assert r.status_code == 303 and r.headers["Location"] == "/office/import"
    page = office.get("/office/import", lang="en").text
    assert "Imported into 丰台小区: 1 buildings, 3 households, 3 residents." in page
    assert counts(a.compound.id) == (before[0] + 1, before[1] + 3, before[2] + 3)

    li = db.session.scalar(select(Resident).where(Resident.name == "李四"))
    assert li.id_hash == security.keyed_hash(card(1)) and li.id_last4 == card(1)[-4:]
    assert li.phone_hash == security.keyed_hash("13800138001") and li.phone_last4 == "8001"
    assert li.household.unit == "1" and li.household.room == "101"
    assert li.household.building.name == "3号楼" and li.created_at is not None
    wang = db.session.scalar(select(Resident).where(Resident.name == "王五"))
    assert wang.id_hash is None and wang.phone_last4 == "9002"
    assert wang.household_id != a.household.id  # 1号楼 2-302 is a new household of 1号楼
    assert wang.household.building_id == a.building.id

    (entry,) = import_entries()
    assert entry.user_id == a.office.id and entry.community_id == a.community.id
    detail = json.loads(entry.detail)
    assert detail == {
        "compound_id": a.compound.id,
        "rows": 4,
        "buildings": 1,
        "households": 3,
        "residents": 3,
    }
    # One audit entry for the file, none per row; the plain numbers are nowhere in it.
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action != "import.people")
        )
        == 0
    )
    assert card(1) not in entry.detail


@pytest.mark.parametrize(
    ("encoding", "name"), [("utf-8-sig", "bom.csv"), ("gbk", "gbk.csv"), ("gb18030", "x.CSV")]
)
def test_excel_csv_files_in_utf8_with_bom_and_in_gbk(soffice, sworld, encoding, name):
    content = people_csv(GOOD).encode(encoding)
    if encoding == "utf-8-sig":
        assert content.startswith(b"\xef\xbb\xbf")
    else:
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")
    seen = check_and_import(soffice, sworld.a.compound.id, content, name)
    assert seen["residents"] == 3
    assert {r.name for r in db.session.scalars(select(Resident))} >= {"李四", "李小四", "王五"}


def test_english_headers_tabs_and_extra_columns_are_accepted(soffice, sworld):
    header = "Building\tUnit\tRoom\tName\tID number\tPhone\tNote"
    rows = ["\t".join(["9号楼", "1", "1", "赵六", card(7), "13800138007", "x"])]
    content = ("\n".join([header, *rows]) + "\n").encode()
    r = upload(soffice, sworld.a.compound.id, content, "people.csv", lang="en")
    assert preview_of(r)["residents"] == 1 and "Columns not used: Note." in r.text


def test_an_excel_file(soffice, sworld):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["7号楼", 1, 301, "孙七", card(8), 13800138008])  # numbers as Excel keeps them
    sheet.append([None] * 6)  # a blank row keeps its place in the numbering
    sheet.append(["7号楼", "1", "302", "周八", card(9), None])
    out = io.BytesIO()
    book.save(out)
    seen = check_and_import(soffice, sworld.a.compound.id, out.getvalue(), "名单.xlsx")
    assert seen == {"rows": 2, "problems": 0, "buildings": 1, "households": 2, "residents": 2}
    sun = db.session.scalar(select(Resident).where(Resident.name == "孙七"))
    assert sun.household.room == "301" and sun.phone_last4 == "8008"


# --- broken rows -----------------------------------------------------------------------------


def test_broken_rows_are_listed_by_row_number_and_nothing_is_imported(app, world, office):
    a = world.a
    bad_check = card(3)[:-1] + ("0" if card(3)[-1] != "0" else "1")
    rows = [
        ("3号楼", "1", "101", "李四", card(1), "13800138001"),  # row 2: fine
        ("", "1", "102", "缺楼栋", "", ""),  # row 3: no building
        ("3号楼", "1", "", "缺房号", "", ""),  # row 4: no room
        ("3号楼", "1", "103", "", card(4), ""),  # row 5: an ID number without a name
        ("3号楼", "1", "104", "错校验", bad_check, ""),  # row 6: wrong check digit
        ("3号楼", "1", "105", "太短", "1101051990", ""),  # row 7: wrong length
        ("3号楼", "1", "106", "错手机", "", "12"),  # row 8: not a phone number
        ("3号楼", "1", "107", "重复", card(1), ""),  # row 9: the same person as row 2
    ]
    content = people_csv(rows).encode()
    before = counts(a.compound.id)
    r = upload(office, a.compound.id, content, "people.csv", lang="en")
    assert preview_of(r)["problems"] == 7
    assert set(problems_of(r)) == {
        (3, "building", "invalid"),
        (4, "room", "invalid"),
        (5, "name", "invalid"),
        (6, "id_number", "invalid"),
        (7, "id_number", "invalid"),
        (8, "phone", "invalid"),
        (9, "id_number", "duplicate"),
    }
    assert "Building: required." in r.text and "Room: required." in r.text
    assert "Name: required when an ID number or a phone number is given." in r.text
    assert "the last character does not match the others" in r.text
    assert "an ID card number has 18 characters" in r.text
    assert "The same person is in row 2 of this file." in r.text
    assert 'name="digest"' not in r.text  # no Import button
    assert bad_check not in r.text and "1101051990" not in r.text

    # A confirmation sent anyway (a forged digest of this very file) imports nothing either.
    r = confirm(
        office, a.compound.id, content, "people.csv", digest(content, a.compound.id), lang="en"
    )
    assert r.status_code == 200 and "Nothing was imported: 7 rows have problems now." in r.text
    assert len(problems_of(r)) == 7
    assert counts(a.compound.id) == before and import_entries() == []


def test_the_same_file_twice_is_already_living_there(app, world, office):
    a = world.a
    content = people_csv(GOOD).encode()
    check_and_import(office, a.compound.id, content, "people.csv")
    after_first = counts(a.compound.id)
    r = upload(office, a.compound.id, content, "people.csv", lang="en")
    assert preview_of(r)["problems"] == 3
    assert set(problems_of(r)) == {
        (2, "id_number", "already_living"),
        (3, "id_number", "already_living"),
        (5, "name", "already_living"),  # no ID number: the same name in the same household
    }
    assert "Already living there" in r.text and 'name="digest"' not in r.text
    assert counts(a.compound.id) == after_first and len(import_entries()) == 1


def test_a_person_living_in_another_compound_of_the_community_is_there_already(soffice, sworld):
    a = sworld.a
    content = people_csv([GOOD[0]]).encode()
    check_and_import(soffice, a.compound.id, content, "one.csv")
    other = Compound(community_id=a.community.id, name="丰台二区")
    db.session.add(other)
    db.session.commit()
    r = upload(soffice, other.id, content, "one.csv")
    assert problems_of(r) == [(2, "id_number", "already_living")]


def test_a_changed_file_or_compound_at_confirmation_is_refused(soffice, sworld):
    a = sworld.a
    content = people_csv(GOOD).encode()
    checked = digest_of(upload(soffice, a.compound.id, content, "people.csv"))
    changed = people_csv([*GOOD, ("3号楼", "9", "999", "多一行", "", "")]).encode()
    before = counts(a.compound.id)
    r = confirm(soffice, a.compound.id, changed, "people.csv", checked, lang="en")
    assert r.status_code == 200 and "The file is not the one that was checked" in r.text
    # The same file for another compound of the community is not what was checked either.
    other = Compound(community_id=a.community.id, name="丰台二区")
    db.session.add(other)
    db.session.commit()
    r = confirm(soffice, other.id, content, "people.csv", checked, lang="en")
    assert r.status_code == 200 and "The file is not the one that was checked" in r.text
    r = soffice.post(
        "/office/import/confirm",
        {"compound_id": str(a.compound.id), "digest": "0" * 64},  # no file at all
    )
    assert r.status_code == 200 and 'data-field="file"' in r.text
    assert counts(a.compound.id) == before and import_entries() == []


# --- bad files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"\n\n  \n", "blank.csv", "The file is empty."),
        (b"%PDF-1.4 binary\x00\x01", "list.pdf", "Choose a CSV or Excel (.xlsx) file."),
        (b"\xd0\xcf\x11\xe0 old excel", "list.xls", "Old Excel files (.xls) cannot be read"),
        (b"PK\x03\x04 not really a zip", "list.xlsx", "The Excel file cannot be read"),
        ("姓名,手机号\n李四,13800138000\n".encode(), "x.csv", "missing: Building, Unit, Room"),
        (HEADER.encode() + b"\n", "header-only.csv", "The file has no rows under its header."),
        (b"\xff\xfe\x00b\x00u\x00i", "utf16.csv", "Choose a CSV or Excel (.xlsx) file."),
    ],
)
def test_bad_files_get_a_clear_message_never_a_500(soffice, sworld, content, name, message):
    r = upload(soffice, sworld.a.compound.id, content, name, lang="en")
    assert r.status_code == 200, r.status_code
    assert 'role="alert" data-field="file"' in r.text
    assert message in r.text, re.findall(r'role="alert"[^>]*>([^<]*)<', r.text)


def test_no_file_chosen(soffice, sworld):
    r = soffice.post("/office/import", {"compound_id": str(sworld.a.compound.id)}, lang="en")
    assert r.status_code == 200 and "Choose a CSV or Excel (.xlsx) file." in r.text


def test_too_many_bytes_and_too_many_rows(soffice, sworld, monkeypatch):
    content = people_csv(GOOD * 3).encode()
    monkeypatch.setattr(tables, "MAX_ROWS", 5)
    r = upload(soffice, sworld.a.compound.id, content, "big.csv", lang="en")
    assert "The file has more than 5 rows: split it into smaller files." in r.text
    monkeypatch.setattr(tables, "MAX_BYTES", 1024 * 1024)
    big = content + b"#" * (1024 * 1024)
    r = upload(soffice, sworld.a.compound.id, big, "big.csv", lang="zh-CN")
    assert r.status_code == 200 and 'data-field="file"' in r.text
    assert "MB" in r.text


def test_a_request_over_max_content_length_is_a_page_not_a_500(sqlite_app, sworld):
    sqlite_app.config["MAX_CONTENT_LENGTH"] = 1000
    office = Browser(sqlite_app).sign_in(sworld.a.office)
    r = upload(office, sworld.a.compound.id, b"x" * 5000, "big.csv", lang="en")
    assert r.status_code == 413 and "The request is too large." in r.text


# --- htmx ------------------------------------------------------------------------------------


def test_htmx_gets_the_preview_alone_and_a_redirect_after_the_import(soffice, sworld):
    a = sworld.a
    content = people_csv(GOOD).encode()
    r = upload(soffice, a.compound.id, content, "people.csv", htmx=True)
    assert r.status_code == 200 and "<html" not in r.text
    assert "HX-Request" in r.headers.get("Vary", "")
    preview_of(r)
    r = confirm(soffice, a.compound.id, content, "people.csv", digest_of(r), htmx=True)
    assert r.status_code == 200 and r.headers["HX-Redirect"] == "/office/import"
    assert counts(a.compound.id)[2] == 1 + 3
    r = upload(soffice, a.compound.id, b"", "empty.csv", htmx=True)
    assert "<html" not in r.text and 'role="alert"' in r.text


# --- 10,000 rows -----------------------------------------------------------------------------


def ten_thousand() -> bytes:
    rows = []
    for i in range(10_000):
        building, rest = divmod(i, 500)
        rows.append(
            (
                f"{building + 10}号楼",
                str(rest // 100 + 1),
                str(rest % 100 + 1),
                f"居民{i}",
                card(i % 1000, born=f"19{50 + i // 1000:02d}0101"),
                f"139{i:08d}",
            )
        )
    return people_csv(rows).encode()


def test_ten_thousand_rows_in_one_go(app, world, office):
    a = world.a
    content = ten_thousand()
    before = counts(a.compound.id)
    seen = check_and_import(office, a.compound.id, content, "10000.csv")
    assert seen == {
        "rows": 10_000,
        "problems": 0,
        "buildings": 20,
        "households": 10_000,
        "residents": 10_000,
    }
    assert counts(a.compound.id) == (before[0] + 20, before[1] + 10_000, before[2] + 10_000)
    assert json.loads(import_entries()[0].detail)["residents"] == 10_000
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


# --- export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_reads_back_through_the_importer(soffice, sworld, fmt):
    a = sworld.a
    check_and_import(soffice, a.compound.id, people_csv(GOOD).encode(), "people.csv")
    r = soffice.get(f"/office/people/export?format={fmt}&compound={a.compound.id}")
    assert r.status_code == 200
    assert "attachment" in r.headers["Content-Disposition"]
    assert f".{fmt}" in r.headers["Content-Disposition"]
    if fmt == "csv":
        assert r.data.startswith(b"\xef\xbb\xbf") and r.mimetype == "text/csv"
    else:
        assert r.mimetype == tables.XLSX_TYPE
    table = tables.read(r.data, f"export.{fmt}")
    assert table.header == (
        "小区",
        "楼栋",
        "单元",
        "房号",
        "姓名",
        "身份证号后四位",
        "手机号后四位",
    )
    got = {row.cells for row in table.rows}
    assert ("丰台小区", "3号楼", "1", "101", "李四", card(1)[-4:], "8001") in got
    assert ("丰台小区", "3号楼", "2", "202") in got  # the empty household
    assert ("丰台小区", "1号楼", "2", "301", "张三丰") in got  # the world's resident
    assert all(not any(card(1) == c for c in row) for row in got)
    # Read back as a people list: the importer finds its columns (the compound one is unused).
    r = upload(soffice, a.compound.id, r.data, f"export.{fmt}", lang="en")
    assert problems_of(r) and {code for _r, _f, code in problems_of(r)} == {"already_living"}
    assert "Columns not used: 小区, 身份证号后四位, 手机号后四位." in r.text


def test_the_export_in_english_and_of_every_compound(soffice, sworld):
    r = soffice.get("/office/people/export?format=csv", lang="en")
    table = tables.read(r.data, "x.csv")
    assert table.header[:3] == ("compound", "building", "unit")
    assert {row.cells[0] for row in table.rows} == {"丰台小区"}  # the office's community only
    r = soffice.get("/office/people/export?format=pdf", lang="en")
    assert r.status_code == 422 and "Choose CSV or Excel." in r.text
    r = soffice.get("/office/people/export?compound=abc")
    assert r.status_code == 422


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_blank_template(soffice, fmt):
    r = soffice.get(f"/office/import/template?format={fmt}")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(r.data), read_only=True).worksheets[0]
        assert list(next(sheet.iter_rows(values_only=True))) == HEADER.split(",")
    table = tables.read(r.data, f"t.{fmt}")
    assert ",".join(table.header) == HEADER and table.rows == ()
    r = soffice.get(f"/office/import/template?format={fmt}", lang="en")
    assert tables.read(r.data, f"t.{fmt}").header[0] == "building"


def test_a_formula_in_a_name_is_exported_as_text(soffice, sworld):
    db.session.add(Resident(household_id=sworld.a.household.id, name="=HYPERLINK(1)"))
    db.session.commit()
    r = soffice.get(f"/office/people/export?format=csv&compound={sworld.a.compound.id}")
    assert b"'=HYPERLINK(1)" in r.data
    r = soffice.get(f"/office/people/export?format=xlsx&compound={sworld.a.compound.id}")
    sheet = load_workbook(io.BytesIO(r.data)).worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(1)"]
    assert cells and all(c.data_type == "s" for c in cells)


# --- who may -------------------------------------------------------------------------------------


def test_only_the_office_and_only_its_own_compounds(app, world):
    a, b = world.a, world.b
    content = people_csv(GOOD).encode()
    for user in (a.guard, world.worker, world.resident_user):
        browser = Browser(app).sign_in(user)
        assert upload(browser, a.compound.id, content, "p.csv").status_code == 403
        assert confirm(browser, a.compound.id, content, "p.csv", "0" * 64).status_code == 403
        assert browser.get("/office/people/export?format=csv").status_code == 403
        assert browser.get("/office/import").status_code == 403
    office = Browser(app).sign_in(a.office)
    before = counts(b.compound.id)
    assert upload(office, b.compound.id, content, "p.csv").status_code == 404
    r = confirm(office, b.compound.id, content, "p.csv", digest(content, b.compound.id))
    assert r.status_code == 404
    r = office.get(f"/office/people/export?format=csv&compound={b.compound.id}")
    assert r.status_code == 404
    assert counts(b.compound.id) == before and import_entries() == []

    # The street office reaches both communities' compounds.
    street = Browser(app).sign_in(world.street_user)
    check_and_import(street, b.compound.id, content, "p.csv")
    assert counts(b.compound.id)[2] == before[2] + 3


def test_csrf_is_required(soffice, sworld):
    content = people_csv(GOOD).encode()
    fields = {"compound_id": str(sworld.a.compound.id), "digest": "0" * 64}
    for path in ("/office/import", "/office/import/confirm"):
        for htmx in (False, True):
            r = post_file(soffice, path, fields, content, "p.csv", csrf=False, htmx=htmx)
            assert r.status_code == 400 and "表单已过期" in r.text
    assert import_entries() == []
