"""Every value of each domain value set has its words on the pages, in both languages."""

from __future__ import annotations

from kiosk import create_app
from kiosk.domain.audit import AuditAction, AuditTarget
from kiosk.domain.decision import (
    Decision,
    Direction,
    ExemptionStatus,
    OverrideReason,
    PassKind,
    SealState,
)
from kiosk.domain.decision import (
    TestOutcome as Outcome,
)
from kiosk.domain.deliveries import DoorReason, ServiceKind, ServiceStatus
from kiosk.domain.disinfection import AreaKind
from kiosk.domain.invitations import InvitationStatus
from kiosk.domain.people import Role
from kiosk.domain.screening import CallStatus, MatchStatus
from kiosk.domain.sensors import AlarmKind, SensorEventKind
from kiosk.domain.tracing import ContactReason
from kiosk.domain.visitors import HealthCode, RiskLevel, VisitorPolicy, VisitPurpose
from kiosk.routes.helpers import LABELS
from kiosk.services.ledger import Miss
from kiosk.services.results import RowStatus
from tests.conftest import TEST_CONFIG

VALUE_SETS = {
    "sensor_event": SensorEventKind,
    "alarm_kind": AlarmKind,
    "invitation_status": InvitationStatus,
    "role": Role,
    "pass_kind": PassKind,
    "override": OverrideReason,
    "direction": Direction,
    "decision": Decision,
    "purpose": VisitPurpose,
    "risk_level": RiskLevel,
    "health_code": HealthCode,
    "visitor_policy": VisitorPolicy,
    "audit_action": AuditAction,
    "seal_state": SealState,
    "audit_target": AuditTarget,
    "exemption_status": ExemptionStatus,
    "test_outcome": Outcome,
    "import_row": RowStatus,
    "ledger_miss": Miss,
    "service_kind": ServiceKind,
    "service_status": ServiceStatus,
    "door_reason": DoorReason,
    "area_kind": AreaKind,
    "screening_match": MatchStatus,
    "screening_call": CallStatus,
    "contact_reason": ContactReason,
}


def test_each_value_set_is_labelled_member_for_member():
    assert set(LABELS) == set(VALUE_SETS)
    for kind, enum in VALUE_SETS.items():
        assert list(LABELS[kind]) == list(enum), kind


def test_every_label_is_translated_into_chinese(tmp_path):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        for kind, words in LABELS.items():
            for value, text in words.items():
                assert str(text) != text._args[0], (kind, value)
