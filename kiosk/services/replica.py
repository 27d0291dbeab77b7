"""Reads that may go to a read replica: the office's traces, the heaviest reads there are.

With ``DATABASE_READ_URL`` set (a PostgreSQL streaming replica, docs/scaling.md), ``reading()``
gives a session on it, in a read-only transaction; without it, the primary's session. A replica
lags the primary by a moment, which a trace over days does not notice; a trace's audit entry is
written on the primary. The replica's engine is made once per app and shared by its requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from ..config import engine_url
from ..extensions import db

_EXTENSION = "kiosk.replica"


def _engine():
    engines = current_app.extensions.setdefault(_EXTENSION, {})
    url = current_app.config["DATABASE_READ_URL"]
    if url not in engines:
        options = dict(current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        engines[url] = create_engine(engine_url(url), **options)
    return engines[url]


@contextmanager
def reading() -> Iterator[Session]:
    """A session for reads only: on the replica when one is configured."""
    if not current_app.config.get("DATABASE_READ_URL"):
        yield db.session
        return
    with Session(_engine()) as session:
        try:
            yield session
        finally:
            session.rollback()
