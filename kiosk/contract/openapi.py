"""``/api/v1/openapi.json``, generated from the routes and the models they declare.

Each API view is wrapped by ``routes.contract.endpoint``, which attaches an ``Operation`` to it.
``document(app, blueprint)`` walks the app's URL map: every rule of the blueprint becomes a path,
every method an operation, with the JSON Schemas pydantic derives from the declared models. A
route without an ``Operation`` is a programming error and fails loudly (and the test that builds
the document fails), so the document cannot lag behind the routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import common
from .types import MAX_ID

STAFF = "staff"
DEVICE = "device"
# A resident signed in on their phone (a token from POST /api/v1/tokens): their household only.
RESIDENT = "resident"
# A door sensor (门磁): its own token from POST /api/v1/sensors/enrol.
SENSOR = "sensor"

ERROR_TEXT = {
    400: "The body is not a JSON object",
    401: "No token, or a wrong, expired or revoked one",
    403: "The caller's role may not do this",
    404: "Not found, or outside the caller's communities",
    409: "Conflicts with the current state (a duplicate, revoked already)",
    422: "A field breaks the contract or a stated rule: `error.field` names the first, "
    "`error.fields` lists them all",
    429: "Too many attempts: wait and try again",
}


@dataclass(frozen=True)
class Operation:
    """What one API view declares: who may call it, what it takes and what it answers."""

    summary: str
    description: str | None
    security: str | None  # STAFF, DEVICE, RESIDENT, SENSOR or None (public)
    status: int
    response: type[BaseModel] | None
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = field(default_factory=tuple)

    def error_statuses(self, has_path_ids: bool) -> list[int]:
        """Every status besides the success one that this operation can answer."""
        statuses = set(self.errors)
        if self.body is not None:
            statuses |= {400, 422}
        if self.query is not None:
            statuses.add(422)
        if self.security in (STAFF, RESIDENT):
            statuses |= {401, 403, 404, 429}
        elif self.security in (DEVICE, SENSOR):
            statuses |= {401, 429}
        if has_path_ids:
            statuses.add(404)
        return sorted(statuses)


def operation_of(view) -> Operation | None:
    return getattr(view, "__contract__", None)


_ARG = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    return _ARG.sub(lambda m: "{" + m.group(2) + "}", rule)


def _clean(node: Any) -> Any:
    """Drop what pydantic adds for its own use: property titles and ``default: null`` of
    fields that may be left out but never be null."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "default" and value is None:
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {
                    name: _clean({k: v for k, v in sub.items() if k != "title"})
                    for name, sub in value.items()
                }
                continue
            out[key] = _clean(value)
        return out
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = _clean(model.model_json_schema(mode="validation"))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": sub}
        | ({"description": sub.pop("description")} if "description" in sub else {})
        for name, sub in schema["properties"].items()
    ]


def document(app: Flask, blueprint: str, info: dict) -> dict:
    """The OpenAPI 3.1 document of one blueprint's routes."""
    routes: list[tuple[str, str, list[str], Operation]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.partition(".")[0] != blueprint:
            continue
        op = operation_of(app.view_functions[rule.endpoint])
        if op is None:
            raise LookupError(f"{rule.rule} ({rule.endpoint}) declares no contract")
        methods = sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
        routes.append((rule.rule, rule.endpoint, methods, op))

    models: list[tuple[type[BaseModel], str]] = [(common.Error, "serialization")]
    for _rule, _endpoint, _methods, op in routes:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    refs, defs = models_json_schema(
        list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}"
    )
    schemas = _clean(defs.get("$defs", {}))

    def ref(model: type[BaseModel], mode: str) -> dict:
        return refs[(model, mode)]

    paths: dict[str, dict] = {}
    for rule, endpoint, methods, op in routes:
        path = openapi_path(rule)
        item = paths.setdefault(path, {})
        ids = _ARG.findall(rule)
        if ids:
            item["parameters"] = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                    if converter == "int"
                    else {"type": "string"},
                }
                for converter, name in ids
            ]
        for method in methods:
            success: dict[str, Any] = {"description": "OK" if op.status < 300 else "Done"}
            if op.response is not None:
                success |= _json(ref(op.response, "serialization"))
            responses = {str(op.status): success}
            for status in op.error_statuses(bool(ids)):
                responses[str(status)] = {
                    "description": ERROR_TEXT[status],
                    **_json(ref(common.Error, "serialization")),
                }
            entry: dict[str, Any] = {
                "operationId": endpoint.partition(".")[2],
                "summary": op.summary,
                "security": [{op.security: []}] if op.security else [],
                "responses": responses,
            }
            if op.description:
                entry["description"] = op.description
            if op.query is not None:
                entry["parameters"] = _query_parameters(op.query)
            if op.body is not None:
                entry["requestBody"] = {
                    "required": op.body_required,
                    **_json(ref(op.body, "validation")),
                }
            item[method] = entry
    return {
        "openapi": "3.1.0",
        "info": info,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                STAFF: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff token from POST /api/v1/tokens",
                },
                DEVICE: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A gate device's token, shown once when it is registered",
                },
                RESIDENT: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A joined resident's token from POST /api/v1/tokens",
                },
                SENSOR: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A door sensor's token from POST /api/v1/sensors/enrol",
                },
            },
        },
        "paths": paths,
    }
