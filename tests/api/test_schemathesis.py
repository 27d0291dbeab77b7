"""Schemathesis against the generated ``/api/v1/openapi.json``, on both engines.

The document is the contract both ways: what it calls invalid is refused, what it calls valid is
not refused for a reason it does not state, every answer has a documented status and shape, no
answer is a 5xx, and a method the document does not list is a 405 with ``Allow``.

It runs schemathesis' own engine (the phases ``schemathesis run`` has: examples, coverage of the
schemas' edges, fuzzing) through the WSGI app, with a street user's token (it reaches every
community) for the staff operations and a device token for the scans, so the checks reach the
handlers. Bounded and deterministic: a few examples per operation, a fixed seed, no example
database.
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.engine import events

from kiosk.extensions import db
from tests import factories

# Schemathesis warns about what it skips (for instance, operations whose examples it cannot
# build); the checks below are what this test asserts.
pytestmark = pytest.mark.filterwarnings("ignore")

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
)
SEED = 20261201
MAX_EXAMPLES = 40


class FreshContext:
    """Each request in its own app context (fresh ``g`` and database session), as under a real
    server: the test's own context must not carry state from one request to the next."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        with self.app.app_context():
            return self.app(environ, start_response)


def _config(staff: str, device: str, resident: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "no-shrink": True,
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {"stateful": {"enabled": False}},
            "auth": {
                "openapi": {
                    "staff": {"bearer": staff},
                    "device": {"bearer": device},
                    "resident": {"bearer": resident},
                }
            },
        }
    )


def _describe(event: events.ScenarioFinished) -> list[str]:
    out = []
    recorder = event.recorder
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction else None
            body = response.content[:500] if response is not None and response.content else b""
            out.append(
                f"{event.phase.value} {recorder.label}: {check.name}: "
                f"{check.failure_info.failure.title}\n{check.failure_info.code_sample}\n"
                f"-> {response.status_code if response is not None else '?'} {body!r}"
            )
    return out


def test_the_document_is_the_contract(app):
    world = factories.world()
    staff = factories.api_token(world.street_user)
    device = world.a.device_token
    # A joined resident of household a, for the residents' operations (/api/v1/me/...).
    resident = factories.api_token(
        factories.user(
            "fuzz_resident",
            "resident",
            household_id=world.a.household.id,
            resident_id=world.a.resident.id,
        )
    )
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", FreshContext(app), config=_config(staff, device, resident)
    )
    failures: list[str] = []
    reached: dict[str, set[int]] = {}  # operation -> statuses answered with the right token
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            failures += _describe(event)
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses = reached.setdefault(event.recorder.label, set())
                    statuses.add(interaction.response.status_code)
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: {event.info.title}: {event.info}")
        elif isinstance(event, events.FatalError):
            failures.append(f"schemathesis stopped: {event.exception!r}")
    assert not failures, "\n\n".join(failures[:30]) + f"\n\n{len(failures)} failures"
    # Every operation was called (but the document itself, which schemathesis loaded), and
    # the tokens got past authentication to the handlers.
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in {"get", "post", "patch", "delete"} and path != "/api/v1/openapi.json"
    }
    assert set(reached) >= operations, operations - set(reached)
    assert all(statuses - {401, 405, 429} for statuses in reached.values()), reached
