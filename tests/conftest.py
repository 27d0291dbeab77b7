"""Fixtures: a fresh database per test on SQLite and, when it answers, on PostgreSQL.

``app`` is parametrized over the engines; set ``KIOSK_REQUIRE_PG=1`` (``.ci/run`` does) to fail
instead of skipping when PostgreSQL is down.
"""

from __future__ import annotations

import atexit
import os

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.routing.rules import Rule

from kiosk import create_app, partitions
from kiosk.extensions import db
from kiosk.models import utcnow

from . import factories
from .helpers import ApiClient

PG_SERVER = os.environ.get("KIOSK_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
# One database per test process, so two runs on one machine never share tables.
PG_URL = f"{PG_SERVER}/kiosk_test_{os.getpid()}"

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "PASS_KEYS": "T1:test-pass-key-0123456789abcdef",
    "ID_HASH_KEY": "test-id-hash-key",
    "RATELIMIT_STORAGE_URI": "memory://",
}


def _pg_admin(sql: str) -> None:
    from kiosk import engine_url

    admin = create_engine(engine_url(PG_SERVER + "/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


_pg_state: dict[str, str | None] = {}


def _pg_available() -> str | None:
    """Create this process's test database once; a reason when PostgreSQL does not answer."""
    if "problem" not in _pg_state:
        name = PG_URL.rpartition("/")[2]
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
            _pg_admin(f'CREATE DATABASE "{name}"')
            atexit.register(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _pg_state["problem"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            _pg_state["problem"] = f"PostgreSQL at {PG_SERVER} is not available: {exc!r}"
    return _pg_state["problem"]


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (fresh ``g``, session), as under a real server.

    The test's own session is expired afterwards, so the test reads what the request wrote.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


def _builders_once(compile_builder):
    """Speed only: Werkzeug compiles two URL builders for each of the app's ~430 rules, three
    quarters of creating an app (100 ms; each test creates one). The builder is a plain function
    of the rule's parsed form (the rule takes itself as its first argument), so the same rule of
    the next test's app reuses it."""
    built: dict[tuple, object] = {}

    def once(rule, append_unknown=True):
        key = (
            rule.rule,
            tuple(rule._trace),
            tuple(sorted((k, repr(v)) for k, v in (rule.defaults or {}).items())),
            rule.map.host_matching,
            append_unknown,
        )
        found = built.get(key)
        if found is None:
            found = built[key] = compile_builder(rule, append_unknown)
        return found

    return once


Rule._compile_builder = _builders_once(Rule._compile_builder)

_schema_ready: set[str] = set()


def _make_app(engine_name: str, tmp_path_factory) -> object:
    if engine_name == "postgresql":
        problem = _pg_available()
        if problem:
            if os.environ.get("KIOSK_REQUIRE_PG"):
                pytest.fail(problem)
            pytest.skip(problem)
        url = PG_URL
    else:
        url = "sqlite:///" + str(tmp_path_factory.getbasetemp() / "kiosk-test.sqlite3")
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    app.test_client_class = FreshContextClient
    with app.app_context():
        if url not in _schema_ready:
            db.drop_all()
            create_schema()
            _schema_ready.add(url)
        _empty_tables()
    return app


def create_schema() -> None:
    """The models' tables, with the access log and the visits partitioned on PostgreSQL as the
    migrations leave them (kiosk/partitions.py), but with their default partitions only: every
    rule of a partitioned table holds the same, and emptying the tables before each test stays
    as quick as before (weekly partitions cost 86 ms more per TRUNCATE). The weeks themselves
    are tested in tests/test_partitions.py."""
    db.create_all()
    with db.engine.begin() as conn:
        for table in partitions.TABLES:
            partitions.convert(conn, utcnow(), table)
        drop_weeks(conn)


def drop_weeks(conn) -> None:
    """Only the default partitions left (on PostgreSQL; nothing to do on SQLite)."""
    for table in partitions.TABLES:
        for name, _lo, _hi in partitions.weeks(conn, table):
            conn.execute(text(f"DROP TABLE {name}"))


def _empty_tables() -> None:
    """Every table emptied, in the order the foreign keys allow, and (on PostgreSQL) the id
    sequences started again. DELETE rather than TRUNCATE: a test leaves a few rows, and
    TRUNCATE's new files for ~50 tables and their indexes cost 0.25 s per test."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    script = "; ".join(f'DELETE FROM "{t}"' for t in tables)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                script + "; SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"
            )
    else:
        for t in tables:
            db.session.execute(text(f'DELETE FROM "{t}"'))
        db.session.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path_factory):
    """A fresh, empty database per test, once per engine."""
    app = _make_app(request.param, tmp_path_factory)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path_factory):
    """SQLite only, for page and unit-level service tests where the engine does not matter."""
    app = _make_app("sqlite", tmp_path_factory)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """A street with two communities, each with a compound, gate, building, household and people."""
    return factories.world()


@pytest.fixture
def api(client):
    return ApiClient(client)
