"""The two kinds of model: what comes in (strict, nothing unknown) and what goes out."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Strict, ValidationError

from .errors import refuse


class Body(BaseModel):
    """A request body or form: strict JSON types (no ``"5"`` for 5, no ``1`` for true, no
    ``null`` unless a field says so), and unknown fields are refused, so a misspelt
    ``"temprature"`` is an error rather than a scan without a reading."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    # A form words some problems itself ("Choose the building."): field -> message.
    messages: ClassVar[dict[str, object]] = {}
    # Field names of this model where the common ones (``errors.FIELD_LABELS``) do not fit.
    labels: ClassVar[dict[str, object]] = {}

    @classmethod
    def parse(cls, data: object, context: dict | None = None):
        """The model, or ``ContractError`` (422) listing every problem."""
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as exc:
            raise refuse(exc, cls.messages, cls.labels) from None


class Query(Body):
    """Query-string parameters: text in, typed values out. An unknown parameter is refused like
    an unknown field (a misspelt filter must not silently list everything)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Out(BaseModel):
    """An answer, read from ORM rows or dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


def choice(enum):
    """A field of one of the domain's enums, given as its value (``"in"``)."""
    return Annotated[enum, Strict(False)]
