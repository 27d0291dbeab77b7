"""The outing quota counts each exit once when two members of a household leave at once at two
gates (docs/concurrency.md): the household's row is locked before its exits are counted. Both
engines, no servers: a listener on the engine puts the other gate's scan at the worst moment."""

from __future__ import annotations

import threading

import pytest
from flask import current_app
from sqlalchemy import event, select

from kiosk.extensions import db
from kiosk.models import AccessEvent, Compound, Gate
from kiosk.services import scan
from kiosk.services.gate import GateAction
from tests import factories

QUOTA = 1


@pytest.fixture
def household_of_two(world):
    """Site a under a quota of one exit a day, a second gate, and a second member with a pass."""
    a = world.a
    db.session.get(Compound, a.compound.id).quota_exits = QUOTA
    gate = Gate(compound_id=a.compound.id, name="西门")
    db.session.add(gate)
    db.session.flush()
    _device, token = factories.device(gate, "tablet 2")
    member = factories.pass_for(factories.resident(a.household, "李四"))
    db.session.commit()
    return token, factories.code(a.pass_), factories.code(member)


def _is_household_lock(statement: str) -> bool:
    s = " ".join(statement.split()).upper()
    return s.startswith("UPDATE HOUSEHOLD") or (
        s.startswith("SELECT HOUSEHOLD.ID") and s.endswith("FOR UPDATE")
    )


def _listen(match, run):
    """Call ``run()`` once, before the first statement of this thread that ``match``es."""
    me, done = threading.get_ident(), []

    def listener(_conn, _cursor, statement, *_args):
        if threading.get_ident() == me and not done and match(statement):
            done.append(True)
            run()

    event.listen(db.engine, "before_cursor_execute", listener)
    return listener


def exits() -> list[tuple[str, str]]:
    db.session.expire_all()
    return [
        (e.decision, e.reasons)
        for e in db.session.scalars(
            select(AccessEvent).where(AccessEvent.direction == "out").order_by(AccessEvent.id)
        )
    ]


def test_an_exit_committed_before_the_count_is_counted(app, world, household_of_two):
    """The other member's exit lands after this scan's main SELECT, before its count: the
    count is read after the lock, so it sees that exit."""
    token, mine, theirs = household_of_two
    other = []
    listener = _listen(
        _is_household_lock,
        lambda: other.append(scan.scan(GateAction(device_token=token), theirs, "out")),
    )
    try:
        answer = scan.scan(GateAction(device_token=world.a.device_token), mine, "out")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert (other[0].decision, other[0].reasons) == ("allow", ())
    assert (answer.decision, answer.reasons) == ("deny", ("quota_exceeded",))
    assert exits() == [("allow", ""), ("deny", "quota_exceeded")]


def test_the_lock_holds_the_other_exit_until_this_one_commits(app, world, household_of_two):
    """This scan has counted and is about to record its exit; the other member's scan at the
    second gate must wait for it (without the lock it would count 0 and pass too)."""
    token, mine, theirs = household_of_two
    flask_app = current_app._get_current_object()
    other: list = []

    def other_gate():
        with flask_app.app_context():
            other.append(scan.scan(GateAction(device_token=token), theirs, "out"))

    thread = threading.Thread(target=other_gate)
    blocked = []

    def start_the_other_gate():
        thread.start()
        thread.join(timeout=1.5)
        blocked.append(thread.is_alive())

    listener = _listen(lambda s: "UPDATE RESIDENT" in s.upper(), start_the_other_gate)
    try:
        answer = scan.scan(GateAction(device_token=world.a.device_token), mine, "out")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    thread.join(timeout=10)
    assert blocked == [True], "the other gate's scan did not wait for the household's lock"
    assert (answer.decision, answer.reasons) == ("allow", ())
    assert (other[0].decision, other[0].reasons) == ("deny", ("quota_exceeded",))
    assert exits() == [("allow", ""), ("deny", "quota_exceeded")]
