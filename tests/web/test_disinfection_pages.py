"""Disinfection rounds: the office adds areas, prints stickers and a week's record, sees what is
overdue (page and dashboard); a worker ticks an area with its sticker's token (scanned or
opened), optionally with a photo; other communities' areas are out of reach."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AuditEntry, DisinfectionRecord, PublicArea, utcnow
from kiosk.services import security
from tests import factories

from .conftest import Browser

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100


def area(site, name="1号楼 电梯", kind="lift", times=2, days_old=3, fixed="") -> tuple[int, str]:
    token = security.new_token(24)
    row = PublicArea(
        compound_id=site.compound.id,
        name=name,
        kind=kind,
        times_per_day=times,
        fixed_times=fixed,
        sticker_hash=security.token_hash(token),
        created_at=utcnow() - timedelta(days=days_old),
    )
    db.session.add(row)
    db.session.commit()
    return row.id, token


@pytest.fixture
def office_en(sqlite_app, sworld):
    return Browser(sqlite_app, lang="en").sign_in(sworld.a.office)


@pytest.fixture
def worker(sqlite_app, sworld):
    return Browser(sqlite_app, lang="en").sign_in(sworld.worker)


def test_add_an_area_with_default_times_and_errors_all_at_once(office_en, sworld):
    r = office_en.post(
        "/office/disinfection",
        {"compound_id": str(sworld.a.compound.id), "name": "东门", "kind": "gate"},
    )
    assert r.status_code == 303
    r = office_en.post(
        "/office/disinfection",
        {"compound_id": str(sworld.a.compound.id), "name": "电梯", "kind": "lift"},
    )
    added = db.session.scalars(select(PublicArea).order_by(PublicArea.id)).all()
    assert [(a.name, a.times_per_day) for a in added] == [("东门", 1), ("电梯", 2)]
    r = office_en.post(
        "/office/disinfection",
        {
            "compound_id": str(sworld.a.compound.id),
            "name": "垃圾",
            "kind": "rubbish",
            "fixed_times": "18:00, 08:00",
            "building_id": str(sworld.a.building.id),
        },
    )
    assert r.status_code == 303
    rubbish = db.session.scalar(select(PublicArea).where(PublicArea.kind == "rubbish"))
    assert rubbish.fixed_times == "08:00,18:00" and rubbish.times_per_day == 2
    r = office_en.post(
        "/office/disinfection",
        {
            "compound_id": str(sworld.a.compound.id),
            "name": "typed",
            "kind": "pool",
            "times_per_day": "0",
            "fixed_times": "25:00",
        },
    )
    assert r.status_code == 200
    assert "Choose what kind of area it is." in r.text
    assert "Times a day: a whole number from 1 to 12." in r.text
    assert "Fixed times: times of day like 08:00,18:00." in r.text
    assert 'value="typed"' in r.text
    # Another community's compound or building: refused, nothing added.
    r = office_en.post(
        "/office/disinfection",
        {"compound_id": str(sworld.b.compound.id), "name": "x", "kind": "gate"},
    )
    assert r.status_code == 200 and "Choose the compound." in r.text
    r = office_en.post(
        "/office/disinfection",
        {
            "compound_id": str(sworld.a.compound.id),
            "building_id": str(sworld.b.building.id),
            "name": "x",
            "kind": "gate",
        },
    )
    assert r.status_code == 200 and "Choose the building from the list." in r.text
    assert db.session.scalar(select(db.func.count(PublicArea.id))) == 3
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("area.create") == 3


def test_overdue_on_the_page_and_the_dashboard_until_a_worker_ticks(office_en, worker, sworld):
    lift, token = area(sworld.a)
    other, _ = area(sworld.b, name="樱桃 电梯")
    r = office_en.get("/office/disinfection")
    assert r.status_code == 200 and "<h1>Disinfection</h1>" in r.text
    assert re.search(rf'data-area-id="{lift}"[^>]*data-overdue', r.text)
    assert f'data-area-id="{other}"' not in r.text
    fragment = office_en.get("/office/disinfection", htmx=True)
    assert "<html" not in fragment.text and 'id="disinfection-areas"' in fragment.text
    dash = office_en.get("/office", htmx=True)
    assert f'data-overdue-area="{lift}"' in dash.text
    assert f'data-overdue-area="{other}"' not in dash.text

    page = worker.get("/worker/areas")
    assert page.status_code == 200 and 'data-action="camera"' in page.text
    assert re.search(rf'data-area-id="{lift}"[^>]*data-overdue', page.text)
    r = worker.post("/worker/areas/done", {"token": token, "note": "84消毒液"})
    assert r.status_code == 303 and r.headers["Location"] == "/worker/areas"
    record = db.session.scalar(select(DisinfectionRecord))
    assert record.area_id == lift and record.worker_id == sworld.worker.id
    assert record.note == "84消毒液" and record.photo is None

    r = office_en.get("/office/disinfection")
    assert not re.search(rf'data-area-id="{lift}"[^>]*data-overdue', r.text)
    assert f'data-overdue-area="{lift}"' not in office_en.get("/office", htmx=True).text


def test_the_sticker_url_opened_directly_and_a_photo(worker, sworld):
    lift, token = area(sworld.a)
    r = worker.get(f"/worker/areas/{token}")
    assert r.status_code == 200 and "1号楼 电梯" in r.text and 'data-testid="mark-done"' in r.text
    data = {"token": token, "photo": (io.BytesIO(b"<svg/>"), "x.jpg")}
    r = worker.post("/worker/areas/done", data)
    assert r.status_code == 200 and "The photo must be a JPEG, PNG or WebP image." in r.text
    data = {"token": token, "photo": (io.BytesIO(JPEG), "x.jpg")}
    r = worker.post("/worker/areas/done", data)
    assert r.status_code == 303
    record = db.session.scalar(select(DisinfectionRecord))
    assert record.photo == JPEG and record.photo_type == "image/jpeg"


def test_unknown_retired_or_foreign_stickers_are_not_found(worker, office_en, sworld):
    _, foreign = area(sworld.b)
    lift, token = area(sworld.a)
    assert worker.get(f"/worker/areas/{foreign}").status_code == 404
    assert worker.get("/worker/areas/" + "x" * 30).status_code == 404
    assert worker.get("/worker/areas/bad!").status_code == 404
    r = worker.post("/worker/areas/done", {"token": foreign}, follow_redirects=True)
    assert "This sticker is not known." in r.text
    assert office_en.post(f"/office/disinfection/areas/{lift}/retire", htmx=True).text == ""
    r = office_en.post(f"/office/disinfection/areas/{lift}/retire", htmx=True)
    assert r.status_code == 200
    assert worker.get(f"/worker/areas/{token}").status_code == 404
    assert db.session.scalar(select(db.func.count(DisinfectionRecord.id))) == 0
    other, _ = area(sworld.b, name="b")
    assert office_en.post(f"/office/disinfection/areas/{other}/retire").status_code == 404
    assert office_en.get(f"/office/disinfection/areas/{other}/week").status_code == 404


def test_stickers_issue_new_tokens_and_the_week_record(office_en, worker, sworld):
    lift, old = area(sworld.a)
    bench, _ = area(sworld.a, name="长椅", kind="bench", times=1)
    r = office_en.post("/office/disinfection/stickers", {"area_ids": str(lift)})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    urls = re.findall(r'data-sticker-url="([^"]+)"', r.text)
    assert len(urls) == 1 and "/worker/areas/" in urls[0] and "<svg" in r.text
    new = urls[0].rsplit("/", 1)[1]
    assert worker.get(f"/worker/areas/{old}").status_code == 404
    assert worker.get(f"/worker/areas/{new}").status_code == 200
    r = worker.post("/worker/areas/done", {"token": new, "photo": (io.BytesIO(JPEG), "p.jpg")})
    assert r.status_code == 303, r.text[-3000:]
    record = db.session.scalar(select(DisinfectionRecord))
    r = office_en.post("/office/disinfection/stickers", {})
    assert len(re.findall(r'data-sticker-url="', r.text)) == 2
    r = office_en.post("/office/disinfection/stickers", {"area_ids": "999999"})
    assert r.status_code == 303
    r = office_en.get(f"/office/disinfection/areas/{lift}/week")
    assert r.status_code == 200 and "worker_a" in r.text
    assert f"/office/disinfection/records/{record.id}/photo" in r.text
    photo = office_en.get(f"/office/disinfection/records/{record.id}/photo")
    assert photo.data == JPEG and photo.headers["Content-Type"] == "image/jpeg"
    r = office_en.get(f"/office/disinfection/areas/{bench}/week?until=2020-01-07")
    assert 'data-day="2020-01-01"' in r.text and 'data-day="2020-01-07"' in r.text
    b_office = Browser(office_en.client.application).sign_in(sworld.b.office)
    assert b_office.get(f"/office/disinfection/records/{record.id}/photo").status_code == 404


def test_the_office_gives_areas_to_workers_whose_lists_show_theirs_first(
    sqlite_app, office_en, worker, sworld
):
    """An area given to a worker comes first on their phone (marked as theirs), areas given to
    nobody next, another worker's last with its name; the dashboard's overdue block says whose
    it is; the choice is audited, and only a worker of the area's community can be chosen."""
    theirs, _ = area(sworld.a, "2号楼 楼梯间", kind="stairwell", days_old=0)
    overdue_mine, _ = area(sworld.a, "1号楼 电梯")  # overdue: created 3 days ago, never done
    nobodys, _ = area(sworld.a, "东门岗亭", kind="gate", days_old=0)
    colleague = factories.user("worker_a2", "worker", community_id=sworld.a.community.id)
    other_community = factories.user("worker_b", "worker", community_id=sworld.b.community.id)
    db.session.commit()

    page = office_en.get("/office/disinfection").text
    assert f'<option value="{colleague.id}"' in page
    assert f'<option value="{other_community.id}"' not in page  # not of this community
    r = office_en.post(
        f"/office/disinfection/areas/{overdue_mine}/worker",
        {"worker_id": str(sworld.worker.id)},
        htmx=True,
    )
    assert r.status_code == 200 and 'id="disinfection-areas"' in r.text and "<html" not in r.text
    assert re.search(
        rf'data-area-id="{overdue_mine}".*?<option value="{sworld.worker.id}" selected>',
        r.text,
        re.S,
    )
    r = office_en.post(
        f"/office/disinfection/areas/{theirs}/worker", {"worker_id": str(colleague.id)}
    )
    assert r.status_code == 303

    mine = worker.get("/worker/areas").text
    order = [
        int(i) for i in re.findall(r'<li class="card area-item[^"]*" data-area-id="(\d+)"', mine)
    ]
    assert order == [overdue_mine, nobodys, theirs]
    assert mine.count('data-testid="area-mine"') == 1
    assert "given to worker_a2" in mine
    assert re.search(
        r'data-overdue-area="\d+">.*?data-testid="overdue-worker">' + sworld.worker.username,
        office_en.get("/office").text,
        re.S,
    )
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "area.assign", AuditEntry.target_id == overdue_mine
        )
    )
    assert entry is not None and entry.community_id == sworld.a.community.id

    # Another community's worker, or nobody's id: the message, nothing changed. Back to anyone.
    for bad in (str(other_community.id), "999999", "x"):
        r = office_en.post(
            f"/office/disinfection/areas/{theirs}/worker",
            {"worker_id": bad},
            follow_redirects=True,
        )
        assert "Choose a worker from the list." in r.text
        assert db.session.get(PublicArea, theirs).worker_id == colleague.id
    office_en.post(f"/office/disinfection/areas/{theirs}/worker", {"worker_id": ""})
    db.session.expire_all()
    assert db.session.get(PublicArea, theirs).worker_id is None


def test_another_communitys_office_cannot_give_an_area(sqlite_app, sworld):
    area_id, _ = area(sworld.a)
    office_b = Browser(sqlite_app).sign_in(sworld.b.office)
    r = office_b.post(
        f"/office/disinfection/areas/{area_id}/worker", {"worker_id": str(sworld.worker.id)}
    )
    assert r.status_code == 404
    assert db.session.get(PublicArea, area_id).worker_id is None
