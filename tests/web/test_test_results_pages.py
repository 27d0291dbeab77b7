"""A batch of test results from the testing site, uploaded on the office's page: rows matched by
name and address or by ID number are recorded and count for an exemption at once; the report
names the rows not found, ambiguous or invalid; the same file twice records nothing twice."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl

from kiosk.extensions import db
from kiosk.models import AuditEntry, TestResult, utcnow
from kiosk.services import security
from tests import factories

from .conftest import decision_of

ID = "11010519491231002X"


def _csv(rows, encoding="utf-8") -> bytes:
    lines = ["姓名,楼栋,单元,房号,身份证号,采样时间,结果"] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def _upload(office, data: bytes, name: str, lang=None):
    return office.client.post(
        "/office/tests",
        data={"csrf_token": office.csrf(), "file": (io.BytesIO(data), name)},
        headers={"Accept-Language": lang} if lang else {},
        content_type="multipart/form-data",
    )


def _count(page: str, what: str) -> int:
    return int(re.search(rf'data-count="{what}">[^<]*<strong>(\d+)</strong>', page).group(1))


def _when(app, hours_ago: float) -> str:
    return (
        (utcnow() - timedelta(hours=hours_ago))
        .astimezone(app.config["TZ"])
        .strftime("%Y-%m-%d %H:%M")
    )


def test_a_gbk_batch_is_matched_recorded_and_reported_row_by_row(app, world, office):
    a = world.a
    twin1 = factories.resident(a.household, "王二")
    twin2 = factories.resident(a.household, "王二")
    by_id = factories.resident(a.household, "赵六")
    by_id.id_hash = security.keyed_hash(ID)
    db.session.commit()
    data = _csv(
        [
            (a.resident.name, "1号楼", "2", "301", "", _when(app, 5), "阴性"),
            ("", "", "", "", ID, _when(app, 5), "negative"),
            ("王二", "1号楼", "2", "301", "", _when(app, 5), "阴性"),
            ("无此人", "1号楼", "2", "301", "", _when(app, 5), "阴性"),
            (a.resident.name, "1号楼", "2", "301", "", "昨天", "也许"),
        ],
        encoding="gbk",
    )
    r = _upload(office, data, "核酸结果.csv")
    assert r.status_code == 200
    assert [_count(r.text, k) for k in ("recorded", "ambiguous", "unmatched", "invalid")] == [
        2,
        1,
        1,
        1,
    ]
    bad = re.search(r'<tr class="row-invalid" data-row="6">(.*?)</tr>', r.text, re.S).group(1)
    assert set(re.findall(r'data-field="(\w+)"', bad)) == {"taken_at", "result"}
    assert {t.resident_id for t in db.session.query(TestResult)} == {a.resident.id, by_id.id}
    assert twin1.id and twin2.id
    assert db.session.query(AuditEntry).filter_by(action="test.import").count() == 1
    # The same file again records nothing twice.
    r = _upload(office, data, "核酸结果.csv")
    assert _count(r.text, "recorded") == 0 and _count(r.text, "already") == 2
    assert db.session.query(TestResult).count() == 2


def test_an_xlsx_batch_lets_an_exemption_holder_out_at_once(app, world, office, tablet):
    a = world.a
    now = utcnow()
    ex = factories.pass_for(
        a.resident,
        kind="exemption",
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=5),
        negative_test_within_hours=48,
    )
    db.session.commit()
    out = tablet.scan(factories.code(ex), direction="out", temperature=None)
    assert decision_of(out) == ("deny", ["negative_test_required"])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "楼栋", "单元", "房号", "采样时间", "结果"])
    sheet.append([a.resident.name, "1号楼", 2, 301, _when(app, 10), "阴性"])
    buf = io.BytesIO()
    book.save(buf)
    r = _upload(office, buf.getvalue(), "results.xlsx")
    assert _count(r.text, "recorded") == 1
    out = tablet.scan(factories.code(ex), direction="out", temperature=None, request_id="again")
    assert decision_of(out) == ("allow", [])


def test_a_file_without_the_columns_or_not_a_table_is_refused_whole(world, office):
    r = _upload(office, b"a,b\n1,2\n", "x.csv", lang="en")
    assert r.status_code == 200 and 'data-field="file"' in r.text
    r = _upload(office, b"%PDF-1.4", "x.pdf", lang="en")
    assert 'data-field="file"' in r.text
    assert db.session.query(TestResult).count() == 0


def test_people_of_another_community_are_not_found(app, world, office):
    b = world.b
    data = _csv([(b.resident.name, "1号楼", "2", "301", "", _when(app, 2), "阴性")])
    # Both sites have the same name and address: only community a's person matches.
    r = _upload(office, data, "x.csv")
    assert _count(r.text, "recorded") == 1
    (result,) = db.session.query(TestResult).all()
    assert result.resident_id == world.a.resident.id
