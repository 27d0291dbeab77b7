"""Visitor invitations: a resident invites a visitor on a day, the visitor opens the share link,
declares their health code and shows the code at the gate; refusals, cancelling, household
scope and what the share page reveals."""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta

import pytest

from kiosk.extensions import db
from kiosk.models import SealSchedule, Visit, VisitInvite, utcnow
from kiosk.services import visitors
from tests import factories

from .conftest import Browser, decision_of, events

VISITOR = "王小明"


def joined(site, username="res"):
    """A joined resident of the site's household (bound to its resident record)."""
    u = factories.user(
        f"{username}_{site.household.id}",
        "resident",
        household_id=site.household.id,
        resident_id=site.resident.id,
    )
    db.session.commit()
    return u


def today(app):
    return utcnow().astimezone(app.config["TZ"]).date()


def invite_form(app, **changes) -> dict:
    form = {
        "name": VISITOR,
        "phone": "138 0013 8000",
        "date": today(app).isoformat(),
        "purpose": "visit",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def share_link(response) -> str:
    found = re.search(r'id="share-link" class="share-link" value="([^"]+)"', response.text)
    assert found, response.text
    return html.unescape(found.group(1))


def path_of(link: str) -> str:
    return "/v/" + link.rsplit("/v/", 1)[1]


def visits() -> list[Visit]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Visit).order_by(Visit.id)))


def code_of(response) -> str:
    found = re.search(r'data-code="([^"]+)"', response.text)
    assert found, response.text
    return html.unescape(found.group(1))


def invite_and_declare(app, phone: Browser, **changes) -> tuple[str, str]:
    """Invite, open the link as the visitor, declare green: (the link's path, the code)."""
    r = phone.post("/me/invitations", invite_form(app, **changes))
    assert r.status_code == 200, r.text
    path = path_of(share_link(r))
    visitor = Browser(app)
    r = visitor.post(path, {"health_code": "green"})
    assert r.status_code == 200
    return path, code_of(r)


# --- the resident's page --------------------------------------------------------------------


