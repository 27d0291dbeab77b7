"""The guard's scan page, its live panel (occupancy, last decisions) and the no-code look-up."""

from __future__ import annotations

import re
from datetime import timedelta

from kiosk.extensions import db
from kiosk.models import Gate, Visit, utcnow
from kiosk.services import scan as scan_service
from kiosk.services.gate import GateAction
from tests import factories

from .conftest import attr, decision_of, events


def occupancy_of(text: str) -> int:
    found = re.search(r'data-testid="occupancy">(\d+)<', text)
    assert found, "no occupancy on the page"
    return int(found.group(1))


def recent_ids(text: str) -> list[int]:
    return [
        int(x)
        for x in re.findall(
            r'<li class="recent-\w+" data-decision="\w+" data-event-id="(\d+)"', text
        )
    ]


# --- the scan page ----------------------------------------------------------------------------


def test_scan_page_shows_gate_directions_wedge_and_occupancy(stablet, sworld):
    r = stablet.get("/gate")
    assert r.status_code == 200
    page = r.text
    assert "<html" in page
    assert "<h1>丰台小区 · 东门</h1>" in page
    assert 'data-direction="in"' in page and ">进</button>" in page
    assert 'data-direction="out"' in page and ">出</button>" in page
    assert '<input id="wedge" name="code"' in page
    assert "扫描通行码（扫码枪或摄像头）" in page
    assert occupancy_of(page) == 0
    assert "还没有扫码记录。" in page
    assert 'class="guard">guard_a<' in page  # who is on duty
    assert "交班" in page  # the End shift button


def test_closed_gate_is_marked_on_the_scan_page(stablet, sworld):
    sworld.a.gate.is_open = False
    db.session.commit()
    page = stablet.get("/gate", lang="en").text
    assert '<span class="closed">closed</span>' in page


def test_panel_is_a_fragment_counting_the_people_inside_now(app, world, tablet):
    """Per person, from each person's last allowed passage: not entries minus exits today."""
    a, b = world.a, world.b
    west = Gate(compound_id=a.compound.id, name="西门")
    db.session.add(west)
    db.session.flush()
    _west_device, west_token = factories.device(west, "west tablet")
    people = [a.resident] + [factories.resident(a.household, f"住户{i}") for i in range(4)]
    passes = [a.pass_] + [factories.pass_for(p) for p in people[1:]]
    people[4].presence = "in"  # came in yesterday, still inside
    other = factories.pass_for(factories.resident(b.household, "邻居"))
    visitor = Visit(
        compound_id=a.compound.id,
        host_household_id=a.household.id,
        name="王五",
        phone_hash="x" * 64,
        phone_last4="0000",
        purpose="delivery",
        health_code="green",
        via="gate",
        status="inside",
    )
    db.session.add(visitor)
    db.session.commit()

    def scan(token, p, direction):
        return scan_service.scan(GateAction(device_token=token), factories.code(p), direction, 36.5)

    scan(a.device_token, passes[0], "in")
    scan(west_token, passes[1], "in")  # another gate of the same compound counts
    scan(a.device_token, passes[2], "in")
    scan(west_token, passes[2], "out")  # in and out again: not inside
    again = scan(a.device_token, passes[0], "in")  # already inside: the guard lets them in
    assert again.decision == "refer"
    tablet.post(
        f"/gate/events/{again.event_id}/override",
        {"decision": "allow", "reason": "known_resident"},
        htmx=True,
    )
    scan(a.device_token, passes[3], "out")  # never scanned in: leaving does not go below zero
    scan(b.device_token, other, "in")  # another compound's

    r = tablet.get("/gate/panel", htmx=True)
    assert r.status_code == 200
    assert "<html" not in r.text
    assert r.text.lstrip().startswith('<div id="panel-live"')
    assert "HX-Request" in r.headers.get("Vary", "")
    # people 0 (once, though let in twice), 1, 4 (since yesterday) and the visitor
    assert occupancy_of(r.text) == 4
    assert occupancy_of(tablet.get("/gate").text) == 4


def test_panel_lists_the_last_ten_decisions_newest_first_with_masked_names(app, world, tablet):
    a = world.a
    now = utcnow()
    ids = []
    for i in range(12):
        e = factories.event(
            a.gate,
            now - timedelta(minutes=12 - i),
            "in",
            "allow" if i % 2 else "deny",
            resident_id=a.resident.id,
            pass_id=a.pass_.id,
        )
        ids.append(e.id)
    factories.event(world.b.gate, now, "in", "allow", resident_id=world.b.resident.id)
    db.session.commit()

    panel = tablet.get("/gate/panel", htmx=True).text
    assert recent_ids(panel) == list(reversed(ids))[:10]
    assert panel.count('<span class="who">张**</span>') == 10
    assert "张三丰" not in panel
    full = tablet.get("/gate").text
    assert recent_ids(full) == list(reversed(ids))[:10]
    assert "张三丰" not in full


