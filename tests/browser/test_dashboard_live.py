"""The office's dashboard stays open and follows the gate: a scan at the tablet shows in the
counts at the next poll, without reloading the page (htmx polls every
``DASHBOARD_REFRESH_SECONDS``: one second here)."""

from __future__ import annotations

from playwright.sync_api import expect as _expect

from kiosk.services import scan as scan_service
from kiosk.services.gate import GateAction
from kiosk.services.passes import code_for

from .. import factories
from .conftest import screenshot

# This file's own expect(), as patient as the page's actions (10 s, conftest.new_page).
expect = type(_expect)()
expect.set_options(timeout=10_000)


def office_signs_in(page, live, site):
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", site.a.office.username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(live.url + "/")


def scan_at_the_gate(in_app, site, direction: str, temperature: float | None = 36.5):
    """A scan at site a's gate, as the tablet's request would make it."""
    with in_app():
        action = GateAction(device_token=site.a.device_token, guard_id=site.a.guard.id)
        result = scan_service.scan(action, code_for(site.a.pass_), direction, temperature)
        assert result.decision == "allow", result


def test_the_dashboard_counts_a_scan_without_a_reload(page, live, site, in_app, monkeypatch):
    monkeypatch.setitem(live.app.config, "DASHBOARD_REFRESH_SECONDS", 1)
    office_signs_in(page, live, site)
    page.goto(live.url + "/office")
    inside = page.locator("[data-testid=inside-total]")
    gate = page.locator(f"tr[data-gate-id='{site.a.gate.id}']")
    expect(inside).to_have_text("0")
    expect(gate.locator("[data-count=entries]")).to_have_text("0")
    expect(page.locator("#dashboard")).to_have_attribute("hx-trigger", "every 1000ms")
    page.evaluate("window.__sameDocument = true")

    scan_at_the_gate(in_app, site, "in")
    expect(inside).to_have_text("1")
    expect(gate.locator("[data-count=entries]")).to_have_text("1")
    expect(
        page.locator(f"tr[data-compound-id='{site.a.compound.id}'] [data-count=inside]")
    ).to_have_text("1")
    screenshot(page, "office-dashboard-live-zh")

    scan_at_the_gate(in_app, site, "out", None)
    expect(inside).to_have_text("0")
    expect(gate.locator("[data-count=exits]")).to_have_text("1")
    assert page.evaluate("window.__sameDocument === true")  # polled, never reloaded
