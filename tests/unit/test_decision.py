"""Unit tests for kiosk.domain.decision: the gate decision from the facts of one scan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.decision import (
    DEFAULT_FEVER_THRESHOLD,
    REASONS,
    Decision,
    Direction,
    Outcome,
    PassFacts,
    PassKind,
    ScanFacts,
    SealState,
    decide,
    temperature_is_plausible,
)
from kiosk.domain.decision import (
    TestOutcome as NatOutcome,  # aliased so pytest does not try to collect it
)
from kiosk.domain.reasons import reason_message

NOW = datetime(2020, 6, 20, 8, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

IN = Direction.IN
OUT = Direction.OUT
ALLOW, DENY, REFER = Decision.ALLOW, Decision.DENY, Decision.REFER


def resident(**kw) -> PassFacts:
    return PassFacts(kind=kw.pop("kind", PassKind.RESIDENT), **kw)


def exemption(**kw) -> PassFacts:
    """An exemption pass whose window is open at NOW (NOW - 1 h to NOW + 3 h), unused."""
    kw.setdefault("valid_from", NOW - HOUR)
    kw.setdefault("valid_until", NOW + 3 * HOUR)
    return PassFacts(kind=PassKind.EXEMPTION, **kw)


def facts(**kw) -> ScanFacts:
    """An entry at NOW by a resident with a normal temperature through an open gate."""
    kw.setdefault("now", NOW)
    kw.setdefault("direction", IN)
    kw.setdefault("pass_", resident())
    kw.setdefault("temperature", 36.5)
    return ScanFacts(**kw)


def exit_(**kw) -> ScanFacts:
    kw.setdefault("direction", OUT)
    kw.setdefault("temperature", None)
    return facts(**kw)


# --- every reason code --------------------------------------------------------------------

# Each case produces exactly one reason; the expected decision is written out, not read from REASONS.
REASON_CASES: dict[str, tuple[ScanFacts, Decision]] = {
    "invalid_code": (facts(code_valid=False), DENY),
    "unknown_pass": (facts(pass_=None), DENY),
    "revoked": (facts(pass_=resident(revoked_at=NOW - HOUR)), DENY),
    "expired": (facts(pass_=resident(valid_until=NOW - HOUR)), DENY),
    "not_yet_valid": (facts(pass_=resident(valid_from=NOW + HOUR)), DENY),
    "other_compound": (facts(same_compound=False), DENY),
    "gate_closed": (facts(gate_open=False), DENY),
    "compound_sealed": (facts(compound_seal=SealState.SEALED), DENY),
    "building_sealed": (facts(building_seal=SealState.SEALED), DENY),
    "compound_in_only": (exit_(compound_seal=SealState.IN_ONLY), DENY),
    "building_in_only": (exit_(building_seal=SealState.IN_ONLY), DENY),
    "home_observation": (exit_(observation_until=NOW + 7 * DAY), DENY),
    "already_inside": (facts(last_direction=IN), REFER),
    "already_outside": (exit_(last_direction=OUT), REFER),
    "temperature_required": (facts(temperature=None), REFER),
    "fever": (facts(temperature=38.5), DENY),
    "exemption_outside_window": (exit_(pass_=exemption(valid_from=NOW + HOUR)), DENY),
    "exemption_used": (exit_(pass_=exemption(allowed_exits=1)), DENY),
    "negative_test_required": (exit_(pass_=exemption(negative_test_within_hours=48)), DENY),
    "quota_exceeded": (exit_(quota_exits=2, household_exits_in_period=2), DENY),
    "screening": (facts(on_screening_list=True), REFER),
}


@pytest.mark.parametrize("code", sorted(REASON_CASES))
def test_reason_is_produced_with_its_decision(code):
    scan, expected = REASON_CASES[code]
    outcome = decide(scan)
    assert outcome == Outcome(expected, (code,))
    assert REASONS[code][0] == expected
    assert reason_message(code)


def test_reason_table_covers_every_reason():
    assert set(REASON_CASES) == set(REASONS)


def test_reason_cases_allow_without_their_trigger():
    """Control: the defaults themselves allow, so each case above is caused by its one change."""
    assert decide(facts()) == Outcome(ALLOW, ())
    assert decide(exit_()) == Outcome(ALLOW, ())
    assert decide(exit_(pass_=exemption())) == Outcome(ALLOW, ())


# --- short circuits -----------------------------------------------------------------------


def test_invalid_code_short_circuits_everything():
    scan = facts(
        code_valid=False,
        pass_=None,
        gate_open=False,
        compound_seal=SealState.SEALED,
        temperature=40.0,
        last_direction=IN,
    )
    assert decide(scan) == Outcome(DENY, ("invalid_code",))


def test_unknown_pass_short_circuits_everything():
    scan = exit_(pass_=None, gate_open=False, compound_seal=SealState.SEALED, last_direction=OUT)
    assert decide(scan) == Outcome(DENY, ("unknown_pass",))


# --- validity boundaries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valid_from", "reasons"),
    [
        (NOW + SECOND, ("not_yet_valid",)),  # before
        (NOW, ()),  # at: valid from that moment
        (NOW - SECOND, ()),  # after
        (None, ()),
    ],
)
def test_valid_from_boundary(valid_from, reasons):
    assert decide(facts(pass_=resident(valid_from=valid_from))).reasons == reasons


@pytest.mark.parametrize(
    ("valid_until", "reasons"),
    [
        (NOW + SECOND, ()),  # still valid one second before the end
        (NOW, ("expired",)),  # at: now >= valid_until is expired
        (NOW - SECOND, ("expired",)),
        (None, ()),
    ],
)
def test_valid_until_boundary(valid_until, reasons):
    assert decide(facts(pass_=resident(valid_until=valid_until))).reasons == reasons


@pytest.mark.parametrize(
    ("revoked_at", "reasons"),
    [
        (NOW + SECOND, ()),  # revocation scheduled for later
        (NOW, ("revoked",)),
        (NOW - SECOND, ("revoked",)),
        (None, ()),
    ],
)
def test_revoked_at_boundary(revoked_at, reasons):
    assert decide(facts(pass_=resident(revoked_at=revoked_at))).reasons == reasons


@pytest.mark.parametrize("kind", [PassKind.RESIDENT, PassKind.PAPER, PassKind.VISITOR])
def test_validity_applies_to_every_ordinary_kind(kind):
    p = resident(kind=kind, valid_from=NOW + DAY, valid_until=NOW - DAY, revoked_at=NOW - DAY)
    outcome = decide(facts(pass_=p))
    assert outcome.decision is DENY
    assert set(outcome.reasons) == {"revoked", "not_yet_valid", "expired"}


@pytest.mark.parametrize(
    ("observation_until", "reasons"),
    [
        (NOW + SECOND, ("home_observation",)),  # under observation while now < observation_until
        (NOW, ()),  # observation ends at that moment
        (NOW - SECOND, ()),
        (None, ()),
    ],
)
def test_observation_until_boundary(observation_until, reasons):
    assert decide(exit_(observation_until=observation_until)).reasons == reasons


def test_home_observation_does_not_bar_entry():
    assert decide(facts(observation_until=NOW + 7 * DAY)) == Outcome(ALLOW, ())


# --- seal states per direction ------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "state", "direction", "expected"),
    [
        ("compound", SealState.OPEN, IN, ()),
        ("compound", SealState.OPEN, OUT, ()),
        ("compound", SealState.SEALED, IN, ("compound_sealed",)),
        ("compound", SealState.SEALED, OUT, ("compound_sealed",)),
        ("compound", SealState.IN_ONLY, IN, ()),
        ("compound", SealState.IN_ONLY, OUT, ("compound_in_only",)),
        ("building", SealState.OPEN, IN, ()),
        ("building", SealState.OPEN, OUT, ()),
        ("building", SealState.SEALED, IN, ("building_sealed",)),
        ("building", SealState.SEALED, OUT, ("building_sealed",)),
        ("building", SealState.IN_ONLY, IN, ()),
        ("building", SealState.IN_ONLY, OUT, ("building_in_only",)),
    ],
)
def test_seal_states_per_direction(scope, state, direction, expected):
    scan = facts(direction=direction, **{f"{scope}_seal": state})
    outcome = decide(scan)
    assert outcome.reasons == expected
    assert outcome.decision is (DENY if expected else ALLOW)


def test_compound_and_building_seals_both_reported():
    outcome = decide(exit_(compound_seal=SealState.SEALED, building_seal=SealState.IN_ONLY))
    assert outcome.decision is DENY
    assert set(outcome.reasons) == {"compound_sealed", "building_in_only"}


# --- exemption passes ---------------------------------------------------------------------

SEALED_EVERYTHING = dict(
    compound_seal=SealState.SEALED,
    building_seal=SealState.SEALED,
    observation_until=NOW + 7 * DAY,
)


def test_exemption_in_window_overrides_seals_and_observation_for_exit():
    assert decide(exit_(pass_=exemption(), **SEALED_EVERYTHING)) == Outcome(ALLOW, ())
    assert decide(
        exit_(pass_=exemption(), compound_seal=SealState.IN_ONLY, building_seal=SealState.IN_ONLY)
    ) == Outcome(ALLOW, ())


def test_resident_pass_does_not_override_seals():
    outcome = decide(exit_(**SEALED_EVERYTHING))
    assert outcome.decision is DENY
    assert set(outcome.reasons) == {"compound_sealed", "building_sealed", "home_observation"}


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "in_window"),
    [
        (NOW + SECOND, NOW + HOUR, False),  # before the window
        (NOW, NOW + HOUR, True),  # window opens now
        (NOW - HOUR, NOW + SECOND, True),  # last second of the window
        (NOW - HOUR, NOW, False),  # window closed at now
        (NOW - HOUR, NOW - SECOND, False),
        (None, None, True),
        (None, NOW + SECOND, True),
        (NOW - SECOND, None, True),
    ],
)
def test_exemption_exit_window_boundaries(valid_from, valid_until, in_window):
    p = exemption(valid_from=valid_from, valid_until=valid_until)
    outcome = decide(exit_(pass_=p, **SEALED_EVERYTHING))
    if in_window:
        assert outcome == Outcome(ALLOW, ())
    else:
        # Outside its window the exemption does not override anything.
        assert outcome.decision is DENY
        assert set(outcome.reasons) == {
            "exemption_outside_window",
            "compound_sealed",
            "building_sealed",
            "home_observation",
        }


def test_exemption_outside_window_exit_denied_even_when_open():
    assert decide(exit_(pass_=exemption(valid_until=NOW - HOUR))) == Outcome(
        DENY, ("exemption_outside_window",)
    )


def test_exemption_one_exit_then_one_return():
    # First exit: allowed.
    assert decide(exit_(pass_=exemption(allowed_exits=0), **SEALED_EVERYTHING)).decision is ALLOW
    # Return after one exit, within the window, into a sealed compound: allowed.
    back = exemption(allowed_exits=1, allowed_returns=0)
    assert decide(facts(pass_=back, **SEALED_EVERYTHING)) == Outcome(ALLOW, ())


@pytest.mark.parametrize("late", [SECOND, HOUR, 2 * DAY])
def test_exemption_late_return_allowed(late):
    back = exemption(valid_from=NOW - 6 * HOUR, valid_until=NOW - late, allowed_exits=1)
    assert decide(facts(pass_=back, **SEALED_EVERYTHING)) == Outcome(ALLOW, ())


def test_exemption_second_exit_used():
    p = exemption(allowed_exits=1, allowed_returns=1)
    outcome = decide(exit_(pass_=p, **SEALED_EVERYTHING))
    assert outcome.decision is DENY
    assert "exemption_used" in outcome.reasons
    assert "compound_sealed" in outcome.reasons  # a spent exemption no longer overrides the seal


def test_exemption_second_return_used():
    p = exemption(allowed_exits=1, allowed_returns=1)
    assert decide(facts(pass_=p)) == Outcome(DENY, ("exemption_used",))
    assert decide(facts(pass_=replace(p, valid_until=NOW - HOUR))) == Outcome(
        DENY, ("exemption_used",)
    )


def test_exemption_entry_outside_window_without_exit_refused():
    p = exemption(valid_from=NOW + HOUR, allowed_exits=0)
    assert decide(facts(pass_=p)) == Outcome(DENY, ("exemption_outside_window",))


def test_gate_closed_applies_to_exemptions():
    assert decide(exit_(pass_=exemption(), gate_open=False, **SEALED_EVERYTHING)) == Outcome(
        DENY, ("gate_closed",)
    )
    back = exemption(allowed_exits=1)
    assert decide(facts(pass_=back, gate_open=False)) == Outcome(DENY, ("gate_closed",))


@pytest.mark.parametrize("direction", [IN, OUT])
def test_other_compound_denied_both_ways(direction):
    outcome = decide(facts(direction=direction, same_compound=False))
    assert outcome == Outcome(DENY, ("other_compound",))


def test_exemption_does_not_open_another_compound():
    outcome = decide(exit_(pass_=exemption(), same_compound=False, **SEALED_EVERYTHING))
    assert outcome.decision is DENY
    assert "other_compound" in outcome.reasons


def test_revoked_exemption_does_not_override_seals():
    p = exemption(revoked_at=NOW - HOUR)
    outcome = decide(exit_(pass_=p, **SEALED_EVERYTHING))
    assert outcome.decision is DENY
    assert set(outcome.reasons) == {
        "revoked",
        "compound_sealed",
        "building_sealed",
        "home_observation",
    }


def test_exemption_entry_still_checks_temperature():
    back = exemption(allowed_exits=1)
    assert decide(facts(pass_=back, temperature=38.0)) == Outcome(DENY, ("fever",))
    assert decide(facts(pass_=back, temperature=None)) == Outcome(REFER, ("temperature_required",))


# --- negative test requirement ------------------------------------------------------------


def exit_with_test(test_at, outcome=NatOutcome.NEGATIVE, hours=48, **kw) -> ScanFacts:
    return exit_(
        pass_=exemption(negative_test_within_hours=hours),
        latest_test_at=test_at,
        latest_test_outcome=outcome,
        **kw,
    )


@pytest.mark.parametrize(
    ("test_at", "outcome", "fresh"),
    [
        (NOW - 48 * HOUR, NatOutcome.NEGATIVE, True),  # exactly N hours old still counts
        (NOW - 48 * HOUR - SECOND, NatOutcome.NEGATIVE, False),  # N hours + 1 s does not
        (NOW - 48 * HOUR + SECOND, NatOutcome.NEGATIVE, True),
        (NOW - HOUR, NatOutcome.NEGATIVE, True),
        (NOW, NatOutcome.NEGATIVE, True),  # taken this very moment
        (NOW + SECOND, NatOutcome.NEGATIVE, False),  # a test in the future does not count
        (NOW + DAY, NatOutcome.NEGATIVE, False),
        (NOW - HOUR, NatOutcome.POSITIVE, False),  # positive latest test does not count
        (NOW - HOUR, None, False),  # a test without an outcome does not count
        (None, NatOutcome.NEGATIVE, False),
        (None, None, False),
    ],
)
def test_negative_test_within_hours(test_at, outcome, fresh):
    result = decide(exit_with_test(test_at, outcome))
    if fresh:
        assert result == Outcome(ALLOW, ())
    else:
        assert result == Outcome(DENY, ("negative_test_required",))


def test_negative_test_requirement_uses_the_pass_hours():
    assert decide(exit_with_test(NOW - 30 * HOUR, hours=24)).reasons == ("negative_test_required",)
    assert decide(exit_with_test(NOW - 30 * HOUR, hours=72)).reasons == ()


def test_missing_negative_test_removes_seal_override():
    outcome = decide(exit_with_test(None, **SEALED_EVERYTHING))
    assert outcome.decision is DENY
    assert {"negative_test_required", "compound_sealed"} <= set(outcome.reasons)


def test_negative_test_not_required_without_setting():
    assert decide(
        exit_(pass_=exemption(), latest_test_at=NOW - HOUR, latest_test_outcome=NatOutcome.POSITIVE)
    ) == Outcome(ALLOW, ())


def test_negative_test_not_required_for_return():
    back = exemption(allowed_exits=1, negative_test_within_hours=48)
    assert decide(facts(pass_=back)) == Outcome(ALLOW, ())


# --- anti-passback ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "last", "expected"),
    [
        (IN, IN, Outcome(REFER, ("already_inside",))),
        (OUT, OUT, Outcome(REFER, ("already_outside",))),
        (IN, OUT, Outcome(ALLOW, ())),
        (OUT, IN, Outcome(ALLOW, ())),
        (IN, None, Outcome(ALLOW, ())),
        (OUT, None, Outcome(ALLOW, ())),
    ],
)
def test_anti_passback(direction, last, expected):
    assert decide(facts(direction=direction, last_direction=last)) == expected


# --- temperature --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "required", "expected"),
    [
        (None, True, Outcome(REFER, ("temperature_required",))),
        (None, False, Outcome(ALLOW, ())),
        (36.5, True, Outcome(ALLOW, ())),
        (37.29, True, Outcome(ALLOW, ())),
        (37.3, True, Outcome(DENY, ("fever",))),
        (37.31, True, Outcome(DENY, ("fever",))),
        (39.0, False, Outcome(DENY, ("fever",))),  # a reading given is checked even if optional
    ],
)
def test_entry_temperature(temperature, required, expected):
    assert decide(facts(temperature=temperature, temperature_required=required)) == expected


def test_default_fever_threshold_is_37_3():
    assert DEFAULT_FEVER_THRESHOLD == 37.3


@pytest.mark.parametrize("temperature", [None, 37.3, 40.0])
def test_exit_temperature_not_checked(temperature):
    assert decide(exit_(temperature=temperature, temperature_required=True)) == Outcome(ALLOW, ())


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (36.99, Outcome(ALLOW, ())),
        (37.0, Outcome(DENY, ("fever",))),
        (37.2, Outcome(DENY, ("fever",))),
    ],
)
def test_custom_fever_threshold(temperature, expected):
    assert decide(facts(temperature=temperature, fever_threshold=37.0)) == expected


def test_custom_fever_threshold_higher():
    assert decide(facts(temperature=37.4, fever_threshold=37.5)) == Outcome(ALLOW, ())


@pytest.mark.parametrize(
    ("value", "plausible"),
    [
        (33.99, False),
        (34.0, True),
        (36.6, True),
        (43.0, True),
        (43.01, False),
        (-1.0, False),
        (float("nan"), False),
    ],
)
def test_temperature_is_plausible(value, plausible):
    assert temperature_is_plausible(value) is plausible


# --- several reasons ----------------------------------------------------------------------


def test_several_reasons_all_reported():
    outcome = decide(
        exit_(
            gate_open=False,
            compound_seal=SealState.SEALED,
            building_seal=SealState.IN_ONLY,
            observation_until=NOW + DAY,
            last_direction=OUT,
            pass_=resident(valid_until=NOW - DAY),
        )
    )
    assert outcome.decision is DENY
    assert sorted(outcome.reasons) == sorted(
        [
            "expired",
            "gate_closed",
            "compound_sealed",
            "building_in_only",
            "home_observation",
            "already_outside",
        ]
    )


def test_deny_beats_refer():
    outcome = decide(facts(gate_open=False, temperature=None, last_direction=IN))
    assert outcome.decision is DENY
    assert set(outcome.reasons) == {"gate_closed", "temperature_required", "already_inside"}


def test_refer_reasons_together_refer():
    outcome = decide(facts(temperature=None, last_direction=IN))
    assert outcome.decision is REFER
    assert set(outcome.reasons) == {"temperature_required", "already_inside"}


def test_fever_and_seal_on_entry():
    outcome = decide(facts(temperature=38.0, building_seal=SealState.SEALED))
    assert outcome.decision is DENY
    assert set(outcome.reasons) == {"fever", "building_sealed"}


# --- property -----------------------------------------------------------------------------

offsets = st.one_of(
    st.sampled_from([-DAY, -HOUR, -SECOND, timedelta(0), SECOND, HOUR, DAY]),
    st.integers(min_value=-7 * 86400, max_value=7 * 86400).map(lambda s: timedelta(seconds=s)),
)
optional_times = st.one_of(st.none(), offsets.map(lambda d: NOW + d))

pass_facts = st.builds(
    PassFacts,
    kind=st.sampled_from(PassKind),
    valid_from=optional_times,
    valid_until=optional_times,
    revoked_at=optional_times,
    negative_test_within_hours=st.one_of(st.none(), st.integers(0, 168)),
    allowed_exits=st.integers(0, 3),
    allowed_returns=st.integers(0, 3),
)

scan_facts = st.builds(
    ScanFacts,
    now=st.just(NOW),
    direction=st.sampled_from(Direction),
    code_valid=st.booleans(),
    pass_=st.one_of(st.none(), pass_facts),
    gate_open=st.booleans(),
    same_compound=st.booleans(),
    compound_seal=st.sampled_from(SealState),
    building_seal=st.sampled_from(SealState),
    observation_until=optional_times,
    temperature=st.one_of(st.none(), st.floats(min_value=30.0, max_value=45.0)),
    temperature_required=st.booleans(),
    fever_threshold=st.floats(min_value=36.5, max_value=38.5),
    last_direction=st.one_of(st.none(), st.sampled_from(Direction)),
    latest_test_at=optional_times,
    latest_test_outcome=st.one_of(st.none(), st.sampled_from(NatOutcome)),
    quota_exits=st.one_of(st.none(), st.integers(0, 4)),
    household_exits_in_period=st.integers(0, 5),
    on_screening_list=st.booleans(),
)


@settings(max_examples=500, deadline=None)
@given(scan_facts)
def test_property_decision_consistent_with_reasons(scan):
    outcome = decide(scan)
    reasons = outcome.reasons
    assert isinstance(reasons, tuple)
    assert len(reasons) == len(set(reasons))
    assert set(reasons) <= set(REASONS)
    forced = {REASONS[r][0] for r in reasons}
    assert (outcome.decision is DENY) == (DENY in forced)
    assert (outcome.decision is REFER) == (REFER in forced and DENY not in forced)
    assert (outcome.decision is ALLOW) == (not reasons)

    if not scan.code_valid:
        assert outcome == Outcome(DENY, ("invalid_code",))
    elif scan.pass_ is None:
        assert outcome == Outcome(DENY, ("unknown_pass",))
    else:
        assert ("gate_closed" in reasons) == (not scan.gate_open)
        assert ("other_compound" in reasons) == (not scan.same_compound)
        assert ("quota_exceeded" in reasons) == (
            scan.direction is OUT
            and scan.pass_.kind in (PassKind.RESIDENT, PassKind.PAPER)
            and scan.quota_exits is not None
            and scan.household_exits_in_period >= scan.quota_exits
        )
        assert ("screening" in reasons) == scan.on_screening_list
        if scan.direction is IN:
            assert not {
                "home_observation",
                "compound_in_only",
                "building_in_only",
                "already_outside",
                "negative_test_required",
            } & set(reasons)
        else:
            assert not {"fever", "temperature_required", "already_inside"} & set(reasons)


# --- screening lists ------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [IN, OUT])
def test_screening_refers_both_ways(direction):
    scan = facts(direction=direction, temperature=36.5 if direction is IN else None)
    assert decide(replace(scan, on_screening_list=True)) == Outcome(REFER, ("screening",))
    assert decide(scan) == Outcome(ALLOW, ())


def test_screening_refers_an_exemption_too():
    assert decide(exit_(pass_=exemption(), on_screening_list=True)) == Outcome(
        REFER, ("screening",)
    )


def test_screening_does_not_soften_a_denial():
    outcome = decide(exit_(observation_until=NOW + DAY, on_screening_list=True))
    assert outcome == Outcome(DENY, ("home_observation", "screening"))


# --- the household outing quota ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("exits_so_far", "expected"),
    [(0, ALLOW), (2, ALLOW), (3, DENY), (4, DENY)],  # quota 3: the 3rd exit passes, the 4th not
)
def test_quota_boundary(exits_so_far, expected):
    outcome = decide(exit_(quota_exits=3, household_exits_in_period=exits_so_far))
    assert outcome.decision is expected
    assert ("quota_exceeded" in outcome.reasons) == (expected is DENY)


def test_no_quota_never_counts():
    assert decide(exit_(quota_exits=None, household_exits_in_period=99)) == Outcome(ALLOW, ())


@pytest.mark.parametrize("kind", [PassKind.RESIDENT, PassKind.PAPER])
def test_quota_caps_residents_own_passes(kind):
    scan = exit_(pass_=resident(kind=kind), quota_exits=1, household_exits_in_period=1)
    assert decide(scan) == Outcome(DENY, ("quota_exceeded",))


def test_quota_never_caps_an_exemption_or_a_visitor():
    capped = {"quota_exits": 1, "household_exits_in_period": 5}
    assert decide(exit_(pass_=exemption(), **capped)) == Outcome(ALLOW, ())
    visitor = exit_(pass_=resident(kind=PassKind.VISITOR), **capped)
    assert "quota_exceeded" not in decide(visitor).reasons


def test_quota_never_bars_the_way_home():
    assert decide(facts(quota_exits=1, household_exits_in_period=7)) == Outcome(ALLOW, ())


def test_quota_is_reported_with_every_other_reason():
    outcome = decide(
        exit_(
            quota_exits=1,
            household_exits_in_period=1,
            compound_seal=SealState.IN_ONLY,
            last_direction=OUT,
        )
    )
    assert outcome == Outcome(DENY, ("compound_in_only", "already_outside", "quota_exceeded"))
