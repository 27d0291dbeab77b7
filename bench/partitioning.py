"""access_event as one plain table or partitioned by time (PostgreSQL declarative partitioning),
whichever the migrations did not make, for the benchmarks' comparisons (bench/trace.py
``--compare``, bench/scan.py ``--events-table``). docs/scaling.md.

A partitioned table has the plain table's columns, defaults and indexes, except that a primary
key or a unique constraint must include the partition key: ``(id, occurred_at)``. ``week``
mirrors kiosk/partitions.py (weeks from Monday 00:00 UTC, and a default partition for anything
outside them); ``day`` is one partition per local day (``TIMEZONE``), no default.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")  # the app's default TIMEZONE
LAYOUTS = ("week", "day")


def is_partitioned(conn, table: str = "access_event") -> bool:
    kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (table,))
    row = kind.fetchone()
    return bool(row) and row[0] == "p"


def index_statements(conn, source: str, target: str, suffix: str = "") -> list[str]:
    """The statements that give ``target`` (which exists) the secondary indexes of ``source``,
    their names followed by ``suffix``; a unique index without the partition key becomes a plain
    one when ``target`` is partitioned (it cannot be unique there)."""
    rows = conn.execute(
        """SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary ORDER BY c.relname""",
        (source,),
    ).fetchall()
    partitioned = is_partitioned(conn, target)
    out = []
    for name, definition, unique in rows:
        sql = definition.replace(" ON ONLY ", " ON ")
        sql = re.sub(rf" ON (public\.)?{source} ", f" ON {target} ", sql)
        sql = sql.replace(f" INDEX {name} ", f" INDEX {name}{suffix} ", 1)
        if unique and partitioned and "occurred_at" not in sql.split(" USING ")[1]:
            sql = sql.replace("CREATE UNIQUE INDEX", "CREATE INDEX")
        out.append(sql)
    return out


def partitions(layout: str, lo: datetime, hi: datetime) -> list[tuple[str, datetime, datetime]]:
    """(suffix, from, to) of each partition covering ``lo`` to ``hi``."""
    out = []
    if layout == "week":
        day = lo.astimezone(UTC).date()
        start = day - timedelta(days=day.weekday())
        while True:
            a = datetime.combine(start, dt.time(), UTC)
            if a > hi:
                return out
            out.append((f"p{start:%Y%m%d}", a, a + timedelta(days=7)))
            start += timedelta(days=7)
    day = lo.astimezone(TZ).date()
    while True:
        a = datetime.combine(day, dt.time(), TZ)
        if a > hi:
            return out
        b = datetime.combine(day + timedelta(days=1), dt.time(), TZ)
        out.append((f"d{day:%Y%m%d}", a, b))
        day += timedelta(days=1)


def create_partitioned(conn, name: str, like: str, layout: str, lo: datetime, hi: datetime):
    """The partitioned table ``name`` with the columns of ``like``, partitions from ``lo`` to
    ``hi`` (and a default one for ``week``), primary key (id, occurred_at); no rows yet."""
    conn.execute(
        f"CREATE TABLE {name} (LIKE {like} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (occurred_at)"
    )
    conn.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY (id, occurred_at)")
    for suffix, a, b in partitions(layout, lo, hi):
        conn.execute(
            f"CREATE TABLE {name}_{suffix} PARTITION OF {name} "
            f"FOR VALUES FROM ('{a.isoformat()}') TO ('{b.isoformat()}')"
        )
    if layout == "week":
        conn.execute(f"CREATE TABLE {name}_default PARTITION OF {name} DEFAULT")


def copy(conn, source: str, target: str, layout: str | None) -> None:
    """``target``: the rows and indexes of ``source`` in the other layout: partitioned by
    ``layout`` when ``source`` is plain, one plain table (primary key ``id``) when ``layout``
    is None."""
    lo, hi = conn.execute(
        f"SELECT min(occurred_at), greatest(max(occurred_at), now()) FROM {source}"
    ).fetchone()
    if layout is None:
        conn.execute(
            f"CREATE TABLE {target} (LIKE {source} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
    else:
        create_partitioned(conn, target, source, layout, lo, hi + timedelta(days=2))
    conn.execute(f"INSERT INTO {target} SELECT * FROM {source}")
    if layout is None:
        conn.execute(f"ALTER TABLE {target} ADD CONSTRAINT {target}_pkey PRIMARY KEY (id)")
    for sql in index_statements(conn, source, target, suffix="_" + target.rsplit("_", 1)[-1]):
        conn.execute(sql)
    conn.execute(f"VACUUM ANALYZE {target}")


def replace(url: str, layout: str | None) -> str:
    """Turn the database's access_event into the other layout (bench/scan.py): partitioned by
    ``layout``, or plain when ``layout`` is None; nothing when it already is. Foreign keys that
    point at access_event.id are dropped (a partitioned table's ``id`` alone is not unique)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if is_partitioned(conn) == (layout is not None):
            return "as migrated"
        conn.execute("SET maintenance_work_mem = '256MB'")
        with conn.transaction():
            for table, constraint in conn.execute(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                "WHERE contype = 'f' AND confrelid = 'access_event'::regclass"
            ).fetchall():
                conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            conn.execute("ALTER TABLE access_event RENAME TO access_event_old")
            if conn.execute("SELECT to_regclass('access_event_pkey')").fetchone()[0]:
                conn.execute(
                    "ALTER TABLE access_event_old RENAME CONSTRAINT access_event_pkey "
                    "TO access_event_old_pkey"
                )
            lo, hi = conn.execute(
                "SELECT coalesce(min(occurred_at), now()), greatest(max(occurred_at), now()) "
                "FROM access_event_old"
            ).fetchone()
            if layout is None:
                conn.execute(
                    "CREATE TABLE access_event (LIKE access_event_old INCLUDING DEFAULTS "
                    "INCLUDING CONSTRAINTS)"
                )
                conn.execute("ALTER TABLE access_event ADD PRIMARY KEY (id)")
            else:
                create_partitioned(
                    conn, "access_event", "access_event_old", layout, lo, hi + timedelta(days=7)
                )
            conn.execute("INSERT INTO access_event SELECT * FROM access_event_old")
            statements = index_statements(conn, "access_event_old", "access_event")
            conn.execute("ALTER SEQUENCE access_event_id_seq OWNED BY access_event.id")
            conn.execute("DROP TABLE access_event_old")
            for sql in statements:  # by their old names, now that the old table is gone
                conn.execute(sql)
        conn.execute("VACUUM ANALYZE access_event")
        return "partitioned by " + layout if layout else "plain"
