"""The household outing quota's pure parts: the period's start at local midnight (one day or
two), the gate's rule at N-1, N and N+1 exits, and the office's declared form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.contract.errors import ContractError
from kiosk.contract.forms import QuotaForm
from kiosk.domain.decision import Decision, Direction, PassFacts, PassKind, ScanFacts, decide
from kiosk.services.quota import period_start

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2020-06-20 00:00 in Shanghai is 2020-06-19 16:00 UTC.
MIDNIGHT = datetime(2020, 6, 19, 16, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("now", "days", "start"),
    [
        (MIDNIGHT, 1, MIDNIGHT),  # at midnight: the new day
        (MIDNIGHT - SECOND, 1, MIDNIGHT - timedelta(days=1)),  # 23:59:59 the day before
        (MIDNIGHT + timedelta(hours=23, minutes=59), 1, MIDNIGHT),
        (MIDNIGHT, 2, MIDNIGHT - timedelta(days=1)),  # today and yesterday
        (MIDNIGHT - SECOND, 2, MIDNIGHT - timedelta(days=2)),
        (MIDNIGHT + timedelta(hours=12), 2, MIDNIGHT - timedelta(days=1)),
    ],
)
def test_period_start_is_local_midnight(now, days, start):
    assert period_start(now, days, SHANGHAI) == start


def test_period_start_with_summer_time_is_the_wall_clocks_midnight():
    berlin = ZoneInfo("Europe/Berlin")  # summer time began 2020-03-29 02:00
    now = datetime(2020, 3, 29, 12, 0, tzinfo=berlin)
    start = period_start(now, 2, berlin)
    assert start.astimezone(berlin) == datetime(2020, 3, 28, 0, 0, tzinfo=berlin)


NOW = MIDNIGHT + timedelta(hours=9)


def exit_scan(
    exits_so_far: int, quota: int | None, kind=PassKind.RESIDENT, direction=Direction.OUT
):
    return ScanFacts(
        now=NOW,
        direction=direction,
        pass_=PassFacts(kind=kind),
        temperature=36.5,
        quota_exits=quota,
        household_exits_in_period=exits_so_far,
    )


@pytest.mark.parametrize("quota", [1, 2, 5])
def test_n_exits_pass_and_the_next_is_denied(quota):
    assert decide(exit_scan(quota - 1, quota)).decision is Decision.ALLOW  # the N-th exit
    denied = decide(exit_scan(quota, quota))  # the N+1-th
    assert (denied.decision, denied.reasons) == (Decision.DENY, ("quota_exceeded",))
    assert decide(exit_scan(quota + 3, quota)).decision is Decision.DENY


def test_entries_and_exemptions_are_never_capped():
    assert decide(exit_scan(9, 1, direction=Direction.IN)).decision is Decision.ALLOW
    exemption = PassFacts(
        kind=PassKind.EXEMPTION, valid_from=NOW - timedelta(hours=1), valid_until=NOW + SECOND
    )
    scan = ScanFacts(
        now=NOW,
        direction=Direction.OUT,
        pass_=exemption,
        quota_exits=1,
        household_exits_in_period=9,
    )
    assert decide(scan).decision is Decision.ALLOW


# --- the office's form ------------------------------------------------------------------------


def form(**typed):
    return QuotaForm.read({"compound_id": "7", **typed})


def test_the_form_reads_numbers_and_blanks():
    assert form(quota_exits="2", quota_days="2", quota_hours="4").model_dump() == {
        "compound_id": 7,
        "quota_exits": 2,
        "quota_days": 2,
        "quota_hours": 4,
    }
    lifted = form(quota_exits=" ", quota_hours="")
    assert (lifted.quota_exits, lifted.quota_days, lifted.quota_hours) == (None, 1, None)


@pytest.mark.parametrize(
    "typed",
    [
        {"quota_exits": "0"},
        {"quota_exits": "21"},
        {"quota_exits": "1.5"},
        {"quota_exits": "²"},
        {"quota_days": "3"},
        {"quota_days": "0"},
        {"quota_hours": "73"},
        {"quota_hours": "-1"},
        {"compound_id": "99999999999999999999"},
    ],
)
def test_the_form_refuses_out_of_range(typed):
    with pytest.raises(ContractError) as caught:
        form(**typed)
    assert [e.field for e in caught.value.errors] == list(typed)


def test_every_problem_at_once():
    with pytest.raises(ContractError) as caught:
        form(quota_exits="x", quota_days="9", quota_hours="0")
    assert {e.field for e in caught.value.errors} == {"quota_exits", "quota_days", "quota_hours"}
