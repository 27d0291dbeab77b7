"""A tablet's enrolment code and a device's removal, each sent twice at the same moment through
two real servers (PostgreSQL) or two workers (SQLite): the code binds one browser, the removal
happens once, and the loser is told why, never a 500."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from sqlalchemy import func, select

from kiosk.extensions import db
from kiosk.models import AuditEntry, Device
from tests import factories

from .conftest import Fleet, Request, at_once, csrf_of, http_call

pytestmark = pytest.mark.concurrency

TRIALS = 5  # the enrolment form allows 10 posts a minute from one address


def _enrol_request(fleet: Fleet, n: int, code: str) -> Request:
    """A fresh browser at server n with the enrolment page open: its post of ``code``."""
    jar: dict[str, str] = {}
    page = http_call(fleet.server(n), "GET", "/gate/enrol", jar)
    body = urllib.parse.urlencode({"csrf_token": csrf_of(page.text), "code": code}).encode()
    headers = {
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept-Language": "en",
    }
    return Request(fleet.server(n), "POST", "/gate/enrol", body, headers)


def _enrolments(device_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "device.enrol", AuditEntry.target_id == device_id)
    )


def test_one_enrolment_code_typed_on_two_tablets_at_once_binds_one(fleet: Fleet):
    for i in range(TRIALS):
        device, _token = factories.device(fleet.site.gate, f"北门平板 {i}")
        code = factories.enrolment_code(device)
        db.session.commit()
        answers = at_once(*(_enrol_request(fleet, n, code) for n in (0, 1)))
        assert sorted(a.status for a in answers) == [200, 303], [a.text[:300] for a in answers]
        (loser,) = [a for a in answers if a.status == 200]
        assert "This code is not valid. Ask the office for a new one." in loser.text
        db.session.expire_all()
        bound = db.session.get(Device, device.id)
        assert bound.enrolled_at is not None and bound.enrol_code_hash is None
        assert _enrolments(device.id) == 1


def test_a_device_removed_by_two_office_workers_at_once_is_removed_once(fleet: Fleet):
    site = fleet.site
    tokens = [factories.api_token(site.office), factories.api_token(fleet.site.office)]
    for i in range(TRIALS):
        device, _token = factories.device(site.gate, f"东门平板 {i}")
        db.session.commit()
        answers = at_once(
            *(
                Request(
                    fleet.server(n),
                    "POST",
                    f"/api/v1/devices/{device.id}/revoke",
                    b"",
                    {"Authorization": f"Bearer {tokens[n]}", "Accept-Language": "en"},
                )
                for n in (0, 1)
            )
        )
        assert sorted(a.status for a in answers) == [200, 409], [a.text[:300] for a in answers]
        (loser,) = [a for a in answers if a.status == 409]
        assert json.loads(loser.body)["error"]["code"] == "already_revoked"
        db.session.expire_all()
        removals = db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "device.revoke", AuditEntry.target_id == device.id)
        )
        assert removals == 1
