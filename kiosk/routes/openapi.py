"""The OpenAPI 3 description of /api/v1. ``tests/api/test_openapi.py`` keeps it true to the routes."""

from __future__ import annotations

from functools import cache


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    text = {
        400: "Malformed request (not a JSON object)",
        401: "Missing, wrong or expired token",
        403: "The role may not do this",
        404: "Not found, or outside the caller's community",
        409: "Conflicts with the current state (duplicate, already revoked)",
        422: "A field is invalid; `error.field` names it",
        429: "Rate limited",
    }
    return {str(s): {"description": text[s], **_json(_ref("Error"))} for s in statuses}


_STAFF = _errors(400, 401, 403, 404, 422)
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TIME = {"type": "string", "format": "date-time"}
_NTIME = {"type": ["string", "null"], "format": "date-time"}
_SEAL = {"type": "string", "enum": ["open", "in_only", "sealed"]}


def _op(
    summary: str, request: dict | None, status: int, response: dict, errors: dict, security=True
):
    op = {
        "summary": summary,
        "responses": {str(status): {"description": "OK", **_json(response)}, **errors},
    }
    if request is not None:
        op["requestBody"] = {"required": True, **_json(request)}
    if not security:
        op["security"] = []
    return op


def _obj(required: list[str], **props) -> dict:
    return {"type": "object", "required": required, "properties": props}


