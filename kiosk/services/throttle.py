"""Failed sign-ins, counted per account and per address, shared by every worker and server.

Two secrets are guessed at: passwords (the sign-in page and ``POST /api/v1/tokens`` share one
count) and tablet PINs. For each:

- an *account* (the username as typed, whether it exists or not, so that the answer never tells
  which names exist) may fail ``free`` times; every failure after that locks it for twice as long
  as the one before (1, 2, 4 ... minutes, up to an hour). A success clears it; a day without
  failures forgets it.
- an *address* may fail ``free`` times per ``window`` (30 per quarter of an hour, by the clock);
  a further failure locks it until that quarter ends. One machine cannot spray guesses over many
  names, while a whole office behind one NAT address cannot lock itself out with its typing
  mistakes: however long the day, only failures within the current quarter count, and a
  colleague's success or failure never touches another's account.

A locked attempt is refused before any hash is computed, and is not counted: waiting out the
lock is enough. The counters are in the database (``sign_in_throttle``, keyed hashes only), or in
Redis when ``RATELIMIT_STORAGE_URI`` is a ``redis://`` URL. A count and its lock change in one
atomic statement. Attempts already in flight when a lock starts (one per worker thread) are
checked again when they end, and answered as locked whether their guess was right or wrong, so
a burst of parallel guesses learns no more than one guess.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from flask import Flask, current_app, has_request_context, request
from flask_babel import LazyString, ngettext
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import SignInThrottle, utcnow
from . import security
from .errors import ServiceError

PASSWORD = "password"
PIN = "pin"

DEFAULT_RULES = {
    # failures before the first lock, its seconds, the longest lock, seconds of quiet to forget
    "account": {"free": 5, "base": 60, "cap": 3600, "forget": 86400},
    # failures per window of this many seconds (aligned to the clock); locked until it ends
    "address": {"free": 30, "window": 900},
}


@dataclass(frozen=True)
class Rule:
    free: int
    base: int = 60
    cap: int = 3600
    forget: int = 86400
    window: int = 0  # counted per clock-aligned window instead of back-off (0: back-off)

    def bucket(self, now: datetime) -> str:
        """Part of the key: the current window's number (nothing for a back-off rule)."""
        return f"\x00{int(now.timestamp()) // self.window}" if self.window else ""

    def lock_seconds(self, failures: int, now: datetime) -> int:
        """How long the ``failures``-th failure (counted by this rule) locks; 0 while free."""
        if failures < self.free:
            return 0
        if self.window:
            return self.window - int(now.timestamp()) % self.window  # the rest of the window
        return min(self.base * 2 ** min(failures - self.free, 30), self.cap)

    def memory(self) -> int:
        """Seconds after the last failure that a count is kept."""
        return self.window or self.forget


class Throttled(ServiceError):
    """Too many failures: the same answer for every account, known or not."""

    status = 429
    code = "throttled"

    def __init__(self, retry_after: int):
        self.retry_after = max(1, retry_after)
        minutes = max(1, math.ceil(self.retry_after / 60))
        super().__init__(
            LazyString(
                lambda: ngettext(
                    "Too many failed sign-ins. Try again in %(num)d minute.",
                    "Too many failed sign-ins. Try again in %(num)d minutes.",
                    minutes,
                )
            )
        )


def rules() -> dict[str, Rule]:
    configured = current_app.config.get("SIGN_IN_THROTTLE") or {}
    return {
        scope: Rule(**{**DEFAULT_RULES[scope], **configured.get(scope, {})})
        for scope in DEFAULT_RULES
    }


def address_of_request() -> str | None:
    """The client's address (after ProxyFix); IPv6 clients count by their /64 network."""
    if not has_request_context() or not request.remote_addr:
        return None
    try:
        ip = ipaddress.ip_address(request.remote_addr)
    except ValueError:
        return request.remote_addr
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Attempt:
    """One sign-in attempt: refused at once while locked, then reported as failed or succeeded."""

    def __init__(self, kind: str, username: str | None):
        self.rules = rules()
        now = utcnow()
        names = {"account": username, "address": address_of_request()}
        self.keys: dict[str, str] = {
            scope: security.keyed_hash(
                f"{kind}\x00{scope}\x00{name}{self.rules[scope].bucket(now)}"
            )
            for scope, name in names.items()
            if name
        }
        self.store = store()
        wait = self.store.locked_for(list(self.keys.values()), now)
        if wait > 0:
            raise Throttled(wait)

    def failed(self) -> None:
        """Count the failure. If another attempt locked this account or address while this one
        was being checked, answer as locked: an attempt in flight when a lock starts tells
        nothing about its guess."""
        now = utcnow()
        wait = self.store.locked_for(list(self.keys.values()), now)
        for scope, key in self.keys.items():
            self.store.fail(key, self.rules[scope], now)
        self.store.forget_older_than(now - timedelta(seconds=self._longest_memory()))
        if wait > 0:
            raise Throttled(wait)

    def succeeded(self) -> None:
        """Clear the account, unless another attempt locked it while this one was being checked:
        then a right guess is refused like a wrong one (a lock admits no guess at all)."""
        wait = self.store.locked_for(list(self.keys.values()), utcnow())
        if wait > 0:
            raise Throttled(wait)
        if "account" in self.keys:
            self.store.clear(self.keys["account"])

    def _longest_memory(self) -> int:
        return max(r.memory() + r.cap for r in self.rules.values())


