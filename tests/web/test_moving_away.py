"""Moving away: the office removes a person who moved away, from the household's page (behind a
confirmation) or the API. Their passes are refused at the gate, their login and its sessions
end, their open screening rows close, their record is anonymised and leaves every list and
count; their past passages and tests stay, naming nobody. A second call is told so (409)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import (
    AccessEvent,
    ApiToken,
    AuditEntry,
    Pass,
    Resident,
    ScreeningList,
    ScreeningRow,
    TestResult,
    User,
    utcnow,
)
from kiosk.services import directory, org
from kiosk.services.moving import PLACEHOLDER_NAME
from tests import factories
from tests.helpers import ApiClient

from .conftest import Browser, decision_of

NAME = "Zyx测试Qwv"
ID_NUMBER = "11010519880317739X"
PHONE = "13971468253"


def _person_with_history(world):
    """Site a's resident with an ID number and phone, a paper pass beside the phone pass, a
    joined login with an API token, an open screening row, a passage and a test result."""
    a = world.a
    resident = a.resident
    resident.name = NAME
    for key, value in org.identity(ID_NUMBER, PHONE).items():
        setattr(resident, key, value)
    paper = factories.pass_for(resident, kind="paper")
    login = factories.user(
        "moving_resident", "resident", household_id=a.household.id, resident_id=resident.id
    )
    lst = ScreeningList(community_id=a.community.id, name="核查名单")
    db.session.add(lst)
    db.session.flush()
    row = ScreeningRow(
        list_id=lst.id, row_number=2, name=NAME, match="matched", resident_id=resident.id
    )
    db.session.add(row)
    event = factories.event(
        a.gate,
        utcnow() - timedelta(hours=2),
        "out",
        "allow",
        resident_id=resident.id,
        pass_id=a.pass_.id,
    )
    test = TestResult(
        resident_id=resident.id, taken_at=utcnow() - timedelta(days=1), result="negative"
    )
    db.session.add(test)
    db.session.commit()
    token = factories.api_token(login)
    return {
        "paper": paper.id,
        "login": login.id,
        "row": row.id,
        "event": event.id,
        "test": test.id,
        "token": token,
    }


def _search(browser, q: str) -> str:
    r = browser.post("/office/people", {"q": q}, htmx=True)
    assert r.status_code == 200, r.text
    return r.text


def test_the_office_moves_a_member_away_from_the_household_page(app, world, office):
    a = world.a
    made = _person_with_history(world)
    resident_session = Browser(app).sign_in(db.session.get(User, made["login"]))
    assert resident_session.get("/me").status_code == 200
    tablet = Browser(app, a.device_token).sign_in(a.guard)
    paper_code = factories.code(db.session.get(Pass, made["paper"]))
    phone_code = factories.code(a.pass_)
    assert NAME in _search(office, NAME) and NAME in _search(office, "8253")

    # The household's page offers the button behind a confirmation step (a <details>).
    page = office.get(f"/office/households/{a.household.id}", lang="en").text
    form = re.search(r'<details data-testid="move-away">(.*?)</details>', page, re.S).group(1)
    assert f'action="/office/residents/{a.resident.id}/move-away"' in form
    assert "Confirm: " + NAME + " moved away" in form and 'name="csrf_token"' in form

    r = office.post(f"/office/residents/{a.resident.id}/move-away", lang="en")
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/office/households/{a.household.id}")
    page = office.get(f"/office/households/{a.household.id}", lang="en").text
    assert "The member moved away" in page
    assert NAME not in page and f'data-resident-id="{a.resident.id}"' not in page
    assert "1 member moved away (name removed)." in page

    # The record is anonymised; the row stays for the history that points at it.
    db.session.expire_all()
    resident = db.session.get(Resident, a.resident.id)
    assert resident.name == PLACEHOLDER_NAME
    assert (resident.id_hash, resident.id_last4, resident.phone_hash, resident.phone_last4) == (
        None,
        None,
        None,
        None,
    )
    assert resident.moved_away_at is not None and resident.presence is None
    passes = db.session.scalars(select(Pass).where(Pass.resident_id == resident.id)).all()
    assert len(passes) == 2
    assert all(p.revoked_at is not None and p.revoked_reason == "moved away" for p in passes)
    login = db.session.get(User, made["login"])
    assert (login.active, login.resident_id) == (False, None)
    assert (
        db.session.scalar(select(func.count(ApiToken.id)).where(ApiToken.user_id == login.id)) == 0
    )
    row = db.session.get(ScreeningRow, made["row"])
    assert (row.closed, row.call_status) == (True, "moved_away")
    assert db.session.get(AccessEvent, made["event"]).resident_id == resident.id
    assert db.session.get(TestResult, made["test"]).resident_id == resident.id

    # The audit: who, whom, what it did; no name or number in it.
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "resident.move_away")
    ).one()
    assert (entry.user_id, entry.community_id, entry.target_type, entry.target_id) == (
        a.office.id,
        a.community.id,
        "resident",
        resident.id,
    )
    assert json.loads(entry.detail) == {
        "household_id": a.household.id,
        "passes_revoked": 2,
        "logins_disabled": 1,
        "screening_rows_closed": 1,
    }
    assert NAME not in entry.detail and "739X" not in entry.detail
    assert "resident moved away" in office.get("/office/audit", lang="en").text

    # Their passes are refused at the gate; their login's session has ended.
    for code in (paper_code, phone_code):
        assert decision_of(tablet.scan(code, direction="out", temperature=None)) == (
            "deny",
            ["revoked"],
        )
    r = resident_session.get("/me")
    assert r.status_code == 302 and "/auth/login" in r.headers["Location"]
    assert (
        ApiClient(app.test_client()).bearer(made["token"]).get("/api/v1/me/household").status_code
        == 401
    )

    # Gone from the search, by name and by last four.
    for term in (NAME, "739X", "8253"):
        assert f'data-resident-id="{resident.id}"' not in _search(office, term)

    # A second press (a page left open) is told so, not a 500.
    r = office.post(f"/office/residents/{a.resident.id}/move-away", lang="en")
    assert r.status_code == 409
    assert "This person has moved away already." in r.text
    assert (
        db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "resident.move_away")
        )
        == 1
    )


def test_moved_away_people_leave_the_counts_and_lists(app, world, office):
    a = world.a
    stays = factories.resident(a.household, "李四")
    exemption = factories.pass_for(
        a.resident, kind="exemption", purpose="高考", valid_until=utcnow() + timedelta(hours=6)
    )
    db.session.commit()
    r = office.post(f"/office/residents/{a.resident.id}/move-away")
    assert r.status_code == 303
    # Where a page still lists something of theirs, it says "moved away" in place of the name.
    page = office.get("/office/exemptions", lang="en").text
    row = re.search(rf'<tr[^>]*data-pass-id="{exemption.id}".*?</tr>', page, re.S).group(0)
    assert "(moved away)" in row and "张三丰" not in row
    # The buildings list and the building's page count the one who stays.
    row = re.search(
        rf'<tr data-building-id="{a.building.id}">(.*?)</tr>',
        office.get("/office/places").text,
        re.S,
    ).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "1", "0"]
    # The household's page shows the one who stays, with every form.
    page = office.get(f"/office/households/{a.household.id}").text
    assert f'data-resident-id="{stays.id}"' in page
    assert f'data-resident-id="{a.resident.id}"' not in page
    # Matching an outside list (test results, ledgers, screening lists) finds nobody moved away.
    index = directory.PeopleIndex.of(a.office)
    assert {p.id for people in index.by_address.values() for p in people} == {stays.id}
    # The API lists and searches only the one who stays; the record itself is still there.
    api = ApiClient(app.test_client()).bearer(factories.api_token(a.office))
    items = api.get(f"/api/v1/residents?household_id={a.household.id}").get_json()["items"]
    assert [i["id"] for i in items] == [stays.id]
    found = api.post("/api/v1/residents/search", json={"q": PLACEHOLDER_NAME}).get_json()
    assert found["items"] == []
    one = api.get(f"/api/v1/residents/{a.resident.id}").get_json()
    assert one["name"] == PLACEHOLDER_NAME and one["id_last4"] is None


def test_no_new_pass_details_or_login_for_someone_who_moved_away(app, world, office):
    a = world.a
    slip = office.post(f"/office/households/{a.household.id}/invites")
    (code,) = re.findall(r'data-code="([A-Z0-9]{10})"', slip.text)
    office.post(f"/office/residents/{a.resident.id}/move-away")
    api = ApiClient(app.test_client()).bearer(factories.api_token(a.office))
    r = api.post(f"/api/v1/residents/{a.resident.id}/passes", json={"kind": "paper"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "moved_away"
    r = api.patch(f"/api/v1/residents/{a.resident.id}", json={"name": "王五"})
    assert r.status_code == 409
    office.post(f"/office/residents/{a.resident.id}/passes", {"kind": "resident"})
    assert (
        db.session.scalar(
            select(func.count(Pass.id)).where(
                Pass.resident_id == a.resident.id, Pass.revoked_at.is_(None)
            )
        )
        == 0
    )
    # A building's bulk paper passes leave them out too.
    office.post(f"/office/buildings/{a.building.id}/passes")
    assert (
        db.session.scalar(
            select(func.count(Pass.id)).where(
                Pass.resident_id == a.resident.id, Pass.revoked_at.is_(None)
            )
        )
        == 0
    )
    # The joining slip no longer offers them.
    r = Browser(app).post("/join", {"code": code}, lang="en")
    assert f'value="{a.resident.id}"' not in r.text
    r = Browser(app).post(
        "/join/account",
        {
            "code": code,
            "resident_id": str(a.resident.id),
            "username": "late_joiner",
            "password": "a-long-password",
        },
        lang="en",
    )
    assert db.session.scalar(select(User.id).where(User.username == "late_joiner")) is None


def test_scope_and_roles_on_the_page(app, world):
    a = world.a
    for user in (a.guard, world.worker, world.resident_user):
        r = Browser(app).sign_in(user).post(f"/office/residents/{a.resident.id}/move-away")
        assert r.status_code == 403
    r = Browser(app).sign_in(world.b.office).post(f"/office/residents/{a.resident.id}/move-away")
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(Resident, a.resident.id).moved_away_at is None
    # The street user reaches every community of its street.
    r = (
        Browser(app)
        .sign_in(world.street_user)
        .post(f"/office/residents/{world.b.resident.id}/move-away")
    )
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Resident, world.b.resident.id).moved_away_at is not None


def test_the_api_moves_a_person_away_once(app, world, client):
    a = world.a
    made = _person_with_history(world)
    office = ApiClient(client).bearer(factories.api_token(a.office))
    for caller, status in (
        (ApiClient(client), 401),
        (ApiClient(client).bearer(factories.api_token(a.guard)), 403),
        (ApiClient(client).bearer(factories.api_token(world.b.office)), 404),
    ):
        r = caller.post(f"/api/v1/residents/{a.resident.id}/move-away")
        assert r.status_code == status, (status, r.get_json())
    r = office.post(f"/api/v1/residents/{a.resident.id}/move-away")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert {k: v for k, v in body.items() if k != "moved_away_at"} == {
        "resident_id": a.resident.id,
        "household_id": a.household.id,
        "passes_revoked": 2,
        "logins_disabled": 1,
        "screening_rows_closed": 1,
    }
    assert body["moved_away_at"].endswith("+08:00")
    r = office.post(f"/api/v1/residents/{a.resident.id}/move-away")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "moved_away"
    # The gate refuses the passes; the passages stay, naming nobody.
    device = ApiClient(client).as_device(a.device_token)
    answer = device.scan(factories.code(a.pass_), direction="out", temperature=None).get_json()
    assert answer["decision"] == "deny"
    assert [r["code"] for r in answer["reasons"]] == ["revoked"]
    assert NAME not in json.dumps(answer, ensure_ascii=False)
    events = office.get(f"/api/v1/events?resident_id={a.resident.id}").get_json()["items"]
    assert made["event"] in [e["id"] for e in events]
    assert NAME not in json.dumps(events, ensure_ascii=False)
    # The operation and its 409 are in the document.
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/residents/{resident_id}/move-away"]["post"]
    assert {"200", "404", "409"} <= set(op["responses"])
