"""Two workers take one service request at the same moment: the other worker's real write lands
between this worker's read and its conditional UPDATE (a listener on the engine runs it just
before the UPDATE is sent). One wins; the other is told, never a 500. Both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from kiosk.contract.deliveries import ServiceRequestCreate
from kiosk.extensions import db
from kiosk.models import AuditEntry, ServiceRequest, utcnow
from kiosk.services import deliveries
from kiosk.services.errors import Conflict
from tests import factories


def test_two_workers_take_one_request_one_wins(app, world):
    world.a.household.observation_until = utcnow() + timedelta(days=2)
    resident = factories.user(
        "res_a", "resident", household_id=world.a.household.id, resident_id=world.a.resident.id
    )
    rival = factories.user("worker_a2", "worker", community_id=world.a.community.id)
    db.session.commit()
    rid = deliveries.create(resident, ServiceRequestCreate(kind="groceries")).request.id
    rival_id = rival.id
    seen = {"busy": False, "won": None}

    def rival_takes_first(_conn, _cursor, statement, *_args):
        if seen["busy"] or not statement.lstrip().upper().startswith("UPDATE SERVICE_REQUEST"):
            return
        seen["busy"] = True
        try:
            with db.engine.begin() as conn:  # the rival's own connection and transaction
                conn.execute(
                    ServiceRequest.__table__.update()
                    .where(ServiceRequest.id == rid, ServiceRequest.status == "received")
                    .values(status="taken", worker_id=rival_id, taken_at=utcnow())
                )
        finally:
            seen["busy"] = False

    event.listen(db.engine, "before_cursor_execute", rival_takes_first)
    try:
        with app.test_request_context(headers={"Accept-Language": "en"}):
            with pytest.raises(Conflict) as lost:
                deliveries.advance(world.worker, rid, "take")
            message = str(lost.value.message)
    finally:
        event.remove(db.engine, "before_cursor_execute", rival_takes_first)

    assert lost.value.code == "taken_by_another"
    assert message == "Another worker has already taken this request."
    db.session.expire_all()
    req = db.session.get(ServiceRequest, rid)
    assert (req.status, req.worker_id) == ("taken", rival_id)
    assert db.session.scalars(select(AuditEntry)).all() == []  # the loser changed nothing
