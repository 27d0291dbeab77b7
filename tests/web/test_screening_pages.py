"""Screening lists on the office's pages: imports in GBK, UTF-8 and XLSX with bad rows, rows
worked through (status, note, worker, the person of an ambiguous row), home observation from a
row, the reconciliation and its download, roles, scope and CSRF; and the gate, which refers a
matched resident whose row is not closed and lets them pass once it is cleared."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from kiosk.extensions import db
from kiosk.models import AuditEntry, Household, ScreeningList, ScreeningRow
from kiosk.services import org
from tests import factories

from .conftest import Browser, decision_of

ID = "11010519491231002X"
PHONE = "13800138000"
HEADER = "姓名,手机号,身份证号,楼栋,单元,房号"


def _csv(rows, encoding="utf-8") -> bytes:
    return ("\n".join([HEADER] + [",".join(r) for r in rows]) + "\n").encode(encoding)


def _upload(browser, data: bytes, filename: str, name="30日后到过新发地市场人员", **fields):
    form = {
        "csrf_token": browser.csrf(),
        "name": name,
        "source": "区疾控",
        "issued_on": "2020-06-14",
        "file": (io.BytesIO(data), filename),
        **fields,
    }
    return browser.client.post(
        "/office/screening",
        data=form,
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )


def _count(page: str, what: str) -> int:
    return int(re.search(rf'data-count="{what}">[^<]*<strong>(\d+)</strong>', page).group(1))


def _people(world):
    """Site a's resident by ID hash; a second by phone; two namesakes at one address."""
    a = world.a
    org_ids = org.identity(ID, None)
    a.resident.id_hash, a.resident.id_last4 = org_ids["id_hash"], org_ids["id_last4"]
    by_phone = factories.resident(a.household, "李四")
    kept = org.identity(None, PHONE)
    by_phone.phone_hash, by_phone.phone_last4 = kept["phone_hash"], kept["phone_last4"]
    twin1 = factories.resident(a.household, "王二")
    twin2 = factories.resident(a.household, "王二")
    db.session.commit()
    return by_phone, twin1, twin2


def _rows(list_id=None) -> list[ScreeningRow]:
    db.session.expire_all()
    stmt = db.select(ScreeningRow).order_by(ScreeningRow.row_number)
    if list_id is not None:
        stmt = stmt.where(ScreeningRow.list_id == list_id)
    return list(db.session.scalars(stmt))


GOOD_ROWS = [
    ("张三丰", "", ID, "", "", ""),  # by ID number
    ("李四", PHONE, "", "", "", ""),  # by phone
    ("王二", "", "", "1号楼", "2", "301"),  # two namesakes: ambiguous
    ("路人甲", "13900000000", "", "", "", ""),  # nobody here
    ("", "", "", "", "", ""),  # blank: skipped
    ("缺地址", "", "", "1号楼", "", ""),  # bad: no number, incomplete address
    ("坏号码", "", "123", "", "", ""),  # bad ID number
]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_import_csv_matches_rows_and_reports_bad_ones(app, world, office, encoding):
    by_phone, twin1, twin2 = _people(world)
    r = _upload(office, _csv(GOOD_ROWS, encoding), "list.csv")
    assert r.status_code == 200
    page = r.text
    assert _count(page, "rows") == 4
    assert _count(page, "matched") == 2
    assert _count(page, "ambiguous") == 1
    assert _count(page, "not_here") == 1
    assert _count(page, "invalid") == 2
    assert 'data-row="7"' in page and 'data-row="8"' in page
    rows = _rows()
    assert [r.match for r in rows] == ["matched", "matched", "ambiguous", "not_here"]
    assert rows[0].resident_id == world.a.resident.id
    assert rows[1].resident_id == by_phone.id
    assert rows[2].resident_id is None
    assert set(rows[2].candidate_ids.split(",")) == {str(twin1.id), str(twin2.id)}
    assert [r.closed for r in rows] == [False, False, False, True]
    # Only hashes and the last four of the numbers are kept.
    assert rows[0].id_last4 == "002X" and rows[0].id_hash and ID not in rows[0].id_hash
    assert rows[1].phone_last4 == "8000"
    for row in rows:
        assert ID not in repr(row.__dict__) and PHONE not in repr(row.__dict__)
    lst = db.session.scalars(db.select(ScreeningList)).one()
    assert (lst.name, lst.source, str(lst.issued_on)) == (
        "30日后到过新发地市场人员",
        "区疾控",
        "2020-06-14",
    )
    entry = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "screening.import")
    ).one()
    assert entry.target_id == lst.id and '"matched": 2' in entry.detail


def test_import_xlsx(app, world, office):
    _people(world)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for row in GOOD_ROWS:
        sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    r = _upload(office, buf.getvalue(), "list.xlsx")
    assert r.status_code == 200
    assert _count(r.text, "matched") == 2 and _count(r.text, "invalid") == 2


