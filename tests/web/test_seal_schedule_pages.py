"""Seals scheduled from/until a time and gates' opening hours, set on the seals page: the gate
decides on the state in force at the scan's own time (no job runs), at the boundaries; the rule
sentence per building; cancelling; scope; the API's gate hours; the migration down and up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from kiosk import create_app
from kiosk.extensions import db
from kiosk.models import AuditEntry, Gate, SealSchedule, utcnow
from kiosk.routes import api as api_routes
from kiosk.routes import gate as gate_routes
from kiosk.services.gate import GateAction
from tests import factories
from tests.helpers import ApiClient
from tests.test_app import _empty_database

from .conftest import Browser, decision_of
from .test_seal_pages import row_of

SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


@dataclass
class Clock:
    """The moment the gate's actions are decided at (the tablet and the API door)."""

    now: datetime


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock(utcnow())

    class At(GateAction):
        @classmethod
        def tablet(cls, ctx, guard_id, request_id=None):
            return GateAction(
                device_id=ctx.device_id, guard_id=guard_id, request_id=request_id, now=c.now
            )

    monkeypatch.setattr(gate_routes, "GateAction", At)
    monkeypatch.setattr(api_routes, "GateAction", lambda **kw: GateAction(now=c.now, **kw))
    return c


def local(app, moment: datetime) -> str:
    """A moment as a datetime-local input sends it (the deployment's time zone)."""
    return moment.astimezone(app.config["TZ"]).strftime("%Y-%m-%dT%H:%M")


def a_minute_in_two_days() -> datetime:
    return (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)


def scan_at(tablet, clock, pass_, moment, direction):
    clock.now = moment
    code = factories.code(pass_, moment.timestamp())
    temperature = "36.5" if direction == "in" else None
    return decision_of(tablet.scan(code, direction=direction, temperature=temperature))


# --- scheduled seals at the gate -----------------------------------------------------------


def test_a_building_scheduled_in_only_takes_effect_at_its_time(app, world, office, tablet, clock):
    a = world.a
    start = a_minute_in_two_days()
    end = start + 3 * HOUR
    r = office.post(
        f"/office/seals/buildings/{a.building.id}",
        {
            "seal_state": "in_only",
            "reason": "密接排查",
            "starts_at": local(app, start),
            "ends_at": local(app, end),
        },
    )
    assert r.status_code == 303 and r.headers["Location"].endswith(f"#building-{a.building.id}")
    schedule = db.session.scalars(select(SealSchedule)).one()
    assert (schedule.target_kind, schedule.target_id, schedule.state) == (
        "building",
        a.building.id,
        "in_only",
    )
    assert (schedule.starts_at, schedule.ends_at) == (start, end)
    assert schedule.community_id == a.community.id and schedule.created_by_id == a.office.id
    # The base state is untouched: the schedule is not applied by anything but the scan.
    assert a.building.seal_state == "open"

    assert scan_at(tablet, clock, a.pass_, start - SECOND, "out") == ("allow", [])
    assert scan_at(tablet, clock, a.pass_, start - SECOND, "in") == ("allow", [])
    assert scan_at(tablet, clock, a.pass_, start, "out") == ("deny", ["building_in_only"])
    assert scan_at(tablet, clock, a.pass_, end - SECOND, "out") == ("deny", ["building_in_only"])
    assert scan_at(tablet, clock, a.pass_, end, "out") == ("allow", [])
    assert scan_at(tablet, clock, a.pass_, end, "in") == ("allow", [])  # in-only lets in anyway


def test_a_compound_scheduled_sealed_without_an_end_refuses_both_ways(
    app, world, office, tablet, clock, client
):
    a = world.a
    start = a_minute_in_two_days()
    r = office.post(
        f"/office/seals/compounds/{a.compound.id}",
        {"seal_state": "sealed", "reason": "全员核酸", "starts_at": local(app, start)},
    )
    assert r.status_code == 303
    assert scan_at(tablet, clock, a.pass_, start - SECOND, "in") == ("allow", [])
    assert scan_at(tablet, clock, a.pass_, start, "out") == ("deny", ["compound_sealed"])
    later = start + timedelta(days=30)
    assert scan_at(tablet, clock, a.pass_, later, "out") == ("deny", ["compound_sealed"])
    # The API door decides the same way.
    device = ApiClient(client).as_device(a.device_token)
    clock.now = start + HOUR
    r = device.scan(factories.code(a.pass_, clock.now.timestamp()), direction="out")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["decision"] == "deny"
    assert [reason["code"] for reason in r.get_json()["reasons"]] == ["compound_sealed"]


