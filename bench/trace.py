"""Tracing benchmark: a street of 17 communities over a month, 10 million access events, on
PostgreSQL; 14-day traces of one person with co-presence through ``services/tracing.trace``.

    .venv/bin/python bench/trace.py                       # build, measure, drop the database
    .venv/bin/python bench/trace.py --keep                # keep it (the next run reuses it)
    .venv/bin/python bench/trace.py --keep --compare week # and against the other layout
    .venv/bin/python bench/trace.py --events 1000000      # a quick try

The database ``kiosk_bench_trace`` on 127.0.0.1:5432 gets the app's schema by its migrations,
then set-based SQL fills it (``INSERT ... SELECT ... FROM generate_series``; the secondary
indexes of ``access_event`` are dropped during the load and built again afterwards, then
``VACUUM ANALYZE``): 1 street, 17 communities, 3 compounds each with 2 to 4 gates (one tablet
each), 12 to 22 buildings of 48 households, 1 to 4 residents a household (about 6,000 a
community, 100,000 in all), one pass each, a guard and an office user per community and a street
user. The events, 30 days ending at the run's "now", in time order (ids ascending with time):

- residents' trips, each an exit and a return: 45% of residents work and commute on most trips
  (out about 07:45 ± 45 min, back about 18:15 ± 1 h), the others go out between 07:00 and
  21:00 (most around 14:00) for 15 minutes to 2 hours; 12% of residents never go out and the
  rest go out 1 to 4 times as often as each other; 70% of passages at the resident's usual gate
  of their compound, the rest at its other gates; about 3% referred or denied, temperatures on
  the way in;
- 5% visitor events: a visit (registered at the gate, checked in and out at a gate of the host's
  compound, from a pool of phones so that a visitor comes back about three times a month), with
  its two events;
- 1% unreadable codes (no person).

The measurement: ``--residents`` random residents with a passage in the period, the busiest
resident and ``--visitors`` random visitors, each traced for the default 14 days with a
``--window`` of 15 minutes by the street user, in an app context against that database. It prints
median, p95 and max wall time, passages and contacts, the SQL time of the two main queries, and
``EXPLAIN (ANALYZE, BUFFERS)`` of those two (captured with a ``before_cursor_execute`` hook) for
the median trace and the slowest one. ``--compare week`` (or ``day``) copies ``access_event``
into the layout the migrations did not make (partitioned by week as migration 0010 does, or by
day, when they made one plain table; one plain table when they made a partitioned one; the same
indexes, bench/partitioning.py), then traces the same people in ``--rounds`` rounds alternating
the two (the table names swapped in between), and prints a summary of both.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import partitioning
from dataset import GIVEN, ROOT, SURNAMES, _pg_admin, build_app, make_env, migrate

PG_DB = "kiosk_bench_trace"
URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
TZ = ZoneInfo("Asia/Shanghai")  # the app's default TIMEZONE: the day's pattern is local time
DAYS = 30
COMMUNITIES = 17
COMPOUNDS_PER_COMMUNITY = 3
VISITOR_SHARE = 0.05
INVALID_SHARE = 0.01
STREET_USER = 1  # office users are 1 + community, guards 1 + COMMUNITIES + community
VERSION = "1"
TABLES = (
    "street",
    "community",
    "compound",
    "gate",
    "device",
    "building",
    "household",
    "resident",
    "pass",
    "user",
    "visit",
    "access_event",
)  # of the generator: a kept database made by another version is built again


# ---------------------------------------------------------------------------------------------
# The database


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=10_000_000, help="access events (10,000,000)")
    p.add_argument("--seed", type=int, default=1, help="generator and sample seed (1)")
    p.add_argument("--keep", action="store_true", help="keep the database for the next run")
    p.add_argument("--database", default=PG_DB, help=f"database name ({PG_DB})")
    p.add_argument("--rebuild", action="store_true", help="build the database even if kept")
    p.add_argument("--residents", type=int, default=30, help="random residents traced (30)")
    p.add_argument("--visitors", type=int, default=5, help="random visitors traced (5)")
    p.add_argument("--window", type=int, default=15, help="co-presence window, ± minutes (15)")
    p.add_argument(
        "--actor",
        choices=("street", "office"),
        default="street",
        help="who traces: the street user (17 communities) or the subject's office (street)",
    )
    p.add_argument(
        "--compare",
        choices=partitioning.LAYOUTS,
        help="also trace against a copy of access_event in the other layout: partitioned by\n"
        "week (as migration 0010 does) or day when the migrations made one plain table, one\n"
        "plain table when they made a partitioned one",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="with --compare: rounds of traces, alternating the layouts (2)",
    )
    p.add_argument("--plans", metavar="PATH", help="write the query plans to this file")
    p.add_argument(
        "--insert-cost",
        type=int,
        default=0,
        metavar="N",
        help="time the gate log's INSERT with all indexes and without ix_access_event_gate_time\n"
        "and ix_access_event_visit_id, N a round, 8 rounds (0: skip)",
    )
    args = p.parse_args(argv)
    if args.events < 10_000:
        p.error("--events must be at least 10,000")
    return args


def connect():
    import psycopg

    return psycopg.connect(URL, autocommit=True)


def database_exists() -> bool:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
        )


def migrations_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def kept_meta(args) -> dict | None:
    """The kept database's settings, if it was built by this generator for these arguments."""
    if not database_exists():
        return None
    with connect() as conn:
        if not conn.execute("SELECT to_regclass('bench_trace_meta')").fetchone()[0]:
            return None
        meta = dict(conn.execute("SELECT key, value FROM bench_trace_meta").fetchall())
        if conn.execute("SELECT to_regclass('access_event_swapped')").fetchone()[0]:
            swap(conn, back=True)  # an interrupted --compare run: put the table back
    want = dict(
        events=str(args.events), seed=str(args.seed), version=VERSION, head=migrations_head()
    )
    if any(meta.get(k) != v for k, v in want.items()):
        return None
    return meta


