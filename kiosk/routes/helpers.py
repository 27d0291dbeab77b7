"""Template helpers and small route helpers shared by the blueprints."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, wraps
from io import BytesIO
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    send_file,
)
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..domain.audit import AuditAction, AuditTarget
from ..domain.decision import (
    Decision,
    Direction,
    ExemptionStatus,
    OverrideReason,
    PassKind,
    SealState,
    TestOutcome,
)
from ..domain.deliveries import DoorReason, ServiceKind, ServiceStatus
from ..domain.disinfection import AreaKind
from ..domain.invitations import InvitationStatus
from ..domain.people import Role, mask_name
from ..domain.reasons import reason_message
from ..domain.screening import CallStatus, MatchStatus
from ..domain.sensors import AlarmKind, SensorEventKind
from ..domain.tracing import ContactReason
from ..domain.visitors import HealthCode, RiskLevel, VisitorPolicy, VisitPurpose
from ..extensions import htmx
from ..services.errors import ServiceError
from ..services.ledger import Miss
from ..services.moving import PLACEHOLDER_NAME
from ..services.results import RowStatus
from ..services.tables import Download

# The words for each value set of the domain, keyed by its enum: one definition of each set
# (tests/unit/test_labels.py checks that every member has its words).
LABELS: dict[str, dict] = {
    "role": {
        Role.STREET: _l("street office"),
        Role.OFFICE: _l("community office"),
        Role.GUARD: _l("guard"),
        Role.WORKER: _l("worker"),
        Role.RESIDENT: _l("resident"),
    },
    "pass_kind": {
        PassKind.RESIDENT: _l("phone pass"),
        PassKind.PAPER: _l("paper pass"),
        PassKind.VISITOR: _l("visitor"),
        PassKind.EXEMPTION: _l("exemption"),
    },
    "override": {
        OverrideReason.KNOWN_RESIDENT: _l("Known resident"),
        OverrideReason.CHECKED_ID: _l("ID card checked"),
        OverrideReason.MEDICAL: _l("Medical need"),
        OverrideReason.OFFICIAL: _l("Official duty"),
        OverrideReason.OTHER: _l("Other (write a note)"),
    },
    "direction": {Direction.IN: _l("in"), Direction.OUT: _l("out")},
    "decision": {
        Decision.ALLOW: _l("allowed"),
        Decision.DENY: _l("denied"),
        Decision.REFER: _l("to check"),
    },
    "purpose": {
        VisitPurpose.DELIVERY: _l("Delivery"),
        VisitPurpose.VISIT: _l("Visit"),
        VisitPurpose.REPAIR: _l("Repair"),
        VisitPurpose.MEDICAL: _l("Medical"),
        VisitPurpose.OFFICIAL: _l("Official"),
        VisitPurpose.OTHER: _l("Other"),
    },
    "risk_level": {
        RiskLevel.HIGH: _l("high risk"),
        RiskLevel.MEDIUM: _l("medium risk"),
        RiskLevel.LOW: _l("low risk"),
    },
    "health_code": {
        HealthCode.GREEN: _l("green"),
        HealthCode.YELLOW: _l("yellow"),
        HealthCode.RED: _l("red"),
    },
    "visitor_policy": {
        VisitorPolicy.OPEN: _l("Visitors registered at the gate"),
        VisitorPolicy.REGISTERED: _l("Only visitors registered in advance"),
        VisitorPolicy.NONE: _l("No visitors"),
    },
}

LABELS["exemption_status"] = {
    ExemptionStatus.NOT_BACK: _l("not back"),
    ExemptionStatus.OUT: _l("out"),
    ExemptionStatus.UNUSED: _l("not used yet"),
    ExemptionStatus.BACK: _l("back"),
    ExemptionStatus.EXPIRED: _l("expired unused"),
    ExemptionStatus.REVOKED: _l("revoked"),
}
LABELS["import_row"] = {
    RowStatus.RECORDED: _l("recorded"),
    RowStatus.ALREADY: _l("already recorded"),
    RowStatus.UNMATCHED: _l("not found here"),
    RowStatus.AMBIGUOUS: _l("ambiguous: record it by hand"),
    RowStatus.INVALID: _l("not recorded"),
}
LABELS["ledger_miss"] = {
    Miss.NO_EXEMPTION: _l("lives here, no exemption"),
    Miss.NOT_FOUND: _l("not found here"),
    Miss.AMBIGUOUS: _l("several people match"),
    Miss.INVALID: _l("cannot be read"),
}
LABELS["test_outcome"] = {
    TestOutcome.NEGATIVE: _l("negative"),
    TestOutcome.POSITIVE: _l("positive"),
}
LABELS["seal_state"] = {
    SealState.OPEN: _l("open"),
    SealState.IN_ONLY: _l("in-only"),
    SealState.SEALED: _l("sealed"),
}
LABELS["audit_target"] = {
    AuditTarget.COMPOUND: _l("compound"),
    AuditTarget.GATE: _l("gate"),
    AuditTarget.BUILDING: _l("building"),
    AuditTarget.HOUSEHOLD: _l("household"),
    AuditTarget.RESIDENT: _l("resident"),
    AuditTarget.TEST: _l("test result"),
    AuditTarget.PASS: _l("pass"),
    AuditTarget.EXEMPTION: _l("exemption"),
    AuditTarget.DEVICE: _l("gate tablet"),
    AuditTarget.USER: _l("staff account"),
    AuditTarget.ALERT: _l("fever alert"),
    AuditTarget.SCAN: _l("scan"),
    AuditTarget.RISK_AREA: _l("risk area"),
    AuditTarget.IMPORT: _l("import"),
    AuditTarget.NOTICE: _l("notice"),
    AuditTarget.SERVICE: _l("service request"),
    AuditTarget.INVITE: _l("joining slip"),
    AuditTarget.SCREENING: _l("screening list"),
    AuditTarget.AREA: _l("disinfection area"),
    AuditTarget.SENSOR: _l("door sensor"),
    AuditTarget.ALARM: _l("door alarm"),
    AuditTarget.STREET: _l("street"),
    AuditTarget.VISIT: _l("visit"),
}
LABELS["audit_action"] = {
    AuditAction.COMPOUND_CREATE: _l("compound created"),
    AuditAction.COMPOUND_SEAL: _l("compound seal changed"),
    AuditAction.COMPOUND_TEMPERATURE_RULE: _l("temperature rule changed"),
    AuditAction.COMPOUND_VISITOR_POLICY: _l("visitor policy changed"),
    AuditAction.GATE_CREATE: _l("gate created"),
    AuditAction.GATE_OPEN: _l("gate opened"),
    AuditAction.GATE_CLOSE: _l("gate closed"),
    AuditAction.BUILDING_CREATE: _l("building created"),
    AuditAction.BUILDING_SEAL: _l("building seal changed"),
    AuditAction.HOUSEHOLD_CREATE: _l("household created"),
    AuditAction.HOUSEHOLD_OBSERVATION: _l("home observation set"),
    AuditAction.HOUSEHOLD_OBSERVATION_END: _l("home observation ended"),
    AuditAction.RESIDENT_CREATE: _l("resident added"),
    AuditAction.TEST_RECORD: _l("test result recorded"),
    AuditAction.TEST_IMPORT: _l("test results imported"),
    AuditAction.PASS_ISSUE: _l("pass issued"),
    AuditAction.PASS_ISSUE_BULK: _l("paper passes issued for a building"),
    AuditAction.PASS_REVOKE: _l("pass revoked"),
    AuditAction.EXEMPTION_ISSUE: _l("exemption issued"),
    AuditAction.DEVICE_CREATE: _l("tablet added"),
    AuditAction.DEVICE_ENROLMENT_CODE: _l("enrolment code issued"),
    AuditAction.DEVICE_ENROL: _l("tablet enrolled"),
    AuditAction.DEVICE_REVOKE: _l("tablet removed"),
    AuditAction.USER_CREATE: _l("account created"),
    AuditAction.USER_PASSWORD: _l("password set"),
    AuditAction.USER_PIN: _l("PIN set"),
    AuditAction.USER_ENABLE: _l("account enabled"),
    AuditAction.USER_DISABLE: _l("account disabled"),
    AuditAction.ALERT_ACK: _l("alert handled"),
    AuditAction.SCAN_OVERRIDE: _l("guard's decision"),
    AuditAction.RISK_AREA_CREATE: _l("risk area added"),
    AuditAction.RISK_AREA_DELETE: _l("risk area removed"),
    AuditAction.COMPOUND_SEAL_SCHEDULE: _l("compound seal scheduled"),
    AuditAction.COMPOUND_SEAL_SCHEDULE_CANCEL: _l("compound seal schedule cancelled"),
    AuditAction.BUILDING_SEAL_SCHEDULE: _l("building seal scheduled"),
    AuditAction.BUILDING_SEAL_SCHEDULE_CANCEL: _l("building seal schedule cancelled"),
    AuditAction.GATE_HOURS: _l("gate opening hours changed"),
    AuditAction.IMPORT_PEOPLE: _l("people list imported"),
    AuditAction.RESIDENT_UPDATE: _l("resident details changed"),
    AuditAction.RESIDENT_MOVE_AWAY: _l("resident moved away"),
    AuditAction.NOTICE_CREATE: _l("notice posted"),
    AuditAction.NOTICE_WITHDRAW: _l("notice withdrawn"),
    AuditAction.HOUSEHOLD_SERVICES: _l("deliveries allowed or stopped"),
    AuditAction.SERVICE_TAKE: _l("service request taken"),
    AuditAction.SERVICE_ON_THE_WAY: _l("service request on the way"),
    AuditAction.SERVICE_DELIVER: _l("service request delivered"),
    AuditAction.INVITE_ISSUE: _l("joining slip issued"),
    AuditAction.INVITE_ISSUE_BULK: _l("joining slips issued for a building"),
    AuditAction.SCREENING_IMPORT: _l("screening list imported"),
    AuditAction.SCREENING_ROW: _l("screening row updated"),
    AuditAction.AREA_CREATE: _l("disinfection area added"),
    AuditAction.AREA_RETIRE: _l("disinfection area retired"),
    AuditAction.AREA_ASSIGN: _l("disinfection area given to a worker"),
    AuditAction.AREA_STICKER: _l("disinfection stickers printed"),
    AuditAction.AREA_DONE: _l("area disinfected"),
    AuditAction.SENSOR_CREATE: _l("door sensor added"),
    AuditAction.SENSOR_ENROLMENT_CODE: _l("door sensor enrolment code issued"),
    AuditAction.SENSOR_ENROL: _l("door sensor enrolled"),
    AuditAction.SENSOR_REVOKE: _l("door sensor removed"),
    AuditAction.ALARM_ACK: _l("door alarm handled"),
    AuditAction.COMPOUND_QUOTA: _l("outing quota changed"),
    AuditAction.STREET_RETENTION: _l("retention period changed"),
    AuditAction.RESIDENT_TRACE: _l("resident traced"),
    AuditAction.VISIT_TRACE: _l("visitor traced"),
    AuditAction.AREA_DUE_NOW: _l("area made due now"),
}

# Deliveries and services (kiosk/domain/deliveries.py).
LABELS["service_kind"] = {
    ServiceKind.GROCERIES: _l("Groceries"),
    ServiceKind.WATER: _l("Bottled water"),
    ServiceKind.MEDICINE: _l("Medicine"),
    ServiceKind.PARCEL: _l("Bring up a parcel"),
    ServiceKind.RUBBISH: _l("Rubbish collection"),
}
LABELS["service_status"] = {
    ServiceStatus.RECEIVED: _l("received"),
    ServiceStatus.TAKEN: _l("taken by a worker"),
    ServiceStatus.ON_THE_WAY: _l("on the way"),
    ServiceStatus.DELIVERED: _l("delivered at the door"),
    ServiceStatus.CONFIRMED: _l("received by you"),
    ServiceStatus.CANCELLED: _l("cancelled"),
}
LABELS["door_reason"] = {
    DoorReason.DELIVERY: _l("Collecting a delivery"),
    DoorReason.RUBBISH: _l("Putting out rubbish"),
    DoorReason.OTHER: _l("Other"),
}

# Visitor invitations (kiosk/domain/invitations.py).
LABELS["invitation_status"] = {
    InvitationStatus.WAITING: _l("waiting"),
    InvitationStatus.ARRIVED: _l("arrived"),
    InvitationStatus.LEFT: _l("left"),
    InvitationStatus.REFUSED: _l("refused at the gate"),
    InvitationStatus.CANCELLED: _l("cancelled"),
    InvitationStatus.EXPIRED: _l("expired"),
}

# Disinfection rounds (kiosk/domain/disinfection.py).
LABELS["area_kind"] = {
    AreaKind.LIFT: _l("Lift"),
    AreaKind.STAIRWELL: _l("Stairwell"),
    AreaKind.GATE: _l("Gate"),
    AreaKind.BINS: _l("Rubbish bins"),
    AreaKind.FITNESS: _l("Fitness equipment"),
    AreaKind.BENCH: _l("Benches"),
    AreaKind.RUBBISH: _l("Rubbish collection round"),
}

# Screening lists (kiosk/domain/screening.py).
LABELS["screening_match"] = {
    MatchStatus.MATCHED: _l("matched"),
    MatchStatus.AMBIGUOUS: _l("ambiguous: choose"),
    MatchStatus.NOT_HERE: _l("not living here"),
}
LABELS["screening_call"] = {
    CallStatus.NOT_REACHED: _l("not reached"),
    CallStatus.REACHED: _l("reached"),
    CallStatus.TESTED: _l("tested"),
    CallStatus.CLEARED: _l("cleared"),
    CallStatus.OBSERVED: _l("put under observation"),
    CallStatus.MOVED_AWAY: _l("moved away"),
}

# Door sensors and their alarms (kiosk/domain/sensors.py).
LABELS["sensor_event"] = {
    SensorEventKind.DOOR_OPEN: _l("door opened"),
    SensorEventKind.DOOR_CLOSED: _l("door closed"),
    SensorEventKind.TAMPER: _l("tampered with"),
    SensorEventKind.BATTERY_LOW: _l("battery low"),
    SensorEventKind.HEARTBEAT: _l("heartbeat"),
}
LABELS["alarm_kind"] = {
    AlarmKind.DOOR_OPEN: _l("Door opened under home observation"),
    AlarmKind.TAMPER: _l("Sensor tampered with"),
    AlarmKind.BATTERY_LOW: _l("Sensor battery low"),
    AlarmKind.SILENT: _l("Sensor silent"),
}

# Tracing (kiosk/domain/tracing.py): why someone is a contact.
LABELS["contact_reason"] = {
    ContactReason.SAME_HOUSEHOLD: _l("same household"),
    ContactReason.VISITED_THEM: _l("visited their household"),
    ContactReason.VISITED_BY_THEM: _l("their household was visited"),
    ContactReason.CLOSE_IN_TIME: _l("same gate within 2 minutes"),
    ContactReason.SAME_PLACE: _l("same gate within the window"),
}

# The value sets the templates offer as choices, in their order.
CHOICES = {
    "risk_levels": tuple(RiskLevel),
    "health_codes": tuple(HealthCode),
    "visitor_policies": tuple(VisitorPolicy),
    "purposes": tuple(VisitPurpose),
    "override_reasons": tuple(OverrideReason),
    "service_kinds": tuple(ServiceKind),
    "door_reasons": tuple(DoorReason),
    "area_kinds": tuple(AreaKind),
}


def label(kind: str, value: str) -> str:
    return str(LABELS[kind].get(value, value))


def role_label(role: str) -> str:
    return label("role", role)


def reason_text(code: str) -> str:
    return gettext(reason_message(code))


def person_name(name: str | None) -> str:
    """A resident's name as a page shows it: a translated label for one who moved away (their
    record keeps only a neutral marker, services/moving.py)."""
    if name == PLACEHOLDER_NAME:
        return gettext("(moved away)")
    return name or ""


def local_time(dt, fmt: str = "%H:%M:%S") -> str:
    if dt is None:
        return ""
    return dt.astimezone(current_app.config["TZ"]).strftime(fmt)


# The value sets whose labels the templates show, as ``<kind>_label(value)``.
_LABELLED = (
    "pass_kind",
    "override",
    "direction",
    "decision",
    "purpose",
    "risk_level",
    "health_code",
    "visitor_policy",
    "audit_action",
    "seal_state",
    "exemption_status",
    "test_outcome",
    "import_row",
    "ledger_miss",
    "audit_target",
    "service_kind",
    "service_status",
    "door_reason",
    "area_kind",
    "invitation_status",
    "alarm_kind",
    "contact_reason",
)


def register(app: Flask) -> None:
    # The same for every page: Jinja globals, set once (a context processor would build this
    # dict for every render, the tablet's scan answer included: docs/performance.md).
    app.jinja_env.globals.update(
        languages=app.config["LANGUAGES"],
        role_label=role_label,
        reason_text=reason_text,
        local_time=local_time,
        mask=mask_name,
        person_name=person_name,
        has_endpoint=lambda name: name in current_app.view_functions,
        **{f"{kind}_label": partial(label, kind) for kind in _LABELLED},
        **CHOICES,
    )

    @app.context_processor
    def inject():
        return {"current_locale": "zh_CN" if get_locale().language == "zh" else "en"}

    @app.after_request
    def vary_on_htmx(response):
        # Security headers: kiosk/security_headers.py.
        if htmx:
            response.vary.add("HX-Request")
        return response


def safe_next(target: object, fallback: str) -> str:
    """``target`` if it is a path on this site, else ``fallback``: never another site.

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so
    ``/%09/evil.example/`` (a tab once decoded) leads away, and a newline would break the
    ``Location`` header. A control character, space or backslash anywhere refuses the target.
    """
    if not isinstance(target, str) or not target or len(target) > 2000:
        return fallback
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in target):
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def send_download(download: Download):
    """A file of the office's (a list, a report) as an attachment."""
    return send_file(
        BytesIO(download.content),
        mimetype=download.mimetype,
        as_attachment=True,
        download_name=download.filename,
    )


def row_removed(remove: Callable[[], object], back: str):
    """An office list's row taken away (an area retired, a tablet or door sensor out of
    service): htmx gets an empty answer that removes the row, also when another worker had
    removed it already; a plain form post goes ``back`` to the list, with the refusal's message
    flashed. Not found stays not found."""
    try:
        remove()
    except ServiceError as exc:
        if exc.status == 404:
            raise
        if not htmx:
            flash(str(exc.message), "error")
    return "" if htmx else redirect(back, code=303)


def throttled_page(template: str, exc, **context):
    """A sign-in form answered 429 with the throttle's message and when to try again."""
    response = make_response(render_template(template, error=str(exc.message), **context), 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def role_required(*roles: str):
    """Page views: signed in with one of these roles, else 403 (or the login page)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def resident_required(view):
    """Resident pages: signed in as a joined resident (role resident, bound to their own
    record), else the login page or 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.role != "resident" or current_user.resident_id is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
