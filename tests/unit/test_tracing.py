"""Who counts as a contact: the co-presence window and the direct contact's two minutes, at
their boundaries, and the household links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.tracing import CLOSE, ContactReason, Passage, Person, contacts, windows

T = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
W = timedelta(minutes=15)
ME = Person("r:1", homes=frozenset({10}))


def at(minutes: float, person: str = "r:2", gate: int = 1, event_id: int = 0) -> Passage:
    return Passage(
        event_id or int(minutes * 60) + 10_000, person, gate, T + timedelta(minutes=minutes)
    )


MINE = [Passage(1, "r:1", 1, T)]


def only(found, key="r:2"):
    matches = [c for c in found if c.person == key]
    return matches[0] if matches else None


def test_the_window_includes_both_ends_and_nothing_beyond():
    assert only(contacts(ME, MINE, [at(15)], {}, W)).reasons == {ContactReason.SAME_PLACE}
    assert only(contacts(ME, MINE, [at(-15)], {}, W)).reasons == {ContactReason.SAME_PLACE}
    assert only(contacts(ME, MINE, [at(15 + 1 / 60)], {}, W)) is None
    assert only(contacts(ME, MINE, [at(-15 - 1 / 60)], {}, W)) is None


def test_two_minutes_apart_is_direct_and_a_second_more_is_not():
    close = only(contacts(ME, MINE, [at(2)], {}, W))
    assert close.direct and ContactReason.CLOSE_IN_TIME in close.reasons
    assert only(contacts(ME, MINE, [at(-2)], {}, W)).direct
    later = only(contacts(ME, MINE, [at(2 + 1 / 60)], {}, W))
    assert not later.direct and later.reasons == {ContactReason.SAME_PLACE}


def test_another_gate_at_the_same_moment_is_no_contact():
    assert contacts(ME, MINE, [at(0, gate=2)], {}, W) == []


def test_the_subjects_own_passages_are_not_contacts():
    assert contacts(ME, MINE, [at(1, person="r:1")], {}, W) == []


def test_household_links_are_direct_even_without_a_passage():
    people = {
        "r:3": Person("r:3", homes=frozenset({10})),
        "v:aa": Person("v:aa", visited=frozenset({10})),
        "r:4": Person("r:4", homes=frozenset({11})),
    }
    found = {c.person: c for c in contacts(ME, MINE, [], people, W)}
    assert found["r:3"].reasons == {ContactReason.SAME_HOUSEHOLD} and found["r:3"].direct
    assert found["v:aa"].reasons == {ContactReason.VISITED_THEM}
    assert "r:4" not in found  # known, but neither linked nor of the household


def test_a_visitor_is_direct_with_the_household_they_visited():
    visitor = Person("v:me", visited=frozenset({11}))
    people = {"r:4": Person("r:4", homes=frozenset({11}))}
    [host] = contacts(visitor, [Passage(1, "v:me", 1, T)], [at(10, "r:4")], people, W)
    assert host.reasons == {ContactReason.VISITED_BY_THEM, ContactReason.SAME_PLACE}
    assert host.direct and len(host.links) == 1


def test_direct_contacts_come_first_then_by_time():
    found = contacts(ME, MINE, [at(10, "r:5"), at(-10, "r:6"), at(1, "r:7")], {}, W)
    assert [c.person for c in found] == ["r:7", "r:6", "r:5"]


def test_windows_merge_overlapping_ranges_per_gate():
    passages = [
        Passage(1, "r:1", 1, T),
        Passage(2, "r:1", 1, T + timedelta(minutes=20)),
        Passage(3, "r:1", 1, T + timedelta(minutes=60)),
        Passage(4, "r:1", 2, T),
    ]
    ranges = windows(passages, W)
    assert ranges[1] == [
        (T - W, T + timedelta(minutes=35)),
        (T + timedelta(minutes=45), T + timedelta(minutes=75)),
    ]
    assert ranges[2] == [(T - W, T + W)]


offsets = st.floats(min_value=-40, max_value=40, allow_nan=False)


@given(mine=st.lists(offsets, min_size=1, max_size=5), theirs=st.lists(offsets, max_size=8))
def test_a_contact_is_exactly_someone_within_the_window_and_direct_exactly_within_two_minutes(
    mine, theirs
):
    subject = [Passage(i + 1, "r:1", 1, T + timedelta(minutes=m)) for i, m in enumerate(mine)]
    others = [Passage(100 + i, "r:2", 1, T + timedelta(minutes=m)) for i, m in enumerate(theirs)]
    gaps = [abs(q.at - p.at) for q in others for p in subject]
    found = only(contacts(ME, subject, others, {}, W))
    assert (found is not None) == any(g <= W for g in gaps)
    if found:
        assert found.direct == any(g <= CLOSE for g in gaps)
        assert len(found.links) == sum(g <= W for g in gaps)
        # every passage in range is covered by the merged windows the service reads
        spans = windows(subject, W)[1]
        for link in found.links:
            assert any(lo <= link.theirs.at <= hi for lo, hi in spans)
