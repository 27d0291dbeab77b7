"""Reading the user accounts of the caller's communities: never a password or a PIN, not even
hashed."""

from __future__ import annotations

from pydantic import Field

from ..domain.people import Role
from .base import Out
from .paging import FlagText, Paged, option


class UserQuery(Paged):
    role: option(Role) = Field(None, description="Only users of this role")
    active: FlagText = Field(None, description="true: only enabled accounts; false: disabled ones")


class User(Out):
    id: int
    username: str
    role: Role
    community_id: int | None = Field(
        description="The community of an office user, guard or worker; a resident's household's"
    )
    active: bool


class UserPage(Out):
    items: list[User]
    next_after: int | None = Field(description="Pass as after for the next page; null at the end")
