"""Load benchmark of the scan endpoint, with a bare Flask app as the yardstick.

    .venv/bin/python bench/scan.py            # SQLite file in a temp dir
    .venv/bin/python bench/scan.py --pg       # PostgreSQL database kiosk_bench on 127.0.0.1
    .venv/bin/python bench/scan.py --profile  # no server: scans in-process under cProfile

One run: a fresh database with the real migrations, filled with one compound (4 gates,
20 buildings, 2,000 households, 5,000 residents, 5,500 passes, 100,000 past events). Two gunicorn
servers with the same settings (sync workers, no access log): the app on that database, and
bench/bare_app.py (one route answering 1 KB) as the yardstick. wrk warms each up, then measures
the scan endpoint (POST /api/v1/scans with valid rotating codes, one event row per request,
counted afterwards) and the bare route (GET), alternating with --runs. Prints req/s, p50, p99 and
the server's CPU per request for both; the last line is the throughput ratio. The machine is
shared: CPU ms per request is steadier than req/s.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "kiosk_bench"
SCAN_PATH = "/api/v1/scans"

GATES = 4
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


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pg", action="store_true", help=f"use PostgreSQL (database {PG_DB})")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    p.add_argument("--duration", type=int, default=10, help="seconds measured per server (10)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server (2)")
    p.add_argument("--runs", type=int, default=1, help="measured runs per server, alternating (1)")
    p.add_argument("--bodies", type=int, default=400, help="distinct passes scanned (400)")
    p.add_argument("--seed", type=int, default=1, help="data generator seed (1)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--profile", action="store_true", help="in-process scans under cProfile")
    p.add_argument("--scans", type=int, default=2000, help="scans profiled with --profile (2000)")
    p.add_argument("--top", type=int, default=25, help="rows of each profile table (25)")
    args = p.parse_args(argv)
    if args.runs < 1 or args.duration < 1:
        p.error("--runs and --duration must be at least 1")
    if args.connections < args.threads:
        p.error("--connections must be at least --threads")
    return args


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
        utcnow,
    )
    from kiosk.services.security import keyed_hash, token_hash

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


# ---------------------------------------------------------------------------------------------
# wrk


def _lua_str(s: str) -> str:
    return json.dumps(s)  # a JSON string of ASCII text is a valid Lua string literal


def scan_lua(plan: dict, tokens: list[str]) -> str:
    codes = ",\n".join("{" + ",".join(_lua_str(c) for c in step) + "}" for step in plan["codes"])
    headers = ",\n".join(
        '{["Authorization"]=' + _lua_str("Bearer " + t) + ', ["Content-Type"]="application/json"}'
        for t in tokens
    )
    return f"""-- generated by bench/scan.py
