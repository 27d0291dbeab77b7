"""Screening lists: which rows are closed (a pure rule), the progress share, and how a row is
matched to residents: by the ID number's keyed hash, by the phone's, by name and address, and
when several people fit (ambiguous) or nobody does (not here)."""

from __future__ import annotations

import pytest

from kiosk.contract.errors import ContractError
from kiosk.contract.screening import ScreeningPerson
from kiosk.domain.screening import (
    CLOSING_STATUSES,
    CallStatus,
    MatchStatus,
    is_closed,
    progress,
)
from kiosk.services import security
from kiosk.services.directory import PeopleIndex, Person
from kiosk.services.screening import match

ID = "11010519491231002X"
PHONE = "13800138000"
COMMUNITY = 1


@pytest.mark.parametrize("status", list(CallStatus))
@pytest.mark.parametrize("how", list(MatchStatus))
def test_closed_rows(status, how):
    expected = how is MatchStatus.NOT_HERE or status in (CallStatus.CLEARED, CallStatus.MOVED_AWAY)
    assert is_closed(how, status) is expected
    assert is_closed(how.value, status.value) is expected


def test_observation_does_not_close_a_row():
    assert CallStatus.OBSERVED not in CLOSING_STATUSES
    assert not is_closed(MatchStatus.MATCHED, CallStatus.OBSERVED)


@pytest.mark.parametrize(
    ("closed", "total", "share"), [(0, 0, 100), (0, 3, 0), (1, 3, 33), (2, 3, 66), (3, 3, 100)]
)
def test_progress(closed, total, share):
    assert progress(closed, total) == share


def _person(ident, name, room="301", community=COMMUNITY):
    return Person(ident, community, name, "1号楼", "2", room, None)


@pytest.fixture
def index(sqlite_app):
    with sqlite_app.test_request_context():
        zhang = _person(1, "张三丰")
        li = _person(2, "李四", "302")
        wang1, wang2 = _person(3, "王二"), _person(4, "王二")
        elsewhere = _person(5, "赵六", community=2)
        phone = security.keyed_hash(security.normalise_phone(PHONE))
        yield PeopleIndex(
            by_hash={security.keyed_hash(ID): [zhang], "x" * 64: [elsewhere]},
            by_address={
                ("张三丰", "1号楼", "2", "301"): [zhang],
                ("李四", "1号楼", "2", "302"): [li],
                ("王二", "1号楼", "2", "301"): [wang1, wang2],
                ("赵六", "1号楼", "2", "301"): [elsewhere],
            },
            by_phone={phone: [li, wang1]},
        )


def _row(**fields) -> ScreeningPerson:
    return ScreeningPerson.parse(fields)


def test_match_by_id_number_hash(index):
    found = match(index, _row(id_number=ID.lower()), COMMUNITY)
    assert found[0] is MatchStatus.MATCHED and [p.id for p in found[1]] == [1]
    # Full-width digits are the same number.
    full = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in ID)
    assert match(index, _row(id_number=full), COMMUNITY)[0] is MatchStatus.MATCHED


def test_match_by_phone_hash_narrowed_by_name(index):
    assert match(index, _row(phone="138 0013 8000"), COMMUNITY)[0] is MatchStatus.AMBIGUOUS
    found = match(index, _row(phone="+86 138-0013-8000", name="李四"), COMMUNITY)
    assert found[0] is MatchStatus.MATCHED and found[1][0].id == 2


def test_an_unknown_id_falls_back_to_the_phone_then_the_address(index):
    other_id = "110105198001010016"
    found = match(index, _row(id_number=other_id, phone=PHONE, name="李四"), COMMUNITY)
    assert [p.id for p in found[1]] == [2]
    found = match(
        index,
        _row(id_number=other_id, name="张三丰", building="1号楼", unit="2", room="301"),
        COMMUNITY,
    )
    assert found[0] is MatchStatus.MATCHED and found[1][0].id == 1


def test_match_by_name_and_address_and_ambiguity(index):
    assert match(index, _row(name="李四", building="1号楼", unit="2", room="302"), COMMUNITY) == (
        MatchStatus.MATCHED,
        [_person(2, "李四", "302")],
    )
    status, found = match(index, _row(name="王二", building="1号楼", unit="2", room="301"), 1)
    assert status is MatchStatus.AMBIGUOUS and {p.id for p in found} == {3, 4}


def test_not_here_and_other_communities(index):
    assert match(index, _row(phone="13900000000"), COMMUNITY) == (MatchStatus.NOT_HERE, [])
    # Someone of another community is not ours to match.
    row = _row(name="赵六", building="1号楼", unit="2", room="301")
    assert match(index, row, COMMUNITY) == (MatchStatus.NOT_HERE, [])
    assert match(index, row, 2)[0] is MatchStatus.MATCHED


def test_a_row_names_its_person(sqlite_app):
    with sqlite_app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(ContractError) as exc:
            ScreeningPerson.parse({"name": "王二", "building": "1号楼"})
        assert [e.field for e in exc.value.errors] == ["name"]
        with pytest.raises(ContractError):
            ScreeningPerson.parse({"id_number": "123"})
        assert ScreeningPerson.parse({"phone": PHONE}).phone == PHONE
