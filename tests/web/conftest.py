"""Browsers for the web page tests: a tablet at a gate, an office user, a visitor's phone.

Signing in through a form costs one scrypt check (about half a second here), so most tests put
the user id straight into the session, as Flask-Login does after a successful sign-in; the
sign-in forms themselves are tested in test_enrolment.py.
"""

from __future__ import annotations

import html
import re

import pytest
from jinja2 import BytecodeCache

from kiosk.extensions import db
from kiosk.models import AccessEvent
from tests import factories

DEVICE_COOKIE = "kiosk_device"
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response) -> str:
    """The CSRF token a rendered page hands to its forms."""
    text = response.get_data(as_text=True)
    found = _META_CSRF.search(text) or _HIDDEN_CSRF.search(text)
    assert found, "no CSRF token in the page"
    return found.group(1)


def attr(response_or_text, name: str) -> str | None:
    """The first value of an HTML attribute in a response, unescaped."""
    text = response_or_text if isinstance(response_or_text, str) else response_or_text.text
    found = re.search(rf'{name}="([^"]*)"', text)
    return html.unescape(found.group(1)) if found else None


def decision_of(response) -> tuple[str, list[str]]:
    """data-decision and data-reasons of a scan result as the tablet shows it."""
    assert response.status_code == 200, (response.status_code, response.text)
    decision = attr(response, "data-decision")
    reasons = attr(response, "data-reasons")
    return decision, (reasons.split() if reasons else [])


def events() -> list[AccessEvent]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(AccessEvent).order_by(AccessEvent.id)))


class Browser:
    """A test client that carries its CSRF token, a tablet cookie and a signed-in user."""

    def __init__(self, app, device_token: str | None = None, lang: str | None = None):
        self.client = app.test_client()
        self.lang = lang
        self._csrf: str | None = None
        if device_token:
            self.client.set_cookie(DEVICE_COOKIE, device_token)

    def sign_in(self, user, method: str = "password") -> Browser:
        """Signed in as ``user`` (by password, or by "pin" for a tablet's gate-only session)."""
        with self.client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["_auth_method"] = method
        return self

    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = csrf_of(self.client.get("/"))
        return self._csrf

    def _headers(self, htmx: bool, lang: str | None, extra: dict | None) -> dict:
        headers = dict(extra or {})
        if htmx:
            headers["HX-Request"] = "true"
        if lang or self.lang:
            headers["Accept-Language"] = lang or self.lang
        return headers

    def get(self, path: str, htmx: bool = False, lang: str | None = None, headers=None):
        return self.client.get(path, headers=self._headers(htmx, lang, headers))

    def post(
        self,
        path: str,
        data=None,
        htmx: bool = False,
        lang: str | None = None,
        csrf: bool = True,
        headers=None,
        follow_redirects: bool = False,
    ):
        """A form post: htmx sends the token as a header (hx-headers), a plain form as a field."""
        headers = self._headers(htmx, lang, headers)
        data = dict(data or {})
        if csrf:
            if htmx:
                headers["X-CSRFToken"] = self.csrf()
            else:
                data.setdefault("csrf_token", self.csrf())
        return self.client.post(path, data=data, headers=headers, follow_redirects=follow_redirects)

    # The tablet's actions, as gate.js sends them.

    def scan(self, code: str, direction: str = "in", temperature="36.5", request_id=None, **kw):
        data = {"code": code, "direction": direction}
        if temperature is not None:
            data["temperature"] = str(temperature)
        if request_id is not None:
            data["request_id"] = request_id
        return self.post("/gate/scan", data, htmx=True, **kw)


@pytest.fixture
def tablet(app, world):
    """Site a's gate tablet with site a's guard signed in."""
    return Browser(app, world.a.device_token).sign_in(world.a.guard)


@pytest.fixture
def office(app, world):
    """Community a's office user, signed in."""
    return Browser(app).sign_in(world.a.office)


@pytest.fixture
def browser(app):
    """A fresh browser: nobody signed in, no tablet cookie."""
    return Browser(app)


class _SharedBytecode(BytecodeCache):
    """Compiled templates shared by the apps of this run (each test builds a new app)."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SharedBytecode()


@pytest.fixture(autouse=True)
def _compiled_templates_once(request):
    """Speed only: Jinja compiles each template once per run instead of once per test."""
    for name in ("app", "sqlite_app"):
        if name in request.fixturenames:
            request.getfixturevalue(name).jinja_env.bytecode_cache = _BYTECODE


# The same three on SQLite only, for tests of pages where the engine does not matter.


@pytest.fixture
def sworld(sqlite_app):
    return factories.world()


@pytest.fixture
def stablet(sqlite_app, sworld):
    return Browser(sqlite_app, sworld.a.device_token).sign_in(sworld.a.guard)


@pytest.fixture
def soffice(sqlite_app, sworld):
    return Browser(sqlite_app).sign_in(sworld.a.office)
