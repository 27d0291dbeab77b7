"""kiosk: gate checks for residential compounds under closed management."""

from __future__ import annotations

import functools
import os
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Flask, current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as cfg
from . import security_headers, sqlite_wal, sqlite_writer
from .config import engine_url
from .domain.decision import N_
from .domain.passcodes import PassKeyError, PassKeys
from .extensions import babel, csrf, db, htmx, limiter, login_manager, migrate
from .services import auth as auth_service
from .services import throttle


class App(Flask):
    """Flask, asking once per view or hook function whether it is a coroutine function: Flask
    asks on every call, eight times a request (``inspect``, profiled on the scan path)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync: dict = {}

    def ensure_sync(self, func):
        try:
            return self._sync[func]
        except KeyError:
            sync = self._sync[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # not hashable: asked every time, as Flask does
            return super().ensure_sync(func)


def create_app(test_config: dict | None = None) -> Flask:
    """The application factory."""
    app = App(__name__, instance_relative_config=True)
    app.json.sort_keys = False
    os.makedirs(app.instance_path, exist_ok=True)
    configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    security_headers.init_app(app)
    return app


class SessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, marked ``Secure`` whenever the request came over HTTPS."""

    def get_signing_serializer(self, app: Flask):
        """Built once per secret key, not per request (it was a tenth of a tablet scan)."""
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = app.extensions.get("kiosk.session_serializer")
        if cached is None or cached[0] != key:
            cached = (key, super().get_signing_serializer(app))
            app.extensions["kiosk.session_serializer"] = cached
        return cached[1]

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and request.is_secure


def configure(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(cfg.defaults(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        cfg.from_env(app.config)
    else:
        app.config.from_mapping(test_config)
    production = os.environ.get("KIOSK_ENV") == "production" and not app.testing
    cfg.ensure_secrets(app.config, app.instance_path, production)
    cfg.secure_cookies(app.config, production)
    app.session_interface = SessionInterface()
    proxies = app.config["PROXY_COUNT"]
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.config["SQLALCHEMY_DATABASE_URI"] = engine_url(app.config["DATABASE_URL"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The driver's 5 s lock wait, not a deferred BEGIN: see MEASUREMENTS.md.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 5}})
    else:
        app.config.setdefault(
            # No pre-ping: it costs a round trip per request; recycle instead, and /healthz
            # tells the load balancer when the database is gone.
            "SQLALCHEMY_ENGINE_OPTIONS",
            {"pool_size": 5, "max_overflow": 10, "pool_recycle": 1800},
        )
    try:
        app.config["PASS_KEYRING"] = PassKeys.parse(app.config["PASS_KEYS"])
    except PassKeyError as exc:
        raise cfg.ConfigError(f"PASS_KEYS: {exc}") from exc
    try:
        app.config["TZ"] = ZoneInfo(app.config["TIMEZONE"])
    except Exception as exc:  # ZoneInfoNotFoundError or a bad key
        raise cfg.ConfigError(
            f"TIMEZONE {app.config['TIMEZONE']!r} is not a known time zone"
        ) from exc


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def _sqlite_file(app: Flask) -> None:
    """On a SQLite file: the gate path's writers take turns on a lock file
    (kiosk/sqlite_writer.py), and checkpoints are made by a thread of each process
    (kiosk/sqlite_wal.py)."""
    interval_ms = app.config["SQLITE_CHECKPOINT_MS"]
    with app.app_context():
        engine = db.engine
    path = engine.url.database
    if engine.dialect.name != "sqlite" or path in (None, "", ":memory:"):
        return
    path = os.path.abspath(path)
    sqlite_writer.install(engine, path)
    if interval_ms > 0:
        event.listen(
            engine, "connect", lambda conn, _record: sqlite_wal.configure(conn, path, interval_ms)
        )


@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def request_locale() -> Locale:
    """Flask-Babel's selector: a parsed ``Locale``, once per process (parsing the name on every
    request was a millisecond of each scan: docs/performance.md)."""
    return _locale(select_locale())


def select_locale() -> str:
    """The user's saved setting, then this browser's choice, then Accept-Language, then zh_CN.

    A gate tablet is shared by the guards who sign in on it by PIN: its own choice comes first.
    """
    languages = current_app.config["LANGUAGES"]
    if session.get(auth_service.AUTH_METHOD) == auth_service.PIN:
        if session.get("locale") in languages:
            return session["locale"]
    if "user_locale" in g:  # the signed-in user's, read with the tablet's guard (routes/gate.py)
        if g.user_locale in languages:
            return g.user_locale
    elif getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    for value, _quality in request.accept_languages:
        primary = value.replace("_", "-").split("-")[0].lower()
        if primary == "zh":
            return "zh_CN"
        if primary == "en":
            return "en"
    return "zh_CN"


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    _sqlite_file(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    htmx.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login flashes this when a page needs a sign-in; translated when flashed.
    login_manager.login_message = N_("Sign in to see this page.")
    login_manager.localize_callback = gettext
    babel.init_app(app, locale_selector=request_locale)
    limiter.init_app(app)
    # There are no default limits, only per-route ones (which check themselves), so the
    # extension's hook on every request only cost time on the scan path (profiled).
    app.before_request_funcs[None] = [
        f for f in app.before_request_funcs.get(None, []) if f != limiter._check_request_limit
    ]

    login_manager.user_loader(auth_service.load_user)
    # Flask-Login's context processor loads the user for every template, even a fragment that
    # never shows who is signed in (the tablet's scan answer, which checked its guard with
    # one statement: routes/gate.py). The proxy as a global loads the user only when a page
    # uses it.
    app.template_context_processors[None] = [
        f
        for f in app.template_context_processors[None]
        if getattr(f, "__module__", "") != "flask_login.utils"
    ]
    app.jinja_env.globals["current_user"] = current_user
    throttle.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .routes import api, auth, gate, invite_link, join, main, me, office, visit, worker

    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(gate.bp)
    app.register_blueprint(office.bp)
    app.register_blueprint(visit.bp)
    app.register_blueprint(invite_link.bp)
    app.register_blueprint(me.bp)
    app.register_blueprint(worker.bp)
    app.register_blueprint(join.bp)
    csrf.exempt(api.bp)  # bearer tokens only, never cookies


def register_errorhandlers(app: Flask) -> None:
    from .routes.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from .routes.helpers import register

    register(app)
