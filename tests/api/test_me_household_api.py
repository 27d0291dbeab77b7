"""The resident's API for the household's paper passes, notices and "my data", and the office's
notices API: a resident's token reaches only their own household (404 for anything else, with
every id), a staff token is refused on the resident's routes and the other way round.

``DOC_CALLS`` are also made by the OpenAPI test (``test_openapi.py``), so that every one of
these operations is checked against the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from kiosk.extensions import db
from kiosk.models import MAX_ID, AuditEntry, Notice, Pass, User, utcnow
from kiosk.services import household_passes
from tests import factories
from tests.helpers import ApiClient


def family(world) -> dict:
    a = world.a
    grandma = factories.resident(a.household, "王奶奶")
    li = factories.resident(a.household, "李四")
    me = factories.user("zhang", "resident", household_id=a.household.id, resident_id=a.resident.id)
    factories.user("li", "resident", household_id=a.household.id, resident_id=li.id)
    db.session.commit()
    return {"me": me, "grandma": grandma, "li": li}


def resident_api(client, user) -> ApiClient:
    return ApiClient(client).bearer(factories.api_token(user))


@dataclass(frozen=True)
class DocCall:
    """One operation called for real by the OpenAPI test: who calls it, and how."""

    method: str
    rule: str
    user: Callable  # (world) -> User
    build: Callable  # (world) -> (path, json body or None)
    success: int


def _joined(w) -> User:
    """Site a's first resident as a joined resident (made once per world; another module's
    calls may have made it already)."""
    found = db.session.scalar(select(User).where(User.resident_id == w.a.resident.id))
    if found is None:
        found = factories.user(
            "doc_zhang", "resident", household_id=w.a.household.id, resident_id=w.a.resident.id
        )
        db.session.commit()
    return found


def _new_member(w) -> int:
    """A member of site a's household without a login or a pass."""
    member = factories.resident(w.a.household, "王奶奶")
    db.session.commit()
    return member.id


def _new_paper_pass(w) -> int:
    paper = factories.pass_for(factories.resident(w.a.household, "李奶奶"), "paper")
    db.session.commit()
    return paper.id


def _new_notice(w) -> int:
    notice = Notice(community_id=w.a.community.id, title="t", body="b")
    db.session.add(notice)
    db.session.commit()
    return notice.id


def _office(w) -> User:
    return w.street_user


DOC_CALLS = [
    DocCall("GET", "/api/v1/me/household", _joined, lambda w: ("/api/v1/me/household", None), 200),
    DocCall(
        "POST",
        "/api/v1/me/household/members/{id}/paper-passes",
        _joined,
        lambda w: (f"/api/v1/me/household/members/{_new_member(w)}/paper-passes", {}),
        201,
    ),
    DocCall(
        "POST",
        "/api/v1/me/passes/{id}/revoke",
        _joined,
        lambda w: (f"/api/v1/me/passes/{_new_paper_pass(w)}/revoke", {"reason": "丢失"}),
        200,
    ),
    DocCall("GET", "/api/v1/me/notices", _joined, lambda w: ("/api/v1/me/notices", None), 200),
    DocCall("GET", "/api/v1/me/data", _joined, lambda w: ("/api/v1/me/data", None), 200),
    DocCall("GET", "/api/v1/notices", _office, lambda w: ("/api/v1/notices", None), 200),
    DocCall(
        "POST",
        "/api/v1/notices",
        _office,
        lambda w: (
            "/api/v1/notices",
            {"title": "核酸检测", "body": "周六", "compound_id": w.a.compound.id},
        ),
        201,
    ),
    DocCall(
        "POST",
        "/api/v1/notices/{id}/withdraw",
        _office,
        lambda w: (f"/api/v1/notices/{_new_notice(w)}/withdraw", None),
        200,
    ),
]


def test_the_household_and_a_paper_pass_issued_and_revoked(world, client):
    f = family(world)
    me = resident_api(client, f["me"])
    r = me.get("/api/v1/me/household")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["compound"] == "丰台小区" and body["unit"] == "2" and body["room"] == "301"
    members = {m["name"]: m for m in body["members"]}
    assert set(members) == {"张三丰", "王奶奶", "李四"}
    assert members["张三丰"]["is_you"] and members["张三丰"]["phone_pass"]
    assert members["王奶奶"]["may_have_paper_pass"] and not members["李四"]["may_have_paper_pass"]
    r = me.post(f"/api/v1/me/household/members/{f['grandma'].id}/paper-passes")
    assert r.status_code == 201, r.get_json()
    issued = r.get_json()
    assert issued["kind"] == "paper" and issued["resident_id"] == f["grandma"].id
    paper = db.session.get(Pass, issued["id"])
    assert issued["code"] == factories.code(paper)
    # The gate lets it through, then refuses it once revoked.
    device = ApiClient(client).as_device(world.a.device_token)
    assert device.scan(issued["code"], "out", None).get_json()["decision"] == "allow"
    r = me.post(f"/api/v1/me/passes/{paper.id}/revoke", json={"reason": "丢失"})
    assert r.status_code == 200 and r.get_json()["revoked_at"] is not None
    answer = device.scan(issued["code"], "in").get_json()
    assert answer["decision"] == "deny"
    assert [x["code"] for x in answer["reasons"]] == ["revoked"]
    r = me.post(f"/api/v1/me/passes/{paper.id}/revoke")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_revoked"
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.user_id == f["me"].id).order_by(AuditEntry.id)
    ).all()
    assert actions == ["pass.issue", "pass.revoke"]