def test_the_latest_schedule_wins_and_a_cancelled_one_counts_no_more(
    app, world, office, tablet, clock
):
    a = world.a
    start = a_minute_in_two_days()
    base = {"starts_at": local(app, start), "ends_at": local(app, start + 5 * HOUR)}
    office.post(
        f"/office/seals/buildings/{a.building.id}",
        base | {"seal_state": "sealed", "reason": "封闭"},
    )
    office.post(
        f"/office/seals/buildings/{a.building.id}",
        {"seal_state": "open", "reason": "解除", "starts_at": local(app, start + HOUR)},
    )
    first, second = db.session.scalars(select(SealSchedule).order_by(SealSchedule.id)).all()
    assert scan_at(tablet, clock, a.pass_, start, "out") == ("deny", ["building_sealed"])
    assert scan_at(tablet, clock, a.pass_, start + HOUR, "out") == ("allow", [])
    # Cancel the later one: the first is in force again.
    r = office.post(f"/office/seals/schedules/{second.id}/cancel")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"#building-{a.building.id}")
    db.session.expire_all()
    assert db.session.get(SealSchedule, second.id).cancelled_at is not None
    assert scan_at(tablet, clock, a.pass_, start + HOUR, "in") == ("deny", ["building_sealed"])
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "building.seal_schedule_cancel")
    ).one()
    assert entry.user_id == a.office.id and entry.target_id == a.building.id
    # Cancelled twice: a message on the page, nothing changed.
    r = office.post(f"/office/seals/schedules/{second.id}/cancel", lang="en")
    assert r.status_code == 200 and "This schedule has ended or was cancelled." in r.text
    assert first.cancelled_at is None


def test_the_page_lists_schedules_history_and_the_rule_sentence(app, world, office):
    a = world.a
    start = a_minute_in_two_days()
    page = office.get("/office/seals", lang="en").text
    assert "You may come and go freely" in row_of(page, "building", a.building.id)
    office.post(
        f"/office/seals/buildings/{a.building.id}",
        {
            "seal_state": "in_only",
            "reason": "密接排查",
            "starts_at": local(app, start),
            "ends_at": local(app, start + HOUR),
        },
    )
    row = row_of(office.get("/office/seals", lang="en").text, "building", a.building.id)
    schedule = db.session.scalars(select(SealSchedule)).one()
    assert f'data-schedule-id="{schedule.id}"' in row and "(密接排查)" in row
    assert "building seal scheduled" in row  # the history
    assert "You may come and go freely; from " in row and "1号楼 will be in-only" in row
    # A seal in force now, set from now until a time: the sentence says since and until.
    office.post(
        f"/office/seals/buildings/{a.building.id}",
        {"seal_state": "in_only", "reason": "密接", "ends_at": local(app, start)},
    )
    row = row_of(office.get("/office/seals", lang="en").text, "building", a.building.id)
    assert re.search(r"1号楼 is in-only \(.+ to .+\): you may come in, not go out", row), row
    assert "in force" in row
    # In Chinese too (the words are the catalog's; the structure is the same sentence).
    assert "1号楼" in row_of(office.get("/office/seals").text, "building", a.building.id)


def test_a_schedule_form_with_bad_times_keeps_what_was_typed(app, world, office):
    b = world.a.building
    start = a_minute_in_two_days()
    r = office.post(
        f"/office/seals/buildings/{b.id}",
        {
            "seal_state": "sealed",
            "reason": "x",
            "starts_at": local(app, start),
            "ends_at": local(app, start - HOUR),
        },
        lang="en",
    )
    row = row_of(r.text, "building", b.id)
    assert r.status_code == 200 and 'data-field="ends_at"' in row
    assert "Until: must be later than From." in row
    assert f'value="{local(app, start)}"' in row
    r = office.post(
        f"/office/seals/buildings/{b.id}",
        {"seal_state": "sealed", "starts_at": "soon", "ends_at": "2026-02-30T08:00"},
        lang="en",
    )
    row = row_of(r.text, "building", b.id)
    for field in ("reason", "starts_at", "ends_at"):
        assert f'data-field="{field}"' in row, field
    assert "From: a date and time." in row and "Until: a date and time." in row
    r = office.post(
        f"/office/seals/buildings/{b.id}",
        {"seal_state": "sealed", "reason": "x", "starts_at": local(app, utcnow() - HOUR)},
        lang="en",
    )
    assert "From: must not be in the past." in row_of(r.text, "building", b.id)
    assert db.session.scalars(select(SealSchedule)).all() == []