local STEP = {plan["step_seconds"]}
local BASE = {plan["base"]}
local CODES = {{
{codes}
}}
local HEADERS = {{
{headers}
}}
local FIRST = {{{",".join(_lua_str(d) for d in plan["first"])}}}
local DEVICE = {{{",".join(str(d + 1) for d in plan["devices"])}}}
local NPASS = {len(plan["ids"])}
local PATH = {_lua_str(SCAN_PATH)}
{STATUS_LUA}
local tag, n, mine, pos, dir
function init(args)
  tag = args[1] or "r"
  local nthreads = tonumber(args[2]) or 1
  n, pos, mine, dir = 0, 0, {{}}, {{}}
  -- each thread scans its own passes, so no pass is in flight twice and directions alternate
  for i = tid, NPASS, nthreads do mine[#mine + 1] = i end
  if #mine == 0 then mine[1] = (tid - 1) % NPASS + 1 end
  bad, first_bad = 0, nil
end

function request()
  n = n + 1
  pos = pos % #mine + 1
  local p = mine[pos]
  local s = math.floor(os.time() / STEP) - BASE + 1
  if s < 1 then s = 1 elseif s > #CODES then s = #CODES end
  local d = dir[p] or FIRST[p]
  dir[p] = (d == "in") and "out" or "in"
  local body = '{{"code":"' .. CODES[s][p] .. '","direction":"' .. d
    .. '","temperature":36.5,"request_id":"' .. tag .. "-" .. tid .. "-" .. n .. '"}}'
  return wrk.format("POST", PATH, HEADERS[DEVICE[p]], body)
end
"""


STATUS_LUA = """
local threads, nthread = {}, 0
function setup(thread)
  nthread = nthread + 1
  thread:set("tid", nthread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if first_bad == nil then first_bad = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    local b = t:get("bad") or 0
    total = total + b
    if b > 0 then io.write("NON-200 sample: ", tostring(t:get("first_bad")), "\\n") end
  end
  io.write("NON-200 responses: ", total, "\\n")
end
"""

GET_LUA = (
    STATUS_LUA
    + """
function init(args)
  bad, first_bad = 0, nil
end
"""
)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if m is None:
        raise ValueError(f"latency {text!r}")
    return float(m[1]) * _UNITS_MS[m[2]]


def parse_wrk(out: str) -> dict:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s*(\d+) requests in ([\d.]+\w+)", out, re.M)
    if rps is None or total is None:
        raise RuntimeError("cannot read wrk output:\n" + out)
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non200 = re.search(r"NON-200 responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return dict(
        rps=float(rps[1]),
        requests=int(total[1]),
        p50_ms=_ms(lat["50"]),
        p99_ms=_ms(lat["99"]),
        non_2xx=int(non2xx[1]) if non2xx else 0,
        non_200=int(non200[1]) if non200 else None,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True)
        )
        if sock
        else {},
    )


def run_wrk(
    url: str, args, seconds: int, script: Path | None, wrk_args: list[str]
) -> tuple[dict, str]:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if wrk_args:
        cmd += ["--", *wrk_args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return parse_wrk(proc.stdout), proc.stdout


def failures_of(name: str, result: dict) -> list[str]:
    out = []
    if result["non_2xx"]:
        out.append(f"{name}: {result['non_2xx']} non-2xx/3xx responses")
    if result["non_200"]:
        out.append(f"{name}: {result['non_200']} responses other than 200")
    errors = {k: v for k, v in result["socket_errors"].items() if v}
    if errors:
        out.append(f"{name}: socket errors {errors}")
    return out


# ---------------------------------------------------------------------------------------------
# gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with sync workers, no access log; always stopped by ``stop``."""

    def __init__(self, app_spec: str, env: dict, workers: int, tmp: Path, name: str, ready: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"gunicorn-{name}.log"
        cmd = [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--pythonpath",
            str(ROOT / "bench"),
            "--error-logfile",
            str(self.log),
            "--log-level",
            "warning",
            app_spec,
        ]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait(ready, workers)
        except BaseException:
            self.stop()
            raise

    def _wait(self, path: str, workers: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_text()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as r:
                    if r.status == 200 and len(self.workers()) >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {path} in {timeout} s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def workers(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def cpu_seconds(self) -> float:
        """User+system CPU of the worker processes so far."""
        return sum(_proc_cpu_seconds(pid) for pid in self.workers())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------------
# The run


def count_events(app) -> int:
    from sqlalchemy import func, select

    from kiosk.extensions import db
    from kiosk.models import AccessEvent

    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(AccessEvent))
        db.session.rollback()
        return n


def settle_events(app, before: int) -> int:
    """New events once in-flight requests have finished (wrk stops with requests in flight)."""
    last = -1
    for _ in range(30):
        n = count_events(app) - before
        if n == last:
            return n
        last = n
        time.sleep(0.3)
    return last


def decisions_since(app, first_new_id: int) -> dict:
    from sqlalchemy import func, select

    from kiosk.extensions import db
    from kiosk.models import AccessEvent

    with app.app_context():
        rows = db.session.execute(
            select(AccessEvent.decision, func.count())
            .where(AccessEvent.id >= first_new_id)
            .group_by(AccessEvent.decision)
        ).all()
        db.session.rollback()
        return {d: n for d, n in rows}


def max_event_id(app) -> int:
    from sqlalchemy import func, select

    from kiosk.extensions import db
    from kiosk.models import AccessEvent

    with app.app_context():
        n = db.session.scalar(select(func.max(AccessEvent.id)))
        db.session.rollback()
        return n or 0


def _proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def db_cpu_seconds(app) -> dict[int, float]:
    """PostgreSQL only: CPU seconds so far of each server process serving the bench database."""
    from sqlalchemy import text

    from kiosk.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return {}
        pids = db.session.scalars(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
        db.session.rollback()
    return {pid: _proc_cpu_seconds(pid) for pid in pids}


def measure_scan(server: Server, app, args, script: Path, tag: str) -> dict:
    before = settle_events(app, 0)  # earlier scans still in flight land first
    first_id = max_event_id(app) + 1
    cpu0, db0 = server.cpu_seconds(), db_cpu_seconds(app)
    r, out = run_wrk(server.url + SCAN_PATH, args, args.duration, script, [tag, str(args.threads)])
    # CPU once the requests in flight at the end have finished too, per request processed.
    r["events_written"] = settle_events(app, before)
    processed = max(r["events_written"], 1)
    r["cpu_ms_per_req"] = (server.cpu_seconds() - cpu0) * 1000 / processed
    if args.pg:
        db_ms = sum(cpu - db0.get(pid, 0.0) for pid, cpu in db_cpu_seconds(app).items())
        r["db_cpu_ms_per_req"] = db_ms * 1000 / processed
    r["decisions"] = decisions_since(app, first_id)
    r["failures"] = failures_of("scan", r)
    if r["non_200"] or r["non_2xx"]:
        print(out, file=sys.stderr)
    low, high = r["requests"], r["requests"] + args.connections
    if not low <= r["events_written"] <= high:
        r["failures"].append(
            f"scan: {r['events_written']} events written for {r['requests']} answered requests "
            f"(expected {low} to {high}: one per request, plus those in flight at the end)"
        )
    return r


def measure_bare(server: Server, args) -> dict:
    cpu0 = server.cpu_seconds()
    r, _out = run_wrk(server.url + "/", args, args.duration, None, [])
    r["cpu_ms_per_req"] = (server.cpu_seconds() - cpu0) * 1000 / max(r["requests"], 1)
    r["failures"] = failures_of("bare", r)
    return r


def summary(runs: list[dict]) -> dict:
    """Medians of the figures over the runs; counts summed."""
    out = dict(runs[0])
    for key in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_req", "db_cpu_ms_per_req"):
        if key in out:
            out[key] = statistics.median(r[key] for r in runs)
    for key in ("requests", "non_2xx", "events_written"):
        if key in out:
            out[key] = sum(r[key] for r in runs)
    if "decisions" in out:
        decisions: dict[str, int] = defaultdict(int)
        for r in runs:
            for k, v in r["decisions"].items():
                decisions[k] += v
        out["decisions"] = dict(decisions)
    out["failures"] = [f for r in runs for f in r["failures"]]
    out["runs"] = [{k: v for k, v in r.items() if k != "failures"} for r in runs]
    return out


def app_version() -> str:
    """The commit the app runs from, marked when the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "kiosk", "migrations", "wsgi.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+changes" if dirty else "")


def load_run(args, tmp: Path, env: dict, app, data: dict) -> int:
    """Both servers up at once; warm each, then alternate measured scan and bare runs."""
    nonce = secrets.token_hex(3)
    # Each wrk run scans its own passes, so every pass starts opposite its last passage and the
    # decisions stay mostly "allow" as at a real gate.
    slices = args.runs + 1
    ids = pick_passes(data, slices * args.bodies, args.seed)
    seconds_ahead = 60 + 2 * args.warmup + args.runs * (2 * args.duration + 5)
    scripts = []
    for k in range(slices):
        part = ids[k::slices] or ids
        path = tmp / f"scan{k}.lua"
        path.write_text(scan_lua(scan_plan(app, data, part, seconds_ahead), data["tokens"]))
        scripts.append(path)
    bare_script = tmp / "bare.lua"
    bare_script.write_text(GET_LUA)

    failures: list[str] = []
    servers: list[Server] = []
    scans, bares = [], []
    try:
        scan_server = Server("wsgi:app", env, args.workers, tmp, "scan", "/healthz")
        servers.append(scan_server)
        bare_server = Server("bare_app:app", env, args.workers, tmp, "bare", "/")
        servers.append(bare_server)
        warm, out = run_wrk(
            scan_server.url + SCAN_PATH,
            args,
            args.warmup,
            scripts[0],
            [f"w{nonce}", str(args.threads)],
        )
        failures += failures_of("scan warm-up", warm)
        if warm["non_200"]:
            print(out, file=sys.stderr)
        warm, _ = run_wrk(bare_server.url + "/", args, args.warmup, bare_script, [])
        failures += failures_of("bare warm-up", warm)
        for k in range(args.runs):
            scans.append(measure_scan(scan_server, app, args, scripts[k + 1], f"m{k}{nonce}"))
            bares.append(measure_bare(bare_server, args))
    finally:
        for server in servers:
            server.stop()
    scan, bare = summary(scans), summary(bares)
    failures += scan["failures"] + bare["failures"]
    ratio = scan["rps"] / bare["rps"] if bare["rps"] else 0.0

    db_name = "postgresql" if args.pg else "sqlite"
    version = app_version()
    for f in failures:
        print("FAILURE: " + f)
    print()
    runs = f", median of {args.runs} alternating runs" if args.runs > 1 else ""
    print(
        f"gunicorn --workers {args.workers} (sync), wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s --latency, {os.cpu_count()} CPUs, database {db_name}{runs}, "
        f"app {version}"
    )
    db_col = f" {'PG CPU ms/req':>14}" if args.pg else ""
    print(
        f"{'':17} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'app CPU ms/req':>14}{db_col} "
        f"{'requests':>8}"
    )
    for name, r in ((f"scan ({db_name})", scan), ("bare Flask", bare)):
        db_val = (
            f" {r['db_cpu_ms_per_req']:14.2f}" if "db_cpu_ms_per_req" in r else " " * len(db_col)
        )
        print(
            f"{name:17} {r['rps']:7.0f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} "
            f"{r['cpu_ms_per_req']:14.2f}{db_val} {r['requests']:8d}"
        )
    if args.runs > 1:
        print("req/s per run: scan " + " ".join(f"{r['rps']:.0f}" for r in scans), end="")
        print(", bare " + " ".join(f"{r['rps']:.0f}" for r in bares))
    decisions = ", ".join(f"{k} {v}" for k, v in sorted(scan["decisions"].items()))
    print(f"scan events written: {scan['events_written']} ({decisions})")
    print(f"load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    if args.json:
        doc = dict(
            command=" ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            database=db_name,
            app=version,
            workers=args.workers,
            wrk=dict(threads=args.threads, connections=args.connections, duration_s=args.duration),
            runs=args.runs,
            cpus=os.cpu_count(),
            data=data["counts"],
            fill_seconds=round(data["seconds"], 2),
            scan=scan,
            bare=bare,
            ratio=round(ratio, 4),
            failures=failures,
            at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        Path(args.json).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"scan/bare throughput ratio: {ratio:.2f}")
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------
# --profile


def _wsgi_call(wsgi, environ) -> tuple[str, bytes]:
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    it = wsgi(environ, start_response)
    try:
        body = b"".join(it)
    finally:
        if hasattr(it, "close"):
            it.close()
    return status[0], body


def profile_run(args, app, data: dict) -> int:
    """Scans through the WSGI app in-process (as a gunicorn worker calls it), under cProfile."""
    import pstats
    import sysconfig

    from sqlalchemy import event
    from werkzeug.test import EnvironBuilder

    from kiosk.extensions import db

    sys.path.insert(0, str(ROOT / "bench"))
    from bare_app import app as bare

    plan = scan_plan(app, data, pick_passes(data, args.bodies, args.seed), 900)
    tokens, dirs, counter = data["tokens"], {}, [0]

    def scan_environ(tag: str) -> dict:
        i = counter[0] = counter[0] + 1
        p = i % len(plan["ids"])
        d = dirs.get(p, plan["first"][p])
        dirs[p] = "out" if d == "in" else "in"
        s = int(time.time() // plan["step_seconds"]) - plan["base"]
        code = plan["codes"][max(0, min(s, len(plan["codes"]) - 1))][p]
        body = {"code": code, "direction": d, "temperature": 36.5, "request_id": f"{tag}-{i}"}
        return EnvironBuilder(
            path=SCAN_PATH,
            method="POST",
            json=body,
            headers={"Authorization": "Bearer " + tokens[plan["devices"][p]]},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        ).get_environ()

    def bare_environ(_tag: str) -> dict:
        return EnvironBuilder(path="/", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    bad: list[str] = []

    def run(wsgi, make_environ, n: int, tag: str, prof=None) -> tuple[float, float]:
        """Wall and CPU seconds inside the app for n requests (building environs not counted)."""
        wall = cpu = 0.0
        for _ in range(n):
            environ = make_environ(tag)
            t, c = time.perf_counter(), time.process_time()
            if prof is not None:
                prof.enable()
            status, body = _wsgi_call(wsgi, environ)
            if prof is not None:
                prof.disable()
            wall += time.perf_counter() - t
            cpu += time.process_time() - c
            if not status.startswith("200") and len(bad) < 5:
                bad.append(f"{tag}: {status} {body[:300]!r}")
        return wall, cpu

    n = args.scans
    before = count_events(app)
    run(app, scan_environ, 100, "warm")
    run(bare, bare_environ, 100, "warm-bare")

    statements: list[str] = []

    def on_execute(_conn, _cursor, statement, *_a):
        statements.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    run(app, scan_environ, 100, "count")
    event.remove(engine, "before_cursor_execute", on_execute)

    scan_s = run(app, scan_environ, n, "plain")
    bare_s = run(bare, bare_environ, n, "plain-bare")
    prof = cProfile.Profile()
    prof_s = run(app, scan_environ, n, "prof", prof)
    written = count_events(app) - before
    expected = 100 + 100 + 2 * n

    per_kind: dict[str, int] = defaultdict(int)
    for s in statements:
        per_kind[s] += 1
    print()
    print(
        f"in-process WSGI calls, {n} requests each, database "
        f"{'postgresql' if args.pg else 'sqlite'}, app {app_version()} (wall ms / CPU ms per request):"
    )
    print(f"  scan:                {scan_s[0] / n * 1000:6.3f} / {scan_s[1] / n * 1000:6.3f}")
    print(f"  bare Flask:          {bare_s[0] / n * 1000:6.3f} / {bare_s[1] / n * 1000:6.3f}")
    print(
        f"  scan under cProfile: {prof_s[0] / n * 1000:6.3f} / {prof_s[1] / n * 1000:6.3f} "
        "(the profiler inflates Python-heavy code most)"
    )
    kinds = ", ".join(f"{k} {v / 100:.2f}" for k, v in sorted(per_kind.items()))
    print(f"  SQL statements per scan: {len(statements) / 100:.2f} ({kinds})")
    print(f"  events written: {written} for {expected} scans")

    stats = pstats.Stats(prof)
    stdlib = sysconfig.get_paths()["stdlib"] + "/"
    site = re.compile(r"^.*/site-packages/")

    def where(file: str, line: int, name: str) -> str:
        if file == "~":
            return name
        f = site.sub("", file)
        if f.startswith(str(ROOT) + "/"):
            f = f[len(str(ROOT)) + 1 :]
        elif f.startswith(stdlib):
            f = f[len(stdlib) :]
        return f"{f}:{line}({name})"

    def component(file: str, name: str) -> str:
        if file == "~":
            for key, label in (
                ("sqlite3", "sqlite3 (C)"),
                ("psycopg", "psycopg (C)"),
                ("socket", "socket I/O (C)"),
                ("select", "socket I/O (C)"),
                ("poll", "socket I/O (C)"),
                ("hashlib", "hashlib/hmac (C)"),
                ("hmac", "hashlib/hmac (C)"),
                ("_json", "json (C)"),
                ("re.Pattern", "re (C)"),
                ("_sre", "re (C)"),
            ):
                if key in name:
                    return label
            return "other builtins (C)"
        f = site.sub("", file)
        if f != file:
            return f.split("/")[0].removesuffix(".py")
        if f.startswith(str(ROOT) + "/"):
            parts = f[len(str(ROOT)) + 1 :].split("/")
            return "/".join(parts[:2]).removesuffix(".py")
        if f.startswith(stdlib):
            return "stdlib " + f[len(stdlib) :].split("/")[0].removesuffix(".py")
        return f

    rows = [
        (tt, ct, nc, where(*key), component(key[0], key[2]))
        for key, (_cc, nc, tt, ct, _callers) in stats.stats.items()
    ]
    total = sum(r[0] for r in rows)
    us = 1e6 / n

    def table(title: str, key) -> None:
        print()
        print(f"{title} (per scan; total profiled {total * us:.0f} us/scan)")
        print(f"{'calls':>7} {'self us':>8} {'cum us':>8}  function")
        for tt, ct, nc, name, _comp in sorted(rows, key=key, reverse=True)[: args.top]:
            print(f"{nc / n:7.2f} {tt * us:8.1f} {ct * us:8.1f}  {name}")

    table(f"top {args.top} by cumulative time", lambda r: r[1])
    table(f"top {args.top} by own (total) time", lambda r: r[0])

    by_comp: dict[str, float] = defaultdict(float)
    for tt, _ct, _nc, _name, comp in rows:
        by_comp[comp] += tt
    # Inclusive: the time of calls into a component from outside it (what it and all it calls
    # cost), e.g. flask_limiter's hooks, or sqlalchemy including the driver's C calls.
    incl: dict[str, float] = defaultdict(float)
    for (file, _line, name), (_cc, _nc, _tt, _ct, callers) in stats.stats.items():
        comp = component(file, name)
        for (cfile, _cline, cname), cval in callers.items():
            if component(cfile, cname) != comp:
                incl[comp] += cval[3]
    print()
    print("by component (per scan): own time, and inclusive time of the calls into it from")
    print("outside (a component re-entered through another, as flask through kiosk, counts twice)")
    print(f"{'own us':>9} {'own %':>6} {'incl us':>9}  component")
    ranked = sorted(by_comp.items(), key=lambda kv: kv[1], reverse=True)
    for comp, tt in [(c, t) for c, t in ranked if t * us >= 5 or incl.get(c, 0) * us >= 20]:
        print(f"{tt * us:9.1f} {tt / total * 100:6.1f} {incl.get(comp, 0.0) * us:9.1f}  {comp}")

    failures = list(bad)
    if written != expected:
        failures.append(f"{written} events written for {expected} scans")
    for f in failures:
        print("FAILURE: " + f)
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    app = None
    try:
        url = create_database(args, tmp)
        env = make_env(url)
        app = build_app(env)
        migrate(app)
        data = fill(app, args.seed)
        c = data["counts"]
        print(
            f"filled {'PostgreSQL ' + PG_DB if args.pg else 'SQLite ' + url[10:]} in "
            f"{data['seconds']:.1f} s: {c['households']} households ({c['observed']} under "
            f"observation), {c['residents']} residents, {c['passes']} passes, "
            f"{c['events']} past events"
        )
        if args.profile:
            return profile_run(args, app, data)
        return load_run(args, tmp, env, app, data)
    finally:
        if app is not None:
            from kiosk.extensions import db

            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()
        try:
            drop_database(args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
