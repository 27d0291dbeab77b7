"""Who may open what: CSRF on every state-changing page route, roles on the office pages, the
tablet cookie and guard on the gate pages; and every page in Chinese and in English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kiosk import create_app
from kiosk.extensions import db
from kiosk.models import (
    Alert,
    DisinfectionRecord,
    DoorAlarm,
    DoorSensor,
    Notice,
    PublicArea,
    ScreeningList,
    ScreeningRow,
    SealSchedule,
    ServiceRequest,
    User,
    Visit,
    VisitInvite,
    utcnow,
)
from kiosk.services import security
from tests import factories
from tests.conftest import TEST_CONFIG, FreshContextClient

from .conftest import _BYTECODE, Browser, events

CSRF_ZH = "表单已过期，请刷新页面后重试。"

# Every POST route of the web pages (not the JSON API), with ids filled in from the world.
POSTS = [
    "/locale",
    "/auth/login",
    "/auth/logout",
    "/gate/enrol",
    "/gate/login",
    "/gate/logout",
    "/gate/scan",
    "/gate/events/{event}/override",
    "/gate/events/{event}/remeasure",
    "/gate/lookup",
    "/gate/manual",
    "/gate/visitors",
    "/gate/visitors/{visit}/checkout",
    "/office/alerts/{alert}/ack",
    "/office/compounds",
    "/office/compounds/quota",
    "/office/devices",
    "/office/devices/{device}/enrolment",
    "/office/devices/{device}/revoke",
    "/office/guards",
    "/office/observation",
    "/office/observation/end",
    "/office/seals/buildings/{building}",
    "/office/seals/gates/{gate}",
    "/office/seals/compounds/{compound}",
    "/office/seals/schedules/{schedule}/cancel",
    "/office/seals/gates/{gate}/hours",
    "/office/buildings/{building}/passes",
    "/office/staff",
    "/office/staff/{staff}/password",
    "/office/staff/{staff}/active",
    "/office/risk-areas",
    "/office/risk-areas/{area}/delete",
    "/office/import",
    "/office/import/confirm",
    "/office/places/buildings",
    "/office/buildings/{building}/households",
    "/office/households/{household}/residents",
    "/office/residents/{resident}",
    "/office/people",
    "/office/residents/{resident}/passes",
    "/office/passes/{pass}/revoke",
    "/office/residents/{resident}/tests",
    "/office/residents/{resident}/move-away",
    "/office/exemptions/people",
    "/office/exemptions",
    "/office/exemptions/reconcile",
    "/office/tests",
    "/visit/{slug}",
    # Deliveries and services (residents, workers, the office's switch).
    "/me/requests",
    "/me/requests/{request}/confirm",
    "/me/requests/{request}/cancel",
    "/me/announcements",
    "/worker/requests/{request}/take",
    "/worker/requests/{request}/on-the-way",
    "/worker/requests/{request}/delivered",
    "/office/households/{household}/services",
    # Joining and my pass (kiosk/routes/join.py, me/pass_.py, office/invites.py).
    "/join",
    "/join/account",
    "/me/care",
    "/office/households/{household}/invites",
    "/office/buildings/{building}/invites",
    # Visitor invitations (kiosk/routes/me/invitations.py, the share link invite_link.py).
    "/me/invitations",
    "/me/invitations/{invitation}/cancel",
    "/v/{token}",
    # The household's paper passes (me/household.py) and the office's notices.
    "/me/household/members/{resident}/paper-passes",
    "/me/passes/{pass}/revoke",
    "/office/notices",
    "/office/notices/{notice}/withdraw",
    # Disinfection rounds (kiosk/routes/office/disinfection.py, worker.py).
    "/office/disinfection",
    "/office/disinfection/areas/{public_area}/retire",
    "/office/disinfection/areas/{public_area}/worker",
    "/office/disinfection/stickers",
    "/worker/areas/done",
    "/worker/screening/{screening_row}",
    # Screening lists (kiosk/routes/office/screening.py).
    "/office/screening",
    "/office/screening/rows/{screening_row}",
    "/office/screening/rows/{screening_row}/observe",
    # Door sensors and alarms (kiosk/routes/office/sensors.py).
    "/office/sensors",
    "/office/sensors/{sensor}/enrolment",
    "/office/sensors/{sensor}/revoke",
    "/office/alarms/{door_alarm}/ack",
    # Tracing (kiosk/routes/office/trace.py).
    "/office/trace",
    "/office/trace/visitors",
    "/office/trace/export",
    "/office/trace/disinfect",
    # Retention (kiosk/routes/office/retention.py): a street user sets the street's period.
    "/office/retention",
]

OFFICE_GETS = [
    "/office",
    "/office/devices",
    "/office/guards",
    "/office/staff",
    "/office/audit",
    "/office/seals",
    "/office/observation",
    "/office/risk-areas",
    "/office/compounds",
    "/office/compounds/{compound}/poster",
    "/office/import",
    "/office/import/template",
    "/office/people/export",
    "/office/households/{household}/passes/print",
    "/office/households/{household}/passes.pdf",
    "/office/buildings/{building}/passes/print",
    "/office/buildings/{building}/passes.pdf",
    "/office/places",
    "/office/buildings/{building}",
    "/office/households/{household}",
    "/office/people",
    "/office/exemptions",
    "/office/exemptions/print",
    "/office/exemptions.pdf",
    "/office/tests",
    "/office/requests",
    "/office/notices",
    "/office/disinfection",
    "/office/disinfection/areas/{public_area}/week",
    "/office/disinfection/records/{disinfection_record}/photo",
    "/office/screening",
    "/office/screening/{screening_list}",
    "/office/screening/{screening_list}/reconcile",
    "/office/sensors",
    "/office/alarms",
    "/office/trace",
    "/office/trace?resident_id={resident}",
    "/office/trace?visit_id={visit}",
    "/office/retention",
]
OFFICE_POSTS = [p for p in POSTS if p.startswith("/office")]

# The resident pages (/me): a joined resident only.
RESIDENT_GETS = [
    "/me/invitations",
    "/me",
    "/me/requests",
    "/me/household",
    "/me/household/passes/print",
    "/me/household/passes.pdf",
    "/me/data",
    "/me/data.json",
]
RESIDENT_POSTS = [p for p in POSTS if p.startswith("/me/")]

# The workers' phone pages.
WORKER_GETS = ["/worker", "/worker/areas", "/worker/areas/{sticker}", "/worker/screening"]
WORKER_POSTS = [p for p in POSTS if p.startswith("/worker/")]

GATE_GETS = [
    "/gate",
    "/gate/panel",
    "/gate/events/{event}",
    "/gate/lookup",
    "/gate/visitors/new",
    "/gate/visitors",
]
GATE_POSTS = [
    p
    for p in POSTS
    if p.startswith("/gate/") and p not in ("/gate/enrol", "/gate/login", "/gate/logout")
]


def populate(world) -> dict:
    """One of everything at site a, so that every page has rows to render."""
    a = world.a
    now = utcnow()
    area = factories.risk_area(a.community, "新发地批发市场")
    referred = factories.event(
        a.gate,
        now,
        "in",
        "refer",
        reasons="already_inside",
        resident_id=a.resident.id,
        pass_id=a.pass_.id,
    )
    factories.event(
        a.gate,
        now,
        "in",
        "allow",
        reasons="already_inside",
        parent_id=referred.id,
        override=True,
        user_id=a.guard.id,
        override_reason="checked_id",
        resident_id=a.resident.id,
    )
    fever = factories.event(
        a.gate,
        now,
        "in",
        "deny",
        reasons="fever",
        temperature=38.2,
        resident_id=a.resident.id,
        pass_id=a.pass_.id,
    )
    alert = Alert(
        community_id=a.community.id,
        gate_id=a.gate.id,
        event_id=fever.id,
        kind="fever",
        temperature=38.2,
    )
    visit = Visit(
        compound_id=a.compound.id,
        host_household_id=a.household.id,
        name="王小明",
        phone_hash="x" * 64,
        phone_last4="8000",
        purpose="repair",
        health_code="green",
        via="gate",
        status="inside",
        decision="allow",
        temperature=36.4,
        gate_id=a.gate.id,
        checked_in_at=now - timedelta(minutes=5),
    )
    schedule = SealSchedule(
        target_kind="building",
        target_id=a.building.id,
        compound_id=a.compound.id,
        community_id=a.community.id,
        state="sealed",
        starts_at=now + timedelta(days=1),
        reason="封闭",
    )
    service_request = ServiceRequest(
        household_id=a.household.id, community_id=a.community.id, kind="water"
    )
    db.session.add_all([alert, visit, schedule, service_request])
    a.device.enrolled_at = now
    db.session.commit()
    invitation, token = _invitation(world)
    notice = Notice(community_id=a.community.id, title="核酸检测", body="周六")
    db.session.add(notice)
    db.session.commit()
    public_area, sticker, done = _disinfection(world)
    screening_list, screening_row = _screening(world)
    sensor, door_alarm = _door_alarm(world)
    return {
        "sensor": sensor,
        "door_alarm": door_alarm,
        "screening_list": screening_list,
        "screening_row": screening_row,
        "public_area": public_area,
        "sticker": sticker,
        "disinfection_record": done,
        "event": referred.id,
        "visit": visit.id,
        "alert": alert.id,
        "device": a.device.id,
        "area": area.id,
        "staff": a.guard.id,
        "building": a.building.id,
        "schedule": schedule.id,
        "household": a.household.id,
        "resident": a.resident.id,
        "pass": a.pass_.id,
        "gate": a.gate.id,
        "compound": a.compound.id,
        "slug": a.compound.public_slug,
        "request": service_request.id,
        "invitation": invitation.id,
        "token": token,
        "notice": notice.id,
    }


def _disinfection(world) -> tuple[int, str, int]:
    """A public area of compound a, its sticker's token and a record with a photo."""
    token = security.new_token(24)
    area = PublicArea(
        compound_id=world.a.compound.id,
        name="1号楼 电梯",
        kind="lift",
        times_per_day=2,
        sticker_hash=security.token_hash(token),
    )
    db.session.add(area)
    db.session.flush()
    record = DisinfectionRecord(
        area_id=area.id, worker_id=world.worker.id, photo=b"\xff\xd8\xff", photo_type="image/jpeg"
    )
    db.session.add(record)
    db.session.commit()
    return area.id, token, record.id


