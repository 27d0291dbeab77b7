"""Typed SQLAlchemy 2.0 models. Times are stored in UTC; local time only at the edges."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


MAX_ID = 2**31 - 1  # the largest integer primary key on both engines


def new_slug() -> str:
    return secrets.token_urlsafe(12)


class Street(db.Model):
    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Access events, visits, temperatures, alerts and screening rows older than this are
    # deleted by ``flask purge`` (services/retention.py).
    retention_days: Mapped[int] = mapped_column(Integer, default=28, server_default="28")


class Community(db.Model):
    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    street: Mapped[Street] = relationship()


class Compound(db.Model):
    __tablename__ = "compound"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    seal_state: Mapped[str] = mapped_column(String(10), default="open")
    seal_reason: Mapped[str | None] = mapped_column(String(200))
    seal_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    temperature_required: Mapped[bool] = mapped_column(Boolean, default=True)
    fever_threshold: Mapped[float] = mapped_column(Float, default=37.3)
    visitor_policy: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    # Household outing quota: at most ``quota_exits`` exits per household per ``quota_days``
    # days (1 or 2), each at most ``quota_hours`` hours out; none when null.
    quota_exits: Mapped[int | None] = mapped_column(Integer)
    quota_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    quota_hours: Mapped[int | None] = mapped_column(Integer)
    # The visitor self-registration poster links to /visit/<public_slug>: no row id in public.
    public_slug: Mapped[str] = mapped_column(String(32), unique=True, default=new_slug)
    community: Mapped[Community] = relationship()


class Gate(db.Model):
    __tablename__ = "gate"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # Opening hours, local time of day (the deployment's time zone): both or neither; a window
    # across midnight when opens_at > closes_at (domain/schedules.py ``gate_open_at``).
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    compound: Mapped[Compound] = relationship()


class Building(db.Model):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    seal_state: Mapped[str] = mapped_column(String(10), default="open")
    seal_reason: Mapped[str | None] = mapped_column(String(200))
    seal_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    compound: Mapped[Compound] = relationship()


class Household(db.Model):
    __tablename__ = "household"
    __table_args__ = (UniqueConstraint("building_id", "unit", "room"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    unit: Mapped[str] = mapped_column(String(20))
    room: Mapped[str] = mapped_column(String(20))
    observation_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    observation_reason: Mapped[str | None] = mapped_column(String(200))
    # Deliveries and services for a household not under observation too (the office allows).
    services_allowed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    building: Mapped[Building] = relationship()


class Resident(db.Model):
    """A person. ID-card number and phone are kept only as a keyed hash and the last four."""

    __tablename__ = "resident"
    __table_args__ = (Index("ix_resident_household_id_last4", "household_id", "id_last4"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_last4: Mapped[str | None] = mapped_column(String(4))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where the person is by the gate log (in | out | unknown), whichever pass they used. Every
    # allowed passage changes it with a conditional UPDATE on ``state_version``, so two gates
    # deciding for one person at the same moment cannot both allow (docs/concurrency.md).
    presence: Mapped[str | None] = mapped_column(String(3))
    state_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set when the office removes a person who moved away: name and numbers are anonymised,
    # passes revoked; the row stays so their past events point somewhere (services/moving.py).
    moved_away_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    household: Mapped[Household] = relationship()


class Pass(db.Model):
    __tablename__ = "pass"
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(200))
    negative_test_within_hours: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resident: Mapped[Resident] = relationship()


class TestResult(db.Model):
    __tablename__ = "test_result"
    __table_args__ = (Index("ix_test_result_resident_taken", "resident_id", "taken_at"),)
    __test__ = False  # not a pytest class
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class User(db.Model):
    """A staff or resident login. ``community_id`` scopes office, guard and worker users."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(10))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    # A resident's login is bound to their own record (joined with the household's slip).
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), unique=True)
    # 关怀模式: larger type, fewer elements, high contrast on the resident's pages.
    care_mode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    locale: Mapped[str | None] = mapped_column(String(10))
    pin_hash: Mapped[str | None] = mapped_column(
        String(256)
    )  # guards sign in on tablets with a PIN
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session's user id: raising it (sign-out, a new password or PIN, disabling)
    # ends every session of this user on every server (services/auth.py).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch}"


class SignInThrottle(db.Model):
    """Failed sign-ins counted per account or per address (keyed hashes, never the names), shared
    by every worker and server; Redis holds them instead when configured (services/throttle.py)."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class Device(db.Model):
    """A gate tablet or sensor; its bearer token is stored as a SHA-256 hash only."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="tablet")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A short single-use code that binds a tablet's browser to this device (hash only).
    enrol_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gate: Mapped[Gate] = relationship()


