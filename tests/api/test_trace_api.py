"""GET /api/v1/trace: one person's route and contacts, for office roles, with a reason that is
audited; everyone else is refused."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from kiosk import create_app
from kiosk.contract.tracing import TraceQuery
from kiosk.extensions import db
from kiosk.models import AuditEntry, Household, utcnow
from kiosk.services import replica as replica_service
from kiosk.services import tracing
from tests import factories
from tests.conftest import PG_SERVER, TEST_CONFIG, _pg_admin
from tests.helpers import ApiClient


@pytest.fixture
def traced(world):
    """Resident a.resident passed gate a; around them: a neighbour one minute later, another
    ten minutes later, one twenty minutes later, a housemate who never passed, a visitor of
    their household and someone at community b's gate at the same moment."""
    a, b = world.a, world.b
    t = utcnow() - timedelta(days=2)
    other = Household(building_id=a.building.id, unit="3", room="502")
    db.session.add(other)
    db.session.flush()
    close = factories.resident(other, "李近")
    near = factories.resident(other, "王远")
    far = factories.resident(other, "赵外")
    mate = factories.resident(a.household, "张同住")
    guest = factories.visit(a, "钱访客", "c" * 60 + "1234", created_at=t - timedelta(hours=1))
    stranger_b = factories.resident(b.household, "孙别处")
    me = factories.event(a.gate, t, "out", resident_id=a.resident.id, pass_id=a.pass_.id)
    factories.event(a.gate, t + timedelta(minutes=1), "out", resident_id=close.id)
    factories.event(a.gate, t + timedelta(minutes=10), "in", resident_id=near.id)
    factories.event(a.gate, t + timedelta(minutes=20), "in", resident_id=far.id)
    factories.event(a.gate, t - timedelta(hours=1), "in", visit_id=guest.id)
    factories.event(b.gate, t, "in", resident_id=stranger_b.id)
    # a guard's decision on the neighbour's scan is the same passage, not a second one
    factories.event(a.gate, t + timedelta(minutes=11), "in", resident_id=near.id, parent_id=me.id)
    old = factories.event(a.gate, t - timedelta(days=20), "in", resident_id=a.resident.id)
    db.session.commit()
    return dict(me=me, close=close, near=near, far=far, mate=mate, guest=guest, old=old)


def trace(api: ApiClient, **params):
    return api.get("/api/v1/trace?" + urlencode(params))


def names(contacts) -> set[str]:
    return {c["name"] for c in contacts}


def test_the_office_traces_a_resident_with_their_contacts_split(world, client, traced):
    api = ApiClient(client).bearer(factories.api_token(world.a.office))
    r = trace(api, resident_id=world.a.resident.id, reason="确诊病例 2026-17 密接排查")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert [p["event_id"] for p in body["passages"]] == [traced["me"].id]  # 20 days ago: out
    assert body["subject"] == world.a.resident.name and body["window_minutes"] == 15
    assert names(body["direct"]) == {"李近", "张同住", "钱访客"}
    assert names(body["same_place"]) == {"王远"}
    close = next(c for c in body["direct"] if c["name"] == "李近")
    assert close["reasons"] == ["close_in_time", "same_place"]
    assert close["links"][0]["minutes_apart"] == 1.0
    assert next(c for c in body["direct"] if c["name"] == "张同住")["reasons"] == ["same_household"]
    assert next(c for c in body["direct"] if c["name"] == "钱访客")["reasons"] == ["visited_them"]
    assert [v["visitor"] for v in body["visits"]] == ["钱访客"]
    assert [(p["kind"], p["name"]) for p in body["route"]] == [
        ("gate", world.a.gate.name),
        ("building", world.a.building.name),
    ]
    entry = db.session.query(AuditEntry).filter_by(action="resident.trace").one()
    assert entry.user_id == world.a.office.id and entry.target_id == world.a.resident.id
    assert "确诊病例 2026-17" in entry.detail


def test_a_wider_window_and_a_longer_period_find_more(world, client, traced):
    api = ApiClient(client).bearer(factories.api_token(world.a.office))
    today = utcnow().date()
    body = trace(
        api,
        resident_id=world.a.resident.id,
        reason="r",
        window_minutes=20,
        since=(today - timedelta(days=25)).isoformat(),
        until=today.isoformat(),
    ).get_json()
    assert traced["old"].id in [p["event_id"] for p in body["passages"]]
    assert "赵外" in names(body["same_place"])


