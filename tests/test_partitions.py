"""The access log on PostgreSQL: partitioned by week, a week made ahead, rows the default
partition caught moved into their week, a finished week dropped whole; a trace reads only the
weeks it covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from kiosk import partitions
from kiosk.extensions import db
from kiosk.models import (
    AccessEvent,
    Alert,
    GateDailyCount,
    ScanRequest,
    Visit,
    VisitInvite,
)
from kiosk.services import retention
from tests import factories
from tests.conftest import drop_weeks

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def _weeks_dropped() -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        drop_weeks(conn)


@pytest.fixture
def pg(app):
    """An empty access log with only its default partition, as the other tests have it
    (tests/conftest.py ``create_schema``), and so again afterwards."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("partitioning is PostgreSQL's")
    _weeks_dropped()
    yield
    _weeks_dropped()


def rows_in(table: str) -> int:
    """Counted in a transaction of its own: the table's DDL waits for no open read."""
    with db.engine.connect() as conn:
        return conn.scalar(text(f"SELECT count(*) FROM {table}"))


def test_the_access_log_is_partitioned_by_week_with_a_default(pg, world):
    with db.engine.begin() as conn:
        assert partitions.is_partitioned(conn)
    # no week yet: an event lands in the default partition and is found as usual
    old = factories.event(world.a.gate, NOW - timedelta(days=9), resident_id=world.a.resident.id)
    db.session.commit()
    assert rows_in(partitions.DEFAULT) == 1
    with db.engine.begin() as conn:
        made = partitions.ensure(conn, NOW, since=NOW - timedelta(days=9))
    # the week of the old event (Monday 23 Nov), this week and four more
    assert (
        made
        == [
            "access_event_p20261123",
            "access_event_p20261130",
            *(f"access_event_p202612{d:02d}" for d in (7, 14, 21, 28)),
        ][: len(made)]
    )
    assert made[0] == "access_event_p20261123" and len(made) == 6
    assert rows_in(partitions.DEFAULT) == 0 and rows_in("access_event_p20261123") == 1
    assert db.session.get(AccessEvent, old.id).resident_id == world.a.resident.id
    db.session.commit()
    with db.engine.begin() as conn:
        assert partitions.ensure(conn, NOW) == []  # idempotent


def test_a_finished_week_is_dropped_whole_and_younger_ones_stay(pg, world):
    with db.engine.begin() as conn:
        partitions.ensure(conn, NOW, since=NOW - timedelta(days=14))
    for days in (13, 6, 0):
        factories.event(world.a.gate, NOW - timedelta(days=days))
    db.session.commit()
    with db.engine.begin() as conn:
        dropped = partitions.drop_before(conn, NOW - timedelta(days=7))
    assert [name for name, _lo, _hi in dropped] == ["access_event_p20261116"]
    assert db.session.scalar(select(func.count()).select_from(AccessEvent)) == 2
    db.session.commit()


def test_a_trace_of_days_reads_only_their_weeks(pg, world):
    with db.engine.begin() as conn:
        partitions.ensure(conn, NOW, since=NOW - timedelta(days=30))
    plan = "\n".join(
        db.session.scalars(
            text(
                "EXPLAIN SELECT id FROM access_event WHERE gate_id = :g "
                "AND occurred_at >= :lo AND occurred_at < :hi"
            ),
            {"g": world.a.gate.id, "lo": NOW - timedelta(days=2), "hi": NOW},
        )
    )
    db.session.commit()
    assert "access_event_p20261130" in plan
    assert "access_event_p20261123" not in plan and "access_event_p20261102" not in plan