def build(args, app) -> dict:
    """A fresh database with the app's schema (its migrations) and a month of a street."""
    _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)', f'CREATE DATABASE "{PG_DB}"')
    migrate(app)
    with app.app_context():
        from kiosk.extensions import db

        db.engine.dispose()
    from kiosk.services.security import hash_password

    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    with connect() as conn:
        conn.execute("SET session_replication_role = replica")  # consistent by construction
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SELECT setseed(%s)", (((args.seed * 7919) % 2000) / 1000 - 1,))
        people(conn, now, hash_password("bench-" + str(args.seed)))
        n = dict(
            residents=conn.execute("SELECT count(*) FROM resident").fetchone()[0],
            households=conn.execute("SELECT count(*) FROM household").fetchone()[0],
            gates=conn.execute("SELECT count(*) FROM gate").fetchone()[0],
            buildings=conn.execute("SELECT count(*) FROM building").fetchone()[0],
        )
        print(
            f"people: {n['residents']:,} residents in {n['households']:,} households, "
            f"{n['buildings']:,} buildings, {n['gates']} gates "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        if partitioning.is_partitioned(conn):
            made = month_partitions(app, now)
            print(f"access_event is partitioned (migrations): {made} partitions made for the month")
        dropped = drop_indexes(conn, "access_event")
        events(conn, args.events, now)
        if conn.execute("SELECT to_regclass('scan_request')").fetchone()[0]:
            # a device's request ids, unique in a table of their own (migration 0010)
            dropped += drop_indexes(conn, "scan_request", primary=True)
            conn.execute(
                "INSERT INTO scan_request (device_id, request_id, event_id, occurred_at) "
                "SELECT device_id, request_id, id, occurred_at FROM access_event"
            )
        t1 = time.perf_counter()
        for name, sql in dropped:
            t = time.perf_counter()
            conn.execute(sql)
            print(f"  index {name}: {time.perf_counter() - t:.1f} s")
        print(f"indexes built again in {time.perf_counter() - t1:.1f} s")
        for table in TABLES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT max(id) FROM "{table}"))'
            )
        t1 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.perf_counter() - t1:.1f} s")
        meta = dict(
            events=str(args.events),
            seed=str(args.seed),
            version=VERSION,
            head=conn.execute("SELECT version_num FROM alembic_version").fetchone()[0],
            now=now.isoformat(),
            built_seconds=f"{time.perf_counter() - t0:.0f}",
        )
        conn.execute("CREATE TABLE bench_trace_meta (key text PRIMARY KEY, value text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_trace_meta VALUES (%s, %s)", list(meta.items()))
    print(f"built {PG_DB} in {meta['built_seconds']} s")
    return meta


