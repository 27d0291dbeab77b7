"""What every list of the API shares: one page at a time by id, and the filter value types of
query strings.

A list is read oldest (lowest id) first, ``limit`` items at a time; the answer's ``next_after``
is passed as ``after`` for the next page and is null on the last one. Every list of the API pages
this way (the access log as well, ``events.EventQuery``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PlainValidator, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from .base import Query
from .types import AfterIdText, PageSizeText

DEFAULT_LIMIT = 100


class Paged(Query):
    """The paging parameters of every list."""

    after: AfterIdText = Field(None, description="The next page: the previous page's next_after")
    limit: PageSizeText = Field(None, description=f"Items per page (default {DEFAULT_LIMIT})")

    @property
    def size(self) -> int:
        return self.limit or DEFAULT_LIMIT


def _flag(value: Any) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise PydanticCustomError("bool_type", "must be true or false")


# A yes/no filter of a query string: exactly ``true`` or ``false``.
FlagText = Annotated[
    bool,
    PlainValidator(_flag),
    WithJsonSchema({"type": "string", "enum": ["true", "false"]}),
]


def option(enum):
    """A filter (or field) of one of the domain's enums, given as its value; its schema lists
    the values inline, so a query parameter's schema needs no reference."""
    return Annotated[
        enum,
        Strict(False),
        WithJsonSchema({"type": "string", "enum": [member.value for member in enum]}),
    ]
