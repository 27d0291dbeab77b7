"""openapi.json is the contract: every route is in it, and real answers match it."""

from __future__ import annotations

import re
from datetime import datetime

from test_invitations_api import DOC_CALLS as INVITATION_CALLS
from test_me_api import DOC_CALLS as ME_CALLS
from test_me_household_api import DOC_CALLS as HOUSEHOLD_CALLS
from test_read_endpoints import READ_ROUTES
from test_scope_matrix import ROUTES as MATRIX_ROUTES
from test_screening_api import DOC_CALLS as SCREENING_CALLS
from test_sensors_api import doc_calls as sensor_doc_calls
from test_sensors_api import enrolled as enrolled_sensor
from test_service_requests_api import DOC_CALLS as DELIVERY_CALLS

from tests import factories
from tests.factories import PASSWORD
from tests.helpers import ApiClient

# The same requests the scope matrix and the read endpoints' tests make.
ROUTES = MATRIX_ROUTES + READ_ROUTES
# Operations of other callers (residents, workers): each names its caller (``user(world)``),
# ``build(world) -> (path, body)`` and its success status.
OTHER_CALLS = [
    *DELIVERY_CALLS,
    *HOUSEHOLD_CALLS,
    *INVITATION_CALLS,
    *ME_CALLS,
    *SCREENING_CALLS,
]

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def problems(doc: dict, schema: dict, value, where: str = "$") -> list[str]:
    """What in ``value`` breaks ``schema``: $ref, oneOf, type, enum, required, properties, items,
    and date-time strings with an offset. A tiny subset of JSON Schema, enough for this API."""
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        target = doc
        for part in ref[2:].split("/"):
            target = target[part]
        return problems(doc, target, value, where)
    if "anyOf" in schema:
        if all(problems(doc, s, value, where) for s in schema["anyOf"]):
            return [f"{where}: matches none of anyOf"]
        return []
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not problems(doc, s, value, where)]
        return [] if len(matching) == 1 else [f"{where}: matches {len(matching)} of oneOf"]
    out: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return [f"{where}: {value!r} is not {types}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in {schema['enum']}")
    if schema.get("format") == "date-time" and isinstance(value, str):
        try:
            if datetime.fromisoformat(value).tzinfo is None:
                out.append(f"{where}: {value!r} has no offset")
        except ValueError:
            out.append(f"{where}: {value!r} is not ISO 8601")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                out.append(f"{where}: missing {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                out += problems(doc, sub, value[key], f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += problems(doc, schema["items"], item, f"{where}[{i}]")
    return out


_PARAM = re.compile(r"{[^{}]+}")


def path_item(doc: dict, rule: str) -> dict:
    """The document's path for a rule written with ``{id}`` for every parameter (the document
    names them: ``{compound_id}``)."""
    found = [item for path, item in doc["paths"].items() if _PARAM.sub("{id}", path) == rule]
    assert len(found) == 1, (rule, len(found))
    return found[0]


def resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        target = doc
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        schema = target
    return schema


def response_schema(doc: dict, path: str, method: str, status: int) -> dict | None:
    responses = path_item(doc, path)[method.lower()]["responses"]
    assert str(status) in responses, (
        f"{method} {path} does not document {status}: {sorted(responses)}"
    )
    content = responses[str(status)].get("content")
    return content["application/json"]["schema"] if content else None


def check(doc: dict, path: str, method: str, r) -> None:
    """The response's status is documented for the operation and its body fits the schema."""
    schema = response_schema(doc, path, method, r.status_code)
    if schema is None:
        assert r.get_data() == b"", (method, path)
        return
    found = problems(doc, schema, r.get_json())
    assert not found, (method, path, found)


def documented_operations(doc: dict) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return {
        (_PARAM.sub("{id}", p), m) for p, item in doc["paths"].items() for m in item if m in methods
    }


def test_document_looks_like_openapi_3(client):
    r = client.get("/api/v1/openapi.json")  # no token needed
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert re.fullmatch(r"3\.\d+\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["paths"] and all(p.startswith("/api/v1/") for p in doc["paths"])
    for rule, method in documented_operations(doc):
        path = next(p for p in doc["paths"] if _PARAM.sub("{id}", p) == rule)
        op = doc["paths"][path][method]
        assert op["responses"], (path, method)
        assert any(code.startswith("2") for code in op["responses"]), (path, method)
        for param in re.findall(r"{(\w+)}", path):
            declared = doc["paths"][path].get("parameters", []) + op.get("parameters", [])
            assert any(p["name"] == param and p["in"] == "path" for p in declared), (path, param)
    # Every $ref points at something.
    refs = re.findall(r'"\$ref": ?"#/([^"]+)"', r.get_data(as_text=True))
    assert refs
    for ref in refs:
        target = doc
        for part in ref.split("/"):
            target = target[part]
    # Errors are documented with the shape the API sends.
    error = resolve(doc, doc["components"]["schemas"]["Error"]["properties"]["error"])
    assert error["required"] == ["code", "message"]
    assert set(error["properties"]) == {"code", "message", "field", "fields"}


def test_every_route_is_documented_and_nothing_else(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "{id}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    documented = documented_operations(doc)
    assert routes - documented == set(), "routes missing from openapi.json"
    assert documented - routes == set(), "documented operations without a route"


def test_real_answers_match_the_document(world, client):
    """Every documented operation is called for real; its status and body fit the document."""
    doc = client.get("/api/v1/openapi.json").get_json()
    exercised: set[tuple[str, str]] = set()

    def call(api, method, rule, path, payload=None, expect=None):
        r = api._call(method, path, json=payload)
        if expect is not None:
            assert r.status_code == expect, (method, path, r.status_code, r.get_data(as_text=True))
        check(doc, rule, method, r)
        exercised.add((rule, method.lower()))
        return r

    anonymous = ApiClient(client)
    call(anonymous, "GET", "/api/v1/openapi.json", "/api/v1/openapi.json", expect=200)
    r = call(
        anonymous,
        "POST",
        "/api/v1/tokens",
        "/api/v1/tokens",
        {"username": "street", "password": PASSWORD},
        expect=201,
    )
    street = ApiClient(client).bearer(r.get_json()["token"])
    for route in ROUTES:
        path, payload = route.build(world, "street")
        call(street, route.method, route.rule, path, payload, expect=route.success)
    for other in OTHER_CALLS:
        caller = ApiClient(client).bearer(factories.api_token(other.user(world)))
        path, payload = other.build(world)
        call(caller, other.method, other.rule, path, payload, expect=other.success)
    device = ApiClient(client).as_device(world.a.device_token)
    call(
        device,
        "POST",
        "/api/v1/scans",
        "/api/v1/scans",
        {"code": factories.code(world.b.pass_), "direction": "in", "temperature": 36.5},
        expect=200,
    )
    r = call(
        device,
        "POST",
        "/api/v1/scans",
        "/api/v1/scans",
        {
            "code": factories.code(world.a.pass_),
            "direction": "in",
            "temperature": 36.5,
            "request_id": "doc-1",
        },
        expect=200,
    )
    assert r.get_json()["holder"] is not None  # the non-null branch of holder was checked too

    # Door sensors: enrolment (no token), then events with the sensor's own token.
    def call_as(token, method, rule, path, payload, status):
        api = ApiClient(client).bearer(token)
        return call(api, method, rule, path, payload, expect=status)

    sensor_doc_calls(world, call_as)
    assert documented_operations(doc) - exercised == set(), "documented but never called here"


def test_error_answers_are_documented(world, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    office = ApiClient(client).bearer(factories.api_token(world.a.office))
    guard = ApiClient(client).bearer(factories.api_token(world.a.guard))
    device = ApiClient(client).as_device(world.a.device_token)
    anonymous = ApiClient(client)
    cases = [
        (
            office,
            "POST",
            "/api/v1/compounds/{id}/gates",
            f"/api/v1/compounds/{world.a.compound.id}/gates",
            {"name": "东门"},
            409,
        ),
        (
            office,
            "POST",
            "/api/v1/compounds/{id}/gates",
            f"/api/v1/compounds/{world.b.compound.id}/gates",
            {"name": "北门"},
            404,
        ),
        (
            guard,
            "POST",
            "/api/v1/compounds/{id}/gates",
            f"/api/v1/compounds/{world.a.compound.id}/gates",
            {"name": "北门"},
            403,
        ),
        (
            anonymous,
            "PATCH",
            "/api/v1/gates/{id}",
            f"/api/v1/gates/{world.a.gate.id}",
            {"open": True},
            401,
        ),
        (
            office,
            "PATCH",
            "/api/v1/gates/{id}",
            f"/api/v1/gates/{world.a.gate.id}",
            {"open": "yes"},
            422,
        ),
        (
            office,
            "PATCH",
            "/api/v1/households/{id}",
            f"/api/v1/households/{world.a.household.id}",
            [],
            400,
        ),
        (office, "GET", "/api/v1/events", "/api/v1/events?limit=0", None, 422),
        (device, "POST", "/api/v1/scans", "/api/v1/scans", {"code": "x", "direction": "up"}, 422),
        (
            anonymous,
            "POST",
            "/api/v1/scans",
            "/api/v1/scans",
            {"code": "x", "direction": "in"},
            401,
        ),
        (device, "POST", "/api/v1/scans", "/api/v1/scans", "not an object", 400),
        (
            office,
            "POST",
            "/api/v1/passes/{id}/revoke",
            f"/api/v1/passes/{world.a.pass_.id}/revoke",
            {},
            200,
        ),
        (
            office,
            "POST",
            "/api/v1/passes/{id}/revoke",
            f"/api/v1/passes/{world.a.pass_.id}/revoke",
            {},
            409,
        ),
        (
            anonymous,
            "POST",
            "/api/v1/tokens",
            "/api/v1/tokens",
            {"username": "x", "password": "y"},
            401,
        ),
        (anonymous, "POST", "/api/v1/tokens", "/api/v1/tokens", "x", 400),
    ]
    for api, method, rule, path, payload, status in cases:
        r = api._call(method, path, json=payload)
        assert r.status_code == status, (method, path, r.status_code, r.get_data(as_text=True))
        check(doc, rule, method, r)
    # Rate limiting of sign-ins is documented.
    for _ in range(10):
        anonymous.post("/api/v1/tokens", json={})
    r = anonymous.post("/api/v1/tokens", json={})
    assert r.status_code == 429
    check(doc, "/api/v1/tokens", "POST", r)


def test_a_method_the_document_does_not_list_is_405_with_allow(world, client):
    """RFC 9110: a 405 names the methods the path has; on /api it is the JSON error."""
    office = ApiClient(client).bearer(factories.api_token(world.a.office))
    for method, path, allowed in (
        ("PUT", "/api/v1/tokens", {"POST"}),
        ("DELETE", "/api/v1/scans", {"POST"}),
        ("DELETE", f"/api/v1/compounds/{world.a.compound.id}", {"GET", "PATCH"}),
        ("GET", "/api/v1/residents/search", {"POST"}),
        ("PATCH", "/api/v1/risk-areas", {"GET", "POST"}),
        ("TRACE", "/api/v1/events", {"GET"}),
    ):
        r = office._call(method, path, lang="en")
        assert r.status_code == 405, (method, path, r.status_code)
        methods = {m.strip() for m in r.headers["Allow"].split(",")}
        assert allowed <= methods <= allowed | {"HEAD", "OPTIONS"}, (path, methods)
        err = r.get_json()["error"]
        assert err["code"] == "method_not_allowed" and err["message"]


def test_every_operation_states_its_limits(client):
    """The server's real limits are in the document: every string of a request body has a
    maximum length or a pattern or an enum, every integer a range."""
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    bodies = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "requestBody" in op
    }
    assert bodies

    def check(where: str, schema: dict) -> None:
        schema = resolve(doc, schema)
        for sub in schema.get("anyOf", []):
            check(where, sub)
        if schema.get("type") == "string" and "enum" not in schema:
            assert "maxLength" in schema or "pattern" in schema, where
        if schema.get("type") == "integer":
            assert "minimum" in schema and "maximum" in schema, where
        if schema.get("type") == "number":
            assert "minimum" in schema and "maximum" in schema, where
        if "items" in schema:
            check(where + "[]", schema["items"])

    for name in bodies:
        assert schemas[name].get("additionalProperties") is False, name
        for prop, sub in schemas[name]["properties"].items():
            check(f"{name}.{prop}", sub)
    for item in doc["paths"].values():
        for param in item.get("parameters", []):
            check(param["name"], param["schema"])
        for op in item.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                check(param["name"], param["schema"])


def _allows_null(doc: dict, schema: dict) -> bool:
    schema = resolve(doc, schema)
    if "anyOf" in schema:
        return any(_allows_null(doc, s) for s in schema["anyOf"])
    types = schema.get("type")
    return types == "null" or (isinstance(types, list) and "null" in types)


def test_null_where_the_document_forbids_it_is_422(world, client):
    """Every field of every request body, sent as null: refused with that field named, unless
    the document allows null there (then the answer is not a 422 for that field)."""
    doc = client.get("/api/v1/openapi.json").get_json()
    street = ApiClient(client).bearer(factories.api_token(world.street_user))
    device = ApiClient(client).as_device(world.a.device_token)
    calls = {(route.rule, route.method.lower()): route for route in ROUTES}
    others = {(other.rule, other.method.lower()): other for other in OTHER_CALLS}
    checked = 0
    for path, item in doc["paths"].items():
        rule = _PARAM.sub("{id}", path)
        for method, op in item.items():
            if not isinstance(op, dict) or "requestBody" not in op:
                continue
            body = resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])
            if rule == "/api/v1/scans":
                api, url = device, rule
            elif rule in ("/api/v1/tokens", "/api/v1/sensors/enrol"):
                api, url = ApiClient(client), rule
            elif rule == "/api/v1/sensors/events":
                api, url = enrolled_sensor(client, world)[1], rule
            elif (rule, method) in others:
                other = others[(rule, method)]
                api = ApiClient(client).bearer(factories.api_token(other.user(world)))
                url = other.build(world)[0]
            else:
                api, url = street, calls[(rule, method)].build(world, "street")[0]
            for name, sub in body["properties"].items():
                r = api._call(method.upper(), url, json={name: None}, lang="en")
                fields = [
                    f["field"] for f in (r.get_json() or {}).get("error", {}).get("fields", [])
                ]
                if _allows_null(doc, sub):
                    assert name not in fields, (method, path, name, r.get_json())
                else:
                    assert r.status_code == 422 and name in fields, (
                        method,
                        path,
                        name,
                        r.status_code,
                    )
                    checked += 1
    assert checked >= 30
