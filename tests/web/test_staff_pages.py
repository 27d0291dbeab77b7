"""The office keeps its community's staff accounts from its own pages: creates guards, workers and
office users, sets a new password, disables an account (and enables it again)."""

from __future__ import annotations

import re

from sqlalchemy import event, select

from kiosk.extensions import db
from kiosk.models import AuditEntry, User, utcnow
from tests import factories

from .conftest import Browser

ERROR = re.compile(r'<p class="error" role="alert" data-field="(\w*)">([^<]*)</p>')


def errors_of(response) -> dict[str, str]:
    return dict(ERROR.findall(response.text))


def user_named(name: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == name))


def signs_in(app, username: str, password: str) -> bool:
    r = Browser(app).post("/auth/login", {"username": username, "password": password})
    return r.status_code == 303


def test_the_office_creates_a_guard_a_worker_and_an_office_user(app, world, office):
    page = office.get("/office/staff")
    assert page.status_code == 200 and "<h1>工作人员账号</h1>" in page.text
    assert "guard_a" in page.text and "worker_a" in page.text and "guard_b" not in page.text
    for name, role in (("guard_new", "guard"), ("worker_new", "worker"), ("office_new", "office")):
        r = office.post(
            "/office/staff",
            {"username": name, "role": role, "password": "a-long-password"},
            follow_redirects=True,
        )
        assert r.status_code == 200 and f"已创建账号 {name}。" in r.text
        user = user_named(name)
        assert (user.role, user.community_id) == (role, world.a.community.id)
        assert signs_in(app, name, "a-long-password")
    created = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "user.create")
    ).all()
    assert len(created) == 3


def test_every_problem_of_a_new_account_is_shown_at_once_and_nothing_is_saved(app, world, office):
    before = db.session.scalar(select(db.func.count()).select_from(User))
    r = office.post(
        "/office/staff", {"username": "has space", "role": "street", "password": "short"}
    )
    assert r.status_code == 200
    assert set(errors_of(r)) == {"username", "role", "password"}
    assert 'value="has space"' in r.text and "short" not in r.text  # the password is not echoed
    r = office.post(
        "/office/staff", {"username": "guard_a", "role": "guard", "password": "a-long-password"}
    )
    assert "username" in errors_of(r)  # taken already
    for role in ("resident", "street"):
        r = office.post(
            "/office/staff", {"username": "someone", "role": role, "password": "a-long-password"}
        )
        assert errors_of(r) == {"role": "请选择角色。"}, role
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_a_new_password_ends_the_persons_sessions(app, world, office):
    guard = world.a.guard
    old_session = Browser(app).sign_in(guard)
    assert old_session.get("/").status_code == 200
    r = office.post(f"/office/staff/{guard.id}/password", {"password": "brand-new-secret"})
    assert r.status_code == 303
    assert signs_in(app, "guard_a", "brand-new-secret")
    assert not signs_in(app, "guard_a", factories.PASSWORD)
    assert "guard_a" not in old_session.get("/").text  # signed out on the server
    r = office.post(f"/office/staff/{guard.id}/password", {"password": "short"})
    assert r.status_code == 200 and errors_of(r) == {"password": "密码：至少 8 个字符。"}


def test_a_disabled_account_cannot_sign_in_until_enabled_again(app, world, office):
    worker = world.worker
    r = office.post(f"/office/staff/{worker.id}/active", {"active": "false"}, follow_redirects=True)
    assert "已停用 worker_a。" in r.text
    row = re.search(rf'<tr data-user-id="{worker.id}">(.*?)</tr>', r.text, re.S).group(1)
    assert "已停用" in row and ">启用</button>" in row
    assert not signs_in(app, "worker_a", factories.PASSWORD)
    office.post(f"/office/staff/{worker.id}/active", {"active": "true"})
    assert signs_in(app, "worker_a", factories.PASSWORD)


def test_nobody_disables_their_own_account(app, world, office):
    r = office.post(f"/office/staff/{world.a.office.id}/active", {"active": "false"})
    assert r.status_code == 200 and errors_of(r) == {"active": "不能停用自己的账号。"}
    assert user_named("office_a").active


def test_another_communitys_staff_and_other_accounts_are_not_found(app, world, office):
    for user in (world.b.guard, world.b.office, world.street_user, world.resident_user):
        for path, form in (("password", {"password": "brand-new-secret"}), ("active", {})):
            r = office.post(f"/office/staff/{user.id}/{path}", {**form, "active": "false"})
            assert r.status_code == 404, (user.username, path)
    for bad in ("999999", str(2**63)):
        assert office.post(f"/office/staff/{bad}/active", {"active": "false"}).status_code == 404
    assert user_named("guard_b").active and signs_in(app, "guard_b", factories.PASSWORD)


def test_a_street_user_chooses_the_community_of_a_new_account(app, world):
    street = Browser(app).sign_in(world.street_user)
    page = street.get("/office/staff").text
    assert "guard_a" in page and "guard_b" in page and 'name="community_id"' in page
    r = street.post(
        "/office/staff",
        {"username": "guard_c", "role": "guard", "password": "a-long-password"},
    )
    assert errors_of(r) == {"community_id": "请选择社区。"}
    r = street.post(
        "/office/staff",
        {
            "username": "guard_c",
            "role": "guard",
            "password": "a-long-password",
            "community_id": str(world.b.community.id),
        },
    )
    assert r.status_code == 303 and user_named("guard_c").community_id == world.b.community.id


def test_two_offices_creating_one_name_at_the_same_moment_get_an_answer_not_a_500(
    app, world, office
):
    """The name is checked, then inserted: another server's insert of the same name lands in
    between (run just before this INSERT by an engine listener); the unique index decides and
    the loser is told the name is taken."""
    fired = []

    def other_server_takes_the_name(_conn, _cursor, statement, *_args):
        if re.match(r'\s*INSERT INTO "?user"? ', statement, re.IGNORECASE):
            if not fired:
                fired.append(True)
                with db.engine.begin() as other:
                    other.execute(
                        User.__table__.insert().values(
                            username="guard_race",
                            role="guard",
                            password_hash="x",
                            community_id=world.a.community.id,
                            active=True,
                            session_epoch=0,
                            created_at=utcnow(),
                        )
                    )

    event.listen(db.engine, "before_cursor_execute", other_server_takes_the_name)
    try:
        r = office.post(
            "/office/staff",
            {"username": "guard_race", "role": "guard", "password": "a-long-password"},
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", other_server_takes_the_name)
    assert fired and r.status_code == 200
    assert errors_of(r) == {"username": "用户名已被占用。"}
    assert db.session.scalar(select(db.func.count()).where(User.username == "guard_race")) == 1