def _door_alarm(world) -> tuple[int, int]:
    """A door sensor on household a's door and an open alarm of it."""
    a = world.a
    sensor = DoorSensor(
        household_id=a.household.id,
        community_id=a.community.id,
        name="门磁 301",
        token_hash=security.token_hash(security.new_token()),
        enrolled_at=utcnow(),
    )
    db.session.add(sensor)
    db.session.flush()
    alarm = DoorAlarm(
        community_id=a.community.id,
        household_id=a.household.id,
        sensor_id=sensor.id,
        kind="tamper",
    )
    db.session.add(alarm)
    db.session.commit()
    return sensor.id, alarm.id


def _invitation(world) -> tuple[VisitInvite, str]:
    """A visitor invitation of household a and its share link's token."""
    a = world.a
    visit = Visit(
        compound_id=a.compound.id,
        host_household_id=a.household.id,
        name="李四光",
        phone_hash="y" * 64,
        phone_last4="1234",
        purpose="visit",
        health_code="",
        via="inv",
        status="registered",
        valid_on=utcnow().date(),
    )
    db.session.add(visit)
    db.session.flush()
    token = security.new_token()
    invitation = VisitInvite(
        visit_id=visit.id,
        household_id=a.household.id,
        invited_by_id=a.office.id,
        link_hash=security.keyed_hash(token),
    )
    db.session.add(invitation)
    db.session.commit()
    return invitation, token