def test_another_communitys_schedules_are_not_found(app, world, office):
    b = world.b
    other = Browser(app).sign_in(b.office)
    start = a_minute_in_two_days()
    r = other.post(
        f"/office/seals/buildings/{b.building.id}",
        {"seal_state": "sealed", "reason": "x", "starts_at": local(app, start)},
    )
    assert r.status_code == 303
    theirs = db.session.scalars(select(SealSchedule)).one()
    assert f'data-schedule-id="{theirs.id}"' not in office.get("/office/seals").text
    assert office.post(f"/office/seals/schedules/{theirs.id}/cancel").status_code == 404
    assert office.post("/office/seals/schedules/999999/cancel").status_code == 404
    r = office.post(
        f"/office/seals/buildings/{b.building.id}",
        {"seal_state": "sealed", "reason": "x", "starts_at": local(app, start)},
    )
    assert r.status_code == 404
    assert office.post(f"/office/seals/gates/{b.gate.id}/hours", {}).status_code == 404
    db.session.expire_all()
    assert db.session.get(SealSchedule, theirs.id).cancelled_at is None
    assert len(db.session.scalars(select(SealSchedule)).all()) == 1


def test_a_guard_cannot_schedule_or_cancel(app, world):
    guard = Browser(app).sign_in(world.a.guard)
    r = guard.post(
        f"/office/seals/buildings/{world.a.building.id}",
        {"seal_state": "sealed", "reason": "x", "starts_at": "2099-01-01T08:00"},
    )
    assert r.status_code in (302, 403)
    assert db.session.scalars(select(SealSchedule)).all() == []


# --- gate opening hours ----------------------------------------------------------------------


def local_moment(app, day_offset: int, hhmmss: str) -> datetime:
    """A local time of day, ``day_offset`` days after the day after tomorrow, as UTC."""
    day = (utcnow() + timedelta(days=2)).astimezone(app.config["TZ"]).date()
    naive = datetime.fromisoformat(f"{day + timedelta(days=day_offset)}T{hhmmss}")
    return naive.replace(tzinfo=app.config["TZ"]).astimezone(UTC)


@pytest.mark.parametrize(
    ("opens", "closes", "steps"),
    [
        (
            "08:00",
            "22:00",
            [
                (0, "07:59:59", "in", ("deny", ["gate_closed"])),
                (0, "08:00:00", "in", ("allow", [])),
                (0, "21:59:59", "out", ("allow", [])),
                (0, "22:00:00", "in", ("deny", ["gate_closed"])),
            ],
        ),
        (
            "22:00",
            "06:00",
            [
                (0, "21:59:59", "in", ("deny", ["gate_closed"])),
                (0, "22:00:00", "in", ("allow", [])),
                (1, "00:00:00", "out", ("allow", [])),
                (1, "05:59:59", "in", ("allow", [])),
                (1, "06:00:00", "out", ("deny", ["gate_closed"])),
                (1, "12:00:00", "out", ("deny", ["gate_closed"])),
            ],
        ),
    ],
)
def test_gate_hours_at_their_boundaries(app, world, office, tablet, clock, opens, closes, steps):
    a = world.a
    r = office.post(
        f"/office/seals/gates/{a.gate.id}/hours",
        {"opens_at": opens, "closes_at": closes},
        follow_redirects=True,
        lang="en",
    )
    assert r.status_code == 200 and "Opening hours saved." in r.text
    row = row_of(r.text, "gate", a.gate.id)
    assert f"{opens}–{closes}" in row and "gate opening hours changed" in row
    for day, at, direction, want in steps:
        moment = local_moment(app, day, at)
        assert scan_at(tablet, clock, a.pass_, moment, direction) == want, (day, at)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "gate.hours")).one()
    assert entry.user_id == a.office.id and entry.target_id == a.gate.id
    # Blank both: no hours, the gate is open at any time again.
    r = office.post(f"/office/seals/gates/{a.gate.id}/hours", {"opens_at": "", "closes_at": ""})
    assert r.status_code == 303
    db.session.expire_all()
    gate = db.session.get(Gate, a.gate.id)
    assert (gate.opens_at, gate.closes_at) == (None, None)
    moment = local_moment(app, 2, "03:00:00")
    assert scan_at(tablet, clock, a.pass_, moment, "in")[1] != ["gate_closed"]


