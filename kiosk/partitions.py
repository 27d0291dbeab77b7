"""PostgreSQL: the access log and the visits partitioned by week (native declarative
partitioning).

``access_event`` is ``PARTITION BY RANGE (occurred_at)`` and ``visit`` by ``created_at``
(``TABLES``), one partition per week (Monday 00:00 UTC to the next), named
``access_event_pYYYYMMDD`` (``visit_p...``) by the week's first day, and a default partition
that catches anything outside them, so an insert never fails for want of a partition.
A trace over days reads only the weeks it covers; the purge drops a whole week once every
street's retention period has passed it, instead of deleting its rows one by one.

On a partitioned table the primary key is (id, occurred_at), nothing is unique across
partitions and no foreign key can point at it: a device's request id is kept unique in
``scan_request`` and a scan's one guard's decision in ``scan_decision`` (both engines alike),
and the links to an event (alerts, a decision's parent) are kept by the application, which is
the only writer and whose purge removes them first.

SQLite keeps one table (the purge deletes in batches there). ``convert`` turns the plain table
that ``CREATE TABLE`` (``db.create_all`` or the first migrations) made into the partitioned one;
``ensure`` makes the coming weeks' partitions (run by the purge, daily); ``drop_before`` drops
the weeks that ended before a moment. Every function takes a connection in a transaction and
does nothing on SQLite.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLE = "access_event"
# The partitioned tables and the column each is partitioned by.
TABLES = {"access_event": "occurred_at", "visit": "created_at"}
DEFAULT = f"{TABLE}_default"
# The links into each table, by the names the migrations gave them (put back by ``revert``).
LINKS = {
    "access_event": (
        ("alert", "event_id", "alert_event_id_fkey"),
        ("alert", "closed_by_event_id", "fk_alert_closed_by_event_id_access_event"),
        ("access_event", "parent_id", "fk_access_event_parent_id"),
    ),
    "visit": (
        ("access_event", "visit_id", "fk_access_event_visit_id"),
        ("visit_invite", "visit_id", "visit_invite_visit_id_fkey"),
    ),
}
WEEK = timedelta(days=7)
WEEKS_AHEAD = 4
# A purge that drops a week waits at most this long for the table's lock, then tries later:
# scans queue behind a waiting lock, so the wait must stay short.
LOCK_TIMEOUT = "50ms"


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


# Two purges at the same moment (two timers, or cron and a hand): one changes the partitions
# at a time, the other waits, then finds the work done.
_LOCK_KEY = 0x6B696F736B  # "kiosk"


def lock(conn: Connection) -> None:
    """Hold the partitions' maintenance lock until the transaction ends (PostgreSQL)."""
    if _postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def exists(conn: Connection, name: str) -> bool:
    return conn.scalar(text("SELECT to_regclass(:n)"), {"n": name}) is not None


def is_partitioned(conn: Connection, table: str = TABLE) -> bool:
    if not _postgres(conn):
        return False
    kind = conn.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    )
    return kind == "p"