def attempt(kind: str, username: str | None) -> Attempt:
    """Raises ``Throttled`` while this account or this address is locked out."""
    return Attempt(kind, username)


# --- storage ----------------------------------------------------------------------------------


class DatabaseStore:
    """One row per key; a failure is one upsert that returns the new count."""

    table = SignInThrottle.__table__

    def locked_for(self, keys: list[str], now: datetime) -> int:
        if not keys:
            return 0
        until = db.session.scalar(
            select(func.max(self.table.c.locked_until)).where(
                self.table.c.key.in_(keys), self.table.c.locked_until > now
            )
        )
        if until is None:
            return 0
        if until.tzinfo is None:  # max() over a SQLite text column comes back naive
            until = until.replace(tzinfo=now.tzinfo)
        return math.ceil((until - now).total_seconds())

    def fail(self, key: str, rule: Rule, now: datetime) -> None:
        t = self.table
        insert = (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert
        stale = t.c.last_failure_at < now - timedelta(seconds=rule.memory())
        statement = (
            insert(t)
            .values(key=key, failures=1, last_failure_at=now, locked_until=None)
            .on_conflict_do_update(
                index_elements=[t.c.key],
                set_={
                    "failures": case((stale, 1), else_=t.c.failures + 1),
                    "last_failure_at": now,
                    "locked_until": case((stale, None), else_=t.c.locked_until),
                },
            )
            .returning(t.c.failures)
        )
        failures = db.session.execute(statement).scalar_one()
        seconds = rule.lock_seconds(failures, now)
        if seconds:
            until = now + timedelta(seconds=seconds)
            db.session.execute(
                update(t)
                .where(t.c.key == key)
                .where((t.c.locked_until.is_(None)) | (t.c.locked_until < until))
                .values(locked_until=until)
            )
        db.session.commit()

    def clear(self, key: str) -> None:
        db.session.execute(delete(self.table).where(self.table.c.key == key))
        db.session.commit()

    def forget_older_than(self, moment: datetime) -> None:
        db.session.execute(delete(self.table).where(self.table.c.last_failure_at < moment))
        db.session.commit()


_FAIL_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
local ms = tonumber(ARGV[1 + math.min(n, #ARGV - 1)])
if ms > 0 and redis.call('PTTL', KEYS[2]) < ms then
  redis.call('SET', KEYS[2], '1', 'PX', ms)
end
return n
"""


class RedisStore:
    """A counter key that expires after ``forget`` seconds of quiet, and a lock key with a TTL."""

    def __init__(self, url: str, prefix: str):
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self._fail = self.client.register_script(_FAIL_SCRIPT)

    def _keys(self, key: str) -> tuple[str, str]:
        return self.prefix + key + ":n", self.prefix + key + ":lock"

    def locked_for(self, keys: list[str], now: datetime) -> int:
        if not keys:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(self._keys(key)[1])
        remaining = max(pipe.execute())
        return math.ceil(remaining / 1000) if remaining > 0 else 0

    def fail(self, key: str, rule: Rule, now: datetime) -> None:
        # Lock lengths for the 1st, 2nd ... failure, up to where the cap is reached; the last
        # one holds for every later failure.
        steps = [rule.lock_seconds(n, now) * 1000 for n in range(1, rule.free + 32)]
        while len(steps) > 1 and steps[-1] == steps[-2]:
            steps.pop()
        self._fail(keys=list(self._keys(key)), args=[rule.memory(), *steps])

    def clear(self, key: str) -> None:
        self.client.delete(*self._keys(key))

    def forget_older_than(self, moment: datetime) -> None:
        """Redis forgets by itself (every key has a TTL)."""


def _redis_url(uri: str) -> str | None:
    if uri.startswith(("redis://", "rediss://")):
        return uri
    if uri.startswith("redis+unix://"):
        return "unix://" + uri[len("redis+unix://") :]
    return None


def init_app(app: Flask) -> None:
    url = _redis_url(app.config.get("RATELIMIT_STORAGE_URI") or "")
    app.extensions["sign_in_throttle"] = (
        RedisStore(url, app.config["SIGN_IN_THROTTLE_PREFIX"]) if url else DatabaseStore()
    )


def store() -> DatabaseStore | RedisStore:
    return current_app.extensions["sign_in_throttle"]
