"""Demo data: one application per status, valid IDs, offices in five districts, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.applications import get_application, status_history
from bot.db import session_scope
from bot.demo_data import DEMO_APPLICATIONS, DEMO_OFFICES, load_demo_data
from bot.identifiers import is_valid_resident_id, mask_name
from bot.models import Application, Office, StatusChange
from bot.offices import find_offices, list_districts
from bot.statuses import STATUSES
from bot.verification import verify_holder


def counts(engine):
    with session_scope(engine) as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Application, StatusChange, Office)
        )


def test_every_status_has_a_demo_application():
    assert {record.status for record in DEMO_APPLICATIONS} == set(STATUSES)


def test_demo_numbers_and_ids():
    numbers = [record.application_number for record in DEMO_APPLICATIONS]
    assert numbers == [f"SC2026000{n}" for n in range(101, 101 + len(numbers))]
    assert all(is_valid_resident_id(record.holder_id_number) for record in DEMO_APPLICATIONS)
    tails = [record.id_tail for record in DEMO_APPLICATIONS]
    assert len(set(tails)) == len(tails)
    assert any(tail.endswith("X") for tail in tails)  # someone gets to type an X
    assert "张小明" in {record.holder_name for record in DEMO_APPLICATIONS}


def test_ready_has_a_collection_point_and_rejected_has_a_note():
    by_status = {record.status.value: record for record in DEMO_APPLICATIONS}
    assert by_status["ready_for_collection"].collection_point
    assert by_status["rejected"].note == (
        "Photo does not meet the requirements: please submit a new photo."
    )


def test_demo_offices_cover_five_districts_with_two_in_chaoyang():
    districts = [office.district for office in DEMO_OFFICES]
    assert sorted(set(districts)) == ["Chaoyang", "Dongcheng", "Fengtai", "Haidian", "Xicheng"]
    assert districts.count("Chaoyang") == 2
    assert all(office.address and office.hours and office.phone for office in DEMO_OFFICES)


def test_load_is_idempotent(engine):
    first = load_demo_data(engine)
    assert set(first.applications) == {"inserted"}
    assert set(first.offices) == {"inserted"}
    loaded = counts(engine)
    second = load_demo_data(engine)
    assert set(second.applications) == {"unchanged"}
    assert set(second.offices) == {"unchanged"}
    assert counts(engine) == loaded


def test_loaded_demo_data_reads_back(engine):
    load_demo_data(engine)
    with session_scope(engine) as session:
        for record in DEMO_APPLICATIONS:
            view = get_application(session, record.application_number)
            assert view.status == record.status
            assert view.masked_name == mask_name(record.holder_name)
            assert status_history(session, record.application_number)[-1].status == record.status
        assert list_districts(session) == ["Chaoyang", "Dongcheng", "Fengtai", "Haidian", "Xicheng"]
        assert len(find_offices(session, "Chaoyang District")) == 2


def test_each_demo_tail_verifies(engine):
    load_demo_data(engine)
    for record in DEMO_APPLICATIONS:
        with session_scope(engine) as session:
            result = verify_holder(session, record.application_number, record.id_tail.lower())
        assert result.outcome == "match"
        assert result.application.application_number == record.application_number
