"""Load benchmark of the scan endpoint, with a bare Flask app as the yardstick.

    .venv/bin/python bench/scan.py            # SQLite file in a temp dir
    .venv/bin/python bench/scan.py --pg       # PostgreSQL database kiosk_bench on 127.0.0.1
    .venv/bin/python bench/scan.py --profile  # no server: scans in-process under cProfile
    .venv/bin/python bench/scan.py --floor    # the scan service with no web layer (the ceiling)

One run: a fresh database with the real migrations, filled with one compound (4 gates,
20 buildings, 2,000 households, 5,000 residents, 5,500 passes, 100,000 past events). Two gunicorn
servers with the same settings (sync workers, no access log): the app on that database, and
bench/bare_app.py (one route answering 1 KB) as the yardstick. wrk warms each up, then measures
the scan endpoint (POST /api/v1/scans with valid rotating codes, one event row per request,
counted afterwards) and the bare route (GET), alternating with --runs. Prints req/s, p50, p99 and
the server's CPU per request for both; the last line is the throughput ratio. The machine is
shared: CPU ms per request is steadier than req/s.

With --floor the scan server is bench/floor_app.py instead: the scan service with no web layer in
front of it (its "floor" door takes the API's requests). Its ratio is the most that any web layer
could reach on this machine with this service and database.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import partitioning
from dataset import (
    PG_DB,
    build_app,
    create_database,
    drop_database,
    fill,
    make_env,
    migrate,
    pick_passes,
    scan_plan,
)
from doors import api_door, sign_in_tablets
from inprocess import profile_run
from measure import app_version, measure_bare, measure_scan, summary
from servers import Server
from wrk import GET_LUA, failures_of, run_wrk, scan_lua


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pg", action="store_true", help=f"use PostgreSQL (database {PG_DB})")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    p.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default="sync",
        help="gunicorn worker class of both servers (sync)",
    )
    p.add_argument(
        "--server-threads",
        type=int,
        default=1,
        help="threads per gunicorn worker with --worker-class gthread (1)",
    )
    p.add_argument(
        "--doors",
        nargs="+",
        choices=("api", "tablet"),
        default=["api", "tablet"],
        help="which doors to measure (both)",
    )
    p.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    p.add_argument("--duration", type=int, default=10, help="seconds measured per server (10)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server (2)")
    p.add_argument("--runs", type=int, default=1, help="measured runs per server, alternating (1)")
    p.add_argument("--bodies", type=int, default=400, help="distinct passes scanned (400)")
    p.add_argument("--seed", type=int, default=1, help="data generator seed (1)")
    p.add_argument(
        "--drop-index",
        action="append",
        default=[],
        metavar="NAME",
        help="drop this index of access_event once the database is filled (repeatable): what\n"
        "an index costs the scan path, e.g. --drop-index ix_access_event_gate_time",
    )
    p.add_argument(
        "--events-table",
        choices=("migrated", "plain", *partitioning.LAYOUTS),
        default="migrated",
        help="with --pg: access_event as the migrations made it (migrated), or made one plain\n"
        "table, or partitioned by week or day, once the database is filled\n"
        "(bench/partitioning.py; docs/scaling.md)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--profile", action="store_true", help="in-process scans under cProfile")
    p.add_argument(
        "--floor",
        action="store_true",
        help="measure the scan service behind a bare WSGI callable (bench/floor_app.py)",
    )
    p.add_argument("--scans", type=int, default=2000, help="scans profiled with --profile (2000)")
    p.add_argument("--top", type=int, default=25, help="rows of each profile table (25)")
    args = p.parse_args(argv)
    if args.runs < 1 or args.duration < 1:
        p.error("--runs and --duration must be at least 1")
    if args.events_table != "migrated" and not args.pg:
        p.error("--events-table needs --pg")
    if args.floor and args.profile:
        p.error("--floor is a load run: it cannot go with --profile")
    if args.connections < args.threads:
        p.error("--connections must be at least --threads")
    return args


def load_run(args, tmp: Path, env: dict, app, data: dict) -> int:
    """Both servers up at once; warm each door and the bare route, then alternate measured runs
    of each door and the bare route."""
    nonce = secrets.token_hex(3)
    failures: list[str] = []
    servers: list[Server] = []
    scans: dict[str, list[dict]] = {}
    bares: list[dict] = []
    settings = dict(worker_class=args.worker_class, threads=args.server_threads)
    try:
        spec = "floor_app:app" if args.floor else "wsgi:app"
        scan_server = Server(spec, env, args.workers, tmp, "scan", "/healthz", **settings)
        servers.append(scan_server)
        bare_server = Server("bare_app:app", env, args.workers, tmp, "bare", "/", **settings)
        servers.append(bare_server)
        if args.floor:
            doors = [replace(api_door(data["tokens"]), name="floor")]
        else:
            doors = [api_door(data["tokens"]), sign_in_tablets(scan_server, data["tokens"])]
            doors = [d for d in doors if d.name in args.doors]
        scripts = write_scripts(args, tmp, app, data, doors)
        for door in doors:
            warm, out = run_wrk(
                scan_server.url + door.path,
                args,
                args.warmup,
                scripts[door.name][0],
                [f"w{nonce}", str(args.threads)],
            )
            failures += failures_of(f"{door.name} warm-up", warm)
            if warm["non_200"]:
                print(out, file=sys.stderr)
        warm, _ = run_wrk(bare_server.url + "/", args, args.warmup, bare_script(tmp), [])
        failures += failures_of("bare warm-up", warm)
        for k in range(args.runs):
            for door in doors:
                scans.setdefault(door.name, []).append(
                    measure_scan(
                        scan_server,
                        app,
                        args,
                        door.path,
                        scripts[door.name][k + 1],
                        f"m{k}{door.name[0]}{nonce}",
                    )
                )
            bares.append(measure_bare(bare_server, args))
    finally:
        for server in servers:
            server.stop()
    results = {name: summary(runs) for name, runs in scans.items()}
    bare = summary(bares)
    for r in (*results.values(), bare):
        failures += r["failures"]
    ratios = {name: (r["rps"] / bare["rps"] if bare["rps"] else 0.0) for name, r in results.items()}
    report(args, data, results, bare, ratios, failures)
    return 1 if failures else 0


def write_scripts(args, tmp: Path, app, data: dict, doors) -> dict[str, list[Path]]:
    """Each wrk run of each door scans its own passes, so every pass starts opposite its last
    passage and the decisions stay mostly "allow", as at a real gate."""
    slices = (args.runs + 1) * len(doors)
    ids = pick_passes(data, slices * args.bodies, args.seed)
    seconds_ahead = 60 + (2 * args.warmup + args.runs * (3 * args.duration + 5)) * len(doors)
    scripts: dict[str, list[Path]] = {}
    k = 0
    for door in doors:
        for run in range(args.runs + 1):
            part = ids[k::slices] or ids
            k += 1
            path = tmp / f"{door.name}{run}.lua"
            path.write_text(scan_lua(scan_plan(app, data, part, seconds_ahead), door))
            scripts.setdefault(door.name, []).append(path)
    return scripts


def bare_script(tmp: Path) -> Path:
    path = tmp / "bare.lua"
    path.write_text(GET_LUA)
    return path


def report(args, data, results: dict, bare: dict, ratios: dict, failures: list[str]) -> None:
    db_name = "postgresql" if args.pg else "sqlite"
    version = app_version()
    for f in failures:
        print("FAILURE: " + f)
    print()
    runs = f", median of {args.runs} alternating runs" if args.runs > 1 else ""
    threads = f" --threads {args.server_threads}" if args.worker_class == "gthread" else ""
    print(
        f"gunicorn --workers {args.workers} --worker-class {args.worker_class}{threads}, "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
        f"{os.cpu_count()} CPUs, database {db_name}{runs}, app {version}"
    )
    db_col = f" {'PG CPU ms/req':>14}" if args.pg else ""
    print(
        f"{'':22} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'app CPU ms/req':>14}{db_col} "
        f"{'requests':>8}"
    )
    rows = [(f"{name} scan ({db_name})", r) for name, r in results.items()]
    for name, r in (*rows, ("bare Flask", bare)):
        db_val = (
            f" {r['db_cpu_ms_per_req']:14.2f}" if "db_cpu_ms_per_req" in r else " " * len(db_col)
        )
        print(
            f"{name:22} {r['rps']:7.0f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} "
            f"{r['cpu_ms_per_req']:14.2f}{db_val} {r['requests']:8d}"
        )
    if args.runs > 1:
        per_run = [f"{name} " + " ".join(f"{x['rps']:.0f}" for x in r["runs"]) for name, r in rows]
        print(
            "req/s per run: "
            + ", ".join([*per_run, "bare " + " ".join(f"{x['rps']:.0f}" for x in bare["runs"])])
        )
    for name, r in results.items():
        decisions = ", ".join(f"{k} {v}" for k, v in sorted(r["decisions"].items()))
        print(f"{name} scan events written: {r['events_written']} ({decisions})")
    print(f"load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    if args.json:
        doc = dict(
            command=" ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            database=db_name,
            app=version,
            workers=args.workers,
            worker_class=args.worker_class,
            server_threads=args.server_threads,
            wrk=dict(threads=args.threads, connections=args.connections, duration_s=args.duration),
            runs=args.runs,
            cpus=os.cpu_count(),
            data=data["counts"],
            fill_seconds=round(data["seconds"], 2),
            scans=results,
            bare=bare,
            ratios={k: round(v, 4) for k, v in ratios.items()},
            failures=failures,
            at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        Path(args.json).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print()
    for name, ratio in ratios.items():
        print(f"{name} scan/bare throughput ratio: {ratio:.2f}")


def drop_indexes(app, names: list[str]) -> None:
    """Drop these indexes of access_event (after the fill, so the history was indexed)."""
    if not names:
        return
    import re

    from sqlalchemy import text

    from kiosk.extensions import db

    if any(not re.fullmatch(r"\w+", name) for name in names):
        raise SystemExit("--drop-index takes index names")
    with app.app_context():
        with db.engine.begin() as conn:
            for name in names:
                conn.execute(text(f'DROP INDEX "{name}"'))
            conn.execute(text("ANALYZE access_event"))
        db.engine.dispose()
    print(f"dropped indexes of access_event: {', '.join(names)}")


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
        if args.events_table != "migrated":
            with app.app_context():
                from kiosk.extensions import db

                db.engine.dispose()
            layout = None if args.events_table == "plain" else args.events_table
            print(f"access_event: {partitioning.replace(url, layout)}")
        drop_indexes(app, args.drop_index)
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
