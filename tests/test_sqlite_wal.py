"""kiosk/sqlite_wal.py: on SQLite, the write-ahead log is copied into the database file by a
thread of the process, never inside a request's commit."""

from __future__ import annotations

import time

from sqlalchemy import text

from kiosk import create_app
from kiosk.extensions import db

from .conftest import TEST_CONFIG

PAGE = 4096


def _app(path, interval_ms: int):
    return create_app(
        {**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{path}", "SQLITE_CHECKPOINT_MS": interval_ms}
    )


def _commits(n: int) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
        conn.commit()
        for i in range(n):
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": f"row {i:06d} " + "x" * 200})
            conn.commit()


def _change_counter(path) -> bytes:
    """The database file's change counter (header bytes 24-27): it moves when pages of the
    log are copied into the file."""
    with open(path, "rb") as f:
        return f.read(28)[24:28]


def test_commits_never_checkpoint(tmp_path):
    """1,500 commits leave 1,500 pages in the log: SQLite's own checkpoint would have copied
    them after 1,000 inside some commit. (The thread here waits a minute.)"""
    path = tmp_path / "log.sqlite3"
    app = _app(path, 60_000)
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        _commits(1500)
        assert (tmp_path / "log.sqlite3-wal").stat().st_size > 1000 * PAGE
        db.engine.dispose()


def test_the_thread_copies_the_log_into_the_file(tmp_path):
    path = tmp_path / "copied.sqlite3"
    app = _app(path, 50)
    with app.app_context():
        _commits(1)
        before = _change_counter(path)
        _commits(200)
        deadline = time.monotonic() + 10
        while _change_counter(path) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _change_counter(path) != before
        db.engine.dispose()


def test_with_no_interval_sqlite_checkpoints_by_itself(tmp_path):
    path = tmp_path / "own.sqlite3"
    app = _app(path, 0)
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        _commits(1500)
        assert (tmp_path / "own.sqlite3-wal").stat().st_size <= 1100 * PAGE
        db.engine.dispose()
