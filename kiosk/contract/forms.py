"""The web forms, declared with the same value types as the API (``types``).

A form arrives as text: ``Form.read`` takes the request's form (a ``MultiDict``), treats a
blank field as left out, and gives the model or ``ContractError`` listing every problem, each
with a translated message; the page is shown again with what the user typed and the messages.
An id chosen in a list is ``IdText``: ASCII digits within the integer keys, so ``²`` or
``99999999999999999999`` is a message on the page, never a 500.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from flask_babel import lazy_gettext as _l
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from ..domain.decision import Decision, Direction, OverrideReason, PassKind
from ..domain.people import Role
from ..domain.visitors import HealthCode, VisitorPolicy, VisitPurpose
from .audit import AuditFilters
from .base import Body, choice
from .errors import label, rule
from .org import (
    GATE_HOURS_LABELS,
    BuildingChange,
    BuildingCreate,
    CompoundChange,
    DeviceCreate,
    HouseholdChange,
    HouseholdCreate,
    PeopleSearchBody,
    ResidentChange,
    ResidentCreate,
    SealScheduleCreate,
    TestResultCreate,
    TimeOfDay,
    check_gate_hours,
)
from .passes import ExemptionCreate, PassRevoke
from .risk_areas import RiskAreaCreate
from .types import (
    IdText,
    Last4,
    Moment,
    PageNumberText,
    Phone,
    Pin,
    RequestId,
    TemperatureText,
    TestWindowHoursText,
    UnixMillisText,
    text,
    whole_number_text,
)


class Form(Body):
    """A submitted web form. Fields the model does not name (the CSRF token) are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    # Fields sent once per ticked box: read as a list.
    lists: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def read(cls, form, **given):
        """The model from a request's form; a blank field counts as left out."""
        data: dict[str, object] = {}
        for name in cls.model_fields:
            if name in cls.lists:
                data[name] = [v for v in form.getlist(name) if v.strip()]
            elif (value := form.get(name)) is not None and value.strip():
                data[name] = value
        data.update(given)
        return cls.parse(data)


# --- visitors ---------------------------------------------------------------------------------


class VisitorForm(Form):
    """A visitor registering on their own phone (``/visit/<slug>``)."""

    lists = frozenset({"risk_area_ids"})
    messages = {
        "host_household_id": _l("Choose the household being visited."),
        "risk_area_ids": _l("Choose risk areas from the list."),
    }

    name: text(50)
    phone: Phone
    host_household_id: IdText
    purpose: choice(VisitPurpose)
    health_code: choice(HealthCode)
    risk_area_ids: Annotated[list[IdText], Field(max_length=50)] = Field(default_factory=list)


class GateVisitorForm(VisitorForm):
    """A visitor registered by the guard: with the temperature taken at the gate."""

    messages = {
        **VisitorForm.messages,
        "temperature": {"missing": _l("Take the visitor's temperature.")},
    }

    temperature: TemperatureText
    request_id: RequestId = None


# --- the gate ---------------------------------------------------------------------------------


DIRECTION = {"direction": _l("direction: must be in or out.")}


class TabletScanForm(Form):
    """What the scan page sends with the scanned code (the code itself is read as it comes:
    any text is a scan, and a bad one is denied and logged)."""

    messages = DIRECTION

    direction: choice(Direction)
    temperature: TemperatureText = None
    request_id: RequestId = None
    scanned_at: UnixMillisText = None


class LookupForm(Form):
    """No code: building, unit and the last four characters of the ID number."""

    messages = {
        "building_id": _l("Choose the building."),
        "last4": _l("Enter the last four characters of the ID number."),
    }

    building_id: IdText
    unit: text(20)
    last4: Last4


class ManualForm(Form):
    """A decision for a person found by the look-up."""

    messages = {"resident_id": _l("Choose the person."), **DIRECTION}

    resident_id: IdText
    direction: choice(Direction)
    temperature: TemperatureText = None
    request_id: RequestId = None


class RemeasureForm(Form):
    """A second reading after a fever."""

    messages = {"temperature": {"missing": _l("Enter the new reading.")}}

    temperature: TemperatureText
    request_id: RequestId = None


OVERRIDE_REASON = rule(
    "override_reason",
    "reason",
    _l(
        "%(field)s: must be one of %(options)s.",
        field=label("reason"),
        options=", ".join(OverrideReason),
    ),
)
OVERRIDE_NOTE = rule("override_note", "note", _l("Note (required for other)"))


class OverrideForm(Form):
    """The guard's decision on a referred scan: allow with a reason (``other`` needs a note),
    or deny (the reason is not kept; the note is)."""

    decision: Literal[Decision.ALLOW, Decision.DENY]
    reason: choice(OverrideReason) = None
    note: text(200) = None

    @model_validator(mode="after")
    def _rules(self):
        if self.decision is Decision.ALLOW:
            if self.reason is None:
                raise OVERRIDE_REASON.error()
            if self.reason is OverrideReason.OTHER and self.note is None:
                raise OVERRIDE_NOTE.error()
        return self

    @property
    def reason_kept(self) -> OverrideReason | None:
        """The reasons are reasons to allow: a denial keeps only its note (the form always
        sends the select's value, which must not be shown to the office as a denial's reason)."""
        return self.reason if self.decision is Decision.ALLOW else None


