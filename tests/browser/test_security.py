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
