"""The office's tracing pages: find a resident or a visitor, trace them with a reason, read the
contacts split into direct and same-place, export the report (CSV, Excel, print), put the
contacts' households under observation and make the route's areas due for disinfection now.
Only office roles of the person's community (or street) may trace, and every trace and every
export is in the audit log."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import (
    AuditEntry,
    DisinfectionRecord,
    Household,
    PublicArea,
    utcnow,
)
from kiosk.services import security
from tests import factories

from .conftest import Browser


def _area(site, name, kind, building=None) -> PublicArea:
    """An area done a few minutes ago: not overdue until something makes it due."""
    area = PublicArea(
        compound_id=site.compound.id,
        building_id=building.id if building else None,
        name=name,
        kind=kind,
        times_per_day=1,
        sticker_hash=security.token_hash(security.new_token()),
        created_at=utcnow() - timedelta(days=3),
    )
    db.session.add(area)
    db.session.flush()
    db.session.add(DisinfectionRecord(area_id=area.id, done_at=utcnow() - timedelta(minutes=5)))
    return area


@pytest.fixture
def case(sworld):
    """Site a's resident passed the east gate two days ago; around them: a neighbour a minute
    later (direct), two others ten minutes later (same place; one of them in a third
    household), a housemate, a visitor of their household, someone at community b's gate; a lift
    in their building and the gate's area (on the route) and an area of community b (not)."""
    a, b = sworld.a, sworld.b
    t = utcnow() - timedelta(days=2)
    other = Household(building_id=a.building.id, unit="3", room="502")
    third = Household(building_id=a.building.id, unit="4", room="101")
    db.session.add_all([other, third])
    db.session.flush()
    close = factories.resident(other, "李近")
    near = factories.resident(other, "王远")
    nearer = factories.resident(third, "赵同门")
    factories.resident(a.household, "张同住")
    guest = factories.visit(a, "钱访客", "c" * 60 + "1234", created_at=t - timedelta(hours=1))
    stranger = factories.visit(b, "孙别处", "d" * 60 + "1234", created_at=t)
    me = factories.event(a.gate, t, "out", resident_id=a.resident.id, pass_id=a.pass_.id)
    factories.event(a.gate, t + timedelta(minutes=1), "out", resident_id=close.id)
    factories.event(a.gate, t + timedelta(minutes=10), "in", resident_id=near.id)
    factories.event(a.gate, t + timedelta(minutes=10), "in", resident_id=nearer.id)
    factories.event(a.gate, t - timedelta(hours=1), "in", visit_id=guest.id)
    factories.event(b.gate, t, "in", visit_id=stranger.id)
    lift = _area(a, "1号楼 电梯", "lift", a.building)
    gate_area = _area(a, "东门 闸机", "gate")
    elsewhere = _area(b, "樱桃 东门", "gate")
    db.session.commit()
    return {
        "me": me,
        "other": other,
        "third": third,
        "guest": guest,
        "stranger": stranger,
        "areas": [lift.id, gate_area.id],
        "elsewhere": elsewhere.id,
    }


@pytest.fixture
def office(sqlite_app, sworld):
    return Browser(sqlite_app, lang="en").sign_in(sworld.a.office)


def fields(sworld, **extra) -> dict:
    today = utcnow().astimezone(current_app.config["TZ"]).date()
    return {
        "resident_id": str(sworld.a.resident.id),
        "since": (today - timedelta(days=13)).isoformat(),
        "until": today.isoformat(),
        "window_minutes": "15",
        "reason": "确诊病例 2026-17 密接排查",
        **extra,
    }


def table(text: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}".*?</table>', text, re.S)
    assert found, testid
    return found.group(0)


def traces() -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(("resident.trace", "visit.trace")))
        )
    )


def test_only_office_roles_of_the_persons_community_may_trace(sqlite_app, sworld, case):
    url = f"/office/trace?resident_id={sworld.a.resident.id}"
    for user in (sworld.a.guard, sworld.worker, sworld.resident_user):
        browser = Browser(sqlite_app).sign_in(user)
        assert browser.get(url).status_code == 403
        assert browser.post("/office/trace", fields(sworld)).status_code == 403
    other = Browser(sqlite_app).sign_in(sworld.b.office)
    assert other.get("/office/trace").status_code == 200
    assert other.get(url).status_code == 404
    assert other.post("/office/trace", fields(sworld)).status_code == 404
    r = other.post("/office/trace", fields(sworld, reason=""))  # no reason: still not found
    assert r.status_code == 404
    assert other.get(f"/office/trace?visit_id={case['guest'].id}").status_code == 404
    assert traces() == []
    street = Browser(sqlite_app).sign_in(sworld.street_user)
    assert street.post("/office/trace", fields(sworld)).status_code == 200
    assert len(traces()) == 1


