import json
def raw(api, method, path, text):
    h = dict(api.headers); h["Content-Type"] = "application/json"
    return api.client.open(path, method=method, data=text, headers=h)
def test_probe(world, api, app, client):
    w = world
    for u in ['"\\ud800"', '"a\\u0000b"']:
        r = raw(api, "POST", "/api/v1/tokens", '{"username": %s, "password": "x"}' % u); print("user", u, r.status_code, r.get_json())
        r = raw(api, "POST", "/api/v1/tokens", '{"username": "office_a", "password": %s}' % u); print("pw", u, r.status_code, r.get_json())
    api.login("office_a")
    for u in ['"\\ud800"', '"a\\u0000b"']:
        r = raw(api, "POST", "/api/v1/compounds", '{"name": %s}' % u); print("name", u, r.status_code, r.get_json())
        r = raw(api, "PATCH", f"/api/v1/households/{w.a.household.id}", '{"observation_until": %s}' % u); print("obs", u, r.status_code, r.get_json())
        r = raw(api, "POST", f"/api/v1/households/{w.a.household.id}/residents", '{"name": "x", "phone": %s}' % u); print("phone", u, r.status_code, r.get_json())
        r = raw(api, "POST", f"/api/v1/households/{w.a.household.id}/residents", '{"name": "x", "id_number": %s}' % u); print("idn", u, r.status_code, r.get_json())
        r = api.get("/api/v1/events?since=" + json.loads(u).replace("\x00", "%00") if "ud800" not in u else "/api/v1/events?since=%ED%A0%80"); print("since", u, r.status_code, r.get_json())
    r = api.client.get("/api/v1/events", headers={"Authorization": "Bearer \x00abc"}); print("nul token", r.status_code)
    d = type(api)(client).as_device(w.a.device_token)
    for u in ['"\\ud800"', '"a\\u0000b"']:
        r = raw(d, "POST", "/api/v1/scans", '{"code": "x", "direction": "in", "temperature": %s}' % u); print("temp", u, r.status_code, r.get_json())
        r = raw(d, "POST", "/api/v1/scans", '{"code": %s, "direction": "in"}' % u); print("code", u, r.status_code, r.get_json())
