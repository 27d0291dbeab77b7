"""One error renderer: JSON under /api, a page elsewhere. A server error is logged, never shown."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..extensions import db
from ..services.errors import ServiceError

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


def _messages():
    return {
        400: _("The request is not valid."),
        401: _("Sign in first."),
        403: _("You may not do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on the server. It has been logged."),
    }


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def render_error(
    status: int, code: str, message: str, field: str | None = None, fields: list | None = None
):
    if wants_json():
        err = {"code": code, "message": message}
        if field:
            err["field"] = field
        if fields:
            err["fields"] = fields  # every field at fault (contract.errors), the first in front
        response = jsonify(error=err)
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return render_template("error.html", status=status, message=message), status


def _fields(exc: ServiceError) -> list[dict] | None:
    """Every field at fault: all of a refused model's, or the one a service named."""
    errors = getattr(exc, "errors", None)  # contract.errors.ContractError
    if errors:
        return [e.as_json() for e in errors]
    if exc.field:
        return [{"field": exc.field, "code": exc.code, "message": str(exc.message)}]
    return None


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()
        response = make_response(
            render_error(exc.status, exc.code, str(exc.message), exc.field, _fields(exc))
        )
        retry_after = getattr(exc, "retry_after", None)  # throttle.Throttled
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, "csrf", _("The form has expired. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = _messages().get(status) or exc.description or ""
        response = make_response(render_error(status, _HTTP_CODES.get(status, "error"), message))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # RFC 9110
        return response

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500, "server_error", _messages()[500])
