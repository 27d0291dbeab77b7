"""The office's live dashboard (/office): people inside per person, entries and exits per gate
today, the last 24 hours by hour, denials and refers by reason, exemption holders not back, the
street's overview with its drill-down, and the page or its fragment for htmx's poll.

Pages are read in English (``lang="en"``) where they show new words; counts are read from the
``data-*`` attributes the templates put beside them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.extensions import db
from kiosk.models import Alert, Gate, Resident, utcnow
from kiosk.services import dashboard
from tests import factories

from .conftest import Browser, attr, decision_of

EN = "en-US,en;q=0.8"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def count(text: str, row_attr: str, row_id, name: str) -> int:
    """The ``data-count=name`` cell of the row ``row_attr=row_id``."""
    row = re.search(rf'<tr {row_attr}="{row_id}"[^>]*>(.*?)</tr>', text, re.S)
    assert row, (row_attr, row_id)
    cell = re.search(rf'data-count="{name}">(\d+)<', row.group(1))
    assert cell, (row_attr, row_id, name)
    return int(cell.group(1))


def shown(text: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', text, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def reasons_of(text: str, table: str) -> dict[str, int]:
    body = re.search(rf'data-testid="{table}">(.*?)</table>', text, re.S).group(1)
    rows = re.findall(r'<tr data-reason="([a-z_]+)"><td>[^<]*</td><td class="num">(\d+)</td>', body)
    return {code: int(n) for code, n in rows}


# --- people inside, per person ------------------------------------------------------------------


def test_people_inside_are_counted_per_person_and_passages_per_gate(app, world, tablet):
    a = world.a
    # 张三丰 came in yesterday (the state row says inside) and leaves today through the tablet.
    factories.event(
        a.gate,
        utcnow() - timedelta(days=1),
        "in",
        resident_id=a.resident.id,
        pass_id=a.pass_.id,
    )
    db.session.get(Resident, a.resident.id).presence = "in"
    # 李四 comes in today, is scanned in again (already inside: referred) and the guard lets him.
    li = factories.resident(a.household, "李四")
    li_pass = factories.pass_for(li)
    db.session.commit()
    assert decision_of(tablet.scan(factories.code(a.pass_), "out", temperature=None))[0] == "allow"
    assert decision_of(tablet.scan(factories.code(li_pass)))[0] == "allow"
    again = tablet.scan(factories.code(li_pass))
    assert decision_of(again) == ("refer", ["already_inside"])
    r = tablet.post(
        f"/gate/events/{attr(again, 'data-event-id')}/override",
        {"decision": "allow", "reason": "known_resident"},
        htmx=True,
    )
    assert decision_of(r)[0] == "allow"

    page = Browser(app, lang=EN).sign_in(a.office).get("/office").text
    # 李四 once, however many times he was let in; 张三丰, who left, not at all.
    assert count(page, "data-compound-id", a.compound.id, "inside") == 1
    assert shown(page, "inside-total") == "1"
    # Passages: the refer is none, the guard's allowance is one; yesterday's entry is not today's.
    assert count(page, "data-gate-id", a.gate.id, "entries") == 2
    assert count(page, "data-gate-id", a.gate.id, "exits") == 1
    assert (shown(page, "entries-total"), shown(page, "exits-total")) == ("2", "1")
    assert reasons_of(page, "refers") == {"already_inside": 1}
    assert "张三丰" not in page and "李四" not in page


def test_entries_and_exits_per_gate_today_only_allowed_and_only_this_community(app, world):
    a, b = world.a, world.b
    west = Gate(compound_id=a.compound.id, name="西门")
    db.session.add(west)
    db.session.flush()
    now = utcnow()
    for gate, direction, decision in (
        (a.gate, "in", "allow"),
        (a.gate, "in", "allow"),
        (a.gate, "out", "allow"),
        (a.gate, "in", "deny"),
        (a.gate, "out", "refer"),
        (west, "out", "allow"),
        (b.gate, "in", "allow"),
    ):
        factories.event(gate, now, direction, decision)
    factories.event(west, dashboard.day_start(now) - timedelta(seconds=1), "in", "allow")
    db.session.commit()

    page = Browser(app, lang=EN).sign_in(a.office).get("/office").text
    assert (
        count(page, "data-gate-id", a.gate.id, "entries"),
        count(page, "data-gate-id", a.gate.id, "exits"),
    ) == (2, 1)
    assert (
        count(page, "data-gate-id", west.id, "entries"),
        count(page, "data-gate-id", west.id, "exits"),
    ) == (0, 1)
    assert f'data-gate-id="{b.gate.id}"' not in page
    assert "丰台小区 西门" in page


def test_today_starts_at_local_midnight(app, world):
    a = world.a
    now = datetime(2026, 3, 10, 8, 0, tzinfo=SHANGHAI)
    midnight = datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI)
    assert dashboard.day_start(now) == midnight.astimezone(UTC)
    factories.event(a.gate, midnight - timedelta(seconds=1), "in", "allow")
    factories.event(a.gate, midnight, "out", "allow")
    db.session.commit()
    (gate,) = dashboard.gate_counts([a.community.id], now)
    assert (gate.entries, gate.exits) == (0, 1)


# --- the last 24 hours --------------------------------------------------------------------------


def test_the_last_24_hours_are_bucketed_by_local_hour(app, world):
    a = world.a
    now = datetime(2026, 3, 10, 10, 30, tzinfo=SHANGHAI)
    first = datetime(2026, 3, 9, 11, 0, tzinfo=SHANGHAI)
    for at, direction, decision in (
        (first - timedelta(seconds=1), "in", "allow"),  # before the chart
        (first, "in", "allow"),  # the first bar
        (datetime(2026, 3, 10, 9, 59, 59, tzinfo=SHANGHAI), "out", "allow"),  # 09:00
        (datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI), "in", "allow"),  # 10:00, the last bar
        (datetime(2026, 3, 10, 10, 29, tzinfo=SHANGHAI), "out", "allow"),
        (datetime(2026, 3, 10, 10, 29, tzinfo=SHANGHAI), "out", "deny"),  # not a passage
        (datetime(2026, 3, 10, 10, 31, tzinfo=SHANGHAI), "in", "allow"),  # after now
    ):
        factories.event(a.gate, at, direction, decision)
    factories.event(world.b.gate, datetime(2026, 3, 10, 10, 5, tzinfo=SHANGHAI), "in", "allow")
    db.session.commit()

    hours = dashboard.by_hour([a.community.id], now)
    assert len(hours) == 24
    assert hours[0].start == first.astimezone(UTC)
    assert hours[-1].start == datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
    got = {i: (h.entries, h.exits) for i, h in enumerate(hours) if h.entries or h.exits}
    assert got == {0: (1, 0), 22: (0, 1), 23: (1, 1)}


def test_the_chart_is_drawn_with_classes_and_no_inline_style(app, world):
    a = world.a
    factories.event(a.gate, utcnow(), "in", "allow")
    factories.event(a.gate, utcnow(), "out", "allow")
    factories.event(a.gate, utcnow(), "out", "allow")
    db.session.commit()
    page = Browser(app, lang=EN).sign_in(a.office).get("/office").text
    assert "<svg" in page and 'class="dash-bar-in"' in page
    assert "style=" not in page and "<script>" not in page and "<style" not in page
    bars = re.findall(r'<g data-hour="(\d\d)" data-entries="(\d+)" data-exits="(\d+)">', page)
    assert len(bars) == 24
    assert bars[-1][1:] == ("1", "2")
    hours = re.search(r'data-testid="hours">(.*?)</table>', page, re.S).group(1)
    assert "<thead>" in hours and hours.count('<th scope="col"') == 25


# --- denials and refers by reason ---------------------------------------------------------------


def test_denials_and_refers_today_by_reason(app, world):
    a = world.a
    now = utcnow()
    for decision, reasons in (
        ("deny", "fever"),
        ("deny", "fever"),
        ("deny", "gate_closed compound_sealed"),
        ("refer", "already_inside temperature_required"),
        ("refer", "temperature_required"),
    ):
        factories.event(a.gate, now, "in", decision, reasons=reasons)
    referred = factories.event(a.gate, now, "in", "refer", reasons="already_outside")
    # The guard's denial of a referred scan is not a second count of it.
    factories.event(
        a.gate, now, "in", "deny", reasons="already_outside", parent_id=referred.id, override=True
    )
    factories.event(
        a.gate, dashboard.day_start(now) - timedelta(minutes=1), "in", "deny", reasons="fever"
    )
    factories.event(world.b.gate, now, "in", "deny", reasons="fever")
    db.session.commit()

    page = Browser(app, lang=EN).sign_in(a.office).get("/office").text
    assert reasons_of(page, "denials") == {"fever": 2, "gate_closed": 1, "compound_sealed": 1}
    assert reasons_of(page, "refers") == {
        "temperature_required": 2,
        "already_inside": 1,
        "already_outside": 1,
    }
    denials = re.search(r'data-testid="denials">(.*?)</table>', page, re.S).group(1)
    assert '<th scope="col">Reason</th>' in denials
    assert "Fever: entry refused" in denials and "This gate is closed" in denials


# --- exemption holders not back -----------------------------------------------------------------


def exemption_out(site, left_at, until):
    """The site's resident left on an exemption at ``left_at``; the window ends at ``until``."""
    exemption = factories.pass_for(
        site.resident, "exemption", valid_from=left_at - timedelta(hours=1), valid_until=until
    )
    factories.event(
        site.gate, left_at, "out", "allow", pass_id=exemption.id, resident_id=site.resident.id
    )
    db.session.get(Resident, site.resident.id).presence = "out"
    db.session.commit()
    return exemption


