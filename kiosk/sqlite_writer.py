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
  (``prepared.Tx.begin``): an exclusive ``flock`` on that connection's file. A writer that
  waits is woken by the kernel the moment the holder lets go; it works across processes and,
  each connection having its own open file, across threads. True when this call took it.
- ``release()`` after that unit of work's commit or rollback; ``prepared.connect`` releases a
  lock that an error left held (after rolling back) before the connection goes back to the pool.
- A thread that already holds the lock does not wait for it again (a unit of work that runs
  inside another, as the concurrency tests do): it writes as before, with SQLite's own waiting.
- Other writers (the office's pages, through the ORM) do not take this lock; against them
  SQLite's busy handler still waits, as it always did. The lock only orders the gate path's
  writers among themselves, so it cannot deadlock with SQLite's: no one waits for this lock
  while holding SQLite's write lock.
- A process that dies lets go of its lock with its files.
"""

from __future__ import annotations

import fcntl
import os
import threading

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_LOCK = "kiosk.sqlite_writer_lock"
_local = threading.local()


class _LockFile:
    """The lock file, opened by one connection in one process (an open file description of its
    own; after a fork the child opens its own, or it would share the parent's lock)."""

    __slots__ = ("path", "pid", "fd")

    def __init__(self, path: str):
        self.path, self.pid = path, os.getpid()
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def __del__(self):
        os.close(self.fd)


def install(engine: Engine, path: str) -> None:
    lock_path = os.path.abspath(path) + "-writer.lock"

    def open_lock(_dbapi_connection, record) -> None:
        record.info[_LOCK] = _LockFile(lock_path)

    event.listen(engine, "connect", open_lock)


def acquire(conn: Connection) -> bool:
    if getattr(_local, "held", None) is not None:
        return False
    info = conn.connection.info
    lock = info.get(_LOCK)
    if lock is None:  # an in-memory database, or an engine without install()
        return False
    if lock.pid != os.getpid():
        lock = info[_LOCK] = _LockFile(lock.path)
    fcntl.flock(lock.fd, fcntl.LOCK_EX)
    _local.held = lock
    return True


def holding() -> bool:
    """Whether this thread holds the lock now."""
    return getattr(_local, "held", None) is not None


def release() -> None:
    lock = getattr(_local, "held", None)
    if lock is not None:
        _local.held = None
        fcntl.flock(lock.fd, fcntl.LOCK_UN)