def test_the_form_needs_a_reason_and_keeps_what_was_typed(office, sworld, case):
    r = office.get(f"/office/trace?resident_id={sworld.a.resident.id}")
    assert r.status_code == 200 and 'data-testid="trace-form"' in r.text
    assert sworld.a.resident.name in r.text and 'value="15"' in r.text
    r = office.post(
        "/office/trace",
        fields(sworld, reason="", window_minutes="90", since="2026-01-10", until="2026-01-03"),
    )
    assert r.status_code == 422
    assert set(re.findall(r'data-field="(\w+)"', r.text)) >= {"reason", "window_minutes"}
    assert 'value="2026-01-10"' in r.text and 'value="90"' in r.text
    assert f'name="resident_id" value="{sworld.a.resident.id}"' in r.text
    r = office.post("/office/trace", fields(sworld, since="2026-01-10", until="2026-01-03"))
    assert r.status_code == 422 and 'data-field="since"' in r.text
    assert traces() == []
    for bad in ("resident_id=abc", f"resident_id=1&visit_id={case['guest'].id}"):
        r = office.get("/office/trace?" + bad)
        assert r.status_code == 200 and 'role="alert"' in r.text
        assert 'data-testid="people-search"' in r.text


def test_the_report_splits_direct_and_same_place_contacts(office, sworld, case):
    r = office.post("/office/trace", fields(sworld))
    assert r.status_code == 200, r.text
    direct = table(r.text, "direct-contacts")
    same = table(r.text, "same-place-contacts")
    for name in ("李近", "张同住", "钱访客"):
        assert name in direct and name not in same
    for name in ("王远", "赵同门"):
        assert name in same and name not in direct
    assert "孙别处" not in r.text
    assert "same gate within 2 minutes" in direct and "visited their household" in direct
    assert "10 min apart" in same
    assert f'data-event-id="{case["me"].id}"' in table(r.text, "trace-passages")
    assert "钱访客" in table(r.text, "trace-visits")
    route = table(r.text, "trace-route")
    assert sworld.a.gate.name in route and sworld.a.building.name in route
    # The actions: the direct contacts' households ticked, the third one offered unticked.
    ticked = re.findall(r'name="household_ids" value="(\d+)" checked', r.text)
    offered = re.findall(r'name="household_ids" value="(\d+)"', r.text)
    assert sorted(map(int, ticked)) == sorted([sworld.a.household.id, case["other"].id])
    assert case["third"].id in map(int, offered)
    assert sorted(map(int, re.findall(r'name="area_ids" value="(\d+)"', r.text))) == sorted(
        case["areas"]
    )
    (entry,) = traces()
    assert entry.user_id == sworld.a.office.id and entry.target_id == sworld.a.resident.id
    assert "确诊病例 2026-17" in entry.detail


def test_csv_xlsx_and_print_exports_hold_the_contacts_and_are_audited(office, sworld, case):
    r = office.post("/office/trace/export", fields(sworld, format="csv"))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    today = utcnow().astimezone(current_app.config["TZ"]).date().isoformat()
    disposition = r.headers["Content-Disposition"]
    assert f"trace-{today}.csv" in disposition and "%" not in disposition  # no name in it
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    titles = [row[0] for row in rows if len(row) == 1]
    assert titles == ["Passages", "Visits", "Direct contacts", "Same-place contacts", "Route"]
    start = rows.index(["Direct contacts"])
    end = rows.index(["Same-place contacts"])
    direct = {row[0] for row in rows[start + 2 : end] if row}
    assert direct == {"李近", "张同住", "钱访客"}
    same = {row[0] for row in rows[end + 2 : rows.index(["Route"])] if row}
    assert same == {"王远", "赵同门"}
    assert ["Reason", "确诊病例 2026-17 密接排查"] in rows

    r = office.post("/office/trace/export", fields(sworld, format="xlsx"))
    assert r.status_code == 200 and f"trace-{today}.xlsx" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.data), read_only=True)
    assert book.sheetnames == [
        "Trace",
        "Passages",
        "Visits",
        "Direct contacts",
        "Same-place contacts",
        "Route",
    ]
    sheet = [row for row in book["Direct contacts"].iter_rows(values_only=True)]
    assert sheet[0][:3] == ("Name", "Resident or visitor", "Household")
    assert {row[0] for row in sheet[1:]} == {"李近", "张同住", "钱访客"}
    assert {
        row[0] for row in list(book["Same-place contacts"].iter_rows(values_only=True))[1:]
    } == {
        "王远",
        "赵同门",
    }

    r = office.post("/office/trace/export", fields(sworld, format="print"))
    assert r.status_code == 200 and "<script" not in r.text and "trace-print.css" in r.text
    assert "王远" in r.text and "Same-place contacts" in r.text

    assert len(traces()) == 3  # each export traced again
    r = office.post("/office/trace/export", fields(sworld, format="pdf", reason=""))
    assert r.status_code == 422 and {"format", "reason"} <= set(
        re.findall(r'data-field="(\w+)"', r.text)
    )
    assert len(traces()) == 3