def test_an_exemption_holder_out_is_flagged_after_the_window_and_not_before(app, world):
    a = world.a
    now = utcnow()
    until = now - timedelta(minutes=30)
    exemption = exemption_out(a, now - timedelta(hours=2), until)
    ids = [a.community.id]
    assert dashboard.exemptions_not_back(ids, until - timedelta(seconds=1)) == []
    assert dashboard.exemptions_not_back(ids, until) == []
    ((cid, row),) = dashboard.exemptions_not_back(ids, until + timedelta(seconds=1))
    assert (cid, row.pass_id, row.building, row.unit, row.room) == (
        a.community.id,
        exemption.id,
        "1号楼",
        "2",
        "301",
    )

    page = Browser(app, lang=EN).sign_in(a.office).get("/office").text
    (flagged,) = re.findall(rf'<tr data-not-back-pass="{exemption.id}"[^>]*>(.*?)</tr>', page, re.S)
    assert "张**" in flagged and "1号楼 unit 2 room 301" in flagged
    local_until = until.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
    assert f"<strong>{local_until}</strong>" in flagged
    assert shown(page, "not-back-total") == "1"
    assert "张三丰" not in page


def test_an_exemption_holder_still_in_the_window_or_back_is_not_flagged(app, world):
    a = world.a
    now = utcnow()
    exemption_out(a, now - timedelta(hours=1), now + timedelta(hours=1))
    office = Browser(app, lang=EN).sign_in(a.office)
    page = office.get("/office").text
    assert "data-not-back-pass" not in page and "Every exemption holder is back." in page

    # Back in (on the phone pass) after the window: not flagged either.
    b = world.b
    exemption_out(b, now - timedelta(hours=3), now - timedelta(hours=1))
    factories.event(b.gate, now - timedelta(minutes=50), "in", "allow", resident_id=b.resident.id)
    db.session.get(Resident, b.resident.id).presence = "in"
    db.session.commit()
    assert dashboard.exemptions_not_back([b.community.id], now) == []