def test_the_purge_drops_a_week_older_than_every_streets_period_and_keeps_its_counts(pg, world):
    """Both streets keep 28 days: a week that ended before then goes whole, its alerts, its
    request ids and a guard's decision on it that fell into the next week with it; its events
    are counted per gate and day; the week after the cutoff is left to the batches."""
    now = NOW
    with db.engine.begin() as conn:
        partitions.ensure(conn, now, since=now - timedelta(days=45))
    week_end = datetime(2026, 11, 2, tzinfo=UTC)  # the week of 26 Oct ends before now - 28 d
    a = world.a
    scan = factories.event(
        a.gate,
        week_end - timedelta(minutes=1),
        decision="refer",
        device_id=a.device.id,
        request_id="r-1",
        resident_id=a.resident.id,
    )
    factories.event(  # the guard's decision, a minute into the next week
        a.gate,
        week_end + timedelta(minutes=1),
        parent_id=scan.id,
        override=True,
    )
    fever = factories.event(a.gate, week_end - timedelta(days=2), decision="deny", temperature=38.5)
    db.session.add(
        Alert(
            community_id=a.community.id,
            gate_id=a.gate.id,
            event_id=fever.id,
            kind="fever",
            created_at=week_end - timedelta(days=2),
        )
    )
    db.session.add(
        ScanRequest(
            device_id=a.device.id, request_id="r-1", event_id=scan.id, occurred_at=scan.occurred_at
        )
    )
    kept = factories.event(a.gate, now - timedelta(days=3)).id
    street_id = world.street.id
    db.session.commit()

    runs = retention.purge(now)

    db.session.remove()
    with db.engine.connect() as conn:
        names = [n for n, _lo, _hi in partitions.weeks(conn)]
    assert "access_event_p20261026" not in names and "access_event_p20261102" in names
    assert [e.id for e in db.session.scalars(select(AccessEvent))] == [kept]
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 0
    assert db.session.scalar(select(func.count()).select_from(ScanRequest)) == 0
    counted = db.session.scalar(select(func.sum(GateDailyCount.count)))
    assert counted == 3
    assert {r.street_id: retention.deleted_counts(r)["access_event"] for r in runs} == {
        street_id: 3
    }


def _visit(site, created_at) -> int:
    v = Visit(
        compound_id=site.compound.id,
        host_household_id=site.household.id,
        name="钱访客",
        phone_hash="d" * 64,
        phone_last4="4321",
        purpose="visit",
        health_code="green",
        via="gate",
        status="left",
        created_at=created_at,
    )
    db.session.add(v)
    db.session.flush()
    return v.id


def test_visits_are_partitioned_and_an_old_week_of_them_is_dropped_whole(pg, world):
    """A week of visits well before every street's cutoff goes whole with its invitations; a
    young visit stays; so does a week one of whose visits a kept passage still points at."""
    with db.engine.begin() as conn:
        assert partitions.is_partitioned(conn, "visit")
        for table in partitions.TABLES:
            partitions.ensure(conn, NOW, since=NOW - timedelta(days=60), table=table)
    a = world.a
    old = _visit(a, datetime(2026, 10, 14, 9, tzinfo=UTC))  # week of 12 Oct
    db.session.add(
        VisitInvite(
            visit_id=old,
            household_id=a.household.id,
            invited_by_id=world.resident_user.id,
            link_hash="t" * 64,
            created_at=datetime(2026, 10, 14, 9, tzinfo=UTC),
        )
    )
    held = _visit(a, datetime(2026, 10, 21, 9, tzinfo=UTC))  # week of 19 Oct
    factories.event(a.gate, NOW - timedelta(days=1), visit_id=held)  # a kept passage of it
    young = _visit(a, NOW - timedelta(days=2))
    street_id = world.street.id
    db.session.commit()

    runs = retention.purge(NOW)

    db.session.remove()
    with db.engine.connect() as conn:
        names = [n for n, _lo, _hi in partitions.weeks(conn, "visit")]
    assert "visit_p20261012" not in names and "visit_p20261019" in names
    assert set(db.session.scalars(select(Visit.id))) == {held, young}
    assert db.session.scalar(select(func.count()).select_from(VisitInvite)) == 0
    deleted = {r.street_id: retention.deleted_counts(r) for r in runs}[street_id]
    assert (deleted["visit"], deleted["visit_invite"]) == (1, 1)
