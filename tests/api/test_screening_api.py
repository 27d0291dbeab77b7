"""Screening lists in API v1: create a list from JSON rows (matched at once), list lists and
rows with filters, work a row with PATCH (status, note, worker, the chosen candidate); scope,
roles, a lost race, and the scan that refers a matched resident until the row is cleared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm.attributes import set_committed_value

from kiosk.extensions import db
from kiosk.models import ScreeningList, ScreeningRow
from kiosk.services import org, screening
from tests import factories

ID = "11010519491231002X"


@dataclass(frozen=True)
class DocCall:
    """One operation called for real by the OpenAPI test (tests/api/test_openapi.py)."""

    method: str
    rule: str
    user: Callable  # (world) -> User
    build: Callable  # (world) -> (path, json body or None)
    success: int


def _office(world):
    return world.a.office


def _a_row(world) -> tuple[int, int]:
    """A list of community a with one row matched to site a's resident, written directly."""
    lst = ScreeningList(community_id=world.a.community.id, name="核查名单")
    db.session.add(lst)
    db.session.flush()
    row = ScreeningRow(
        list_id=lst.id,
        row_number=2,
        name="张三丰",
        match="matched",
        resident_id=world.a.resident.id,
    )
    db.session.add(row)
    db.session.commit()
    return lst.id, row.id


DOC_CALLS = [
    DocCall(
        "GET", "/api/v1/screening-lists", _office, lambda w: ("/api/v1/screening-lists", None), 200
    ),
    DocCall(
        "POST",
        "/api/v1/screening-lists",
        _office,
        lambda w: ("/api/v1/screening-lists", {"name": "名单", "rows": [{"phone": "13900000000"}]}),
        201,
    ),
    DocCall(
        "GET",
        "/api/v1/screening-lists/{id}/rows",
        _office,
        lambda w: (f"/api/v1/screening-lists/{_a_row(w)[0]}/rows", None),
        200,
    ),
    DocCall(
        "PATCH",
        "/api/v1/screening-rows/{id}",
        _office,
        lambda w: (f"/api/v1/screening-rows/{_a_row(w)[1]}", {"call_status": "reached"}),
        200,
    ),
]
PHONE = "13800138000"


def _setup(world):
    a = world.a
    kept = org.identity(ID, PHONE)
    a.resident.id_hash, a.resident.id_last4 = kept["id_hash"], kept["id_last4"]
    twin1 = factories.resident(a.household, "王二")
    twin2 = factories.resident(a.household, "王二")
    db.session.commit()
    return twin1, twin2


BODY = {
    "name": "30日后到过新发地市场人员",
    "source": "区疾控",
    "issued_on": "2020-06-14",
    "rows": [
        {"id_number": ID},
        {"name": "王二", "building": "1号楼", "unit": "2", "room": "301"},
        {"name": "路人甲", "phone": "13900000000"},
    ],
}


def _create(api, office) -> dict:
    r = api.bearer(factories.api_token(office)).post("/api/v1/screening-lists", json=BODY)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_create_list_and_read_rows(world, api):
    twin1, twin2 = _setup(world)
    data = _create(api, world.a.office)
    assert (data["total"], data["matched"], data["ambiguous"], data["not_here"]) == (3, 1, 1, 1)
    assert data["closed"] == 1 and data["progress"] == 33
    assert data["issued_on"] == "2020-06-14" and data["community_id"] == world.a.community.id
    page = api.get("/api/v1/screening-lists").get_json()
    assert [x["id"] for x in page["items"]] == [data["id"]] and page["next_after"] is None
    rows = api.get(f"/api/v1/screening-lists/{data['id']}/rows").get_json()["items"]
    assert [r["match"] for r in rows] == ["matched", "ambiguous", "not_here"]
    assert rows[0]["resident_id"] == world.a.resident.id and rows[0]["id_last4"] == "002X"
    assert sorted(rows[1]["candidate_ids"]) == sorted([twin1.id, twin2.id])
    assert "id_hash" not in rows[0] and "phone_hash" not in rows[0]
    only = api.get(f"/api/v1/screening-lists/{data['id']}/rows?match=ambiguous").get_json()
    assert [r["row_number"] for r in only["items"]] == [2]
    closed = api.get(f"/api/v1/screening-lists/{data['id']}/rows?open=false").get_json()
    assert [r["row_number"] for r in closed["items"]] == [3]
    paged = api.get(f"/api/v1/screening-lists/{data['id']}/rows?limit=1").get_json()
    assert len(paged["items"]) == 1 and paged["next_after"] == paged["items"][0]["id"]
    r = api.get(f"/api/v1/screening-lists/{data['id']}/rows?match=nope")
    assert r.status_code == 422