def week_start(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _bounds(start: date) -> tuple[datetime, datetime]:
    lo = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return lo, lo + WEEK


def _name(start: date, table: str = TABLE) -> str:
    return f"{table}_p{start:%Y%m%d}"


def convert(conn: Connection, now: datetime, table: str = TABLE) -> bool:
    """Make a plain table of ``TABLES`` a partitioned one with the same columns, defaults,
    indexes and outgoing foreign keys, its rows moved over; False when it already is one (or
    on SQLite)."""
    if not _postgres(conn) or is_partitioned(conn, table):
        return False
    column = TABLES[table]
    q = conn.execute
    # Links into the table cannot stay: drop every foreign key that points at it.
    for other, name in q(
        text(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = to_regclass(:t) AND conparentid = 0"
        ),
        {"t": table},
    ).all():
        q(text(f'ALTER TABLE {other} DROP CONSTRAINT "{name}"'))
    indexes = _index_definitions(conn, table)
    foreign = _foreign_keys(conn, table)
    for definition in indexes:
        q(text(f'DROP INDEX "{definition.split(" ON ")[0].split()[-1]}"'))  # CREATE INDEX name
    old = f"{table}_unpartitioned"
    q(text(f"ALTER TABLE {table} RENAME TO {old}"))
    q(text(f"ALTER TABLE {old} RENAME CONSTRAINT {table}_pkey TO {old}_pkey"))
    q(
        text(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            f"PARTITION BY RANGE ({column})"
        )
    )
    q(text(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, {column})"))
    q(text(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id"))
    for name, definition in foreign:
        q(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for definition in indexes:
        q(text(definition))  # read before the rename: "CREATE INDEX ... ON public.<table>"
    q(text(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT"))
    first = q(text(f"SELECT min({column}) FROM {old}")).scalar()
    ensure(conn, now, since=first, table=table)
    q(text(f"INSERT INTO {table} SELECT * FROM {old}"))
    q(text(f"DROP TABLE {old}"))
    return True


def _index_definitions(conn: Connection, table: str) -> list[str]:
    return list(
        conn.scalars(
            text(
                "SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x "
                "WHERE x.indrelid = to_regclass(:t) AND NOT x.indisprimary"
            ),
            {"t": table},
        )
    )


def _foreign_keys(conn: Connection, table: str) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in conn.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = to_regclass(:t)"
            ),
            {"t": table},
        )
    ]


def revert(conn: Connection, table: str = TABLE) -> bool:
    """Turn a partitioned table back into one plain table (a migration's downgrade), with its
    rows, indexes and foreign keys, and the links into it again (``LINKS``); False if it is not
    partitioned."""
    if not is_partitioned(conn, table):
        return False
    q = conn.execute
    indexes = _index_definitions(conn, table)
    foreign = _foreign_keys(conn, table)
    plain = f"{table}_plain"
    q(text(f"CREATE TABLE {plain} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    q(text(f"INSERT INTO {plain} SELECT * FROM {table}"))
    q(text(f"ALTER SEQUENCE {table}_id_seq OWNED BY {plain}.id"))
    q(text(f"DROP TABLE {table}"))
    q(text(f"ALTER TABLE {plain} RENAME TO {table}"))
    q(text(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id)"))
    for name, definition in foreign:
        q(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for definition in indexes:
        q(text(definition.replace(" ON ONLY ", " ON ")))
    for other, column, name in LINKS[table]:  # a partitioned table may point at a plain one
        q(
            text(
                f'ALTER TABLE {other} ADD CONSTRAINT "{name}" '
                f"FOREIGN KEY ({column}) REFERENCES {table}(id)"
            )
        )
    return True


def ensure(
    conn: Connection, now: datetime, since: datetime | None = None, table: str = TABLE
) -> list[str]:
    """The partitions of the weeks from ``since`` (default this week) to ``WEEKS_AHEAD`` weeks
    after ``now``, made where missing; rows the default partition caught for such a week move
    into it. The names of the partitions made."""
    if not is_partitioned(conn, table):
        return []
    column = TABLES[table]
    start = week_start(min(since, now) if since else now)
    last = week_start(now) + WEEKS_AHEAD * WEEK
    made = []
    lock(conn)
    # Attaching takes the default partition's lock: wait briefly, or fail and try next run.
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    while start <= last:
        name = _name(start, table)
        if not exists(conn, name):
            lo, hi = _bounds(start)
            span = {"lo": lo, "hi": hi}
            conn.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
            conn.execute(
                text(
                    f"WITH moved AS (DELETE FROM {table}_default WHERE {column} >= :lo "
                    f"AND {column} < :hi RETURNING *) INSERT INTO {name} SELECT * FROM moved"
                ),
                span,
            )
            conn.execute(
                text(
                    f"ALTER TABLE {table} ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
                )
            )
            made.append(name)
        start += WEEK
    return made


def weeks(conn: Connection, table: str = TABLE) -> list[tuple[str, datetime, datetime]]:
    """The weekly partitions there are, oldest first: (name, from, to)."""
    if not is_partitioned(conn, table):
        return []
    prefix = f"{table}_p"
    names = conn.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t) AND c.relname LIKE :p ORDER BY c.relname"
        ),
        {"t": table, "p": prefix + "%"},
    ).all()
    out = []
    for name in names:
        start = datetime.strptime(name[len(prefix) :], "%Y%m%d").date()
        out.append((name, *_bounds(start)))
    return out


def drop_before(
    conn: Connection, cutoff: datetime, table: str = TABLE
) -> list[tuple[str, datetime, datetime]]:
    """Drop the weeks that ended at or before ``cutoff``: the caller has already counted their
    rows and removed what links to them. Waits at most ``LOCK_TIMEOUT`` for each week."""
    dropped = []
    lock(conn)
    for name, lo, hi in weeks(conn, table):
        if hi > cutoff:
            break
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
        conn.execute(text(f"DROP TABLE {name}"))
        dropped.append((name, lo, hi))
    return dropped
