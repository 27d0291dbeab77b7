"""The workers' phone pages (/worker): the community's open requests with the address, take,
on the way, delivered; another worker's request and another community's are out of reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.contract.deliveries import ServiceRequestCreate
from kiosk.extensions import db
from kiosk.models import AuditEntry, ServiceRequest, utcnow
from kiosk.services import deliveries
from tests import factories

from .conftest import Browser


@pytest.fixture
def asked(sqlite_app, sworld):
    """Two requests of household a (under observation), one of household b."""
    sworld.a.household.observation_until = utcnow() + timedelta(days=3)
    sworld.b.household.services_allowed = True
    res_a = factories.user(
        "res_a", "resident", household_id=sworld.a.household.id, resident_id=sworld.a.resident.id
    )
    res_b = factories.user(
        "res_b", "resident", household_id=sworld.b.household.id, resident_id=sworld.b.resident.id
    )
    db.session.commit()
    first = deliveries.create(res_a, ServiceRequestCreate(kind="medicine", note="布洛芬 一盒"))
    second = deliveries.create(res_a, ServiceRequestCreate(kind="water"))
    other = deliveries.create(res_b, ServiceRequestCreate(kind="groceries", note="樱桃"))
    return first.request.id, second.request.id, other.request.id


@pytest.fixture
def worker(sqlite_app, sworld):
    return Browser(sqlite_app, lang="en").sign_in(sworld.worker)


def status(rid):
    db.session.expire_all()
    return db.session.get(ServiceRequest, rid)


def test_the_open_requests_with_the_address_and_a_masked_name(worker, asked):
    first, second, other = asked
    r = worker.get("/worker")
    assert r.status_code == 200 and "<h1>Deliveries</h1>" in r.text
    assert "丰台小区 1号楼 unit 2 room 301" in r.text
    assert "张**" in r.text and "张三丰" not in r.text
    assert "布洛芬 一盒" in r.text and "樱桃" not in r.text
    assert r.text.index(f'data-request-id="{first}"') < r.text.index(f'data-request-id="{second}"')
    assert f'data-request-id="{other}"' not in r.text
    fragment = worker.get("/worker", htmx=True)
    assert "<html" not in fragment.text and 'id="worker-lists"' in fragment.text


def test_take_on_the_way_delivered_audited(worker, asked, sworld):
    first, _second, _other = asked
    assert worker.post(f"/worker/requests/{first}/take").status_code == 303
    page = worker.get("/worker").text
    mine = page[page.index('data-testid="mine"') : page.index('data-testid="open"')]
    assert f'data-request-id="{first}"' in mine and "On my way" in mine
    assert worker.post(f"/worker/requests/{first}/on-the-way").status_code == 303
    assert "Delivered at the door" in worker.get("/worker").text
    assert worker.post(f"/worker/requests/{first}/delivered").status_code == 303
    req = status(first)
    assert req.status == "delivered" and req.worker_id == sworld.worker.id
    assert req.taken_at <= req.on_way_at <= req.delivered_at
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["service.take", "service.on_the_way", "service.deliver"]
    assert f'data-request-id="{first}"' not in worker.get("/worker").text


def test_a_second_worker_is_told_it_was_taken(worker, asked, sqlite_app, sworld):
    first, _second, _other = asked
    other_worker = factories.user("worker_a2", "worker", community_id=sworld.a.community.id)
    db.session.commit()
    worker.post(f"/worker/requests/{first}/take")
    late = Browser(sqlite_app, lang="en").sign_in(other_worker)
    r = late.post(f"/worker/requests/{first}/take", follow_redirects=True)
    assert r.status_code == 200 and "Another worker has already taken this request." in r.text
    for step in ("on-the-way", "delivered"):
        r = late.post(f"/worker/requests/{first}/{step}", follow_redirects=True)
        assert "Another worker has already taken this request." in r.text
    assert status(first).worker_id == sworld.worker.id and status(first).status == "taken"


def test_a_step_out_of_order_is_said_so(worker, asked):
    first, _second, _other = asked
    r = worker.post(f"/worker/requests/{first}/delivered", follow_redirects=True)
    assert "This request has not been taken yet." in r.text
    assert status(first).status == "received"


def test_another_communitys_request_is_not_found(worker, asked):
    _first, _second, other = asked
    for rid in (other, 999999, 2**31):
        for step in ("take", "on-the-way", "delivered"):
            assert worker.post(f"/worker/requests/{rid}/{step}").status_code == 404
    assert status(other).status == "received"


def test_only_workers(sqlite_app, sworld, asked):
    first, _second, _other = asked
    assert Browser(sqlite_app).get("/worker").status_code == 302
    for user in (sworld.a.office, sworld.a.guard, sworld.resident_user):
        browser = Browser(sqlite_app).sign_in(user)
        assert browser.get("/worker").status_code == 403
        assert browser.post(f"/worker/requests/{first}/take").status_code == 403
    assert status(first).status == "received"


def test_the_start_page_links_workers_to_their_page(worker):
    assert 'href="/worker"' in worker.get("/").text