def test_patch_row(world, api):
    twin1, _twin2 = _setup(world)
    data = _create(api, world.a.office)
    rows = api.get(f"/api/v1/screening-lists/{data['id']}/rows").get_json()["items"]
    first, amb = rows[0], rows[1]
    r = api.patch(
        f"/api/v1/screening-rows/{first['id']}",
        json={"call_status": "reached", "note": "已通知", "assigned_to_id": world.worker.id},
    )
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert (got["call_status"], got["note"], got["assigned_to_id"]) == (
        "reached",
        "已通知",
        world.worker.id,
    )
    assert got["updated_by_id"] == world.a.office.id and got["closed"] is False
    # Fields left out are kept; null clears the worker.
    got = api.patch(
        f"/api/v1/screening-rows/{first['id']}", json={"assigned_to_id": None}
    ).get_json()
    assert got["note"] == "已通知" and got["assigned_to_id"] is None
    got = api.patch(f"/api/v1/screening-rows/{first['id']}", json={"call_status": "cleared"})
    assert got.get_json()["closed"] is True
    # The office's guard is no worker; a person not among the candidates is refused.
    r = api.patch(
        f"/api/v1/screening-rows/{first['id']}", json={"assigned_to_id": world.a.guard.id}
    )
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "assigned_to_id"
    r = api.patch(f"/api/v1/screening-rows/{amb['id']}", json={"resident_id": world.b.resident.id})
    assert r.status_code == 422
    r = api.patch(f"/api/v1/screening-rows/{amb['id']}", json={"resident_id": twin1.id})
    assert r.get_json()["match"] == "matched" and r.get_json()["resident_id"] == twin1.id
    r = api.patch(f"/api/v1/screening-rows/{first['id']}", json={"call_status": "bogus"})
    assert r.status_code == 422


def test_scope_and_roles(world, api):
    _setup(world)
    data = _create(api, world.a.office)
    row_id = db.session.scalars(db.select(ScreeningRow.id)).first()
    other = api.bearer(factories.api_token(world.b.office))
    assert other.get("/api/v1/screening-lists").get_json()["items"] == []
    assert other.get(f"/api/v1/screening-lists/{data['id']}/rows").status_code == 404
    r = other.patch(f"/api/v1/screening-rows/{row_id}", json={"call_status": "cleared"})
    assert r.status_code == 404
    assert other.patch("/api/v1/screening-rows/99999", json={}).status_code == 404
    guard = api.bearer(factories.api_token(world.a.guard))
    assert guard.get("/api/v1/screening-lists").status_code == 403
    assert api.bearer(None).get("/api/v1/screening-lists").status_code == 401
    # A street user names the community; another street's is refused.
    street = api.bearer(factories.api_token(world.street_user))
    r = street.post("/api/v1/screening-lists", json=BODY)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "community_id"
    r = street.post("/api/v1/screening-lists", json={**BODY, "community_id": world.b.community.id})
    assert r.status_code == 201 and r.get_json()["matched"] == 0  # nobody of b matches


def test_a_lost_race_is_409(world, api, monkeypatch):
    _setup(world)
    _create(api, world.a.office)
    row = db.session.scalars(db.select(ScreeningRow)).first()
    # Another request changed the status between this one's read and its UPDATE.
    db.session.execute(
        db.update(ScreeningRow).where(ScreeningRow.id == row.id).values(call_status="reached")
    )
    db.session.commit()
    real = screening.load_row

    def stale(actor, row_id):
        found, lst = real(actor, row_id)
        set_committed_value(found, "call_status", "not_reached")  # as read before the change
        return found, lst

    monkeypatch.setattr(screening, "load_row", stale)
    r = api.patch(f"/api/v1/screening-rows/{row.id}", json={"call_status": "cleared"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "row_changed"


def _verdict(r) -> tuple[str, list[str]]:
    data = r.get_json()
    return data["decision"], [reason["code"] for reason in data["reasons"]]


def test_the_scan_refers_until_cleared(world, api):
    _setup(world)
    _create(api, world.a.office)
    row = db.session.scalars(db.select(ScreeningRow)).first()
    code = factories.code(world.a.pass_)
    device = api.client.application.test_client()
    headers = {"Authorization": "Bearer " + world.a.device_token}
    r = device.post("/api/v1/scans", json={"code": code, "direction": "out"}, headers=headers)
    assert _verdict(r) == ("refer", ["screening"])
    api.patch(f"/api/v1/screening-rows/{row.id}", json={"call_status": "cleared"})
    r = device.post("/api/v1/scans", json={"code": code, "direction": "out"}, headers=headers)
    assert _verdict(r) == ("allow", [])