# --- the street's overview and the drill-down ---------------------------------------------------


def test_the_street_sees_one_row_per_community_and_drills_down(app, world):
    a, b = world.a, world.b
    now = utcnow()
    factories.event(a.gate, now, "in", "allow")
    factories.event(b.gate, now, "out", "allow")
    factories.event(b.gate, now, "in", "deny", reasons="fever")
    factories.event(b.gate, now, "in", "refer", reasons="temperature_required")
    hot = factories.event(b.gate, now, "in", "deny", reasons="fever", temperature=38.4)
    db.session.add(
        Alert(community_id=b.community.id, gate_id=b.gate.id, event_id=hot.id, kind="fever")
    )
    b.household.observation_until = now + timedelta(days=3)
    db.session.get(Resident, a.resident.id).presence = "in"
    db.session.commit()
    left_at = now - timedelta(hours=3)
    exemption_out(b, left_at, now - timedelta(hours=1))
    exits_b = 1 + (left_at >= dashboard.day_start(now))  # the exemption's exit, if it was today
    _street, x, _x_user = factories.foreign_street()

    street = Browser(app, lang=EN).sign_in(world.street_user)
    page = street.get("/office").text
    rows = re.findall(r'<tr data-community-id="(\d+)">', page)
    assert sorted(map(int, rows)) == sorted([a.community.id, b.community.id])
    assert str(x.community.id) not in rows
    assert "<h1>Communities of the street</h1>" in page
    assert [
        count(page, "data-community-id", a.community.id, k)
        for k in ("inside", "entries", "exits", "denials")
    ] == [1, 1, 0, 0]
    assert [
        count(page, "data-community-id", b.community.id, k)
        for k in (
            "inside",
            "entries",
            "exits",
            "denials",
            "open_alerts",
            "undecided",
            "observed",
            "not_back",
        )
    ] == [0, 0, exits_b, 2, 1, 1, 1, 1]
    link = f'href="/office?community={b.community.id}"'
    assert link in page
    (alert_id,) = db.session.scalars(db.select(Alert.id)).all()
    assert f'data-alert-id="{alert_id}"' in page  # the street's open alerts, to acknowledge

    detail = street.get(f"/office?community={b.community.id}").text
    assert shown(detail, "community-name") == "樱桃社区"
    assert f'data-gate-id="{b.gate.id}"' in detail and f'data-gate-id="{a.gate.id}"' not in detail
    assert reasons_of(detail, "denials") == {"fever": 2}
    assert 'href="/office"' in detail  # back to every community
    assert f'hx-get="/office?community={b.community.id}"' in detail

    assert street.get(f"/office?community={x.community.id}").status_code == 404
    assert street.get("/office?community=abc").status_code == 404
    assert street.get("/office?community=99999999999999999999").status_code == 404


