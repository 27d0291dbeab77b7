"""The factory, configuration, CLI, translations and the few web pages of the core."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import func, inspect, select

from kiosk import create_app
from kiosk.config import ConfigError
from kiosk.contract.tracing import TraceQuery
from kiosk.extensions import db
from kiosk.models import DoorAlarm, Household, Pass, PublicArea, Resident, User, utcnow
from kiosk.services import tracing

from . import factories

ROOT = Path(__file__).resolve().parent.parent


def test_production_without_secrets_refuses_to_start(monkeypatch, tmp_path):
    monkeypatch.setenv("KIOSK_ENV", "production")
    for key in ("SECRET_KEY", "PASS_KEYS", "ID_HASH_KEY"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"} | {"TESTING": False})


def test_development_generates_secrets_once(monkeypatch, tmp_path):
    monkeypatch.delenv("KIOSK_ENV", raising=False)
    app1 = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "TESTING": True})
    app2 = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "TESTING": True})
    assert app1.config["SECRET_KEY"] == app2.config["SECRET_KEY"]
    secrets_file = Path(app1.instance_path) / "secrets.py"
    assert secrets_file.exists() and oct(secrets_file.stat().st_mode)[-3:] == "600"


def test_bad_pass_keys_stop_the_start(tmp_path):
    with pytest.raises(ConfigError, match="PASS_KEYS"):
        create_app(
            {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "PASS_KEYS": "A:short", "TESTING": True}
        )


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_home_page_speaks_chinese_by_default_and_english_on_request(client):
    zh = client.get("/")
    assert zh.status_code == 200
    assert '<html lang="zh-CN">' in zh.text and "封闭管理小区门岗核验" in zh.text
    en = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in en.text and "Gate check for closed compounds" in en.text


def test_language_switch_is_remembered_and_needs_csrf(client):
    page = client.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/locale", data={"locale": "en"}).status_code == 400  # no token
    r = client.post("/locale", data={"locale": "en", "next": "/", "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert "Gate check for closed compounds" in client.get("/").text
    bad = client.post("/locale", data={"locale": "fr", "csrf_token": token})
    assert bad.status_code == 400


def test_login_page_and_wrong_password_keeps_username(client, world):
    page = client.get("/auth/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/auth/login", data={"username": "office_a", "password": "nope", "csrf_token": token}
    )
    assert r.status_code == 200 and "用户名或密码错误" in r.text and 'value="office_a"' in r.text
    r = client.post(
        "/auth/login",
        data={"username": "office_a", "password": factories.PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 303
    assert "office_a" in client.get("/").text


def test_unknown_page_is_a_translated_404(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "未找到" in r.text


@pytest.mark.parametrize(
    ("lang", "message"), [("zh-CN", "请先登录再查看此页面。"), ("en", "Sign in to see this page.")]
)
def test_a_page_that_needs_a_sign_in_says_so_in_the_users_language(client, lang, message):
    r = client.get("/worker/areas", headers={"Accept-Language": lang}, follow_redirects=True)
    assert r.request.path == "/auth/login" and message in r.text
    assert "Please log in" not in r.text


def test_cli_demo_data_loads_once_and_prints_logins(runner):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "office" in result.output and "kiosk-demo-2026" in result.output
    residents = db.session.scalar(select(func.count()).select_from(Resident))
    assert residents > 50
    assert db.session.scalar(select(func.count()).select_from(Pass)) >= residents
    again = runner.invoke(args=["demo-data"])
    assert "already" in again.output
    assert db.session.scalar(select(func.count()).select_from(Resident)) == residents
    # A few days of passages: the demo resident's trace has a route and contacts to show.
    office = db.session.scalar(select(User).where(User.username == "office"))
    demo = db.session.scalar(select(User).where(User.username == "resident"))
    query = TraceQuery.parse({"resident_id": str(demo.resident_id), "reason": "demo"})
    with runner.app.test_request_context():
        found = tracing.trace(office, query, utcnow())
    assert len(found.passages) == 10 and found.direct and found.same_place
    # The observed household's door sensor has raised an alarm for the dashboard, and the
    # first compound has areas to disinfect.
    [alarm] = db.session.scalars(select(DoorAlarm)).all()
    household = db.session.get(Household, alarm.household_id)
    assert alarm.kind == "door_open" and alarm.acknowledged_at is None
    assert household.observation_until > utcnow()
    assert db.session.scalar(select(func.count()).select_from(PublicArea)) == 4


def test_cli_create_user_generates_a_password_and_creates_the_community(runner):
    result = runner.invoke(
        args=["create-user", "wang", "--role", "office", "--community", "新社区"]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"Password: (\S+)", result.output).group(1)
    user = db.session.scalar(select(User).where(User.username == "wang"))
    assert user.community_id is not None and password not in user.password_hash
    dup = runner.invoke(args=["create-user", "wang", "--role", "office", "--community", "新社区"])
    assert dup.exit_code != 0
    nocomm = runner.invoke(
        args=["create-user", "li", "--role", "guard", "--password", "longenough1"]
    )
    assert nocomm.exit_code != 0


def test_migrations_build_the_same_schema_as_the_models(app, tmp_path):
    """`init-db` (Alembic) on an empty database gives every table and index the models declare."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from kiosk import engine_url

    if db.engine.dialect.name == "postgresql":
        base = app.config["DATABASE_URL"].rpartition("/")[0]
        admin = create_engine(engine_url(base + "/postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS kiosk_migration_test"))
            conn.execute(text("CREATE DATABASE kiosk_migration_test"))
        admin.dispose()
        url = base + "/kiosk_migration_test"
    else:
        url = f"sqlite:///{tmp_path}/migrated.sqlite3"
    other = create_app({**app.config, "DATABASE_URL": url})
    with other.app_context():
        upgrade(directory=other.extensions["migrate"].directory)
        insp = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            assert insp.has_table(table.name), table.name
            have = {i["name"] for i in insp.get_indexes(table.name)}
            want = {i.name for i in table.indexes}
            assert want <= have, (table.name, want - have)
            columns = {c["name"] for c in insp.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}, table.name
        db.session.remove()
        db.engine.dispose()


