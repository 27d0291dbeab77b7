"""Visitors: registered by the guard at the gate, or on their own phone from the poster's link,
then scanned in and out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kiosk.domain import passcodes
from kiosk.extensions import db
from kiosk.models import Alert, SealSchedule, Visit, utcnow
from kiosk.services import security
from tests import factories

from .conftest import Browser, attr, decision_of, events

VISITOR = "王小明"


def visitor_form(world, **changes) -> dict:
    form = {
        "name": VISITOR,
        "phone": "138 0013 8000",
        "host_household_id": str(world.a.household.id),
        "purpose": "delivery",
        "health_code": "green",
        "temperature": "36.4",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def visits() -> list[Visit]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Visit).order_by(Visit.id)))


def option_values(text: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', text, re.S)
    assert select, f"no select {name}"
    return set(re.findall(r'<option value="(\d+)"', select.group(1)))


def checkbox_values(text: str) -> set[str]:
    return set(re.findall(r'name="risk_area_ids" value="(\d+)"', text))


# --- at the gate ------------------------------------------------------------------------------


def test_visitor_form_lists_this_compounds_households_and_this_communitys_risk_areas(
    sqlite_app, sworld, stablet
):
    market = factories.risk_area(sworld.a.community, "新发地批发市场")
    gone = factories.risk_area(sworld.a.community, "已撤销的地方")
    gone.deleted_at = utcnow()
    other = factories.risk_area(sworld.b.community, "樱桃市场")
    db.session.commit()
    fragment = stablet.get("/gate/visitors/new", htmx=True)
    assert fragment.status_code == 200
    assert fragment.text.startswith('<div id="visitor-form"') and "<html" not in fragment.text
    page = stablet.get("/gate/visitors/new")
    assert "<html" in page.text and "返回扫码" in page.text
    for text in (fragment.text, page.text):
        assert option_values(text, "host_household_id") == {str(sworld.a.household.id)}
        assert "1号楼 2单元 301" in text
        assert checkbox_values(text) == {str(market.id)}
        assert "新发地批发市场" in text and other.name not in text and gone.name not in text
        assert "张三丰" not in text


def test_a_visitor_registered_at_the_gate_is_allowed_and_logged(app, world, tablet):
    r = tablet.post("/gate/visitors", visitor_form(world, request_id="v-1"), htmx=True)
    assert decision_of(r) == ("allow", [])
    assert r.headers["HX-Retarget"] == "#result"
    assert r.headers["HX-Reswap"] == "innerHTML"
    assert r.headers["HX-Trigger-After-Swap"] == "closePanel"  # after the answer is in #result
    assert "HX-Trigger" not in r.headers
    assert '<span class="name">王**</span>' in r.text and VISITOR not in r.text
    assert '<span class="kind">访客</span>' in r.text
    (visit,) = visits()
    assert (visit.status, visit.via, visit.decision) == ("inside", "gate", "allow")
    assert visit.name == VISITOR and visit.phone_last4 == "8000"
    assert visit.phone_hash == security.keyed_hash("13800138000")  # never the number itself
    assert (visit.host_household_id, visit.gate_id, visit.temperature) == (
        world.a.household.id,
        world.a.gate.id,
        36.4,
    )
    assert visit.checked_in_at is not None
    (event,) = events()
    assert (event.visit_id, event.user_id, event.direction, event.decision) == (
        visit.id,
        world.a.guard.id,
        "in",
        "allow",
    )
    assert int(attr(r, "data-event-id")) == event.id
    # A retry of the same submission logs nothing more.
    again = tablet.post("/gate/visitors", visitor_form(world, request_id="v-1"), htmx=True)
    assert attr(again, "data-event-id") == attr(r, "data-event-id")
    assert len(visits()) == 1 and len(events()) == 1


def _seal_host_building(world, state):
    world.a.building.seal_state = state


def _observe_host(world, _):
    world.a.household.observation_until = utcnow() + timedelta(days=10)


def _policy(world, policy):
    world.a.compound.visitor_policy = policy


@pytest.mark.parametrize(
    ("case", "change", "form", "reasons"),
    [
        ("red code", None, {"health_code": "red"}, ["health_code_red"]),
        ("yellow code", None, {"health_code": "yellow"}, ["health_code_yellow"]),
        ("risk area", None, {"risk_area_ids": "AREA"}, ["risk_area_visit"]),
        ("fever", None, {"temperature": "37.8"}, ["fever"]),
        ("building sealed", (_seal_host_building, "sealed"), {}, ["host_building_sealed"]),
        ("building in-only", (_seal_host_building, "in_only"), {}, ["host_building_in_only"]),
        ("host observed", (_observe_host, None), {}, ["host_observation"]),
        ("no visitors", (_policy, "none"), {}, ["visitors_not_allowed"]),
        ("registered only", (_policy, "registered"), {}, ["visitor_not_registered"]),
    ],
)
def test_a_visitor_is_denied_with_the_reason(
    sqlite_app, sworld, stablet, case, change, form, reasons
):
    area = factories.risk_area(sworld.a.community, "新发地批发市场")
    if change:
        change[0](sworld, change[1])
    db.session.commit()
    if form.get("risk_area_ids") == "AREA":
        form = {"risk_area_ids": str(area.id)}
    r = stablet.post("/gate/visitors", visitor_form(sworld, **form), htmx=True)
    assert decision_of(r) == ("deny", reasons)
    assert r.headers["HX-Retarget"] == "#result"
    assert '<div class="verdict">禁止</div>' in r.text
    (visit,) = visits()
    assert (visit.status, visit.decision, visit.reasons) == ("denied", "deny", " ".join(reasons))
    (event,) = events()
    assert event.visit_id == visit.id and event.decision == "deny"
    assert len(db.session.scalars(db.select(Alert)).all()) == (1 if case == "fever" else 0)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ({"phone": None}, "电话：此项必填。"),
        ({"phone": "12"}, "电话号码无效。"),
        ({"temperature": None}, "请给访客测体温。"),
        ({"host_household_id": None}, "请选择被访住户。"),
        ({"host_household_id": "OTHER"}, "请选择被访住户。"),
        ({"risk_area_ids": "OTHER"}, "请从列表中选择风险地区。"),
    ],
)
def test_a_form_with_a_problem_comes_back_with_the_message_and_the_values(
    sqlite_app, sworld, stablet, missing, message
):
    other_area = factories.risk_area(sworld.b.community, "樱桃市场")
    db.session.commit()
    # "OTHER": site b's household or risk area, which this gate's form never offers.
    elsewhere = {
        "host_household_id": str(sworld.b.household.id),
        "risk_area_ids": str(other_area.id),
    }
    changes = {k: elsewhere[k] if v == "OTHER" else v for k, v in missing.items()}
    r = stablet.post("/gate/visitors", visitor_form(sworld, **changes), htmx=True)
    assert r.status_code == 200
    assert "HX-Retarget" not in r.headers
    assert r.text.startswith('<div id="visitor-form"')
    assert re.search(
        r'<p class="error" role="alert" data-field="\w+">' + re.escape(message) + "</p>", r.text
    )
    assert f'name="name" value="{VISITOR}"' in r.text
    assert (
        'value="delivery" required checked' in r.text and 'value="green" required checked' in r.text
    )
    if "temperature" not in missing:
        assert 'name="temperature" value="36.4"' in r.text
    if "host_household_id" not in missing:
        assert f'<option value="{sworld.a.household.id}" selected>' in r.text
    assert visits() == [] and events() == []


def test_visitors_inside_are_listed_and_checked_out_with_one_tap(app, world, tablet):
    tablet.post("/gate/visitors", visitor_form(world), htmx=True)
    (visit,) = visits()
    listing = tablet.get("/gate/visitors", htmx=True)
    assert listing.status_code == 200 and "<html" not in listing.text
    assert "<td>王**</td>" in listing.text and VISITOR not in listing.text
    assert "1号楼 2单元 301" in listing.text and "<td>送货</td>" in listing.text
    assert f'hx-post="/gate/visitors/{visit.id}/checkout"' in listing.text
    assert "<html" in tablet.get("/gate/visitors").text

    r = tablet.post(f"/gate/visitors/{visit.id}/checkout", htmx=True)
    assert r.status_code == 200 and r.text == ""
    assert r.headers["HX-Trigger"] == "scanned"
    (visit,) = visits()
    assert visit.status == "left" and visit.checked_out_at is not None
    out = events()[-1]
    assert (out.direction, out.decision, out.visit_id, out.user_id) == (
        "out",
        "allow",
        visit.id,
        world.a.guard.id,
    )
    assert "目前没有访客在内。" in tablet.get("/gate/visitors", htmx=True).text

    r = tablet.post(f"/gate/visitors/{visit.id}/checkout", htmx=True)
    assert attr(r, "data-decision") == "problem" and "此访客不在小区内。" in r.text
    assert len(events()) == 2


def test_another_compounds_visitor_cannot_be_checked_out_here(app, world, tablet):
    other = Browser(app, world.b.device_token).sign_in(world.b.guard)
    other.post(
        "/gate/visitors",
        visitor_form(world, host_household_id=str(world.b.household.id)),
        htmx=True,
    )
    (visit,) = visits()
    assert visit.status == "inside"
    assert f"/gate/visitors/{visit.id}/checkout" not in tablet.get("/gate/visitors").text
    assert tablet.post(f"/gate/visitors/{visit.id}/checkout", htmx=True).status_code == 404
    assert visits()[0].status == "inside"


# --- self-registration ------------------------------------------------------------------------


def self_register(browser: Browser, world, slug=None, **changes):
    form = visitor_form(world, **changes)
    form.pop("temperature")
    return browser.post(f"/visit/{slug or world.a.compound.public_slug}", form)


def test_the_public_form_shows_only_this_compounds_households_and_no_residents(app, world, browser):
    factories.risk_area(world.a.community, "新发地批发市场")
    factories.risk_area(world.b.community, "樱桃市场")
    db.session.commit()
    r = browser.get(f"/visit/{world.a.compound.public_slug}")
    assert r.status_code == 200
    assert "<h1>访客登记 · 丰台小区</h1>" in r.text
    assert option_values(r.text, "host_household_id") == {str(world.a.household.id)}
    assert "新发地批发市场" in r.text and "樱桃市场" not in r.text
    assert "张三丰" not in r.text and "张**" not in r.text
    for slug in ("no-such-compound", "short", world.a.compound.public_slug + "x" * 30):
        assert browser.get(f"/visit/{slug}").status_code == 404


def test_a_self_registered_visitor_gets_a_code_that_works_once(app, world, browser, tablet):
    r = self_register(browser, world)
    assert r.status_code == 200
    assert "<h1>您的访客码</h1>" in r.text
    code = attr(r, "data-code")
    assert re.search(r'<div class="qr" data-code="[^"]+" data-testid="visitor-qr"><svg', r.text)
    verified = passcodes.verify(app.config["PASS_KEYRING"], code, utcnow().timestamp(), 30)
    (visit,) = visits()
    assert verified.form == passcodes.VISITOR and verified.pass_id == visit.id
    assert (visit.via, visit.status, visit.gate_id) == ("self", "registered", None)
    assert visit.valid_on == utcnow().astimezone(app.config["TZ"]).date()
    assert "王**" in r.text and VISITOR not in r.text
    assert 'role="alert"' not in r.text  # nothing stands in the way

    first = tablet.scan(code, temperature="36.5")
    assert decision_of(first) == ("allow", [])
    assert '<span class="kind">访客</span>' in first.text
    assert visits()[0].status == "inside" and events()[-1].visit_id == visit.id
    second = tablet.scan(code, temperature="36.5")
    assert decision_of(second) == ("deny", ["visitor_code_used"])
    assert "此访客码已使用或不是今天的" in second.text

    out = tablet.scan(code, direction="out", temperature=None)
    assert decision_of(out) == ("allow", [])
    (visit,) = visits()
    assert visit.status == "left" and visit.checked_out_at is not None
    assert decision_of(tablet.scan(code, direction="out", temperature=None)) == (
        "deny",
        ["visitor_code_used"],
    )
    assert [e.decision for e in events()] == ["allow", "deny", "allow", "deny"]


def test_a_self_registered_visitor_passes_where_only_registered_visitors_may(
    app, world, browser, tablet
):
    world.a.compound.visitor_policy = "registered"
    db.session.commit()
    code = attr(self_register(browser, world), "data-code")
    assert decision_of(tablet.scan(code, temperature="36.5")) == ("allow", [])


def test_the_code_page_warns_when_the_gate_would_refuse(app, world, browser):
    r = self_register(browser, world, health_code="yellow")
    assert r.status_code == 200
    warning = re.search(r'<div class="card warning" role="alert">(.*?)</div>', r.text, re.S)
    assert warning and "黄码" in warning.group(1)


def test_an_old_poster_of_a_compound_that_takes_no_visitors_gives_no_code(app, world, browser):
    world.a.compound.visitor_policy = "none"
    db.session.commit()
    slug = world.a.compound.public_slug
    page = browser.get(f"/visit/{slug}")
    assert page.status_code == 200
    assert "本小区目前不接待访客" in page.text and 'name="host_household_id"' not in page.text
    r = self_register(browser, world)
    assert r.status_code == 403 and "data-code" not in r.text
    assert visits() == []


def test_a_visitor_code_is_denied_at_another_compounds_gate(app, world, browser):
    code = attr(self_register(browser, world), "data-code")
    other = Browser(app, world.b.device_token).sign_in(world.b.guard)
    r = other.scan(code, temperature="36.5")
    assert decision_of(r) == ("deny", ["other_compound"])
    assert visits()[0].status == "registered"


def test_self_registration_with_a_problem_keeps_the_form(sqlite_app, sworld):
    browser = Browser(sqlite_app)
    r = self_register(browser, sworld, phone="")
    assert r.status_code == 200
    assert "电话：此项必填。" in r.text
    assert f'name="name" value="{VISITOR}"' in r.text
    assert visits() == []


def test_self_registration_needs_the_csrf_token(sqlite_app, sworld):
    browser = Browser(sqlite_app)
    form = visitor_form(sworld)
    r = browser.post(f"/visit/{sworld.a.compound.public_slug}", form, csrf=False)
    assert r.status_code == 400
    assert "表单已过期，请刷新页面后重试。" in r.text
    assert visits() == []


def test_self_registration_is_rate_limited(sqlite_app, sworld):
    browser = Browser(sqlite_app)
    assert sqlite_app.config["VISIT_RATE_LIMIT"] == "5 per minute"
    for _ in range(5):
        assert self_register(browser, sworld, phone="").status_code == 200
    r = self_register(browser, sworld)
    assert r.status_code == 429
    assert "尝试次数过多，请一分钟后再试。" in r.text
    assert visits() == []
    assert (
        browser.get(f"/visit/{sworld.a.compound.public_slug}").status_code == 200
    )  # reading is free


def test_a_visitors_fever_is_not_offered_a_second_reading(sqlite_app, sworld, stablet):
    r = stablet.post("/gate/visitors", visitor_form(sworld, temperature="38.1"), htmx=True)
    assert decision_of(r) == ("deny", ["fever"])
    assert "/remeasure" not in r.text
    fever = stablet.scan(factories.code(sworld.a.pass_), temperature="38.1")
    panel = stablet.get("/gate/panel", htmx=True).text
    # Only the resident's fever row offers "Measure again"; a visitor has no pass to decide again.
    assert re.findall(r'data-url="/gate/events/(\d+)/remeasure"', panel) == [
        attr(fever, "data-event-id")
    ]


def _local_time(app, when):
    return when.astimezone(app.config["TZ"]).time().replace(second=0, microsecond=0)


def test_a_visitor_is_refused_outside_the_gates_hours_and_under_a_scheduled_seal(
    app, world, tablet
):
    """The same rules in force as for residents: the gate's opening hours and a seal scheduled
    in advance apply to visitors at the moment of their scan."""
    now = utcnow()
    gate = world.a.gate
    gate.opens_at = _local_time(app, now + timedelta(hours=1))
    gate.closes_at = _local_time(app, now + timedelta(hours=3))
    db.session.commit()
    r = tablet.post("/gate/visitors", visitor_form(world, request_id="h-1"), htmx=True)
    assert decision_of(r) == ("deny", ["gate_closed"])

    gate.opens_at = gate.closes_at = None
    db.session.add(
        SealSchedule(
            target_kind="compound",
            target_id=world.a.compound.id,
            compound_id=world.a.compound.id,
            community_id=world.a.community.id,
            state="sealed",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
            reason="全员核酸",
        )
    )
    db.session.commit()
    r = tablet.post("/gate/visitors", visitor_form(world, request_id="h-2"), htmx=True)
    assert decision_of(r) == ("deny", ["compound_sealed"])
