"""The benchmark's database: one compound with its people, passes and history, and the
settings the servers share with the process that fills it."""

from __future__ import annotations

import contextlib
import io
import os
import random
import secrets
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "kiosk_bench"
SCAN_PATH = "/api/v1/scans"
TABLET_SCAN_PATH = "/gate/scan"
GATES = 4
GUARD, GUARD_PIN = "bench_guard", "2468"  # signs in on every tablet for the tablet door
BUILDINGS = 20
UNITS = 5  # per building
FLOORS = 10  # per unit, 2 rooms a floor: 20 buildings x 5 x 10 x 2 = 2,000 households
RESIDENTS = 5_000
PAPER_SHARE = 0.10
OBSERVATION_SHARE = 0.02
EVENTS = 100_000
HISTORY_DAYS = 14

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国海燕红梅志文斌晨"

# ---------------------------------------------------------------------------------------------
# Database


def create_database(args, tmp: Path) -> str:
    if not args.pg:
        return "sqlite:///" + str(tmp / "bench.sqlite3")
    _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)', f'CREATE DATABASE "{PG_DB}"')
    return f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"


def drop_database(args) -> None:
    if args.pg:
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def _pg_admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


def make_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(32),
        PASS_KEYS="B:" + secrets.token_urlsafe(32),
        ID_HASH_KEY=secrets.token_urlsafe(32),
        PYTHONUNBUFFERED="1",
    )
    return env


def build_app(env: dict[str, str]):
    """The real app, configured from the same environment as the servers."""
    for key in ("DATABASE_URL", "SECRET_KEY", "PASS_KEYS", "ID_HASH_KEY"):
        os.environ[key] = env[key]
    sys.path.insert(0, str(ROOT))
    from kiosk import create_app

    return create_app()


def migrate(app) -> None:
    from flask_migrate import upgrade

    log = io.StringIO()
    try:
        # alembic's env.py sets up logging to stderr; keep its INFO lines out of the report
        with app.app_context(), contextlib.redirect_stderr(log):
            upgrade(directory=app.extensions["migrate"].directory)
    except Exception:
        print(log.getvalue(), file=sys.stderr)
        raise