def people(conn, now: datetime, password_hash: str) -> None:
    """The street, its communities, compounds, gates, tablets, buildings, households, residents,
    their passes and the staff, each in one set-based INSERT."""
    p = dict(
        now=now,
        c=COMMUNITIES,
        per=COMPOUNDS_PER_COMMUNITY,
        compounds=COMMUNITIES * COMPOUNDS_PER_COMMUNITY,
        surnames=SURNAMES,
        ns=len(SURNAMES),
        given=GIVEN,
        ng=len(GIVEN),
        pw=password_hash,
    )
    statements = [
        "INSERT INTO street (id, name, retention_days) VALUES (1, '花乡街道', 28)",
        """INSERT INTO community (id, street_id, name)
           SELECT c, 1, '第' || c || '社区' FROM generate_series(1, %(c)s) c""",
        """INSERT INTO compound (id, community_id, name, seal_state, temperature_required,
                                 fever_threshold, visitor_policy, public_slug, quota_days)
           SELECT k, (k - 1) / %(per)s + 1, k || '号小区', 'open', true, 37.3, 'open',
                  'bench-' || k, 1
           FROM generate_series(1, %(compounds)s) k""",
        # 2, 3 or 4 gates a compound
        """INSERT INTO gate (id, compound_id, name, is_open)
           SELECT row_number() OVER (ORDER BY k, g), k, (ARRAY['东门', '西门', '南门', '北门'])[g],
                  true
           FROM generate_series(1, %(compounds)s) k, generate_series(1, 2 + mod(k, 3)) g""",
        """INSERT INTO device (id, gate_id, name, kind, token_hash, created_at)
           SELECT id, id, 'tablet-' || id, 'tablet', encode(sha256(('device' || id)::bytea), 'hex'),
                  %(now)s::timestamptz - interval '90 days'
           FROM gate""",
        # 12 to 22 buildings a compound (17 on average), 4 units x 6 floors x 2 rooms each
        """INSERT INTO building (id, compound_id, name, seal_state)
           SELECT row_number() OVER (ORDER BY k, b), k, b || '号楼', 'open'
           FROM generate_series(1, %(compounds)s) k, generate_series(1, 12 + mod(k * 7, 11)) b""",
        """INSERT INTO household (id, building_id, unit, room, services_allowed)
           SELECT row_number() OVER (ORDER BY b.id, u, f, r), b.id, u::text, f || '0' || r, false
           FROM building b, generate_series(1, 4) u, generate_series(1, 6) f,
                generate_series(1, 2) r""",
        """UPDATE household SET observation_until = %(now)s::timestamptz
                                    + (1 + floor(random() * 14)) * interval '1 day',
                                observation_reason = '密接 居家观察'
           WHERE random() < 0.02""",
        # 1 to 4 residents a household (2.5 on average)
        """INSERT INTO resident (id, household_id, name, id_hash, id_last4, phone_hash,
                                 phone_last4, created_at, presence, state_version)
           SELECT row_number() OVER (ORDER BY h.id, m), h.id,
                  substr(%(surnames)s, 1 + floor(random() * %(ns)s)::int, 1)
                  || substr(%(given)s, 1 + floor(random() * %(ng)s)::int, 1)
                  || CASE WHEN random() < 0.6
                          THEN substr(%(given)s, 1 + floor(random() * %(ng)s)::int, 1)
                          ELSE '' END,
                  encode(sha256(('id-' || h.id || '-' || m)::bytea), 'hex'),
                  lpad(floor(random() * 10000)::text, 4, '0'),
                  encode(sha256(('phone-' || h.id || '-' || m)::bytea), 'hex'),
                  lpad(floor(random() * 10000)::text, 4, '0'),
                  %(now)s::timestamptz - (60 + random() * 300) * interval '1 day',
                  'in', 0
           FROM household h,
                LATERAL generate_series(1, 1 + floor(random() * 4 + 0 * h.id)::int) m""",
        """INSERT INTO pass (id, resident_id, kind, valid_from, created_at)
           SELECT id, id, 'resident', created_at, created_at FROM resident""",
        """INSERT INTO "user" (id, username, password_hash, role, street_id, community_id,
                               active, created_at, pin_hash)
           SELECT 1, 'bench_street', %(pw)s, 'street', 1, NULL, true,
                  %(now)s::timestamptz - interval '90 days', NULL
           UNION ALL
           SELECT 1 + c, 'bench_office_' || c, %(pw)s, 'office', NULL, c, true,
                  %(now)s::timestamptz - interval '90 days', NULL
           FROM generate_series(1, %(c)s) c
           UNION ALL
           SELECT 1 + %(c)s + c, 'bench_guard_' || c, %(pw)s, 'guard', NULL, c, true,
                  %(now)s::timestamptz - interval '90 days', %(pw)s
           FROM generate_series(1, %(c)s) c""",
        # Who goes out how often, through which gates (for the generator only)
        """CREATE TEMP TABLE bench_gates AS
           SELECT compound_id, array_agg(id ORDER BY id) AS gates FROM gate GROUP BY compound_id""",
        """CREATE TEMP TABLE bench_slot AS
           WITH p AS MATERIALIZED (
               SELECT r.id AS resident_id, g.gates,
                      g.gates[1 + floor(random() * cardinality(g.gates))::int] AS home,
                      1 + %(c)s + ((b.compound_id - 1) / %(per)s + 1) AS guard,
                      random() < 0.45 AS worker,
                      CASE WHEN random() < 0.12 THEN 0 ELSE 1 + floor(random() * 4)::int END
                          AS weight
               FROM resident r
               JOIN household h ON h.id = r.household_id
               JOIN building b ON b.id = h.building_id
               JOIN bench_gates g ON g.compound_id = b.compound_id
           )
           SELECT row_number() OVER () AS n, p.resident_id, p.gates, p.home, p.guard, p.worker
           FROM p, LATERAL generate_series(1, p.weight) w""",
        "CREATE INDEX ON bench_slot (n)",
        """CREATE TEMP TABLE bench_hh AS
           SELECT row_number() OVER (ORDER BY h.id) AS n, h.id AS household_id, b.compound_id,
                  g.gates, 1 + %(c)s + ((b.compound_id - 1) / %(per)s + 1) AS guard
           FROM household h JOIN building b ON b.id = h.building_id
           JOIN bench_gates g ON g.compound_id = b.compound_id""",
        "CREATE INDEX ON bench_hh (n)",
        "ANALYZE",
    ]
    for sql in statements:
        conn.execute(sql, p if "%(" in sql else None)


def month_partitions(app, now: datetime) -> int:
    """The app's partitions (kiosk/partitions.py) for every week of the month to load."""
    from kiosk import partitions
    from kiosk.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        made = partitions.ensure(conn, now, since=now - timedelta(days=DAYS + 1))
    dispose(app)
    return len(made)


