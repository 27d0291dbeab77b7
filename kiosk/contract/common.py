"""The error every API answer other than 2xx carries."""

from __future__ import annotations

from pydantic import Field

from .base import Out


class FieldProblem(Out):
    field: str = Field(description="The field's name as sent")
    code: str
    message: str = Field(description="In the caller's language")


class ErrorDetail(Out):
    code: str = Field(description="Stable: invalid, not_found, duplicate, bad_token, ...")
    message: str = Field(description="In the caller's language (Accept-Language; zh-CN default)")
    field: str = Field(None, description="The (first) field at fault")
    fields: list[FieldProblem] = Field(None, description="Every field at fault (422)")


class Error(Out):
    error: ErrorDetail


class Document(Out):
    """This OpenAPI document."""

    openapi: str