def fill(app, seed: int) -> dict:
    """Write the compound and its history with Core executemany; returns what the load needs."""
    from sqlalchemy import insert, text

    from kiosk.extensions import db
    from kiosk.models import (
        AccessEvent,
        Building,
        Community,
        Compound,
        Device,
        Gate,
        Household,
        Pass,
        Resident,
        Street,
        User,
        utcnow,
    )
    from kiosk.services.security import hash_password, keyed_hash, token_hash

    rng = random.Random(seed)
    now = utcnow()
    t0 = time.perf_counter()
    with app.app_context():
        tokens = [secrets.token_urlsafe(32) for _ in range(GATES)]
        households = []
        for b in range(1, BUILDINGS + 1):
            for unit in range(1, UNITS + 1):
                for floor in range(1, FLOORS + 1):
                    for room in (1, 2):
                        households.append(
                            dict(
                                id=len(households) + 1,
                                building_id=b,
                                unit=str(unit),
                                room=f"{floor}0{room}",
                                observation_until=None,
                                observation_reason=None,
                            )
                        )
        observed = set(
            rng.sample(range(1, len(households) + 1), round(len(households) * OBSERVATION_SHARE))
        )
        for h in households:
            if h["id"] in observed:
                h["observation_until"] = now + timedelta(days=rng.randint(1, 14))
                h["observation_reason"] = "密接 居家观察"

        sizes = [2] * len(households)
        for _ in range(RESIDENTS - 2 * len(households)):
            sizes[rng.randrange(len(households))] += 1
        residents = []
        household_of = {}
        for h, size in zip(households, sizes, strict=True):
            for _ in range(size):
                rid = len(residents) + 1
                id_number = f"11010{rng.randint(10**12, 10**13 - 1)}"
                phone = f"1{rng.choice('3589')}{rng.randint(10**8, 10**9 - 1)}"
                residents.append(
                    dict(
                        id=rid,
                        household_id=h["id"],
                        name=rng.choice(SURNAMES)
                        + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                        id_hash=keyed_hash(id_number),
                        id_last4=id_number[-4:],
                        phone_hash=keyed_hash(phone),
                        phone_last4=phone[-4:],
                        created_at=now - timedelta(days=rng.uniform(30, 200)),
                    )
                )
                household_of[rid] = h["id"]

        passes = []
        for r in residents:
            passes.append(_pass(len(passes) + 1, r, "resident", now, rng))
        for r in rng.sample(residents, round(RESIDENTS * PAPER_SHARE)):
            passes.append(_pass(len(passes) + 1, r, "paper", now, rng))

        events, last_allowed = _history(passes, household_of, observed, now, rng)
        # Each person's state row as the gate keeps it (services/scan.py): where the person's
        # phone pass last passed, which is where the load starts from (``scan_plan``).
        for p in passes:
            if p["kind"] == "resident" and p["id"] in last_allowed:
                residents[p["resident_id"] - 1]["presence"] = last_allowed[p["id"]]
        for r in residents:
            r.setdefault("presence", None)

        core = [
            (Street, [dict(id=1, name="花乡街道")]),
            (Community, [dict(id=1, street_id=1, name="樱桃园社区")]),
            (
                Compound,
                [
                    dict(
                        id=1,
                        community_id=1,
                        name="樱桃园小区",
                        seal_state="open",
                        temperature_required=True,
                        fever_threshold=37.3,
                    )
                ],
            ),
            (
                Gate,
                [
                    dict(id=g, compound_id=1, name=n, is_open=True)
                    for g, n in enumerate(("东门", "西门", "南门", "北门"), 1)
                ],
            ),
            (
                Device,
                [
                    dict(
                        id=g,
                        gate_id=g,
                        name=f"tablet-{g}",
                        kind="tablet",
                        token_hash=token_hash(tokens[g - 1]),
                        created_at=now - timedelta(days=60),
                    )
                    for g in range(1, GATES + 1)
                ],
            ),
            (
                Building,
                [
                    dict(id=b, compound_id=1, name=f"{b}号楼", seal_state="open")
                    for b in range(1, BUILDINGS + 1)
                ],
            ),
            (Household, households),
            (Resident, residents),
            (Pass, passes),
            (
                User,
                [
                    dict(
                        id=1,
                        username=GUARD,
                        role="guard",
                        community_id=1,
                        password_hash=hash_password(secrets.token_urlsafe(16)),
                        pin_hash=hash_password(GUARD_PIN),
                        active=True,
                        created_at=now - timedelta(days=60),
                    )
                ],
            ),
        ]
        with db.engine.begin() as conn:
            for model, rows in core:
                conn.execute(insert(model.__table__), rows)
            if conn.dialect.name == "postgresql":
                # The rows are consistent by construction: skip the per-row foreign-key triggers
                # (the bench connects as the superuser postgres), and COPY rather than executemany
                # (psycopg sends one statement a row).
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                _copy(conn, AccessEvent.__table__, events)
            else:
                conn.execute(insert(AccessEvent.__table__), events)
            if conn.dialect.name == "postgresql":  # explicit ids do not advance the sequences
                for model, _rows in core:
                    table = model.__table__.name
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f'(SELECT max(id) FROM "{table}"))'
                        )
                    )
            conn.execute(text("ANALYZE"))
        db.engine.dispose()
    return dict(
        tokens=tokens,
        resident_passes=[p["id"] for p in passes if p["kind"] == "resident"],
        last_allowed=last_allowed,
        counts=dict(
            households=len(households),
            residents=len(residents),
            passes=len(passes),
            observed=len(observed),
            events=len(events),
        ),
        seconds=time.perf_counter() - t0,
    )


