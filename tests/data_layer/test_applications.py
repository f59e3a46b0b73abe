"""Applications: upserts, status history and the masked view."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from bot.applications import (
    ApplicationView,
    get_application,
    status_history,
    upsert_application,
    upsert_applications,
)
from bot.db import session_scope
from bot.models import Application, StatusChange
from bot.statuses import STATUS_VALUES, ApplicationStatus, parse_status


def history_of(engine, number):
    with session_scope(engine) as session:
        return [
            (change.status.value, change.changed_at) for change in status_history(session, number)
        ]


def test_statuses_in_pipeline_order():
    assert STATUS_VALUES == (
        "submitted",
        "under_review",
        "in_production",
        "ready_for_collection",
        "collected",
        "rejected",
    )
    assert str(ApplicationStatus.UNDER_REVIEW) == "under_review"
    assert f"{ApplicationStatus.COLLECTED}" == "collected"


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("submitted", ApplicationStatus.SUBMITTED),
        ("Under review", ApplicationStatus.UNDER_REVIEW),
        ("READY-FOR-COLLECTION", ApplicationStatus.READY_FOR_COLLECTION),
        (" in_production ", ApplicationStatus.IN_PRODUCTION),
        ("approved", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_status(typed, status):
    assert parse_status(typed) is status


def test_insert_then_view_is_masked(engine, make_record):
    record = make_record(
        "sc-2026 000001",
        status="ready_for_collection",
        holder_id_number="11010519491231002x",
        collection_point="Chaoyang centre, window 3",
    )
    with session_scope(engine) as session:
        assert upsert_application(session, record) == "inserted"
    with session_scope(engine) as session:
        view = get_application(session, "SC2026000001")
    # A plain frozen value, usable after the session closed.
    assert view == ApplicationView(
        application_number="SC2026000001",
        masked_name="Z** Xiaoming",
        masked_id_number="1101**********002X",
        status=ApplicationStatus.READY_FOR_COLLECTION,
        updated_at=date(2026, 3, 1),
        collection_point="Chaoyang centre, window 3",
        note=None,
    )
    with pytest.raises(FrozenInstanceError):
        view.status = "collected"  # type: ignore[misc]


def test_stored_id_number_uses_upper_case_x(engine, make_record):
    with session_scope(engine) as session:
        upsert_application(session, make_record(holder_id_number="11010519491231002x"))
    with session_scope(engine) as session:
        stored = session.execute(select(Application.holder_id_number)).scalar_one()
    assert stored == "11010519491231002X"


def test_unicode_name_is_stored_as_given(engine, make_record):
    with session_scope(engine) as session:
        upsert_application(session, make_record(holder_name="欧阳娜娜"))
        upsert_application(session, make_record("SC2026000002", holder_name="Zoë Ångström-Ñuñez"))
    with session_scope(engine) as session:
        names = session.execute(select(Application.holder_name).order_by(Application.id)).scalars()
        assert list(names) == ["欧阳娜娜", "Zoë Ångström-Ñuñez"]
        assert get_application(session, "SC2026000001").masked_name == "欧**"


def test_get_unknown_or_malformed_number(engine):
    with session_scope(engine) as session:
        assert get_application(session, "SC2026999999") is None
        assert get_application(session, "not a number") is None
        assert status_history(session, "SC2026999999") == []


def test_upsert_outcomes_and_history(engine, make_record):
    with session_scope(engine) as session:
        assert upsert_application(session, make_record()) == "inserted"
    with session_scope(engine) as session:
        assert upsert_application(session, make_record()) == "unchanged"
    # Same status, new date and note: an update, but no new history entry.
    with session_scope(engine) as session:
        outcome = upsert_application(
            session, make_record(updated_at=date(2026, 3, 2), note="Waiting for photo")
        )
        assert outcome == "updated"
    assert history_of(engine, "SC2026000001") == [("submitted", date(2026, 3, 1))]

    with session_scope(engine) as session:
        outcome = upsert_application(
            session, make_record(status="under_review", updated_at=date(2026, 3, 5))
        )
        assert outcome == "updated"
    with session_scope(engine) as session:
        view = get_application(session, "SC2026000001")
    assert view.status is ApplicationStatus.UNDER_REVIEW
    assert view.note is None  # the newer record has no note: the note is cleared
    assert history_of(engine, "SC2026000001") == [
        ("submitted", date(2026, 3, 1)),
        ("under_review", date(2026, 3, 5)),
    ]


def test_history_records_when_it_was_learnt(engine, make_record):
    now = datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)
    with session_scope(engine) as session:
        upsert_applications(session, [make_record()], now=now)
    with session_scope(engine) as session:
        (change,) = status_history(session, "SC2026000001")
    assert change.recorded_at == now
    assert change.recorded_at.tzinfo is not None


def test_batch_with_repeated_number_applies_in_order(engine, make_record):
    records = [
        make_record(status="submitted", updated_at=date(2026, 3, 1)),
        make_record("SC2026000002"),
        make_record(status="under_review", updated_at=date(2026, 3, 2)),
        make_record(status="under_review", updated_at=date(2026, 3, 2)),
        make_record(status="in_production", updated_at=date(2026, 3, 4)),
    ]
    with session_scope(engine) as session:
        outcomes = upsert_applications(session, records)
    assert outcomes == ["inserted", "inserted", "updated", "unchanged", "updated"]
    assert history_of(engine, "SC2026000001") == [
        ("submitted", date(2026, 3, 1)),
        ("under_review", date(2026, 3, 2)),
        ("in_production", date(2026, 3, 4)),
    ]
    with session_scope(engine) as session:
        assert get_application(session, "SC2026000001").status == "in_production"
        assert session.execute(select(func.count()).select_from(Application)).scalar_one() == 2


def test_batch_updates_existing_rows(engine, make_record):
    with session_scope(engine) as session:
        upsert_applications(session, [make_record(f"SC20260000{i:02d}") for i in range(10)])
    changed = [
        make_record(
            f"SC20260000{i:02d}",
            status="rejected" if i % 2 else "submitted",
            note="Photo does not meet the requirements." if i % 2 else None,
        )
        for i in range(10)
    ]
    with session_scope(engine) as session:
        outcomes = upsert_applications(session, changed)
    assert outcomes == ["unchanged", "updated"] * 5
    with session_scope(engine) as session:
        statuses = dict(
            session.execute(select(Application.application_number, Application.status)).all()
        )
        assert statuses["SC2026000001"] == "rejected"
        assert statuses["SC2026000002"] == "submitted"
        assert session.execute(select(func.count()).select_from(StatusChange)).scalar_one() == 15


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"application_number": "SC123"}, "invalid application number"),
        ({"holder_id_number": "110105194912310021"}, "invalid resident ID"),
        ({"holder_name": "  "}, "empty holder name"),
        ({"status": "approved"}, "approved"),
        ({"updated_at": "2026-03-01"}, "must be a date"),
    ],
)
def test_invalid_records_cannot_be_built(make_record, overrides, message):
    with pytest.raises(ValueError, match=message):
        make_record(**overrides)


def test_blank_optional_fields_become_none(make_record):
    record = make_record(collection_point="  ", note="")
    assert record.collection_point is None
    assert record.note is None
    assert record.id_tail == record.holder_id_number[-6:]


def test_session_scope_rolls_back_on_error(engine, make_record):
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        upsert_application(session, make_record())
        raise RuntimeError("the import broke half-way")
    with session_scope(engine) as session:
        assert get_application(session, "SC2026000001") is None


def test_database_refuses_unknown_status(engine):
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.execute(
            text(
                "INSERT INTO applications (application_number, holder_name, holder_id_number, "
                "status, updated_at) VALUES ('SC2026000001', 'A', '11010519491231002X', "
                "'approved', '2026-01-02')"
            )
        )
