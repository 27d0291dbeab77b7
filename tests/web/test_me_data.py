""" "My data": the resident's record, passes, gate events, tests, and their household's visits
and service requests, as a page and as a JSON download; nothing about anyone outside the
household."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from kiosk.extensions import db
from kiosk.models import ServiceRequest, TestResult, Visit, utcnow
from tests import factories

from .conftest import Browser

EN = "en-US,en;q=0.8"


def visit(site, name: str, **kw) -> Visit:
    v = Visit(
        compound_id=site.compound.id,
        host_household_id=site.household.id,
        name=name,
        phone_hash="x" * 64,
        phone_last4="8000",
        purpose="visit",
        health_code="green",
        via="self",
        status=kw.pop("status", "left"),
        **kw,
    )
    db.session.add(v)
    db.session.flush()
    return v


def data_world(world) -> dict:
    a, b, now = world.a, world.b, utcnow()
    a.resident.id_last4, a.resident.phone_last4 = "123X", "8001"
    me = factories.user("zhang", "resident", household_id=a.household.id, resident_id=a.resident.id)
    sister = factories.resident(a.household, "张小妹")
    mine = factories.event(
        a.gate,
        now - timedelta(hours=2),
        "out",
        "deny",
        reasons="household_observation",
        resident_id=a.resident.id,
        pass_id=a.pass_.id,
    )
    factories.event(a.gate, now - timedelta(hours=1), "in", "allow", resident_id=sister.id)
    theirs = factories.event(b.gate, now, "in", "allow", resident_id=b.resident.id)
    db.session.add_all(
        [
            TestResult(
                resident_id=a.resident.id, taken_at=now - timedelta(days=1), result="negative"
            ),
            TestResult(resident_id=b.resident.id, taken_at=now, result="positive"),
            ServiceRequest(household_id=a.household.id, community_id=a.community.id, kind="water"),
            ServiceRequest(
                household_id=b.household.id,
                community_id=b.community.id,
                kind="medicine",
                note="樱桃家的药",
            ),
        ]
    )
    visit(a, "王小明", valid_on=date.today(), checked_in_at=now - timedelta(hours=3))
    visit(b, "李大壮")
    db.session.commit()
    return {"me": me, "mine": mine, "theirs": theirs, "sister": sister}


def test_the_page_shows_what_is_held(sqlite_app, sworld):
    d = data_world(sworld)
    r = Browser(sqlite_app, lang=EN).sign_in(d["me"]).get("/me/data")
    assert r.status_code == 200
    page = r.text
    assert "张三丰" in page and "zhang" in page and "丰台小区 1号楼 unit 2 room 301" in page
    assert "…123X" in page and "…8001" in page
    assert f'data-event-id="{d["mine"].id}"' in page and "denied" in page
    assert f'data-event-id="{d["theirs"].id}"' not in page
    assert "王**" in page and "王小明" not in page
    for foreign in ("樱桃", "李大壮", "李**", "樱桃家的药", "positive"):
        assert foreign not in page, foreign
    assert 'href="/me/data.json"' in page


def test_the_json_download_has_their_events_and_nothing_of_household_b(sqlite_app, sworld):
    d = data_world(sworld)
    r = Browser(sqlite_app).sign_in(d["me"]).get("/me/data.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    assert "no-store" in r.headers["Cache-Control"]
    doc = json.loads(r.data)
    assert doc["record"]["name"] == "张三丰" and doc["record"]["id_last4"] == "123X"
    assert [e["id"] for e in doc["events"]] == [d["mine"].id]  # not the sister's, not b's
    assert doc["events"][0]["reasons"] == ["household_observation"]
    assert doc["events"][0]["gate"] == "东门" and doc["events"][0]["decision"] == "deny"
    assert [p["id"] for p in doc["passes"]] == [sworld.a.pass_.id]
    assert [t["result"] for t in doc["tests"]] == ["negative"]
    assert [v["visitor"] for v in doc["visits"]] == ["王**"]
    assert [s["kind"] for s in doc["service_requests"]] == ["water"]
    text = r.get_data(as_text=True)
    for foreign in ("樱桃", "李大壮", "樱桃家的药", "positive", "phone_hash", "id_hash", "张小妹"):
        assert foreign not in text, foreign


@pytest.mark.parametrize("path", ["/me/data", "/me/data.json"])
def test_only_a_joined_resident(sqlite_app, sworld, path):
    assert Browser(sqlite_app).get(path).status_code == 302
    for user in (sworld.a.office, sworld.a.guard, sworld.worker, sworld.resident_user):
        assert Browser(sqlite_app).sign_in(user).get(path).status_code == 403


def test_an_empty_record_renders(sqlite_app, sworld):
    me = factories.user(
        "solo", "resident", household_id=sworld.b.household.id, resident_id=sworld.b.resident.id
    )
    db.session.commit()
    r = Browser(sqlite_app).sign_in(me).get("/me/data")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text and "樱桃小区" in r.text
