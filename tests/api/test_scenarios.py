"""The scenarios of DOMAIN.md, played through the API only: the office sets the rules, the gate
tablet scans, and the answers are what the guard at the gate would see."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.models import utcnow
from tests.helpers import ApiClient

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(delta: timedelta) -> str:
    return (datetime.now(SHANGHAI) + delta).isoformat(timespec="seconds")


class Compound:
    """Site a as the office and the gate tablet see it."""

    def __init__(self, world, client):
        self.world = world
        self.office = ApiClient(client).login("office_a")
        self.gate = ApiClient(client).as_device(world.a.device_token)
        self.pass_code = None

    def ok(self, r, status=200) -> dict:
        assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
        return r.get_json()

    def scan(self, code, direction, temperature=36.5) -> tuple[str, list[str]]:
        body = self.ok(self.gate.scan(code, direction, temperature))
        return body["decision"], [x["code"] for x in body["reasons"]]

    def new_person(self, building_id, unit, room, name) -> tuple[int, str]:
        """A household with one resident and a paper pass, through the API: (resident id, code)."""
        h = self.ok(
            self.office.post(
                f"/api/v1/buildings/{building_id}/households", json={"unit": unit, "room": room}
            ),
            201,
        )
        res = self.ok(
            self.office.post(f"/api/v1/households/{h['id']}/residents", json={"name": name}), 201
        )
        p = self.ok(
            self.office.post(f"/api/v1/residents/{res['id']}/passes", json={"kind": "paper"}), 201
        )
        return res["id"], p["code"]

    def phone_pass(self, resident_id) -> str:
        return self.ok(
            self.office.post(f"/api/v1/residents/{resident_id}/passes", json={"kind": "resident"}),
            201,
        )["code"]

    def exemption(self, resident_id, hours=None, purpose="高考") -> str:
        body = {
            "purpose": purpose,
            "valid_from": at(-timedelta(minutes=2)),
            "valid_until": at(timedelta(hours=10)),
        }
        if hours is not None:
            body["negative_test_within_hours"] = hours
        return self.ok(
            self.office.post(f"/api/v1/residents/{resident_id}/exemptions", json=body), 201
        )["code"]

    def test_result(self, resident_id, ago: timedelta, result: str) -> None:
        self.ok(
            self.office.post(
                f"/api/v1/residents/{resident_id}/tests",
                json={"taken_at": at(-ago), "result": result},
            ),
            201,
        )

    def seal_compound(self, state, reason="新发地疫情") -> None:
        self.ok(
            self.office.patch(
                f"/api/v1/compounds/{self.world.a.compound.id}",
                json={"seal_state": state, "reason": reason},
            )
        )


@pytest.fixture
def site(world, client) -> Compound:
    return Compound(world, client)


def test_1_in_only_dormitory(site, world):
    """A dormitory with a suspected case: people may enter, nobody leaves; other buildings are free."""
    dorm = site.ok(
        site.office.post(
            f"/api/v1/compounds/{world.a.compound.id}/buildings", json={"name": "职工宿舍"}
        ),
        201,
    )
    worker_id, worker_code = site.new_person(dorm["id"], "1", "101", "赵建国")
    neighbour_id, neighbour_code = site.new_person(world.a.building.id, "3", "201", "钱芳")
    site.ok(
        site.office.patch(
            f"/api/v1/buildings/{dorm['id']}",
            json={"seal_state": "in_only", "reason": "宿舍有疑似病例"},
        )
    )

    assert site.scan(worker_code, "in") == ("allow", [])
    assert site.scan(worker_code, "out") == ("deny", ["building_in_only"])
    # Another building of the compound is not affected.
    assert site.scan(neighbour_code, "out", None) == ("allow", [])
    # Lifting the rule lets the dormitory out again.
    site.ok(site.office.patch(f"/api/v1/buildings/{dorm['id']}", json={"seal_state": "open"}))
    assert site.scan(worker_code, "out") == ("allow", [])


def test_2_sealed_compound_with_exemptions(site, world):
    """A sealed compound: nobody in or out, except one exemption for one exit and one return."""
    resident = world.a.resident.id
    phone = site.phone_pass(resident)
    other_id, other_code = site.new_person(world.a.building.id, "4", "402", "孙丽")
    site.seal_compound("sealed")
    assert site.scan(phone, "out") == ("deny", ["compound_sealed"])
    assert site.scan(phone, "in") == ("deny", ["compound_sealed"])

    exemption = site.exemption(resident, purpose="送医")
    assert site.scan(exemption, "out", None) == ("allow", [])
    assert site.scan(exemption, "in", 36.4) == ("allow", [])
    # A spent exemption no longer lifts the seal: both reasons are shown.
    assert site.scan(exemption, "out", None) == ("deny", ["exemption_used", "compound_sealed"])
    # The seal still holds for the holder's own pass and for everyone else.
    assert site.scan(site.phone_pass(resident), "out") == ("deny", ["compound_sealed"])
    assert site.scan(other_code, "out") == ("deny", ["compound_sealed"])

    # The guard's log shows the two allowed passages of the exemption.
    events = site.ok(site.office.get(f"/api/v1/events?gate_id={world.a.gate.id}"))["items"]
    allowed = [(e["direction"], e["resident_id"]) for e in events if e["decision"] == "allow"]
    assert allowed == [("out", resident), ("in", resident)]


def test_3_home_observation(site, world):
    """A household under home observation: its members may come home but not go out."""
    member = site.phone_pass(world.a.resident.id)
    neighbour_id, neighbour_code = site.new_person(world.a.building.id, "2", "302", "周强")
    r = site.ok(
        site.office.patch(
            f"/api/v1/households/{world.a.household.id}",
            json={
                "observation_until": at(timedelta(days=14)),
                "observation_reason": "5月30日后去过新发地",
            },
        )
    )
    assert r["observation_until"].endswith("+08:00")

    assert site.scan(member, "out") == ("deny", ["home_observation"])
    assert site.scan(member, "in") == ("allow", [])
    assert site.scan(neighbour_code, "out") == ("allow", [])  # the next door is not observed

    site.ok(
        site.office.patch(
            f"/api/v1/households/{world.a.household.id}", json={"observation_until": None}
        )
    )
    assert site.scan(member, "out") == ("allow", [])


def test_6_temperature_at_the_gate(site, world):
    """Every entry has its temperature taken; 37.3 and above is refused."""
    code = site.phone_pass(world.a.resident.id)
    body = site.ok(site.gate.scan(code, "in", 37.3, lang="en"))
    assert body["decision"] == "deny"
    assert body["reasons"] == [{"code": "fever", "message": "Fever: entry refused"}]
    assert site.scan(code, "in", None) == ("refer", ["temperature_required"])
    assert site.scan(code, "in", 37.2) == ("allow", [])
    # A typing error is not a fever: it is refused before anything is logged.
    assert site.gate.scan(code, "in", 373).status_code == 422
    events = site.ok(site.office.get("/api/v1/events"))["items"]
    assert [(e["temperature"], e["decision"]) for e in events] == [
        (37.3, "deny"),
        (None, "refer"),
        (37.2, "allow"),
    ]


def test_8_exam_student_needs_a_recent_negative_test(site, world):
    """A student in a sealed compound goes to the exam with an exemption that requires a negative
    test within 48 h."""
    student_id, student_code = site.new_person(world.a.building.id, "5", "501", "吴思远")
    site.seal_compound("sealed")
    exemption = site.exemption(student_id, hours=48)
    assert site.scan(exemption, "out", None) == (
        "deny",
        ["negative_test_required", "compound_sealed"],
    )
    site.test_result(student_id, timedelta(hours=2), "negative")
    assert site.scan(exemption, "out", None) == ("allow", [])
    assert site.scan(exemption, "in") == ("allow", [])
    # The student's own paper pass still does not open the sealed compound.
    assert site.scan(student_code, "out") == ("deny", ["compound_sealed"])


def test_9_test_results_are_recorded_and_used(site, world):
    """Test results per person feed the rule "negative within 48 h": too old or positive is not enough."""
    person_id, _ = site.new_person(world.a.building.id, "6", "601", "郑敏")
    exemption = site.exemption(person_id, hours=48, purpose="就医")
    site.test_result(person_id, timedelta(hours=72), "negative")
    assert site.scan(exemption, "out", None) == ("deny", ["negative_test_required"])
    site.test_result(person_id, timedelta(hours=1), "positive")
    assert site.scan(exemption, "out", None) == ("deny", ["negative_test_required"])
    site.test_result(person_id, timedelta(minutes=20), "negative")
    assert site.scan(exemption, "out", None) == ("allow", [])
    # The attempts are in the log, each with its reason.
    events = site.ok(site.office.get("/api/v1/events"))["items"]
    assert [e["reasons"] for e in events] == [
        ["negative_test_required"],
        ["negative_test_required"],
        [],
    ]
    assert {e["resident_id"] for e in events} == {person_id}
    assert all(datetime.fromisoformat(e["occurred_at"]) <= utcnow() for e in events)
