"""Binding a tablet's browser to a gate with the office's code, and the guard's PIN sign-in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from kiosk.extensions import db
from kiosk.models import AuditEntry, Device, utcnow
from kiosk.services import security
from kiosk.services.devices import ENROL_ALPHABET
from tests import factories
from tests.helpers import ApiClient

from .conftest import DEVICE_COOKIE, Browser, events


def shown_code(response) -> str:
    found = re.search(r'data-testid="enrol-code">([^<]*)<', response.text)
    assert found, "no enrolment code on the page"
    return found.group(1)


def device_cookie(response) -> str:
    (header,) = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "=")
    ]
    return header


def enrol(browser: Browser, code: str, **kw):
    return browser.post("/gate/enrol", {"code": code}, **kw)


# --- enrolment --------------------------------------------------------------------------------


def test_office_creates_a_tablet_whose_code_binds_a_browser(app, world, office, browser):
    r = office.post(
        "/office/devices",
        {"gate_id": str(world.a.gate.id), "name": "北门平板"},
        follow_redirects=True,
    )
    assert [h.status_code for h in r.history] == [303]  # a reload does not add another tablet
    assert r.status_code == 200
    code = shown_code(r)
    assert len(code) == 8 and set(code) <= set(ENROL_ALPHABET)
    assert "http://localhost/gate/enrol" in r.text
    assert "<svg" in r.text  # the QR of the code
    device = db.session.scalar(db.select(Device).where(Device.name == "北门平板"))
    assert device.gate_id == world.a.gate.id and device.enrolled_at is None
    assert device.enrol_code_hash == security.token_hash(code)  # only the hash is kept

    r = enrol(browser, code)
    assert r.status_code == 303
    assert r.headers["Location"] == "/gate/login"
    cookie = device_cookie(r)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    token = browser.client.get_cookie(DEVICE_COOKIE).value
    db.session.expire_all()
    device = db.session.get(Device, device.id)
    assert device.token_hash == security.token_hash(token)
    assert device.enrol_code_hash is None and device.enrolled_at is not None

    login = browser.get("/gate/login")
    assert login.status_code == 200
    assert "门岗登录 · 丰台小区 东门" in login.text
    # The office sees the tablet as enrolled now.
    row = re.search(r"<td>北门平板</td>\s*<td>([^<]*)</td>", office.get("/office/devices").text)
    assert (
        row and row.group(1) != "尚未登记" and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.group(1))
    )


def test_a_code_works_once_and_a_second_use_keeps_the_form(app, world, browser):
    code = factories.enrolment_code(world.a.device)
    db.session.commit()
    assert enrol(browser, code).status_code == 303
    other = Browser(app)
    r = enrol(other, code)
    assert r.status_code == 200
    assert "登记码无效，请向社区办公室索取新码。" in r.text
    assert f'name="code" value="{code}"' in r.text
    assert other.client.get_cookie(DEVICE_COOKIE) is None


def test_an_expired_code_is_refused(app, world, browser):
    code = factories.enrolment_code(world.a.device)
    world.a.device.enrol_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    r = enrol(browser, code, lang="en")
    assert r.status_code == 200
    assert "This code has expired. Ask the office for a new one." in r.text
    assert browser.client.get_cookie(DEVICE_COOKIE) is None
    assert browser.get("/gate").headers["Location"] == "/gate/enrol"
    # The world's tablet still has its old token.
    assert Browser(app, world.a.device_token).get("/gate/login").status_code == 200


def test_using_a_new_code_unbinds_the_old_browser(app, world, office):
    first = Browser(app)
    code = factories.enrolment_code(world.a.device)
    db.session.commit()
    assert enrol(first, code).status_code == 303
    assert first.get("/gate/login").status_code == 200

    r = office.post(f"/office/devices/{world.a.device.id}/enrolment", follow_redirects=True)
    assert r.status_code == 200
    code = shown_code(r)
    # Until the new code is used, the old tablet keeps working: no gap at the gate.
    assert first.get("/gate/login").status_code == 200

    second = Browser(app)
    assert enrol(second, code.lower()).status_code == 303
    assert second.get("/gate/login").status_code == 200
    r = first.get("/gate/login")
    assert r.status_code == 302 and r.headers["Location"] == "/gate/enrol"
    first.sign_in(world.a.guard)
    assert first.scan(factories.code(world.a.pass_)).status_code == 401
    # The token the world's API device had is gone too.
    assert Browser(app, world.a.device_token).get("/gate").headers["Location"] == "/gate/enrol"


def test_an_unenrolled_browser_is_sent_to_enrolment_and_cannot_scan(sqlite_app, sworld):
    browser = Browser(sqlite_app).sign_in(sworld.a.guard)
    for path in ("/gate", "/gate/login", "/gate/lookup"):
        r = browser.get(path)
        assert r.status_code == 302 and r.headers["Location"] == "/gate/enrol", path
    r = browser.scan(factories.code(sworld.a.pass_))
    assert r.status_code == 401
    assert "此平板尚未登记。" in r.text
    assert browser.get("/gate/panel", htmx=True).status_code == 401
    r = Browser(sqlite_app, "not-a-device-token").get("/gate")
    assert r.status_code == 302 and r.headers["Location"] == "/gate/enrol"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "请输入社区办公室显示的 8 位登记码。"),
        ("", "请输入社区办公室显示的 8 位登记码。"),
        ("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "请输入社区办公室显示的 8 位登记码。"),
        ("ZZZZ-ZZZZ", "登记码无效，请向社区办公室索取新码。"),
        ("<b>ABCDEFG", "登记码无效，请向社区办公室索取新码。"),
    ],
)
def test_garbage_codes_get_a_clear_message(sqlite_app, sworld, typed, message):
    browser = Browser(sqlite_app)
    r = enrol(browser, typed)
    assert r.status_code == 200
    assert message in r.text
    assert "<b>ABCDEFG" not in r.text  # what was typed comes back escaped
    assert browser.client.get_cookie(DEVICE_COOKIE) is None


def test_a_code_typed_in_lower_case_with_a_dash_is_accepted(sqlite_app, sworld):
    code = factories.enrolment_code(sworld.a.device)
    db.session.commit()
    r = enrol(Browser(sqlite_app), f"{code[:4].lower()}-{code[4:].lower()} ")
    assert r.status_code == 303


def test_a_revoked_devices_code_is_refused(sqlite_app, sworld):
    code = factories.enrolment_code(sworld.a.device)
    sworld.a.device.revoked_at = utcnow()
    db.session.commit()
    r = enrol(Browser(sqlite_app), code, lang="en")
    assert "This code is not valid. Ask the office for a new one." in r.text


# --- guard sign-in ----------------------------------------------------------------------------


def sign_in(browser: Browser, username: str, pin: str, **kw):
    return browser.post("/gate/login", {"username": username, "pin": pin}, **kw)


def test_guard_signs_in_with_the_right_pin_and_ends_the_shift(app, world):
    factories.set_pin(world.a.guard)
    db.session.commit()
    tablet = Browser(app, world.a.device_token)
    assert tablet.get("/gate").headers["Location"] == "/gate/login"
    r = sign_in(tablet, "guard_a", factories.PIN)
    assert r.status_code == 303 and r.headers["Location"] == "/gate"
    page = tablet.get("/gate")
    assert page.status_code == 200 and 'class="guard">guard_a<' in page.text

    r = tablet.post("/gate/logout")
    assert r.status_code == 303 and r.headers["Location"] == "/gate/login"
    r = tablet.get("/gate")
    assert r.status_code == 302 and r.headers["Location"] == "/gate/login"
    assert tablet.get("/gate/login").status_code == 200  # still enrolled


def test_wrong_pin_keeps_the_username_and_signs_nobody_in(sqlite_app, sworld):
    factories.set_pin(sworld.a.guard)
    db.session.commit()
    tablet = Browser(sqlite_app, sworld.a.device_token)
    r = sign_in(tablet, "guard_a", "0000")
    assert r.status_code == 200
    assert "用户名或 PIN 码错误，或不是本小区的门岗。" in r.text
    assert 'name="username" value="guard_a"' in r.text
    assert tablet.get("/gate").headers["Location"] == "/gate/login"


@pytest.mark.parametrize("who", ["guard_b", "resident_a", "worker_a"])
def test_only_guards_and_office_of_this_community_sign_in(sqlite_app, sworld, who):
    user = {
        "guard_b": sworld.b.guard,
        "resident_a": sworld.resident_user,
        "worker_a": sworld.worker,
    }[who]
    factories.set_pin(user)  # a PIN alone is not enough
    db.session.commit()
    tablet = Browser(sqlite_app, sworld.a.device_token)
    r = sign_in(tablet, who, factories.PIN, lang="en")
    assert r.status_code == 200
    assert "Wrong username or PIN, or not a guard of this compound." in r.text
    assert tablet.get("/gate").headers["Location"] == "/gate/login"


def test_the_community_office_may_run_a_tablet(sqlite_app, sworld):
    factories.set_pin(sworld.a.office)
    db.session.commit()
    tablet = Browser(sqlite_app, sworld.a.device_token)
    assert sign_in(tablet, "office_a", factories.PIN).headers["Location"] == "/gate"
    assert tablet.get("/gate").status_code == 200


def test_a_guard_signed_in_elsewhere_is_not_on_duty_at_this_gate(sqlite_app, sworld):
    tablet = Browser(sqlite_app, sworld.a.device_token).sign_in(sworld.b.guard)
    assert tablet.get("/gate").headers["Location"] == "/gate/login"
    r = tablet.scan(factories.code(sworld.a.pass_))
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/gate/login"


def test_guard_sign_in_counts_failures_not_tries(sqlite_app, sworld):
    """Failures are throttled per account and per address (test_hardening.py); empty tries are
    refused before any PIN hash is checked, and twenty of them leave the address room."""
    factories.set_pin(sworld.a.guard)
    db.session.commit()
    tablet = Browser(sqlite_app, sworld.a.device_token)
    for _ in range(20):
        assert sign_in(tablet, "", "1234").status_code == 200
    r = sign_in(tablet, "guard_a", factories.PIN)
    assert r.status_code == 303 and r.headers["Location"] == "/gate"


@pytest.mark.parametrize("change", ["disabled", "new epoch", "moved community", "made a worker"])
def test_a_tablet_session_that_no_longer_holds_scans_nothing(app, world, change):
    """The scan's one-statement guard check refuses what the user loader refuses: a disabled
    guard, a session from before a sign-out or new PIN (epoch), a guard moved to another
    community or given another role. Nothing is decided or logged."""
    tablet = Browser(app, world.a.device_token).sign_in(world.a.guard, "pin")
    assert tablet.scan(factories.code(world.a.pass_), request_id="before").status_code == 200
    guard = world.a.guard
    if change == "disabled":
        guard.active = False
    elif change == "new epoch":
        guard.session_epoch = guard.session_epoch + 1
    elif change == "moved community":
        guard.community_id = world.b.community.id
    else:
        guard.role = "worker"
    db.session.commit()
    r = tablet.scan(factories.code(world.a.pass_), "out", request_id="after")
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/gate/login"
    assert [e.request_id for e in events()] == ["before"]


def test_the_scan_answer_is_in_the_guards_saved_language(app, world):
    """The guard's language is read with the guard by the tablet's check."""
    world.a.guard.locale = "en"
    db.session.commit()
    tablet = Browser(app, world.a.device_token).sign_in(world.a.guard, "pin")
    r = tablet.scan(factories.code(world.a.pass_))
    assert r.status_code == 200 and "ALLOW" in r.text
    world.a.guard.locale = "zh_CN"
    db.session.commit()
    assert "放行" in tablet.scan(factories.code(world.a.pass_), "out").text


# --- removing a tablet ------------------------------------------------------------------------


def test_a_removed_tablet_stops_at_once(app, world, office):
    """Lost or stolen: the office removes the tablet (htmx: its row goes). Its guard's next
    scan is refused and nothing is logged, its API token is refused, its pending enrolment code
    too; the removal is audited."""
    tablet = Browser(app, world.a.device_token, lang="en").sign_in(world.a.guard, "pin")
    assert tablet.scan(factories.code(world.a.pass_), request_id="before").status_code == 200
    code = factories.enrolment_code(world.a.device)
    db.session.commit()
    page = office.get("/office/devices").text
    assert f"/office/devices/{world.a.device.id}/revoke" in page

    r = office.post(f"/office/devices/{world.a.device.id}/revoke", htmx=True)
    assert r.status_code == 200 and r.text == ""

    assert f"/office/devices/{world.a.device.id}/revoke" not in office.get("/office/devices").text
    r = tablet.scan(factories.code(world.a.pass_), "out", request_id="after")
    assert r.status_code == 401 and "This tablet is not enrolled." in r.text  # then enrolment
    assert tablet.get("/gate").headers["Location"] == "/gate/enrol"
    assert [e.request_id for e in events()] == ["before"]
    r = (
        ApiClient(app.test_client())
        .as_device(world.a.device_token)
        .scan(factories.code(world.a.pass_), "out")
    )
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "bad_device"
    r = enrol(Browser(app), code, lang="en")
    assert "This code is not valid. Ask the office for a new one." in r.text
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "device.revoke"))
    assert entry.target_id == world.a.device.id and entry.community_id == world.a.community.id


def test_removing_a_tablet_twice_is_told_and_another_community_cannot(app, world, office):
    office_b = Browser(app).sign_in(world.b.office)
    assert office_b.post(f"/office/devices/{world.a.device.id}/revoke").status_code == 404
    db.session.refresh(world.a.device)
    assert world.a.device.revoked_at is None

    r = office.post(f"/office/devices/{world.a.device.id}/revoke")
    assert r.status_code == 303 and r.headers["Location"] == "/office/devices"
    r = office.post(f"/office/devices/{world.a.device.id}/revoke", lang="en", follow_redirects=True)
    assert r.status_code == 200 and "This tablet has already been removed." in r.text
    r = office.post(f"/office/devices/{world.a.device.id}/enrolment", lang="en")
    assert "This device has been revoked." in r.text


def test_a_code_used_at_the_moment_the_tablet_is_removed_is_refused(app, world):
    """The office removes the tablet between the code's check and its use: the code is not
    spent on a removed tablet, the browser is told, and no enrolment is audited."""
    code = factories.enrolment_code(world.a.device)
    db.session.commit()
    device_id = world.a.device.id
    done = []

    def office_removes_it_first(_conn, _cursor, statement, *_args):
        if not done and statement.lstrip().upper().startswith("UPDATE DEVICE"):
            done.append(True)
            with db.engine.begin() as conn:
                conn.execute(
                    update(Device)
                    .where(Device.id == device_id)
                    .values(revoked_at=utcnow(), enrol_code_hash=None)
                )

    event.listen(db.engine, "before_cursor_execute", office_removes_it_first)
    try:
        r = enrol(Browser(app), code, lang="en")
    finally:
        event.remove(db.engine, "before_cursor_execute", office_removes_it_first)
    assert done and r.status_code == 200
    assert "This code is not valid. Ask the office for a new one." in r.text
    assert DEVICE_COOKIE not in r.headers.get("Set-Cookie", "")
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "device.enrol")) is None
