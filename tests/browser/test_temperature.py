"""The temperature keypad at a compound that requires a reading on entry (the default).

The guard scans, the keypad opens, the guard types the infrared thermometer's reading by tapping
the keys (or on a keyboard), and only then is the scan sent. A fever refuses entry, raises an
alert and offers a second reading, logged against the first.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Alert
from kiosk.services.passes import code_for

from ._gate import dismiss, events, result, scan, tap, wait_for_wedge
from .conftest import enrol_and_sign_in, screenshot


def _scan_own_pass(page, in_app, site):
    with in_app():
        code = code_for(site.a.pass_)
    scan(page, code)
    page.locator("#keypad").wait_for(state="visible")


def _alerts(in_app) -> list[tuple]:
    with in_app():
        return [
            (a.kind, a.event_id, a.gate_id, a.community_id, a.temperature)
            for a in db.session.scalars(select(Alert).order_by(Alert.id))
        ]


def test_keypad_reading_is_sent_with_the_scan(page, live, site, in_app):
    enrol_and_sign_in(page, live, site)
    _scan_own_pass(page, in_app, site)
    assert "体温" in page.locator("#keypad-title").inner_text()
    # Nothing is sent before the reading is typed.
    assert page.evaluate("window.kioskGate.pending()") == 0
    assert events(in_app) == []

    tap(page, "36.6")
    assert page.locator("#keypad-display").inner_text() == "36.6"
    screenshot(page, "gate-keypad-36.6-zh")
    page.click("#keypad [data-action=keypad-ok]")

    shown = result(page)
    screenshot(page, "gate-temperature-allow-zh")
    assert page.locator("#keypad").is_hidden()
    assert (shown["decision"], shown["reasons"]) == ("allow", "")
    assert "放行" in shown["text"]
    logged = events(in_app)
    assert [(e["id"], e["decision"], e["pass_id"], e["user_id"]) for e in logged] == [
        (int(shown["eventId"]), "allow", site.a.pass_.id, site.a.guard.id)
    ]
    assert logged[0]["temperature"] == pytest.approx(36.6)
    assert _alerts(in_app) == []


def test_an_impossible_reading_is_refused_on_the_tablet_and_cancel_sends_nothing(
    page, live, site, in_app
):
    enrol_and_sign_in(page, live, site)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    _scan_own_pass(page, in_app, site)
    keypad = page.locator("#keypad")
    tap(page, "45")
    page.click("#keypad [data-action=keypad-ok]")
    error = page.locator("#keypad-error")
    error.wait_for(state="visible")
    assert "34.0" in error.inner_text() and "43.0" in error.inner_text()
    assert keypad.is_visible()  # still open for the real reading
    screenshot(page, "gate-keypad-impossible-zh")
    assert page.evaluate("window.kioskGate.pending()") == 0
    assert page.locator("#result").inner_html().strip() == ""
    # An empty reading is refused the same way.
    tap(page, "⌫⌫")
    page.click("#keypad [data-action=keypad-ok]")
    assert error.is_visible()
    # A key press clears the error.
    tap(page, "3")
    assert error.is_hidden()
    # One decimal point, backspace, at most five characters.
    display = page.locator("#keypad-display")
    tap(page, "..")
    assert display.inner_text() == "3."
    tap(page, "⌫⌫")
    assert display.inner_text() == ""
    tap(page, "36.55555")
    assert display.inner_text() == "36.55"
    # Cancel closes the keypad, sends nothing, and the wedge takes the next scan.
    page.click("#keypad [data-action=keypad-cancel]")
    keypad.wait_for(state="hidden")
    wait_for_wedge(page)
    # A request sent by a click would have gone out before this one, which the page awaits.
    page.evaluate("fetch('/gate/panel', {headers: {'HX-Request': 'true'}}).then(r => r.status)")
    assert posts == []
    assert events(in_app) == []


def test_fever_denies_alerts_and_a_second_reading_is_logged_against_it(page, live, site, in_app):
    enrol_and_sign_in(page, live, site)
    _scan_own_pass(page, in_app, site)
    tap(page, "37.5")
    page.click("#keypad [data-action=keypad-ok]")

    shown = result(page)
    screenshot(page, "gate-fever-deny-zh")
    assert (shown["decision"], shown["reasons"]) == ("deny", "fever")
    assert shown["remeasure"]  # "Measure again" on the result screen
    assert "禁止" in shown["text"] and "体温异常" in shown["text"] and "复测体温" in shown["text"]
    fever_id = int(shown["eventId"])
    logged = events(in_app)
    assert [(e["id"], e["decision"], e["reasons"]) for e in logged] == [(fever_id, "deny", "fever")]
    assert logged[0]["temperature"] == pytest.approx(37.5)
    alerts = _alerts(in_app)
    assert [a[:4] for a in alerts] == [("fever", fever_id, site.a.gate.id, site.a.community.id)]
    assert alerts[0][4] == pytest.approx(37.5)

    # The person rests in the shade; the guard goes on and later uses the recent list.
    dismiss(page)
    later = page.locator(f"#panel-live li[data-event-id='{fever_id}'] [data-action=remeasure]")
    later.wait_for(state="visible")
    screenshot(page, "gate-fever-in-recent-list-zh")
    later.click()
    page.locator("#keypad").wait_for(state="visible")
    assert page.locator("#keypad-display").inner_text() == ""
    # The tablet has a keyboard too: digits and Enter work on the keypad.
    page.keyboard.type("36.8")
    assert page.locator("#keypad-display").inner_text() == "36.8"
    page.keyboard.press("Enter")

    shown = result(page, not_event=fever_id)
    screenshot(page, "gate-remeasure-allow-zh")
    assert page.locator("#keypad").is_hidden()
    assert shown["decision"] == "allow"
    assert "放行" in shown["text"]
    logged = events(in_app)
    assert len(logged) == 2
    second = logged[1]
    assert second["id"] == int(shown["eventId"])
    # The fever was a deny, so the pass's last allowed direction is unchanged: no anti-passback.
    assert (second["decision"], second["reasons"], second["parent_id"]) == ("allow", "", fever_id)
    assert second["temperature"] == pytest.approx(36.8)
    assert (second["pass_id"], second["direction"], second["user_id"]) == (
        site.a.pass_.id,
        "in",
        site.a.guard.id,
    )
    assert second["request_id"] and second["request_id"] != logged[0]["request_id"]
    assert len(_alerts(in_app)) == 1  # no new alert for a normal reading


def test_measure_again_on_the_result_screen_with_a_second_fever(page, live, site, in_app):
    enrol_and_sign_in(page, live, site)
    _scan_own_pass(page, in_app, site)
    page.keyboard.type("38.2")
    page.keyboard.press("Enter")
    # The guard measures again at once, from the result screen (it stays for a few seconds).
    shown = result(page, click="[data-action=remeasure]")
    assert shown["reasons"] == "fever"
    fever_id = int(shown["eventId"])
    page.locator("#keypad").wait_for(state="visible")
    assert page.locator("#result").inner_html().strip() == ""
    page.keyboard.type("37.4")
    page.keyboard.press("Enter")
    shown = result(page, not_event=fever_id)
    screenshot(page, "gate-remeasure-still-fever-zh")
    assert (shown["decision"], shown["reasons"]) == ("deny", "fever")
    logged = events(in_app)
    assert [(e["decision"], e["parent_id"]) for e in logged] == [
        ("deny", None),
        ("deny", fever_id),
    ]
    assert logged[1]["temperature"] == pytest.approx(37.4)
    # Each fever reading raised its own alert.
    assert [a[1] for a in _alerts(in_app)] == [e["id"] for e in logged]