def test_an_office_user_sees_its_own_community_and_no_other(app, world, office):
    a, b = world.a, world.b
    page = office.get("/office")
    assert page.status_code == 200
    assert "data-community-id" not in page.text
    assert f'data-compound-id="{a.compound.id}"' in page.text
    assert office.get(f"/office?community={a.community.id}").status_code == 200
    assert office.get(f"/office?community={b.community.id}").status_code == 404
    assert office.get(f"/office?community={b.community.id}", htmx=True).status_code == 404


def test_other_roles_may_not_open_the_dashboard(app, world):
    for user in (world.a.guard, world.worker, world.resident_user):
        assert Browser(app).sign_in(user).get("/office").status_code == 403
    assert Browser(app).get("/office").status_code == 302


# --- the page, and the fragment htmx polls ------------------------------------------------------


@pytest.mark.parametrize("who", ["office", "street"])
def test_the_full_page_and_the_htmx_fragment(sqlite_app, sworld, who):
    user = sworld.a.office if who == "office" else sworld.street_user
    browser = Browser(sqlite_app, lang=EN).sign_in(user)
    page = browser.get("/office")
    assert page.status_code == 200 and "<html" in page.text
    assert '<div id="dashboard"' in page.text
    assert 'hx-get="/office"' in page.text and 'hx-trigger="every 10000ms"' in page.text
    assert "HX-Request" in page.headers.get("Vary", "")

    fragment = browser.get("/office", htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert re.match(r'\s*<div id="dashboard"', fragment.text)
    assert "HX-Request" in fragment.headers.get("Vary", "")

    boosted = browser.get("/office", htmx=True, headers={"HX-Boosted": "true"})
    assert "<html" in boosted.text
    restore = browser.get("/office", htmx=True, headers={"HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_the_poll_interval_comes_from_the_configuration(sqlite_app, sworld, soffice):
    sqlite_app.config["DASHBOARD_REFRESH_SECONDS"] = 1.5
    assert 'hx-trigger="every 1500ms"' in soffice.get("/office", htmx=True).text


def test_an_alert_acknowledged_leaves_the_next_poll(app, world, office):
    a = world.a
    hot = factories.event(a.gate, utcnow(), "in", "deny", reasons="fever", temperature=38.6)
    db.session.add(
        Alert(
            community_id=a.community.id,
            gate_id=a.gate.id,
            event_id=hot.id,
            kind="fever",
            temperature=38.6,
        )
    )
    db.session.commit()
    (alert,) = db.session.scalars(db.select(Alert)).all()
    fragment = office.get("/office", htmx=True).text
    assert f'data-alert-id="{alert.id}"' in fragment
    assert f'hx-post="/office/alerts/{alert.id}/ack"' in fragment
    r = office.post(f"/office/alerts/{alert.id}/ack", htmx=True)
    assert r.status_code == 200 and r.text == ""
    assert f'data-alert-id="{alert.id}"' not in office.get("/office", htmx=True).text


def test_a_poll_after_the_session_ended_sends_the_browser_to_sign_in(sqlite_app, sworld, browser):
    r = browser.get("/office?community=1", htmx=True)
    assert r.status_code == 401 and r.text == ""
    assert r.headers["HX-Redirect"] == "/auth/login?next=/office?community%3D1"
    assert browser.get("/office").status_code == 302  # a plain request: the sign-in redirect
