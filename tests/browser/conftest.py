"""Browser tests: the real app served on loopback, driven by Debian's Chromium through Playwright.

Chromium is never downloaded: it is Debian's ``/usr/bin/chromium`` (``make test`` installs it).
With ``KIOSK_REQUIRE_BROWSER=1`` (``.ci/run``) a missing browser fails the run instead of skipping.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from kiosk import create_app
from kiosk.extensions import db

from .. import factories
from ..conftest import TEST_CONFIG, _empty_tables

CHROMIUM = os.environ.get("KIOSK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test in this folder drives Chromium: ``-m browser`` selects them, ``-m "not
    browser"`` leaves them out (a ``pytestmark`` in a conftest marks nothing)."""
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _require_browser():
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        message = (
            f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium)"
        )
        if os.environ.get("KIOSK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


class LiveServer:
    """The app on a loopback port in a thread; it can be stopped and started again (same port)."""

    def __init__(self, app):
        self.app = app
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread = None

    def start(self):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    url = "sqlite:///" + str(tmp_path_factory.mktemp("browser") / "kiosk-browser.sqlite3")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "GATE_RESULT_SECONDS": 4})
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture(scope="session")
def server(live_app):
    srv = LiveServer(live_app)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def live(live_app, server):
    """A fresh database for each test; yields the server after the tables are emptied."""
    from kiosk.extensions import limiter

    with live_app.app_context():
        _empty_tables()
        db.session.remove()
        limiter.reset()  # every browser comes from 127.0.0.1: counts must not carry over tests
    if server._server is None:
        server.start()
    yield server
    if server._server is None:
        server.start()


@pytest.fixture
def in_app(live_app):
    """Run code against the live server's database: ``with in_app(): ...``."""

    @contextmanager
    def ctx():
        with live_app.app_context():
            yield
            db.session.remove()

    return ctx


@pytest.fixture(scope="session")
def playwright_instance():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


# Every page reports what the Content-Security-Policy blocked; the init script runs before the
# page's own scripts (and is not itself subject to the policy).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""
_PAGES: list = []


def _csp_console(violations: list[str]):
    def listen(message):
        if message.type == "error" and (
            "CSP violation" in message.text or "Content Security Policy" in message.text
        ):
            violations.append(message.text)

    return listen


def new_page(browser, locale="zh-CN", **kw):
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800}, **kw)
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    page.csp_violations = []
    context.on("console", _csp_console(page.csp_violations))
    _PAGES.append(page)
    return page


@pytest.fixture(autouse=True)
def no_csp_violations():
    """No page of any browser test may have anything blocked by the Content-Security-Policy."""
    _PAGES.clear()
    yield
    found = [v for p in _PAGES for v in p.csp_violations]
    _PAGES.clear()
    assert not found, found


@pytest.fixture
def page(browser):
    p = new_page(browser)
    yield p
    assert not p.js_errors, p.js_errors
    p.context.close()


def screenshot(page, name: str) -> Path:
    """Saved for human review under test-artifacts/screenshots/."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


PIN = "482916"
_PIN_HASH: dict[str, str] = {}


@pytest.fixture
def site(live, in_app):
    """World data plus a PIN for guard_a and an enrolment code for site a's device."""
    from kiosk.services import devices, security

    with in_app():
        w = factories.world()
        if PIN not in _PIN_HASH:  # scrypt is slow on purpose: hash once per run
            _PIN_HASH[PIN] = security.hash_password(PIN)
        w.a.guard.pin_hash = _PIN_HASH[PIN]
        w.a.office.pin_hash = _PIN_HASH[PIN]
        db.session.commit()
        _device, code = devices.new_enrolment(w.a.office, w.a.device.id)
        w.a.extra["enrol_code"] = code
    return w


def enrol_and_sign_in(page, live, site, guard="guard_a"):
    """The tablet flow: enrolment code, then the guard's PIN; ends on the scan page."""
    page.goto(live.url + "/gate")
    assert page.url.endswith("/gate/enrol")
    page.fill("input[name=code]", site.a.extra["enrol_code"])
    page.click("main form button[type=submit]")
    page.wait_for_url("**/gate/login")
    page.fill("input[name=username]", guard)
    page.fill("input[name=pin]", PIN)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/gate")
    page.wait_for_selector("#wedge")