def _screening(world) -> tuple[int, int]:
    """A screening list of community a with one row matched to site a's resident, cleared
    (so that the gate does not refer the resident in the other tests)."""
    lst = ScreeningList(community_id=world.a.community.id, name="核查名单")
    db.session.add(lst)
    db.session.flush()
    row = ScreeningRow(
        list_id=lst.id,
        row_number=2,
        name="张三丰",
        match="matched",
        resident_id=world.a.resident.id,
        call_status="cleared",
        closed=True,
    )
    db.session.add(row)
    db.session.commit()
    return lst.id, row.id


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """One app, world and database for the matrix tests below, which only read: each of them
    checks that its requests changed nothing, so sharing cannot hide a leak."""
    url = "sqlite:///" + str(tmp_path_factory.mktemp("web-matrix") / "kiosk.sqlite3")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    app.test_client_class = FreshContextClient
    app.jinja_env.bytecode_cache = _BYTECODE
    with app.app_context():
        db.create_all()
        world = factories.world()
        yield app, world, populate(world)
        db.session.remove()
        db.engine.dispose()


# --- CSRF -------------------------------------------------------------------------------------


def test_the_matrix_names_every_state_changing_page_route(matrix):
    posts = {
        re.sub(r"<(?:int:)?(\w+)>", "{}", rule.rule)
        for rule in matrix[0].url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith("/api/")
    }
    assert posts == {re.sub(r"\{\w+\}", "{}", p) for p in POSTS}


