"""Unit tests for kiosk.domain.rules: the rule in one sentence, and its agreement with the gate."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import create_app
from kiosk.domain import rules
from kiosk.domain.decision import (
    Decision,
    Direction,
    PassFacts,
    PassKind,
    ScanFacts,
    SealState,
    decide,
)
from kiosk.domain.rules import Place, RuleFacts, rule, sentence
from kiosk.domain.schedules import SealNow
from tests.conftest import TEST_CONFIG

NOW = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN, IN_ONLY, SEALED = SealState.OPEN, SealState.IN_ONLY, SealState.SEALED

# Since 18 June 00:00 in Shanghai, until 25 June 08:00 there.
SINCE = datetime(2026, 6, 17, 16, 0, tzinfo=UTC)
UNTIL = datetime(2026, 6, 25, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "x.sqlite3"
    return create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{path}"})


def words(app, facts: RuleFacts, lang: str) -> str:
    with app.test_request_context(headers={"Accept-Language": lang}):
        return sentence(facts, SHANGHAI)


def facts(compound=OPEN, building=OPEN, **kw) -> RuleFacts:
    def place(name, seal):
        return Place(name, seal if isinstance(seal, SealNow) else SealNow(seal))

    return RuleFacts(NOW, place("丰台小区", compound), place("3号楼", building), **kw)


# --- the sentences ----------------------------------------------------------------------------


def test_free(app):
    assert words(app, facts(), "en") == "You may come and go freely"


def test_in_only_since_a_day(app):
    f = facts(building=SealNow(IN_ONLY, since=SINCE))
    assert words(app, f, "en") == "3号楼 is in-only (since June 18): you may come in, not go out"


def test_sealed_with_since_and_until_shows_the_time_when_not_midnight(app):
    f = facts(compound=SealNow(SEALED, since=SINCE, next_at=UNTIL, next_state=OPEN))
    assert words(app, f, "en") == (
        "丰台小区 is sealed (June 18 to June 25 08:00): nobody may come in or go out"
    )


def test_the_compound_before_the_building_and_sealed_before_in_only(app):
    assert rule(facts(compound=IN_ONLY, building=IN_ONLY)).values["place"] == "丰台小区"
    assert rule(facts(compound=IN_ONLY, building=SEALED)).values["place"] == "3号楼"
    assert rule(facts(compound=IN_ONLY, building=SEALED)).message == rules.SEALED


def test_home_observation(app):
    f = facts(observation_until=datetime(2026, 7, 1, 16, 0, tzinfo=UTC))
    assert words(app, f, "en") == (
        "Your household is under home observation until July 2: you may come in, not go out"
    )
    assert words(app, facts(observation_until=NOW), "en") == "You may come and go freely"


def test_in_only_and_observed_says_both(app):
    f = facts(building=IN_ONLY, observation_until=NOW + DAY)
    text = words(app, f, "en")
    assert text.startswith("3号楼 is in-only and your household is under home observation until")


def test_a_restriction_to_come_is_announced(app):
    f = facts(building=SealNow(OPEN, next_at=UNTIL, next_state=SEALED))
    assert words(app, f, "en") == (
        "You may come and go freely; from June 25 08:00 3号楼 will be sealed"
    )


def test_an_exemption_in_its_window(app):
    f = facts(compound=SEALED, exemption=(NOW - HOUR, NOW + 3 * HOUR))
    assert words(app, f, "en") == (
        "Your exemption lets you go out once and come back until June 20 13:00"
    )
    # Outside its window it changes nothing.
    assert rule(facts(compound=SEALED, exemption=(NOW + HOUR, NOW + 3 * HOUR))).may_out is False


def test_chinese_dates_are_chinese(app):
    f = facts(building=SealNow(IN_ONLY, since=SINCE))
    text = words(app, f, "zh-CN")
    assert "3号楼" in text and "6月18日" in text


def test_without_an_app_the_message_is_the_english_msgid_with_values():
    r = rule(facts(building=IN_ONLY))
    assert (r.may_in, r.may_out, r.message) == (True, False, rules.IN_ONLY)
    assert r.values == {"place": "3号楼"}


# --- agreement with the gate --------------------------------------------------------------------


def gate_allows(f: RuleFacts, direction: Direction) -> bool:
    """What ``decide`` answers for this household's person at an open gate."""
    exempt = f.exemption is not None and rules._exempt(f)
    pass_ = (
        PassFacts(kind=PassKind.EXEMPTION, valid_from=f.exemption[0], valid_until=f.exemption[1])
        if exempt
        else PassFacts(kind=PassKind.RESIDENT)
    )
    scan = ScanFacts(
        now=f.now,
        direction=direction,
        pass_=pass_,
        compound_seal=f.compound.seal.state,
        building_seal=f.building.seal.state if f.building else OPEN,
        observation_until=f.observation_until,
        temperature=36.5,
    )
    return decide(scan).decision is Decision.ALLOW


OBSERVATIONS = [None, NOW - HOUR, NOW, NOW + HOUR]
EXEMPTIONS = [None, (NOW - HOUR, NOW + HOUR), (NOW + HOUR, NOW + 2 * HOUR), (None, NOW)]


@pytest.mark.parametrize(
    ("compound", "building", "observation_until", "exemption"),
    list(itertools.product(SealState, SealState, OBSERVATIONS, EXEMPTIONS)),
)
def test_the_sentence_agrees_with_the_gate_for_every_combination(
    app, compound, building, observation_until, exemption
):
    f = facts(compound, building, observation_until=observation_until, exemption=exemption)
    r = rule(f)
    assert r.may_in is gate_allows(f, Direction.IN)
    assert r.may_out is gate_allows(f, Direction.OUT)
    # And the English sentence says it in the words for that pair.
    text = words(app, f, "en")
    if r.may_in and r.may_out:
        assert "freely" in text or "go out once and come back" in text
    elif r.may_in:
        assert text.endswith("you may come in, not go out")
    else:
        assert text.endswith("nobody may come in or go out")


moments = st.one_of(
    st.none(), st.integers(-3 * 86400, 3 * 86400).map(lambda s: NOW + timedelta(seconds=s))
)
seals = st.builds(
    SealNow,
    state=st.sampled_from(SealState),
    since=moments.filter(lambda m: m is None or m <= NOW),
    next_at=moments.filter(lambda m: m is None or m > NOW),
    next_state=st.one_of(st.none(), st.sampled_from(SealState)),
)


@settings(max_examples=300, deadline=None)
@given(
    seals,
    st.one_of(st.none(), seals),
    moments,
    st.one_of(st.none(), st.tuples(moments, moments)),
)
def test_property_the_rule_agrees_with_the_gate(compound, building, observation_until, exemption):
    f = RuleFacts(
        NOW,
        Place("小区", compound),
        Place("楼", building) if building else None,
        observation_until,
        exemption,
    )
    r = rule(f)
    assert r.may_in is gate_allows(f, Direction.IN)
    assert r.may_out is gate_allows(f, Direction.OUT)
