"""Ids in web forms are declared (``contract.forms``): ``²``, an id beyond 2⁶³, a blank or a
negative one is a clear, translated message on the page, with what the user typed, never a 500.

On both engines: PostgreSQL refused to compare an id beyond its integer keys (a 500), and
``int("²")`` raised (a 500) on either.
"""

from __future__ import annotations

import re

import pytest

from kiosk.extensions import db
from kiosk.models import AccessEvent, Device, RiskArea, User, Visit
from tests import factories

from .conftest import Browser, attr

BAD_IDS = ["²", "99999999999999999999", "", "-1"]
HUGE = "99999999999999999999"


def errors_of(response) -> list[str]:
    return re.findall(r'<p class="error" role="alert"[^>]*>(.*?)</p>', response.text, re.S)


def count(model) -> int:
    db.session.expire_all()
    return db.session.query(model).count()


@pytest.fixture
def street(app, world):
    return Browser(app).sign_in(world.street_user)


def visitor_form(world, **changes) -> dict:
    form = {
        "name": "李四",
        "phone": "138 0013 8000",
        "host_household_id": str(world.a.household.id),
        "purpose": "delivery",
        "health_code": "green",
    }
    form.update(changes)
    return form


# --- the public visitor form --------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
def test_public_visitor_form_with_a_bad_household(app, world, browser, bad):
    app.config["VISIT_RATE_LIMIT"] = "1000 per minute"
    r = browser.post(
        f"/visit/{world.a.compound.public_slug}", visitor_form(world, host_household_id=bad)
    )
    assert r.status_code == 200
    assert errors_of(r) == ["请选择被访住户。"]
    assert 'data-field="host_household_id"' in r.text
    assert 'name="name" value="李四"' in r.text  # what the visitor typed is kept
    assert count(Visit) == 0


@pytest.mark.parametrize("bad", ["²", HUGE, "-1"])
def test_public_visitor_form_with_a_bad_risk_area(app, world, browser, bad):
    app.config["VISIT_RATE_LIMIT"] = "1000 per minute"
    form = visitor_form(world, risk_area_ids=bad)
    r = browser.post(f"/visit/{world.a.compound.public_slug}", form, lang="en")
    assert r.status_code == 200
    assert errors_of(r) == ["Choose risk areas from the list."]
    assert count(Visit) == 0


def test_public_visitor_form_names_every_problem_at_once(app, world, browser):
    form = visitor_form(world, phone="12", host_household_id="²", purpose="party", name=" ")
    r = browser.post(f"/visit/{world.a.compound.public_slug}", form, lang="en")
    assert r.status_code == 200
    assert errors_of(r) == [
        "Name: this field is required.",
        "phone: not a valid phone number.",
        "Choose the household being visited.",
        "Purpose: must be one of delivery, visit, repair, medical, official, other.",
    ]
    fields = re.findall(r'<p class="error" role="alert" data-field="(\w+)">', r.text)
    assert fields == ["name", "phone", "host_household_id", "purpose"]
    assert 'name="phone" value="12"' in r.text
    # In Chinese by default, with the fields named in Chinese.
    r = browser.post(f"/visit/{world.a.compound.public_slug}", form)
    assert errors_of(r)[:2] == ["姓名：此项必填。", "电话号码无效。"]
    assert count(Visit) == 0


# --- the gate tablet ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
def test_gate_lookup_with_a_bad_building(app, world, tablet, bad):
    form = {"building_id": bad, "unit": "2", "last4": "123X"}
    r = tablet.post("/gate/lookup", form, htmx=True)
    assert r.status_code == 200
    assert errors_of(r) == ["请选择楼栋。"]
    assert 'name="unit" value="2"' in r.text and 'name="last4" value="123X"' in r.text


