"""The two doors a scan comes through: the API (a device bearer token, JSON) and the tablet page
(the device cookie, a guard's session, CSRF, an htmx form post), as real clients send them."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from dataclasses import dataclass

from dataset import GUARD, GUARD_PIN, SCAN_PATH, TABLET_SCAN_PATH
from servers import Server

DEVICE_COOKIE = "kiosk_device"


@dataclass(frozen=True)
class Door:
    """One way a scan reaches the app: its path, each device's headers, the body's format."""

    name: str  # "api" | "tablet"
    path: str
    headers: list[dict[str, str]]  # per device, in the order of the plan's devices
    form: bool  # an HTML form post (the tablet page) rather than a JSON body (the API)


def api_door(tokens: list[str]) -> Door:
    headers = [{"Authorization": "Bearer " + t, "Content-Type": "application/json"} for t in tokens]
    return Door("api", SCAN_PATH, headers, form=False)


def tablet_door(cookies: list[str], csrf_tokens: list[str]) -> Door:
    """What the tablet page's htmx sends: the device and session cookies, the CSRF header."""
    headers = [
        {
            "Cookie": cookie,
            "X-CSRFToken": csrf,
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        for cookie, csrf in zip(cookies, csrf_tokens, strict=True)
    ]
    return Door("tablet", TABLET_SCAN_PATH, headers, form=True)


def sign_in_tablets(server: Server, tokens: list[str]) -> Door:
    """The guard signs in on each tablet (one PIN sign-in per device, as at a shift start)."""
    cookies, csrf_tokens = [], []
    for token in tokens:
        jar = {DEVICE_COOKIE: token}
        page = _request(server, "GET", "/gate/login", jar)
        form = {"csrf_token": csrf_token(page), "username": GUARD, "pin": GUARD_PIN}
        _request(server, "POST", "/gate/login", jar, form)
        scan_page = _request(server, "GET", "/gate", jar)
        cookies.append("; ".join(f"{k}={v}" for k, v in jar.items()))
        csrf_tokens.append(csrf_token(scan_page))
    return tablet_door(cookies, csrf_tokens)


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    if found is None:
        raise RuntimeError("no CSRF token on the page (did the sign-in fail?):\n" + page[:500])
    return found.group(1)


def _request(server: Server, method: str, path: str, jar: dict, form: dict | None = None) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        for value in resp.msg.get_all("Set-Cookie") or []:
            name, _eq, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status}\n{text[:500]}")
    finally:
        conn.close()
    return text