# --- the office -------------------------------------------------------------------------------


class VisitorPolicyForm(Form):
    # The compound's id comes with the page: one that does not parse names nothing.
    messages = {"compound_id": _l("Not found."), "visitor_policy": _l("Choose a visitor policy.")}

    compound_id: IdText
    visitor_policy: choice(VisitorPolicy)


class DeviceForm(Form, DeviceCreate):
    """A new tablet for a gate (the API's ``DeviceCreate`` with the gate chosen in a list)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {"gate_id": _l("Choose the gate.")}

    gate_id: IdText


class RiskAreaForm(Form, RiskAreaCreate):
    """The API's ``RiskAreaCreate`` as typed in the office's form (street users choose the
    community in a list)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {"community_id": _l("Choose the community.")}

    community_id: IdText = None


class GuardPinForm(Form):
    # The guard's id comes with the page: one that does not parse names nobody.
    messages = {"user_id": _l("Not found."), "pin": _l("The PIN must be 4 to 8 digits.")}

    user_id: IdText
    pin: Pin


# --- staff accounts ---------------------------------------------------------------------------

STAFF_ROLES = (Role.GUARD, Role.WORKER, Role.OFFICE)  # what the office creates from its pages


def _staff_role(role: Role) -> Role:
    if role not in STAFF_ROLES:
        raise ValueError("not a staff role")
    return role


Username = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$"),
    Field(description="1 to 64 characters without spaces"),
]
NewPassword = Annotated[
    str, Strict(), StringConstraints(min_length=8, max_length=256), Field(description="8 or more")
]


class StaffForm(Form):
    """A new staff account of a community: a guard, a worker or an office user."""

    messages = {
        "username": _l("Username: 1 to 64 characters without spaces."),
        "role": _l("Choose the role."),
        "password": _l("Password: at least 8 characters."),
        "community_id": _l("Choose the community."),
    }

    username: Username
    role: Annotated[choice(Role), AfterValidator(_staff_role)]
    password: NewPassword
    community_id: IdText = None  # street users choose; an office user's own is taken


class NewPasswordForm(Form):
    messages = {"password": _l("Password: at least 8 characters.")}

    password: NewPassword


class ActiveForm(Form):
    messages = {"active": _l("Choose enabled or disabled.")}

    active: Annotated[bool, Strict(False)]


# --- the audit trail --------------------------------------------------------------------------


class AuditQuery(Form, AuditFilters):
    """Filters of the audit page (a GET form): who, what kind of change, which kind of object,
    from and until when; ``before`` pages back."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {
        "action": _l("Choose a kind of change from the list."),
        "target": _l("Choose a kind of object from the list."),
        "since": _l("From: a date."),
        "until": _l("Until: a date."),
        "before": _l("Not found."),
        "who": _l("Choose a person from the list."),
    }

    before: IdText = None


# --- seals ------------------------------------------------------------------------------------


class BuildingSealForm(Form, BuildingChange):
    """A building's seal state as the office sets it on its page (the API's ``BuildingChange``:
    a reason unless open)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {"seal_state": _l("Choose open, in-only or sealed.")}


class GateOpenForm(Form):
    """Open or close a gate from the seals page (the API's ``GateChange``)."""

    messages = {"open": _l("Choose open or closed.")}

    open: Annotated[bool, Strict(False)]


class CompoundSealForm(Form, CompoundChange):
    """A compound's seal state, the same way (``CompoundChange`` without the temperature rule)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {"seal_state": _l("Choose open, in-only or sealed.")}


class SealScheduleForm(Form, SealScheduleCreate):
    """A compound's or building's seal from/until a time, from the seals page: the same form as
    a seal set now, with a From or an Until (read in the deployment's time zone)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {
        "seal_state": _l("Choose open, in-only or sealed."),
        "starts_at": {"moment": _l("From: a date and time.")},
        "ends_at": {"moment": _l("Until: a date and time.")},
    }


class GateHoursForm(Form):
    """A gate's opening hours from the seals page: two times of day, both blank for none (open
    whenever the gate is open); closing earlier than opening is a window across midnight."""

    labels = GATE_HOURS_LABELS
    messages = {
        "opens_at": {"time_of_day": _l("Opens at: a time of day such as 08:00.")},
        "closes_at": {"time_of_day": _l("Closes at: a time of day such as 22:00.")},
    }

    opens_at: TimeOfDay = None
    closes_at: TimeOfDay = None

    @model_validator(mode="after")
    def _rules(self):
        check_gate_hours(self.opens_at, self.closes_at)
        return self


# --- home observation -------------------------------------------------------------------------


