"""kiosk.prepared: statements run on the driver's cursor answer exactly as through SQLAlchemy,
in the caller's transaction, with SQLAlchemy's errors and events. Both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from kiosk import prepared
from kiosk.extensions import db
from kiosk.models import AccessEvent, Gate, Pass, Resident, ScanRequest, utcnow
from kiosk.prepared import Prepared
from kiosk.services import scan
from tests import factories

IDLE = TransactionStatus.IDLE

_SCAN_REQUEST = Prepared(
    insert(ScanRequest.__table__), ("device_id", "request_id", "event_id", "occurred_at")
)


def test_the_scan_facts_read_the_same_as_through_sqlalchemy(app, world):
    """Every column of the scan's one SELECT (times, booleans, numbers, subqueries) round-trips
    as SQLAlchemy's own execution gives it."""
    p = world.a.pass_
    p.valid_until = utcnow() + timedelta(days=3)
    world.a.household.observation_until = utcnow() + timedelta(days=1)
    db.session.commit()
    params = {
        "device_id": world.a.device.id,
        "pid": p.id,
        "rid": "r-1",
        "now": utcnow(),
    }
    with db.engine.connect() as conn:
        expected = conn.execute(scan._FACTS_BY_DEVICE.statement, params).one()
        got = scan._FACTS_BY_DEVICE.execute(conn, params).first()
    assert tuple(got) == tuple(expected)
    assert got._fields == tuple(expected._fields)
    assert got.valid_until == p.valid_until and got.valid_until.tzinfo is not None
    assert got.fever_threshold == pytest.approx(world.a.compound.fever_threshold)
    assert isinstance(got.temperature_required, bool) and got.screening is False


def test_no_row_and_literal_values_compiled_into_the_statement(app, world):
    """A LIMIT compiled as a literal value is kept; no row is None."""
    stmt = Prepared(
        select(Resident.id, Resident.name)
        .where(Resident.id > db.bindparam("after"))
        .order_by(Resident.id)
        .limit(1)
    )
    with db.engine.connect() as conn:
        first = stmt.execute(conn, {"after": 0}).first()
        assert first.id == min(r.id for r in db.session.scalars(select(Resident)))
        assert stmt.execute(conn, {"after": 10**9}).first() is None


def test_it_runs_in_the_callers_transaction(app, world):
    """A rollback undoes it, a commit keeps it, as for any statement of the connection."""
    move = Prepared(
        update(Resident.__table__)
        .where(Resident.__table__.c.id == db.bindparam("rid"))
        .values(presence=db.bindparam("presence"))
    )
    rid = world.a.resident.id
    with db.engine.connect() as conn:
        assert move.execute(conn, {"rid": rid, "presence": "out"}).rowcount == 1
        conn.rollback()
        assert conn.scalar(select(Resident.presence).where(Resident.id == rid)) is None
        conn.rollback()
        move.execute(conn, {"rid": rid, "presence": "in"}).close()
        conn.commit()
    db.session.expire_all()
    assert db.session.get(Resident, rid).presence == "in"


def test_a_unique_key_violation_is_sqlalchemys_integrity_error(app, world):
    row = {
        "device_id": world.a.device.id,
        "request_id": "twice",
        "event_id": 1,
        "occurred_at": utcnow(),
    }
    with db.engine.connect() as conn:
        _SCAN_REQUEST.execute(conn, row).close()
        with pytest.raises(IntegrityError):
            _SCAN_REQUEST.execute(conn, row)
        conn.rollback()


def test_the_engines_listeners_see_the_statement(app, world):
    seen = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement.split(None, 1)[0].upper())

    stmt = Prepared(select(Gate.id).where(Gate.id == db.bindparam("gid")))
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with db.engine.connect() as conn:
            assert stmt.execute(conn, {"gid": world.a.gate.id}).first().id == world.a.gate.id
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert seen == ["SELECT"]


def test_on_the_orm_session_it_is_committed_with_the_session(app, world):
    count = Prepared(select(func.count()).select_from(AccessEvent))
    factories.event(world.a.gate, utcnow())
    db.session.commit()
    assert count.execute(db.session, {}).scalar_one() == 1


def test_what_it_cannot_run_is_refused_when_compiled(app, world):
    """An expanding IN list, or an INSERT that leaves out a column with a Python-side default,
    would be wrong without SQLAlchemy's execution: refused at once, never run half-right."""
    in_list = Prepared(select(Pass.id).where(Pass.id.in_(db.bindparam("ids", expanding=True))))
    no_default = Prepared(insert(AccessEvent.__table__), ("gate_id", "direction", "decision"))
    with db.engine.connect() as conn:
        with pytest.raises(ValueError, match="expanding"):
            in_list.execute(conn, {"ids": [1]})
        with pytest.raises(ValueError, match="default"):
            no_default.execute(conn, {"gate_id": world.a.gate.id, "direction": "in"})


def _presence(rid: int) -> str | None:
    with db.engine.connect() as other:  # another connection: what is committed
        return other.scalar(select(Resident.presence).where(Resident.id == rid))


_SET_PRESENCE = Prepared(
    update(Resident.__table__)
    .where(Resident.__table__.c.id == db.bindparam("rid"))
    .values(presence=db.bindparam("presence"))
)


def test_a_unit_of_work_once_begun_is_one_transaction(app, world):
    rid = world.a.resident.id
    with prepared.connect(db.engine) as conn:
        tx = prepared.Tx(conn)
        tx.begin()
        _SET_PRESENCE.execute(conn, {"rid": rid, "presence": "out"}).close()
        _SET_PRESENCE.execute(conn, {"rid": rid, "presence": "in"}).close()
        tx.rollback()
        assert _presence(rid) is None
        tx = prepared.Tx(conn)
        tx.begin()
        _SET_PRESENCE.execute(conn, {"rid": rid, "presence": "out"}).close()
        tx.commit()
    assert _presence(rid) == "out"


def test_on_postgresql_a_lone_statement_is_its_own_transaction(app, world):
    """No BEGIN and no COMMIT around a read or a one-statement write: one round trip each, and
    nothing left open. On SQLite the driver's transaction is committed by ``Tx.commit``."""
    rid = world.a.resident.id
    with prepared.connect(db.engine) as conn:
        tx = prepared.Tx(conn)
        _SET_PRESENCE.execute(conn, {"rid": rid, "presence": "out"}).close()
        if db.engine.dialect.name == "postgresql":
            assert conn.connection.dbapi_connection.info.transaction_status == IDLE
            assert _presence(rid) == "out"
        else:
            tx.commit()
            assert _presence(rid) == "out"


def test_a_lost_connection_is_not_given_back_to_the_pool(app, world):
    """PostgreSQL restarted (here: this connection's backend terminated): the error says the
    connection was invalidated, and the next checkout is a working connection."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a server connection to lose is PostgreSQL's")
    stmt = Prepared(select(Gate.id).where(Gate.id == db.bindparam("gid")))
    with prepared.connect(db.engine) as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost:
            stmt.execute(conn, {"gid": world.a.gate.id})
        assert lost.value.connection_invalidated
    with prepared.connect(db.engine) as conn:
        assert stmt.execute(conn, {"gid": world.a.gate.id}).first().id == world.a.gate.id