def test_the_page_shows_the_form_and_the_fragment_is_the_panel_only(sqlite_app, sworld):
    phone = Browser(sqlite_app, lang="en").sign_in(joined(sworld.a))
    page = phone.get("/me/invitations")
    assert page.status_code == 200 and "<html" in page.text
    assert "<h1>Visitor invitations</h1>" in page.text
    assert 'name="date"' in page.text and 'type="date"' in page.text
    assert "js/share.js" in page.text
    fragment = phone.get("/me/invitations", htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.lstrip().startswith("{#") is False
    assert '<div id="invitations"' in fragment.text
    assert fragment.headers["Vary"].count("HX-Request") == 1


def test_an_invitation_gives_a_share_link_once_and_keeps_only_its_hash(sqlite_app, sworld):
    phone = Browser(sqlite_app, lang="en").sign_in(joined(sworld.a))
    r = phone.post("/me/invitations", invite_form(sqlite_app), htmx=True)
    assert r.status_code == 200 and "<html" not in r.text
    assert r.headers["Cache-Control"] == "no-store"
    link = share_link(r)
    assert link.startswith("http://localhost/v/")
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 40
    assert 'data-testid="share-qr"' in r.text and "<svg" in r.text
    assert "data-copy=" in r.text
    (visit,) = visits()
    assert (visit.via, visit.status, visit.valid_on, visit.name, visit.phone_last4) == (
        "inv",
        "registered",
        today(sqlite_app),
        VISITOR,
        "8000",
    )
    assert visit.host_household_id == sworld.a.household.id
    assert visit.compound_id == sworld.a.compound.id
    assert visit.health_code == ""  # the visitor declares it on the share page
    assert "13800138000" not in visit.phone_hash
    invite = db.session.scalars(db.select(VisitInvite)).one()
    assert invite.household_id == sworld.a.household.id and invite.visit_id == visit.id
    assert token not in invite.link_hash and len(invite.link_hash) == 64
    # The page lists it as waiting, and never shows the link again.
    page = phone.get("/me/invitations")
    assert VISITOR in page.text and "waiting" in page.text and token not in page.text


def test_every_field_error_at_once_and_what_was_typed_is_kept(sqlite_app, sworld):
    phone = Browser(sqlite_app, lang="en").sign_in(joined(sworld.a))
    far = (today(sqlite_app) + timedelta(days=8)).isoformat()
    r = phone.post(
        "/me/invitations", invite_form(sqlite_app, name=" ", phone="12", date=far, purpose="x")
    )
    assert r.status_code == 200
    fields = re.findall(r'class="error" role="alert" data-field="(\w+)"', r.text)
    assert set(fields) == {"name", "phone", "purpose"}
    assert 'value="12"' in r.text
    # The day is checked once the shapes are right.
    r = phone.post("/me/invitations", invite_form(sqlite_app, date=far))
    assert re.findall(r'data-field="(\w+)"', r.text) == ["date"]
    assert "Date: a day from today to 7 days ahead." in r.text
    for bad in ("2026-02-30", "tomorrow", (today(sqlite_app) - timedelta(days=1)).isoformat()):
        r = phone.post("/me/invitations", invite_form(sqlite_app, date=bad))
        assert re.findall(r'data-field="(\w+)"', r.text) == ["date"], bad
    assert visits() == []


# --- refusals: the same facts and reasons as the gate -----------------------------------------


REFUSALS = {
    "observation": ("host_observation", "The host household is under home observation"),
    "building_sealed": ("host_building_sealed", "The host's building is sealed"),
    "building_in_only": ("host_building_in_only", "The host's building is in-only: no visitors"),
    "compound_sealed": ("compound_sealed", "The compound is sealed: nobody in or out"),
    "no_visitors": ("visitors_not_allowed", "No visitors are allowed into this compound now"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_an_invitation_is_refused_with_the_gates_reason(sqlite_app, sworld, case):
    a = sworld.a
    if case == "observation":
        a.household.observation_until = utcnow() + timedelta(days=14)
    elif case == "building_sealed":
        a.building.seal_state = "sealed"
    elif case == "building_in_only":
        a.building.seal_state = "in_only"
    elif case == "compound_sealed":
        a.compound.seal_state = "sealed"
    else:
        a.compound.visitor_policy = "none"
    db.session.commit()
    phone = Browser(sqlite_app, lang="en").sign_in(joined(a))
    code, text = REFUSALS[case]
    page = phone.get("/me/invitations")
    assert 'data-testid="invite-refused"' in page.text
    assert f'<li data-code="{code}">{text}</li>' in html.unescape(page.text)
    r = phone.post("/me/invitations", invite_form(sqlite_app))
    assert r.status_code == 200
    assert "No visitors for your household on that day: " + text in html.unescape(r.text)
    assert visits() == []


def test_a_seal_scheduled_for_the_day_refuses_that_day_only(sqlite_app, sworld):
    a = sworld.a
    tomorrow = today(sqlite_app) + timedelta(days=1)
    starts = datetime.combine(tomorrow, time(0), tzinfo=sqlite_app.config["TZ"])
    db.session.add(
        SealSchedule(
            target_kind="building",
            target_id=a.building.id,
            compound_id=a.compound.id,
            community_id=a.community.id,
            state="sealed",
            starts_at=starts,
            ends_at=starts + timedelta(days=1),
            reason="封闭",
        )
    )
    db.session.commit()
    phone = Browser(sqlite_app, lang="en").sign_in(joined(a))
    assert 'data-testid="invite-refused"' not in phone.get("/me/invitations").text
    r = phone.post("/me/invitations", invite_form(sqlite_app, date=tomorrow.isoformat()))
    assert "The host's building is sealed" in html.unescape(r.text) and visits() == []
    day_after = (tomorrow + timedelta(days=1)).isoformat()
    r = phone.post("/me/invitations", invite_form(sqlite_app, date=day_after))
    assert 'data-testid="share-link"' in r.text
    r = phone.post("/me/invitations", invite_form(sqlite_app))
    assert 'data-testid="share-link"' in r.text
    assert len(visits()) == 2


# --- the share page ---------------------------------------------------------------------------


def test_the_share_page_reveals_only_the_masked_name_the_compound_and_the_day(sqlite_app, sworld):
    area = factories.risk_area(sworld.a.community, "新发地批发市场")
    other = factories.risk_area(sworld.b.community, "樱桃市场")
    db.session.commit()
    phone = Browser(sqlite_app).sign_in(joined(sworld.a))
    r = phone.post("/me/invitations", invite_form(sqlite_app))
    path = path_of(share_link(r))
    visitor = Browser(sqlite_app)
    page = visitor.get(path)
    assert page.status_code == 200
    assert page.headers["X-Robots-Tag"] == "noindex"
    assert page.headers["Cache-Control"] == "no-store"
    facts = re.search(r'data-testid="invite-facts">([^<]+)<', page.text).group(1)
    assert facts == f"王** · 丰台小区 · {today(sqlite_app).isoformat()}"
    for secret in (VISITOR, "8000", "138", "1号楼", "301", "张三丰", "单元"):
        assert secret not in page.text, secret
    # No code before the declaration; the community's risk areas only.
    assert "data-code=" not in page.text
    assert f'value="{area.id}"' in page.text and other.name not in page.text
    # A risk area of another community is refused; nothing declared.
    r = visitor.post(path, {"health_code": "green", "risk_area_ids": str(other.id)})
    assert 'data-field="risk_area_ids"' in r.text and "data-code=" not in r.text
    r = visitor.post(path, {})
    assert 'data-field="health_code"' in r.text
    assert visits()[0].health_code == ""
    # Declared: the code, and a warning when the gate will refuse.
    r = visitor.post(path, {"health_code": "green", "risk_area_ids": str(area.id)})
    code = code_of(r)
    assert code.startswith("K1V:")
    assert 'data-code="risk_area_visit"' in r.text
    (visit,) = visits()
    assert (visit.health_code, visit.risk_area_ids) == ("green", str(area.id))
    # Declared once: a second declaration changes nothing, the page still shows the code.
    r = visitor.post(path, {"health_code": "red"})
    assert code_of(r) == code and visits()[0].health_code == "green"
    assert code_of(visitor.get(path)) == code


def test_a_wrong_token_is_not_found(sqlite_app, sworld):
    visitor = Browser(sqlite_app)
    for token in ("x" * 43, "short", "a" * 200, "%00" * 20, "..%2F..%2Fetc"):
        r = visitor.get("/v/" + token)
        assert r.status_code == 404, token
    assert visitor.post("/v/" + "y" * 43, {"health_code": "green"}).status_code == 404


# --- the gate ---------------------------------------------------------------------------------


def test_the_code_scans_once_at_the_gate_and_the_resident_sees_arrival_and_departure(
    app, world, tablet
):
    phone = Browser(app, lang="en").sign_in(joined(world.a))
    _path, code = invite_and_declare(app, phone)
    r = tablet.scan(code)
    assert decision_of(r) == ("allow", [])
    assert "王**" in r.text and VISITOR not in r.text
    (visit,) = visits()
    assert (visit.status, visit.gate_id, visit.temperature) == ("inside", world.a.gate.id, 36.5)
    (event,) = events()
    assert (event.visit_id, event.decision, event.direction) == (visit.id, "allow", "in")
    page = phone.get("/me/invitations")
    assert "Arrived at" in page.text and 'data-status="arrived"' in page.text
    assert "Cancel the invitation" not in page.text
    # Once only.
    assert decision_of(tablet.scan(code, request_id="again")) == ("deny", ["visitor_code_used"])
    # Out through the gate: the resident sees when the visitor left.
    assert decision_of(tablet.scan(code, direction="out", temperature=None))[0] == "allow"
    page = phone.get("/me/invitations")
    assert "Left at" in page.text and 'data-status="left"' in page.text
    # The share page says the code has been used.
    assert "data-code=" not in Browser(app).get(_path).text


def test_an_undeclared_or_other_days_code_is_refused_at_the_gate(sqlite_app, sworld, stablet):
    phone = Browser(sqlite_app).sign_in(joined(sworld.a))
    phone.post("/me/invitations", invite_form(sqlite_app))
    tomorrow = (today(sqlite_app) + timedelta(days=1)).isoformat()
    _path, later = invite_and_declare(sqlite_app, phone, date=tomorrow)
    undeclared = visits()[0]
    with sqlite_app.test_request_context():
        code = visitors.visitor_code(undeclared)
    assert decision_of(stablet.scan(code))[0] == "deny"
    assert decision_of(stablet.scan(later, request_id="2"))[0] == "deny"
    assert [v.status for v in visits()] == ["registered", "registered"]


def test_a_cancelled_invitation_is_refused_at_the_gate_at_once(sqlite_app, sworld, stablet):
    phone = Browser(sqlite_app, lang="en").sign_in(joined(sworld.a))
    path, code = invite_and_declare(sqlite_app, phone)
    invite = db.session.scalars(db.select(VisitInvite)).one()
    r = phone.post(f"/me/invitations/{invite.id}/cancel", htmx=True)
    assert r.status_code == 200 and '<div id="invitations"' in r.text
    assert 'data-status="cancelled"' in r.text
    db.session.expire_all()
    assert visits()[0].status == "cancelled" and invite.cancelled_at is not None
    assert decision_of(stablet.scan(code)) == ("deny", ["visitor_code_used"])
    assert visits()[0].status == "cancelled"
    # The visitor's page says it was cancelled; the code is gone.
    page = Browser(sqlite_app, lang="en").get(path)
    assert page.status_code == 200 and 'data-status="cancelled"' in page.text
    assert "cancelled by the household" in page.text and "data-code=" not in page.text
    # Twice: told so, nothing changes. A plain form post redirects.
    r = phone.post(f"/me/invitations/{invite.id}/cancel")
    assert r.status_code == 200 and "This invitation is cancelled already." in r.text


def test_a_visitor_inside_cannot_be_cancelled(sqlite_app, sworld, stablet):
    phone = Browser(sqlite_app, lang="en").sign_in(joined(sworld.a))
    _path, code = invite_and_declare(sqlite_app, phone)
    assert decision_of(stablet.scan(code))[0] == "allow"
    invite = db.session.scalars(db.select(VisitInvite)).one()
    r = phone.post(f"/me/invitations/{invite.id}/cancel")
    assert "The visitor has come already" in r.text
    assert visits()[0].status == "inside"


def test_a_plain_cancel_redirects(sqlite_app, sworld):
    phone = Browser(sqlite_app, lang="en").sign_in(joined(sworld.a))
    phone.post("/me/invitations", invite_form(sqlite_app))
    invite = db.session.scalars(db.select(VisitInvite)).one()
    r = phone.post(f"/me/invitations/{invite.id}/cancel")
    assert r.status_code == 303 and r.headers["Location"] == "/me/invitations"


# --- scope ------------------------------------------------------------------------------------


def test_another_households_invitation_is_not_found(sqlite_app, sworld):
    mine = Browser(sqlite_app, lang="en").sign_in(joined(sworld.a))
    mine.post("/me/invitations", invite_form(sqlite_app))
    invite = db.session.scalars(db.select(VisitInvite)).one()
    other = Browser(sqlite_app, lang="en").sign_in(joined(sworld.b))
    assert VISITOR not in other.get("/me/invitations").text
    for ident in (invite.id, invite.id + 1, 0, 2**31 - 1, 2**31, 10**20):
        r = other.post(f"/me/invitations/{ident}/cancel")
        assert r.status_code == 404, ident
    assert visits()[0].status == "registered"


def test_staff_and_unjoined_residents_may_not_invite(sqlite_app, sworld):
    for user in (sworld.a.guard, sworld.a.office, sworld.worker, sworld.resident_user):
        browser = Browser(sqlite_app).sign_in(user)
        assert browser.get("/me/invitations").status_code == 403
        assert browser.post("/me/invitations", invite_form(sqlite_app)).status_code == 403
    r = Browser(sqlite_app).get("/me/invitations")
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")
    assert visits() == []
