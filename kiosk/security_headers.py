"""The security headers of every response, in one place.

- ``Content-Security-Policy``: scripts, styles, images and connections from this site only; no
  inline script or style anywhere (the templates have none, and htmx is told not to inject its
  indicator style). The gate's scan page alone may compile WebAssembly (the vendored zxing-wasm
  QR reader): ``'wasm-unsafe-eval'`` allows compiling, not JavaScript ``eval``.
- ``Permissions-Policy``: the camera for the gate pages only, nothing else anywhere.
- ``Strict-Transport-Security`` when the request came over HTTPS (behind a proxy: ProxyFix,
  ``PROXY_COUNT``, see docs/deployment.md).
- ``Cache-Control: no-store`` on every page and answer that is not a static file: pages carry the
  session's CSRF token, and signed-in pages and the gate's fragments carry people's data.
- ``X-Content-Type-Options``, ``Referrer-Policy``, and framing refused (``frame-ancestors`` and,
  for old browsers, ``X-Frame-Options``).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "media-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Endpoints that load the camera QR reader (kiosk/static/js/camera.js and its .wasm).
WASM_ENDPOINTS = frozenset({"gate.index", "worker.areas"})  # worker.areas: disinfection stickers
GATE_BLUEPRINTS = frozenset({"gate"})

_NOTHING = ("microphone", "geolocation", "payment", "usb", "serial", "bluetooth", "midi")


def content_security_policy(wasm: bool) -> str:
    policy = dict(_POLICY)
    if wasm:
        policy["script-src"] += " 'wasm-unsafe-eval'"
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def permissions_policy(camera: bool) -> str:
    allowed = ["camera=(self)" if camera else "camera=()"]
    return ", ".join(allowed + [f"{feature}=()" for feature in _NOTHING])


_CSP = {wasm: content_security_policy(wasm) for wasm in (False, True)}
_PERMISSIONS = {camera: permissions_policy(camera) for camera in (False, True)}


def apply(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = _CSP[request.endpoint in WASM_ENDPOINTS]
    camera = request.blueprint in GATE_BLUEPRINTS or request.endpoint in WASM_ENDPOINTS
    headers["Permissions-Policy"] = _PERMISSIONS[camera]
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        headers["Strict-Transport-Security"] = f"max-age={current_app.config['HSTS_SECONDS']}"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(apply)
