"""Retention and ``flask purge`` with the clock moved forward: nothing younger than a street's
period is touched, everything older is gone (events with the guards' decisions on them, alerts,
visits and their invitations, screening lists, door-sensor events, old audit entries), the
daily counts per gate are kept and right, a second run changes nothing, each street keeps its
own period, a batch of one gives the same result, a dry run deletes nothing; the command line;
and the office's retention page (roles, a street user changes the period, the audit entry)."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from kiosk.extensions import db
from kiosk.models import (
    AccessEvent,
    Alert,
    AuditEntry,
    DoorAlarm,
    DoorSensor,
    GateDailyCount,
    PurgeRun,
    ScreeningList,
    ScreeningRow,
    SensorEvent,
    Street,
    Visit,
    VisitInvite,
    utcnow,
)
from kiosk.services import retention
from tests import factories

from .conftest import Browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
AHEAD = timedelta(days=10)  # the purge runs this far ahead of the data's real clock
MODELS = (
    AccessEvent,
    Alert,
    Visit,
    VisitInvite,
    ScreeningList,
    ScreeningRow,
    DoorAlarm,
    SensorEvent,
    AuditEntry,
)


def _visit(site, created_at, **kw) -> Visit:
    visit = Visit(
        compound_id=site.compound.id,
        host_household_id=site.household.id,
        name="王小明",
        phone_hash="v" * 64,
        phone_last4="8000",
        purpose="visit",
        health_code="green",
        via=kw.pop("via", "gate"),
        status=kw.pop("status", "left"),
        created_at=created_at,
        gate_id=site.gate.id,
        **kw,
    )
    db.session.add(visit)
    db.session.flush()
    return visit


def populate(world, t0) -> dict:
    """At site a: old things (20 days before ``t0``) and young ones (1 day before), and one
    scan just older than the cutoff (``t0`` + AHEAD - 28 days) whose guard's decision is just
    younger. Returns the ids of what must stay ("kept") and what must go ("gone")."""
    a = world.a
    # Old: local noon 20 days back, so that a few minutes later is still the same local day.
    old = (t0 - timedelta(days=20)).astimezone(SHANGHAI).replace(hour=12, minute=0, second=0)
    young = t0 - timedelta(days=1)
    cutoff = t0 + AHEAD - timedelta(days=28)
    kept: dict[type, set[int]] = {m: set() for m in MODELS}
    gone: dict[type, set[int]] = {m: set() for m in MODELS}

    def ev(at, direction="in", decision="allow", keep=False, **kw):
        e = factories.event(a.gate, at, direction, decision, **kw)
        (kept if keep else gone)[AccessEvent].add(e.id)
        return e

    # Old: a referred scan and the guard's allowance; a fever, its alert and the second reading
    # that closed it; passages on two local days (00:30 in Shanghai is the day before in UTC).
    refer = ev(old, reasons="already_inside", decision="refer", resident_id=a.resident.id)
    ev(old + timedelta(minutes=1), parent_id=refer.id, override=True, user_id=a.guard.id)
    fever = ev(old, decision="deny", reasons="fever", temperature=38.5, resident_id=a.resident.id)
    reading = ev(old + timedelta(minutes=5), decision="allow", temperature=36.8, parent_id=fever.id)
    alert = Alert(
        community_id=a.community.id,
        gate_id=a.gate.id,
        event_id=fever.id,
        kind="fever",
        temperature=38.5,
        created_at=old,
        acknowledged_at=old + timedelta(minutes=5),
        closed_by_event_id=reading.id,
    )
    db.session.add(alert)
    db.session.flush()
    gone[Alert].add(alert.id)
    midnight = (old.astimezone(SHANGHAI) - timedelta(days=1)).replace(hour=0, minute=30)
    ev(midnight, "out")
    ev(midnight + timedelta(minutes=1), "out")
    # At the cutoff: the scan is older, the guard's decision younger: both go.
    edge = ev(cutoff - timedelta(seconds=30), decision="refer", reasons="already_inside")
    ev(cutoff + timedelta(seconds=30), parent_id=edge.id, override=True, user_id=a.guard.id)
    # A fever measured again, still a fever, and again, younger: the whole chain goes.
    chain = ev(cutoff - timedelta(minutes=2), decision="deny", reasons="fever", temperature=38.0)
    again = ev(cutoff - timedelta(minutes=1), decision="deny", reasons="fever", parent_id=chain.id)
    ev(cutoff + timedelta(minutes=1), temperature=36.9, parent_id=again.id)
    # Young: a passage and a fever alert.
    young_fever = ev(young, decision="deny", reasons="fever", temperature=38.1, keep=True)
    ev(young, "out", keep=True)
    young_alert = Alert(
        community_id=a.community.id,
        gate_id=a.gate.id,
        event_id=young_fever.id,
        kind="fever",
        created_at=young,
    )
    db.session.add(young_alert)
    db.session.flush()
    kept[Alert].add(young_alert.id)

    # Visits: an old one with its old entry goes; an old one a young event still points at
    # stays; an old invitation no one used goes with its visit; a young one stays.
    visited = _visit(a, old)
    gone[Visit].add(visited.id)
    ev(old, visit_id=visited.id)
    long_stay = _visit(a, old, status="inside")
    kept[Visit].add(long_stay.id)
    ev(young, "out", visit_id=long_stay.id, keep=True)
    invited = _visit(a, old, via="inv", status="registered", valid_on=old.date())
    invite = VisitInvite(
        visit_id=invited.id,
        household_id=a.household.id,
        invited_by_id=a.office.id,
        link_hash="i" * 64,
        created_at=old,
    )
    db.session.add(invite)
    db.session.flush()
    gone[Visit].add(invited.id)
    gone[VisitInvite].add(invite.id)
    kept[Visit].add(_visit(a, young).id)

    # Screening: an old list and its rows go, a young one stays.
    for created_at, into in ((old, gone), (young, kept)):
        lst = ScreeningList(community_id=a.community.id, name="核查名单", created_at=created_at)
        db.session.add(lst)
        db.session.flush()
        into[ScreeningList].add(lst.id)
        for n in (2, 3):
            row = ScreeningRow(list_id=lst.id, row_number=n, match="not_here", name="赵六")
            db.session.add(row)
            db.session.flush()
            into[ScreeningRow].add(row.id)

    # Door sensors: an old event and the alarm it raised go; young ones stay.
    sensor = DoorSensor(household_id=a.household.id, community_id=a.community.id, name="门磁")
    db.session.add(sensor)
    db.session.flush()
    for at, into, key in ((old, gone, "e1"), (young, kept, "e2")):
        se = SensorEvent(sensor_id=sensor.id, event_key=key, kind="open", at=at, received_at=at)
        db.session.add(se)
        db.session.flush()
        alarm = DoorAlarm(
            community_id=a.community.id,
            household_id=a.household.id,
            sensor_id=sensor.id,
            sensor_event_id=se.id,
            kind="door_open",
            raised_at=at,
        )
        db.session.add(alarm)
        db.session.flush()
        into[SensorEvent].add(se.id)
        into[DoorAlarm].add(alarm.id)

    # The audit trail keeps 400 days: one entry older, one younger.
    for days, into in ((500, gone), (100, kept)):
        entry = AuditEntry(
            at=t0 - timedelta(days=days),
            user_id=a.office.id,
            community_id=a.community.id,
            action="gate.open",
            target_type="gate",
            target_id=a.gate.id,
        )
        db.session.add(entry)
        db.session.flush()
        into[AuditEntry].add(entry.id)
    db.session.commit()
    return {"kept": kept, "gone": gone, "old": old, "midnight": midnight}


def ids(model) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(model.id)))


def daily_counts() -> dict[tuple, int]:
    return {
        (c.gate_id, c.day, c.direction, c.decision): c.count
        for c in db.session.scalars(select(GateDailyCount))
    }


def run_and_check(world, t0, batch_size=None, commits: list | None = None) -> None:
    data = populate(world, t0)
    cutoff = t0 + AHEAD - timedelta(days=28)
    data["edge"] = [
        (e.occurred_at, e.decision)
        for e in db.session.scalars(
            select(AccessEvent).where(
                AccessEvent.occurred_at > cutoff - timedelta(minutes=5),
                AccessEvent.occurred_at < cutoff + timedelta(minutes=5),
            )
        )
    ]

    def count(conn):
        if commits is not None:
            commits.append(conn)

    event.listen(db.engine, "commit", count)
    try:
        runs = retention.purge(t0 + AHEAD, batch_size=batch_size)
    finally:
        event.remove(db.engine, "commit", count)
    assert [r.street_id for r in runs] == [world.street.id]
    for model in MODELS:
        left = ids(model)
        assert data["kept"][model] <= left, model.__name__  # nothing younger touched
        assert not data["gone"][model] & left, model.__name__  # everything older gone
    gate, old_day = world.a.gate.id, data["old"].astimezone(SHANGHAI).date()
    expected = {
        (gate, old_day, "in", "refer"): 1,
        (gate, old_day, "in", "allow"): 3,  # the override, the second reading, the visitor
        (gate, old_day, "in", "deny"): 1,
        (gate, data["midnight"].date(), "out", "allow"): 2,
    }
    for at, decision in data["edge"]:
        key = (gate, at.astimezone(SHANGHAI).date(), "in", decision)
        expected[key] = expected.get(key, 0) + 1
    assert daily_counts() == expected
    assert sum(expected.values()) == len(data["gone"][AccessEvent])

    run = db.session.scalars(select(PurgeRun)).one()
    assert run.cutoff == cutoff and run.retention_days == 28
    assert run.started_at == t0 + AHEAD and run.finished_at >= run.started_at
    assert retention.deleted_counts(run) == {
        "alert": 1,
        "access_event": len(data["gone"][AccessEvent]),
        "visit_invite": 1,
        "visit": 2,
        "screening_row": 2,
        "screening_list": 1,
        "door_alarm": 1,
        "sensor_event": 1,
        "audit_entry": 1,
    }

    # Again, even later the same day: nothing more goes, nothing is counted twice.
    counts = daily_counts()
    again = retention.purge(t0 + AHEAD + timedelta(minutes=1), batch_size=batch_size)
    assert set(retention.deleted_counts(again[0]).values()) == {0}
    assert daily_counts() == counts
    for model in MODELS:
        assert data["kept"][model] <= ids(model), model.__name__
    assert db.session.scalar(select(func.count()).select_from(PurgeRun)) == 2


def test_purge_deletes_what_is_older_than_the_period_keeps_counts_and_runs_again(app, world):
    """On SQLite and PostgreSQL alike (the daily counts' upsert differs between them); in
    batches of two, so that a day's count made by one batch is added to by the next."""
    run_and_check(world, utcnow(), batch_size=2)


def test_a_batch_of_one_row_gives_the_same_result_one_transaction_each(sqlite_app, sworld):
    commits: list = []
    run_and_check(sworld, utcnow(), batch_size=1, commits=commits)
    # One transaction per batch: here per row, but for events of the same moment and the
    # decisions on them (5 batches of 12 events), and an invitation with its visit: 14
    # batches, and the run's record at its start and end.
    assert len(commits) == 16


def test_each_street_keeps_its_own_period(sqlite_app, sworld):
    t0 = utcnow()
    street, other, _user = factories.foreign_street()
    street.retention_days = 60
    old = t0 - timedelta(days=30)  # 40 days old when the purge runs
    here = factories.event(sworld.a.gate, old).id
    there = factories.event(other.gate, old).id
    db.session.commit()
    runs = retention.purge(t0 + AHEAD)
    assert {r.street_id: r.retention_days for r in runs} == {
        sworld.street.id: 28,
        street.id: 60,
    }
    assert ids(AccessEvent) == {there}
    assert here not in ids(AccessEvent)
    # Only one street, when asked: nothing of the other is looked at.
    only = retention.purge(t0 + timedelta(days=40), street_id=sworld.street.id)
    assert [r.street_id for r in only] == [sworld.street.id]
    assert ids(AccessEvent) == {there}


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(sqlite_app, sworld):
    t0 = utcnow()
    data = populate(sworld, t0)
    before = {m: ids(m) for m in MODELS}
    dry = retention.purge(t0 + AHEAD, dry_run=True)
    assert {m: ids(m) for m in MODELS} == before
    assert daily_counts() == {}
    assert db.session.scalar(select(func.count()).select_from(PurgeRun)) == 0
    would = retention.deleted_counts(dry[0])
    assert would["access_event"] == len(data["gone"][AccessEvent])
    real = retention.purge(t0 + AHEAD)
    assert retention.deleted_counts(real[0]) == would


# --- the command line -------------------------------------------------------------------------


def test_the_purge_command(sqlite_app, sworld):
    runner = sqlite_app.test_cli_runner()
    old = utcnow() - timedelta(days=40)
    factories.event(sworld.a.gate, old)
    factories.event(sworld.a.gate, old, "out")
    factories.event(sworld.a.gate, utcnow())
    db.session.commit()

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "花乡街道" in dry.output and "would delete: access_event 2." in dry.output
    assert "Dry run: nothing was deleted." in dry.output
    assert len(ids(AccessEvent)) == 3

    unknown = runner.invoke(args=["purge", "--street", "无此街道"])
    assert unknown.exit_code != 0 and "No street" in unknown.output
    assert runner.invoke(args=["purge", "--batch-size", "0"]).exit_code != 0
    assert len(ids(AccessEvent)) == 3

    done = runner.invoke(args=["purge", "--street", "花乡街道", "--batch-size", "1"])
    assert done.exit_code == 0, done.output
    assert "(28 days), deleted: access_event 2." in done.output
    assert len(ids(AccessEvent)) == 1
    again = runner.invoke(args=["purge"])
    assert "deleted: nothing." in again.output


# --- the office's page ------------------------------------------------------------------------


def test_the_page_shows_the_period_and_that_the_purge_never_ran(sqlite_app, sworld):
    office = Browser(sqlite_app, lang="en").sign_in(sworld.a.office)
    page = office.get("/office/retention")
    assert page.status_code == 200
    assert "<h1>Data retention</h1>" in page.text
    assert "花乡街道 keeps them for 28 days." in page.text
    assert "The audit trail is kept for 400 days." in page.text
    assert 'data-testid="never-run"' in page.text
    assert "flask --app kiosk purge" in page.text
    # An office user sees the period but has no form, and may not post one.
    assert 'name="retention_days"' not in page.text
    assert "Only a street user can change the retention period." in page.text
    refused = office.post("/office/retention", {"retention_days": "14"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Street, sworld.street.id).retention_days == 28
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_street_user_changes_the_period_and_it_is_audited(sqlite_app, sworld):
    street = Browser(sqlite_app, lang="en").sign_in(sworld.street_user)
    page = street.get("/office/retention")
    assert 'name="retention_days"' in page.text and 'value="28"' in page.text
    for bad in ("3", "366", "14.5", "两周", ""):
        r = street.post("/office/retention", {"retention_days": bad})
        assert r.status_code == 200
        assert 'role="alert"' in r.text, bad
        if bad:
            assert (
                "Retention period: a whole number of days from 7 to 365." in r.text
                or "this field is required" in r.text
            )
    db.session.expire_all()
    assert db.session.get(Street, sworld.street.id).retention_days == 28

    r = street.post("/office/retention", {"retention_days": "14"})
    assert r.status_code == 303 and r.headers["Location"] == "/office/retention"
    db.session.expire_all()
    assert db.session.get(Street, sworld.street.id).retention_days == 14
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.target_type, entry.target_id) == (
        "street.retention",
        "street",
        sworld.street.id,
    )
    assert entry.user_id == sworld.street_user.id
    assert json.loads(entry.detail) == {"before": 28, "after": 14}
    assert entry.community_id in (sworld.a.community.id, sworld.b.community.id)
    # The street's offices see the new period; the purge uses it.
    office = Browser(sqlite_app, lang="en").sign_in(sworld.b.office)
    assert "花乡街道 keeps them for 14 days." in office.get("/office/retention").text
    trail = street.get("/office/audit")
    assert "retention period changed" in trail.text
    runs = retention.purge(utcnow())
    assert runs[0].retention_days == 14


def test_the_page_shows_the_last_run_and_the_counts_kept(sqlite_app, sworld):
    t0 = utcnow()
    populate(sworld, t0)
    retention.purge(t0 + AHEAD)
    office = Browser(sqlite_app, lang="en").sign_in(sworld.a.office)
    page = office.get("/office/retention").text
    shown = (t0 + AHEAD).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert f"Ran on {shown}." in page
    assert "(28 days)" in page
    deleted = dict(re.findall(r'<tr data-table="(\w+)"><td>[^<]*</td><td>(\d+)</td>', page))
    assert deleted["access_event"] == str(sum(c for c in daily_counts().values()))
    assert deleted["visit"] == "2" and deleted["audit_entry"] == "1"
    rows = re.findall(
        r'<tr data-gate-id="(\d+)" data-day="([\d-]+)">\s*<td>[^<]*</td><td>[^<]*</td><td>[^<]*</td>'
        r"\s*<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>",
        page,
    )
    assert rows, page
    assert {int(g) for g, *_ in rows} == {sworld.a.gate.id}
    days = [d for _g, d, *_ in rows]
    assert days == sorted(days, reverse=True)  # newest day first
    total = sum(int(x) for *_, e, o, d, r in rows for x in (e, o, d, r))
    assert total == sum(daily_counts().values())
    # Community b's office reaches none of site a's gates.
    other = Browser(sqlite_app, lang="en").sign_in(sworld.b.office).get("/office/retention").text
    assert "data-gate-id=" not in other
    assert "No counts kept yet" in other


@pytest.mark.parametrize("who", ["guard", "worker", "resident"])
def test_other_roles_may_not_open_the_page(sqlite_app, sworld, who):
    user = {"guard": sworld.a.guard, "worker": sworld.worker, "resident": sworld.resident_user}
    browser = Browser(sqlite_app).sign_in(user[who])
    assert browser.get("/office/retention").status_code == 403
    assert browser.post("/office/retention", {"retention_days": "14"}).status_code == 403


def test_two_purges_at_the_same_moment_count_each_event_once(app, world):
    """Two servers' timers fire together: each batch counts only the rows its own DELETE
    removed, so the kept counts add up to the events, however the batches interleave."""
    old = utcnow() - timedelta(days=40)
    for i in range(60):
        factories.event(world.a.gate, old + timedelta(minutes=i), "in" if i % 3 else "out")
    db.session.commit()
    later = utcnow()
    start = threading.Barrier(2)
    failures: list = []

    def purge():
        try:
            with app.app_context():
                start.wait(10)
                retention.purge(later, batch_size=1)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    assert ids(AccessEvent) == set()
    assert sum(daily_counts().values()) == 60
    runs = db.session.scalars(select(PurgeRun)).all()
    assert len(runs) == 2
    assert sum(retention.deleted_counts(r)["access_event"] for r in runs) == 60
