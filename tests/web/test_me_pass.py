"""My pass (/me): the sentence, the live code, the history, care mode; and the promise that the
phone and the gate never disagree: for every seal, observation and exemption case, the
sentence's "may go out" is what an OUT scan of the code on the screen gets at the gate."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kiosk.extensions import db
from kiosk.models import Notice, Pass, SealSchedule, TestResult, User, utcnow
from tests import factories
from tests.helpers import ApiClient

from .conftest import Browser, attr


def joined(site, name="resident_joined") -> User:
    """A joined resident of ``site``'s household, bound to its resident (who has a phone pass)."""
    u = factories.user(
        name, "resident", household_id=site.household.id, resident_id=site.resident.id
    )
    db.session.commit()
    return u


@pytest.fixture
def me(sqlite_app, sworld):
    user = joined(sworld.a)
    return Browser(sqlite_app).sign_in(user), user


def test_my_pass_shows_the_sentence_the_code_and_who(me, sworld):
    browser, _user = me
    r = browser.get("/me", lang="en")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    text = r.text
    assert "You may come and go freely" in text
    assert 'data-may-out="yes"' in text
    assert "<svg" in text and "data-clock" in text and "data-countdown" in text
    assert "张**" in text and "张三丰" not in text  # masked, as a guard sees it
    assert "丰台小区 1号楼" in text
    assert 'hx-trigger="every 10s, kiosk:step"' in text
    assert "me-pass.js" in text
    assert "No entries or exits yet." in text and "No test result recorded." in text


def test_the_poll_gets_the_fragment_only(me):
    browser, _user = me
    r = browser.get("/me", htmx=True, lang="en")
    assert r.status_code == 200 and "<html" not in r.text
    assert 'id="me-pass"' in r.text and "<svg" in r.text
    assert "HX-Request" in r.headers["Vary"]
    assert int(attr(r, "data-seconds-left")) in range(1, 31)


def test_history_and_latest_test(me, sworld):
    browser, _user = me
    now = utcnow()
    factories.event(
        sworld.a.gate, now - timedelta(hours=2), "out", "allow", resident_id=sworld.a.resident.id
    )
    factories.event(
        sworld.a.gate,
        now - timedelta(hours=1),
        "in",
        "deny",
        reasons="fever",
        resident_id=sworld.a.resident.id,
    )
    other = factories.resident(sworld.a.household, "李四")
    factories.event(sworld.a.gate, now, "out", "allow", resident_id=other.id)  # not theirs
    db.session.add(TestResult(resident_id=sworld.a.resident.id, taken_at=now, result="negative"))
    db.session.add(
        Notice(community_id=sworld.a.community.id, title="核酸检测通知", body="明天8点，东门")
    )
    db.session.add(Notice(community_id=sworld.b.community.id, title="别的社区", body="不是这里"))
    db.session.commit()
    text = browser.get("/me", lang="en").text
    history = text[text.index('data-testid="passages"') :]
    assert history.count("<li") == 2
    assert "Fever" in history or "fever" in history.lower()
    assert "negative" in text[text.index('data-testid="latest-test"') :].lower()
    assert "核酸检测通知" in text and "明天8点，东门" in text and "别的社区" not in text


def test_without_a_pass_the_page_says_to_ask_the_office(me, sworld):
    browser, _user = me
    sworld.a.pass_.revoked_at = utcnow()
    db.session.commit()
    r = browser.get("/me", lang="en")
    assert 'data-testid="no-pass"' in r.text and "<svg" not in r.text
    assert "ask the community office" in r.text


def test_care_mode_is_remembered(me, sqlite_app):
    browser, user = me
    r = browser.post("/me/care", {"care": "true"})
    assert r.status_code == 303 and r.headers["Location"] == "/me"
    assert db.session.get(User, user.id).care_mode is True
    text = browser.get("/me", lang="en").text
    assert re.search(r'<body class="phone care"', text)
    assert 'data-testid="passages"' not in text  # fewer elements
    assert "Turn care mode off" in text
    # Another browser of the same resident: still on.
    assert 'class="phone care"' in Browser(sqlite_app).sign_in(user).get("/me").text
    r = browser.post("/me/care", {"care": "false"}, htmx=True)
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/me"
    assert db.session.get(User, user.id).care_mode is False
    r = browser.post("/me/care", {"care": "maybe"}, lang="en")
    assert r.status_code == 200 and 'role="alert"' in r.text


def test_me_is_for_joined_residents_only(sqlite_app, sworld):
    r = Browser(sqlite_app).get("/me")
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")
    for user in (sworld.a.office, sworld.a.guard, sworld.worker, sworld.resident_user):
        assert Browser(sqlite_app).sign_in(user).get("/me").status_code == 403


