#!/usr/bin/env python3
"""Play a door sensor (门磁) against a running kiosk server, for demos and tests.

Standard library only (urllib). The office adds a sensor to a household (/office/sensors) and
reads its 8-character enrolment code; then:

    scripts/door_sensor.py --url http://127.0.0.1:8000 enrol CODE
        prints the sensor's token (shown once: keep it), e.g. into SENSOR_TOKEN
    scripts/door_sensor.py --url ... --token TOKEN send door_open
        one event: door_open, door_closed, tamper, battery_low or heartbeat
    scripts/door_sensor.py --url ... --token TOKEN run --every 30 --open-after 60 --stop-after 300
        heartbeats every 30 s, a door opening (and closing) after 60 s, then silence after 300 s:
        the office sees the sensor flagged silent once its heartbeat period has passed
    scripts/door_sensor.py --url ... demo CODE
        enrol, a heartbeat, a door opening and closing, then exit (the sensor goes silent)

``--token`` may also come from the SENSOR_TOKEN environment variable. Each event carries a new
event id; ``--id`` repeats one (the server answers the first result again). Every answer is
printed as one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

EVENTS = ("door_open", "door_closed", "tamper", "battery_low", "heartbeat")


class SensorError(Exception):
    """The server refused a request: its status and error body."""

    def __init__(self, status: int, body: object):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def _post(url: str, body: dict, token: str | None = None, timeout: float = 10) -> dict:
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}")
        except ValueError:
            detail = None
        raise SensorError(exc.code, detail) from None


class Sensor:
    """One door sensor talking to the server at ``base_url``."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.heartbeat_seconds: int | None = None

    def enrol(self, code: str) -> str:
        """Exchange the office's one-time code for the sensor's own token."""
        answer = _post(self.base_url + "/api/v1/sensors/enrol", {"code": code})
        self.token = answer["token"]
        self.heartbeat_seconds = answer.get("heartbeat_seconds")
        return self.token

    def send(self, event: str, event_id: str | None = None, at: datetime | None = None) -> dict:
        """Report one event now (or at ``at``); the server's answer (the alarm raised, if any)."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}: one of {', '.join(EVENTS)}")
        if not self.token:
            raise ValueError("enrol first, or give the sensor's token")
        body = {
            "event": event,
            "at": (at or datetime.now(UTC)).isoformat(timespec="seconds"),
            "id": event_id or uuid.uuid4().hex,
        }
        return _post(self.base_url + "/api/v1/sensors/events", body, self.token)

    def run(
        self,
        every: float,
        open_after: float | None = None,
        stop_after: float | None = None,
        out=sys.stdout,
    ) -> None:
        """Heartbeats every ``every`` seconds; a door opening and closing once ``open_after``
        seconds have passed; stop (go silent) after ``stop_after`` seconds."""
        started = time.monotonic()
        opened = False
        while stop_after is None or time.monotonic() - started < stop_after:
            _print(self.send("heartbeat"), out)
            if open_after is not None and not opened and time.monotonic() - started >= open_after:
                _print(self.send("door_open"), out)
                _print(self.send("door_closed"), out)
                opened = True
            time.sleep(every)


def _print(answer: dict, out=sys.stdout) -> None:
    out.write(json.dumps(answer, ensure_ascii=False) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the kiosk server")
    parser.add_argument("--token", default=os.environ.get("SENSOR_TOKEN"), help="sensor token")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("enrol", help="exchange the enrolment code for a token")
    p.add_argument("code")
    p = commands.add_parser("send", help="send one event")
    p.add_argument("event", choices=EVENTS)
    p.add_argument("--id", help="the event id (repeat one to see the first answer again)")
    p = commands.add_parser("run", help="heartbeats, an opening, then silence")
    p.add_argument("--every", type=float, default=30.0, help="seconds between heartbeats")
    p.add_argument("--open-after", type=float, help="open the door after this many seconds")
    p.add_argument("--stop-after", type=float, help="go silent after this many seconds")
    p = commands.add_parser("demo", help="enrol, a heartbeat, a door opening and closing")
    p.add_argument("code")
    args = parser.parse_args(argv)

    sensor = Sensor(args.url, args.token)
    try:
        if args.command in ("enrol", "demo"):
            token = sensor.enrol(args.code)
            _print({"token": token, "heartbeat_seconds": sensor.heartbeat_seconds})
        if args.command == "send":
            _print(sensor.send(args.event, args.id))
        elif args.command == "run":
            sensor.run(args.every, args.open_after, args.stop_after)
        elif args.command == "demo":
            for event in ("heartbeat", "door_open", "door_closed"):
                _print(sensor.send(event))
    except SensorError as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 1
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"cannot reach {args.url}: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