@pytest.mark.parametrize("path", POSTS)
def test_every_post_needs_the_csrf_token(matrix, path):
    sqlite_app, sworld, ids = matrix
    # The office user may use this tablet and every office page: only the token is missing.
    browser = Browser(sqlite_app, sworld.a.device_token).sign_in(sworld.a.office)
    url = path.format(**ids)
    for htmx in (False, True):
        r = browser.post(url, {"locale": "en", "code": "X"}, htmx=htmx, csrf=False)
        assert r.status_code == 400, (url, r.status_code)
        assert CSRF_ZH in r.text
    r = browser.post(
        url, {"locale": "en"}, htmx=True, csrf=False, headers={"X-CSRFToken": "forged"}
    )
    assert r.status_code == 400 and CSRF_ZH in r.text
    # Nothing was done: still signed in, the tablet still enrolled, the alert still open.
    assert browser.get("/gate").status_code == 200
    assert db.session.get(Alert, ids["alert"]).acknowledged_at is None


def test_a_token_from_another_session_is_refused(matrix):
    app, world, ids = matrix
    stranger = Browser(app)
    office = Browser(app).sign_in(world.a.office)
    r = office.post(
        "/office/compounds",
        {
            "csrf_token": stranger.csrf(),
            "compound_id": str(ids["compound"]),
            "visitor_policy": "none",
        },
        csrf=False,
    )
    assert r.status_code == 400 and CSRF_ZH in r.text
    db.session.expire_all()
    assert world.a.compound.visitor_policy == "open"


# --- roles on the office pages ----------------------------------------------------------------


@pytest.mark.parametrize("path", OFFICE_GETS + [("POST", p) for p in OFFICE_POSTS])
def test_office_pages_need_an_office_user(matrix, path):
    sqlite_app, sworld, ids = matrix
    method, path = path if isinstance(path, tuple) else ("GET", path)
    url = path.format(**ids)

    def call(browser):
        return (
            browser.get(url) if method == "GET" else browser.post(url, {"visitor_policy": "none"})
        )

    r = call(Browser(sqlite_app))
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/auth/login?next=")
    for user in (sworld.a.guard, sworld.worker, sworld.resident_user):
        r = call(Browser(sqlite_app).sign_in(user))
        assert r.status_code == 403, (user.username, r.status_code)
        assert "您无权执行此操作。" in r.text
    db.session.expire_all()
    assert db.session.get(Alert, ids["alert"]).acknowledged_at is None
    assert sworld.a.compound.visitor_policy == "open"


# --- roles on the resident and worker pages --------------------------------------------------


def _joined_resident(world) -> User:
    """A joined resident of household a (made once for the shared matrix world)."""
    found = db.session.scalar(db.select(User).where(User.username == "matrix_resident"))
    if found is None:
        found = factories.user(
            "matrix_resident",
            "resident",
            household_id=world.a.household.id,
            resident_id=world.a.resident.id,
        )
        db.session.commit()
    return found


