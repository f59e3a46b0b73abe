"""Verifying that the person asking holds an application, with a lockout against guessing.

A parent proves they hold an application by giving the last six characters of the holder's
ID number. Three failed verifications in a row for one application number lock that number
for 15 minutes from the third failure; while locked, nothing is checked (not even a correct
tail). A success resets the count, and after a lock expires counting starts again.

Unknown numbers are treated exactly like known ones with a wrong tail (recorded, counted,
locked), so the answers never reveal which numbers exist. The attempts live in the
verification_attempts table, so the lockout holds across processes, replicas and restarts.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.applications import ApplicationView, application_view, find_application_row
from bot.db import begin_write_lock
from bot.identifiers import id_tail as stored_id_tail
from bot.identifiers import normalise_id_tail, parse_application_number
from bot.models import VerificationAttempt, utc_now

MAX_FAILURES = 3
LOCK_DURATION = timedelta(minutes=15)

VerificationOutcome = Literal["match", "no_match", "locked"]


@dataclass(frozen=True)
class Attempt:
    """One recorded verification attempt, as the lockout logic sees it."""

    attempted_at: datetime
    succeeded: bool


@dataclass(frozen=True)
class LockState:
    """Where an application number stands: locked until when, or how many failures so far."""

    locked_until: datetime | None
    consecutive_failures: int

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


@dataclass(frozen=True)
class VerificationResult:
    """The answer to one verification.

    ``application`` is set only on "match". ``locked_until`` is set on "locked", and also on
    the "no_match" that caused the lock, so the assistant can say so straight away.
    """

    outcome: VerificationOutcome
    application: ApplicationView | None = None
    locked_until: datetime | None = None


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use a timezone-aware UTC datetime")
    return moment.astimezone(timezone.utc)


def assess_attempts(attempts: Iterable[Attempt], now: datetime) -> LockState:
    """Decide from an application number's attempts whether it is locked at ``now``.

    Pure: give it the attempts since (and including) the last success, in any order; older
    attempts do not change the answer. Attempts recorded while a lock was running (two
    replicas racing, or a clock step) are ignored rather than extending the lock.
    """
    now = _require_aware(now)
    failures = 0
    locked_until: datetime | None = None
    ordered = sorted(attempts, key=lambda attempt: _require_aware(attempt.attempted_at))
    for attempt in ordered:
        at = _require_aware(attempt.attempted_at)
        if at > now:
            break
        if locked_until is not None:
            if at < locked_until:
                continue
            locked_until = None  # the lock ran out; counting already restarted at zero
        if attempt.succeeded:
            failures = 0
            continue
        failures += 1
        if failures >= MAX_FAILURES:
            locked_until = at + LOCK_DURATION
            failures = 0
    if locked_until is not None and now >= locked_until:
        locked_until = None
    return LockState(locked_until=locked_until, consecutive_failures=failures)


def recent_attempts(session: Session, application_number: str) -> list[Attempt]:
    """Load the attempts on a number that still matter: from its last success on, oldest first.

    Grows only while a number keeps failing, and then by at most MAX_FAILURES per
    LOCK_DURATION, because attempts during a lock are not recorded.
    """
    table = VerificationAttempt
    last_success = session.execute(
        select(func.max(table.attempted_at)).where(
            table.application_number == application_number, table.succeeded.is_(True)
        )
    ).scalar_one()
    query = select(table.attempted_at, table.succeeded).where(
        table.application_number == application_number
    )
    if last_success is not None:
        query = query.where(table.attempted_at >= last_success)
    rows = session.execute(query.order_by(table.attempted_at, table.id)).all()
    return [Attempt(attempted_at=row.attempted_at, succeeded=row.succeeded) for row in rows]


def lock_state(session: Session, application_number: str, now: datetime | None = None) -> LockState:
    """Return whether a number is locked now (without recording an attempt)."""
    number = parse_application_number(application_number)
    if number is None:
        raise ValueError(f"not an application number: {application_number!r}")
    return assess_attempts(recent_attempts(session, number), now or utc_now())


def verify_holder(
    session: Session, application_number: str, id_tail: str, now: datetime | None = None
) -> VerificationResult:
    """Check the last six ID characters given for an application number, with the lockout.

    Returns "locked" (nothing checked, nothing recorded) while the number is locked; else
    records the attempt and returns "match" with the masked application, or "no_match" for a
    wrong tail and for an unknown number alike. Both arguments accept what a person types
    (case, spaces, hyphens); ValueError if either holds no application number / ID tail, so
    callers validate input before spending an attempt. Commits nothing: the caller's unit of
    work does (see :func:`bot.db.session_scope`).
    """
    number = parse_application_number(application_number)
    if number is None:
        raise ValueError(f"not an application number: {application_number!r}")
    tail = normalise_id_tail(id_tail)
    if tail is None:
        raise ValueError("not the last six characters of an ID number")
    now = _require_aware(now or utc_now())

    # Serialise checks of one number so parallel requests cannot each spend "the last" try.
    begin_write_lock(session, f"verify-holder:{number}")
    attempts = recent_attempts(session, number)
    state = assess_attempts(attempts, now)
    if state.locked:
        return VerificationResult("locked", locked_until=state.locked_until)

    row = find_application_row(session, number)
    # compare_digest: the time taken should not hint at how much of the tail was right.
    matched = row is not None and hmac.compare_digest(stored_id_tail(row.holder_id_number), tail)
    session.add(VerificationAttempt(application_number=number, attempted_at=now, succeeded=matched))
    session.flush()
    if matched:
        return VerificationResult("match", application=application_view(row))
    after = assess_attempts([*attempts, Attempt(now, False)], now)
    return VerificationResult("no_match", locked_until=after.locked_until)
