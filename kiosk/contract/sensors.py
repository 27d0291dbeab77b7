"""Door sensors (门磁) and their alarms: the sensor's enrolment and events (API), the office's
forms (add a sensor, acknowledge an alarm with a note). One declaration for the API and the
pages."""

from __future__ import annotations

from typing import Annotated, ClassVar

from flask_babel import lazy_gettext as _l
from pydantic import Field, Strict, StringConstraints

from ..domain.sensors import AlarmKind, SensorEventKind
from .base import Body, Out, choice
from .forms import Form
from .types import IdText, LocalTime, Moment, text, whole_number_text

HEARTBEAT_MIN_SECONDS = 10
HEARTBEAT_MAX_SECONDS = 86_400
HeartbeatText = whole_number_text(HEARTBEAT_MIN_SECONDS, HEARTBEAT_MAX_SECONDS)

EVENT_ID_PATTERN = "^[ -~]{1,64}$"
EventId = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=EVENT_ID_PATTERN),
    Field(description="The sensor's own id of the event: 1 to 64 printable ASCII characters"),
]


class SensorEnrol(Body):
    """A door sensor's one-time enrolment code, as the office showed it."""

    code: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=32)]


class SensorToken(Out):
    """The sensor's own bearer token, shown this once (only its hash is kept)."""

    token: str = Field(description="Send as Authorization: Bearer <token> with every event")
    sensor_id: int
    heartbeat_seconds: int = Field(description="Send a heartbeat at least this often")


class SensorEventCreate(Body):
    """One report of a door sensor; a repeated id answers the first result."""

    event: choice(SensorEventKind)
    at: Moment = Field(description="When the sensor saw it")
    id: EventId


class SensorEventAnswer(Out):
    """What the server made of a report: the alarm it raised, if any (the same for a repeat)."""

    id: str = Field(description="The sensor's id of the event")
    event: SensorEventKind
    at: LocalTime
    alarm: AlarmKind | None = Field(description="The alarm raised by this event, if any")
    alarm_id: int | None


class SensorInfo(Out):
    """A door sensor (its token was shown once, when it enrolled)."""

    id: int
    household_id: int
    name: str
    heartbeat_seconds: int
    created_at: LocalTime
    enrolled_at: LocalTime | None
    last_seen_at: LocalTime | None
    revoked_at: LocalTime | None


class SensorForm(Form):
    """A new door sensor on a household's door (the office's page or the household's)."""

    messages: ClassVar[dict[str, object]] = {
        "household_id": _l("Choose the household."),
        "heartbeat_seconds": _l(
            "Heartbeat: from %(lo)d to %(hi)d seconds.",
            lo=HEARTBEAT_MIN_SECONDS,
            hi=HEARTBEAT_MAX_SECONDS,
        ),
    }
    labels: ClassVar[dict[str, object]] = {"name": _l("Sensor name")}

    household_id: IdText
    name: text(100)
    heartbeat_seconds: HeartbeatText = None


class AlarmAckForm(Form):
    """An alarm handled: what was done (called the household, visited)."""

    messages: ClassVar[dict[str, object]] = {
        "note": _l(
            "Note: say what was done (called the household, visited), at most 300 characters."
        ),
    }

    note: text(300)


class SensorPageQuery(Form):
    """The sensors page's query: one household's sensors (from the household's page)."""

    messages: ClassVar[dict[str, object]] = {"household": _l("Not found.")}

    household: IdText = None