@pytest.mark.parametrize(
    ("pages", "path"),
    [("resident", p) for p in RESIDENT_GETS]
    + [("resident", ("POST", p)) for p in RESIDENT_POSTS]
    + [("worker", p) for p in WORKER_GETS]
    + [("worker", ("POST", p)) for p in WORKER_POSTS],
)
def test_resident_and_worker_pages_need_their_role(matrix, pages, path):
    sqlite_app, sworld, ids = matrix
    method, path = path if isinstance(path, tuple) else ("GET", path)
    url = path.format(**ids)

    def call(browser):
        return browser.get(url) if method == "GET" else browser.post(url, {"kind": "water"})

    r = call(Browser(sqlite_app))
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/auth/login?next=")
    others = [sworld.a.guard, sworld.a.office, sworld.street_user]
    # resident_a of the world is not bound to a resident record: not a joined resident.
    others += [sworld.worker, sworld.resident_user] if pages == "resident" else []
    others += [_joined_resident(sworld)] if pages == "worker" else []
    for user in others:
        r = call(Browser(sqlite_app).sign_in(user))
        assert r.status_code == 403, (user.username, r.status_code)
        assert "您无权执行此操作。" in r.text
    db.session.expire_all()
    assert db.session.get(ServiceRequest, ids["request"]).status == "received"
    assert db.session.scalar(db.select(db.func.count(ServiceRequest.id))) == 1


# --- the tablet cookie and the guard on the gate pages ----------------------------------------


@pytest.mark.parametrize("path", GATE_GETS + [("POST", p) for p in GATE_POSTS])
def test_gate_pages_need_an_enrolled_tablet_and_a_guard_on_duty(matrix, path):
    sqlite_app, sworld, ids = matrix
    method, path = path if isinstance(path, tuple) else ("GET", path)
    url = path.format(**ids)

    def call(browser):
        if method == "GET":
            return browser.get(url)
        return browser.post(url, {"code": "X", "direction": "in", "decision": "deny"}, htmx=True)

    before = len(events())
    # No tablet cookie, even with a guard signed in: enrol first.
    r = call(Browser(sqlite_app).sign_in(sworld.a.guard))
    if method == "GET":
        assert r.status_code == 302 and r.headers["Location"] == "/gate/enrol"
    else:
        assert r.status_code == 401 and "此平板尚未登记。" in r.text
    # A tablet with nobody (or the wrong people) signed in: the guard signs in first.
    for user in (None, sworld.worker, sworld.b.guard):
        browser = Browser(sqlite_app, sworld.a.device_token)
        if user is not None:
            browser.sign_in(user)
        r = call(browser)
        if method == "GET":
            assert r.status_code == 302 and r.headers["Location"] == "/gate/login"
        else:
            assert r.status_code == 401 and r.headers["HX-Redirect"] == "/gate/login"
            assert "请值班门岗先登录。" in r.text
    assert len(events()) == before
    assert db.session.get(Visit, ids["visit"]).status == "inside"


def test_a_htmx_request_without_a_tablet_gets_401_not_a_redirect(matrix):
    app, world, _ids = matrix
    r = Browser(app).get("/gate/panel", htmx=True)
    assert r.status_code == 401 and "Location" not in r.headers
    r = Browser(app, world.a.device_token).get("/gate/panel", htmx=True)
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/gate/login"


# --- language ---------------------------------------------------------------------------------


def test_the_language_switch_is_kept_for_the_browser_and_the_user(sqlite_app, sworld):
    browser = Browser(sqlite_app).sign_in(sworld.a.office)
    assert "<h1>门岗平板</h1>" in browser.get("/office/devices").text
    r = browser.post("/locale", {"locale": "en", "next": "/office/devices"})
    assert r.status_code == 303 and r.headers["Location"] == "/office/devices"
    assert "<h1>Gate tablets</h1>" in browser.get("/office/devices").text
    db.session.expire_all()
    assert db.session.get(User, sworld.a.office.id).locale == "en"
    for bad in ({"locale": "fr"}, {"locale": "en", "next": "//evil.example/"}):
        r = browser.post("/locale", bad)
        assert r.status_code == (400 if bad["locale"] == "fr" else 303)
        if r.status_code == 303:
            assert r.headers["Location"] == "/"


