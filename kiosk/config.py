"""Configuration: defaults here, then ``instance/config.py``, then environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV_KEYS = (
    "DATABASE_URL",
    "DATABASE_READ_URL",
    "SECRET_KEY",
    "PASS_KEYS",
    "TIMEZONE",
    "PASS_STEP_SECONDS",
    "RATELIMIT_STORAGE_URI",
    "ID_HASH_KEY",
    "GATE_RESULT_SECONDS",
    "RISK_LOOKBACK_DAYS",
    "PREFERRED_URL_SCHEME",
    "SESSION_COOKIE_SECURE",
    "PROXY_COUNT",
    "PURGE_BATCH_SIZE",
    "AUDIT_RETENTION_DAYS",
    "SQLITE_CHECKPOINT_MS",
)
INT_KEYS = (
    "PASS_STEP_SECONDS",
    "GATE_RESULT_SECONDS",
    "RISK_LOOKBACK_DAYS",
    "PROXY_COUNT",
    "PURGE_BATCH_SIZE",
    "AUDIT_RETENTION_DAYS",
    "SQLITE_CHECKPOINT_MS",
)
BOOL_KEYS = ("SESSION_COOKIE_SECURE",)
_BOOLS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLS |= {"0": False, "false": False, "no": False, "off": False}


def engine_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class ConfigError(RuntimeError):
    """The configuration cannot start the app."""


def defaults(instance_path: str) -> dict:
    return {
        "DATABASE_URL": "sqlite:///" + os.path.join(instance_path, "kiosk.sqlite3"),
        "TIMEZONE": "Asia/Shanghai",
        "PASS_STEP_SECONDS": 30,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "TOKEN_RATE_LIMIT": "10 per minute",
        "API_TOKEN_HOURS": 12,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ("zh_CN", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # None: Secure in production and when PREFERRED_URL_SCHEME is https (``secure_cookies``);
        # the cookie is Secure on any request that came over HTTPS in any case.
        "SESSION_COOKIE_SECURE": None,
        "HSTS_SECONDS": 31536000,
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Port are
        # trusted (werkzeug's ProxyFix); 0 when clients connect to gunicorn directly.
        "PROXY_COUNT": 0,
        # Failed sign-ins (services/throttle.py): per scope, overrides of its DEFAULT_RULES.
        "SIGN_IN_THROTTLE": {},
        "SIGN_IN_THROTTLE_PREFIX": "kiosk:sign-in:",
        "WTF_CSRF_TIME_LIMIT": None,
        "EVENTS_PAGE_SIZE": 100,
        "GATE_RESULT_SECONDS": 6,
        "RISK_LOOKBACK_DAYS": 14,
        # ``flask purge`` (services/retention.py): rows deleted per short transaction, and how
        # long the audit trail is kept (each street's own period covers the gate log).
        "PURGE_BATCH_SIZE": 500,
        "AUDIT_RETENTION_DAYS": 400,
        "VISIT_RATE_LIMIT": "5 per minute",
        # Joining with a household's slip, per address (wrong codes also count in the sign-in
        # throttle).
        "JOIN_RATE_LIMIT": "10 per minute",
        # How often the office's dashboard (/office) polls for fresh counts, in seconds.
        "DASHBOARD_REFRESH_SECONDS": 10,
        # Uploads (people lists, test results) are at most 5 MB: a larger request is refused
        # before the CSRF check reads it whole.
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # SQLite: how often each process copies the write-ahead log into the database file, in
        # a thread of its own (kiosk/sqlite_wal.py); 0 leaves it to SQLite's own checkpoints
        # inside a commit.
        "SQLITE_CHECKPOINT_MS": 1000,
    }


def from_env(config: dict) -> None:
    """Environment variables override files; numbers stay numbers."""
    for key in ENV_KEYS:
        value = os.environ.get(key)
        if value:
            if key in INT_KEYS:
                try:
                    value = int(value)
                except ValueError:
                    raise ConfigError(f"{key} must be a whole number, not {value!r}") from None
            elif key in BOOL_KEYS:
                if value.lower() not in _BOOLS:
                    raise ConfigError(f"{key} must be 1 or 0, not {value!r}")
                value = _BOOLS[value.lower()]
            config[key] = value


def secure_cookies(config: dict, production: bool) -> None:
    """The session cookie is only sent over HTTPS in production or when the site is https."""
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = production or config["PREFERRED_URL_SCHEME"] == "https"


SECRETS = ("SECRET_KEY", "PASS_KEYS", "ID_HASH_KEY")


def ensure_secrets(config: dict, instance_path: str, production: bool) -> None:
    """In development, generate missing secrets once into ``instance/``; in production, refuse."""
    missing = [k for k in SECRETS if not config.get(k)]
    if not missing:
        return
    if production:
        raise ConfigError(
            "KIOSK_ENV=production but these secrets are not set: "
            + ", ".join(missing)
            + ". Set them as environment variables or in instance/config.py "
            "(PASS_KEYS looks like 'A:<32+ random characters>'). See README.md."
        )
    path = Path(instance_path) / "secrets.py"
    generated: dict[str, str] = {}
    if path.exists():
        scope: dict = {}
        exec(compile(path.read_text(), str(path), "exec"), scope)  # our own file, written below
        generated = {k: v for k, v in scope.items() if k in SECRETS}
    changed = False
    for key in missing:
        if key not in generated:
            token = secrets.token_urlsafe(32)
            generated[key] = f"A:{token}" if key == "PASS_KEYS" else token
            changed = True
        config[key] = generated[key]
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"{k} = {v!r}\n" for k, v in sorted(generated.items()))
        path.write_text("# Generated once for development by kiosk. Keep out of git.\n" + body)
        path.chmod(0o600)
