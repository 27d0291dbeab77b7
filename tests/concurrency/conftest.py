"""Real app servers on one database, and a way to fire requests at them at the same moment.

``pg_fleet``: two gunicorn servers, two sync workers each, on one PostgreSQL database (the
deployment of docs/deployment.md in small). ``sqlite_fleet``: one server with two sync workers on
one SQLite file. Both hold a compound with two gates (a tablet token each) and a guard with a PIN.
The test process writes the test data straight to the same database.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.servers import Server
from kiosk import create_app
from kiosk.extensions import db
from kiosk.models import Gate
from tests import factories
from tests.conftest import PG_SERVER, TEST_CONFIG, _pg_admin, create_schema

pytestmark = pytest.mark.concurrency


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass(frozen=True)
class Request:
    server: Server
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def at_once(*requests: Request) -> list[Answer]:
    """Send every request on its own open connection, released together by a barrier."""
    conns = []
    for r in requests:
        conn = http.client.HTTPConnection("127.0.0.1", r.server.port, timeout=30)
        conn.connect()
        conns.append(conn)
    barrier = threading.Barrier(len(requests))
    answers: list[Answer | BaseException | None] = [None] * len(requests)

    def fire(i: int) -> None:
        r, conn = requests[i], conns[i]
        try:
            barrier.wait(timeout=10)
            conn.request(r.method, r.path, body=r.body, headers=r.headers)
            resp = conn.getresponse()
            answers[i] = Answer(resp.status, resp.read(), dict(resp.getheaders()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            answers[i] = exc
        finally:
            conn.close()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for a in answers:
        if not isinstance(a, Answer):
            raise AssertionError(f"a request did not complete: {a!r}")
    return answers  # type: ignore[return-value]


def scan_request(server: Server, token: str, code: str, direction: str, **extra) -> Request:
    body = {"code": code, "direction": direction, **extra}
    if direction == "in" and "temperature" not in extra:
        body["temperature"] = 36.5
    return Request(
        server,
        "POST",
        "/api/v1/scans",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


@dataclass
class Fleet:
    """Servers on one database, the app of the test process on it, and the compound's gates."""

    app: object
    servers: list[Server]
    site: factories.Site
    gate_tokens: list[str]  # the tablets at gate 1 and gate 2 of site a

    def server(self, i: int) -> Server:
        return self.servers[i % len(self.servers)]

    def tablet_cookies(self, gate: int = 0) -> str:
        """Sign the guard in on the tablet of gate 1 (0) or 2 (1) over HTTP: the Cookie header
        for every server (one SECRET_KEY, and cookies do not depend on the port)."""
        jar = {"kiosk_device": self.gate_tokens[gate]}
        server = self.servers[0]
        page = http_call(server, "GET", "/gate/login", jar)
        form = {
            "csrf_token": csrf_of(page.text),
            "username": self.site.guard.username,
            "pin": factories.PIN,
        }
        signed_in = http_call(server, "POST", "/gate/login", jar, form)
        assert signed_in.status == 303, signed_in.text
        return _cookie_header(jar)


_SET_COOKIE = re.compile(r"^([^=;\s]+)=([^;]*)")


def _cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def http_call(
    server: Server, method: str, path: str, jar: dict, form: dict | None = None
) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Cookie": _cookie_header(jar)}
    body = b""
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        answer = Answer(resp.status, resp.read(), dict(resp.getheaders()))
        for value in resp.msg.get_all("Set-Cookie") or []:
            found = _SET_COOKIE.match(value)
            if found:
                jar[found.group(1)] = found.group(2)
    finally:
        conn.close()
    return answer


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def _seed() -> tuple[factories.Site, list[str]]:
    world = factories.world()
    site = world.a
    gate2 = Gate(compound_id=site.compound.id, name="西门")
    db.session.add(gate2)
    db.session.flush()
    _device2, token2 = factories.device(gate2, "tablet 2")
    factories.set_pin(site.guard)
    db.session.commit()
    return site, [site.device_token, token2]


def _server_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=TEST_CONFIG["SECRET_KEY"],
        PASS_KEYS=TEST_CONFIG["PASS_KEYS"],
        ID_HASH_KEY=TEST_CONFIG["ID_HASH_KEY"],
        RATELIMIT_STORAGE_URI="memory://",
    )
    return env


def _fleet(url: str, tmp: Path, servers: int, workers: int):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    with app.app_context():
        db.drop_all()
        create_schema()
        site, tokens = _seed()
        env = _server_env(url)
        started: list[Server] = []
        try:
            for i in range(servers):
                started.append(Server("wsgi:app", env, workers, tmp, f"app{i}", "/healthz"))
            yield Fleet(app, started, site, tokens)
        finally:
            for s in started:
                s.stop()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def pg_fleet(tmp_path_factory):
    name = f"kiosk_concurrency_{os.getpid()}"
    try:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        problem = f"PostgreSQL at {PG_SERVER} is not available: {exc!r}"
        if os.environ.get("KIOSK_REQUIRE_PG"):
            pytest.fail(problem)
        pytest.skip(problem)
    try:
        yield from _fleet(
            f"{PG_SERVER}/{name}", tmp_path_factory.mktemp("pg-fleet"), servers=2, workers=2
        )
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def sqlite_fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sqlite-fleet")
    yield from _fleet(f"sqlite:///{tmp / 'kiosk.sqlite3'}", tmp, servers=1, workers=2)


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet(request) -> Fleet:
    fleet = request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_fleet")
    with fleet.app.app_context():
        yield fleet
        db.session.remove()