def drop_indexes(conn, table: str, primary: bool = False) -> list[tuple[str, str]]:
    """Drop the indexes of ``table`` (not its primary key unless ``primary``) for the load; the
    statements that build them again."""
    rows = conn.execute(
        """SELECT c.relname, pg_get_indexdef(i.indexrelid), con.conname,
                  pg_get_constraintdef(con.oid)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('u', 'p')
           WHERE i.indrelid = to_regclass(%s) AND (%s OR NOT i.indisprimary)
           ORDER BY c.relname""",
        (table, primary),
    ).fetchall()
    again = []
    for name, indexdef, constraint, condef in rows:
        if constraint:
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
            again.append((name, f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {condef}"))
        else:
            conn.execute(f"DROP INDEX {name}")
            # a partitioned table's index reads "ON ONLY": built on the parent alone
            again.append((name, indexdef.replace(" ON ONLY ", " ON ")))
    return again


# One 24-hour slot of the month: residents' trips (an exit and a return each), visits (a check-in
# and a check-out each, with their visit rows) and unreadable codes, inserted in time order.
# Times of day are local (m0 is the local midnight before the slot's start s0): a time before s0
# is the next day's. An event at or after "now" (the last slot's evening) is moved a month back,
# a visit that began before "now" ends before it.
SLOT_SQL = """
WITH trip AS MATERIALIZED (
    SELECT s.resident_id, s.gates, s.home, s.guard, (s.worker AND x.r_kind < 0.8) AS commute,
           x.z1, x.z2, x.u1, x.u2, x.u3, x.g1, x.g2, x.d1, x.d2
    FROM (SELECT 1 + floor(random() * %(S)s)::int AS k, random() AS r_kind,
                 sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z1,
                 sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z2,
                 random() AS u1, random() AS u2, random() AS u3, random() AS g1, random() AS g2,
                 random() AS d1, random() AS d2
          FROM generate_series(1, %(T)s)) x
    JOIN bench_slot s ON s.n = x.k
),
hours AS MATERIALIZED (
    SELECT t.*,
           CASE WHEN commute THEN greatest(5.0, least(11.0, 7.75 + 0.75 * z1))
                ELSE 7.0 + 7.0 * (u1 + u2) END AS out_h
    FROM trip t
),
timed AS MATERIALIZED (
    SELECT h.*,
           %(m0)s::timestamptz + out_h * interval '1 hour'
           + CASE WHEN %(m0)s::timestamptz + out_h * interval '1 hour' < %(s0)s::timestamptz
                  THEN interval '1 day' ELSE interval '0' END AS at_out,
           CASE WHEN commute THEN greatest(out_h + 4, least(23.5, 18.25 + z2))
                ELSE out_h + 0.25 + 1.75 * u3 END - out_h AS away_h
    FROM hours h
),
v AS (
    INSERT INTO visit (id, compound_id, host_household_id, name, phone_hash, phone_last4,
                       purpose, health_code, risk_area_ids, temperature, via, status, decision,
                       reasons, gate_id, created_at, checked_in_at, checked_out_at)
    SELECT %(vid0)s + x.i, h.compound_id, h.household_id,
           substr(%(surnames)s, 1 + mod(x.p, %(ns)s), 1)
           || substr(%(given)s, 1 + mod(x.p / %(ns)s, %(ng)s), 1),
           encode(sha256(('visitor-' || x.p)::bytea), 'hex'),
           lpad(mod(x.p * 7919, 10000)::text, 4, '0'),
           (ARRAY['delivery', 'delivery', 'visit', 'visit', 'repair', 'medical', 'official',
                  'other'])[1 + floor(x.u4 * 8)::int],
           'green', '', round((36.0 + x.u5 * 1.2)::numeric, 1)::float8, 'gate', 'left', 'allow',
           '', h.gates[1 + floor(x.u6 * cardinality(h.gates))::int],
           x.at_in - interval '2 minutes' - x.shift, x.at_in - x.shift,
           least(x.at_in + x.dur, %(now)s::timestamptz - interval '1 second') - x.shift
    FROM (SELECT y.*,
                 CASE WHEN y.at_in >= %(now)s::timestamptz
                      THEN %(days)s * interval '1 day' ELSE interval '0' END AS shift
          FROM (SELECT z.*,
                       %(m0)s::timestamptz + z.in_h * interval '1 hour'
                       + CASE WHEN %(m0)s::timestamptz + z.in_h * interval '1 hour'
                                   < %(s0)s::timestamptz
                              THEN interval '1 day' ELSE interval '0' END AS at_in
                FROM (SELECT i, 1 + floor(random() * %(H)s)::int AS k,
                             1 + floor(random() * %(P)s)::int AS p,
                             8.0 + 6.0 * (random() + random()) AS in_h,
                             (0.1 + 2.4 * random() * random()) * interval '1 hour' AS dur,
                             random() AS u4, random() AS u5, random() AS u6
                      FROM generate_series(1, %(V)s) i) z) y) x
    JOIN bench_hh h ON h.n = x.k
    RETURNING id, compound_id, gate_id, temperature, checked_in_at, checked_out_at
),
e AS (
    SELECT at_out AS at,
           CASE WHEN g1 < 0.7 THEN home
                ELSE gates[1 + floor((g1 - 0.7) / 0.3 * cardinality(gates))::int] END AS gate_id,
           guard, 'out' AS direction, resident_id, NULL::int AS visit_id, NULL::float8 AS temp,
           CASE WHEN d1 < 0.975 THEN 'allow' WHEN d1 < 0.99 THEN 'refer' ELSE 'deny' END
               AS decision,
           CASE WHEN d1 < 0.975 THEN '' WHEN d1 < 0.99 THEN 'already_outside'
                ELSE 'home_observation' END AS reasons
    FROM timed
    UNION ALL
    SELECT at_out + away_h * interval '1 hour',
           CASE WHEN g2 < 0.7 THEN home
                ELSE gates[1 + floor((g2 - 0.7) / 0.3 * cardinality(gates))::int] END,
           guard, 'in', resident_id, NULL,
           CASE WHEN d2 < 0.97 THEN round((36.0 + 1.2 * d2 / 0.97)::numeric, 1)::float8
                WHEN d2 < 0.985 THEN 36.6
                WHEN d2 < 0.997 THEN NULL
                ELSE round((37.3 + (d2 - 0.997) * 400)::numeric, 1)::float8 END,
           CASE WHEN d2 < 0.97 THEN 'allow' WHEN d2 < 0.997 THEN 'refer' ELSE 'deny' END,
           CASE WHEN d2 < 0.97 THEN '' WHEN d2 < 0.985 THEN 'already_inside'
                WHEN d2 < 0.997 THEN 'temperature_required' ELSE 'fever' END
    FROM timed
    UNION ALL
    SELECT checked_in_at, gate_id, 1 + %(c)s + ((compound_id - 1) / %(per)s + 1), 'in', NULL, id,
           temperature, 'allow', ''
    FROM v
    UNION ALL
    SELECT checked_out_at, gate_id, 1 + %(c)s + ((compound_id - 1) / %(per)s + 1), 'out', NULL,
           id, NULL, 'allow', ''
    FROM v
    UNION ALL
    SELECT %(s0)s::timestamptz + random() * interval '24 hours',
           1 + floor(random() * %(G)s)::int, NULL, 'in', NULL, NULL, NULL, 'deny', 'invalid_code'
    FROM generate_series(1, %(I)s)
),
m AS (
    SELECT CASE WHEN at >= %(now)s::timestamptz THEN at - %(days)s * interval '1 day' ELSE at END
               AS at,
           gate_id, guard, direction, resident_id, visit_id, temp, decision, reasons
    FROM e
)
INSERT INTO access_event (id, occurred_at, gate_id, device_id, user_id, direction, pass_id,
                          resident_id, temperature, decision, reasons, request_id, manual,
                          override, visit_id)
SELECT %(id0)s + row_number() OVER (ORDER BY at), at, gate_id, gate_id, guard, direction,
       resident_id, resident_id, temp, decision, reasons, gen_random_uuid()::text, false, false,
       visit_id
FROM m
ORDER BY at
"""


def events(conn, total: int, now: datetime) -> None:
    """The month's events, one 24-hour slot per statement."""
    slots = conn.execute("SELECT count(*) FROM bench_slot").fetchone()[0]
    households = conn.execute("SELECT count(*) FROM bench_hh").fetchone()[0]
    gates = conn.execute("SELECT count(*) FROM gate").fetchone()[0]
    visits_total = round(total * VISITOR_SHARE / 2)
    t0 = time.perf_counter()
    id0 = vid0 = 0
    start = now - timedelta(days=DAYS)
    for j in range(DAYS):
        n = total // DAYS + (1 if j < total % DAYS else 0)
        visits = round(n * VISITOR_SHARE / 2)
        invalid = round(n * INVALID_SHARE)
        trips, odd = divmod(n - 2 * visits - invalid, 2)
        invalid += odd
        s0 = start + timedelta(days=j)
        local = s0.astimezone(TZ)
        m0 = datetime.combine(local.date(), dt.time(), TZ)
        conn.execute(
            SLOT_SQL,
            dict(
                S=slots,
                H=households,
                G=gates,
                P=max(1, visits_total // 3),
                T=trips,
                V=visits,
                I=invalid,
                id0=id0,
                vid0=vid0,
                s0=s0,
                m0=m0,
                now=now,
                days=DAYS,
                c=COMMUNITIES,
                per=COMPOUNDS_PER_COMMUNITY,
                surnames=SURNAMES,
                ns=len(SURNAMES),
                given=GIVEN,
                ng=len(GIVEN),
            ),
        )
        id0 += n
        vid0 += visits
        if j % 5 == 4 or j == DAYS - 1:
            print(f"  events: {id0:,} ({time.perf_counter() - t0:.0f} s)")


# ---------------------------------------------------------------------------------------------
# Partitioned copy


def build_other(conn, layout: str) -> str:
    """``access_event_other``: the same rows in the layout the migrations did not make (one plain
    table, or partitioned by ``layout``), with the same indexes; kept for the next run."""
    want = "plain" if partitioning.is_partitioned(conn) else layout
    have = conn.execute("SELECT value FROM bench_trace_meta WHERE key = 'other'").fetchone()
    if conn.execute("SELECT to_regclass('access_event_other')").fetchone()[0]:
        if have and have[0] == want:
            return want
        conn.execute("DROP TABLE access_event_other")
    t0 = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '512MB'")
    partitioning.copy(
        conn, "access_event", "access_event_other", None if want == "plain" else layout
    )
    conn.execute(
        "INSERT INTO bench_trace_meta VALUES ('other', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (want,),
    )
    print(f"access_event_other ({want}) built in {time.perf_counter() - t0:.0f} s")
    return want


def describe(conn, table: str) -> str:
    if not partitioning.is_partitioned(conn, table):
        return "plain table"
    n = conn.execute(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass(%s)", (table,)
    ).fetchone()[0]
    week = conn.execute(
        "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s) AND c.relname ~ '_p[0-9]{8}$'",
        (table,),
    ).fetchone()[0]
    return f"partitioned by {'week' if week else 'day'} ({n} partitions)"


def swap(conn, back: bool = False) -> None:
    """Put access_event_other in access_event's place (or back)."""
    names = ("access_event", "access_event_swapped", "access_event_other")
    if back:
        names = ("access_event", "access_event_other", "access_event_swapped")
    with conn.transaction():
        conn.execute(f"ALTER TABLE {names[0]} RENAME TO {names[1]}")
        conn.execute(f"ALTER TABLE {names[2]} RENAME TO {names[0]}")


@contextlib.contextmanager
def swapped(app):
    with connect() as conn:
        swap(conn)
    dispose(app)
    try:
        yield
    finally:
        dispose(app)
        with connect() as conn:
            swap(conn, back=True)


def dispose(app) -> None:
    from kiosk.extensions import db

    with app.app_context():
        db.engine.dispose()


def sizes(conn, table: str = "access_event") -> dict:
    """Rows and bytes of ``table`` (over its partitions if it has any), per index too."""
    n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    total, heap, indexes = conn.execute(
        "SELECT sum(pg_total_relation_size(r)), sum(pg_table_size(r)), sum(pg_indexes_size(r)) "
        "FROM (SELECT relid AS r FROM pg_partition_tree(%s) UNION SELECT to_regclass(%s)) t",
        (table, table),
    ).fetchone()
    per_index = conn.execute(
        """SELECT c.relname, (SELECT sum(pg_relation_size(t.r))
                              FROM (SELECT relid AS r FROM pg_partition_tree(i.indexrelid)
                                    UNION SELECT i.indexrelid) t)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = to_regclass(%s) ORDER BY 2 DESC""",
        (table,),
    ).fetchall()
    return dict(events=n, total=total, table=heap, indexes=indexes, per_index=per_index)


def print_sizes(conn, table: str = "access_event") -> None:
    s = sizes(conn, table)
    n = s["events"]
    print(
        f"{table} ({describe(conn, table)}): {n:,} rows, {s['total'] / 2**20:,.0f} MiB in all, "
        f"{s['total'] / n:.0f} bytes a row (table {s['table'] / n:.0f}, indexes "
        f"{s['indexes'] / n:.0f}: "
        + ", ".join(f"{name} {size / n:.0f}" for name, size in s["per_index"])
        + ")"
    )
    for other in ("scan_request", "visit") if table == "access_event" else ():
        if conn.execute("SELECT to_regclass(%s)", (other,)).fetchone()[0]:
            rows, size = conn.execute(
                f"SELECT count(*), pg_total_relation_size('{other}') FROM {other}"
            ).fetchone()
            print(
                f"  {other}: {rows:,} rows, {size / 2**20:,.0f} MiB, {size / n:.0f} bytes per "
                f"access event"
            )


# ---------------------------------------------------------------------------------------------
# The measurement


def subjects(args, meta) -> list[tuple[str, int]]:
    """Random residents with a passage in the last 14 days, the busiest one, random visitors."""
    now = datetime.fromisoformat(meta["now"])
    start = now - timedelta(days=14)
    rng = random.Random(args.seed)
    with connect() as conn:
        top = conn.execute("SELECT max(id) FROM resident").fetchone()[0]
        chosen: list[tuple[str, int]] = []
        while len(chosen) < args.residents:
            rid = rng.randint(1, top)
            if ("resident", rid) in chosen:
                continue
            if conn.execute(
                "SELECT 1 FROM access_event WHERE resident_id = %s AND occurred_at >= %s LIMIT 1",
                (rid, start),
            ).fetchone():
                chosen.append(("resident", rid))
        busiest = conn.execute(
            "SELECT resident_id FROM access_event WHERE occurred_at >= %s "
            "AND resident_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            (start,),
        ).fetchone()[0]
        visits = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM visit WHERE created_at >= %s ORDER BY id", (start,)
            ).fetchall()
        ]
    out = [*chosen, ("busiest", busiest)]
    out += [("visitor", v) for v in rng.sample(visits, min(args.visitors, len(visits)))]
    return out


def measure(args, app, meta, people: list[tuple[str, int]], label: str) -> dict:
    """Trace everyone in ``people``; timings, sizes and the two main statements of each."""
    from sqlalchemy import event, select

    from kiosk.contract.tracing import TraceQuery
    from kiosk.extensions import db
    from kiosk.models import Building, Compound, Household, Resident, User
    from kiosk.services import tracing

    now = datetime.fromisoformat(meta["now"])
    current: dict = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        context._bench_t0 = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - context._bench_t0
        current["sql"] = current.get("sql", 0.0) + took
        current["statements"] = current.get("statements", 0) + 1
        if "FROM access_event" not in statement:
            return
        if "ORDER BY access_event.id" in statement:
            current["own"] = (statement, parameters, took, cursor.rowcount)
        elif "access_event.gate_id = " in statement:
            current["others"] = (statement, parameters, took, cursor.rowcount)

    rows = []
    with app.test_request_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        try:
            street = db.session.get(User, STREET_USER)
            offices = {}
            for k, (kind, ident) in enumerate([people[0], *people]):
                actor = street
                if args.actor == "office" and kind != "visitor":
                    community = db.session.scalar(
                        select(Compound.community_id)
                        .join(Building, Building.compound_id == Compound.id)
                        .join(Household, Household.building_id == Building.id)
                        .join(Resident, Resident.household_id == Household.id)
                        .where(Resident.id == ident)
                    )
                    actor = offices.setdefault(community, db.session.get(User, 1 + community))
                key = "visit_id" if kind == "visitor" else "resident_id"
                query = TraceQuery.parse(
                    {key: str(ident), "reason": "bench", "window_minutes": str(args.window)}
                )
                current.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                result = tracing.trace(actor, query, now)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                if k == 0:
                    continue  # the first one warms the process up (statement caches, imports)
                rows.append(
                    dict(
                        kind=kind,
                        id=ident,
                        wall=wall,
                        cpu=cpu,
                        sql=current.get("sql", 0.0),
                        statements=current.get("statements", 0),
                        passages=len(result.passages),
                        direct=len(result.direct),
                        same_place=len(result.same_place),
                        own=current.get("own"),
                        others=current.get("others"),
                    )
                )
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
        plans = {}
        by_time = sorted(rows, key=lambda r: r["wall"])
        median_row = by_time[len(by_time) // 2]
        for name, row in (("median", median_row), ("slowest", by_time[-1])):
            for part in ("own", "others"):
                if row[part] is None:
                    continue
                statement, parameters, _took, _n = row[part]
                conn = db.session.connection()
                plan = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                ).all()
                plans[(name, part)] = (row, statement, "\n".join(r[0] for r in plan))
        db.session.rollback()
    report(label, rows)
    return dict(rows=rows, plans=plans)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def report(label: str, rows: list[dict]) -> None:
    print(f"\n== {label}: {len(rows)} traces")
    print(
        f"{'who':9} {'id':>7} {'wall ms':>8} {'CPU ms':>7} {'SQL ms':>7} {'stmts':>5} "
        f"{'own ms':>7} {'others ms':>9} {'rows':>6} {'passages':>8} {'direct':>6} "
        f"{'same place':>10}"
    )
    for r in rows:
        own = r["own"][2] * 1000 if r["own"] else 0.0
        others = r["others"][2] * 1000 if r["others"] else 0.0
        n = r["others"][3] if r["others"] else 0
        print(
            f"{r['kind']:9} {r['id']:7d} {r['wall'] * 1000:8.0f} {r['cpu'] * 1000:7.0f} "
            f"{r['sql'] * 1000:7.0f} {r['statements']:5d} {own:7.1f} {others:9.1f} {n:6d} "
            f"{r['passages']:8d} {r['direct']:6d} {r['same_place']:10d}"
        )
    print(figures(rows))
    residents = [r for r in rows if r["kind"] == "resident"]
    if residents:
        print(
            "random residents: median passages "
            f"{statistics.median(r['passages'] for r in residents):.0f}, median contacts "
            f"{statistics.median(r['direct'] + r['same_place'] for r in residents):.0f} "
            f"(direct {statistics.median(r['direct'] for r in residents):.0f}), median rows near "
            f"them {statistics.median(r['others'][3] for r in residents if r['others']):.0f}"
        )


def figures(rows: list[dict]) -> str:
    def ms(key: str) -> list[float]:
        return [r[key] * 1000 for r in rows]

    def part(key: str) -> list[float]:
        return [r[key][2] * 1000 for r in rows if r[key]]

    wall, cpu = ms("wall"), ms("cpu")
    return (
        f"wall ms median {statistics.median(wall):.0f}, p95 {pct(wall, 0.95):.0f}, max "
        f"{max(wall):.0f}; CPU ms median {statistics.median(cpu):.0f}, max {max(cpu):.0f}; "
        f"SQL ms median {statistics.median(ms('sql')):.0f}; the subject's events median "
        f"{statistics.median(part('own')):.1f} ms, the others' median "
        f"{statistics.median(part('others')):.1f} ms, max {max(part('others')):.1f} ms"
    )


def summary(measured: dict[str, dict]) -> None:
    print(f"\n== summary ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    for label, m in measured.items():
        print(f"{label}: {figures(m['rows'])}")


def write_plans(args, measured: dict[str, dict]) -> None:
    out = []
    for label, m in measured.items():
        if not label.endswith("round 1"):
            continue
        for (name, part), (row, statement, plan) in m["plans"].items():
            what = "the subject's events" if part == "own" else "the others' events"
            out.append(
                f"-- {label}, {name} trace ({row['kind']} {row['id']}, {row['wall'] * 1000:.0f} ms,"
                f" {row['passages']} passages): {what}\n{plan}\n"
            )
            if label == next(iter(measured)) and name == "median":
                out.append(f"-- the statement:\n{statement}\n")
    text = "\n".join(out)
    if args.plans:
        Path(args.plans).write_text(text)
        print(f"\nplans written to {args.plans}")
    else:
        print("\n" + text)


TRACE_ONLY_INDEXES = ("ix_access_event_gate_time", "ix_access_event_visit_id")
INSERT_SQL = (
    "INSERT INTO access_event (occurred_at, gate_id, device_id, user_id, direction, pass_id,"
    " resident_id, visit_id, temperature, decision, reasons, request_id, manual, parent_id,"
    " override, override_reason, note) VALUES (%s, %s, %s, NULL, 'in', %s, %s, NULL, 36.5,"
    " 'allow', '', %s, false, NULL, false, NULL, NULL) RETURNING id"
)


def insert_cost(args, meta) -> None:
    """The gate log's INSERT (services/gatelog.py) with every index and without the two the scan
    path does not read itself: ``--insert-cost`` statements a round, 8 rounds alternating, each
    round in a transaction that is rolled back (the indexes are dropped inside it, so nothing
    changes and no fsync adds noise); and EXPLAIN (ANALYZE, BUFFERS, WAL) of one INSERT."""
    import psycopg

    now = datetime.fromisoformat(meta["now"])
    rng = random.Random(args.seed)
    per: dict[str, list[float]] = {"all indexes": [], "without gate_time, visit_id": []}
    with psycopg.connect(URL) as conn:
        top = conn.execute("SELECT max(id) FROM resident").fetchone()[0]
        gates = conn.execute("SELECT max(id) FROM gate").fetchone()[0]
        conn.rollback()

        def values(k: int):
            rid, gate = rng.randint(1, top), rng.randint(1, gates)
            return (now - timedelta(seconds=k), gate, gate, rid, rid, f"bench-{rng.random()}")

        print(f"\n== the gate log's INSERT on {meta['events']} events, {args.insert_cost} a round")
        for k in range(8):
            order = list(per) if k % 2 == 0 else list(reversed(per))
            for label in order:
                with conn.cursor() as cur:
                    if label != "all indexes":
                        for name in TRACE_ONLY_INDEXES:
                            cur.execute(f"DROP INDEX {name}")
                    for n in range(20):
                        cur.execute(INSERT_SQL, values(n), prepare=True)
                    t0 = time.perf_counter()
                    for n in range(args.insert_cost):
                        cur.execute(INSERT_SQL, values(n), prepare=True)
                    per[label].append((time.perf_counter() - t0) / args.insert_cost * 1e6)
                    if k == 0:
                        plan = cur.execute(
                            "EXPLAIN (ANALYZE, BUFFERS, WAL) " + INSERT_SQL, values(0)
                        )
                        wal = [r[0].strip() for r in plan.fetchall() if r[0].strip()[:4] == "WAL:"]
                        print(f"  {label}: {'; '.join(wal)}")
                conn.rollback()
    for label, xs in per.items():
        print(
            f"  {label}: {statistics.median(xs):.0f} µs per INSERT (median of rounds: "
            + " ".join(f"{x:.0f}" for x in xs)
            + ")"
        )


def main(argv=None) -> int:
    global PG_DB, URL
    args = parse_args(argv)
    PG_DB, URL = args.database, URL.rsplit("/", 1)[0] + "/" + args.database
    sys.stdout.reconfigure(line_buffering=True)
    app = build_app(make_env(URL))
    try:
        meta = None if args.rebuild else kept_meta(args)
        if meta is None:
            meta = build(args, app)
        else:
            print(f"reusing {PG_DB} built for {meta['now']} ({meta['events']} events)")
        with connect() as conn:
            print_sizes(conn)
            main_label = describe(conn, "access_event")
            other_label = None
            if args.compare:
                build_other(conn, args.compare)
                print_sizes(conn, "access_event_other")
                other_label = describe(conn, "access_event_other")
        people = subjects(args, meta)
        measured = {}
        for k in range(args.rounds if args.compare else 1):
            label = f"{main_label}, round {k + 1}"
            measured[label] = measure(args, app, meta, people, label)
            if other_label:
                label = f"{other_label}, round {k + 1}"
                with swapped(app):
                    measured[label] = measure(args, app, meta, people, label)
        summary(measured)
        write_plans(args, measured)
        if args.insert_cost:
            insert_cost(args, meta)
    finally:
        dispose(app)
        if not args.keep:
            _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
