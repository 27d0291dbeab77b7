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

from ..domain.audit import AuditAction, AuditTarget
from ..domain.decision import Decision, Direction, OverrideReason
from ..domain.people import Role
from ..domain.visitors import HealthCode, VisitorPolicy, VisitPurpose
from .base import Body, choice
from .errors import label, rule
from .org import BuildingChange, CompoundChange, DeviceCreate, HouseholdChange
from .risk_areas import RiskAreaCreate
from .types import (
    IdText,
    Last4,
    Moment,
    Phone,
    Pin,
    RequestId,
    TemperatureText,
    UnixMillisText,
    text,
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


class AuditQuery(Form):
    """Filters of the audit page (a GET form): who, what kind of change, which kind of object,
    from and until when; ``before`` pages back."""

    messages = {
        "action": _l("Choose a kind of change from the list."),
        "target": _l("Choose a kind of object from the list."),
        "since": _l("From: a date."),
        "until": _l("Until: a date."),
        "before": _l("Not found."),
        "who": _l("Choose a person from the list."),
    }

    who: IdText = None  # a user chosen in a list: an id, never a name in the URL
    action: choice(AuditAction) = None
    target: choice(AuditTarget) = None
    since: Moment = None
    until: Moment = None
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
