"""The floor for bench/scan.py --floor: the scan service alone behind a bare WSGI callable.

POST /api/v1/scans runs what the API door's route runs below the web layer (``scan.scan``: the
code's signature, the SQL, the decision, the gate log's write and commit) with none of the web
layer: no Flask request, no declared model, no limiter, no security headers, no error pages. Its
throughput is the most that any web layer in front of this service could reach on the machine.
Not an app to serve: it trusts its input. Every other path goes to the app.
"""

import json

from kiosk import create_app
from kiosk.services import scan
from kiosk.services.gate import GateAction

kiosk_app = create_app()


def app(environ, start_response):
    if environ["PATH_INFO"] != "/api/v1/scans":
        return kiosk_app(environ, start_response)
    body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
    action = GateAction(
        device_token=environ["HTTP_AUTHORIZATION"].removeprefix("Bearer "),
        request_id=body["request_id"],
    )
    with kiosk_app.app_context():
        r = scan.scan(action, body["code"], body["direction"], body["temperature"])
    out = json.dumps({"decision": r.decision, "reasons": list(r.reasons), "event_id": r.event_id})
    data = out.encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
