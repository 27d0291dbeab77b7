"""POST /gate/scan and what follows on the tablet: overrides of referred scans, fever and the
second reading, and what the office sees of them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kiosk.extensions import db
from kiosk.models import AccessEvent, Alert, utcnow
from tests import factories

from .conftest import attr, decision_of, events

FORGED = "K1R:T1:1:ZZZZ:AAAAAAAAAAAAAAAAAAAA"


def problem_of(response) -> str:
    """The message of a problem answer: nothing decided, shown to the guard, status 200."""
    assert response.status_code == 200, (response.status_code, response.text)
    assert attr(response, "data-decision") == "problem"
    found = re.search(r'<p class="reasons">(.*?)</p>', response.text, re.S)
    assert found
    return found.group(1).strip()


# --- scans ------------------------------------------------------------------------------------


def test_allowed_scan_shows_the_masked_holder_and_is_logged_with_the_guard(app, world, tablet):
    a = world.a
    r = tablet.scan(factories.code(a.pass_), temperature="36.5")
    assert decision_of(r) == ("allow", [])
    assert r.headers["HX-Trigger"] == "scanned"
    assert "<html" not in r.text
    assert '<div class="verdict">放行</div>' in r.text
    assert '<span class="name">张**</span>' in r.text and "张三丰" not in r.text
    assert "1号楼 2单元" in r.text and "手机通行证" in r.text
    assert "纸质通行证：请核对本人与身份证。" not in r.text
    (event,) = events()
    assert int(attr(r, "data-event-id")) == event.id
    assert (event.user_id, event.device_id, event.gate_id) == (a.guard.id, a.device.id, a.gate.id)
    assert (event.pass_id, event.resident_id, event.direction) == (a.pass_.id, a.resident.id, "in")
    assert event.temperature == 36.5 and event.manual is False
    # The exit needs no temperature.
    r = tablet.scan(factories.code(a.pass_), direction="out", temperature=None)
    assert decision_of(r) == ("allow", [])


def test_forged_code_is_denied_and_logged_without_a_pass(sqlite_app, sworld, stablet):
    r = stablet.scan(FORGED)
    assert decision_of(r) == ("deny", ["invalid_code"])
    assert "不是本小区有效的通行码" in r.text
    assert 'class="holder"' not in r.text
    (event,) = events()
    assert event.decision == "deny" and event.pass_id is None and event.user_id == sworld.a.guard.id


def test_another_compounds_pass_is_denied(sqlite_app, sworld, stablet):
    r = stablet.scan(factories.code(sworld.b.pass_))
    assert decision_of(r) == ("deny", ["other_compound"])
    assert "这是其他小区的通行证" in r.text


def test_second_entry_is_referred_with_the_override_form(app, world, tablet):
    code = factories.code(world.a.pass_)
    assert decision_of(tablet.scan(code)) == ("allow", [])
    r = tablet.scan(code)
    assert decision_of(r) == ("refer", ["already_inside"])
    assert '<div class="verdict">请核实</div>' in r.text
    assert "记录显示此证已在小区内" in r.text
    event_id = attr(r, "data-event-id")
    assert f'<form class="override" hx-post="/gate/events/{event_id}/override"' in r.text
    assert 'name="decision" value="allow"' in r.text and 'name="decision" value="deny"' in r.text
    assert "放行理由" in r.text


def test_entry_without_temperature_is_referred_where_the_compound_requires_it(app, world, tablet):
    r = tablet.scan(factories.code(world.a.pass_), temperature=None)
    assert decision_of(r) == ("refer", ["temperature_required"])
    assert "进入前请先测体温" in r.text
    assert '<form class="override"' in r.text
    world.a.compound.temperature_required = False
    db.session.commit()
    assert decision_of(tablet.scan(factories.code(world.a.pass_), temperature=None)) == (
        "allow",
        [],
    )


@pytest.mark.parametrize(
    ("temperature", "message"),
    [
        ("50", "50.0 °C is not a possible body temperature (34.0–43.0). Measure again."),
        ("33.9", "33.9 °C is not a possible body temperature (34.0–43.0). Measure again."),
        ("hot", "Temperature must be a number."),
    ],
)
def test_impossible_temperature_is_a_problem_and_logs_nothing(
    sqlite_app, sworld, stablet, temperature, message
):
    r = stablet.scan(factories.code(sworld.a.pass_), temperature=temperature, lang="en")
    assert problem_of(r) == message
    assert "HX-Trigger" not in r.headers
    assert events() == []


def test_bad_direction_is_a_problem(sqlite_app, sworld, stablet):
    r = stablet.scan(factories.code(sworld.a.pass_), direction="sideways", lang="en")
    assert problem_of(r) == "direction: must be in or out."
    assert events() == []


def test_a_repeated_request_id_is_logged_once(app, world, tablet):
    code = factories.code(world.a.pass_)
    first = tablet.scan(code, request_id="tab-1-0001")
    again = tablet.scan(code, request_id="tab-1-0001")
    assert decision_of(first) == decision_of(again) == ("allow", [])
    assert attr(again, "data-event-id") == attr(first, "data-event-id")
    assert attr(again, "data-replayed") == "1" and attr(first, "data-replayed") is None
    assert len(events()) == 1
    # A new request id is a new scan: the person is inside now.
    assert decision_of(tablet.scan(code, request_id="tab-1-0002")) == ("refer", ["already_inside"])


def test_paper_pass_asks_to_check_the_face_in_either_language(sqlite_app, sworld, stablet):
    paper = factories.pass_for(sworld.a.resident, kind="paper")
    db.session.commit()
    code = factories.code(paper)
    r = stablet.scan(code)
    assert decision_of(r) == ("allow", [])
    assert '<p class="paper-note">纸质通行证：请核对本人与身份证。</p>' in r.text
    assert "纸质通行证</span>" in r.text
    r = stablet.scan(code, direction="out", lang="en")
    assert '<p class="paper-note">Paper pass: check the face against the ID card.</p>' in r.text


# --- overrides --------------------------------------------------------------------------------


def referred(tablet, world) -> int:
    code = factories.code(world.a.pass_)
    tablet.scan(code)
    r = tablet.scan(code)
    assert decision_of(r)[0] == "refer"
    return int(attr(r, "data-event-id"))


def test_guard_allows_a_referred_scan_with_a_reason_and_the_office_sees_it(
    app, world, tablet, office
):
    event_id = referred(tablet, world)
    r = tablet.post(
        f"/gate/events/{event_id}/override",
        {"decision": "allow", "reason": "checked_id", "note": "本人 与证件 一致"},
        htmx=True,
    )
    assert decision_of(r) == ("allow", ["already_inside"])
    assert r.headers["HX-Trigger"] == "scanned"
    child = events()[-1]
    assert int(attr(r, "data-event-id")) == child.id
    assert child.override is True and child.parent_id == event_id
    assert child.user_id == world.a.guard.id
    assert (child.override_reason, child.note) == ("checked_id", "本人 与证件 一致")
    assert child.pass_id == world.a.pass_.id and child.direction == "in"

    panel = tablet.get("/gate/panel", htmx=True).text
    assert "<em>由 guard_a 决定</em>" in panel

    page = office.get("/office").text
    row = re.search(r'<tr class="override-allow">(.*?)</tr>', page, re.S)
    assert row, page
    cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]
    assert cells[1:] == [
        "东门",
        "guard_a",
        "已放行",
        "记录显示此证已在小区内",
        "已核对身份证: 本人 与证件 一致",
    ]


def test_guard_denies_a_referred_scan_without_a_reason(app, world, tablet, office):
    event_id = referred(tablet, world)
    r = tablet.post(f"/gate/events/{event_id}/override", {"decision": "deny"}, htmx=True)
    assert decision_of(r) == ("deny", ["already_inside"])
    child = events()[-1]
    assert (child.decision, child.override, child.parent_id, child.note) == (
        "deny",
        True,
        event_id,
        None,
    )
    assert '<tr class="override-deny">' in office.get("/office").text


def test_allow_needs_a_reason_and_other_needs_a_note(sqlite_app, sworld, stablet):
    event_id = referred(stablet, sworld)
    before = len(events())
    r = stablet.post(
        f"/gate/events/{event_id}/override", {"decision": "allow"}, htmx=True, lang="en"
    )
    # The CHECK screen stays, with the message, so the guard can complete it.
    assert decision_of(r) == ("refer", ["already_inside"])
    assert re.search(r'<p class="error" role="alert">Reason: must be one of [^<]+</p>', r.text)
    r = stablet.post(
        f"/gate/events/{event_id}/override",
        {"decision": "allow", "reason": "other", "note": " "},
        htmx=True,
        lang="en",
    )
    assert decision_of(r) == ("refer", ["already_inside"])
    assert '<p class="error" role="alert">Note (required for other)</p>' in r.text
    assert '<option value="other" selected>' in r.text
    assert len(events()) == before


def test_only_a_referred_scan_can_be_decided_and_only_once(app, world, tablet):
    allowed = tablet.scan(factories.code(world.a.pass_))
    r = tablet.post(
        f"/gate/events/{attr(allowed, 'data-event-id')}/override",
        {"decision": "deny"},
        htmx=True,
    )
    assert problem_of(r) == "只有待核实的扫码才能由门岗决定。"
    assert len(events()) == 1

    event_id = int(attr(tablet.scan(factories.code(world.a.pass_)), "data-event-id"))
    form = {"decision": "allow", "reason": "known_resident"}
    assert (
        decision_of(tablet.post(f"/gate/events/{event_id}/override", form, htmx=True))[0] == "allow"
    )
    count = len(events())
    for again in (form, {"decision": "deny"}):
        r = tablet.post(f"/gate/events/{event_id}/override", again, htmx=True)
        assert problem_of(r) == "这次扫码已经处理过了。"
    # Nor can the override itself be overridden.
    child_id = events()[-1].id
    r = tablet.post(f"/gate/events/{child_id}/override", {"decision": "deny"}, htmx=True)
    assert problem_of(r) == "只有待核实的扫码才能由门岗决定。"
    assert len(events()) == count


def test_a_referred_scan_older_than_ten_minutes_is_not_decided(sqlite_app, sworld, stablet):
    event_id = referred(stablet, sworld)
    db.session.get(AccessEvent, event_id).occurred_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    r = stablet.post(f"/gate/events/{event_id}/override", {"decision": "deny"}, htmx=True)
    assert problem_of(r) == "这次扫码时间太久，请重新扫码。"
    assert not any(e.parent_id == event_id for e in events())


def test_an_event_of_another_gate_is_not_found(app, world, tablet):
    other = factories.event(world.b.gate, utcnow(), "in", "refer", reasons="temperature_required")
    fever = factories.event(
        world.b.gate, utcnow(), "in", "deny", reasons="fever", pass_id=world.b.pass_.id
    )
    db.session.commit()
    r = tablet.post(f"/gate/events/{other.id}/override", {"decision": "deny"}, htmx=True)
    assert r.status_code == 404
    r = tablet.post(f"/gate/events/{fever.id}/remeasure", {"temperature": "36.5"}, htmx=True)
    assert r.status_code == 404
    assert (
        tablet.post("/gate/events/99999/override", {"decision": "deny"}, htmx=True).status_code
        == 404
    )
    assert len(events()) == 2


# --- fever ------------------------------------------------------------------------------------


def test_fever_is_refused_alerts_the_office_and_can_be_acknowledged(app, world, tablet, office):
    r = tablet.scan(factories.code(world.a.pass_), temperature="38.0")
    assert decision_of(r) == ("deny", ["fever"])
    assert "体温异常：禁止进入" in r.text
    event_id = int(attr(r, "data-event-id"))
    assert f'data-url="/gate/events/{event_id}/remeasure"' in r.text
    assert "请此人在阴凉处休息，5 分钟后复测。" in r.text
    (alert,) = db.session.scalars(db.select(Alert)).all()
    assert (alert.community_id, alert.gate_id, alert.event_id) == (
        world.a.community.id,
        world.a.gate.id,
        event_id,
    )
    assert alert.temperature == 38.0 and alert.acknowledged_at is None

    page = office.get("/office").text
    row = re.search(rf'<tr data-alert-id="{alert.id}">(.*?)</tr>', page, re.S)
    assert row and "丰台小区 东门" in row.group(1) and "<strong>38.0 °C</strong>" in row.group(1)
    assert "张** · 1号楼 2单元 301室" in row.group(1)  # whose it was, for the office
    assert f'hx-post="/office/alerts/{alert.id}/ack"' in row.group(1)
    assert ">标记为已处理</button>" in row.group(1)
    assert "<th>人员</th>" in page  # the table has its header row

    r = office.post(f"/office/alerts/{alert.id}/ack", htmx=True)
    assert r.status_code == 200 and r.text == ""
    db.session.refresh(alert)
    assert alert.acknowledged_at is not None and alert.acknowledged_by_id == world.a.office.id
    page = office.get("/office").text
    assert f'data-alert-id="{alert.id}"' not in page and "没有未处理的警报。" in page


def test_a_second_reading_is_logged_against_the_fever_scan(app, world, tablet):
    fever_id = int(
        attr(tablet.scan(factories.code(world.a.pass_), temperature="38.0"), "data-event-id")
    )
    r = tablet.post(f"/gate/events/{fever_id}/remeasure", {"temperature": "36.6"}, htmx=True)
    assert decision_of(r) == ("allow", [])
    assert r.headers["HX-Trigger"] == "scanned"
    second = events()[-1]
    assert int(attr(r, "data-event-id")) == second.id
    assert (second.parent_id, second.temperature, second.user_id) == (
        fever_id,
        36.6,
        world.a.guard.id,
    )
    assert (second.pass_id, second.direction, second.override) == (world.a.pass_.id, "in", False)
    # Still hot: refused again and a new alert.
    r = tablet.post(f"/gate/events/{fever_id}/remeasure", {"temperature": "37.5"}, htmx=True)
    assert decision_of(r) == ("deny", ["already_inside", "fever"])
    assert len(db.session.scalars(db.select(Alert)).all()) == 2


def test_only_a_fever_scan_can_be_measured_again(sqlite_app, sworld, stablet):
    allowed_id = attr(stablet.scan(factories.code(sworld.a.pass_)), "data-event-id")
    r = stablet.post(f"/gate/events/{allowed_id}/remeasure", {"temperature": "36.6"}, htmx=True)
    assert problem_of(r) == "只有体温异常的记录可以复测。"
    stablet.scan(factories.code(sworld.a.pass_), direction="out", temperature=None)
    fever = stablet.scan(factories.code(sworld.a.pass_), temperature="39.1")
    assert decision_of(fever) == ("deny", ["fever"])
    fever_id = attr(fever, "data-event-id")
    r = stablet.post(f"/gate/events/{fever_id}/remeasure", {"temperature": ""}, htmx=True)
    assert problem_of(r) == "请输入复测体温。"
    assert not any(e.parent_id is not None for e in events())


def test_a_bad_override_form_for_another_gates_event_shows_nothing_of_it(app, world, tablet):
    """The form's problems are shown only for an event of this gate: another compound's scan is
    not found, whatever the form says, and an impossible id is a 404 too, never a 500."""
    b = world.b
    theirs = factories.event(
        b.gate,
        utcnow(),
        "in",
        "refer",
        reasons="already_inside",
        pass_id=b.pass_.id,
        resident_id=b.resident.id,
    )
    db.session.commit()
    for form in ({"decision": "bogus"}, {"decision": "allow"}, {}):
        r = tablet.post(f"/gate/events/{theirs.id}/override", form, htmx=True)
        assert r.status_code == 404 and "1号楼" not in r.text and "张**" not in r.text
    for event_id in (999999, 2**63, 2**70):
        r = tablet.post(f"/gate/events/{event_id}/override", {"decision": "bogus"}, htmx=True)
        assert r.status_code == 404


def test_another_compounds_pass_leaves_no_link_to_its_holder_in_this_gates_log(app, world, tablet):
    r = tablet.scan(factories.code(world.b.pass_))
    assert decision_of(r) == ("deny", ["other_compound"])
    (event,) = events()
    assert (event.pass_id, event.resident_id) == (None, None)
    panel = tablet.get("/gate/panel", htmx=True).text
    assert "张**" not in panel and f'data-event-id="{event.id}"' in panel


def test_a_second_reading_that_is_referred_can_be_decided_by_the_guard(app, world, tablet):
    code = factories.code(world.a.pass_)
    tablet.scan(code)  # inside now
    hot = tablet.scan(code, temperature="38.2")
    assert decision_of(hot) == ("deny", ["already_inside", "fever"])
    hot_id = attr(hot, "data-event-id")
    second = tablet.post(f"/gate/events/{hot_id}/remeasure", {"temperature": "36.5"}, htmx=True)
    assert decision_of(second) == ("refer", ["already_inside"])
    second_id = attr(second, "data-event-id")
    r = tablet.post(
        f"/gate/events/{second_id}/override",
        {"decision": "allow", "reason": "known_resident"},
        htmx=True,
    )
    assert decision_of(r) == ("allow", ["already_inside"])
    assert events()[-1].override and events()[-1].parent_id == int(second_id)


def test_a_fever_scan_older_than_ten_minutes_is_not_measured_again(sqlite_app, sworld, stablet):
    fever = stablet.scan(factories.code(sworld.a.pass_), temperature="39.1")
    event = events()[-1]
    event.occurred_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    r = stablet.post(
        f"/gate/events/{attr(fever, 'data-event-id')}/remeasure", {"temperature": "36.6"}, htmx=True
    )
    assert problem_of(r) == "这次扫码时间太久，请重新扫码。"
    assert len(events()) == 1


def test_a_passing_second_reading_closes_the_fever_alert_and_the_office_sees_both(
    app, world, tablet, office
):
    fever = tablet.scan(factories.code(world.a.pass_), temperature="38.0")
    fever_id = attr(fever, "data-event-id")
    (alert,) = db.session.scalars(db.select(Alert)).all()
    still_hot = tablet.post(
        f"/gate/events/{fever_id}/remeasure", {"temperature": "37.6"}, htmx=True
    )
    assert decision_of(still_hot) == ("deny", ["fever"])
    db.session.refresh(alert)
    assert alert.acknowledged_at is None  # still hot: the first alert stays open
    passing = tablet.post(f"/gate/events/{fever_id}/remeasure", {"temperature": "36.6"}, htmx=True)
    assert decision_of(passing) == ("allow", [])
    db.session.refresh(alert)
    assert alert.acknowledged_at is not None and alert.acknowledged_by_id is None
    assert alert.closed_by_event_id == int(attr(passing, "data-event-id"))

    page = office.get("/office").text
    assert f'data-alert-id="{alert.id}"' not in page  # not open any more
    row = re.search(rf'<tr data-closed-alert-id="{alert.id}">(.*?)</tr>', page, re.S)
    assert row, page
    assert "张** · 1号楼" in row.group(1) and "38.0 °C" in row.group(1)
    assert "<strong>36.6 °C</strong>" in row.group(1)


# --- referred scans stay open until decided ---------------------------------------------------


def pending_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-pending-id="(\d+)"', page)]


def test_a_dismissed_refer_waits_on_the_panel_until_the_guard_decides_it(
    app, world, tablet, office
):
    event_id = referred(tablet, world)  # the guard tapped OK: the answer is gone from the screen
    panel = tablet.get("/gate/panel", htmx=True).text
    assert pending_ids(panel) == [event_id]
    assert "等待您决定" in panel and "记录显示此证已在小区内" in panel
    assert f'hx-get="/gate/events/{event_id}"' in panel
    row = re.search(
        rf'<tr data-undecided-id="{event_id}">(.*?)</tr>', office.get("/office").text, re.S
    )
    assert row and "张**" in row.group(1) and "东门" in row.group(1)

    again = tablet.get(f"/gate/events/{event_id}", htmx=True)
    assert decision_of(again) == ("refer", ["already_inside"])
    assert 'name="reason"' in again.text  # the decision form, as when it was scanned

    tablet.post(
        f"/gate/events/{event_id}/override",
        {"decision": "allow", "reason": "known_resident"},
        htmx=True,
    )
    assert pending_ids(tablet.get("/gate/panel", htmx=True).text) == []
    assert f'data-undecided-id="{event_id}"' not in office.get("/office").text


def test_a_refer_is_no_longer_waiting_once_the_person_is_scanned_again(app, world, tablet):
    event_id = referred(tablet, world)
    assert pending_ids(tablet.get("/gate/panel", htmx=True).text) == [event_id]
    tablet.scan(factories.code(world.a.pass_), direction="out", temperature=None)
    assert pending_ids(tablet.get("/gate/panel", htmx=True).text) == []


def test_a_refer_too_old_to_decide_leaves_the_tablet_but_not_the_office(
    sqlite_app, sworld, stablet, soffice
):
    event_id = referred(stablet, sworld)
    event = db.session.get(AccessEvent, event_id)
    event.occurred_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert pending_ids(stablet.get("/gate/panel", htmx=True).text) == []
    assert f'data-undecided-id="{event_id}"' in soffice.get("/office").text


def test_another_gates_refer_cannot_be_reopened(app, world, tablet):
    theirs = factories.event(world.b.gate, utcnow(), "in", "refer", reasons="already_inside")
    db.session.commit()
    for event_id in (theirs.id, 999999, 2**63):
        assert tablet.get(f"/gate/events/{event_id}", htmx=True).status_code == 404
