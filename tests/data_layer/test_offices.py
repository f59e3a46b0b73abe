"""Offices: where to go, by district."""

from __future__ import annotations

import pytest

from bot.db import session_scope
from bot.offices import OfficeView, district_key, find_offices, list_districts, upsert_office

CHAOYANG = OfficeView(
    name="Chaoyang Centre",
    district="Chaoyang",
    address="9 Park Road",
    hours="Mon-Fri 9:00-17:00",
    phone="010-6590 3188",
)
WANGJING = OfficeView(
    "Wangjing Point", "Chaoyang", "3 Ring Road", "Mon-Fri 8:30-16:30", "010-6473 5520"
)
HAIDIAN = OfficeView(
    "Haidian Centre", "Haidian", "27 South Road", "Mon-Fri 9:00-17:00", "010-6251 7706"
)


@pytest.fixture
def offices(engine):
    with session_scope(engine) as session:
        for office in (WANGJING, HAIDIAN, CHAOYANG):
            assert upsert_office(session, office) == "inserted"
    return engine


def test_list_districts_sorted_without_repeats(offices):
    with session_scope(offices) as session:
        assert list_districts(session) == ["Chaoyang", "Haidian"]


def test_all_offices_sorted_by_district_then_name(offices):
    with session_scope(offices) as session:
        assert find_offices(session) == [CHAOYANG, WANGJING, HAIDIAN]


@pytest.mark.parametrize(
    "typed", ["Chaoyang", "chaoyang", " CHAOYANG ", "Chaoyang District", "chaoyang district"]
)
def test_district_match_is_forgiving(offices, typed):
    with session_scope(offices) as session:
        assert find_offices(session, typed) == [CHAOYANG, WANGJING]


@pytest.mark.parametrize("typed", ["Fengtai", "Chao", "district", ""])
def test_unknown_district_finds_nothing(offices, typed):
    with session_scope(offices) as session:
        assert find_offices(session, typed) == []


def test_district_key():
    assert district_key("Chaoyang  District") == "chaoyang"
    assert district_key("Ｃｈａｏｙａｎｇ") == "chaoyang"
    assert district_key(None) == ""


def test_upsert_by_name(offices):
    moved = OfficeView(CHAOYANG.name, "Chaoyang", "1 New Street", CHAOYANG.hours, CHAOYANG.phone)
    with session_scope(offices) as session:
        assert upsert_office(session, CHAOYANG) == "unchanged"
        assert upsert_office(session, moved) == "updated"
    with session_scope(offices) as session:
        assert find_offices(session, "Chaoyang")[0].address == "1 New Street"
        assert len(find_offices(session)) == 3


def test_office_fields_must_not_be_empty(engine):
    with pytest.raises(ValueError, match="address"), session_scope(engine) as session:
        upsert_office(session, OfficeView("X", "Y", " ", "Mon", "010-1234 5678"))