def test_sign_in_takes_a_resident_to_me(sqlite_app, sworld):
    user = joined(sworld.a)
    browser = Browser(sqlite_app)
    r = browser.post("/auth/login", {"username": user.username, "password": factories.PASSWORD})
    assert r.status_code == 303 and r.headers["Location"] == "/me"
    r = Browser(sqlite_app).post(
        "/auth/login", {"username": sworld.a.office.username, "password": factories.PASSWORD}
    )
    assert r.headers["Location"] == "/"


# --- the phone and the gate agree ---------------------------------------------------------------

H = timedelta(hours=1)


def _schedule(site, kind, state, starts, ends=None):
    target = site.compound.id if kind == "compound" else site.building.id
    db.session.add(
        SealSchedule(
            target_kind=kind,
            target_id=target,
            compound_id=site.compound.id,
            community_id=site.community.id,
            state=state,
            starts_at=starts,
            ends_at=ends,
            reason="测试",
        )
    )


def _exemption(site, starts, ends):
    db.session.add(
        Pass(
            resident_id=site.resident.id,
            kind="exemption",
            valid_from=starts,
            valid_until=ends,
            purpose="高考",
        )
    )


def _set(site, case: str) -> None:
    now = utcnow()
    kind, _sep, rest = case.partition(":")
    if kind in ("compound", "building"):
        state, _sep, when = rest.partition(":")
        obj = site.compound if kind == "compound" else site.building
        if when == "":
            obj.seal_state = state
            obj.seal_changed_at = now - H
        elif when == "now":
            _schedule(site, kind, state, now - H, now + 5 * H)
        elif when == "later":
            _schedule(site, kind, state, now + 5 * H)
        elif when == "over":
            _schedule(site, kind, state, now - 5 * H, now - H)
    elif kind == "observation":
        site.household.observation_until = now + (48 * H if rest == "on" else -H)
    elif kind == "exemption":  # in a sealed compound
        site.compound.seal_state = "sealed"
        site.compound.seal_changed_at = now - H
        if rest == "open":
            _exemption(site, now - H, now + 5 * H)
        elif rest == "later":
            _exemption(site, now + 5 * H, now + 8 * H)
        elif rest == "in_only_open":
            site.compound.seal_state = "in_only"
            _exemption(site, now - H, now + 5 * H)
    elif kind == "observed_in_only":
        site.household.observation_until = now + 48 * H
        site.building.seal_state = "in_only"
    db.session.commit()


CASES = [
    "free",
    "compound:in_only",
    "compound:sealed",
    "building:in_only",
    "building:sealed",
    "compound:in_only:now",
    "compound:sealed:now",
    "building:in_only:now",
    "building:sealed:now",
    "compound:sealed:later",
    "building:in_only:later",
    "building:sealed:over",
    "compound:open:now",
    "observation:on",
    "observation:over",
    "observed_in_only",
    "exemption:open",
    "exemption:later",
    "exemption:in_only_open",
]


@pytest.mark.parametrize("case", CASES)
def test_the_sentence_agrees_with_the_gate(sqlite_app, sworld, case):
    site = sworld.a
    user = joined(site)
    _set(site, case)
    page = Browser(sqlite_app).sign_in(user).get("/me")
    may_in = attr(page, "data-may-in") == "yes"
    may_out = attr(page, "data-may-out") == "yes"
    resident = ApiClient(sqlite_app.test_client()).bearer(factories.api_token(user))
    status = resident.get("/api/v1/me").get_json()["status"]
    assert (status["may_in"], status["may_out"]) == (may_in, may_out)
    assert status["sentence"] and status["sentence"] in page.text
    gate = ApiClient(sqlite_app.test_client()).as_device(site.device_token)
    code = resident.get("/api/v1/me/code").get_json()["code"]
    assert code in page.text or "<svg" in page.text
    r = gate.scan(code, "in", 36.5)
    assert (r.get_json()["decision"] == "allow") == may_in, (case, r.get_json())
    code = resident.get("/api/v1/me/code").get_json()["code"]
    r = gate.scan(code, "out", None)
    assert (r.get_json()["decision"] == "allow") == may_out, (case, r.get_json())
    expected_out = case in (
        "free",
        "compound:sealed:later",
        "building:in_only:later",
        "building:sealed:over",
        "compound:open:now",
        "observation:over",
        "exemption:open",
        "exemption:in_only_open",
    )
    assert may_out is expected_out, case
