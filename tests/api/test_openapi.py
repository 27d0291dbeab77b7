"""openapi.json is the contract: every route is in it, and real answers match it."""

from __future__ import annotations

import re
from datetime import datetime

from test_scope_matrix import ROUTES  # the same requests the scope matrix makes

from tests import factories
from tests.factories import PASSWORD
from tests.helpers import ApiClient

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


def response_schema(doc: dict, path: str, method: str, status: int) -> dict | None:
    responses = doc["paths"][path][method.lower()]["responses"]
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
    return {(p, m) for p, item in doc["paths"].items() for m in item if m in methods}


def test_document_looks_like_openapi_3(client):
    r = client.get("/api/v1/openapi.json")  # no token needed
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert re.fullmatch(r"3\.\d+\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["paths"] and all(p.startswith("/api/v1/") for p in doc["paths"])
    for path, method in documented_operations(doc):
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
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]["required"] == [
        "code",
        "message",
    ]


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
