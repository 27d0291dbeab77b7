"""Risk areas that visitors declare against."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from pydantic import Field

from ..domain.visitors import RiskLevel
from .base import Body, Out, choice
from .types import Id, LocalTime, Moment, text


class RiskAreaCreate(Body):
    labels = {"name": _l("Place")}

    name: text(100)
    level: choice(RiskLevel)
    since: Moment = Field(description="Not in the future")
    community_id: Id = Field(
        None,
        description="Required for street users: a community of their street; office users "
        "may give only their own",
    )


class RiskArea(Out):
    id: int
    community_id: int
    name: str
    level: RiskLevel
    since: LocalTime


class RiskAreaList(Out):
    items: list[RiskArea]