def test_a_visitor_is_traced_to_the_household_they_visited(world, client, traced):
    api = ApiClient(client).bearer(factories.api_token(world.a.office))
    body = trace(api, visit_id=traced["guest"].id, reason="访客阳性").get_json()
    assert body["subject_kind"] == "visitor"
    assert names(body["direct"]) >= {world.a.resident.name, "张同住"}
    assert db.session.query(AuditEntry).filter_by(action="visit.trace").count() == 1


def test_a_trace_without_a_reason_or_a_person_is_refused_with_every_problem(world, client):
    api = ApiClient(client).bearer(factories.api_token(world.a.office))
    r = trace(api, window_minutes=90)
    assert r.status_code == 422
    fields = {f["field"] for f in r.get_json()["error"]["fields"]}
    assert {"reason", "window_minutes"} <= fields
    r = trace(api, reason="x", resident_id=world.a.resident.id, visit_id=1)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "resident_id"
    r = trace(
        api, reason="x", resident_id=world.a.resident.id, since="2026-01-10", until="2026-01-01"
    )
    assert r.status_code == 422
    assert db.session.query(AuditEntry).count() == 0


def test_only_office_roles_of_the_persons_community_may_trace(world, client, traced):
    resident = world.a.resident.id
    other_office = ApiClient(client).bearer(factories.api_token(world.b.office))
    assert trace(other_office, resident_id=resident, reason="x").status_code == 404
    guard = ApiClient(client).bearer(factories.api_token(world.a.guard))
    assert trace(guard, resident_id=resident, reason="x").status_code == 403
    worker = ApiClient(client).bearer(factories.api_token(world.worker))
    assert trace(worker, resident_id=resident, reason="x").status_code == 403
    street = ApiClient(client).bearer(factories.api_token(world.street_user))
    assert trace(street, resident_id=world.b.resident.id, reason="x").status_code == 200
    _street, _site, foreign = factories.foreign_street()
    outsider = ApiClient(client).bearer(factories.api_token(foreign))
    assert trace(outsider, resident_id=resident, reason="x").status_code == 404
    assert trace(outsider, visit_id=traced["guest"].id, reason="x").status_code == 404


def test_a_trace_reads_on_the_replica_and_audits_on_the_primary(app, world, traced):
    """With DATABASE_READ_URL the trace's reads go to that database, in read-only
    transactions: a read-only session on the same PostgreSQL database gives the same answer,
    and a replica that has not caught up (an empty copy of the schema) shows no passages. The
    audit entry is written on the primary either way."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a replica is a PostgreSQL feature")
    url = app.config["DATABASE_URL"]
    read_only = url + "?options=-c%20default_transaction_read_only%3Don"
    query = TraceQuery.parse({"resident_id": str(world.a.resident.id), "reason": "case"})
    with app.test_request_context():
        primary = tracing.trace(world.a.office, query, utcnow())
    _pg_admin("DROP DATABASE IF EXISTS kiosk_trace_lagging")
    _pg_admin("CREATE DATABASE kiosk_trace_lagging")
    try:
        for replica, passages in ((read_only, 1), (PG_SERVER + "/kiosk_trace_lagging", 0)):
            other = create_app({**TEST_CONFIG, "DATABASE_URL": url, "DATABASE_READ_URL": replica})
            with other.test_request_context():
                if passages == 0:
                    with replica_service.reading() as rs:
                        db.metadata.create_all(rs.get_bind())
                actor = db.session.get(type(world.a.office), world.a.office.id)
                found = tracing.trace(actor, query, utcnow())
                assert len(found.passages) == passages
                if passages:
                    assert [c.name for c in found.direct] == [c.name for c in primary.direct]
                for engine in other.extensions["kiosk.replica"].values():
                    engine.dispose()
                db.session.remove()
                db.engine.dispose()
    finally:
        _pg_admin("DROP DATABASE IF EXISTS kiosk_trace_lagging WITH (FORCE)")
    assert db.session.query(AuditEntry).filter_by(action="resident.trace").count() == 3


def test_a_period_starting_after_today_is_refused_not_a_server_error(world, client):
    api = ApiClient(client).bearer(factories.api_token(world.a.office))
    r = trace(api, resident_id=world.a.resident.id, reason="x", since="2100-03-25")
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "since"