def test_refusals_with_their_reasons(world, client):
    f = family(world)
    me = resident_api(client, f["me"])
    url = f"/api/v1/me/household/members/{f['grandma'].id}/paper-passes"
    assert me.post(url, json={}).status_code == 201
    r = me.post(url, json={})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "paper_pass_active"
    r = me.post(f"/api/v1/me/household/members/{f['li'].id}/paper-passes")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "member_has_login"
    r = me.post(url, json={"valid_until": "2020-06-13", "colour": "red"})
    assert r.status_code == 422
    assert {e["field"] for e in r.get_json()["error"]["fields"]} == {"colour"}
    r = me.post(url, json={"valid_until": 5})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "valid_until"


def test_another_household_is_not_found_with_every_id(world, client):
    f = family(world)
    me = resident_api(client, f["me"])
    foreign = factories.pass_for(world.b.resident, "paper")
    db.session.commit()
    for path in (
        f"/api/v1/me/household/members/{world.b.resident.id}/paper-passes",
        f"/api/v1/me/household/members/{MAX_ID}/paper-passes",
        f"/api/v1/me/household/members/{10**25}/paper-passes",
        f"/api/v1/me/passes/{foreign.id}/revoke",
        f"/api/v1/me/passes/{world.a.pass_.id}/revoke",  # a phone pass: not the resident's to revoke
        f"/api/v1/me/passes/{MAX_ID + 1}/revoke",
    ):
        r = me.post(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.get_json()["error"]["code"] == "not_found"
    db.session.expire_all()
    assert db.session.get(Pass, foreign.id).revoked_at is None
    assert db.session.get(Pass, world.a.pass_.id).revoked_at is None
    assert db.session.scalars(
        select(Pass).where(Pass.resident_id == world.b.resident.id)
    ).all() == [
        db.session.get(Pass, world.b.pass_.id),
        db.session.get(Pass, foreign.id),
    ]


def test_tokens_of_the_wrong_kind_are_refused(world, client):
    f = family(world)
    office = ApiClient(client).bearer(factories.api_token(world.a.office))
    unjoined = ApiClient(client).bearer(factories.api_token(world.resident_user))
    me = resident_api(client, f["me"])
    for api in (office, unjoined):
        for path in ("/api/v1/me/household", "/api/v1/me/notices", "/api/v1/me/data"):
            assert api.get(path).status_code == 403, path
        r = api.post(f"/api/v1/me/household/members/{f['grandma'].id}/paper-passes")
        assert r.status_code == 403
    assert ApiClient(client).get("/api/v1/me/data").status_code == 401
    assert me.get("/api/v1/notices").status_code == 403
    assert me.post("/api/v1/notices", json={"title": "t", "body": "b"}).status_code == 403
    for user in (world.a.guard, world.worker):
        api = ApiClient(client).bearer(factories.api_token(user))
        assert api.get("/api/v1/notices").status_code == 403


def test_notices_from_the_office_to_the_resident(world, client):
    f = family(world)
    me = resident_api(client, f["me"])
    office = ApiClient(client).bearer(factories.api_token(world.a.office))
    other = ApiClient(client).bearer(factories.api_token(world.b.office))
    r = office.post(
        "/api/v1/notices",
        json={"title": "核酸检测", "body": "周六\n东门", "building_id": world.a.building.id},
    )
    assert r.status_code == 201, r.get_json()
    posted = r.get_json()
    assert posted["place"] == "丰台小区 1号楼" and posted["active"] is True
    assert posted["compound_id"] == world.a.compound.id
    r = office.post(
        "/api/v1/notices", json={"title": "x", "body": "y", "compound_id": world.b.compound.id}
    )
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "compound_id"
    r = other.post("/api/v1/notices", json={"title": "樱桃", "body": "y"})
    assert r.status_code == 201
    assert [n["title"] for n in me.get("/api/v1/me/notices").get_json()["items"]] == ["核酸检测"]
    assert other.post(f"/api/v1/notices/{posted['id']}/withdraw").status_code == 404
    r = office.post(f"/api/v1/notices/{posted['id']}/withdraw")
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert office.post(f"/api/v1/notices/{posted['id']}/withdraw").status_code == 409
    assert me.get("/api/v1/me/notices").get_json()["items"] == []
    listed = office.get("/api/v1/notices?active=false").get_json()
    assert [n["id"] for n in listed["items"]] == [posted["id"]] and listed["next_after"] is None
    assert office.get("/api/v1/notices?active=true").get_json()["items"] == []
    assert office.get("/api/v1/notices?active=maybe").status_code == 422


def test_my_data(world, client):
    f = family(world)
    now = utcnow()
    factories.event(world.a.gate, now, "in", "allow", resident_id=world.a.resident.id)
    factories.event(world.b.gate, now, "in", "allow", resident_id=world.b.resident.id)
    db.session.commit()
    body = resident_api(client, f["me"]).get("/api/v1/me/data").get_json()
    assert body["record"]["name"] == "张三丰" and body["record"]["username"] == "zhang"
    assert len(body["events"]) == 1 and body["events"][0]["compound"] == "丰台小区"
    assert "樱桃" not in str(body)


def test_a_revocation_that_loses_the_race_is_told_so(world, client, monkeypatch):
    """Two relatives revoke the same lost card at once: the second one's conditional UPDATE
    finds it revoked between its read and its write, and answers 409, not a 500."""
    f = family(world)
    paper = factories.pass_for(f["grandma"], "paper")
    db.session.commit()
    checked = household_passes._without_login

    def other_relative_first(resident):
        checked(resident)
        db.session.execute(update(Pass).where(Pass.id == paper.id).values(revoked_at=utcnow()))

    monkeypatch.setattr(household_passes, "_without_login", other_relative_first)
    r = resident_api(client, f["me"]).post(f"/api/v1/me/passes/{paper.id}/revoke")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_revoked"
