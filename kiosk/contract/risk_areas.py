"""Risk areas that visitors declare against."""

from __future__ import annotations

from pydantic import Field

from ..domain.visitors import RiskLevel
from .base import Body, Out, choice
from .types import Id, LocalTime, Moment, text


class RiskAreaCreate(Body):
    name: text(100)
    level: choice(RiskLevel)
    since: Moment = Field(description="Not in the future")
    community_id: Id = Field(
        None, description="Required for street users; office users may give only their own"
    )

    def as_dict(self) -> dict:
        """The validated values as ``services.visitors.create_risk_area`` reads them."""
        data = {"name": self.name, "level": self.level.value, "since": self.since.isoformat()}
        if self.community_id is not None:
            data["community_id"] = self.community_id
        return data


class RiskArea(Out):
    id: int
    community_id: int
    name: str
    level: RiskLevel
    since: LocalTime


class RiskAreaList(Out):
    items: list[RiskArea]
