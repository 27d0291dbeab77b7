"""Action helpers for tests: an API client that signs in as a user or a device."""

from __future__ import annotations

from .factories import PASSWORD


class ApiClient:
    def __init__(self, client):
        self.client = client
        self.headers: dict[str, str] = {}

    def login(self, username: str, password: str = PASSWORD) -> ApiClient:
        r = self.client.post("/api/v1/tokens", json={"username": username, "password": password})
        assert r.status_code == 201, r.get_json()
        self.headers = {"Authorization": "Bearer " + r.get_json()["token"]}
        return self

    def as_device(self, token: str) -> ApiClient:
        self.headers = {"Authorization": "Bearer " + token}
        return self

    def _call(self, method: str, path: str, json=None, lang: str | None = None, **kw):
        headers = dict(self.headers)
        if lang:
            headers["Accept-Language"] = lang
        return self.client.open(path, method=method, json=json, headers=headers, **kw)

    def get(self, path, **kw):
        return self._call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self._call("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self._call("PATCH", path, json=json, **kw)

    def scan(self, code, direction="in", temperature=36.5, request_id=None, **kw):
        body = {"code": code, "direction": direction}
        if temperature is not None:
            body["temperature"] = temperature
        if request_id is not None:
            body["request_id"] = request_id
        return self.post("/api/v1/scans", json=body, **kw)

    # --- Added for the API tests -----------------------------------------------------------

    def bearer(self, token: str | None) -> ApiClient:
        """Use this bearer token (staff or device); None sends no Authorization header."""
        self.headers = {} if token is None else {"Authorization": "Bearer " + token}
        return self

    def raw(self, method: str, path: str, data, content_type: str = "application/json", **kw):
        """Send a body as is (not JSON-encoded), for malformed-request tests."""
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        return self.client.open(path, method=method, data=data, headers=headers, **kw)
