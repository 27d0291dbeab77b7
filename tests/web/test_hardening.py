"""The web side hardened (issue 6, section 4): PIN sessions for the gate only, sign-in throttling
shared by every worker and server, no open redirect, sessions that end on the server, and the
security headers of every response."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk import create_app
from kiosk.config import from_env
from kiosk.extensions import db
from kiosk.models import ApiToken, SignInThrottle, User
from kiosk.routes.helpers import safe_next
from kiosk.services import throttle
from tests import factories
from tests.conftest import TEST_CONFIG, FreshContextClient

from .conftest import _BYTECODE, Browser, csrf_of
from .test_web_roles_csrf import PAGES, matrix  # noqa: F401 - the shared read-only world

TEMPLATES = Path(__file__).resolve().parents[2] / "kiosk" / "templates"
THROTTLED_ZH = "登录失败次数过多，请 1 分钟后再试。"
THROTTLED_EN = "Too many failed sign-ins. Try again in 1 minute."
_ERROR = re.compile(r'class="error" role="alert">([^<]*)<')


def error_of(response) -> str | None:
    found = _ERROR.search(response.text)
    return found.group(1) if found else None


def password_sign_in(browser: Browser, username: str, password: str, query: str = "", **kw):
    return browser.post("/auth/login" + query, {"username": username, "password": password}, **kw)


def pin_sign_in(browser: Browser, username: str, pin: str, **kw):
    return browser.post("/gate/login", {"username": username, "pin": pin}, **kw)


def time_passes(seconds: int) -> None:
    """Every lock and failure of the database store moves ``seconds`` into the past."""
    db.session.expire_all()
    for row in db.session.scalars(select(SignInThrottle)):
        row.last_failure_at -= timedelta(seconds=seconds)
        if row.locked_until is not None:
            row.locked_until -= timedelta(seconds=seconds)
    db.session.commit()


def retry_after(response) -> int:
    return int(response.headers["Retry-After"])


class Clock:
    """The throttle's clock, from the start of a quarter hour; ``advance`` moves it on."""

    def __init__(self):
        self.now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle, "utcnow", lambda: fake.now)
    return fake


# --- 1. a PIN session is a session on the gate pages only -------------------------------------


