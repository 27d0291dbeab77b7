"""One measured wrk run against a server: throughput, latency, CPU per request, events written."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from dataset import ROOT
from servers import Server, proc_cpu_seconds
from wrk import failures_of, run_wrk

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
    return {pid: proc_cpu_seconds(pid) for pid in pids}


def measure_scan(server: Server, app, args, path: str, script: Path, tag: str) -> dict:
    before = settle_events(app, 0)  # earlier scans still in flight land first
    first_id = max_event_id(app) + 1
    cpu0, db0 = server.cpu_seconds(), db_cpu_seconds(app)
    r, out = run_wrk(server.url + path, args, args.duration, script, [tag, str(args.threads)])
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