def test_the_ticked_households_go_under_observation_in_one_action(office, sworld, case):
    report = office.post("/office/trace", fields(sworld)).text
    form = re.search(r'<form[^>]*data-testid="trace-observe".*?</form>', report, re.S).group(0)
    assert 'action="/office/observation"' in form
    ticked = re.findall(r'name="household_ids" value="(\d+)" checked', form)
    until = re.search(r'name="observation_until" value="([^"]+)"', form).group(1)
    r = office.client.post(
        "/office/observation",
        data={
            "csrf_token": office.csrf(),
            "household_ids": ticked,
            "observation_until": until,
            "observation_reason": "密接",
        },
    )
    assert r.status_code == 303
    db.session.expire_all()
    now = utcnow()
    assert db.session.get(Household, sworld.a.household.id).observation_until > now
    assert db.session.get(Household, case["other"].id).observation_until > now
    assert db.session.get(Household, case["third"].id).observation_until is None


def test_disinfect_now_makes_the_route_areas_overdue(office, sworld, case):
    page = office.get("/office/disinfection").text
    for ident in case["areas"]:
        assert not re.search(rf'data-area-id="{ident}"[^>]*data-overdue', page)
    r = office.client.post(
        "/office/trace/disinfect",
        data={"csrf_token": office.csrf(), "area_ids": [str(i) for i in case["areas"]]},
    )
    assert r.status_code == 303 and r.headers["Location"] == "/office/disinfection"
    page = office.get("/office/disinfection").text
    for ident in case["areas"]:
        assert re.search(rf'data-area-id="{ident}"[^>]*data-overdue', page)
        assert db.session.get(PublicArea, ident).due_now_at is not None
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "area.due_now"))
    assert sorted(e.target_id for e in entries) == sorted(case["areas"])
    # A worker's tick after it clears it.
    db.session.add(DisinfectionRecord(area_id=case["areas"][0], done_at=utcnow()))
    db.session.commit()
    page = office.get("/office/disinfection").text
    assert not re.search(rf'data-area-id="{case["areas"][0]}"[^>]*data-overdue', page)
    # Another community's area is out of reach; nothing ticked is explained.
    r = office.client.post(
        "/office/trace/disinfect",
        data={"csrf_token": office.csrf(), "area_ids": [str(case["elsewhere"])]},
    )
    assert r.status_code == 404
    assert db.session.get(PublicArea, case["elsewhere"]).due_now_at is None
    r = office.post("/office/trace/disinfect", {}, follow_redirects=True)
    assert "Choose areas from the list." in r.text


def test_without_areas_on_the_route_the_report_says_so(office, sworld, case):
    db.session.execute(db.update(PublicArea).values(retired_at=utcnow()))
    db.session.commit()
    r = office.post("/office/trace", fields(sworld))
    assert 'data-testid="trace-no-areas"' in r.text and 'href="/office/disinfection"' in r.text


def test_a_visitor_is_found_by_name_or_phone_and_traced(office, sworld, case):
    guest = case["guest"].id
    for q in ("钱访", "1234"):
        r = office.post("/office/trace/visitors", {"q": q}, htmx=True)
        assert "<html" not in r.text
        assert f'href="/office/trace?visit_id={guest}"' in r.text
        assert f'data-visit-id="{case["stranger"].id}"' not in r.text  # community b's
    r = office.post("/office/trace/visitors", {"q": ""})
    assert r.status_code == 200 and 'data-field="q"' in r.text
    r = office.get(f"/office/trace?visit_id={guest}")
    assert "钱访客" in r.text and f'name="visit_id" value="{guest}"' in r.text
    data = fields(sworld, visit_id=str(guest))
    del data["resident_id"]
    r = office.post("/office/trace", data)
    assert r.status_code == 200
    assert sworld.a.resident.name in table(r.text, "direct-contacts")
    (entry,) = traces()
    assert entry.action == "visit.trace" and entry.target_id == guest


def test_trace_links_on_the_household_page_and_in_the_people_search(office, sworld):
    link = f'href="/office/trace?resident_id={sworld.a.resident.id}"'
    assert link in office.get(f"/office/households/{sworld.a.household.id}").text
    assert link in office.post("/office/people", {"q": sworld.a.resident.name}, htmx=True).text
    page = office.get("/office/trace").text
    assert 'href="/office/trace"' in page  # the nav
    assert 'hx-post="/office/people"' in page and 'hx-post="/office/trace/visitors"' in page