class ObservationForm(Form, HouseholdChange):
    """Home observation for the households ticked on the page, until a date, with a reason."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    lists = frozenset({"household_ids"})
    messages = {
        "household_ids": _l("Choose at least one household."),
        "observation_until": _l("Until: a date."),
        "observation_reason": _l("Say why the household is under observation."),
    }

    household_ids: Annotated[list[IdText], Field(min_length=1)]
    observation_until: Moment


class EndObservationForm(Form):
    lists = frozenset({"household_ids"})
    messages = {"household_ids": _l("Choose at least one household.")}

    household_ids: Annotated[list[IdText], Field(min_length=1)]


# --- places and people ------------------------------------------------------------------------


class PeopleSearch(Form, PeopleSearchBody):
    """The office's search for people: where they live, and part of the name or the last four
    characters of the ID number or phone. Sent as a POST form, so no name or number is ever in a
    URL or a server log. The fields are the API's (``POST /api/v1/residents/search``); the ids
    arrive as text from the lists."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {
        "compound_id": _l("Choose a compound from the list."),
        "building_id": _l("Choose a building from the list."),
        "page": _l("Not found."),
    }

    compound_id: IdText = None
    building_id: IdText = None
    page: PageNumberText = None


class BuildingForm(Form, BuildingCreate):
    """A new building of one of the office's compounds."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {"compound_id": _l("Choose a compound from the list.")}

    compound_id: IdText


class HouseholdForm(Form, HouseholdCreate):
    """A new household (unit and room) of a building."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class ResidentForm(Form, ResidentCreate):
    """A new member of a household: the ID number and phone are optional and kept only as a
    keyed hash and their last four characters."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class ResidentEditForm(Form, ResidentChange):
    """A member's name, and a new ID number or phone (blank keeps the stored one)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


# --- passes, exemptions and tests -------------------------------------------------------------

PASS_KIND = rule("pass_kind", "kind", _l("Choose a phone pass or a paper pass."))


class PassForm(Form):
    """A phone pass (rotating code) or a paper pass (printed) for one member, from the
    household's page (the API's ``PassCreate``)."""

    messages = {"kind": PASS_KIND.message, "valid_until": _l("Valid until: a date.")}

    kind: choice(PassKind)
    valid_until: Moment = None

    @model_validator(mode="after")
    def _issuable(self):
        if self.kind not in (PassKind.RESIDENT, PassKind.PAPER):
            raise PASS_KIND.error()
        return self


class RevokeForm(Form, PassRevoke):
    """Revoke a lost or wrong pass: the gate refuses it at once."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class TestForm(Form, TestResultCreate):
    """A nucleic-acid result recorded by hand for one member."""

    __test__ = False  # not a pytest class
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    messages = {
        "taken_at": _l("Taken at: a date and time."),
        "result": _l("Choose negative or positive."),
    }


class ExemptionForm(Form, ExemptionCreate):
    """One exemption window for every ticked resident (the exam students at once)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    lists = frozenset({"resident_ids"})
    messages = {
        "resident_ids": _l("Choose at least one person."),
        "valid_from": _l("From: a date and time."),
        "valid_until": _l("Until: a date and time."),
        "purpose": _l("Say what the exemption is for."),
        "negative_test_within_hours": _l("Hours: a whole number from 1 to 336."),
    }

    resident_ids: Annotated[list[IdText], Field(min_length=1, max_length=500)]
    negative_test_within_hours: TestWindowHoursText = None


class ChosenPeople(Form):
    """The people ticked in a picker, shown again when the form around them had a problem."""

    lists = frozenset({"resident_ids"})

    resident_ids: Annotated[list[IdText], Field(max_length=500)] = []


class LedgerForm(Form):
    """The two-ledger check of exemptions: the uploaded list (``file``) against the holders of
    exemptions with this purpose (all of them when blank)."""

    purpose: text(200) = None


ObservationOrder = Literal["until", "-until", "place", "reason"]


class ObservationQuery(Form):
    """``?sort=``: the list of households under observation by end (soonest first, or latest
    first with ``-until``), by place, or by reason."""

    messages = {"sort": _l("Choose an order from the list.")}

    sort: ObservationOrder = "until"


class ExemptionPrintQuery(Form):
    """``?purpose=``: print the exemptions of one purpose (the exam students), or all."""

    purpose: text(200) = None


# --- household outing quotas (kiosk/services/quota.py) -----------------------------------------


class QuotaForm(Form):
    """A compound's outing quota: at most ``quota_exits`` exits per household per day or two
    days, each at most ``quota_hours`` hours; both blank lifts it."""

    messages = {
        "compound_id": _l("Not found."),
        "quota_exits": _l("Exits: a whole number from 1 to 20, or blank for no limit."),
        "quota_days": _l("Choose per day or per two days."),
        "quota_hours": _l("Hours: a whole number from 1 to 72, or blank for no limit."),
    }

    compound_id: IdText
    quota_exits: whole_number_text(1, 20) = None
    quota_days: whole_number_text(1, 2) = 1
    quota_hours: whole_number_text(1, 72) = None
