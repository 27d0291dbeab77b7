"""Joining: the office prints a slip, a member of the household joins with its code, picks who
they are, chooses a login and lands on /me. Codes are single-use, hashed, the same answer for
every wrong code, and rate-limited."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kiosk.contract.me import JoinAccount
from kiosk.extensions import db
from kiosk.models import AuditEntry, Household, HouseholdInvite, Pass, User, utcnow
from kiosk.services import joining, security
from kiosk.services.errors import Invalid
from tests import factories

from .conftest import Browser

NOT_VALID_EN = "This code is not valid."


def slip_codes(response) -> list[str]:
    return re.findall(r'data-code="([A-Z0-9]{10})"', response.text)


def print_slip(office, household_id) -> str:
    r = office.post(f"/office/households/{household_id}/invites", lang="en")
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    (code,) = slip_codes(r)
    return code


def test_the_office_prints_a_slip_and_a_new_one_voids_the_old(soffice, sworld):
    page = soffice.get(f"/office/households/{sworld.a.household.id}", lang="en").text
    assert "Print a joining slip" in page
    r = soffice.post(f"/office/households/{sworld.a.household.id}/invites", lang="en")
    assert "Joining slips" in r.text and "<svg" in r.text and "print.js" in r.text
    (first,) = slip_codes(r)
    assert len(first) == 10 and set(first) <= set("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    assert f"{first[:5]} {first[5:]}" in r.text
    invite = db.session.scalar(select(HouseholdInvite))
    assert invite.code_hash == security.token_hash(first)  # only the keyed hash is stored
    assert first not in invite.code_hash
    assert timedelta(days=13, hours=23) < invite.expires_at - utcnow() <= timedelta(days=14)
    second = print_slip(soffice, sworld.a.household.id)
    assert second != first
    db.session.expire_all()
    rows = db.session.scalars(select(HouseholdInvite).order_by(HouseholdInvite.id)).all()
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None
    actions = [a.action for a in db.session.scalars(select(AuditEntry))]
    assert actions == ["invite.issue", "invite.issue"]
    # The old slip no longer works.
    r = Browser(soffice.client.application).post("/join", {"code": first}, lang="en")
    assert NOT_VALID_EN in r.text


def test_a_slip_for_every_household_of_a_building(soffice, sworld):
    other = Household(building_id=sworld.a.building.id, unit="1", room="101")
    db.session.add(other)
    db.session.commit()
    page = soffice.get(f"/office/buildings/{sworld.a.building.id}", lang="en").text
    assert "Joining slips for every household" in page
    r = soffice.post(f"/office/buildings/{sworld.a.building.id}/invites", lang="en")
    assert r.status_code == 200
    assert len(set(slip_codes(r))) == 2
    assert r.text.index("room 101") < r.text.index("room 301")  # in address order
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "invite.issue_bulk" and json.loads(entry.detail)["count"] == 2


def test_another_communitys_household_is_not_found(soffice, sworld):
    assert soffice.post(f"/office/households/{sworld.b.household.id}/invites").status_code == 404
    assert soffice.post(f"/office/buildings/{sworld.b.building.id}/invites").status_code == 404
    assert db.session.scalar(select(HouseholdInvite)) is None


def joined_on_the_household_page(office, household_id) -> tuple[str, dict[int, str]]:
    """The household page's count of members who joined, and each member's line."""
    page = office.get(f"/office/households/{household_id}", lang="en").text
    count = re.search(r'data-testid="joined-count">([^<]*)<', page).group(1)
    members = re.findall(
        r'data-resident-id="(\d+)".*?data-testid="joined">([^<]*)<', page, flags=re.S
    )
    return count, {int(rid): text for rid, text in members}


def test_joining_with_a_slip(sqlite_app, soffice, sworld):
    grandma = factories.resident(sworld.a.household, "王秀英")
    db.session.commit()
    assert joined_on_the_household_page(soffice, sworld.a.household.id) == (
        "Joined on their phones: 0 of 2 members.",
        {sworld.a.resident.id: "not joined", grandma.id: "not joined"},
    )
    code = print_slip(soffice, sworld.a.household.id)
    phone = Browser(sqlite_app)
    page = phone.get("/join", lang="en")
    assert page.status_code == 200 and "join.js" in page.text and "data-join-code" in page.text
    typed = f"{code[:5].lower()} {code[5:]}"  # as read out: spaces, lower case
    r = phone.post("/join", {"code": typed}, lang="en")
    assert r.status_code == 200 and "Who are you?" in r.text
    assert "张**" in r.text and "王**" in r.text
    assert "张三丰" not in r.text and "王秀英" not in r.text  # the slip may be in other hands
    assert "丰台小区 1号楼 unit 2 room 301" in r.text
    r = phone.post(
        "/join/account",
        {
            "code": code,
            "resident_id": str(sworld.a.resident.id),
            "username": "zhang",
            "password": "a-long-password",
        },
    )
    assert r.status_code == 303 and r.headers["Location"] == "/me"
    user = db.session.scalar(select(User).where(User.username == "zhang"))
    assert (user.role, user.household_id, user.resident_id) == (
        "resident",
        sworld.a.household.id,
        sworld.a.resident.id,
    )
    assert security.check_password(user.password_hash, "a-long-password")
    invite = db.session.scalar(select(HouseholdInvite))
    assert invite.used_at is not None and invite.used_by_id == user.id
    assert phone.get("/me").status_code == 200  # signed in
    # The office sees who has joined, and who is still to be helped.
    today = utcnow().astimezone(sqlite_app.config["TZ"]).strftime("%Y-%m-%d")
    assert joined_on_the_household_page(soffice, sworld.a.household.id) == (
        "Joined on their phones: 1 of 2 members.",
        {sworld.a.resident.id: f"joined on their phone {today}", grandma.id: "not joined"},
    )
    # The resident had a phone pass already: no second one. Grandma gets one when she joins.
    assert (
        len(db.session.scalars(select(Pass).where(Pass.resident_id == sworld.a.resident.id)).all())
        == 1
    )
    # The code is spent: the same answer as for any wrong code.
    r = Browser(sqlite_app).post("/join", {"code": code}, lang="en")
    assert NOT_VALID_EN in r.text
    # A new slip: only grandma is left to choose, and she gets a phone pass.
    code = print_slip(soffice, sworld.a.household.id)
    other_phone = Browser(sqlite_app)
    r = other_phone.post("/join", {"code": code}, lang="en")
    assert "王**" in r.text and "张**" not in r.text
    r = other_phone.post(
        "/join/account",
        {"code": code, "resident_id": str(grandma.id), "username": "wang", "password": "12345678"},
    )
    assert r.status_code == 303
    kinds = db.session.scalars(select(Pass.kind).where(Pass.resident_id == grandma.id)).all()
    assert kinds == ["resident"]


def test_every_wrong_code_gets_the_same_answer(sqlite_app, soffice, sworld):
    code = print_slip(soffice, sworld.a.household.id)
    invite = db.session.scalar(select(HouseholdInvite))
    invite.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    answers = set()
    for typed in (code, "ABCDEFGHJK", "2345678923"):
        r = Browser(sqlite_app).post("/join", {"code": typed}, lang="en")
        assert r.status_code == 200
        found = re.findall(r'role="alert" data-field="code">([^<]+)<', r.text)
        answers.add(tuple(found))
        assert f'value="{typed}"' in r.text  # what was typed is kept
    assert len(answers) == 1 and NOT_VALID_EN in answers.pop()[0]
    r = Browser(sqlite_app).post("/join", {"code": "short"}, lang="en")
    assert "Type the 10 letters and digits" in r.text


def test_account_errors_all_at_once_and_nothing_spent(sqlite_app, soffice, sworld):
    code = print_slip(soffice, sworld.a.household.id)
    phone = Browser(sqlite_app)
    r = phone.post(
        "/join/account",
        {"code": code, "resident_id": "x", "username": "has space", "password": "short"},
        lang="en",
    )
    assert r.status_code == 200
    fields = re.findall(r'role="alert" data-field="(\w+)"', r.text)
    assert set(fields) == {"resident_id", "username", "password"}
    assert 'value="has space"' in r.text and "short" not in re.findall(r'value="([^"]*)"', r.text)
    # A taken username, a member of another household.
    for data, field in (
        (
            {"resident_id": str(sworld.a.resident.id), "username": sworld.a.office.username},
            "username",
        ),
        ({"resident_id": str(sworld.b.resident.id), "username": "new_one"}, "resident_id"),
        ({"resident_id": "99999999999999999999", "username": "new_one"}, "resident_id"),
    ):
        r = phone.post("/join/account", {"code": code, "password": "12345678", **data}, lang="en")
        assert re.findall(r'role="alert" data-field="(\w+)"', r.text) == [field], r.text
    db.session.expire_all()
    assert db.session.scalar(select(HouseholdInvite)).used_at is None
    assert db.session.scalar(select(User).where(User.username == "new_one")) is None


def test_a_member_with_a_login_cannot_join_twice(sqlite_app, soffice, sworld):
    factories.user(
        "already", "resident", household_id=sworld.a.household.id, resident_id=sworld.a.resident.id
    )
    db.session.commit()
    code = print_slip(soffice, sworld.a.household.id)
    r = Browser(sqlite_app).post("/join", {"code": code}, lang="en")
    assert 'data-testid="nobody"' in r.text
    r = Browser(sqlite_app).post(
        "/join/account",
        {
            "code": code,
            "resident_id": str(sworld.a.resident.id),
            "username": "again",
            "password": "12345678",
        },
        lang="en",
    )
    assert "This member has joined already." in r.text


def test_joining_is_rate_limited_per_address(sqlite_app, sworld):
    sqlite_app.config["JOIN_RATE_LIMIT"] = "3 per minute"
    phone = Browser(sqlite_app)
    for _ in range(3):
        assert phone.post("/join", {"code": "ABCDEFGHJK"}).status_code == 200
    assert phone.post("/join", {"code": "ABCDEFGHJK"}).status_code == 429


def test_wrong_codes_lock_the_address(sqlite_app, sworld):
    sqlite_app.config["JOIN_RATE_LIMIT"] = "1000 per minute"
    sqlite_app.config["SIGN_IN_THROTTLE"] = {"address": {"free": 3}}
    phone = Browser(sqlite_app)
    for _ in range(3):
        assert phone.post("/join", {"code": "ABCDEFGHJK"}).status_code == 200
    r = phone.post("/join", {"code": "ABCDEFGHJK"}, lang="en")
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_a_code_spent_by_someone_else_meanwhile_is_a_clear_answer(
    sqlite_app, soffice, sworld, monkeypatch
):
    """The lost race: the code was valid when read, and spent by another joining before this
    one's conditional UPDATE. Nothing of this one is kept; the answer is the usual one."""
    code = print_slip(soffice, sworld.a.household.id)
    hash_password = security.hash_password

    def spend_meanwhile(password):
        with db.engine.begin() as conn:
            conn.execute(update(HouseholdInvite).values(used_at=utcnow()))
        return hash_password(password)

    monkeypatch.setattr(joining.security, "hash_password", spend_meanwhile)
    data = JoinAccount.read(
        {
            "code": code,
            "resident_id": str(sworld.a.resident.id),
            "username": "late",
            "password": "12345678",
        }
    )
    with sqlite_app.test_request_context("/join/account", method="POST"):
        with pytest.raises(Invalid) as caught:
            joining.join(data)
    assert caught.value.field == "code" and caught.value.code == "bad_code"
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.username == "late")) is None
