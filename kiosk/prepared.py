"""Statements of the scan path, compiled once per database and run on the driver's cursor; and
the gate path's connection and unit of work (``connect``, ``Tx``).

A Core statement executed through SQLAlchemy pays for its execution machinery on every call:
the compiled-cache lookup, the execution context, parameter and result processing through
generic code (about a quarter of a scan's CPU, docs/performance.md). A ``Prepared`` statement
is compiled once per dialect; each call then only orders the parameters, applies the column
types' own bind and result processors (SQLAlchemy's, so values round-trip exactly as through
``Connection.execute``), and calls the DBAPI cursor.

Contract:
- ``execute(conn, params)`` runs in ``conn``'s transaction (a SQLAlchemy ``Connection`` or
  ``Session``; it begins one when none is open), so ``conn.commit()`` and ``conn.rollback()``
  cover it like any other statement.
- Every parameter the statement names must be given; literal values compiled into the statement
  (a ``LIMIT 1``) are kept. An INSERT is compiled for exactly the keys of ``columns``; a column
  with a Python-side default must be among them (refused at compile time otherwise).
- The driver's errors are raised as SQLAlchemy's (``sqlalchemy.exc.IntegrityError`` and so on),
  and ``before_cursor_execute`` listeners of the engine see the statement, as on the usual path.
- Rows come back as named tuples of the statement's selected (or returned) columns.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from . import sqlite_writer


class _Compiled:
    __slots__ = (
        "sql",
        "names",
        "fixed",
        "bind_procs",
        "types",
        "result_procs",
        "row",
        "positional",
        "dialect",
    )

    def __init__(self, statement, dialect, columns: tuple[str, ...] | None):
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError("a column with a Python-side default is not among the columns given")
        binds = compiled.binds
        if any(b.expanding for b in binds.values()):
            raise ValueError("expanding parameters are not supported")
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = tuple(compiled.positiontup) if compiled.positional else tuple(binds)
        self.fixed = {name: b.effective_value for name, b in binds.items() if not b.required}
        self.bind_procs = tuple(
            (name, proc)
            for name in dict.fromkeys(self.names)
            if (proc := binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        )
        columns_out = statement.exported_columns if _returns_rows(statement) else None
        exported = list(columns_out) if columns_out is not None else []
        self.dialect = dialect
        self.types = tuple(c.type.dialect_impl(dialect) for c in exported)
        self.result_procs = None  # at the first row: some need the driver's column type codes
        self.row = namedtuple("Row", columns_out.keys(), rename=True) if exported else None

    def processors(self, description) -> tuple:
        if self.result_procs is None:
            self.result_procs = tuple(
                t.result_processor(self.dialect, d[1])
                for t, d in zip(self.types, description, strict=True)
            )
        return self.result_procs


def _returns_rows(statement) -> bool:
    return statement.is_select or bool(getattr(statement, "_returning", ()))


class Prepared:
    """One statement, compiled once per kind of database (see the module's contract)."""

    __slots__ = ("statement", "columns", "_compiled")

    def __init__(self, statement, columns: tuple[str, ...] | None = None):
        self.statement = statement
        self.columns = columns
        self._compiled: dict[tuple, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        key = (dialect.name, dialect.driver, dialect.server_version_info)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self.statement, dialect, self.columns)
        return compiled

    def execute(
        self, conn: Connection | Session | scoped_session, params: dict[str, Any]
    ) -> Result:
        if isinstance(conn, Session | scoped_session):
            conn = conn.connection()
        elif not conn.in_transaction():
            conn.begin()
        dialect = conn.dialect
        c = self._for(dialect)
        values = c.fixed | params if c.fixed else dict(params)
        for name, proc in c.bind_procs:
            values[name] = proc(values[name])
        args = tuple(values[n] for n in c.names) if c.positional else values
        cursor = conn.connection.dbapi_connection.cursor()
        listeners = conn.engine.dispatch.before_cursor_execute
        for listen in listeners:
            listen(conn, cursor, c.sql, args, None, False)
        try:
            cursor.execute(c.sql, args)
        except dialect.loaded_dbapi.Error as e:
            # As SQLAlchemy's own execution does: a lost connection is not given back to the
            # pool, and the error says so.
            lost = dialect.is_disconnect(e, conn.connection.dbapi_connection, cursor)
            cursor.close()
            if lost:
                conn.invalidate(e)
            raise DBAPIError.instance(
                c.sql,
                args,
                e,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
            ) from e
        return Result(cursor, c)


class Result:
    """The cursor of one execution: ``first()``, ``scalar_one()``, ``rowcount`` or ``close()``."""

    __slots__ = ("_cursor", "_c")

    def __init__(self, cursor, compiled: _Compiled):
        self._cursor, self._c = cursor, compiled

    def close(self) -> None:
        self._cursor.close()

    @property
    def rowcount(self) -> int:
        n = self._cursor.rowcount
        self._cursor.close()
        return n

    def first(self):
        cursor = self._cursor
        raw = cursor.fetchone()
        if raw is None:
            cursor.close()
            return None
        c = self._c
        procs = c.result_procs or c.processors(cursor.description)
        cursor.close()
        return c.row._make([v if p is None else p(v) for v, p in zip(raw, procs, strict=True)])

    def scalar_one(self):
        row = self.first()
        if row is None:
            raise LookupError("no row")
        return row[0]


# --- the gate path's connection ---------------------------------------------------------------


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A pooled connection for the gate path's short units of work (see ``Tx``).

    On PostgreSQL it is in autocommit: a read, or a write of one statement, is one round trip,
    where a transaction costs two more (psycopg sends BEGIN on its own before the first
    statement, then COMMIT). On SQLite nothing changes: a statement is a call, not a round trip.
    A SQLite writer's lock (``sqlite_writer``) that an error left held is let go here, after the
    rollback and before the connection goes back to the pool.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
            return
        held_before = sqlite_writer.holding()
        try:
            yield conn
        finally:
            if not held_before and sqlite_writer.holding():
                try:
                    conn.rollback()
                finally:
                    sqlite_writer.release()


class Tx:
    """The unit of work of one gate action on a ``connect()`` connection.

    ``begin()`` before the first statement that must share a transaction with what follows (a
    row lock, or a write of several statements); ``commit()`` or ``rollback()`` at the end. On
    PostgreSQL (autocommit) BEGIN, COMMIT and ROLLBACK are sent only when ``begin()`` was
    called: otherwise each statement was its own transaction. On SQLite they are the
    connection's own (the driver began a transaction at the first write), and ``begin()`` takes
    the writers' turn (``sqlite_writer``) that the commit or rollback gives back.
    """

    __slots__ = ("conn", "_explicit", "_open", "_turn")

    def __init__(self, conn: Connection):
        self.conn = conn
        self._explicit = conn.dialect.name == "postgresql"
        self._open = False
        self._turn = False

    def begin(self) -> None:
        if self._open:
            return
        if self._explicit:
            self.conn.exec_driver_sql("BEGIN")
        else:
            self._turn = sqlite_writer.acquire(self.conn)
        self._open = True

    def commit(self) -> None:
        if not self._explicit:
            try:
                self.conn.commit()
            except BaseException:
                # The writers' turn is given back only once the transaction is over.
                self.rollback()
                raise
            self._end()
        elif self._open:
            self._open = False
            self.conn.exec_driver_sql("COMMIT")

    def rollback(self) -> None:
        if not self._explicit:
            try:
                self.conn.rollback()
            finally:
                self._end()
        elif self._open:
            self._open = False
            self.conn.exec_driver_sql("ROLLBACK")

    def _end(self) -> None:
        self._open = False
        if self._turn:
            self._turn = False
            sqlite_writer.release()
