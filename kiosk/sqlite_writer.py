"""On a SQLite file, the gate path's writers take turns on a kernel lock, not SQLite's sleeps.

SQLite lets one connection write at a time. A connection that finds the write lock taken calls
its busy handler, and the one Python's ``sqlite3`` installs (from ``busy_timeout``) sleeps
between tries: 1 ms, then 2, 5, 10 ms and more. A scan holds the write lock for about a third
of a millisecond, so with two or more workers on one file most waits were slept through several
times over: about one sleep per scan at full load, a fifth of the throughput
(docs/performance.md).

Contract:
- ``install(engine, path)``: every new connection of ``engine`` opens ``<path>-writer.lock``
  (created beside the database file, next to its ``-wal`` and ``-shm``) and keeps it open.
- ``acquire(conn)`` before the first write of a unit of work of the gate path
  (``prepared.Tx.begin``): an exclusive ``flock`` on that connection's file. It works across
  processes and, each connection having its own open file, across threads. A writer that finds
  it taken tries again after 0.05 ms, doubling to 1 ms, so it follows a third-of-a-millisecond
  write closely; after ``WAIT_SECONDS`` (the driver's busy timeout) it gives up with SQLite's
  own error, "database is locked", as a write that waited for SQLite's lock did before. True
  when this call took the lock.
- ``release()`` after that unit of work's commit or rollback; ``prepared.connect`` releases a
  lock that an error left held (after rolling back) before the connection goes back to the pool.
- A thread that already holds the lock does not wait for it again (a unit of work that runs
  inside another, as the concurrency tests do): it writes as before, with SQLite's own waiting.
- Other writers (the office's pages, through the ORM) do not take this lock; against them
  SQLite's busy handler still waits, as it always did. The lock only orders the gate path's
  writers among themselves, so it cannot deadlock with SQLite's: no one waits for this lock
  while holding SQLite's write lock.
- A process that dies lets go of its lock with its files. A lock file that cannot be opened
  (made by another user, say) is logged once, and the writers then wait as SQLite makes them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

WAIT_SECONDS = 5.0  # as the driver's busy timeout (SQLALCHEMY_ENGINE_OPTIONS in kiosk/__init__.py)
_FIRST_PAUSE = 0.000_05  # seconds between the first tries; doubled up to _LAST_PAUSE
_LAST_PAUSE = 0.001

_LOCK = "kiosk.sqlite_writer_lock"
_local = threading.local()
_warned: set[str] = set()


class _LockFile:
    """The lock file, opened by one connection in one process (an open file description of its
    own; after a fork the child opens its own, or it would share the parent's lock)."""

    __slots__ = ("path", "pid", "fd")

    def __init__(self, path: str):
        self.path, self.pid = path, os.getpid()
        self.fd = -1
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)

    def __del__(self):
        if self.fd >= 0:
            os.close(self.fd)


def _open(path: str) -> _LockFile | None:
    try:
        return _LockFile(path)
    except OSError as exc:
        if path not in _warned:
            _warned.add(path)
            log.warning("SQLite writers' lock file %s cannot be opened: %s", path, exc)
        return None


def install(engine: Engine, path: str) -> None:
    lock_path = os.path.abspath(path) + "-writer.lock"

    def open_lock(_dbapi_connection, record) -> None:
        lock = _open(lock_path)
        if lock is not None:
            record.info[_LOCK] = lock

    event.listen(engine, "connect", open_lock)


def acquire(conn: Connection) -> bool:
    if getattr(_local, "held", None) is not None:
        return False
    info = conn.connection.info
    lock = info.get(_LOCK)
    if lock is None:  # an in-memory database, an engine without install(), no lock file
        return False
    if lock.pid != os.getpid():
        lock = _open(lock.path)
        if lock is None:
            del info[_LOCK]
            return False
        info[_LOCK] = lock
    _wait(lock)
    _local.held = lock
    return True


def _wait(lock: _LockFile) -> None:
    pause, deadline = _FIRST_PAUSE, None
    while True:
        try:
            fcntl.flock(lock.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        now = time.monotonic()
        if deadline is None:
            deadline = now + WAIT_SECONDS
        elif now >= deadline:
            raise OperationalError(
                "flock(writer lock)", None, sqlite3.OperationalError("database is locked")
            )
        time.sleep(pause)
        pause = min(pause * 2, _LAST_PAUSE)


def holding() -> bool:
    """Whether this thread holds the lock now."""
    return getattr(_local, "held", None) is not None


def release() -> None:
    lock = getattr(_local, "held", None)
    if lock is not None:
        _local.held = None
        fcntl.flock(lock.fd, fcntl.LOCK_UN)


def _forget_in_child() -> None:
    """A child forked while a thread held the lock must not let go of the parent's."""
    _local.held = None


os.register_at_fork(after_in_child=_forget_in_child)