def test_an_office_users_pin_opens_the_gate_pages_and_nothing_else(app, world):
    factories.set_pin(world.a.office)
    db.session.commit()
    tablet = Browser(app, world.a.device_token)
    assert pin_sign_in(tablet, "office_a", factories.PIN).headers["Location"] == "/gate"
    assert tablet.get("/gate").status_code == 200
    assert tablet.get("/gate/visitors").status_code == 200
    for path in ("/office", "/office/guards", "/office/devices", "/office/compounds"):
        r = tablet.get(path)
        assert r.status_code == 302, path
        assert r.headers["Location"].startswith("/auth/login?next="), path
    r = tablet.post("/office/guards", {"user_id": str(world.a.guard.id), "pin": "9999"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login?next=")
    db.session.expire_all()
    assert db.session.get(User, world.a.guard.id).pin_hash is None
    # Elsewhere the browser is simply not signed in; back at the gate, the shift goes on.
    assert "office_a" not in tablet.get("/").text
    assert tablet.get("/gate").status_code == 200
    # The same user signed in with the password is a full office session.
    office = Browser(app)
    assert password_sign_in(office, "office_a", factories.PASSWORD).status_code == 303
    assert office.get("/office/guards").status_code == 200


def test_a_pin_sessions_language_switch_is_the_tablets(sqlite_app, sworld):
    factories.set_pin(sworld.a.guard)
    sworld.a.guard.locale = "zh_CN"
    db.session.commit()
    tablet = Browser(sqlite_app, sworld.a.device_token)
    assert pin_sign_in(tablet, "guard_a", factories.PIN).status_code == 303
    r = tablet.post("/locale", {"locale": "en", "next": "/gate"})
    assert r.status_code == 303 and r.headers["Location"] == "/gate"
    assert "Last decisions" in tablet.get("/gate").text
    db.session.expire_all()
    assert db.session.get(User, sworld.a.guard.id).locale == "zh_CN"  # not the guard's own


# --- 2. throttling: per account strict, per address generous, shared --------------------------


def test_five_wrong_passwords_lock_the_account_known_or_not(app, world):
    browser = Browser(app)
    for name in ("office_a", "nobody_here"):
        for _ in range(5):
            r = password_sign_in(browser, name, "wrong-password")
            assert r.status_code == 200 and error_of(r) == "用户名或密码错误。"
        r = password_sign_in(browser, name, factories.PASSWORD)
        assert r.status_code == 429, name
        assert error_of(r) == THROTTLED_ZH
        assert 0 < retry_after(r) <= 60
        assert f'value="{name}"' in r.text
    # Another account from the same address is not locked.
    assert password_sign_in(browser, "guard_a", factories.PASSWORD).status_code == 303


def test_the_lock_doubles_with_each_failure_and_a_success_clears_it(app, world):
    browser = Browser(app, lang="en")
    for _ in range(5):
        password_sign_in(browser, "office_a", "wrong-password")
    r = password_sign_in(browser, "office_a", factories.PASSWORD)
    assert r.status_code == 429 and error_of(r) == THROTTLED_EN
    time_passes(61)
    assert password_sign_in(browser, "office_a", "wrong-again").status_code == 200
    r = password_sign_in(browser, "office_a", factories.PASSWORD)
    assert r.status_code == 429 and 60 < retry_after(r) <= 120
    assert error_of(r) == "Too many failed sign-ins. Try again in 2 minutes."
    time_passes(121)
    assert password_sign_in(browser, "office_a", "wrong-again").status_code == 200
    assert 120 < retry_after(password_sign_in(browser, "office_a", "x")) <= 240
    # Once the lock is over, the right password signs in and the count starts again.
    time_passes(241)
    assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303
    db.session.expire_all()
    assert len(db.session.scalars(select(SignInThrottle)).all()) == 1  # the address's only


def test_a_whole_office_behind_one_address_does_not_lock_itself_out(sqlite_app, sworld):
    """Twelve people sign in from one address within a minute, each mistyping once first."""
    people = [
        factories.user(f"staff{i}", "office", community_id=sworld.a.community.id) for i in range(12)
    ]
    db.session.commit()
    for person in people:
        browser = Browser(sqlite_app)
        assert password_sign_in(browser, person.username, "typo").status_code == 200
        r = password_sign_in(browser, person.username, factories.PASSWORD)
        assert r.status_code == 303, person.username


def test_an_office_mistyping_all_day_never_locks_its_address(sqlite_app, sworld, clock):
    """One failure every ten minutes from one address, all day, twice the address's 30, each by
    another name: no quarter hour holds more than two of them, so the address stays open."""
    browser = Browser(sqlite_app)
    for i in range(60):
        assert password_sign_in(browser, f"colleague{i}", "typo").status_code == 200, i
        clock.advance(600)
    assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303


def test_one_address_guessing_at_many_names_is_locked(sqlite_app, sworld, clock):
    sqlite_app.config["SIGN_IN_THROTTLE"] = {"address": {"free": 4}}
    browser = Browser(sqlite_app)
    for i in range(4):
        assert password_sign_in(browser, f"name{i}", "guess").status_code == 200
    clock.advance(60)
    r = password_sign_in(browser, "office_a", factories.PASSWORD)
    assert r.status_code == 429 and retry_after(r) == 900 - 60  # until the quarter hour ends
    assert error_of(r) == "登录失败次数过多，请 14 分钟后再试。"  # (one plural form in Chinese)
    # Another address is not concerned.
    other = sqlite_app.test_client()
    token = csrf_of(other.get("/", environ_base={"REMOTE_ADDR": "10.1.2.3"}))
    r = other.post(
        "/auth/login",
        data={"username": "office_a", "password": factories.PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert r.status_code == 303
    # The next quarter hour starts afresh.
    clock.advance(900 - 60)
    assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303


def test_the_throttle_rules(sqlite_app):
    with sqlite_app.app_context():
        account, address = throttle.rules()["account"], throttle.rules()["address"]
    now = datetime(2026, 12, 1, 1, 5, tzinfo=UTC)
    assert [account.lock_seconds(n, now) for n in range(1, 13)] == [
        *[0] * 4,
        *[60, 120, 240, 480, 960, 1920, 3600, 3600],
    ]
    assert [address.lock_seconds(n, now) for n in (29, 30, 31)] == [0, 600, 600]
    assert address.bucket(now) == address.bucket(now + timedelta(seconds=599))
    assert address.bucket(now) != address.bucket(now + timedelta(seconds=600))
    assert account.bucket(now) == ""


def test_wrong_pins_lock_the_account_on_every_tablet(app, world):
    factories.set_pin(world.a.guard)
    db.session.commit()
    tablet = Browser(app, world.a.device_token)
    for _ in range(5):
        r = pin_sign_in(tablet, "guard_a", "0000")
        assert r.status_code == 200
        assert error_of(r) == "用户名或 PIN 码错误，或不是本小区的门岗。"
    for browser in (tablet, Browser(app, world.a.device_token)):
        r = pin_sign_in(browser, "guard_a", factories.PIN)
        assert r.status_code == 429 and error_of(r) == THROTTLED_ZH
        assert 0 < retry_after(r) <= 60
    assert tablet.get("/gate").headers["Location"] == "/gate/login"
    # PINs and passwords are counted apart: the password still signs in.
    assert password_sign_in(Browser(app), "guard_a", factories.PASSWORD).status_code == 303


def test_another_communitys_tablets_cannot_lock_a_guard_out_of_their_own(app, world):
    factories.set_pin(world.a.guard)
    db.session.commit()
    elsewhere = Browser(app, world.b.device_token)
    for _ in range(6):
        pin_sign_in(elsewhere, "guard_a", "0000")
    assert pin_sign_in(elsewhere, "guard_a", "0000").status_code == 429
    r = pin_sign_in(Browser(app, world.a.device_token), "guard_a", factories.PIN)
    assert r.status_code == 303 and r.headers["Location"] == "/gate"


def test_api_tokens_share_the_password_count_and_answer_429_in_json(app, world, api):
    browser = Browser(app)
    for _ in range(3):
        password_sign_in(browser, "office_a", "wrong-password")
    for _ in range(2):
        r = api.post("/api/v1/tokens", json={"username": "office_a", "password": "nope"})
        assert r.status_code == 401
    for name in ("office_a", "no_such_user"):
        if name == "no_such_user":
            for _ in range(5):
                api.post("/api/v1/tokens", json={"username": name, "password": "nope"})
        r = api.post(
            "/api/v1/tokens",
            json={"username": name, "password": factories.PASSWORD},
            lang="en",
        )
        assert r.status_code == 429, name
        error = r.get_json()["error"]
        assert error["code"] == "throttled" and error["message"] == THROTTLED_EN
        assert 0 < retry_after(r) <= 60


def test_failures_counted_by_one_server_lock_the_account_on_another(app, world):
    """Two app instances on one database, as two servers (or workers) behind a balancer."""
    other = create_app({**app.config})
    other.test_client_class = FreshContextClient
    for _ in range(5):
        password_sign_in(Browser(app), "office_a", "wrong-password")
    with other.app_context():
        r = password_sign_in(Browser(other), "office_a", factories.PASSWORD)
        db.session.remove()
        db.engine.dispose()
    assert r.status_code == 429


@pytest.fixture
def redis_app(tmp_path):
    """SQLite for the data, Redis for the throttle (a prefix of this test's own)."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {url} is not available: {exc!r}")
    prefix = f"kiosk-test-{uuid.uuid4().hex}:"
    config = {
        **TEST_CONFIG,
        "DATABASE_URL": f"sqlite:///{tmp_path}/kiosk.sqlite3",
        "RATELIMIT_STORAGE_URI": url,
        "SIGN_IN_THROTTLE_PREFIX": prefix,
    }
    app = create_app(config)
    app.test_client_class = FreshContextClient
    app.jinja_env.bytecode_cache = _BYTECODE
    with app.app_context():
        db.create_all()
        yield app, config
        client = app.extensions["sign_in_throttle"].client
        keys = list(client.scan_iter(prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
        db.session.remove()
        db.engine.dispose()


def test_with_redis_the_counts_are_shared_there_and_not_in_the_database(redis_app):
    app, config = redis_app
    assert isinstance(app.extensions["sign_in_throttle"], throttle.RedisStore)
    factories.world()
    other = create_app(config)
    other.test_client_class = FreshContextClient
    for _ in range(5):
        password_sign_in(Browser(app), "office_a", "wrong-password")
    assert db.session.scalar(select(SignInThrottle)) is None
    with other.app_context():
        r = password_sign_in(Browser(other), "office_a", factories.PASSWORD)
        assert r.status_code == 429 and 0 < retry_after(r) <= 60
        r = password_sign_in(Browser(other), "nobody", "x")  # unknown names: the same
        assert r.status_code == 200
        other.extensions["sign_in_throttle"].client.close()
        db.session.remove()
        db.engine.dispose()
    # The lock ends (its key expires); the right password then clears the count.
    client = app.extensions["sign_in_throttle"].client
    client.delete(*client.scan_iter(config["SIGN_IN_THROTTLE_PREFIX"] + "*:lock"))
    browser = Browser(app)
    assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303
    for _ in range(4):
        password_sign_in(Browser(app), "office_a", "wrong-password")
    assert password_sign_in(Browser(app), "office_a", factories.PASSWORD).status_code == 303


def test_ipv6_clients_are_counted_by_their_64_network(sqlite_app):
    with sqlite_app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:aa::1"}):
        assert throttle.address_of_request() == "2001:db8:1:2::/64"
    with sqlite_app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:10.0.0.7"}):
        assert throttle.address_of_request() == "10.0.0.7"


# --- 3. no open redirect ----------------------------------------------------------------------

BAD_NEXT = [
    "/%09/evil.example/",
    "/%0A/evil.example/",
    "/%0D%0ALocation:%20http://evil.example/",
    "//evil.example/",
    "/%5Cevil.example/",
    "%5C%5Cevil.example/",
    "/%5C/evil.example/",
    "%2F%2Fevil.example",
    "https://evil.example/",
    "/ /evil.example",
]


@pytest.mark.parametrize("bad", BAD_NEXT)
def test_sign_in_never_sends_the_browser_to_another_site(sqlite_app, sworld, bad):
    browser = Browser(sqlite_app)
    r = password_sign_in(browser, "office_a", factories.PASSWORD, query=f"?next={bad}")
    assert r.status_code == 303 and r.headers["Location"] == "/"


@pytest.mark.parametrize("bad", BAD_NEXT)
def test_the_language_switch_never_sends_the_browser_to_another_site(sqlite_app, bad):
    from urllib.parse import unquote

    r = Browser(sqlite_app).post("/locale", {"locale": "en", "next": unquote(bad)})
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_a_path_on_this_site_is_kept(sqlite_app, sworld):
    r = password_sign_in(
        Browser(sqlite_app), "office_a", factories.PASSWORD, query="?next=/office/devices%3Fa%3D1"
    )
    assert r.headers["Location"] == "/office/devices?a=1"
    assert safe_next("/office", "/") == "/office"
    for bad in ("/\t/evil.example/", "/\\evil.example", "/\nx", None, 3, "", "evil", "/\x7f"):
        assert safe_next(bad, "/fallback") == "/fallback", repr(bad)


# --- 4. sessions end on the server ------------------------------------------------------------


def session_cookie(browser: Browser) -> str:
    return browser.client.get_cookie("session").value


def test_a_copied_cookie_stops_working_after_sign_out(app, world):
    browser = Browser(app)
    assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303
    copied = session_cookie(browser)
    assert browser.get("/office").status_code == 200
    r = browser.post("/auth/logout")
    assert r.status_code == 303
    replay = Browser(app)
    replay.client.set_cookie("session", copied)
    r = replay.get("/office")
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")


def test_sign_out_ends_every_session_of_the_user(app, world):
    first, second = Browser(app), Browser(app)
    for browser in (first, second):
        assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303
    other_user = Browser(app).sign_in(world.a.guard)
    assert first.post("/auth/logout").status_code == 303
    assert second.get("/office").status_code == 302
    assert other_user.get("/").status_code == 200 and "guard_a" in other_user.get("/").text


def test_a_guard_signing_out_of_a_tablet_cannot_be_replayed(app, world):
    factories.set_pin(world.a.guard)
    db.session.commit()
    tablet = Browser(app, world.a.device_token)
    assert pin_sign_in(tablet, "guard_a", factories.PIN).status_code == 303
    copied = session_cookie(tablet)
    assert tablet.post("/gate/logout").status_code == 303
    replay = Browser(app, world.a.device_token)
    replay.client.set_cookie("session", copied)
    assert replay.get("/gate").headers["Location"] == "/gate/login"


def test_a_new_pin_ends_the_guards_sessions_but_not_the_office_users_own(app, world):
    factories.set_pin(world.a.guard)
    factories.set_pin(world.a.office)
    db.session.commit()
    guard_tablet = Browser(app, world.a.device_token)
    office_tablet = Browser(app, world.a.device_token)
    assert pin_sign_in(guard_tablet, "guard_a", factories.PIN).status_code == 303
    assert pin_sign_in(office_tablet, "office_a", factories.PIN).status_code == 303
    office = Browser(app)
    assert password_sign_in(office, "office_a", factories.PASSWORD).status_code == 303
    for user in (world.a.guard, world.a.office):
        r = office.post("/office/guards", {"user_id": str(user.id), "pin": "13579"})
        assert r.status_code == 303
    assert guard_tablet.get("/gate").headers["Location"] == "/gate/login"
    assert office_tablet.get("/gate").headers["Location"] == "/gate/login"
    # The office user who set their own PIN carries on in this browser.
    assert office.get("/office/guards").status_code == 200


def test_a_new_password_ends_every_session_and_api_token(app, world, runner, api):
    browser = Browser(app)
    assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303
    api.login("office_a")
    assert api.get("/api/v1/events").status_code == 200
    result = runner.invoke(args=["set-password", "office_a", "--password", "a-new-password"])
    assert result.exit_code == 0, result.output
    assert browser.get("/office").status_code == 302
    assert api.get("/api/v1/events").status_code == 401
    assert db.session.scalar(select(ApiToken)) is None
    assert password_sign_in(Browser(app), "office_a", factories.PASSWORD).status_code == 200
    assert password_sign_in(Browser(app), "office_a", "a-new-password").status_code == 303


def test_disabling_a_user_ends_every_session_and_api_token(app, world, runner, api):
    browser = Browser(app)
    assert password_sign_in(browser, "office_a", factories.PASSWORD).status_code == 303
    api.login("office_a")
    result = runner.invoke(args=["disable-user", "office_a"])
    assert result.exit_code == 0, result.output
    assert browser.get("/office").status_code == 302
    assert api.get("/api/v1/events").status_code == 401
    assert password_sign_in(Browser(app), "office_a", factories.PASSWORD).status_code == 200
    # Enabled again: a new sign-in works, the old session and token do not come back.
    assert runner.invoke(args=["disable-user", "office_a", "--enable"]).exit_code == 0
    assert browser.get("/office").status_code == 302
    assert api.get("/api/v1/events").status_code == 401
    assert password_sign_in(Browser(app), "office_a", factories.PASSWORD).status_code == 303


def test_a_session_without_the_current_epoch_is_signed_out(sqlite_app, sworld):
    browser = Browser(sqlite_app)
    with browser.client.session_transaction() as session:
        session["_user_id"] = str(sworld.a.office.id)  # as before epochs existed
    assert browser.get("/office").status_code == 302


def set_cookie_of(response, name: str = "session") -> str:
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(sqlite_app):
    plain = set_cookie_of(sqlite_app.test_client().get("/"))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    r = sqlite_app.test_client().get("/", base_url="https://kiosk.example")
    cookie = set_cookie_of(r)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in sqlite_app.test_client().get("/").headers


def test_https_sites_and_production_always_mark_the_cookie_secure(monkeypatch, tmp_path):
    database = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    https = create_app({**TEST_CONFIG, **database, "PREFERRED_URL_SCHEME": "https"})
    assert https.config["SESSION_COOKIE_SECURE"] is True
    assert "Secure" in set_cookie_of(https.test_client().get("/"))
    assert create_app({**TEST_CONFIG, **database}).config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("KIOSK_ENV", "production")
    production = create_app({**TEST_CONFIG, **database, "TESTING": False})
    assert production.config["SESSION_COOKIE_SECURE"] is True
    # A lab without HTTPS may say so explicitly (environment: SESSION_COOKIE_SECURE=0).
    config = {}
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    from_env(config)
    assert config["SESSION_COOKIE_SECURE"] is False


def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(sqlite_app):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = sqlite_app.test_client().get("/", headers=headers)
    assert "Strict-Transport-Security" not in direct.headers  # nobody trusted: ignored
    assert "Secure" not in set_cookie_of(direct)
    proxied = create_app({**sqlite_app.config, "PROXY_COUNT": 1})
    seen = {}

    @proxied.get("/_test_address")
    def address():
        seen["address"] = throttle.address_of_request()
        return ""

    r = proxied.test_client().get("/", headers=headers)
    assert "Strict-Transport-Security" in r.headers and "Secure" in set_cookie_of(r)
    proxied.test_client().get("/_test_address", headers=headers)
    assert seen["address"] == "203.0.113.9"  # the throttle counts the client, not the proxy


# --- 5. the security headers of every response ------------------------------------------------


def csp_of(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def check_headers(response, path: str) -> None:
    csp = csp_of(response)
    assert csp["default-src"] == "'self'"
    for directive in ("script-src", "style-src"):
        sources = csp[directive].split()
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    wasm = path == "/gate"
    assert csp["script-src"] == ("'self' 'wasm-unsafe-eval'" if wasm else "'self'"), path
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    camera = "camera=(self)" if path.startswith("/gate") else "camera=()"
    assert camera in response.headers["Permissions-Policy"].split(", "), path
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("who", "path"),
    [(who, path) for who, method, path, _zh, _en in PAGES if method == "GET"]
    + [("tablet", "/gate/panel"), ("anonymous", "/no-such-page"), ("anonymous", "/healthz")],
)
def test_every_page_sends_the_security_headers(matrix, who, path):  # noqa: F811
    app, world, ids = matrix
    browser = Browser(app, world.a.device_token if who in ("device", "tablet") else None)
    if who == "tablet":
        browser.sign_in(world.a.guard, "pin")
    elif who == "office":
        browser.sign_in(world.a.office)
    url = path.format(**ids)
    r = browser.get(url)
    assert r.status_code in (200, 404), (url, r.status_code)
    check_headers(r, url)
    assert r.headers["Cache-Control"] == "no-store", url


def test_answers_to_posts_and_the_api_send_them_too(matrix):  # noqa: F811
    app, world, ids = matrix
    r = Browser(app).post("/auth/logout", csrf=False)  # refused: nothing is written
    assert r.status_code == 400
    check_headers(r, "/auth/logout")
    assert r.headers["Cache-Control"] == "no-store"
    r = app.test_client().get("/api/v1/openapi.json")
    check_headers(r, "/api/v1/openapi.json")
    assert r.headers["Cache-Control"] == "no-store"


def test_static_files_are_cacheable_and_carry_the_headers(sqlite_app):
    r = sqlite_app.test_client().get("/static/css/app.css")
    assert r.status_code == 200
    check_headers(r, "/static/css/app.css")
    assert "no-store" not in r.headers.get("Cache-Control", "")
    r.close()


_INLINE = [
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on* handler"),
    (re.compile(r"\shx-on\b", re.I), "an hx-on handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_has_inline_script_or_style():
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", template.read_text(), flags=re.S)
        for pattern, what in _INLINE:
            if pattern.search(text):
                found.append(f"{template.relative_to(TEMPLATES)}: {what}")
    assert not found, found


def test_htmx_is_told_not_to_inject_its_style(sqlite_app):
    page = sqlite_app.test_client().get("/").text
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)
    assert meta and '"includeIndicatorStyles": false' in meta.group(1)


def test_guesses_in_flight_when_a_lock_starts_learn_nothing(app, world):
    """Parallel guesses all pass the lock check before any of them fails: those still being
    checked when another locks the account are answered as locked, right guess or wrong."""
    with app.test_request_context("/gate/login", method="POST"):
        free = throttle.rules()["account"].free  # the failure that locks is the free-th
        in_flight = [throttle.attempt(throttle.PIN, "guard_a") for _ in range(free + 2)]
        wrong, right, other_wrong = in_flight[0], in_flight[1], in_flight[2]
        for attempt in in_flight[3:]:
            attempt.failed()  # wrong guesses that end first: the account is not locked yet
        wrong.failed()  # this one locks it, and is told it was wrong (the lock is its own)
        with pytest.raises(throttle.Throttled):
            right.succeeded()  # the right PIN, but the account is locked now
        with pytest.raises(throttle.Throttled):
            other_wrong.failed()  # the same answer for a wrong one
        with pytest.raises(throttle.Throttled):
            throttle.attempt(throttle.PIN, "guard_a")