def test_gate_hours_form_shows_every_problem(app, world, office):
    gid = world.a.gate.id
    for lang, messages in (
        (
            "en",
            ("Opens at: a time of day such as 08:00.", "Closes at: a time of day such as 22:00."),
        ),
        ("zh-CN", ()),
    ):
        r = office.post(
            f"/office/seals/gates/{gid}/hours", {"opens_at": "7am", "closes_at": "25:00"}, lang=lang
        )
        row = row_of(r.text, "gate", gid)
        assert r.status_code == 200
        assert 'data-field="opens_at"' in row and 'data-field="closes_at"' in row
        assert 'value="7am"' in row and 'value="25:00"' in row
        for message in messages:
            assert message in row
    r = office.post(f"/office/seals/gates/{gid}/hours", {"opens_at": "08:00"}, lang="en")
    assert "Give both opening hours, or neither (open all day)." in row_of(r.text, "gate", gid)
    r = office.post(
        f"/office/seals/gates/{gid}/hours", {"opens_at": "08:00", "closes_at": "08:00"}, lang="en"
    )
    assert "The gate must close at another time than it opens." in row_of(r.text, "gate", gid)
    db.session.expire_all()
    assert db.session.get(Gate, gid).opens_at is None


def test_the_api_sets_and_clears_gate_hours(app, world, client):
    office = ApiClient(client).bearer(factories.api_token(world.a.office))
    db.session.commit()
    gid = world.a.gate.id
    r = office.patch(f"/api/v1/gates/{gid}", json={"opens_at": "22:00", "closes_at": "06:00"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() | {"id": 0} == {
        "id": 0,
        "compound_id": world.a.compound.id,
        "name": "东门",
        "open": True,
        "opens_at": "22:00",
        "closes_at": "06:00",
    }
    r = office.patch(f"/api/v1/gates/{gid}", json={"open": False})
    assert r.get_json()["opens_at"] == "22:00" and r.get_json()["open"] is False
    for bad in (
        {"opens_at": "22:00"},
        {"opens_at": "22:00", "closes_at": None},
        {"opens_at": "08:00", "closes_at": "08:00"},
        {"opens_at": "8:00", "closes_at": "18:00"},
        {"opens_at": 800, "closes_at": "18:00"},
    ):
        r = office.patch(f"/api/v1/gates/{gid}", json=bad)
        assert r.status_code == 422, (bad, r.get_json())
    r = office.patch(f"/api/v1/gates/{gid}", json={"opens_at": None, "closes_at": None})
    assert r.status_code == 200 and r.get_json()["opens_at"] is None
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "gate").order_by(AuditEntry.id)
    ).all()
    assert actions == ["gate.hours", "gate.close", "gate.hours"]


# --- the migration ------------------------------------------------------------------------


def test_migration_0006_goes_down_and_up_again(app, tmp_path):
    """Seal schedules and gate hours (0006): downgrade below it and upgrade again, both engines."""
    url = _empty_database(app, tmp_path, "kiosk_migration_0006")
    other = create_app({**app.config, "DATABASE_URL": url})
    directory = other.extensions["migrate"].directory
    with other.app_context():

        def schema() -> tuple[bool, set[str]]:
            insp = inspect(db.engine)
            return insp.has_table("seal_schedule"), {c["name"] for c in insp.get_columns("gate")}

        upgrade(directory=directory)
        has_table, columns = schema()
        assert has_table and {"opens_at", "closes_at"} <= columns
        downgrade(directory=directory, revision="0005_alert_closed_by")
        has_table, columns = schema()
        assert not has_table and "opens_at" not in columns and "is_open" in columns
        upgrade(directory=directory)
        has_table, columns = schema()
        assert has_table and {"opens_at", "closes_at"} <= columns
        db.session.remove()
        db.engine.dispose()
