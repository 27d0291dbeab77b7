"""Simultaneous scans at real app servers on one database cannot break a rule or give a 500.

Each trial scans one fresh person (or visitor) at two gates at the same moment, through two
servers on PostgreSQL (two workers each) and two workers on SQLite. The rules that count: an
exemption's one exit and one return, anti-passback per person (a phone pass and a paper pass
are one person), a visitor code's one use, and one answer per request id. The loser of a race
is told why (docs/concurrency.md).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import AccessEvent, Visit, utcnow
from kiosk.services import visitors
from tests import factories

from .conftest import Fleet, Request, at_once, csrf_of, http_call, scan_request

pytestmark = pytest.mark.concurrency

TRIALS = 15


def fresh_resident(fleet: Fleet, name: str):
    return factories.resident(fleet.site.household, name)


def decisions(answers) -> list[tuple[str, list[str]]]:
    out = []
    for a in answers:
        assert a.status == 200, (a.status, a.text[:500])
        body = a.json
        out.append((body["decision"], [r["code"] for r in body["reasons"]]))
    return out


def one_allowed(answers, loser_reason: str) -> None:
    """Exactly one scan passed; the other was stopped and told ``loser_reason``."""
    got = decisions(answers)
    allowed = [d for d in got if d[0] == "allow"]
    assert len(allowed) == 1, got
    (loser,) = [d for d in got if d[0] != "allow"]
    assert loser_reason in loser[1], got


def events_of(**filters) -> list[AccessEvent]:
    db.session.expire_all()
    stmt = select(AccessEvent).filter_by(**filters).order_by(AccessEvent.id)
    return list(db.session.scalars(stmt))


def test_an_exemption_leaves_once_and_returns_once_at_any_two_gates(fleet: Fleet):
    for i in range(TRIALS):
        res = fresh_resident(fleet, f"豁免{i}")
        now = utcnow()
        p = factories.pass_for(
            res,
            "exemption",
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(hours=4),
        )
        db.session.commit()
        code = factories.code(p)
        t1, t2 = fleet.gate_tokens
        out = at_once(
            scan_request(fleet.server(0), t1, code, "out"),
            scan_request(fleet.server(1), t2, code, "out"),
        )
        one_allowed(out, "exemption_used")
        back = at_once(
            scan_request(fleet.server(1), t1, code, "in"),
            scan_request(fleet.server(0), t2, code, "in"),
        )
        one_allowed(back, "exemption_used")
        assert [e.decision for e in events_of(pass_id=p.id, decision="allow")] == ["allow"] * 2


def test_one_person_enters_once_with_a_phone_pass_and_a_paper_pass_at_two_gates(fleet: Fleet):
    for i in range(TRIALS):
        res = fresh_resident(fleet, f"住户{i}")
        phone = factories.pass_for(res)
        paper = factories.pass_for(res, "paper")
        db.session.commit()
        t1, t2 = fleet.gate_tokens
        answers = at_once(
            scan_request(fleet.server(0), t1, factories.code(phone), "in"),
            scan_request(fleet.server(1), t2, factories.code(paper), "in"),
        )
        one_allowed(answers, "already_inside")
        assert len(events_of(resident_id=res.id, decision="allow")) == 1


def _visit(fleet: Fleet, name: str) -> Visit:
    visit = Visit(
        compound_id=fleet.site.compound.id,
        host_household_id=fleet.site.household.id,
        name=name,
        phone_hash=uuid.uuid4().hex,
        phone_last4="8000",
        purpose="delivery",
        health_code="green",
        via="self",
        status="registered",
        valid_on=utcnow().astimezone(fleet.app.config["TZ"]).date(),
    )
    db.session.add(visit)
    db.session.commit()
    return visit


def test_a_visitor_code_is_used_once_at_two_gates(fleet: Fleet):
    for i in range(TRIALS):
        visit = _visit(fleet, f"访客{i}")
        code = visitors.visitor_code(visit)
        t1, t2 = fleet.gate_tokens
        answers = at_once(
            scan_request(fleet.server(0), t1, code, "in"),
            scan_request(fleet.server(1), t2, code, "in"),
        )
        one_allowed(answers, "visitor_code_used")
        db.session.expire_all()
        assert db.session.get(Visit, visit.id).status == "inside"
        assert len(events_of(visit_id=visit.id, decision="allow")) == 1


def test_the_same_request_at_two_servers_is_answered_once(fleet: Fleet):
    """A tablet that retried on another server: one event, both answers the same."""
    for i in range(TRIALS):
        visit = _visit(fleet, f"重试{i}")
        res = fresh_resident(fleet, f"重试{i}")
        p = factories.pass_for(res)
        db.session.commit()
        for code in (visitors.visitor_code(visit), factories.code(p)):
            rid = uuid.uuid4().hex
            token = fleet.gate_tokens[0]
            answers = at_once(
                scan_request(fleet.server(0), token, code, "in", request_id=rid),
                scan_request(fleet.server(1), token, code, "in", request_id=rid),
            )
            got = decisions(answers)
            assert got[0] == got[1] == ("allow", []), got
            bodies = [a.json for a in answers]
            assert bodies[0]["event_id"] == bodies[1]["event_id"]
            assert sorted(b["replayed"] for b in bodies) == [False, True]
            assert len(events_of(request_id=rid)) == 1


def test_the_gate_visitor_form_sent_twice_at_once_registers_one_visitor(fleet: Fleet):
    cookies = fleet.tablet_cookies()
    with_cookies = {"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"}
    before = db.session.scalar(select(func.count()).select_from(Visit))
    for i in range(TRIALS):
        rid = uuid.uuid4().hex
        form = {
            "csrf_token": _csrf(fleet, cookies),
            "name": f"王{i}",
            "phone": "138 0013 8000",
            "host_household_id": str(fleet.site.household.id),
            "purpose": "delivery",
            "health_code": "green",
            "temperature": "36.4",
            "request_id": rid,
        }
        answers = at_once(
            *(
                Request(fleet.server(n), "POST", "/gate/visitors", _urlencoded(form), with_cookies)
                for n in (0, 1)
            )
        )
        for a in answers:
            assert a.status == 200, (a.status, a.text[:500])
            assert 'data-decision="allow"' in a.text, a.text[:800]
        ids = {_event_id(a.text) for a in answers}
        assert len(ids) == 1, ids
        assert len(events_of(request_id=rid)) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Visit)) == before + TRIALS


def test_a_visitor_checked_out_at_two_gates_at_once_leaves_once(fleet: Fleet):
    tablets = [fleet.tablet_cookies(gate) for gate in (0, 1)]
    for i in range(TRIALS):
        visit = _visit(fleet, f"离开{i}")
        visit.status, visit.checked_in_at = "inside", utcnow()
        db.session.commit()
        answers = at_once(
            *(
                Request(
                    fleet.server(n),
                    "POST",
                    f"/gate/visitors/{visit.id}/checkout",
                    b"",
                    {
                        "Cookie": tablets[n],
                        "X-CSRFToken": _csrf(fleet, tablets[n]),
                        "HX-Request": "true",
                    },
                )
                for n in (0, 1)
            )
        )
        assert [a.status for a in answers] == [200, 200], [a.text[:300] for a in answers]
        bodies = sorted(a.text for a in answers)
        assert bodies[0] == "" and "此访客不在小区内" in bodies[1], bodies
        assert len(events_of(visit_id=visit.id, direction="out")) == 1
        db.session.expire_all()
        assert db.session.get(Visit, visit.id).status == "left"


def _urlencoded(form: dict) -> bytes:
    return urllib.parse.urlencode(form).encode()


def _csrf(fleet: Fleet, cookies: str) -> str:
    jar = dict(pair.split("=", 1) for pair in cookies.split("; "))
    return csrf_of(http_call(fleet.servers[0], "GET", "/gate/visitors/new", jar).text)


def _event_id(page: str) -> str:
    found = re.search(r'data-event-id="(\d+)"', page)
    assert found, page[:800]
    return found.group(1)


def test_fire_helper_reports_the_servers_answers(fleet: Fleet):
    """The helper itself: two requests at once reach both servers and come back intact."""
    bad = json.dumps({"code": "not-a-code", "direction": "in", "temperature": 36.5}).encode()
    reqs = [
        Request(
            fleet.server(n),
            "POST",
            "/api/v1/scans",
            bad,
            {
                "Authorization": f"Bearer {fleet.gate_tokens[n % 2]}",
                "Content-Type": "application/json",
            },
        )
        for n in (0, 1)
    ]
    assert decisions(at_once(*reqs)) == [("deny", ["invalid_code"])] * 2
