"""The server cannot be reached: scans are kept on the tablet and sent again with the same
request id; nothing is shown as allowed until the server has allowed it."""

from __future__ import annotations

import time

from kiosk.extensions import db
from kiosk.models import Pass
from kiosk.services.passes import code_for

from .. import factories
from ._gate import (
    dismiss,
    events,
    no_temperature_rule,
    result,
    scan,
    wait_for_events,
    wait_for_wedge,
)
from .conftest import enrol_and_sign_in, screenshot

# Every decision the result screen has shown since the page was loaded, in order.
WATCH_DECISIONS = """() => {
  window.__decisions = [];
  const box = document.getElementById('result');
  new MutationObserver(() => {
    const r = box.querySelector('[data-decision]');
    if (r && window.__decisions[window.__decisions.length - 1] !== r) {
      window.__decisions.push(r);
    }
  }).observe(box, {childList: true, subtree: true});
}"""
SEEN = "() => window.__decisions.map((r) => r.dataset.decision)"
QUEUE = """() => JSON.parse(
  localStorage.getItem('kiosk-queue-' + document.getElementById('gate').dataset.gateId) || '[]')"""


def _events(in_app) -> list[tuple]:
    return [(e["request_id"], e["decision"], e["pass_id"], e["user_id"]) for e in events(in_app)]


def _wait_for_events(in_app, count: int) -> list[tuple]:
    return [
        (e["request_id"], e["decision"], e["pass_id"], e["user_id"])
        for e in wait_for_events(in_app, count)
    ]


