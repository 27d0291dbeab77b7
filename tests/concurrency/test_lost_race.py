"""The scan that loses a race, made to lose deterministically: another gate's real write lands
between its read and its conditional UPDATE (a listener on the engine runs it just before the
UPDATE of the person's state row is sent). Both engines, no servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from kiosk.extensions import db
from kiosk.models import AccessEvent, Gate, Resident, utcnow
from kiosk.services import scan
from kiosk.services.gate import GateAction
from tests import factories


@pytest.fixture
def second_gate(world):
    gate = Gate(compound_id=world.a.compound.id, name="西门")
    db.session.add(gate)
    db.session.flush()
    _device, token = factories.device(gate, "tablet 2")
    db.session.commit()
    return gate.id, token


def before_state_update(run):
    """Call ``run(n)`` before the n-th UPDATE of a resident's state row (n from 1)."""
    seen = {"n": 0, "busy": False}

    def listener(_conn, _cursor, statement, *_args):
        if seen["busy"] or "UPDATE RESIDENT" not in statement.upper():
            return
        seen["busy"] = True  # the competing write itself updates the row too
        try:
            seen["n"] += 1
            run(seen["n"])
        finally:
            seen["busy"] = False

    event.listen(db.engine, "before_cursor_execute", listener)
    return listener


def events() -> list[AccessEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AccessEvent).order_by(AccessEvent.id)))


def test_the_loser_is_decided_again_and_told_already_inside(app, world, second_gate):
    p = world.a.pass_
    code = factories.code(p)
    other: list = []

    def other_gate_scans_first(n: int) -> None:
        if n == 1:
            action = GateAction(device_token=second_gate[1])
            other.append(scan.scan(action, code, "in", 36.5))

    listener = before_state_update(other_gate_scans_first)
    try:
        mine = scan.scan(GateAction(device_token=world.a.device_token), code, "in", 36.5)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    assert (other[0].decision, other[0].reasons) == ("allow", ())
    assert mine.decision == "refer" and "already_inside" in mine.reasons
    assert [(e.decision, e.gate_id) for e in events()] == [
        ("allow", second_gate[0]),
        ("refer", world.a.gate.id),
    ]
    assert db.session.get(Resident, p.resident_id).presence == "in"


def test_an_exemption_that_lost_its_exit_to_another_gate_is_used(app, world, second_gate):
    now = utcnow()
    p = factories.pass_for(
        world.a.resident,
        "exemption",
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=2),
    )
    db.session.commit()
    code = factories.code(p)
    other: list = []

    def other_gate_lets_out_first(n: int) -> None:
        if n == 1:
            other.append(scan.scan(GateAction(device_token=second_gate[1]), code, "out"))

    listener = before_state_update(other_gate_lets_out_first)
    try:
        mine = scan.scan(GateAction(device_token=world.a.device_token), code, "out")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    assert other[0].decision == "allow"
    assert mine.decision == "deny" and "exemption_used" in mine.reasons
    assert [e.decision for e in events()] == ["allow", "deny"]


def test_a_scan_that_loses_every_attempt_is_referred_as_busy_and_logged(app, world):
    """A burst at many gates: each attempt finds the person's row changed; after the last the
    guard is asked to scan again, and the person did not pass."""
    rid = world.a.resident.id

    def someone_else_moves_the_person(_n: int) -> None:
        with db.engine.begin() as conn:
            conn.execute(
                update(Resident)
                .where(Resident.id == rid)
                .values(state_version=Resident.state_version + 1)
            )

    listener = before_state_update(someone_else_moves_the_person)
    try:
        answer = scan.scan(
            GateAction(device_token=world.a.device_token), factories.code(world.a.pass_), "in", 36.5
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    assert (answer.decision, answer.reasons) == ("refer", ("busy",))
    (logged,) = events()
    assert (logged.decision, logged.reasons, logged.pass_id) == (
        "refer",
        "busy",
        world.a.pass_.id,
    )
    assert db.session.get(Resident, rid).presence is None
