"""kiosk/sqlite_writer.py: on a SQLite file the gate path's writers take turns on a lock file,
across threads and processes; an error never leaves the turn taken."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from kiosk import create_app, prepared, sqlite_writer
from kiosk.extensions import db

from .conftest import TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent
WAIT = 0.5  # seconds a waiter is given to show that it waits


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "turns.sqlite3"
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (who TEXT)"))
        yield app, path
        db.engine.dispose()


def _rows() -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT who FROM t ORDER BY rowid")).scalars())


def _write_in_thread(app, who: str, done: list) -> threading.Thread:
    def run():
        with app.app_context(), prepared.connect(db.engine) as conn:
            tx = prepared.Tx(conn)
            tx.begin()
            conn.execute(text("INSERT INTO t VALUES (:w)"), {"w": who})
            tx.commit()
            done.append(who)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _lock_is_free(path: Path) -> bool:
    fd = os.open(f"{path}-writer.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_a_second_writer_waits_for_the_first_to_commit(sqlite_file):
    """It waits for its turn before it sends SQLite anything: not in SQLite's busy handler,
    which sleeps in steps of milliseconds."""
    app, path = sqlite_file
    done: list[str] = []
    sent: list[str] = []
    me = threading.get_ident()

    def listener(_conn, _cursor, statement, *_args):
        if threading.get_ident() != me:
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with prepared.connect(db.engine) as conn:
            tx = prepared.Tx(conn)
            tx.begin()
            conn.execute(text("INSERT INTO t VALUES ('first')"))
            second = _write_in_thread(app, "second", done)
            second.join(WAIT)
            assert second.is_alive() and done == [], "the second writer did not wait its turn"
            assert sent == [], "the second writer was waiting inside SQLite"
            tx.commit()
        second.join(10)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    second.join(10)
    assert done == ["second"]
    assert _rows() == ["first", "second"]
    assert _lock_is_free(path)


def test_a_writer_in_another_process_waits_too(sqlite_file):
    """As two gunicorn workers: the other process's gate write waits until this one commits."""
    app, path = sqlite_file
    child = f"""
import sys
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from kiosk import create_app, prepared, sqlite_writer
from kiosk.extensions import db
from tests.conftest import TEST_CONFIG
app = create_app({{**TEST_CONFIG, "DATABASE_URL": "sqlite:///{path}"}})
with app.app_context(), prepared.connect(db.engine) as conn:
    tx = prepared.Tx(conn)
    tx.begin()
    conn.execute(text("INSERT INTO t VALUES ('other process')"))
    tx.commit()
print("written", flush=True)
"""
    with prepared.connect(db.engine) as conn:
        tx = prepared.Tx(conn)
        tx.begin()
        conn.execute(text("INSERT INTO t VALUES ('this process')"))
        other = subprocess.Popen(
            [sys.executable, "-c", child], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                other.wait(timeout=3)  # the child's start-up, then its wait for the turn
        finally:
            tx.commit()
    out, _ = other.communicate(timeout=30)
    assert other.returncode == 0 and out.strip() == "written"
    assert _rows() == ["this process", "other process"]


def test_an_error_in_the_unit_of_work_gives_the_turn_back_and_writes_nothing(sqlite_file):
    app, path = sqlite_file
    with pytest.raises(RuntimeError):
        with prepared.connect(db.engine) as conn:
            tx = prepared.Tx(conn)
            tx.begin()
            conn.execute(text("INSERT INTO t VALUES ('lost')"))
            raise RuntimeError("the scan failed half way")
    assert _lock_is_free(path)
    done: list[str] = []
    _write_in_thread(app, "next", done).join(10)
    assert done == ["next"]
    assert _rows() == ["next"]


def test_a_rollback_gives_the_turn_back(sqlite_file):
    _app, path = sqlite_file
    with prepared.connect(db.engine) as conn:
        tx = prepared.Tx(conn)
        tx.begin()
        conn.execute(text("INSERT INTO t VALUES ('rolled back')"))
        tx.rollback()
        assert _lock_is_free(path)
        tx = prepared.Tx(conn)  # the next attempt of the same scan takes its turn again
        tx.begin()
        assert not _lock_is_free(path)
        conn.execute(text("INSERT INTO t VALUES ('kept')"))
        tx.commit()
    assert _rows() == ["kept"]
    assert _lock_is_free(path)


def test_a_unit_of_work_inside_another_on_the_same_thread_does_not_wait_for_itself(sqlite_file):
    """What the lost-race tests do: another gate's write runs inside this scan, before its
    first write. It must not wait for a turn that its own thread holds."""
    app, _path = sqlite_file
    finished = []

    def nested():
        with app.app_context(), prepared.connect(db.engine) as outer:
            tx = prepared.Tx(outer)
            tx.begin()
            with prepared.connect(db.engine) as inner:
                inner_tx = prepared.Tx(inner)
                inner_tx.begin()
                inner.execute(text("INSERT INTO t VALUES ('inner')"))
                inner_tx.commit()
            outer.execute(text("INSERT INTO t VALUES ('outer')"))
            tx.commit()
        finished.append(True)

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    thread.join(10)
    assert finished == [True], "the nested unit of work waited for its own thread"
    assert _rows() == ["inner", "outer"]


def test_the_wait_for_a_turn_is_bounded_and_ends_as_sqlite_would(sqlite_file, monkeypatch):
    """Someone holds the turn too long (another process stuck, say): after the driver's busy
    timeout the write fails with SQLite's own "database is locked", holding nothing."""
    _app, path = sqlite_file
    monkeypatch.setattr(sqlite_writer, "WAIT_SECONDS", 0.2)
    other = os.open(f"{path}-writer.lock", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            with prepared.connect(db.engine) as conn:
                prepared.Tx(conn).begin()
        assert not sqlite_writer.holding()
    finally:
        os.close(other)
    assert _lock_is_free(path)


def test_a_commit_that_fails_rolls_back_before_it_gives_the_turn_back(sqlite_file):
    """A deferred foreign key fails at COMMIT: the transaction is rolled back, then the turn
    goes back; the next writer finds neither the lock nor SQLite's write lock taken."""
    app, path = sqlite_file
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(
            text(
                "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id)"
                " DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    with pytest.raises(IntegrityError):
        with prepared.connect(db.engine) as conn:
            tx = prepared.Tx(conn)
            tx.begin()
            conn.execute(text("INSERT INTO child VALUES (42)"))
            conn.execute(text("INSERT INTO t VALUES ('with the orphan')"))
            tx.commit()
    assert _lock_is_free(path)
    done: list[str] = []
    _write_in_thread(app, "next", done).join(10)
    assert done == ["next"]
    assert _rows() == ["next"]


def test_a_lock_file_that_cannot_be_opened_leaves_the_waiting_to_sqlite(tmp_path, caplog):
    path = tmp_path / "no-lock.sqlite3"
    (tmp_path / "no-lock.sqlite3-writer.lock").mkdir()  # not a file this app can open
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        with prepared.connect(db.engine) as conn:
            conn.execute(text("CREATE TABLE t (who TEXT)"))
            conn.commit()
            tx = prepared.Tx(conn)
            tx.begin()
            conn.execute(text("INSERT INTO t VALUES ('written')"))
            tx.commit()
        assert _rows() == ["written"]
        db.engine.dispose()
    assert "writers' lock file" in caplog.text