def headings(text: str) -> list[str]:
    found = re.findall(r"<(h1|h2|title)[^>]*>(.*?)</\1>", text, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", body).split()) for _, body in found]


# (who, method, path, Chinese heading, English heading); headings are matched at their start.
PAGES = [
    ("anonymous", "GET", "/", "封闭管理小区门岗核验", "Gate check for closed compounds"),
    ("anonymous", "GET", "/auth/login", "登录", "Sign in"),
    ("anonymous", "GET", "/gate/enrol", "登记此平板", "Enrol this tablet"),
    ("device", "GET", "/gate/login", "门岗登录 · 丰台小区 东门", "Guard sign-in · 丰台小区 东门"),
    ("tablet", "GET", "/gate", "最近核验", "Last decisions"),
    ("tablet", "GET", "/gate/lookup", "无码：查找居民", "No code: find the resident"),
    ("tablet", "GET", "/gate/visitors/new", "访客登记", "Register a visitor"),
    ("tablet", "GET", "/gate/visitors", "在内访客", "Visitors inside"),
    ("office", "GET", "/office", "发热警报", "Fever alerts"),
    ("office", "GET", "/office/devices", "门岗平板", "Gate tablets"),
    ("office", "GET", "/office/guards", "门岗人员", "Guards"),
    ("office", "GET", "/office/staff", "工作人员账号", "Staff accounts"),
    ("office", "GET", "/office/audit", "操作记录", "Audit trail"),
    ("office", "GET", "/office/seals", "封控管理", "Seals"),
    ("office", "GET", "/office/observation", "居家观察", "Home observation"),
    ("office", "GET", "/office/risk-areas", "风险地区", "Risk areas"),
    ("office", "GET", "/office/compounds", "小区与访客", "Compounds and visitors"),
    (
        "office",
        "GET",
        "/office/compounds/{compound}/poster",
        "丰台小区 · 访客登记",
        "丰台小区 · Visitor registration",
    ),
    ("anonymous", "GET", "/visit/{slug}", "访客登记 · 丰台小区", "Visitor registration · 丰台小区"),
    ("anonymous", "POST", "/visit/{slug}", "您的访客码", "Your visitor code"),
    ("office", "GET", "/office/compounds/999999/poster", "未找到。", "Not found."),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "zh", "en"), PAGES, ids=[f"{m} {p}" for _, m, p, _, _ in PAGES]
)
def test_every_page_renders_in_chinese_and_in_english(matrix, who, method, path, zh, en):
    sqlite_app, sworld, ids = matrix
    url = path.format(**ids)
    for lang, heading, other in (("zh-CN,zh;q=0.9", zh, en), ("en-US,en;q=0.8", en, zh)):
        browser = Browser(
            sqlite_app, sworld.a.device_token if who in ("device", "tablet") else None, lang=lang
        )
        if who == "tablet":
            browser.sign_in(sworld.a.guard)
        elif who == "office":
            browser.sign_in(sworld.a.office)
        if method == "GET":
            r = browser.get(url)
        else:
            r = browser.post(
                url,
                {
                    "name": "王小明",
                    "phone": "13800138000",
                    "purpose": "visit",
                    "host_household_id": str(sworld.a.household.id),
                    "health_code": "green",
                },
            )
        expected_status = 404 if "999999" in url else 200
        assert r.status_code == expected_status, (lang, r.status_code)
        assert f'<html lang="{"zh-CN" if lang.startswith("zh") else "en"}">' in r.text
        shown = headings(r.text) + re.findall(r'role="alert">([^<]+)<', r.text)
        assert any(h.startswith(heading) for h in shown), (lang, shown)
        assert not any(h.startswith(other) for h in shown), (lang, shown)
        assert "张三丰" not in r.text  # no page shows a resident's full name
