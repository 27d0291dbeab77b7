"""The API's one way in and out: ``@endpoint`` authenticates, parses the body and query into
their declared models, calls the view and writes its answer through the declared model.

A view never sees raw input: ``body`` and ``query`` arrive as validated models (a refused
input is a 422 listing every field at fault), and it returns an ORM row, a dataclass or a
model, which the response model reads. The declaration is kept on the view for the OpenAPI
document (``contract.openapi``).
"""

from __future__ import annotations

from functools import wraps

from flask import Response, current_app, g, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel

from ..contract.openapi import DEVICE, RESIDENT, SENSOR, STAFF, Operation
from ..services import auth
from ..services.errors import Forbidden, ServiceError, Unauthorized

__all__ = ["endpoint", "STAFF", "DEVICE", "RESIDENT", "SENSOR"]


def bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise Unauthorized()
    return token.strip()


def _staff() -> None:
    """The staff user behind the bearer token, in ``g.actor``; roles are the services'."""
    user = auth.user_for_token(bearer())
    if user is None:
        raise Unauthorized(_l("The token is not valid or has expired."), code="bad_token")
    g.actor = user


def _resident() -> None:
    """A joined resident behind the bearer token, in ``g.actor``: a staff token is refused
    (403), so a resident route never acts for a household by a staff user's hand."""
    _staff()
    if g.actor.role != "resident" or g.actor.resident_id is None:
        raise Forbidden()


def _json_body(required: bool) -> object:
    if not required and not request.get_data(cache=True):  # also a chunked body
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError(_l("The request body must be a JSON object."), code="bad_json")
    return data


def endpoint(
    *,
    security: str | None,
    status: int = 200,
    response: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    query: type[BaseModel] | None = None,
    errors: tuple[int, ...] = (),
):
    """Declare and enforce a view's contract (the summary is the docstring's first line)."""

    def decorator(view):
        doc = (view.__doc__ or "").strip()
        summary, _sep, description = doc.partition("\n\n")
        op = Operation(
            summary=" ".join(summary.split()),
            description=" ".join(description.split()) or None,
            security=security,
            status=status,
            response=response,
            body=body,
            body_required=body_required,
            query=query,
            errors=errors,
        )

        @wraps(view)
        def wrapped(*args, **kwargs):
            if security == STAFF:
                _staff()
            elif security == RESIDENT:
                _resident()
            elif security == DEVICE:
                g.device_token = bearer()
            elif security == SENSOR:
                g.sensor_token = bearer()  # the view's service checks it (a door sensor's)
            if body is not None:
                kwargs["body"] = body.parse(_json_body(body_required))
            if query is not None:
                kwargs["query"] = query.parse(request.args.to_dict())
            result = view(*args, **kwargs)
            if response is None:
                return "", status
            if isinstance(result, Response):  # already written (this document)
                return result
            if not isinstance(result, response):
                result = response.model_validate(result)
            # The declared model writes its own JSON (UTF-8, in the declared field order): one
            # pass instead of a dict that Flask's encoder walks again (docs/performance.md).
            return current_app.response_class(
                result.model_dump_json(), status=status, mimetype="application/json"
            )

        wrapped.__contract__ = op
        return wrapped

    return decorator
