"""--profile: scans through the WSGI app in-process, under cProfile."""

from __future__ import annotations

import cProfile
import re
import sys
import time
import urllib.parse
from collections import defaultdict

from dataset import GUARD, GUARD_PIN, ROOT, SCAN_PATH, TABLET_SCAN_PATH, pick_passes, scan_plan
from doors import DEVICE_COOKIE, csrf_token
from measure import app_version, count_events

# ---------------------------------------------------------------------------------------------
# --profile


def _wsgi_call(wsgi, environ) -> tuple[str, bytes]:
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)
        if any(k == "Set-Cookie" for k, _v in headers):
            SET_COOKIE.append(1)

    it = wsgi(environ, start_response)
    try:
        body = b"".join(it)
    finally:
        if hasattr(it, "close"):
            it.close()
    return status[0], body


SET_COOKIE: list[int] = []
USER_AGENT = "kiosk-bench"


def _tablet_headers(app, tokens: list[str]) -> list[dict[str, str]]:
    """The guard signs in on each tablet through the test client; what each tablet then sends."""
    headers = []
    for token in tokens:
        client = app.test_client()
        # One browser: Flask-Login's session protection marks a session whose address or
        # user agent changed as not fresh, which would rewrite the cookie on every answer.
        client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        client.set_cookie(DEVICE_COOKIE, token)
        page = client.get("/gate/login").text
        form = {"csrf_token": csrf_token(page), "username": GUARD, "pin": GUARD_PIN}
        if client.post("/gate/login", data=form).status_code >= 400:
            raise RuntimeError("the guard's sign-in on a tablet failed")
        scan_page = client.get("/gate").text
        names = (DEVICE_COOKIE, app.config["SESSION_COOKIE_NAME"])
        cookies = "; ".join(f"{n}={client.get_cookie(n).value}" for n in names)
        headers.append(
            {
                "Cookie": cookies,
                "X-CSRFToken": csrf_token(scan_page),
                "HX-Request": "true",
                "User-Agent": USER_AGENT,
            }
        )
    return headers


def profile_run(args, app, data: dict) -> int:
    """Scans through the WSGI app in-process (as a gunicorn worker calls it), under cProfile:
    the API door, or the tablet door with ``--doors tablet``."""
    import pstats
    import sysconfig

    from sqlalchemy import event
    from werkzeug.test import EnvironBuilder

    from kiosk.extensions import db

    sys.path.insert(0, str(ROOT / "bench"))
    from bare_app import app as bare

    plan = scan_plan(app, data, pick_passes(data, args.bodies, args.seed), 900)
    tokens, dirs, counter = data["tokens"], {}, [0]
    tablet = args.doors == ["tablet"]
    tablet_headers = _tablet_headers(app, tokens) if tablet else None

    def scan_environ(tag: str) -> dict:
        i = counter[0] = counter[0] + 1
        p = i % len(plan["ids"])
        d = dirs.get(p, plan["first"][p])
        dirs[p] = "out" if d == "in" else "in"
        s = int(time.time() // plan["step_seconds"]) - plan["base"]
        code = plan["codes"][max(0, min(s, len(plan["codes"]) - 1))][p]
        body = {"code": code, "direction": d, "temperature": 36.5, "request_id": f"{tag}-{i}"}
        if tablet:
            return EnvironBuilder(
                path=TABLET_SCAN_PATH,
                method="POST",
                data=urllib.parse.urlencode(body),
                content_type="application/x-www-form-urlencoded",
                headers=tablet_headers[plan["devices"][p]],
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
            ).get_environ()
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
        f"in-process WSGI calls, {n} requests each, {'tablet' if tablet else 'api'} door, database "
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
    print(f"  answers that set a cookie: {len(SET_COOKIE)}")

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
