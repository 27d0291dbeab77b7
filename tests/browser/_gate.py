"""Helpers for the tests of the guard's scan page (test_camera, test_temperature, test_refer,
test_offline, test_lookup).

The result screen clears itself after GATE_RESULT_SECONDS (4 s in these tests), except a
referred scan or a pending one. So what a test reads from a result, or clicks on it, is read or
clicked in the page at the moment the result appears (one ``wait_for_function``), never in
several round trips that a busy machine could stretch past the 4 s.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import AccessEvent, Compound

EVENT_COLUMNS = (
    "id",
    "decision",
    "reasons",
    "pass_id",
    "resident_id",
    "temperature",
    "parent_id",
    "user_id",
    "request_id",
    "manual",
    "override",
    "override_reason",
    "note",
    "direction",
)

_RESULT = """([notEvent, click]) => {
  const r = document.querySelector('#result [data-decision]');
  if (!r || r.dataset.decision === 'pending') return null;  // not decided yet: wait on
  if (notEvent && r.dataset.eventId === notEvent) return null;
  const visible = (sel) => { const el = r.querySelector(sel); return !!(el && el.offsetParent); };
  const seen = {
    decision: r.dataset.decision,
    reasons: r.dataset.reasons,
    eventId: r.dataset.eventId,
    text: r.innerText,
    remeasure: visible('[data-action=remeasure]'),
    override: visible('form.override'),
    paperNote: visible('.paper-note'),
    delivered: visible('.delivered'),
  };
  if (click) {
    const target = r.querySelector(click);
    if (!target) return null;
    target.click();
  }
  return seen;
}"""


def no_temperature_rule(in_app, site):
    with in_app():
        db.session.get(Compound, site.a.compound.id).temperature_required = False
        db.session.commit()


def events(in_app) -> list[dict]:
    """Every access event, oldest first, as plain dicts."""
    with in_app():
        return [
            {c: getattr(e, c) for c in EVENT_COLUMNS}
            for e in db.session.scalars(select(AccessEvent).order_by(AccessEvent.id))
        ]


def wait_for_events(in_app, count: int, timeout: float = 10.0) -> list[dict]:
    """Poll the database until at least ``count`` events exist (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        found = events(in_app)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def wait_for_wedge(page):
    page.wait_for_function("document.activeElement && document.activeElement.id === 'wedge'")


def scan(page, code: str):
    """A keyboard-wedge scanner: the code's characters, then Enter, into the focused input."""
    wait_for_wedge(page)
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def tap(page, keys: str):
    """Tap the on-screen temperature keypad."""
    for key in keys:
        page.click(f"#keypad [data-key='{key}']")


def result(page, not_event=None, click: str | None = None, timeout: float | None = None) -> dict:
    """The next decided result screen (not "pending", not the one of event ``not_event``), read
    the moment it shows: decision, reasons, eventId, text and which parts are visible.
    ``click``: a selector inside the result, clicked at that same moment."""
    handle = page.wait_for_function(
        _RESULT, arg=[str(not_event) if not_event else "", click], timeout=timeout
    )
    return handle.json_value()


def dismiss(page):
    """ "Next" on the result screen, unless it has cleared itself already; then wait for it to go."""
    page.evaluate(
        "() => { const b = document.querySelector('#result [data-action=dismiss]');"
        " if (b) b.click(); }"
    )
    page.locator("#result [data-decision]").wait_for(state="detached")
