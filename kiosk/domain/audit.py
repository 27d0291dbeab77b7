"""What the audit trail records: every kind of change a staff user makes, defined once."""

from __future__ import annotations

from enum import StrEnum


class AuditTarget(StrEnum):
    """The kinds of object a change is made to."""

    COMPOUND = "compound"
    GATE = "gate"
    BUILDING = "building"
    HOUSEHOLD = "household"
    RESIDENT = "resident"
    TEST = "test"
    PASS = "pass"
    EXEMPTION = "exemption"
    DEVICE = "device"
    USER = "user"
    ALERT = "alert"
    SCAN = "scan"
    RISK_AREA = "risk_area"
    IMPORT = "import"
    NOTICE = "notice"
    SERVICE = "service"  # a household's service request (deliveries)
    INVITE = "invite"  # a household's joining slip (kiosk/services/joining.py)
    SCREENING = "screening"  # a screening list or one of its rows (kiosk/services/screening.py)
    AREA = "area"  # a public area to disinfect (kiosk/services/disinfection.py)
    SENSOR = "sensor"  # a door sensor (kiosk/services/sensors.py)
    ALARM = "alarm"  # a door alarm (kiosk/services/sensors.py)
    STREET = "street"  # a street's settings: its retention period (kiosk/services/retention.py)
    VISIT = "visit"  # a visitor's visit (a trace of a visitor: kiosk/services/tracing.py)


class AuditAction(StrEnum):
    COMPOUND_CREATE = "compound.create"
    COMPOUND_SEAL = "compound.seal"
    COMPOUND_TEMPERATURE_RULE = "compound.temperature_rule"
    COMPOUND_VISITOR_POLICY = "compound.visitor_policy"
    GATE_CREATE = "gate.create"
    GATE_OPEN = "gate.open"
    GATE_CLOSE = "gate.close"
    BUILDING_CREATE = "building.create"
    BUILDING_SEAL = "building.seal"
    HOUSEHOLD_CREATE = "household.create"
    HOUSEHOLD_OBSERVATION = "household.observation"
    HOUSEHOLD_OBSERVATION_END = "household.observation_end"
    RESIDENT_CREATE = "resident.create"
    TEST_RECORD = "test.record"
    TEST_IMPORT = "test.import"
    PASS_ISSUE = "pass.issue"
    PASS_ISSUE_BULK = "pass.issue_bulk"
    PASS_REVOKE = "pass.revoke"
    EXEMPTION_ISSUE = "exemption.issue"
    DEVICE_CREATE = "device.create"
    DEVICE_ENROLMENT_CODE = "device.enrolment_code"
    DEVICE_ENROL = "device.enrol"
    DEVICE_REVOKE = "device.revoke"
    USER_CREATE = "user.create"
    USER_PASSWORD = "user.password"
    USER_PIN = "user.pin"
    USER_ENABLE = "user.enable"
    USER_DISABLE = "user.disable"
    ALERT_ACK = "alert.ack"
    SCAN_OVERRIDE = "scan.override"
    RISK_AREA_CREATE = "risk_area.create"
    RISK_AREA_DELETE = "risk_area.delete"
    COMPOUND_SEAL_SCHEDULE = "compound.seal_schedule"
    COMPOUND_SEAL_SCHEDULE_CANCEL = "compound.seal_schedule_cancel"
    BUILDING_SEAL_SCHEDULE = "building.seal_schedule"
    BUILDING_SEAL_SCHEDULE_CANCEL = "building.seal_schedule_cancel"
    GATE_HOURS = "gate.hours"
    IMPORT_PEOPLE = "import.people"
    RESIDENT_UPDATE = "resident.update"
    # Moving away (kiosk/services/moving.py): passes revoked, the record anonymised.
    RESIDENT_MOVE_AWAY = "resident.move_away"
    NOTICE_CREATE = "notice.create"
    NOTICE_WITHDRAW = "notice.withdraw"
    # Deliveries and services (kiosk/services/deliveries.py).
    HOUSEHOLD_SERVICES = "household.services"
    SERVICE_TAKE = "service.take"
    SERVICE_ON_THE_WAY = "service.on_the_way"
    SERVICE_DELIVER = "service.deliver"
    # Joining slips (kiosk/services/joining.py).
    INVITE_ISSUE = "invite.issue"
    INVITE_ISSUE_BULK = "invite.issue_bulk"
    # Screening lists (kiosk/services/screening.py).
    SCREENING_IMPORT = "screening.import"
    SCREENING_ROW = "screening.row"

    # Disinfection rounds (kiosk/services/disinfection.py).
    AREA_CREATE = "area.create"
    AREA_RETIRE = "area.retire"
    AREA_ASSIGN = "area.assign"
    AREA_STICKER = "area.sticker"
    AREA_DONE = "area.done"
    # Door sensors and their alarms (kiosk/services/sensors.py).
    SENSOR_CREATE = "sensor.create"
    SENSOR_ENROLMENT_CODE = "sensor.enrolment_code"
    SENSOR_ENROL = "sensor.enrol"
    SENSOR_REVOKE = "sensor.revoke"
    ALARM_ACK = "alarm.ack"
    # Household outing quotas (kiosk/services/quota.py).
    COMPOUND_QUOTA = "compound.quota"
    # A street's retention period (kiosk/services/retention.py).
    STREET_RETENTION = "street.retention"
    # Tracing (kiosk/services/tracing.py): who traced whom, when, why.
    RESIDENT_TRACE = "resident.trace"
    VISIT_TRACE = "visit.trace"
    AREA_DUE_NOW = "area.due_now"

    @property
    def target(self) -> AuditTarget:
        """The kind of object the action changes (the part before the dot)."""
        return AuditTarget(self.value.partition(".")[0])