def test_import_form_errors_keep_what_was_typed(app, world, office):
    r = office.client.post(
        "/office/screening",
        data={"csrf_token": office.csrf(), "name": "", "source": "区疾控", "issued_on": "6月14日"},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 200
    assert 'data-field="name"' in r.text and 'data-field="issued_on"' in r.text
    assert 'value="区疾控"' in r.text and 'value="6月14日"' in r.text
    r = _upload(office, b"foo,bar\n1,2\n", "list.csv")
    assert 'data-field="file"' in r.text
    assert db.session.scalars(db.select(ScreeningList)).first() is None


def _imported(world, office) -> int:
    _people(world)
    assert _upload(office, _csv(GOOD_ROWS), "list.csv").status_code == 200
    return db.session.scalars(db.select(ScreeningList.id)).one()


def test_list_page_filters_and_progress(app, world, office):
    list_id = _imported(world, office)
    page = office.get(f"/office/screening/{list_id}", lang="en").text
    assert 'value="25"' in page  # 1 of 4 rows closed (not here)
    assert page.count("data-match=") == 4
    page = office.get(f"/office/screening/{list_id}?match=ambiguous").text
    assert page.count("data-match=") == 1
    page = office.get(f"/office/screening/{list_id}?call_status=cleared").text
    assert page.count("data-match=") == 0
    page = office.get(f"/office/screening/{list_id}?match=bogus", lang="en").text
    assert 'data-field="match"' in page
    assert office.get("/office/screening", lang="en").text.count("data-list=") == 1


def test_row_update_htmx_and_plain(app, world, office):
    list_id = _imported(world, office)
    first = _rows(list_id)[0]
    r = office.post(
        f"/office/screening/rows/{first.id}",
        {"call_status": "reached", "note": "电话已通知", "assigned_to_id": str(world.worker.id)},
        htmx=True,
    )
    assert r.status_code == 200 and "<html" not in r.text
    assert 'data-status="reached"' in r.text
    row = _rows(list_id)[0]
    assert (row.call_status, row.note, row.assigned_to_id) == (
        "reached",
        "电话已通知",
        world.worker.id,
    )
    assert row.updated_by_id == world.a.office.id and row.updated_at is not None
    # A worker of another community, a bad status: said on the row, nothing changed.
    other = factories.user("worker_b", "worker", community_id=world.b.community.id)
    db.session.commit()
    r = office.post(
        f"/office/screening/rows/{first.id}",
        {"call_status": "nope", "assigned_to_id": str(other.id)},
        htmx=True,
        lang="en",
    )
    assert 'data-field="call_status"' in r.text
    r = office.post(
        f"/office/screening/rows/{first.id}", {"assigned_to_id": str(other.id)}, htmx=True
    )
    assert 'data-field="assigned_to_id"' in r.text
    assert _rows(list_id)[0].assigned_to_id == world.worker.id
    # Without htmx: 303 back to the list.
    r = office.post(f"/office/screening/rows/{first.id}", {"call_status": "cleared"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/office/screening/{list_id}")
    assert _rows(list_id)[0].closed is True
    actions = db.session.scalars(
        db.select(AuditEntry.action).where(AuditEntry.action == "screening.row")
    ).all()
    assert len(actions) == 2


def test_ambiguous_row_chosen_among_candidates(app, world, office):
    list_id = _imported(world, office)
    amb = _rows(list_id)[2]
    chosen = int(amb.candidate_ids.split(",")[1])
    r = office.post(
        f"/office/screening/rows/{amb.id}", {"resident_id": str(world.b.resident.id)}, htmx=True
    )
    assert 'data-field="resident_id"' in r.text
    r = office.post(f"/office/screening/rows/{amb.id}", {"resident_id": str(chosen)}, htmx=True)
    assert 'data-match="matched"' in r.text
    row = _rows(list_id)[2]
    assert (row.match, row.resident_id) == ("matched", chosen)


def test_observation_from_a_row(app, world, office):
    list_id = _imported(world, office)
    first = _rows(list_id)[0]
    r = office.post(f"/office/screening/rows/{first.id}/observe", htmx=True)
    assert r.status_code == 200 and 'data-status="observed"' in r.text
    household = db.session.get(Household, world.a.household.id)
    db.session.refresh(household)
    assert household.observation_reason == "30日后到过新发地市场人员"
    assert household.observation_until is not None
    assert _rows(list_id)[0].closed is False  # observation does not clear the row
    # A row not matched cannot be observed.
    nobody = _rows(list_id)[3]
    r = office.post(f"/office/screening/rows/{nobody.id}/observe", htmx=True, lang="en")
    assert 'role="alert"' in r.text


def test_reconcile_two_lists_and_against_residents(app, world, office):
    a_id = _imported(world, office)
    rows_b = [GOOD_ROWS[0], ("新人", "13700000000", "", "", "", "")]
    assert _upload(office, _csv(rows_b), "b.csv", name="B").status_code == 200
    b_id = db.session.scalar(db.select(ScreeningList.id).where(ScreeningList.name == "B"))
    page = office.get(f"/office/screening/{a_id}/reconcile?other_id={b_id}", lang="en").text
    assert _count(page, "both") == 1 and _count(page, "only_a") == 3 and _count(page, "only_b") == 1
    r = office.get(f"/office/screening/{a_id}/reconcile?other_id={b_id}&format=csv", lang="en")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Where,Row in A,Row in B")
    assert "On both" in text and "Only in B" in text
    r = office.get(f"/office/screening/{a_id}/reconcile?format=xlsx", lang="en")
    assert r.status_code == 200 and r.data.startswith(b"PK")
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet.max_row >= 2
    page = office.get(f"/office/screening/{a_id}/reconcile", lang="en").text
    assert _count(page, "both") == 2  # matched rows; the namesakes are only in A


def test_scope_other_community_is_404(app, world, office):
    list_id = _imported(world, office)
    row = _rows(list_id)[0]
    other = Browser(app).sign_in(world.b.office)
    assert other.get(f"/office/screening/{list_id}").status_code == 404
    assert other.get(f"/office/screening/{list_id}/reconcile").status_code == 404
    assert (
        other.post(f"/office/screening/rows/{row.id}", {"call_status": "cleared"}).status_code
        == 404
    )
    assert other.post(f"/office/screening/rows/{row.id}/observe").status_code == 404
    assert "data-list=" not in other.get("/office/screening").text
    assert _rows(list_id)[0].call_status == "not_reached"
    # A reconciliation against a list of another community is 404 too.
    _upload(other, _csv([GOOD_ROWS[3]]), "x.csv", name="X")
    x_id = db.session.scalar(db.select(ScreeningList.id).where(ScreeningList.name == "X"))
    assert office.get(f"/office/screening/{list_id}/reconcile?other_id={x_id}").status_code == 404


@pytest.mark.parametrize("role", ["guard", "worker", "resident"])
def test_other_roles_are_refused(app, world, role):
    who = {"guard": world.a.guard, "worker": world.worker, "resident": world.resident_user}[role]
    b = Browser(app).sign_in(who)
    assert b.get("/office/screening").status_code == 403


def test_the_gate_refers_a_matched_resident_until_the_row_is_cleared(app, world, office, tablet):
    list_id = _imported(world, office)
    code = factories.code(world.a.pass_)
    assert decision_of(tablet.scan(code, request_id="s-1")) == ("refer", ["screening"])
    first = _rows(list_id)[0]
    office.post(f"/office/screening/rows/{first.id}", {"call_status": "cleared"}, htmx=True)
    assert decision_of(tablet.scan(code, request_id="s-2")) == ("allow", [])


def test_a_worker_calls_the_rows_assigned_on_the_phone_and_clears_the_gate(
    app, world, office, tablet
):
    """The office assigns a row to a worker; the worker sees it on the phone page, says the call
    went well (cleared) and the resident is no longer referred at the gate. Rows of others are
    not found, and a worker cannot put anyone under observation."""
    list_id = _imported(world, office)
    first, second = _rows(list_id)[:2]
    office.post(
        f"/office/screening/rows/{first.id}", {"assigned_to_id": str(world.worker.id)}, htmx=True
    )
    worker = Browser(app).sign_in(world.worker)
    page = worker.get("/worker/screening").text
    assert f'data-row-id="{first.id}"' in page and f'data-row-id="{second.id}"' not in page
    assert first.name not in page or len(first.name) == 1  # masked on the phone
    code = factories.code(world.a.pass_)
    assert decision_of(tablet.scan(code, request_id="w-1")) == ("refer", ["screening"])
    r = worker.post(f"/worker/screening/{first.id}", {"call_status": "observed"}, lang="en")
    assert r.status_code == 200 and 'data-field="call_status"' in r.text
    r = worker.post(f"/worker/screening/{second.id}", {"call_status": "cleared"})
    assert r.status_code == 404
    r = worker.post(
        f"/worker/screening/{first.id}", {"call_status": "cleared", "note": "已做核酸，阴性"}
    )
    assert r.status_code == 303
    db.session.expire_all()
    row = db.session.get(ScreeningRow, first.id)
    assert (row.call_status, row.closed, row.updated_by_id) == ("cleared", True, world.worker.id)
    assert decision_of(tablet.scan(code, request_id="w-2")) == ("allow", [])
    assert office.get("/worker/screening").status_code == 403