def _wait_until(page, condition, timeout: float = 5.0):
    """Poll a condition on what Playwright has reported (events are handled while waiting)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def _wait_pending(page, count: int):
    page.wait_for_function(
        "n => window.kioskGate.pending() === n"
        " && document.querySelector('#result [data-decision=pending]')",
        arg=count,
    )


def test_a_scan_while_the_server_is_down_is_pending_then_delivered_once(page, live, site, in_app):
    no_temperature_rule(in_app, site)
    page.clock.install()  # the retries (every 3 s) are run by fast-forwarding the page's clock
    enrol_and_sign_in(page, live, site)
    page.evaluate(WATCH_DECISIONS)
    banner = page.locator("#offline-banner")
    assert banner.is_hidden()

    failed: list[str] = []
    page.on(
        "requestfailed", lambda r: failed.append(r.url) if r.url.endswith("/gate/scan") else None
    )
    live.stop()
    with in_app():
        code = code_for(site.a.pass_)
    scan(page, code)
    banner.wait_for(state="visible")
    _wait_pending(page, 1)
    pending = page.locator("#result [data-decision]")
    assert pending.get_attribute("data-decision") == "pending"
    assert "尚未作出决定" in pending.inner_text()
    assert "无法连接服务器" in banner.inner_text()
    assert "(1)" in page.locator("[data-testid=pending-count]").inner_text()
    screenshot(page, "gate-offline-pending-zh")
    queue = page.evaluate(QUEUE)
    assert len(queue) == 1
    request_id = queue[0]["fields"]["request_id"]
    assert request_id and queue[0]["fields"]["code"] == code
    assert _events(in_app) == []
    # Retries keep failing while the server is down; the screen stays, never green.
    _wait_until(page, lambda: len(failed) >= 1)
    tries = len(failed)
    page.clock.fast_forward(3100)
    _wait_until(page, lambda: len(failed) > tries)
    assert page.evaluate("window.kioskGate.pending()") == 1
    assert pending.get_attribute("data-decision") == "pending"
    assert page.evaluate(SEEN) == ["pending"]

    live.start()
    page.clock.fast_forward(3100)  # the next retry
    shown = result(page)
    screenshot(page, "gate-offline-delivered-zh")
    assert shown["decision"] == "allow"
    assert shown["delivered"] and "网络恢复后已发送" in shown["text"]
    assert banner.is_hidden()
    assert page.evaluate("window.kioskGate.pending()") == 0
    assert page.locator("[data-testid=pending-count]").inner_text() == ""
    assert page.evaluate(SEEN) == ["pending", "allow"]
    # The server logged the scan once, under the request id the tablet gave it while offline.
    assert _wait_for_events(in_app, 1) == [(request_id, "allow", site.a.pass_.id, site.a.guard.id)]


def test_two_scans_queued_while_offline_are_both_logged_exactly_once(page, live, site, in_app):
    no_temperature_rule(in_app, site)
    with in_app():
        household = db.session.merge(site.a.household)
        second = factories.pass_for(factories.resident(household, "李四"))
        db.session.commit()
        second_id = second.id
    page.clock.install()
    enrol_and_sign_in(page, live, site)
    page.evaluate(WATCH_DECISIONS)

    live.stop()
    with in_app():
        first_code = code_for(site.a.pass_)
        second_code = code_for(db.session.get(Pass, second_id))
    scan(page, first_code)
    _wait_pending(page, 1)
    # The next person steps up while the first scan is still waiting.
    scan(page, second_code)
    _wait_pending(page, 2)
    page.locator("#offline-banner").wait_for(state="visible")
    assert "(2)" in page.locator("[data-testid=pending-count]").inner_text()
    screenshot(page, "gate-offline-two-pending-zh")
    request_ids = [item["fields"]["request_id"] for item in page.evaluate(QUEUE)]
    assert len(set(request_ids)) == 2
    assert _events(in_app) == []

    live.start()
    page.clock.fast_forward(3100)  # the next retry
    shown = result(page)
    # The screen shows the decision for the person at the gate now: the last scan.
    assert shown["decision"] == "allow"
    assert "李*" in shown["text"]
    assert page.evaluate("window.kioskGate.pending()") == 0
    assert page.locator("#offline-banner").is_hidden()
    assert "allow" not in page.evaluate(SEEN)[:-1]
    # The queue is empty, so nothing is left to be sent again.
    # Sent in the order they were scanned, each once, under the ids given while offline.
    assert _wait_for_events(in_app, 2) == [
        (request_ids[0], "allow", site.a.pass_.id, site.a.guard.id),
        (request_ids[1], "allow", second_id, site.a.guard.id),
    ]


def test_the_queue_survives_a_reload_and_a_bad_gateway(page, live, site, in_app):
    """A proxy in front of the app answers 502 while the app is down; the guard reloads."""
    no_temperature_rule(in_app, site)
    page.clock.install()
    enrol_and_sign_in(page, live, site)
    answered: list[int] = []

    def bad_gateway(route):
        answered.append(502)
        route.fulfill(status=502, body="Bad Gateway", content_type="text/plain")

    page.route("**/gate/scan", bad_gateway)
    with in_app():
        code = code_for(site.a.pass_)
    scan(page, code)
    _wait_pending(page, 1)
    page.locator("#offline-banner").wait_for(state="visible")
    request_id = page.evaluate(QUEUE)[0]["fields"]["request_id"]

    page.reload()
    page.wait_for_selector("#wedge")
    # After the reload the queue is still there and is tried again at once.
    page.wait_for_function("() => window.kioskGate.pending() === 1")
    page.locator("#offline-banner").wait_for(state="visible")
    assert page.evaluate(QUEUE)[0]["fields"]["request_id"] == request_id
    assert _events(in_app) == []
    screenshot(page, "gate-offline-after-reload-zh")

    page.unroute("**/gate/scan")
    page.clock.fast_forward(3100)  # the next retry
    shown = result(page)
    assert shown["decision"] == "allow"
    assert shown["delivered"]
    assert page.locator("#offline-banner").is_hidden()
    assert page.evaluate("window.kioskGate.pending()") == 0
    assert len(answered) >= 2  # once before the reload, at least once after
    assert _wait_for_events(in_app, 1) == [(request_id, "allow", site.a.pass_.id, site.a.guard.id)]


def test_a_slow_answer_shows_waiting_and_a_scan_behind_it_waits_its_turn(page, live, site, in_app):
    """The server is slow, not down: the guard sees "waiting", never an empty screen."""
    no_temperature_rule(in_app, site)
    with in_app():
        household = db.session.merge(site.a.household)
        second = factories.pass_for(factories.resident(household, "李四"))
        db.session.commit()
        second_id = second.id
    enrol_and_sign_in(page, live, site)
    page.evaluate(WATCH_DECISIONS)
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)  # answered later, by the test

    page.route("**/gate/scan", hold_the_first)
    with in_app():
        first_code = code_for(site.a.pass_)
        second_code = code_for(db.session.get(Pass, second_id))
    scan(page, first_code)
    page.wait_for_selector("#result [data-decision=pending]")  # after a second without an answer
    assert page.locator("#offline-banner").is_hidden()  # slow is not offline
    page.click("#result [data-action=dismiss]")  # a pending screen waits for the guard
    scan(page, second_code)  # the next person, while the first scan is still on its way
    page.wait_for_selector("#result [data-decision=pending]")
    assert page.evaluate("window.kioskGate.pending()") == 2
    assert len(held) == 1
    held[0].continue_()
    shown = result(page)
    assert shown["decision"] == "allow"
    assert "李*" in shown["text"]
    assert not shown["delivered"]  # sent at once, only slowly answered
    assert page.evaluate("window.kioskGate.pending()") == 0
    assert "allow" not in page.evaluate(SEEN)[:-1]
    logged = _wait_for_events(in_app, 2)
    assert [(e[1], e[2]) for e in logged] == [("allow", site.a.pass_.id), ("allow", second_id)]


def test_a_request_that_hangs_is_given_up_and_sent_again_with_the_same_id(page, live, site, in_app):
    """The server takes the request and never answers: the tablet does not wait forever."""
    no_temperature_rule(in_app, site)
    page.clock.install()
    enrol_and_sign_in(page, live, site)
    hung = []
    page.route("**/gate/scan", lambda route: hung.append(route))
    with in_app():
        code = code_for(site.a.pass_)
    scan(page, code)
    page.wait_for_function("() => window.kioskGate.pending() === 1")
    request_id = page.evaluate(QUEUE)[0]["fields"]["request_id"]
    page.clock.fast_forward(1500)
    page.wait_for_selector("#result [data-decision=pending]")
    assert page.locator("#offline-banner").is_hidden()
    page.clock.fast_forward(8000)  # past the time limit: given up, kept, the guard warned
    page.locator("#offline-banner").wait_for(state="visible")
    assert page.evaluate("window.kioskGate.pending()") == 1
    assert len(hung) == 1
    screenshot(page, "gate-request-timed-out-zh")

    page.unroute("**/gate/scan")
    page.clock.fast_forward(3500)  # the next retry
    assert result(page)["decision"] == "allow"
    assert page.locator("#offline-banner").is_hidden()
    assert _wait_for_events(in_app, 1) == [(request_id, "allow", site.a.pass_.id, site.a.guard.id)]


def test_an_error_page_for_an_answer_is_shown_as_not_decided(page, live, site, in_app):
    """The guard's session is gone (signed out elsewhere, server key changed): the server
    answers the scan with an error page. The tablet shows "not decided" with the message,
    never the page itself stuck in the result overlay, logs nothing, and the guard is sent to
    sign in again."""
    no_temperature_rule(in_app, site)
    enrol_and_sign_in(page, live, site)
    page.context.clear_cookies(name="session")
    # First keep the panel's refresh (after every result) from leaving the page, to look at it.
    stub = (
        '<div id="panel-live" hx-get="/gate/panel" hx-trigger="scanned from:body"'
        ' hx-swap="outerHTML"></div>'
    )
    page.route("**/gate/panel", lambda route: route.fulfill(status=200, body=stub))
    with in_app():
        code = code_for(site.a.pass_)
    scan(page, code)
    shown = result(page)
    screenshot(page, "gate-answer-is-an-error-page-zh")
    assert shown["decision"] == "problem"
    assert "未作决定" in shown["text"] and "刷新页面" in shown["text"]
    assert "确定" in shown["text"]  # its button, to send it away
    assert page.evaluate("window.kioskGate.pending()") == 0  # answered: not sent again
    assert page.locator("#offline-banner").is_hidden()
    dismiss(page)
    wait_for_wedge(page)
    assert _events(in_app) == []

    # With the real panel refresh, the next scan's answer takes the guard to sign in again.
    page.unroute("**/gate/panel")
    scan(page, code)
    page.wait_for_url("**/gate/login")
    assert _events(in_app) == []
