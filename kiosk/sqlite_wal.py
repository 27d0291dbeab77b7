"""SQLite's write-ahead log copied into the database file by a thread, not by a scan's commit.

SQLite checkpoints by itself inside the commit that grows the log past 1,000 pages: that commit
copies the pages into the database file and, with ``synchronous=NORMAL``, makes its only fsync.
On the scan path that was a sixth of a scan's CPU on average, and a slow scan every hundred or so
(docs/performance.md). With ``SQLITE_CHECKPOINT_MS`` set (the default, 1000), the app's
connections do not checkpoint; one daemon thread per process and database file runs a PASSIVE
checkpoint that often instead. A page changed by many scans in between is copied once, and no
request waits for it (PASSIVE never blocks readers or writers; a checkpoint that cannot finish
because a reader still uses old pages finishes at the next one).

Durability: a commit is in the log at once, as before; what a power cut or an operating-system
crash (not a crash of the app) may lose with ``synchronous=NORMAL`` is what was committed since
the last checkpoint: at most about a second here, against the last hundred or so commits with
SQLite's own (docs/deployment.md).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

log = logging.getLogger(__name__)

_running: set[tuple[int, str]] = set()
_lock = threading.Lock()


def configure(dbapi_connection, path: str, interval_ms: int) -> None:
    """For each new connection of the app's engine: no checkpoints of its own, and this
    process's checkpointer for ``path`` running (started after a fork too: keyed by pid)."""
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
    key = (os.getpid(), path)
    if key in _running:
        return
    with _lock:
        if key in _running:
            return
        _running.add(key)
        threading.Thread(
            target=_checkpoints,
            args=(path, interval_ms / 1000),
            name="sqlite-checkpoint",
            daemon=True,
        ).start()


def _checkpoints(path: str, seconds: float) -> None:
    """Forever: a PASSIVE checkpoint every ``seconds``. Any failure (the file gone, a lock held
    too long) is logged and the next round connects again: the thread never ends, or this
    process's log would grow without bound."""
    conn = None
    while True:
        time.sleep(seconds)
        try:
            if conn is None:
                conn = sqlite3.connect(
                    path, timeout=5, isolation_level=None, check_same_thread=False
                )
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception as exc:  # noqa: BLE001 - whatever it was, try again next time
            log.warning("SQLite checkpoint of %s failed: %s", os.path.basename(path), exc)
            if conn is not None:
                conn.close()
                conn = None
