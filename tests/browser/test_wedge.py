"""A guard with a USB keyboard-wedge scanner: type the code, press Enter, read the screen."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AccessEvent, Compound
from kiosk.services.passes import code_for

from .conftest import enrol_and_sign_in, screenshot


def _no_temperature_rule(in_app, site):
    with in_app():
        db.session.get(Compound, site.a.compound.id).temperature_required = False
        db.session.commit()


def test_wedge_scan_of_a_valid_code_shows_allow_and_logs_the_event(page, live, site, in_app):
    _no_temperature_rule(in_app, site)
    enrol_and_sign_in(page, live, site)
    with in_app():
        code = code_for(site.a.pass_)
    page.keyboard.type(code)  # the wedge input has the focus, as a scanner expects
    page.keyboard.press("Enter")
    result = page.locator("#result [data-decision]")
    result.wait_for()
    assert result.get_attribute("data-decision") == "allow"
    assert "放行" in result.inner_text()
    assert "张**" in result.inner_text()
    screenshot(page, "gate-allow-zh")
    with in_app():
        events = db.session.scalars(select(AccessEvent)).all()
        assert [(e.decision, e.pass_id, e.user_id) for e in events] == [
            ("allow", site.a.pass_.id, site.a.guard.id)
        ]
    # The result clears itself and the focus is back in the wedge input for the next person.
    result.wait_for(state="detached", timeout=8000)
    assert page.evaluate("document.activeElement.id") == "wedge"


def test_wedge_scan_of_a_forged_code_shows_deny(page, live, site, in_app):
    _no_temperature_rule(in_app, site)
    enrol_and_sign_in(page, live, site)
    with in_app():
        code = code_for(site.a.pass_)
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    page.keyboard.type(forged)
    page.keyboard.press("Enter")
    result = page.locator("#result [data-decision]")
    result.wait_for()
    assert result.get_attribute("data-decision") == "deny"
    assert result.get_attribute("data-reasons") == "invalid_code"
    assert "禁止" in result.inner_text()
    screenshot(page, "gate-deny-zh")
    with in_app():
        event = db.session.scalars(select(AccessEvent)).one()
        assert event.decision == "deny" and event.pass_id is None
