"""POST /api/v1/scans: the gate tablet's question "may this person pass?", answered and logged."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from kiosk.domain import passcodes
from kiosk.extensions import db
from kiosk.models import AccessEvent, Building, Compound, Device, Household, Pass, utcnow
from kiosk.services.passes import code_for
from tests import factories
from tests.helpers import ApiClient


@pytest.fixture
def gate_a(world, client) -> ApiClient:
    """The tablet at site a's gate."""
    return ApiClient(client).as_device(world.a.device_token)


@pytest.fixture
def office(world, client) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(world.a.office))


def answer(r) -> dict:
    assert r.status_code == 200, (r.status_code, r.get_data(as_text=True))
    body = r.get_json()
    for reason in body["reasons"]:
        assert isinstance(reason["message"], str) and reason["message"]
    return body


def codes_of(body: dict) -> list[str]:
    return [x["code"] for x in body["reasons"]]


def decided(r) -> tuple[str, list[str]]:
    body = answer(r)
    return body["decision"], codes_of(body)


def events() -> list[AccessEvent]:
    db.session.expire_all()
    return list(db.session.query(AccessEvent).order_by(AccessEvent.id))


def error(r, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    err = r.get_json()["error"]
    assert err["message"]
    if code:
        assert err["code"] == code
    if field:
        assert err["field"] == field
    return err


def fresh_code(world) -> str:
    """The code of a new phone pass for site a's resident, who is back to "whereabouts unknown"
    (anti-passback is per person, so a new pass alone would still be inside)."""
    p = factories.pass_for(world.a.resident)
    world.a.resident.presence = None
    db.session.commit()
    return factories.code(p)


def set_row(model, ident, **values) -> None:
    row = db.session.get(model, ident)
    for k, v in values.items():
        setattr(row, k, v)
    db.session.commit()


# --- allowed scans --------------------------------------------------------------------------


def test_allowed_scan_shows_a_masked_holder_and_is_logged(world, gate_a, office):
    r = gate_a.scan(factories.code(world.a.pass_), "in", 36.5)
    body = answer(r)
    assert body["decision"] == "allow" and body["reasons"] == []
    assert body["holder"] == {
        "display_name": "张**",
        "building": "1号楼",
        "unit": "2",
        "pass_kind": "resident",
    }
    assert "张三丰" not in r.get_data(as_text=True)
    assert body["replayed"] is False
    assert body["occurred_at"].endswith("+08:00")
    assert abs(datetime.fromisoformat(body["occurred_at"]) - utcnow()) < timedelta(minutes=1)
    [e] = events()
    assert e.id == body["event_id"]
    assert (e.gate_id, e.device_id, e.direction, e.decision) == (
        world.a.gate.id,
        world.a.device.id,
        "in",
        "allow",
    )
    assert (e.pass_id, e.resident_id, e.temperature) == (
        world.a.pass_.id,
        world.a.resident.id,
        36.5,
    )
    # Latin names keep their shape when masked.
    res = factories.resident(world.a.household, name="Li  Wei")
    p = factories.pass_for(res)
    db.session.commit()
    assert answer(gate_a.scan(factories.code(p)))["holder"]["display_name"] == "L* ***"
    # A scanner typing lower case and a line end still works.
    code = factories.code(world.a.pass_).lower() + "\r\n"
    assert decided(gate_a.scan(code, "out")) == ("allow", [])
    # The code an office hands out is the code the gate accepts.
    r = office.post(f"/api/v1/residents/{world.a.resident.id}/passes", json={"kind": "resident"})
    issued = r.get_json()
    p = db.session.get(Pass, issued["id"])
    assert issued["code"] in (code_for(p), code_for(p, time.time() - 30))
    assert decided(gate_a.scan(issued["code"])) == ("allow", [])


def test_paper_pass_static_code_allows(world, gate_a, app):
    p = factories.pass_for(world.a.resident, kind="paper")
    db.session.commit()
    code = factories.code(p)
    assert code == passcodes.sign(app.config["PASS_KEYRING"], p.id, "S")
    body = answer(gate_a.scan(code, "out", None))
    assert body["decision"] == "allow" and body["holder"]["pass_kind"] == "paper"
    # The same paper code works again later (it does not rotate).
    assert decided(gate_a.scan(code, "in", 36.6)) == ("allow", [])
    # The code form must fit the pass kind.
    keys = app.config["PASS_KEYRING"]
    # A static code signed for a phone pass was never issued.
    static_for_phone_pass = passcodes.sign(keys, world.a.pass_.id, "S")
    assert decided(gate_a.scan(static_for_phone_pass)) == ("deny", ["invalid_code"])
    # Nor a rotating code for a paper pass.
    paper = factories.pass_for(world.a.resident, kind="paper")
    db.session.commit()
    rotating_for_paper = passcodes.sign(keys, paper.id, "R", passcodes.time_step(time.time(), 30))
    assert decided(gate_a.scan(rotating_for_paper)) == ("deny", ["invalid_code"])
    assert [e.pass_id for e in events()][-2:] == [None, None]


# --- codes that are not valid ---------------------------------------------------------------


def test_invalid_codes_are_denied_and_logged_without_a_pass(world, gate_a, app):
    """Any text the document allows (1 to 200 characters) is a scan: a bad one is denied."""
    good = factories.code(world.a.pass_)
    other_deployment = passcodes.PassKeys.parse("T1:another-deployment-key-0123456789")
    unknown_kid = passcodes.PassKeys.parse("X9:another-deployment-key-0123456789")
    last = good[-1]
    bad_codes = [
        "hello",
        "   ",
        good[:-1] + ("A" if last != "A" else "B"),  # forged tag
        good.replace(":", ";"),
        passcodes.sign(other_deployment, world.a.pass_.id, "S"),  # same key id, other secret
        passcodes.sign(unknown_kid, world.a.pass_.id, "S"),
        "K1S:T1:1:" + "A" * 191,  # 200 characters, the most the document allows
        good + "A" * 70,
        "通行证" + good,  # non-ASCII
        good[:-1] + "ſ",  # upper() would make it "S"
    ]
    for code in bad_codes:
        body = answer(gate_a.scan(code))
        assert (body["decision"], codes_of(body)) == ("deny", ["invalid_code"]), code
        assert body["holder"] is None
    logged = events()
    assert len(logged) == len(bad_codes)
    assert {(e.pass_id, e.resident_id, e.decision, e.reasons) for e in logged} == {
        (None, None, "deny", "invalid_code")
    }


def test_codes_the_document_calls_invalid_are_422_and_not_logged(world, gate_a):
    good = factories.code(world.a.pass_)
    for code in ("", "K1S:T1:1:" + "A" * 192, 12345, None, ["K1S"], {"code": good}, True):
        error(gate_a.scan(code), 422, "invalid", "code")
    r = gate_a.post("/api/v1/scans", json={"direction": "in"}, lang="en")
    assert error(r, 422, "invalid", "code")["message"] == "Code: this field is required."
    assert events() == []


def test_old_and_future_rotating_codes_are_invalid(world, gate_a, app):
    step = 30
    now = time.time()
    for offset in (-3 * step, -10 * step, 3 * step, 10**6):
        code = factories.code(world.a.pass_, now + offset)
        assert decided(gate_a.scan(code)) == ("deny", ["invalid_code"]), offset
    # The code of the step before still passes (a phone screen a few seconds old).
    assert decided(gate_a.scan(factories.code(world.a.pass_, now - step))) == ("allow", [])
    # A signed code for a pass that does not exist.
    keys = app.config["PASS_KEYRING"]
    step = passcodes.time_step(time.time(), 30)
    for pid in (999999, 2**31 - 1, 2**31, 36**13 - 1):
        for code in (passcodes.sign(keys, pid, "S"), passcodes.sign(keys, pid, "R", step)):
            body = answer(gate_a.scan(code))
            assert (body["decision"], codes_of(body), body["holder"]) == (
                "deny",
                ["unknown_pass"],
                None,
            ), pid
    assert {e.pass_id for e in events()[-8:]} == {None}


# --- the pass itself ------------------------------------------------------------------------


def test_revoked_pass_is_denied(world, gate_a, office):
    code = factories.code(world.a.pass_)
    assert (
        office.post(
            f"/api/v1/passes/{world.a.pass_.id}/revoke", json={"reason": "丢失"}
        ).status_code
        == 200
    )
    assert decided(gate_a.scan(code)) == ("deny", ["revoked"])
    assert events()[-1].pass_id == world.a.pass_.id
    # Expired and future passes.
    now = utcnow()
    expired = factories.pass_for(
        world.a.resident,
        kind="paper",
        valid_from=now - timedelta(days=10),
        valid_until=now - timedelta(minutes=1),
    )
    future = factories.pass_for(world.a.resident, kind="paper", valid_from=now + timedelta(hours=1))
    db.session.commit()
    assert decided(gate_a.scan(factories.code(expired))) == ("deny", ["expired"])
    assert decided(gate_a.scan(factories.code(future))) == ("deny", ["not_yet_valid"])
    # A pass of another compound.
    body = answer(gate_a.scan(factories.code(world.b.pass_)))
    assert (body["decision"], codes_of(body)) == ("deny", ["other_compound"])
    assert events()[0].gate_id == world.a.gate.id


# --- the place ------------------------------------------------------------------------------


def test_closed_gate_refuses_both_ways(world, gate_a, office):
    assert office.patch(f"/api/v1/gates/{world.a.gate.id}", json={"open": False}).status_code == 200
    code = factories.code(world.a.pass_)
    assert decided(gate_a.scan(code, "in")) == ("deny", ["gate_closed"])
    assert decided(gate_a.scan(code, "out")) == ("deny", ["gate_closed"])
    office.patch(f"/api/v1/gates/{world.a.gate.id}", json={"open": True})
    assert decided(gate_a.scan(code, "in")) == ("allow", [])
    # The compound's seal states.
    code = fresh_code(world)
    set_row(Compound, world.a.compound.id, seal_state="sealed", seal_reason="x")
    assert decided(gate_a.scan(code, "in")) == ("deny", ["compound_sealed"])
    assert decided(gate_a.scan(code, "out")) == ("deny", ["compound_sealed"])
    set_row(Compound, world.a.compound.id, seal_state="in_only")
    assert decided(gate_a.scan(code, "out")) == ("deny", ["compound_in_only"])
    assert decided(gate_a.scan(code, "in")) == ("allow", [])


def test_building_seal_states(world, gate_a):
    code = factories.code(world.a.pass_)
    set_row(Building, world.a.building.id, seal_state="sealed", seal_reason="x")
    assert decided(gate_a.scan(code, "in")) == ("deny", ["building_sealed"])
    assert decided(gate_a.scan(code, "out")) == ("deny", ["building_sealed"])
    set_row(Building, world.a.building.id, seal_state="in_only")
    assert decided(gate_a.scan(code, "out")) == ("deny", ["building_in_only"])
    assert decided(gate_a.scan(code, "in")) == ("allow", [])
    # A sealed building and an in-only compound: every reason is given.
    set_row(Building, world.a.building.id, seal_state="sealed")
    set_row(Compound, world.a.compound.id, seal_state="in_only", seal_reason="x")
    assert decided(gate_a.scan(code, "out")) == ("deny", ["compound_in_only", "building_sealed"])


def test_home_observation_and_anti_passback(world, gate_a):
    code = factories.code(world.a.pass_)
    set_row(
        Household,
        world.a.household.id,
        observation_until=utcnow() + timedelta(days=14),
        observation_reason="去过新发地",
    )
    assert decided(gate_a.scan(code, "out")) == ("deny", ["home_observation"])
    assert decided(gate_a.scan(code, "in")) == ("allow", [])
    # Once the observation has run out, the member may leave.
    set_row(Household, world.a.household.id, observation_until=utcnow() - timedelta(seconds=1))
    assert decided(gate_a.scan(code, "out")) == ("allow", [])
    # Anti-passback: a second entry or exit is referred to the guard.
    code = fresh_code(world)
    assert decided(gate_a.scan(code, "in")) == ("allow", [])
    body = answer(gate_a.scan(code, "in"))
    assert (body["decision"], codes_of(body)) == ("refer", ["already_inside"])
    assert decided(gate_a.scan(code, "out")) == ("allow", [])
    assert decided(gate_a.scan(code, "out")) == ("refer", ["already_outside"])
    # A refused scan does not count as passing.
    assert decided(gate_a.scan(code, "in", 38.0)) == ("deny", ["fever"])
    assert decided(gate_a.scan(code, "in", 36.4)) == ("allow", [])


# --- temperature ----------------------------------------------------------------------------


def test_temperature_is_required_on_entry_only(world, gate_a, office):
    code = factories.code(world.a.pass_)
    body = answer(gate_a.scan(code, "in", None))
    assert (body["decision"], codes_of(body)) == ("refer", ["temperature_required"])
    assert events()[-1].temperature is None
    assert decided(gate_a.scan(code, "out", None)) == ("allow", [])
    # A compound that does not take temperatures lets people in without one.
    office.patch(f"/api/v1/compounds/{world.a.compound.id}", json={"temperature_required": False})
    r = gate_a.post("/api/v1/scans", json={"code": code, "direction": "in", "temperature": None})
    assert decided(r) == ("allow", [])
    # Fever: 37.3 and above is refused.
    code = fresh_code(world)
    for reading in (37.3, 38.5, 43.0, 43):
        assert decided(gate_a.scan(code, "in", reading)) == ("deny", ["fever"]), reading
    assert [e.temperature for e in events()][-4:] == [37.3, 38.5, 43.0, 43.0]
    assert decided(gate_a.scan(code, "in", 37.2)) == ("allow", [])
    # The lowest plausible reading.
    assert decided(gate_a.scan(fresh_code(world), "in", 34.0)) == ("allow", [])
    assert decided(gate_a.scan(fresh_code(world), "in", 34)) == ("allow", [])


def test_impossible_temperatures_are_422_and_not_logged(world, gate_a):
    code = factories.code(world.a.pass_)
    # Out of the stated range is refused, not rounded into it.
    for reading in (33.9, 33.96, 43.04, 43.1, -1, 0, 100, 365, 1e308):
        err = error(gate_a.scan(code, "in", reading), 422, "implausible_temperature", "temperature")
        assert err["message"]
    # The document says a JSON number: text is refused, even a reading typed as text.
    for reading in ("hot", "nan", "inf", "36.5°", "37.3", " 36,8 ", "", True, [36.5], {"c": 36.5}):
        error(gate_a.scan(code, "in", reading), 422, "invalid", "temperature")
    error(gate_a.scan(code, "in", 10**400), 422, None, "temperature")
    r = gate_a.scan(code, "in", 33.9, lang="en")
    assert "not a possible body temperature" in r.get_json()["error"]["message"]
    r = gate_a.scan(code, "in", "36,5", lang="en")
    assert r.get_json()["error"]["message"] == "Temperature must be a number."
    assert events() == []


def test_request_id_is_text_of_1_to_64_printable_characters(world, gate_a):
    code = factories.code(world.a.pass_)
    for request_id in (None, "", "x" * 65, "tab\there", "通行", 12):
        body = {"code": code, "direction": "out", "request_id": request_id}
        error(gate_a.post("/api/v1/scans", json=body), 422, "invalid", "request_id")
    assert events() == []
    for request_id in ("x", "~" * 64, "tablet 1 / 0001"):
        r = gate_a.scan(fresh_code(world), "out", None, request_id=request_id)
        assert decided(r) == ("allow", [])


def test_every_field_at_fault_is_named_at_once(world, gate_a):
    r = gate_a.post(
        "/api/v1/scans",
        json={"code": 1, "direction": "up", "temperature": "36.5", "extra": 1},
        lang="en",
    )
    err = error(r, 422, "invalid", "code")
    assert [(f["field"], f["message"]) for f in err["fields"]] == [
        ("code", "Code: must be text."),
        ("direction", "direction: must be in or out."),
        ("temperature", "Temperature must be a number."),
        ("extra", "extra: not a field of this request."),
    ]
    # zh-CN by default, the fields named in Chinese.
    err = error(gate_a.post("/api/v1/scans", json={"direction": "up"}), 422)
    assert [f["message"] for f in err["fields"]] == [
        "通行码：此项必填。",
        "方向必须是 in（进）或 out（出）。",
    ]
    assert events() == []


# --- idempotency ----------------------------------------------------------------------------


def test_repeated_request_id_returns_the_first_answer(world, gate_a, office):
    code = factories.code(world.a.pass_)
    first = answer(gate_a.scan(code, "in", 36.5, request_id="tablet-1-0001"))
    assert first["replayed"] is False and first["decision"] == "allow"
    # The retry arrives after the gate was closed and with another reading: same answer.
    office.patch(f"/api/v1/gates/{world.a.gate.id}", json={"open": False})
    again = answer(gate_a.scan(code, "in", 39.0, request_id="tablet-1-0001"))
    assert again["replayed"] is True
    assert again["event_id"] == first["event_id"]
    assert again["decision"] == "allow" and again["reasons"] == []
    assert again["holder"] == first["holder"]
    assert again["occurred_at"] == first["occurred_at"]
    assert len(events()) == 1
    # A new request id is a new scan.
    assert decided(gate_a.scan(code, "out", request_id="tablet-1-0002")) == (
        "deny",
        ["gate_closed"],
    )
    assert len(events()) == 2
    # A denied invalid code is replayed too.
    first = answer(gate_a.scan("garbage", request_id="r1"))
    again = answer(gate_a.scan("garbage", request_id="r1"))
    assert again["replayed"] and again["event_id"] == first["event_id"]
    assert codes_of(again) == ["invalid_code"] and again["holder"] is None
    assert len(events()) == 3


def test_bad_request_ids_are_422(world, gate_a, client):
    code = factories.code(world.a.pass_)
    for rid in ("x" * 65, "请求一", "tab\tbed", 42, ["a"]):
        error(gate_a.scan(code, request_id=rid), 422, "invalid", "request_id")
    assert events() == []
    # Another device with the same request id gets its own event.
    _, token2 = factories.device(world.a.gate, "西侧平板")
    db.session.commit()
    code = factories.code(world.a.pass_)
    one = answer(gate_a.scan(code, "in", request_id="same-id"))
    two = answer(ApiClient(client).as_device(token2).scan(code, "out", None, request_id="same-id"))
    assert two["replayed"] is False and two["event_id"] != one["event_id"]
    assert two["decision"] == "allow"
    assert [e.direction for e in events()] == ["in", "out"]


# --- who may scan ---------------------------------------------------------------------------


def test_only_an_enrolled_device_may_scan(world, client):
    code = factories.code(world.a.pass_)
    no_token = ApiClient(client)
    error(no_token.scan(code), 401)
    error(ApiClient(client).as_device("not-a-device-token").scan(code), 401, "bad_device")
    # A staff token is not a device token.
    staff = ApiClient(client).bearer(factories.api_token(world.a.guard))
    error(staff.scan(code), 401, "bad_device")
    # A revoked device is refused.
    set_row(Device, world.a.device.id, revoked_at=utcnow())
    r = ApiClient(client).as_device(world.a.device_token).scan(code)
    error(r, 401, "bad_device")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert events() == []


def test_direction_is_required(world, gate_a):
    code = factories.code(world.a.pass_)
    for direction in (None, "", "IN", "inside", "both", 1, True, ["in"]):
        body = {"code": code, "temperature": 36.5}
        if direction is not None:
            body["direction"] = direction
        error(gate_a.post("/api/v1/scans", json=body), 422, "invalid", "direction")
    assert events() == []
    # A body that is not a JSON object.
    code = factories.code(world.a.pass_)
    error(
        gate_a.raw(
            "POST",
            "/api/v1/scans",
            f"code={code}&direction=in",
            content_type="application/x-www-form-urlencoded",
        ),
        400,
        "bad_json",
    )
    error(gate_a.raw("POST", "/api/v1/scans", "{"), 400, "bad_json")
    error(gate_a.post("/api/v1/scans", json=[code, "in"]), 400, "bad_json")
    assert events() == []


# --- language -------------------------------------------------------------------------------


def test_reason_messages_follow_accept_language(world, gate_a):
    body = answer(gate_a.scan("garbage", lang="en"))
    assert body["reasons"] == [
        {"code": "invalid_code", "message": "Not a valid pass code for this compound"}
    ]
    body = answer(gate_a.scan(factories.code(world.a.pass_), "in", 37.5, lang="en-US,en;q=0.9"))
    assert body["reasons"] == [{"code": "fever", "message": "Fever: entry refused"}]
    # zh-CN is the default; the catalog is being translated, so only check there is a message.
    body = answer(gate_a.scan("garbage"))
    assert body["reasons"][0]["code"] == "invalid_code"
    assert isinstance(body["reasons"][0]["message"], str) and body["reasons"][0]["message"].strip()
    err = error(gate_a.scan("garbage", direction="up", lang="en"), 422, field="direction")
    assert err["message"] == "direction: must be in or out."
