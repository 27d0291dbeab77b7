"""POST /api/v1/tokens: staff sign in for a bearer token; expired and inactive are refused."""

from __future__ import annotations

from datetime import datetime, timedelta

from kiosk.extensions import db
from kiosk.models import ApiToken, User, utcnow
from kiosk.services import security
from tests import factories
from tests.factories import PASSWORD


def error_of(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    err = r.get_json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code
    return err


def test_right_password_gives_a_token_that_works(world, api):
    r = api.post("/api/v1/tokens", json={"username": "office_a", "password": PASSWORD})
    assert r.status_code == 201
    data = r.get_json()
    assert data["role"] == "office"
    token = data["token"]
    assert len(token) >= 32
    # Expires in the future, given with the +08:00 offset of Asia/Shanghai.
    expires = datetime.fromisoformat(data["expires_at"])
    assert data["expires_at"].endswith("+08:00")
    assert expires > utcnow() + timedelta(hours=11)
    # Only the hash is stored.
    row = db.session.query(ApiToken).one()
    assert row.token_hash == security.token_hash(token) and token not in row.token_hash
    # The token opens a staff route.
    r = api.bearer(token).get("/api/v1/events")
    assert r.status_code == 200 and r.get_json()["items"] == []


def test_wrong_password_is_401_without_token(world, api):
    r = api.post(
        "/api/v1/tokens", json={"username": "office_a", "password": PASSWORD + "x"}, lang="en"
    )
    err = error_of(r, 401, "bad_credentials")
    assert err["message"] == "Wrong username or password."
    assert "token" not in r.get_json()
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    # An unknown user gets the very same answer, so usernames cannot be probed.
    unknown = api.post(
        "/api/v1/tokens", json={"username": "nobody", "password": PASSWORD}, lang="en"
    )
    assert error_of(unknown, 401, "bad_credentials") == err
    # zh-CN by default (its wording is the translators' business): some message is given.
    r = api.post("/api/v1/tokens", json={"username": "office_a", "password": ""})
    assert error_of(r, 401, "bad_credentials")["message"].strip()
    assert db.session.query(ApiToken).count() == 0


def test_non_json_body_is_400(world, api):
    r = api.raw(
        "POST",
        "/api/v1/tokens",
        "username=office_a&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    error_of(r, 400, "bad_json")
    r = api.raw("POST", "/api/v1/tokens", "{not json")
    error_of(r, 400, "bad_json")
    r = api.post("/api/v1/tokens", json=["office_a", PASSWORD])
    error_of(r, 400, "bad_json")


def sign_in_from(api, n: int, payload, lang: str | None = None):
    """A sign-in attempt from its own address (the limit of 10 a minute is per address)."""
    return api.post(
        "/api/v1/tokens", json=payload, lang=lang, environ_base={"REMOTE_ADDR": f"127.0.1.{n}"}
    )


def test_missing_or_mistyped_fields_are_422_with_every_field(world, api):
    """The body breaks the declared contract: 422 naming every field at fault, translated."""
    for payload, fields in (
        ({}, ["username", "password"]),
        ({"username": "office_a"}, ["password"]),
        ({"password": PASSWORD}, ["username"]),
        ({"username": 12, "password": PASSWORD}, ["username"]),
        ({"username": "office_a", "password": None}, ["password"]),
        ({"username": "", "password": PASSWORD}, ["username"]),
        ({"username": "x" * 65, "password": PASSWORD}, ["username"]),
        ({"username": "office_a", "password": "x" * 257}, ["password"]),
        ({"username": "office_a", "password": "\ud800"}, ["password"]),  # not Unicode
        (
            {"username": 12, "password": None, "remember": True},
            ["username", "password", "remember"],
        ),
    ):
        err = error_of(sign_in_from(api, len(str(payload)), payload), 422, "invalid")
        assert [f["field"] for f in err["fields"]] == fields, payload
        assert err["field"] == fields[0]
        assert all(f["code"] == "invalid" and f["message"] for f in err["fields"])
    # zh-CN by default, with the field named as people read it; English on request.
    err = error_of(sign_in_from(api, 1, {}), 422)
    assert [f["message"] for f in err["fields"]] == ["用户名：此项必填。", "密码：此项必填。"]
    assert err["message"] == "用户名：此项必填。"
    err = error_of(sign_in_from(api, 2, {"username": 12}, lang="en"), 422)
    assert [f["message"] for f in err["fields"]] == [
        "Username: must be text.",
        "Password: this field is required.",
    ]
    assert db.session.query(ApiToken).count() == 0


def test_strings_the_contract_allows_are_401_not_422(world, api):
    """What the document calls valid is answered on its merits: wrong credentials."""
    for payload in (
        {"username": "office_a\u0000", "password": PASSWORD},
        {"username": "office_a", "password": ""},
        {"username": "x" * 64, "password": "x" * 256},
    ):
        error_of(api.post("/api/v1/tokens", json=payload), 401, "bad_credentials")
    assert db.session.query(ApiToken).count() == 0


def test_inactive_user_cannot_sign_in(world, api):
    world.a.office.active = False
    db.session.commit()
    r = api.post("/api/v1/tokens", json={"username": "office_a", "password": PASSWORD})
    error_of(r, 401, "bad_credentials")
    # A token issued before the user was deactivated stops working too.
    token = factories.api_token(world.street_user)
    assert api.bearer(token).get("/api/v1/events").status_code == 200
    db.session.get(User, world.street_user.id).active = False
    db.session.commit()
    error_of(api.get("/api/v1/events"), 401, "bad_token")


def test_expired_token_is_rejected(world, api):
    api.login("office_a")
    assert api.get("/api/v1/events").status_code == 200
    row = db.session.query(ApiToken).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    error_of(api.get("/api/v1/events"), 401, "bad_token")
    error_of(api.post("/api/v1/compounds", json={"name": "新小区"}), 401, "bad_token")


def test_malformed_authorization_headers_are_401_and_health_needs_none(world, api, client):
    for header in (
        "",
        "Bearer",
        "Bearer ",
        "Basic b2ZmaWNlX2E6eA==",
        "Bearer " + "x" * 300,
        "Token abc",
        "bearer not-a-token",
    ):
        r = api.client.get("/api/v1/events", headers={"Authorization": header} if header else {})
        error_of(r, 401)
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_rate_limit_gives_429_with_json_error(world, api, app):
    assert app.config["TOKEN_RATE_LIMIT"] == "10 per minute"
    for _ in range(10):
        # Wrong bodies count too; they are cheap (no password hashing).
        assert api.post("/api/v1/tokens", json={}).status_code == 422
    r = api.post("/api/v1/tokens", json={"username": "office_a", "password": PASSWORD}, lang="en")
    err = error_of(r, 429, "rate_limited")
    assert err["message"] == "Too many attempts. Wait a minute and try again."
    assert "token" not in r.get_json()
    assert int(r.headers["Retry-After"]) > 0
    # Other routes are not limited by it.
    token = factories.api_token(world.a.office)
    assert api.bearer(token).get("/api/v1/events").status_code == 200
