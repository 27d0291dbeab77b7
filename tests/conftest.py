"""Fixtures: a fresh database per test on SQLite and, when it answers, on PostgreSQL.

``app`` is parametrized over the engines; set ``KIOSK_REQUIRE_PG=1`` (``.ci/run`` does) to fail
instead of skipping when PostgreSQL is down.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from kiosk import create_app
from kiosk.extensions import db

from . import factories
from .helpers import ApiClient

PG_URL = os.environ.get("KIOSK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/kiosk_test")

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "PASS_KEYS": "T1:test-pass-key-0123456789abcdef",
    "ID_HASH_KEY": "test-id-hash-key",
    "RATELIMIT_STORAGE_URI": "memory://",
}


def _pg_available() -> str | None:
    """Create the test database if needed; None when PostgreSQL does not answer."""
    from kiosk import engine_url

    base, _, name = PG_URL.rpartition("/")
    try:
        admin = create_engine(engine_url(base + "/postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"PostgreSQL at {PG_URL} is not available: {exc.__class__.__name__}"
    return None


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
    with app.app_context():
        if url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(url)
        _empty_tables()
    return app


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
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
