"""The management endpoints: what they create and change, what they refuse, and the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kiosk.domain import passcodes
from kiosk.extensions import db
from kiosk.models import (
    AuditEntry,
    Building,
    Compound,
    Device,
    Gate,
    Household,
    Pass,
    Resident,
    TestResult,
    utcnow,
)
from kiosk.services import security
from tests import factories
from tests.helpers import ApiClient

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(dt: datetime) -> str:
    """An ISO 8601 time with the +08:00 offset, as a client in Beijing sends it."""
    return dt.astimezone(SHANGHAI).isoformat()


def invalid(r, field: str) -> dict:
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True))
    err = r.get_json()["error"]
    assert err["code"] in ("invalid", "implausible_temperature")
    assert err["field"] == field, err
    assert isinstance(err["message"], str) and err["message"]
    return err


def error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    err = r.get_json()["error"]
    assert set(err) >= {"code", "message"} and err["message"]
    if code:
        assert err["code"] == code
    return err


def audit_actions(target_type: str | None = None) -> list[str]:
    stmt = select(AuditEntry.action).order_by(AuditEntry.id)
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    return list(db.session.scalars(stmt))


@pytest.fixture
def office(world, client) -> ApiClient:
    """The office user of community a (token written directly: no scrypt per test)."""
    return ApiClient(client).bearer(factories.api_token(world.a.office))


@pytest.fixture
def street(world, client) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(world.street_user))


# --- compounds ------------------------------------------------------------------------------


def test_office_creates_a_compound_in_its_community(world, office):
    r = office.post("/api/v1/compounds", json={"name": "  新华   小区 "})
    assert r.status_code == 201
    body = r.get_json()
    assert body["name"] == "新华 小区"  # whitespace tidied
    assert body["community_id"] == world.a.community.id
    assert body["seal_state"] == "open" and body["seal_reason"] is None
    assert body["temperature_required"] is True
    row = db.session.get(Compound, body["id"])
    assert (row.name, row.community_id, row.seal_state) == (
        "新华 小区",
        world.a.community.id,
        "open",
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "compound.create")
    ).one()
    assert entry.user_id == world.a.office.id and entry.target_id == row.id
    assert entry.community_id == world.a.community.id
    # A compound may be created without the temperature rule.
    r = office.post("/api/v1/compounds", json={"name": "无测温小区", "temperature_required": False})
    assert r.status_code == 201 and r.get_json()["temperature_required"] is False
    invalid(
        office.post("/api/v1/compounds", json={"name": "x", "temperature_required": "no"}),
        "temperature_required",
    )


def test_street_user_names_the_community(world, street, office):
    r = street.post(
        "/api/v1/compounds", json={"name": "樱桃新区", "community_id": world.b.community.id}
    )
    assert r.status_code == 201 and r.get_json()["community_id"] == world.b.community.id
    invalid(street.post("/api/v1/compounds", json={"name": "无社区"}), "community_id")
    invalid(
        street.post("/api/v1/compounds", json={"name": "y", "community_id": 999999}), "community_id"
    )
    invalid(
        street.post(
            "/api/v1/compounds", json={"name": "y", "community_id": str(world.a.community.id)}
        ),
        "community_id",
    )
    _, foreign, _ = factories.foreign_street()
    invalid(
        street.post("/api/v1/compounds", json={"name": "y", "community_id": foreign.community.id}),
        "community_id",
    )
    assert db.session.scalar(select(Compound).where(Compound.name == "y")) is None
    # An office user may not name another community.
    r = office.post(
        "/api/v1/compounds", json={"name": "越界小区", "community_id": world.b.community.id}
    )
    invalid(r, "community_id")
    assert db.session.scalar(select(Compound).where(Compound.name == "越界小区")) is None
    # Naming its own community is fine.
    r = office.post(
        "/api/v1/compounds", json={"name": "本社区", "community_id": world.a.community.id}
    )
    assert r.status_code == 201


def test_compound_name_is_checked(world, office):
    # missing, int, empty, blank, too long, control character, lone surrogate, list, object
    for name in (None, 123, "", "   ", "x" * 101, "a\u0001b", "\ud800", ["list"], {"zh": "名"}):
        payload = {} if name is None else {"name": name}
        invalid(office.post("/api/v1/compounds", json=payload), "name")
    assert db.session.query(Compound).count() == 2  # the world's two only
    assert office.post("/api/v1/compounds", json={"name": "小" * 100}).status_code == 201


def test_duplicate_compound_name_is_409(world, office, street):
    r = office.post("/api/v1/compounds", json={"name": world.a.compound.name})
    error(r, 409, "duplicate")
    # The same name in another community is another compound.
    r = street.post(
        "/api/v1/compounds",
        json={"name": world.a.compound.name, "community_id": world.b.community.id},
    )
    assert r.status_code == 201
    # The refused one left nothing behind, not even its audit entry.
    assert audit_actions() == ["compound.create"]


def test_seal_states_of_a_compound_and_their_audit(world, office):
    cid = world.a.compound.id
    r = office.patch(
        f"/api/v1/compounds/{cid}", json={"seal_state": "sealed", "reason": "密接者居住"}
    )
    assert r.status_code == 200
    assert r.get_json()["seal_state"] == "sealed" and r.get_json()["seal_reason"] == "密接者居住"
    row = db.session.get(Compound, cid)
    assert row.seal_state == "sealed" and row.seal_changed_at is not None

    r = office.patch(
        f"/api/v1/compounds/{cid}", json={"seal_state": "in_only", "reason": "疑似病例"}
    )
    assert r.status_code == 200 and r.get_json()["seal_state"] == "in_only"

    r = office.patch(f"/api/v1/compounds/{cid}", json={"seal_state": "open"})  # no reason needed
    assert r.status_code == 200
    assert r.get_json()["seal_state"] == "open" and r.get_json()["seal_reason"] is None

    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "compound.seal").order_by(AuditEntry.id)
    ).all()
    assert [(json.loads(e.detail)["before"], json.loads(e.detail)["after"]) for e in entries] == [
        ("open", "sealed"),
        ("sealed", "in_only"),
        ("in_only", "open"),
    ]
    assert json.loads(entries[0].detail)["reason"] == "密接者居住"
    assert {(e.user_id, e.target_id, e.community_id) for e in entries} == {
        (world.a.office.id, cid, world.a.community.id)
    }
    # The temperature rule.
    r = office.patch(
        f"/api/v1/compounds/{world.a.compound.id}", json={"temperature_required": False}
    )
    assert r.status_code == 200 and r.get_json()["temperature_required"] is False
    assert db.session.get(Compound, world.a.compound.id).temperature_required is False
    assert audit_actions()[-1] == "compound.temperature_rule"


CASES_COMPOUND = [
    ({"seal_state": "sealed"}, "reason"),
    ({"seal_state": "in_only", "reason": "  "}, "reason"),
    ({"seal_state": "closed", "reason": "x"}, "seal_state"),
    ({"seal_state": "SEALED", "reason": "x"}, "seal_state"),
    ({"seal_state": 1, "reason": "x"}, "seal_state"),
    ({"seal_state": None, "reason": "x"}, "seal_state"),
    ({"seal_state": "sealed", "reason": "x" * 201}, "reason"),
    ({"seal_state": "sealed", "reason": 5}, "reason"),
    ({"temperature_required": "false"}, "temperature_required"),
]


def test_bad_compound_changes_are_422_and_change_nothing(world, office):
    for payload, field in CASES_COMPOUND:
        invalid(office.patch(f"/api/v1/compounds/{world.a.compound.id}", json=payload), field)
        row = db.session.get(Compound, world.a.compound.id)
        assert row.seal_state == "open" and row.temperature_required is True
    r = office.patch(f"/api/v1/compounds/{world.a.compound.id}", json={})  # nothing to change
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid"
    assert audit_actions() == []


# --- gates ----------------------------------------------------------------------------------


def test_gates_are_created_and_unique_per_compound(world, office, street):
    r = office.post(f"/api/v1/compounds/{world.a.compound.id}/gates", json={"name": "西门"})
    assert r.status_code == 201
    assert r.get_json() | {"id": 0} == {
        "id": 0,
        "compound_id": world.a.compound.id,
        "name": "西门",
        "open": True,
        "opens_at": None,
        "closes_at": None,
    }
    assert db.session.get(Gate, r.get_json()["id"]).is_open is True
    error(
        office.post(f"/api/v1/compounds/{world.a.compound.id}/gates", json={"name": "东门"}),
        409,
        "duplicate",
    )
    error(
        office.post(f"/api/v1/compounds/{world.a.compound.id}/gates", json={"name": " 西门 "}),
        409,
        "duplicate",
    )
    # Same name in the other compound is fine (street user reaches both).
    assert (
        street.post(
            f"/api/v1/compounds/{world.b.compound.id}/gates", json={"name": "西门"}
        ).status_code
        == 201
    )
    invalid(office.post(f"/api/v1/compounds/{world.a.compound.id}/gates", json={}), "name")
    invalid(
        office.post(f"/api/v1/compounds/{world.a.compound.id}/gates", json={"name": "门" * 101}),
        "name",
    )
    assert audit_actions("gate") == ["gate.create", "gate.create"]
    # Closing and opening.
    gid = world.a.gate.id
    r = office.patch(f"/api/v1/gates/{gid}", json={"open": False})
    assert r.status_code == 200 and r.get_json()["open"] is False
    assert db.session.get(Gate, gid).is_open is False
    r = office.patch(f"/api/v1/gates/{gid}", json={"open": True})
    assert r.status_code == 200 and r.get_json()["open"] is True
    assert audit_actions()[-2:] == ["gate.close", "gate.open"]
    for bad in ({}, {"open": "false"}, {"open": 0}, {"open": None}):
        invalid(office.patch(f"/api/v1/gates/{gid}", json=bad), "open")
    assert db.session.get(Gate, gid).is_open is True


# --- buildings ------------------------------------------------------------------------------


def test_buildings_are_created_and_unique_per_compound(world, office):
    url = f"/api/v1/compounds/{world.a.compound.id}/buildings"
    r = office.post(url, json={"name": "5号楼"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["name"] == "5号楼" and body["compound_id"] == world.a.compound.id
    assert body["seal_state"] == "open"
    assert db.session.get(Building, body["id"]).name == "5号楼"
    error(office.post(url, json={"name": "1号楼"}), 409, "duplicate")
    invalid(office.post(url, json={"name": "楼" * 51}), "name")
    assert office.post(url, json={"name": "楼" * 50}).status_code == 201
    invalid(office.post(url, json={"name": 5}), "name")
    # Seal states.
    bid = world.a.building.id
    r = office.patch(
        f"/api/v1/buildings/{bid}", json={"seal_state": "in_only", "reason": "宿舍疑似病例"}
    )
    assert r.status_code == 200
    assert r.get_json()["seal_state"] == "in_only" and r.get_json()["seal_reason"] == "宿舍疑似病例"
    assert db.session.get(Building, bid).seal_state == "in_only"
    invalid(office.patch(f"/api/v1/buildings/{bid}", json={"seal_state": "sealed"}), "reason")
    invalid(office.patch(f"/api/v1/buildings/{bid}", json={"reason": "x"}), "seal_state")
    invalid(
        office.patch(f"/api/v1/buildings/{bid}", json={"seal_state": "half", "reason": "x"}),
        "seal_state",
    )
    assert db.session.get(Building, bid).seal_state == "in_only"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "building.seal")).one()
    assert json.loads(entry.detail) == {
        "before": "open",
        "after": "in_only",
        "reason": "宿舍疑似病例",
    }
    assert entry.target_type == "building" and entry.target_id == bid


# --- households -----------------------------------------------------------------------------


def test_households_are_created_and_unique(world, office, app):
    url = f"/api/v1/buildings/{world.a.building.id}/households"
    r = office.post(url, json={"unit": "3", "room": "502"})
    assert r.status_code == 201
    body = r.get_json()
    assert body == {
        "id": body["id"],
        "building_id": world.a.building.id,
        "unit": "3",
        "room": "502",
        "observation_until": None,
        "observation_reason": None,
    }
    assert db.session.get(Household, body["id"]).room == "502"
    error(office.post(url, json={"unit": "2", "room": "301"}), 409, "duplicate")
    invalid(office.post(url, json={"room": "1"}), "unit")
    invalid(office.post(url, json={"unit": "1"}), "room")
    invalid(office.post(url, json={"unit": "1", "room": "9" * 21}), "room")
    invalid(office.post(url, json={"unit": 1, "room": "1"}), "unit")
    # Home observation of the world's household.
    hid = world.a.household.id
    # A time without offset is read in Asia/Shanghai.
    until = (datetime.now(SHANGHAI) + timedelta(days=14)).replace(microsecond=0, tzinfo=None)
    r = office.patch(
        f"/api/v1/households/{hid}",
        json={"observation_until": until.isoformat(), "observation_reason": "5月30日后去过新发地"},
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["observation_until"] == until.isoformat() + "+08:00"
    assert body["observation_reason"] == "5月30日后去过新发地"
    row = db.session.get(Household, hid)
    assert row.observation_until == until.replace(tzinfo=SHANGHAI).astimezone(UTC)

    # With an explicit UTC offset.
    utc_until = (utcnow() + timedelta(days=7)).replace(microsecond=0)
    r = office.patch(
        f"/api/v1/households/{hid}",
        json={
            "observation_until": utc_until.isoformat().replace("+00:00", "Z"),
            "observation_reason": "延长",
        },
    )
    assert r.status_code == 200
    assert datetime.fromisoformat(r.get_json()["observation_until"]) == utc_until
    assert r.get_json()["observation_until"].endswith("+08:00")

    r = office.patch(f"/api/v1/households/{hid}", json={"observation_until": None})
    assert r.status_code == 200
    assert r.get_json()["observation_until"] is None and r.get_json()["observation_reason"] is None
    row = db.session.get(Household, hid)
    assert row.observation_until is None and row.observation_reason is None
    assert [a for a in audit_actions() if a.startswith("household.observation")] == [
        "household.observation",
        "household.observation",
        "household.observation_end",
    ]


CASES_OBSERVATION = [
    ({}, "observation_until"),
    ({"observation_reason": "x"}, "observation_until"),
    ({"observation_until": "next week", "observation_reason": "x"}, "observation_until"),
    (
        {"observation_until": "2030-02-30T00:00:00+08:00", "observation_reason": "x"},
        "observation_until",
    ),
    ({"observation_until": 1893456000, "observation_reason": "x"}, "observation_until"),
    (
        {"observation_until": "2020-06-14T00:00:00+08:00", "observation_reason": "x"},
        "observation_until",
    ),
    (
        {"observation_until": "1999-06-14T00:00:00+08:00", "observation_reason": "x"},
        "observation_until",
    ),
    (
        {"observation_until": "2030-01-01T00:00:00+25:00", "observation_reason": "x"},
        "observation_until",
    ),
    ({"observation_until": "2" * 41, "observation_reason": "x"}, "observation_until"),
    ({"observation_until": "2099-01-01T00:00:00+08:00"}, "observation_reason"),
    (
        {"observation_until": "2099-01-01T00:00:00+08:00", "observation_reason": "x" * 201},
        "observation_reason",
    ),
]


def test_bad_observation_is_422(world, office):
    for payload, field in CASES_OBSERVATION:
        invalid(office.patch(f"/api/v1/households/{world.a.household.id}", json=payload), field)
    just_past = local(utcnow() - timedelta(seconds=1))
    r = office.patch(
        f"/api/v1/households/{world.a.household.id}",
        json={"observation_until": just_past, "observation_reason": "x"},
    )
    invalid(r, "observation_until")
    assert db.session.get(Household, world.a.household.id).observation_until is None


# --- residents ------------------------------------------------------------------------------


def test_resident_id_number_and_phone_are_never_kept_in_clear(world, office, app):
    id_number, phone = "110101199003074518", "+86 138-0013-8000"
    r = office.post(
        f"/api/v1/households/{world.a.household.id}/residents",
        json={"name": "王秀英", "id_number": id_number, "phone": phone},
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["name"] == "王秀英" and body["household_id"] == world.a.household.id
    assert body["id_last4"] == "4518" and body["phone_last4"] == "8000"
    text = r.get_data(as_text=True)
    assert id_number not in text and "13800138000" not in text and "0013" not in text

    row = db.session.get(Resident, body["id"])
    key = app.config["ID_HASH_KEY"].encode()
    assert row.id_hash == hmac.new(key, id_number.encode(), hashlib.sha256).hexdigest()
    assert row.phone_hash == hmac.new(key, b"13800138000", hashlib.sha256).hexdigest()
    assert len(row.id_hash) == 64 and int(row.id_hash, 16) >= 0
    assert row.id_last4 == "4518" and row.phone_last4 == "8000"
    stored = " ".join(str(getattr(row, c.key)) for c in Resident.__table__.columns)
    for secret in (id_number, "13800138000", "138-0013", id_number[:14]):
        assert secret not in stored
    assert all(id_number not in (e.detail or "") for e in db.session.scalars(select(AuditEntry)))
    assert audit_actions() == ["resident.create"]
    # A Chinese input method types full-width digits: the same number, the same hash.
    url = f"/api/v1/households/{world.a.household.id}/residents"
    a = office.post(
        url, json={"name": "甲", "id_number": "11010119900307451x", "phone": "13800138000"}
    )
    b = office.post(
        url,
        json={
            "name": "乙",
            "id_number": "１１０１０１１９９００３０７４５１Ｘ",
            "phone": "１３８ ００１３ ８０００",
        },
    )
    assert a.status_code == b.status_code == 201, b.get_json()
    assert b.get_json()["id_last4"] == "451X" and b.get_json()["phone_last4"] == "8000"
    ra, rb = (
        db.session.get(Resident, a.get_json()["id"]),
        db.session.get(Resident, b.get_json()["id"]),
    )
    assert ra.id_hash == rb.id_hash and ra.phone_hash == rb.phone_hash


CASES_RESIDENT = [
    ({}, "name"),
    ({"name": "名" * 51}, "name"),
    ({"name": ["王"]}, "name"),
    ({"name": "王", "id_number": "12"}, "id_number"),
    ({"name": "王", "id_number": "1101-0119-9003"}, "id_number"),
    ({"name": "王", "id_number": 110101199003074518}, "id_number"),
    ({"name": "王", "id_number": "1" * 31}, "id_number"),
    ({"name": "王", "phone": "call me"}, "phone"),
    ({"name": "王", "phone": "123"}, "phone"),
    ({"name": "王", "phone": 13800138000}, "phone"),
]


def test_bad_resident_is_422(world, office):
    for payload, field in CASES_RESIDENT:
        invalid(
            office.post(f"/api/v1/households/{world.a.household.id}/residents", json=payload), field
        )
    assert db.session.query(Resident).count() == 2


# --- passes ---------------------------------------------------------------------------------


def test_phone_pass_gets_a_rotating_code_that_opens_the_gate(world, office, client, app):
    r = office.post(f"/api/v1/residents/{world.a.resident.id}/passes", json={"kind": "resident"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["kind"] == "resident" and body["resident_id"] == world.a.resident.id
    assert body["revoked_at"] is None and body["valid_until"] is None
    assert body["valid_from"].endswith("+08:00")
    verified = passcodes.verify(
        app.config["PASS_KEYRING"], body["code"], time.time(), app.config["PASS_STEP_SECONDS"]
    )
    assert verified is not None and verified.pass_id == body["id"] and verified.form == "R"
    assert db.session.get(Pass, body["id"]).created_by_id == world.a.office.id
    scan = ApiClient(client).as_device(world.a.device_token).scan(body["code"])
    assert scan.get_json()["decision"] == "allow"
    assert audit_actions("pass") == ["pass.issue"]
    # A paper pass gets a static code.
    until = utcnow() + timedelta(days=30)
    r = office.post(
        f"/api/v1/residents/{world.a.resident.id}/passes",
        json={"kind": "paper", "valid_until": local(until)},
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["kind"] == "paper"
    assert body["code"] == passcodes.sign(app.config["PASS_KEYRING"], body["id"], "S")
    assert datetime.fromisoformat(body["valid_until"]) == until
    assert body["valid_until"].endswith("+08:00")
    assert db.session.get(Pass, body["id"]).valid_until == until


CASES_PASS = [
    ({}, "kind"),
    ({"kind": "visitor"}, "kind"),
    ({"kind": "exemption"}, "kind"),
    ({"kind": "Paper"}, "kind"),
    ({"kind": 1}, "kind"),
    ({"kind": "paper", "valid_until": "2020-01-01T00:00:00+08:00"}, "valid_until"),
    ({"kind": "paper", "valid_until": "tomorrow"}, "valid_until"),
    ({"kind": "paper", "valid_until": 1}, "valid_until"),
]


def test_bad_pass_is_422(world, office):
    for payload, field in CASES_PASS:
        invalid(office.post(f"/api/v1/residents/{world.a.resident.id}/passes", json=payload), field)
    assert db.session.query(Pass).count() == 2


def test_revoke_a_pass_once(world, office):
    pid = world.a.pass_.id
    invalid(office.post(f"/api/v1/passes/{pid}/revoke", json={"reason": 7}), "reason")
    error(office.raw("POST", f"/api/v1/passes/{pid}/revoke", "{oops"), 400, "bad_json")
    error(office.post(f"/api/v1/passes/{pid}/revoke", json=[1]), 400, "bad_json")
    assert db.session.get(Pass, pid).revoked_at is None
    # Revoked once, with a reason; the second time is a conflict.
    r = office.post(f"/api/v1/passes/{pid}/revoke", json={"reason": "手机丢失"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["id"] == pid and body["revoked_at"].endswith("+08:00")
    row = db.session.get(Pass, pid)
    assert row.revoked_at is not None and row.revoked_reason == "手机丢失"
    error(office.post(f"/api/v1/passes/{pid}/revoke"), 409, "already_revoked")
    assert db.session.get(Pass, pid).revoked_reason == "手机丢失"
    assert audit_actions() == ["pass.revoke"]
    # A revocation needs no body at all.
    other = factories.pass_for(world.a.resident, kind="paper")
    db.session.commit()
    r = office.post(f"/api/v1/passes/{other.id}/revoke")
    assert r.status_code == 200 and r.get_json()["revoked_at"] is not None


# --- exemptions -----------------------------------------------------------------------------


def test_exemption_is_issued_with_a_static_code(world, office, app):
    start = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    end = start + timedelta(hours=10)
    r = office.post(
        f"/api/v1/residents/{world.a.resident.id}/exemptions",
        json={
            "purpose": "高考",
            "valid_from": local(start),
            "valid_until": local(end),
            "negative_test_within_hours": 48,
        },
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["kind"] == "exemption" and body["purpose"] == "高考"
    assert body["negative_test_within_hours"] == 48
    assert datetime.fromisoformat(body["valid_from"]) == start
    assert datetime.fromisoformat(body["valid_until"]) == end
    assert body["code"] == passcodes.sign(app.config["PASS_KEYRING"], body["id"], "S")
    row = db.session.get(Pass, body["id"])
    assert (row.kind, row.purpose, row.negative_test_within_hours) == ("exemption", "高考", 48)
    assert audit_actions() == ["exemption.issue"]
    # The test window limits 1 h and 336 h are accepted.
    start, end = _window()
    for hours in (1, 336):
        r = office.post(
            f"/api/v1/residents/{world.a.resident.id}/exemptions",
            json={
                "purpose": "就医",
                "valid_from": start,
                "valid_until": end,
                "negative_test_within_hours": hours,
            },
        )
        assert r.status_code == 201 and r.get_json()["negative_test_within_hours"] == hours


def _window(start_min=-5, end_min=120):
    now = utcnow()
    return local(now + timedelta(minutes=start_min)), local(now + timedelta(minutes=end_min))


CASES_EXEMPTION = [
    ({"purpose": None}, "purpose"),
    ({"purpose": "x" * 201}, "purpose"),
    ({"valid_from": None}, "valid_from"),
    ({"valid_from": "yesterday"}, "valid_from"),
    ({"valid_until": None}, "valid_until"),
    ({"valid_until": "SAME"}, "valid_until"),  # valid_until == valid_from
    ({"valid_until": "BEFORE"}, "valid_until"),  # valid_until < valid_from
    ({"valid_from": "PAST2", "valid_until": "PAST1"}, "valid_until"),  # all in the past
    ({"valid_until": "FAR"}, "valid_until"),  # more than 14 days
    ({"negative_test_within_hours": 0}, "negative_test_within_hours"),
    ({"negative_test_within_hours": 337}, "negative_test_within_hours"),
    ({"negative_test_within_hours": -48}, "negative_test_within_hours"),
    ({"negative_test_within_hours": "48"}, "negative_test_within_hours"),
    ({"negative_test_within_hours": 1.5}, "negative_test_within_hours"),
    ({"negative_test_within_hours": True}, "negative_test_within_hours"),
]


def test_bad_exemption_is_422(world, office):
    for change, field in CASES_EXEMPTION:
        start, end = _window()
        now = utcnow()
        symbolic = {
            "SAME": start,
            "BEFORE": local(now - timedelta(minutes=10)),
            "PAST1": local(now - timedelta(hours=1)),
            "PAST2": local(now - timedelta(hours=3)),
            "FAR": local(now + timedelta(days=15)),
        }
        payload = {"purpose": "高考", "valid_from": start, "valid_until": end}
        for key, value in change.items():
            if value is None:
                payload.pop(key)
            else:
                payload[key] = symbolic.get(value, value) if isinstance(value, str) else value
        invalid(
            office.post(f"/api/v1/residents/{world.a.resident.id}/exemptions", json=payload), field
        )
    assert db.session.query(Pass).filter(Pass.kind == "exemption").count() == 0


# --- test results ---------------------------------------------------------------------------


def test_record_a_test_result(world, office):
    taken = utcnow().replace(microsecond=0) - timedelta(hours=2)
    r = office.post(
        f"/api/v1/residents/{world.a.resident.id}/tests",
        json={"taken_at": local(taken), "result": "negative"},
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["resident_id"] == world.a.resident.id and body["result"] == "negative"
    assert body["taken_at"] == local(taken)
    row = db.session.get(TestResult, body["id"])
    assert row.taken_at == taken and row.recorded_by_id == world.a.office.id
    assert audit_actions() == ["test.record"]
    # Bad test results.
    for payload, field in CASES_TEST_RESULT:
        payload = dict(payload)
        if payload.get("taken_at") == "FUTURE":
            payload["taken_at"] = local(utcnow() + timedelta(hours=1))
        invalid(office.post(f"/api/v1/residents/{world.a.resident.id}/tests", json=payload), field)
    assert db.session.query(TestResult).count() == 1


CASES_TEST_RESULT = [
    ({"result": "negative"}, "taken_at"),
    ({"taken_at": "FUTURE", "result": "negative"}, "taken_at"),
    ({"taken_at": "2020-06-13", "result": "maybe"}, "result"),
    ({"taken_at": "2020-06-13"}, "result"),
    ({"taken_at": "2020-06-13", "result": "NEGATIVE"}, "result"),
    ({"taken_at": "13/06/2020", "result": "negative"}, "taken_at"),
]


# --- devices --------------------------------------------------------------------------------


def test_device_token_is_shown_once_and_stored_as_a_hash(world, office, client):
    r = office.post(f"/api/v1/gates/{world.a.gate.id}/devices", json={"name": "东门平板2"})
    assert r.status_code == 201
    body = r.get_json()
    assert (
        body["gate_id"] == world.a.gate.id
        and body["kind"] == "tablet"
        and body["name"] == "东门平板2"
    )
    token = body["token"]
    row = db.session.get(Device, body["id"])
    assert row.token_hash == security.token_hash(token)
    assert token not in " ".join(str(getattr(row, c.key)) for c in Device.__table__.columns)
    # The new token scans at its gate.
    scan = ApiClient(client).as_device(token).scan(factories.code(world.a.pass_))
    assert scan.status_code == 200 and scan.get_json()["decision"] == "allow"
    assert audit_actions() == ["device.create"]
    assert token not in (db.session.scalars(select(AuditEntry.detail)).one() or "")
    # Kinds, and bad devices.
    url = f"/api/v1/gates/{world.a.gate.id}/devices"
    r = office.post(url, json={"name": "门磁", "kind": "sensor"})
    assert r.status_code == 201 and r.get_json()["kind"] == "sensor"
    invalid(office.post(url, json={"name": "x", "kind": "phone"}), "kind")
    invalid(office.post(url, json={}), "name")
    invalid(office.post(url, json={"name": 3}), "name")


# --- malformed requests ---------------------------------------------------------------------


def test_non_json_bodies_are_400(world, office):
    routes = [
        ("POST", "/api/v1/compounds"),
        ("PATCH", f"/api/v1/compounds/{world.a.compound.id}"),
        ("POST", f"/api/v1/compounds/{world.a.compound.id}/gates"),
        ("PATCH", f"/api/v1/gates/{world.a.gate.id}"),
        ("PATCH", f"/api/v1/buildings/{world.a.building.id}"),
        ("PATCH", f"/api/v1/households/{world.a.household.id}"),
        ("POST", f"/api/v1/residents/{world.a.resident.id}/exemptions"),
    ]
    for method, path in routes:
        error(
            office.raw(method, path, "name=x", content_type="application/x-www-form-urlencoded"),
            400,
            "bad_json",
        )
        error(office.raw(method, path, "{'name': 'x'}"), 400, "bad_json")
        error(office.raw(method, path, '"just a string"'), 400, "bad_json")
        error(office.raw(method, path, b"\xff\xfe\x00"), 400, "bad_json")
    assert audit_actions() == []


def test_unknown_ids_are_404_not_500(world, office):
    for big in (999999, 2**31, 99999999999, 10**30):
        for method, path, payload in [
            ("PATCH", f"/api/v1/compounds/{big}", {"seal_state": "open"}),
            ("POST", f"/api/v1/compounds/{big}/gates", {"name": "x"}),
            ("PATCH", f"/api/v1/gates/{big}", {"open": True}),
            ("POST", f"/api/v1/buildings/{big}/households", {"unit": "1", "room": "1"}),
            ("POST", f"/api/v1/residents/{big}/passes", {"kind": "paper"}),
            ("POST", f"/api/v1/passes/{big}/revoke", {}),
        ]:
            error(office._call(method, path, json=payload), 404, "not_found")
    # Not an integer at all: no such route.
    error(office.patch("/api/v1/compounds/abc", json={}), 404)
    error(office.patch("/api/v1/compounds/-1", json={}), 404)
    # A wrong method.
    r = office._call("PUT", "/api/v1/compounds")
    error(r, 405, "method_not_allowed")