class AccessEvent(db.Model):
    __tablename__ = "access_event"
    # On PostgreSQL the table is partitioned by week of ``occurred_at`` (kiosk/partitions.py):
    # its primary key is (id, occurred_at) there, nothing can be unique across partitions and
    # no foreign key can point at it. So a device's request id is unique in ``scan_request`` and
    # a referred scan's one decision in ``scan_decision``, on both engines alike.
    __table_args__ = (
        Index("ix_access_event_pass_decision_id", "pass_id", "decision", "id"),
        Index("ix_access_event_gate_time", "gate_id", "occurred_at"),
        Index("ix_access_event_time", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    direction: Mapped[str] = mapped_column(String(3))
    pass_id: Mapped[int | None] = mapped_column(ForeignKey("pass.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    temperature: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(5))
    reasons: Mapped[str] = mapped_column(String(300), default="")
    request_id: Mapped[str | None] = mapped_column(String(64))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    # A guard's override of a referred scan, or a second temperature reading, points at the scan.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("access_event.id"), index=True)
    override: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    override_reason: Mapped[str | None] = mapped_column(String(20))  # OverrideReason
    note: Mapped[str | None] = mapped_column(String(200))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True)


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_target", "target_type", "target_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)


class RiskArea(db.Model):
    """A place the office declares risky; visitors say whether they have been there lately."""

    __tablename__ = "risk_area"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Visit(db.Model):
    """One visitor's visit: registered at the gate or in advance on their own phone."""

    __tablename__ = "visit"
    __table_args__ = (Index("ix_visit_compound_status", "compound_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"))
    host_household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_last4: Mapped[str] = mapped_column(String(4))
    purpose: Mapped[str] = mapped_column(String(10))
    health_code: Mapped[str] = mapped_column(String(6))
    risk_area_ids: Mapped[str] = mapped_column(String(200), default="")
    temperature: Mapped[float | None] = mapped_column(Float)
    via: Mapped[str] = mapped_column(String(4))  # gate | self
    status: Mapped[str] = mapped_column(String(10))  # registered | inside | denied | left
    valid_on: Mapped[date | None] = mapped_column(db.Date)  # a self-registered code's day
    decision: Mapped[str | None] = mapped_column(String(5))
    reasons: Mapped[str] = mapped_column(String(300), default="")
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gate.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    household: Mapped[Household] = relationship()


class Alert(db.Model):
    """Something the office must see at once: a fever at the gate."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_community_open", "community_id", "acknowledged_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    # Indexed: deleting an event (the purge, services/retention.py) looks up its alerts.
    event_id: Mapped[int] = mapped_column(ForeignKey("access_event.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    temperature: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # A second reading at the gate below the threshold closes the alert (acknowledged_at set,
    # acknowledged_by_id empty): this is that reading's event.
    closed_by_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_event.id"), index=True
    )


class SealSchedule(db.Model):
    """A compound's or building's seal state from/until a moment, set in advance. Nothing runs
    at its times: the scan computes the state in force (domain/schedules.py). Cancelling keeps
    the row (``cancelled_at``) for the history."""

    __tablename__ = "seal_schedule"
    __table_args__ = (
        # The scan asks for the schedules of one compound (its own and its buildings') that
        # have not ended; the page for those of some targets.
        Index("ix_seal_schedule_compound_ends", "compound_id", "ends_at"),
        Index("ix_seal_schedule_target", "target_kind", "target_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(10))  # compound | building
    target_id: Mapped[int] = mapped_column(Integer)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"))  # the target's compound
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    state: Mapped[str] = mapped_column(String(10))  # SealState
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


# --- residents on their phones (issue "Residents on their phones") --------------------------


class HouseholdInvite(db.Model):
    """A joining slip the office prints for a household: a one-time code (kept only as a keyed
    hash) that expires. Issuing a new slip revokes the household's earlier ones."""

    __tablename__ = "household_invite"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VisitInvite(db.Model):
    """A resident's invitation of a visitor on a day: the share link's token (a keyed hash)
    leads to the one-time visitor code of its ``visit`` (status ``registered`` until used)."""

    __tablename__ = "visit_invite"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServiceRequest(db.Model):
    """Groceries, water, medicine, a parcel or rubbish for a household that may not go out,
    followed from received to confirmed. ``status`` changes by conditional UPDATE, so two
    workers cannot both take one request."""

    __tablename__ = "service_request"
    __table_args__ = (Index("ix_service_request_community_status", "community_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    kind: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="received")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_way_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DoorAnnouncement(db.Model):
    """A household under observation says it will open its door (collecting a delivery,
    putting out rubbish) within a short window: door alarms read it later."""

    __tablename__ = "door_announcement"
    __table_args__ = (Index("ix_door_announcement_household_ends", "household_id", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(db.Model):
    """A notice of the office for a whole community, one compound or one building."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_community_created", "community_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(2000))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- screening lists, door alarms, disinfection, outing quotas (issue "Screening lists") ------


class ScreeningList(db.Model):
    """A list of people to check (核查名单), as issued: its name, source and date."""

    __tablename__ = "screening_list"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(100))
    issued_on: Mapped[date | None] = mapped_column(db.Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScreeningRow(db.Model):
    """One person of a screening list: phone and ID number only as keyed hash and last four,
    matched to a resident (or ambiguous, or not living here), worked through with a call
    status. A matched resident whose row is not closed is referred at the gate."""

    __tablename__ = "screening_row"
    __table_args__ = (
        Index("ix_screening_row_list_status", "list_id", "call_status"),
        Index("ix_screening_row_resident_open", "resident_id", "closed"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("screening_list.id"))
    row_number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(200))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    phone_last4: Mapped[str | None] = mapped_column(String(4))
    id_hash: Mapped[str | None] = mapped_column(String(64))
    id_last4: Mapped[str | None] = mapped_column(String(4))
    match: Mapped[str] = mapped_column(String(10))  # matched | ambiguous | not_here
    candidate_ids: Mapped[str] = mapped_column(String(200), default="")  # ambiguous: to choose
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    call_status: Mapped[str] = mapped_column(String(12), default="not_reached")
    # True once the row needs nothing more at the gate (cleared, moved away, not here...).
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    note: Mapped[str | None] = mapped_column(String(300))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DoorSensor(db.Model):
    """A door alarm (门磁) fixed on a household's door: enrolled with a one-time code like a
    tablet, then authenticated by its own token (hash only)."""

    __tablename__ = "door_sensor"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_seconds: Mapped[int] = mapped_column(Integer, default=300)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    battery_low: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SensorEvent(db.Model):
    """What a door sensor reported, once per the sensor's own event id (idempotent)."""

    __tablename__ = "sensor_event"
    __table_args__ = (UniqueConstraint("sensor_id", "event_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("door_sensor.id"))
    event_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DoorAlarm(db.Model):
    """An alarm for the office: a door opened at a household under observation (not announced,
    no delivery at the door), a sensor tampered with, its battery low, or silent too long."""

    __tablename__ = "door_alarm"
    __table_args__ = (Index("ix_door_alarm_community_ack", "community_id", "acknowledged_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    sensor_id: Mapped[int] = mapped_column(ForeignKey("door_sensor.id"))
    sensor_event_id: Mapped[int | None] = mapped_column(ForeignKey("sensor_event.id"))
    kind: Mapped[str] = mapped_column(String(12))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str | None] = mapped_column(String(300))


class PublicArea(db.Model):
    """A public area to disinfect (lift, stairwell, gate, bins, fitness equipment, benches) or
    a building's rubbish round, with how often; its QR sticker's token is kept as a hash."""

    __tablename__ = "public_area"
    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))
    times_per_day: Mapped[int] = mapped_column(Integer, default=1)
    # A rubbish round's fixed local times, "08:00,18:00"; empty for an area done N times a day.
    fixed_times: Mapped[str] = mapped_column(String(100), default="", server_default="")
    sticker_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A trace put this area on a case's route: due at once, until a record after this moment.
    due_now_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker the office gave this area to (their list shows it first); none: anyone's.
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)


class DisinfectionRecord(db.Model):
    """An area done: by whom, when, proven by the sticker's scan; optionally a photo."""

    __tablename__ = "disinfection_record"
    __table_args__ = (Index("ix_disinfection_record_area_done", "area_id", "done_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("public_area.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    photo: Mapped[bytes | None] = mapped_column(db.LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(300))


# --- tracing and retention (issue "Tracing close contacts ... privacy by design") ------------


class PurgeRun(db.Model):
    """One run of ``flask purge`` for one street: the cutoff it used and what it deleted."""

    __tablename__ = "purge_run"
    __table_args__ = (Index("ix_purge_run_street_started", "street_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime)
    retention_days: Mapped[int] = mapped_column(Integer)
    # JSON object: table name -> rows deleted.
    deleted: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class GateDailyCount(db.Model):
    """What is kept of purged access events: how many passed a gate on a local day, by
    direction and decision. No person in it."""

    __tablename__ = "gate_daily_count"
    __table_args__ = (
        UniqueConstraint("gate_id", "day", "direction", "decision", name="uq_gate_daily_count"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    day: Mapped[date] = mapped_column(db.Date)
    direction: Mapped[str] = mapped_column(String(3))
    decision: Mapped[str] = mapped_column(String(5))
    count: Mapped[int] = mapped_column(Integer)


class ScanRequest(db.Model):
    """A device's request id, once: a repeated scan (an offline queue sending again) finds the
    event that answered it. Written with the event, in its transaction (services/gatelog.py)."""

    __tablename__ = "scan_request"
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ScanDecision(db.Model):
    """A guard's decision on a referred scan, once, however many tablets tap at the same
    moment: the second insert of the same scan fails."""

    __tablename__ = "scan_decision"
    parent_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