def _copy(conn, table, rows: list[dict]) -> None:
    """PostgreSQL COPY of rows (all with the same keys) through the connection's psycopg cursor."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


def _pass(pid: int, resident: dict, kind: str, now, rng) -> dict:
    valid_from = now - timedelta(days=rng.uniform(HISTORY_DAYS + 1, 120))
    return dict(
        id=pid,
        resident_id=resident["id"],
        kind=kind,
        valid_from=valid_from,
        valid_until=now + timedelta(days=30) if kind == "paper" else None,
        revoked_at=None,
        created_at=valid_from,
    )


def _history(passes, household_of, observed, now, rng):
    """Past events: per pass in time order, direction flipping after each allowed passage."""
    start = now - timedelta(days=HISTORY_DAYS)
    span = (now - start).total_seconds() - 120
    weights = [1.0 if p["kind"] == "resident" else 0.5 for p in passes]
    invalid = EVENTS // 100  # unreadable or foreign codes: no pass
    per_pass = defaultdict(list)
    for p in rng.choices(passes, weights, k=EVENTS - invalid):
        per_pass[p["id"]].append(start + timedelta(seconds=rng.uniform(0, span)))
    by_id = {p["id"]: p for p in passes}
    events = []
    last_allowed = {}
    for pid, times in per_pass.items():
        p = by_id[pid]
        home = rng.randrange(1, GATES + 1)
        under_observation = household_of[p["resident_id"]] in observed
        last = rng.choice(("in", "out"))
        for at in sorted(times):
            gate = home if rng.random() < 0.7 else rng.randrange(1, GATES + 1)
            direction = "out" if last == "in" else "in"
            roll = rng.random()
            temp = round(rng.uniform(36.0, 37.2), 1) if direction == "in" else None
            if direction == "out" and under_observation:
                decision, reasons = "deny", "home_observation"
            elif roll < 0.92:
                decision, reasons = "allow", ""
            elif roll < 0.96:
                direction, temp = last, (36.6 if last == "in" else None)
                decision = "refer"
                reasons = "already_inside" if last == "in" else "already_outside"
            elif direction == "in":
                decision, reasons, temp = "deny", "fever", round(rng.uniform(37.3, 38.6), 1)
            else:
                decision, reasons = "refer", "temperature_required"
                direction, temp = "in", None
            if decision == "allow":
                last = direction
            events.append(_event(at, gate, direction, p, temp, decision, reasons, len(events)))
        last_allowed[pid] = last
    for _ in range(invalid):
        at = start + timedelta(seconds=rng.uniform(0, span))
        gate = rng.randrange(1, GATES + 1)
        events.append(_event(at, gate, "in", None, None, "deny", "invalid_code", len(events)))
    events.sort(key=lambda e: e["occurred_at"])  # ids ascending with time, as in real life
    return events, last_allowed


def _event(at, gate, direction, p, temp, decision, reasons, n) -> dict:
    return dict(
        occurred_at=at,
        gate_id=gate,
        device_id=gate,
        user_id=None,
        direction=direction,
        pass_id=p["id"] if p else None,
        resident_id=p["resident_id"] if p else None,
        temperature=temp,
        decision=decision,
        reasons=reasons,
        request_id=f"h{n:x}",
        manual=False,
    )


def pick_passes(data: dict, n: int, seed: int) -> list[int]:
    return random.Random(seed + 1).sample(
        data["resident_passes"], min(n, len(data["resident_passes"]))
    )


def scan_plan(app, data: dict, ids: list[int], seconds_ahead: float) -> dict:
    """Passes to scan, their first direction, device, and their codes for each time step ahead."""
    from kiosk.models import Pass
    from kiosk.services.passes import code_for

    step_seconds = app.config["PASS_STEP_SECONDS"]
    now = time.time()
    base = int(now // step_seconds)
    steps = range(base, int((now + seconds_ahead) // step_seconds) + 2)
    with app.app_context():
        codes = [
            [code_for(Pass(id=pid, kind="resident"), step * step_seconds) for pid in ids]
            for step in steps
        ]
    first = ["out" if data["last_allowed"].get(pid, "out") == "in" else "in" for pid in ids]
    devices = [i % len(data["tokens"]) for i in range(len(ids))]
    return dict(
        ids=ids, base=base, step_seconds=step_seconds, codes=codes, first=first, devices=devices
    )