def _empty_database(app, tmp_path, name: str) -> str:
    """The URL of a new, empty database on the app's engine."""
    import os

    from sqlalchemy import create_engine, text

    from kiosk import engine_url

    if db.engine.dialect.name != "postgresql":
        return f"sqlite:///{tmp_path}/{name}.sqlite3"
    name = f"{name}_{os.getpid()}"
    base = app.config["DATABASE_URL"].rpartition("/")[0]
    admin = create_engine(engine_url(base + "/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{base}/{name}"


def test_migration_0003_goes_down_and_up_again(app, tmp_path):
    """Sessions and sign-in throttle (0003): downgrade below it and upgrade again, both engines."""
    from flask_migrate import downgrade, upgrade

    url = _empty_database(app, tmp_path, "kiosk_migration_0003")
    other = create_app({**app.config, "DATABASE_URL": url})
    directory = other.extensions["migrate"].directory
    with other.app_context():

        def schema() -> tuple[bool, set[str]]:
            insp = inspect(db.engine)
            return insp.has_table("sign_in_throttle"), {c["name"] for c in insp.get_columns("user")}

        upgrade(directory=directory)
        has_table, columns = schema()
        assert has_table and "session_epoch" in columns
        downgrade(directory=directory, revision="915da7d75948")
        has_table, columns = schema()
        assert not has_table and "session_epoch" not in columns and "pin_hash" in columns
        upgrade(directory=directory)
        has_table, columns = schema()
        assert has_table and "session_epoch" in columns
        db.session.remove()
        db.engine.dispose()


def test_zh_cn_catalog_is_complete():
    with open(ROOT / "kiosk/translations/messages.pot", "rb") as f:
        template = read_po(f)
    with open(ROOT / "kiosk/translations/zh_CN/LC_MESSAGES/messages.po", "rb") as f:
        zh = read_po(f, locale="zh_CN")
    missing = [m.id for m in template if m.id and (zh.get(m.id) is None or not zh.get(m.id).string)]
    fuzzy = [m.id for m in zh if m.id and m.fuzzy]
    assert not missing and not fuzzy, (missing, fuzzy)
