"""The Content-Security-Policy in a real browser: every page works with nothing inline, htmx
injects no style, the gate's camera reader may compile its WebAssembly, and a PIN session on a
tablet opens the gate pages only. (Every browser test also fails on any CSP violation: see
``no_csp_violations`` in conftest.py.)"""

from __future__ import annotations

from playwright.sync_api import expect

from kiosk.extensions import db
from kiosk.models import Compound
from kiosk.services.passes import code_for

from .. import factories
from .conftest import enrol_and_sign_in, new_page

_STYLES = "document.querySelectorAll('style').length"
_HTMX = "window.htmx ? htmx.config.includeIndicatorStyles : 'no htmx'"


def _no_inline_style(page) -> None:
    page.wait_for_function("window.htmx !== undefined")
    assert page.evaluate(_HTMX) is False, page.url
    assert page.evaluate(_STYLES) == 0, page.url


def test_office_and_visitor_pages_under_the_policy(browser, live, site):
    office = new_page(browser)
    office.goto(live.url + "/auth/login")
    office.fill("input[name=username]", "office_a")
    office.fill("input[name=password]", factories.PASSWORD)
    office.click("main form button[type=submit]")
    office.wait_for_url(live.url + "/")
    for path in ("/office", "/office/devices", "/office/guards", "/office/risk-areas"):
        response = office.goto(live.url + path)
        assert response.status == 200
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        _no_inline_style(office)
    office.goto(live.url + "/office/compounds")
    _no_inline_style(office)
    # The printed poster has a stylesheet of its own, applied under the policy.
    office.goto(live.url + f"/office/compounds/{site.a.compound.id}/poster")
    assert office.evaluate("getComputedStyle(document.body).textAlign") == "center"
    office.context.close()

    visitor = new_page(browser)
    visitor.goto(live.url + f"/visit/{site.a.compound.public_slug}")
    _no_inline_style(visitor)
    visitor.context.close()


def test_the_gate_page_under_the_policy_and_a_pin_session_stays_there(page, live, site, in_app):
    with in_app():
        db.session.get(Compound, site.a.compound.id).temperature_required = False
        db.session.commit()
        code = code_for(site.a.pass_)
    enrol_and_sign_in(page, live, site, guard="office_a")
    _no_inline_style(page)
    # The camera reader compiles its WebAssembly: allowed on this page by 'wasm-unsafe-eval'.
    compiled = page.evaluate(
        """async () => {
          const base = document.querySelector('#gate').dataset.zxingBase;
          const url = new URL(base + 'reader/zxing_reader.wasm', document.baseURI);
          const module = await WebAssembly.compileStreaming(fetch(url));
          return module instanceof WebAssembly.Module;
        }"""
    )
    assert compiled is True
    # htmx refreshes the panel after a scan: still no style injected.
    with page.expect_response(lambda r: r.url.endswith("/gate/panel")):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    _no_inline_style(page)
    # The office user signed in by PIN: the office pages are not open to this session.
    page.goto(live.url + "/office/guards")
    assert "/auth/login?next=" in page.url
    page.goto(live.url + "/gate")
    expect(page.locator("#wedge")).to_be_visible()


def _visit(page, url: str, camera: bool) -> None:
    """Open ``url``: the policy's headers are there, nothing inline, the camera as expected."""
    response = page.goto(url)
    headers = response.headers
    assert "'unsafe-inline'" not in headers["content-security-policy"], url
    assert headers["cache-control"] == "no-store", url
    expected = "camera=(self)" if camera else "camera=()"
    assert expected in headers["permissions-policy"].split(", "), url
    # What the browser itself makes of the Permissions-Policy for this document.
    allowed = page.evaluate("document.featurePolicy.allowsFeature('camera')")
    assert allowed is camera, url
    assert page.evaluate(_STYLES) == 0, url


def test_every_page_in_the_browser_has_nothing_blocked(browser, live, site, in_app):
    """Every page a visitor, a tablet and its guard can open: no CSP violation on any of them
    (the autouse ``no_csp_violations`` fails the test on any), and the camera on gate pages only."""
    anon = new_page(browser)
    for path in ("/", "/auth/login", "/no-such-page", "/gate/enrol"):
        _visit(anon, live.url + path, camera=path.startswith("/gate"))
    anon.goto(f"{live.url}/visit/{site.a.compound.public_slug}")
    form = anon.locator("main form")
    form.locator("input[name=name]").fill("王五")
    form.locator("input[name=phone]").fill("13800138000")
    form.locator("select[name=host_household_id]").select_option(str(site.a.household.id))
    form.locator("input[name=purpose][value=delivery]").check()
    form.locator("input[name=health_code][value=green]").check()
    form.locator("button[type=submit]").click()
    expect(anon.locator("[data-testid=visitor-qr] svg")).to_be_visible()
    assert anon.evaluate(_STYLES) == 0
    assert not anon.js_errors, anon.js_errors
    anon.context.close()

    tablet = new_page(browser)
    enrol_and_sign_in(tablet, live, site)
    for path in ("/gate/login", "/gate", "/gate/lookup", "/gate/visitors/new", "/gate/visitors"):
        _visit(tablet, live.url + path, camera=True)
    # The guard's PIN session is no session on the home page: signed out there.
    _visit(tablet, live.url + "/", camera=False)
    expect(tablet.locator("header")).not_to_contain_text("guard_a")
    assert not tablet.js_errors, tablet.js_errors
    tablet.context.close()


def test_a_violation_would_be_caught(browser, live):
    """The check itself: an inline style on one of the pages is blocked and reported."""
    page = new_page(browser)
    page.goto(live.url + "/")
    page.evaluate(
        """() => { const s = document.createElement('style');
                   s.textContent = 'body { color: red }'; document.head.append(s); }"""
    )
    page.wait_for_function("document.querySelectorAll('style').length === 1")
    page.wait_for_timeout(200)
    assert page.evaluate("getComputedStyle(document.body).color") != "rgb(255, 0, 0)"
    assert any("style-src" in v for v in page.csp_violations), page.csp_violations
    page.csp_violations.clear()  # caught on purpose: not a failure of this test
    page.context.close()
