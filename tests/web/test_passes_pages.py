"""Passes, test results and exemptions from the office's pages: issue and revoke a member's pass
(the gate refuses the revoked one at once), record a test, and give one exemption window to
many people at once, then follow them out and back."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from kiosk.extensions import db
from kiosk.models import AuditEntry, Pass, TestResult, utcnow
from tests import factories

from .conftest import decision_of


def local(app, when) -> str:
    return when.astimezone(app.config["TZ"]).strftime("%Y-%m-%dT%H:%M")


def test_a_paper_pass_is_issued_and_a_revoked_one_is_refused_at_the_gate(world, office, tablet):
    res = world.a.resident
    r = office.post(f"/office/residents/{res.id}/passes", {"kind": "paper"})
    assert r.status_code == 303
    paper = db.session.query(Pass).filter_by(resident_id=res.id, kind="paper").one()
    out = tablet.scan(factories.code(paper), direction="out", temperature=None)
    assert decision_of(out) == ("allow", [])
    r = office.post(f"/office/passes/{paper.id}/revoke", {"reason": "丢失"}, follow_redirects=True)
    assert "已吊销" in r.text or "revoked" in r.text
    back = tablet.scan(factories.code(paper), direction="in")
    assert decision_of(back)[1] == ["revoked"]
    r = office.post(f"/office/passes/{paper.id}/revoke", {})
    assert r.status_code == 200 and "data-field" in r.text  # already revoked, said on the page


def test_a_visitor_or_exemption_pass_cannot_be_issued_from_the_household_page(world, office):
    res = world.a.resident
    before = db.session.query(Pass).count()
    for kind in ("visitor", "exemption", "x"):
        r = office.post(f"/office/residents/{res.id}/passes", {"kind": kind}, lang="en")
        assert r.status_code == 200 and 'data-field="kind"' in r.text
    assert db.session.query(Pass).count() == before


def test_a_test_result_is_recorded_and_shown(app, world, office):
    res = world.a.resident
    taken = utcnow() - timedelta(hours=3)
    r = office.post(
        f"/office/residents/{res.id}/tests",
        {"taken_at": local(app, taken), "result": "negative"},
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert db.session.query(TestResult).filter_by(resident_id=res.id).one().result == "negative"
    assert "阴性" in r.text
    r = office.post(
        f"/office/residents/{res.id}/tests",
        {"taken_at": local(app, utcnow() + timedelta(days=1)), "result": "maybe"},
        lang="en",
    )
    assert set(re.findall(r'data-field="(\w+)"', r.text)) >= {"result"}


def _exam_students(world, n):
    a = world.a
    students = [factories.resident(a.household, f"考生{i:02d}") for i in range(n)]
    for s in students:
        factories.pass_for(s)
    db.session.commit()
    return students


def test_35_exam_exemptions_in_one_action_then_one_out_and_back(app, world, office, tablet):
    a = world.a
    a.building.seal_state = "in_only"
    db.session.commit()
    students = _exam_students(world, 35)
    start = utcnow() - timedelta(minutes=5)
    r = office.post(
        "/office/exemptions",
        {
            "resident_ids": [str(s.id) for s in students],
            "purpose": "高考",
            "valid_from": local(app, start),
            "valid_until": local(app, start + timedelta(hours=6)),
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "35" in r.text
    passes = db.session.query(Pass).filter_by(kind="exemption").all()
    assert len(passes) == 35
    assert db.session.query(AuditEntry).filter_by(action="exemption.issue").count() == 35
    first = next(p for p in passes if p.resident_id == students[0].id)
    out = tablet.scan(factories.code(first), direction="out", temperature=None)
    assert decision_of(out) == ("allow", [])
    page = office.get("/office/exemptions").text
    row = re.search(rf'<tr class="exemption-(\w+)" data-pass-id="{first.id}">', page)
    assert row.group(1) == "out"
    back = tablet.scan(factories.code(first), direction="in")
    assert decision_of(back) == ("allow", [])
    page = office.get("/office/exemptions").text
    assert re.search(rf'class="exemption-back" data-pass-id="{first.id}"', page)


def test_a_holder_not_back_after_the_window_is_flagged_first(app, world, office):
    a = world.a
    (student,) = _exam_students(world, 1)
    now = utcnow()
    ex = factories.pass_for(
        student,
        kind="exemption",
        valid_from=now - timedelta(hours=8),
        valid_until=now - timedelta(hours=1),
    )
    db.session.commit()
    factories.event(
        a.gate, now - timedelta(hours=7), direction="out", pass_id=ex.id, resident_id=student.id
    )
    db.session.commit()
    page = office.get("/office/exemptions").text
    first = re.search(r'<tr class="exemption-(\w+)" data-pass-id="(\d+)">', page)
    assert first.groups() == ("not_back", str(ex.id))
    assert "未返回" in page


def test_exemptions_are_all_or_none(app, world, office):
    (student,) = _exam_students(world, 1)
    start = utcnow() - timedelta(minutes=5)
    r = office.post(
        "/office/exemptions",
        {
            "resident_ids": [str(student.id), str(world.b.resident.id)],
            "purpose": "高考",
            "valid_from": local(app, start),
            "valid_until": local(app, start + timedelta(hours=6)),
        },
    )
    assert r.status_code == 404  # the other community's resident
    assert db.session.query(Pass).filter_by(kind="exemption").count() == 0
    r = office.post(
        "/office/exemptions",
        {"resident_ids": [str(student.id)], "purpose": "", "valid_from": "x"},
        lang="en",
    )
    assert r.status_code == 200
    assert {"purpose", "valid_from", "valid_until"} <= set(
        re.findall(r'data-field="(\w+)"', r.text)
    )
    assert f'value="{student.id}" checked' in r.text  # the ticked person stays ticked


def test_the_picker_keeps_ticked_people_across_searches(world, office):
    students = _exam_students(world, 3)
    r = office.post(
        "/office/exemptions/people",
        {"q": "考生01", "resident_ids": [str(students[0].id)]},
        htmx=True,
    )
    assert "<html" not in r.text
    chosen = re.search(r'data-testid="chosen">(.*?)</fieldset>', r.text, re.S).group(1)
    found = re.search(r'data-testid="pick-results">(.*?)</fieldset>', r.text, re.S).group(1)
    assert f'value="{students[0].id}" checked' in chosen
    assert f'value="{students[1].id}"' in found and f'value="{students[0].id}"' not in found


def test_two_ledgers_are_reconciled(app, world, office):
    a = world.a
    s1, s2, s3 = _exam_students(world, 3)
    now = utcnow()
    for s in (s1, s2):
        factories.pass_for(
            s,
            kind="exemption",
            purpose="高考",
            valid_from=now,
            valid_until=now + timedelta(hours=6),
        )
    db.session.commit()
    rows = [
        "姓名,楼栋,单元,房号",
        f"{s1.name},{a.building.name},2,301",  # on both
        f"{s3.name},{a.building.name},2,301",  # lives here, no exemption
        "无此人,1号楼,2,301",  # not found
        ",,,",  # blank: skipped
        "张,1号楼,,",  # cannot be read
    ]
    data = ("\n".join(rows) + "\n").encode("gbk")
    r = office.client.post(
        "/office/exemptions/reconcile",
        data={"csrf_token": office.csrf(), "purpose": "高考", "file": (io.BytesIO(data), "l.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    counts = dict(re.findall(r'data-count="([\w-]+)">[^<]*<strong>(\d+)</strong>', r.text))
    assert counts == {"both": "1", "only-here": "1", "only-there": "3"}
    here = re.findall(r'<tr class="only-here" data-pass-id="(\d+)">', r.text)
    assert len(here) == 1
    there = re.findall(r'<tr class="only-there" data-row="(\d+)">', r.text)
    assert there == ["3", "4", "6"]


def test_exemptions_to_use_are_printed_with_their_window(app, world, office):
    a = world.a
    s1, s2 = _exam_students(world, 2)
    now = utcnow()
    used_up = factories.pass_for(
        s2,
        kind="exemption",
        purpose="高考",
        valid_from=now - timedelta(days=2),
        valid_until=now - timedelta(days=1),
    )
    live = factories.pass_for(
        s1, kind="exemption", purpose="高考", valid_from=now, valid_until=now + timedelta(hours=6)
    )
    other = factories.pass_for(
        s2, kind="exemption", purpose="就医", valid_from=now, valid_until=now + timedelta(hours=6)
    )
    db.session.commit()
    page = office.get("/office/exemptions/print?purpose=高考").text
    printed = re.findall(r'<article class="pass-card" data-pass-id="(\d+)">', page)
    assert printed == [str(live.id)]  # not the spent one, not another purpose
    assert s1.name not in page  # masked names only
    assert str(used_up.id) not in printed and str(other.id) not in printed
    both = office.get("/office/exemptions/print").text
    assert sorted(re.findall(r'data-pass-id="(\d+)"', both)) == sorted(
        [str(live.id), str(other.id)]
    )
    pdf = office.get("/office/exemptions.pdf?purpose=高考")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="exemptions.pdf"'
    assert a.building.name in office.get("/office/exemptions/print").text