@cache
def document() -> dict:
    s = {"type": "string"}
    i = {"type": "integer"}
    schemas = {
        "Error": _obj(
            ["error"],
            error=_obj(["code", "message"], code=s, message=s, field=s),
        ),
        "Compound": _obj(
            ["id", "name", "community_id", "seal_state", "temperature_required"],
            id=i,
            name=s,
            community_id=i,
            seal_state=_SEAL,
            seal_reason={"type": ["string", "null"]},
            temperature_required={"type": "boolean"},
        ),
        "Gate": _obj(
            ["id", "compound_id", "name", "open"],
            id=i,
            compound_id=i,
            name=s,
            open={"type": "boolean"},
        ),
        "Building": _obj(
            ["id", "compound_id", "name", "seal_state"],
            id=i,
            compound_id=i,
            name=s,
            seal_state=_SEAL,
            seal_reason={"type": ["string", "null"]},
        ),
        "Household": _obj(
            ["id", "building_id", "unit", "room", "observation_until"],
            id=i,
            building_id=i,
            unit=s,
            room=s,
            observation_until=_NTIME,
            observation_reason={"type": ["string", "null"]},
        ),
        "Resident": _obj(
            ["id", "household_id", "name"],
            id=i,
            household_id=i,
            name=s,
            id_last4={"type": ["string", "null"]},
            phone_last4={"type": ["string", "null"]},
        ),
        "Pass": _obj(
            ["id", "resident_id", "kind", "valid_from", "valid_until", "revoked_at"],
            id=i,
            resident_id=i,
            kind={"type": "string", "enum": ["resident", "paper", "visitor", "exemption"]},
            valid_from=_NTIME,
            valid_until=_NTIME,
            revoked_at=_NTIME,
            purpose={"type": ["string", "null"]},
            negative_test_within_hours={"type": ["integer", "null"]},
            code={
                "type": "string",
                "description": "The exact QR text; for phone passes, the code valid now",
                "maxLength": 64,
            },
        ),
        "ScanResult": _obj(
            ["decision", "reasons", "event_id", "holder"],
            decision={"type": "string", "enum": ["allow", "deny", "refer"]},
            reasons={"type": "array", "items": _obj(["code", "message"], code=s, message=s)},
            event_id=i,
            occurred_at=_TIME,
            replayed={
                "type": "boolean",
                "description": "true when this answers a repeated request_id",
            },
            holder={
                "oneOf": [
                    {"type": "null"},
                    _obj(
                        ["display_name", "building", "unit", "pass_kind"],
                        display_name={
                            "type": "string",
                            "description": "masked: surname, the rest starred",
                        },
                        building=s,
                        unit=s,
                        pass_kind=s,
                    ),
                ]
            },
        ),
        "RiskArea": _obj(
            ["id", "community_id", "name", "level", "since"],
            id=i,
            community_id=i,
            name=s,
            level={"type": "string", "enum": ["high", "medium", "low"]},
            since=_TIME,
        ),
        "Event": _obj(
            ["id", "occurred_at", "gate_id", "direction", "decision", "reasons"],
            id=i,
            occurred_at=_TIME,
            gate_id=i,
            device_id={"type": ["integer", "null"]},
            direction={"type": "string", "enum": ["in", "out"]},
            pass_id={"type": ["integer", "null"]},
            resident_id={"type": ["integer", "null"]},
            temperature={"type": ["number", "null"]},
            decision={"type": "string", "enum": ["allow", "deny", "refer"]},
            reasons={"type": "array", "items": s},
            manual={"type": "boolean"},
        ),
    }
    named = lambda **p: _obj(["name"], name=s, **p)  # noqa: E731
    paths = {
        "/api/v1/openapi.json": {
            "get": _op("This document", None, 200, {"type": "object"}, {}, security=False)
        },
        "/api/v1/tokens": {
            "post": _op(
                "Exchange a username and password for a bearer token (rate-limited)",
                _obj(["username", "password"], username=s, password=s),
                201,
                _obj(["token", "expires_at", "role"], token=s, expires_at=_TIME, role=s),
                _errors(400, 401, 429),
                security=False,
            )
        },
        "/api/v1/compounds": {
            "post": _op(
                "Create a compound (street users give community_id)",
                named(community_id=i, temperature_required={"type": "boolean"}),
                201,
                _ref("Compound"),
                {**_STAFF, **_errors(409)},
            )
        },
        "/api/v1/compounds/{id}": {
            "parameters": [_ID],
            "patch": _op(
                "Change the seal state (open, in_only, sealed; a reason is required unless open) or the temperature rule",
                _obj([], seal_state=_SEAL, reason=s, temperature_required={"type": "boolean"}),
                200,
                _ref("Compound"),
                _STAFF,
            ),
        },
        "/api/v1/compounds/{id}/gates": {
            "parameters": [_ID],
            "post": _op("Add a gate", named(), 201, _ref("Gate"), {**_STAFF, **_errors(409)}),
        },
        "/api/v1/gates/{id}": {
            "parameters": [_ID],
            "patch": _op(
                "Open or close a gate",
                _obj(["open"], open={"type": "boolean"}),
                200,
                _ref("Gate"),
                _STAFF,
            ),
        },
        "/api/v1/compounds/{id}/buildings": {
            "parameters": [_ID],
            "post": _op(
                "Add a building", named(), 201, _ref("Building"), {**_STAFF, **_errors(409)}
            ),
        },
        "/api/v1/buildings/{id}": {
            "parameters": [_ID],
            "patch": _op(
                "Change a building's seal state",
                _obj(["seal_state"], seal_state=_SEAL, reason=s),
                200,
                _ref("Building"),
                _STAFF,
            ),
        },
        "/api/v1/buildings/{id}/households": {
            "parameters": [_ID],
            "post": _op(
                "Add a household",
                _obj(["unit", "room"], unit=s, room=s),
                201,
                _ref("Household"),
                {**_STAFF, **_errors(409)},
            ),
        },
        "/api/v1/households/{id}": {
            "parameters": [_ID],
            "patch": _op(
                "Start or change home observation; observation_until null ends it",
                _obj(["observation_until"], observation_until=_NTIME, observation_reason=s),
                200,
                _ref("Household"),
                _STAFF,
            ),
        },
        "/api/v1/households/{id}/residents": {
            "parameters": [_ID],
            "post": _op(
                "Add a resident (ID number and phone are kept only as a keyed hash and the last four)",
                named(id_number=s, phone=s),
                201,
                _ref("Resident"),
                _STAFF,
            ),
        },
        "/api/v1/residents/{id}/passes": {
            "parameters": [_ID],
            "post": _op(
                "Issue a phone pass (rotating code) or a paper pass (static code)",
                _obj(
                    ["kind"],
                    kind={"type": "string", "enum": ["resident", "paper"]},
                    valid_until=_TIME,
                ),
                201,
                _ref("Pass"),
                _STAFF,
            ),
        },
        "/api/v1/passes/{id}/revoke": {
            "parameters": [_ID],
            "post": _op(
                "Revoke a pass", _obj([], reason=s), 200, _ref("Pass"), {**_STAFF, **_errors(409)}
            ),
        },
        "/api/v1/residents/{id}/exemptions": {
            "parameters": [_ID],
            "post": _op(
                "Issue an exemption: one exit and one return in a window; overrides seals and observation",
                _obj(
                    ["purpose", "valid_from", "valid_until"],
                    purpose=s,
                    valid_from=_TIME,
                    valid_until=_TIME,
                    negative_test_within_hours={"type": "integer", "minimum": 1, "maximum": 336},
                ),
                201,
                _ref("Pass"),
                _STAFF,
            ),
        },
        "/api/v1/residents/{id}/tests": {
            "parameters": [_ID],
            "post": _op(
                "Record a nucleic-acid test result",
                _obj(
                    ["taken_at", "result"],
                    taken_at=_TIME,
                    result={"type": "string", "enum": ["negative", "positive"]},
                ),
                201,
                _obj(
                    ["id", "resident_id", "taken_at", "result"],
                    id=i,
                    resident_id=i,
                    taken_at=_TIME,
                    result=s,
                ),
                _STAFF,
            ),
        },
        "/api/v1/gates/{id}/devices": {
            "parameters": [_ID],
            "post": _op(
                "Register a gate device; the token is shown once",
                named(kind={"type": "string", "enum": ["tablet", "sensor"]}),
                201,
                _obj(
                    ["id", "gate_id", "name", "kind", "token"],
                    id=i,
                    gate_id=i,
                    name=s,
                    kind=s,
                    token=s,
                ),
                _STAFF,
            ),
        },
        "/api/v1/scans": {
            "post": _op(
                "Decide a scan at the device's gate (device bearer token). A repeated request_id returns the first answer and logs nothing",
                _obj(
                    ["code", "direction"],
                    code=s,
                    direction={"type": "string", "enum": ["in", "out"]},
                    temperature={"type": ["number", "null"], "minimum": 34.0, "maximum": 43.0},
                    request_id={"type": "string", "maxLength": 64},
                ),
                200,
                _ref("ScanResult"),
                _errors(400, 401, 422),
            )
        },
        "/api/v1/risk-areas": {
            "get": _op(
                "The current risk areas of the caller's communities",
                None,
                200,
                _obj(["items"], items={"type": "array", "items": _ref("RiskArea")}),
                _STAFF,
            ),
            "post": _op(
                "Declare a risk area that visitors declare against (street users give community_id)",
                _obj(
                    ["name", "level", "since"],
                    name=s,
                    level={"type": "string", "enum": ["high", "medium", "low"]},
                    since=_TIME,
                    community_id=i,
                ),
                201,
                _ref("RiskArea"),
                _STAFF,
            ),
        },
        "/api/v1/risk-areas/{id}": {
            "parameters": [_ID],
            "delete": {
                "summary": "Remove a risk area from the current list",
                "responses": {"204": {"description": "Removed"}, **_STAFF},
            },
        },
        "/api/v1/events": {
            "get": {
                **_op(
                    "Access events in the caller's communities, oldest first; pass next_after as after for the next page",
                    None,
                    200,
                    _obj(
                        ["items", "next_after"],
                        items={"type": "array", "items": _ref("Event")},
                        next_after={"type": ["integer", "null"]},
                    ),
                    _STAFF,
                ),
                "parameters": [
                    {"name": n, "in": "query", "required": False, "schema": sch}
                    for n, sch in (
                        ("gate_id", i),
                        ("since", _TIME),
                        ("until", _TIME),
                        ("after", i),
                        ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    )
                ],
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kiosk gate-check API",
            "version": "1",
            "description": 'Times are ISO 8601 with offset. Errors are {"error": {"code", "message"}}. '
            "Messages follow Accept-Language (zh-CN by default, en).",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