def test_gate_lookup_names_every_problem_at_once(app, world, tablet):
    r = tablet.post("/gate/lookup", {"building_id": "²", "unit": "", "last4": "1"}, htmx=True)
    assert r.status_code == 200
    assert errors_of(r) == ["请选择楼栋。", "单元：此项必填。", "请输入证件号后四位。"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_gate_manual_with_a_bad_person(app, world, tablet, bad):
    form = {"resident_id": bad, "direction": "in", "temperature": "36.5"}
    r = tablet.post("/gate/manual", form, htmx=True, lang="en")
    assert r.status_code == 200
    assert attr(r, "data-decision") == "problem"
    assert "Choose the person." in r.text
    assert count(AccessEvent) == 0


@pytest.mark.parametrize("bad", BAD_IDS)
def test_gate_visitor_form_with_a_bad_household(app, world, tablet, bad):
    form = {**visitor_form(world, host_household_id=bad), "temperature": "36.4"}
    r = tablet.post("/gate/visitors", form, htmx=True)
    assert r.status_code == 200
    assert "HX-Retarget" not in r.headers
    assert errors_of(r) == ["请选择被访住户。"]
    assert 'name="temperature" value="36.4"' in r.text
    assert count(Visit) == 0 and count(AccessEvent) == 0


@pytest.mark.parametrize("bad", ["²", HUGE, "-1"])
def test_gate_visitor_form_with_a_bad_risk_area(app, world, tablet, bad):
    form = {**visitor_form(world, risk_area_ids=bad), "temperature": "36.4"}
    r = tablet.post("/gate/visitors", form, htmx=True)
    assert r.status_code == 200
    assert errors_of(r) == ["请从列表中选择风险地区。"]
    assert count(Visit) == 0


@pytest.mark.parametrize("bad", ["²", HUGE, "-1", "1e3"])
def test_gate_scan_with_a_bad_reading_time(app, world, tablet, bad):
    data = {"code": factories.code(world.a.pass_), "direction": "in", "temperature": "36.5"}
    r = tablet.post("/gate/scan", {**data, "scanned_at": bad}, htmx=True)
    assert r.status_code == 200
    assert attr(r, "data-decision") == "problem"
    assert count(AccessEvent) == 0


@pytest.mark.parametrize(
    "path",
    [
        f"/gate/events/{HUGE}/override",
        f"/gate/events/{HUGE}/remeasure",
        f"/gate/visitors/{HUGE}/checkout",
    ],
)
def test_gate_actions_on_an_id_beyond_the_keys_are_404(app, world, tablet, path):
    form = {"decision": "deny", "temperature": "36.5"}
    assert tablet.post(path, form, htmx=True).status_code == 404


# --- the office ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
def test_office_guard_pin_for_a_bad_id(app, world, office, bad):
    r = office.post("/office/guards", {"user_id": bad, "pin": "2468"})
    assert r.status_code == 200
    assert errors_of(r) == ["未找到。"]
    db.session.expire_all()
    assert all(u.pin_hash is None for u in db.session.scalars(db.select(User)))


def test_office_guard_pin_names_every_problem_at_once(app, world, office):
    r = office.post("/office/guards", {"user_id": "²", "pin": "12"}, lang="en")
    assert errors_of(r) == ["Not found.", "The PIN must be 4 to 8 digits."]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_office_new_tablet_for_a_bad_gate(app, world, office, bad):
    before = count(Device)
    r = office.post("/office/devices", {"gate_id": bad, "name": "东门平板 2"})
    assert r.status_code == 200
    assert errors_of(r) == ["请选择出入口。"]
    assert count(Device) == before


def test_office_new_tablet_needs_a_name_too(app, world, office):
    r = office.post("/office/devices", {"gate_id": "²", "name": ""}, lang="en")
    assert errors_of(r) == ["Tablet name: this field is required.", "Choose the gate."]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_office_visitor_policy_for_a_bad_compound(app, world, office, bad):
    r = office.post("/office/compounds", {"compound_id": bad, "visitor_policy": "none"})
    assert r.status_code == 200
    assert errors_of(r) == ["未找到。"]
    db.session.expire_all()
    assert world.a.compound.visitor_policy != "none"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_street_risk_area_for_a_bad_community(app, world, street, bad):
    form = {"community_id": bad, "name": "樱桃市场", "level": "high", "since": "2020-06-10"}
    r = street.post("/office/risk-areas", form)
    assert r.status_code == 200
    # Left blank, the street user has named no community of theirs.
    assert errors_of(r) == ["没有这个社区。" if bad == "" else "请选择社区。"]
    assert 'value="樱桃市场"' in r.text
    assert count(RiskArea) == 0


def test_risk_area_form_names_every_problem_at_once(app, world, office):
    form = {"name": "", "level": "extreme", "since": "2020-02-30"}
    r = office.post("/office/risk-areas", form, lang="en")
    assert r.status_code == 200
    assert errors_of(r) == [
        "Place: this field is required.",
        "Level: must be one of high, medium, low.",
        "Since: must be an ISO 8601 time.",
    ]
    assert count(RiskArea) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/office/alerts/{HUGE}/ack"),
        ("POST", f"/office/devices/{HUGE}/enrolment"),
        ("GET", f"/office/compounds/{HUGE}/poster"),
        ("POST", f"/office/risk-areas/{HUGE}/delete"),
    ],
)
def test_office_actions_on_an_id_beyond_the_keys_are_404(app, world, office, method, path):
    r = office.get(path) if method == "GET" else office.post(path, {})
    assert r.status_code == 404
