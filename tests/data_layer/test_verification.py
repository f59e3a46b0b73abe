"""The verification lockout: three wrong tails in a row lock a number for 15 minutes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.applications import upsert_application
from bot.db import make_engine, session_scope
from bot.models import VerificationAttempt
from bot.verification import (
    LOCK_DURATION,
    MAX_FAILURES,
    Attempt,
    assess_attempts,
    lock_state,
    verify_holder,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
NUMBER = "SC2026000001"
HOLDER_ID = "11010519491231002X"
RIGHT = "31002x"
WRONG = "123456"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fail(minutes: float) -> Attempt:
    return Attempt(at(minutes), succeeded=False)


def ok(minutes: float) -> Attempt:
    return Attempt(at(minutes), succeeded=True)


# --- the pure decision, with fixed clocks -------------------------------------------------


def test_rules_are_three_failures_and_fifteen_minutes():
    assert MAX_FAILURES == 3
    assert LOCK_DURATION.total_seconds() == 15 * 60


def test_no_attempts_is_not_locked():
    state = assess_attempts([], T0)
    assert not state.locked
    assert state.consecutive_failures == 0


def test_two_failures_do_not_lock():
    state = assess_attempts([fail(0), fail(1)], at(2))
    assert not state.locked
    assert state.consecutive_failures == 2


def test_third_failure_locks_for_fifteen_minutes_from_it():
    attempts = [fail(0), fail(1), fail(2)]
    assert assess_attempts(attempts, at(2)).locked_until == at(17)
    assert assess_attempts(attempts, at(16.99)).locked_until == at(17)
    assert not assess_attempts(attempts, at(17)).locked


def test_after_the_lock_counting_starts_again():
    attempts = [fail(0), fail(1), fail(2), fail(20), fail(21)]
    state = assess_attempts(attempts, at(22))
    assert not state.locked
    assert state.consecutive_failures == 2
    assert assess_attempts([*attempts, fail(22)], at(22)).locked_until == at(37)


def test_a_success_resets_the_count():
    assert not assess_attempts([fail(0), fail(1), ok(2), fail(3), fail(4)], at(5)).locked
    assert assess_attempts([fail(0), ok(1), fail(2), fail(3), fail(4)], at(5)).locked


def test_failures_in_a_row_need_not_be_close_together():
    # "In a row" counts attempts, not minutes: a slow guesser is locked all the same.
    assert assess_attempts([fail(0), fail(600), fail(6000)], at(6001)).locked_until == at(6015)


def test_attempts_recorded_during_a_lock_do_not_extend_it():
    attempts = [fail(0), fail(1), fail(2), fail(5), fail(10), fail(16)]
    assert assess_attempts(attempts, at(16)).locked_until == at(17)
    assert not assess_attempts(attempts, at(17)).locked


def test_order_of_attempts_given_does_not_matter():
    assert assess_attempts([fail(2), fail(0), fail(1)], at(3)).locked_until == at(17)


def test_attempts_after_now_are_ignored():
    assert not assess_attempts([fail(0), fail(1), fail(5)], at(2)).locked


def test_other_time_zones_are_understood():
    beijing = timezone(timedelta(hours=8))
    attempts = [Attempt(at(m).astimezone(beijing), False) for m in (0, 1, 2)]
    assert assess_attempts(attempts, at(3)).locked_until == at(17)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        assess_attempts([], datetime(2026, 5, 4, 9, 0))


# --- against the database, on both backends -----------------------------------------------


@pytest.fixture
def holder(engine, make_record):
    with session_scope(engine) as session:
        upsert_application(
            session,
            make_record(
                NUMBER,
                holder_name="Zhang Xiaoming",
                holder_id_number=HOLDER_ID,
                status="ready_for_collection",
                collection_point="Window 3",
            ),
        )
    return engine


def verify(engine, tail, minutes, number=NUMBER):
    with session_scope(engine) as session:
        return verify_holder(session, number, tail, now=at(minutes))


def attempts_recorded(engine, number=NUMBER):
    with session_scope(engine) as session:
        return (
            session.execute(
                select(VerificationAttempt.succeeded)
                .where(VerificationAttempt.application_number == number)
                .order_by(VerificationAttempt.id)
            )
            .scalars()
            .all()
        )


def test_right_tail_matches_and_returns_the_masked_application(holder):
    result = verify(holder, RIGHT, 0)
    assert result.outcome == "match"
    assert result.locked_until is None
    assert result.application.application_number == NUMBER
    assert result.application.masked_name == "Z** Xiaoming"
    assert result.application.collection_point == "Window 3"
    assert HOLDER_ID not in repr(result)
    assert attempts_recorded(holder) == [True]


@pytest.mark.parametrize("typed", ["31002X", "31002x", "310 02x", "the last six are 31002X"])
def test_tail_as_people_type_it(holder, typed):
    assert verify(holder, typed, 0).outcome == "match"


@pytest.mark.parametrize("number", ["sc2026000001", "SC-2026 000001"])
def test_number_as_people_type_it(holder, number):
    assert verify(holder, RIGHT, 0, number=number).outcome == "match"


def test_wrong_tail_is_no_match_and_recorded(holder):
    result = verify(holder, WRONG, 0)
    assert result.outcome == "no_match"
    assert result.application is None
    assert result.locked_until is None
    assert attempts_recorded(holder) == [False]


def test_unknown_number_looks_exactly_like_a_wrong_tail(holder):
    unknown = "SC2026999999"
    results = [verify(holder, RIGHT, minute, number=unknown) for minute in range(4)]
    known = [verify(holder, WRONG, minute) for minute in range(4)]
    assert results == known  # same outcomes and lock times, minute by minute
    assert [r.outcome for r in results] == ["no_match", "no_match", "no_match", "locked"]
    assert attempts_recorded(holder, unknown) == [False, False, False]


def test_three_failures_lock_even_the_right_tail(holder):
    assert verify(holder, WRONG, 0).outcome == "no_match"
    assert verify(holder, WRONG, 1).outcome == "no_match"
    third = verify(holder, WRONG, 2)
    assert third.outcome == "no_match"
    assert third.locked_until == at(17)  # said at once, so the bot can tell the parent

    locked = verify(holder, RIGHT, 3)
    assert locked.outcome == "locked"
    assert locked.application is None
    assert locked.locked_until == at(17)
    assert locked.locked_until.tzinfo is not None
    assert verify(holder, RIGHT, 16.9).outcome == "locked"
    # Locked checks are not attempts: nothing was compared.
    assert attempts_recorded(holder) == [False, False, False]

    assert verify(holder, RIGHT, 17).outcome == "match"


def test_after_expiry_three_new_failures_are_needed(holder):
    for minute in (0, 1, 2):
        verify(holder, WRONG, minute)
    assert verify(holder, WRONG, 20).outcome == "no_match"
    assert verify(holder, WRONG, 21).outcome == "no_match"
    assert verify(holder, RIGHT, 21.5).outcome == "match"  # two failures: still open
    for minute in (22, 23):
        verify(holder, WRONG, minute)
    assert verify(holder, RIGHT, 24).outcome == "match"  # the success reset the count


def test_lock_is_per_application_number(holder, make_record):
    with session_scope(holder) as session:
        upsert_application(session, make_record("SC2026000002", holder_id_number=HOLDER_ID))
    for minute in (0, 1, 2):
        verify(holder, WRONG, minute)
    assert verify(holder, RIGHT, 3).outcome == "locked"
    assert verify(holder, RIGHT, 3, number="SC2026000002").outcome == "match"


def test_lock_survives_a_restart(holder, database_url):
    for minute in (0, 1, 2):
        verify(holder, WRONG, minute)
    holder.dispose()
    restarted = make_engine(database_url)  # another process, replica, or a restart
    try:
        result = verify(restarted, RIGHT, 5)
        assert result.outcome == "locked"
        assert result.locked_until == at(17)
        with session_scope(restarted) as session:
            assert lock_state(session, NUMBER, at(5)).locked_until == at(17)
            assert not lock_state(session, NUMBER, at(17)).locked
    finally:
        restarted.dispose()


def test_parallel_guesses_cannot_outrun_the_lock(holder, database_url):
    # Ten replicas receive a guess at the same moment: only three may be checked.
    engines = [make_engine(database_url) for _ in range(10)]
    start = threading.Barrier(len(engines))
    outcomes = []

    def guess(engine):
        start.wait()
        with session_scope(engine) as session:
            outcomes.append(verify_holder(session, NUMBER, WRONG, now=at(0)).outcome)

    threads = [threading.Thread(target=guess, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert sorted(outcomes) == ["locked"] * 7 + ["no_match"] * 3
    assert attempts_recorded(holder) == [False, False, False]


def test_an_attempt_rolled_back_with_its_unit_of_work_does_not_count(holder):
    with pytest.raises(RuntimeError), session_scope(holder) as session:
        verify_holder(session, NUMBER, WRONG, now=at(0))
        raise RuntimeError("action server crashed before answering")
    assert attempts_recorded(holder) == []


def test_attempt_times_are_stored_as_utc(holder):
    beijing = timezone(timedelta(hours=8))
    with session_scope(holder) as session:
        verify_holder(session, NUMBER, WRONG, now=at(0).astimezone(beijing))
    with session_scope(holder) as session:
        stored = session.execute(select(VerificationAttempt.attempted_at)).scalar_one()
    assert stored == at(0)
    assert stored.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("number", "tail"), [("SC12", RIGHT), (NUMBER, "12345"), (NUMBER, "")])
def test_malformed_input_is_refused_before_spending_an_attempt(holder, number, tail):
    with pytest.raises(ValueError), session_scope(holder) as session:
        verify_holder(session, number, tail, now=at(0))
    assert attempts_recorded(holder) == []