# --- no code: the look-up ---------------------------------------------------------------------


def test_lookup_is_a_page_or_a_fragment_listing_this_compounds_buildings(stablet, sworld):
    page = stablet.get("/gate/lookup")
    assert page.status_code == 200
    assert "<html" in page.text and "返回扫码" in page.text
    assert "<h2>无码：查找居民</h2>" in page.text
    fragment = stablet.get("/gate/lookup", htmx=True)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.startswith('<div id="lookup"')
    for text in (page.text, fragment.text):
        assert f'<option value="{sworld.a.building.id}" >1号楼</option>' in text
        assert f'<option value="{sworld.b.building.id}"' not in text


def _with_id_last4(world, last4="123X"):
    world.a.resident.id_last4 = last4
    world.b.resident.id_last4 = last4  # same building name, unit and digits in the other compound
    db.session.commit()


def test_lookup_finds_the_resident_by_building_unit_and_last_four(app, world, tablet):
    _with_id_last4(world)
    form = {"building_id": str(world.a.building.id), "unit": "2", "last4": "123x"}
    r = tablet.post("/gate/lookup", form, htmx=True)
    assert r.status_code == 200
    assert "<html" not in r.text
    assert "张** · 1号楼 2单元" in r.text
    assert "张三丰" not in r.text
    assert f'data-resident-id="{world.a.resident.id}"' in r.text
    assert f'data-resident-id="{world.b.resident.id}"' not in r.text
    assert "核验此人" in r.text


def test_lookup_without_a_match_says_so_and_keeps_the_form(app, world, tablet):
    _with_id_last4(world)
    form = {"building_id": str(world.a.building.id), "unit": "2", "last4": "9999"}
    r = tablet.post("/gate/lookup", form, htmx=True, lang="en")
    assert r.status_code == 200
    assert "Nobody matches. Check the building, unit and the four characters." in r.text
    assert 'name="unit" value="2"' in r.text and 'name="last4" value="9999"' in r.text
    assert "data-resident-id" not in r.text
    # Another compound's building: nobody, even with the right unit and digits.
    form = {"building_id": str(world.b.building.id), "unit": "2", "last4": "123X"}
    r = tablet.post("/gate/lookup", form, htmx=True, lang="en")
    assert "Nobody matches" in r.text and "data-resident-id" not in r.text


def test_lookup_with_too_few_characters_asks_for_four(stablet, sworld):
    form = {"building_id": str(sworld.a.building.id), "unit": "2", "last4": "12"}
    r = stablet.post("/gate/lookup", form, htmx=True, lang="en")
    assert r.status_code == 200
    assert "Enter the last four characters of the ID number." in r.text
    r = stablet.post("/gate/lookup", {"unit": "2", "last4": "1234"}, htmx=True, lang="en")
    assert "Choose the building." in r.text


def test_manual_check_is_decided_and_logged_as_manual(app, world, tablet):
    a = world.a
    paper = factories.pass_for(a.resident, kind="paper")
    db.session.commit()
    r = tablet.post(
        "/gate/manual",
        {
            "resident_id": str(a.resident.id),
            "direction": "in",
            "temperature": "36.4",
            "request_id": "m-1",
        },
        htmx=True,
    )
    assert decision_of(r) == ("allow", [])
    assert r.headers["HX-Trigger"] == "scanned"
    assert "张**" in r.text and "张三丰" not in r.text
    assert "纸质通行证：请核对本人与身份证。" in r.text  # the paper pass is preferred
    (event,) = events()
    assert event.manual is True
    assert event.pass_id == paper.id
    assert event.resident_id == a.resident.id
    assert event.user_id == a.guard.id
    assert event.temperature == 36.4
    panel = tablet.get("/gate/panel", htmx=True).text
    assert "<em>人工</em>" in panel


def test_manual_check_of_another_compounds_resident_is_404_and_logs_nothing(app, world, tablet):
    r = tablet.post(
        "/gate/manual",
        {"resident_id": str(world.b.resident.id), "direction": "in", "temperature": "36.5"},
        htmx=True,
    )
    assert r.status_code == 404
    assert events() == []


def test_manual_check_of_a_person_without_a_pass_is_a_problem(app, world, tablet):
    nobody = factories.resident(world.a.household, "李四")
    db.session.commit()
    r = tablet.post(
        "/gate/manual",
        {"resident_id": str(nobody.id), "direction": "in", "temperature": "36.5"},
        htmx=True,
        lang="en",
    )
    assert r.status_code == 200
    assert attr(r, "data-decision") == "problem"
    assert "This person has no pass. The office must issue one." in r.text
    assert events() == []
