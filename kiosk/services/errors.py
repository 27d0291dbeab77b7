"""Errors a service raises; routes turn them into a page message or a JSON error."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message=None, code: str | None = None, field: str | None = None):
        super().__init__(str(message) if message is not None else self.code)
        self.message = message if message is not None else _l("The request is not valid.")
        if code:
            self.code = code
        self.field = field


class Invalid(ServiceError):
    status = 422
    code = "invalid"


class NotFound(ServiceError):
    status = 404
    code = "not_found"

    def __init__(self, message=None, code: str | None = None):
        super().__init__(message or _l("Not found."), code)


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"

    def __init__(self, message=None, code: str | None = None):
        super().__init__(message or _l("You may not do this."), code)


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"

    def __init__(self, message=None, code: str | None = None):
        super().__init__(message or _l("Sign in first."), code)
