"""Card applications: reading them for the assistant and staff, writing them from imports.

Everything returned is plain frozen data (safe after the session closes) with the holder's
name and ID number already masked; the full ID number never leaves this module except to
:mod:`bot.verification`, which compares it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.identifiers import (
    id_tail,
    mask_id_number,
    mask_name,
    normalise_resident_id,
    parse_application_number,
)
from bot.models import Application, StatusChange, utc_now
from bot.statuses import ApplicationStatus

UpsertOutcome = Literal["inserted", "updated", "unchanged"]


@dataclass(frozen=True)
class ApplicationRecord:
    """An application as the case system exports it: the input of imports and demo data.

    Construction normalises (upper-case "SC" and X, surrounding spaces, blank optional
    fields to None) and raises ValueError for a value the database must never hold.
    """

    application_number: str
    holder_name: str
    holder_id_number: str
    status: ApplicationStatus
    updated_at: date
    collection_point: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        number = parse_application_number(self.application_number)
        if number is None:
            raise ValueError(f"invalid application number: {self.application_number!r}")
        id_number = normalise_resident_id(self.holder_id_number)
        if id_number is None:
            raise ValueError("invalid resident ID number")
        name = (self.holder_name or "").strip()
        if not name:
            raise ValueError("empty holder name")
        if not isinstance(self.updated_at, date) or isinstance(self.updated_at, datetime):
            raise ValueError(f"updated_at must be a date, not {self.updated_at!r}")
        # Frozen dataclass: normalised values are written once, here.
        object.__setattr__(self, "application_number", number)
        object.__setattr__(self, "holder_id_number", id_number)
        object.__setattr__(self, "holder_name", name)
        object.__setattr__(self, "status", ApplicationStatus(self.status))
        object.__setattr__(self, "collection_point", _blank_to_none(self.collection_point))
        object.__setattr__(self, "note", _blank_to_none(self.note))

    @property
    def id_tail(self) -> str:
        """The last six characters of the holder's ID number: what a parent verifies with."""
        return id_tail(self.holder_id_number)


@dataclass(frozen=True)
class ApplicationView:
    """An application as it may be shown: name and ID number masked."""

    application_number: str
    masked_name: str
    masked_id_number: str
    status: ApplicationStatus
    updated_at: date
    collection_point: str | None
    note: str | None


@dataclass(frozen=True)
class StatusChangeView:
    """One entry of an application's status history."""

    status: ApplicationStatus
    changed_at: date
    recorded_at: datetime


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def application_view(application: Application) -> ApplicationView:
    """Turn a loaded row into a masked, session-independent view."""
    return ApplicationView(
        application_number=application.application_number,
        masked_name=mask_name(application.holder_name),
        masked_id_number=mask_id_number(application.holder_id_number),
        status=ApplicationStatus(application.status),
        updated_at=application.updated_at,
        collection_point=application.collection_point,
        note=application.note,
    )


def find_application_row(session: Session, number: str) -> Application | None:
    """Load the ORM row for an application number (any accepted spelling), or None."""
    normalised = parse_application_number(number)
    if normalised is None:
        return None
    return session.execute(
        select(Application).where(Application.application_number == normalised)
    ).scalar_one_or_none()


def get_application(session: Session, number: str) -> ApplicationView | None:
    """Return the masked view of an application, or None when the number is unknown or is
    not a well-formed application number."""
    row = find_application_row(session, number)
    return application_view(row) if row is not None else None


def status_history(session: Session, number: str) -> list[StatusChangeView]:
    """Return the statuses an application went through, oldest first ([] when unknown)."""
    normalised = parse_application_number(number)
    if normalised is None:
        return []
    rows = session.execute(
        select(StatusChange.status, StatusChange.changed_at, StatusChange.recorded_at)
        .join(Application, StatusChange.application_id == Application.id)
        .where(Application.application_number == normalised)
        # Insertion order is the order the changes were learnt; dates from the case system
        # can tie on one day.
        .order_by(StatusChange.id)
    ).all()
    return [
        StatusChangeView(ApplicationStatus(row.status), row.changed_at, row.recorded_at)
        for row in rows
    ]


# Columns compared to decide between "updated" and "unchanged".
_DATA_FIELDS = tuple(
    field.name for field in fields(ApplicationRecord) if field.name != "application_number"
)


def _record_values(record: ApplicationRecord) -> dict[str, object]:
    values = {name: getattr(record, name) for name in _DATA_FIELDS}
    values["status"] = record.status.value
    return values


def upsert_application(session: Session, record: ApplicationRecord) -> UpsertOutcome:
    """Insert or update one application by number; record a status history entry whenever
    the status is new or changes. Returns "inserted", "updated" or "unchanged"."""
    return upsert_applications(session, [record])[0]


def upsert_applications(
    session: Session, records: Sequence[ApplicationRecord], *, now: datetime | None = None
) -> list[UpsertOutcome]:
    """Insert or update many applications with a handful of statements, in order.

    One SELECT fetches the existing rows, then bulk INSERT, bulk UPDATE and one bulk INSERT
    of status history. A number repeated in ``records`` is applied in order (the last one
    wins) and each status change along the way is recorded. Returns one outcome per record.
    Works on the tables directly, so ORM objects already loaded in ``session`` are not
    refreshed.
    """
    now = now or utc_now()
    table = Application.__table__
    numbers = {record.application_number for record in records}

    # number -> current values (with "id": None until inserted)
    state: dict[str, dict[str, object]] = {}
    if numbers:
        rows = session.execute(
            select(
                table.c.id, table.c.application_number, *(table.c[n] for n in _DATA_FIELDS)
            ).where(table.c.application_number.in_(numbers))
        ).all()
        for row in rows:
            state[row.application_number] = {
                "id": row.id,
                **{n: row._mapping[n] for n in _DATA_FIELDS},
            }

    inserts: dict[str, dict[str, object]] = {}
    updated_ids: set[int] = set()
    history: list[tuple[str, str, date]] = []
    outcomes: list[UpsertOutcome] = []
    for record in records:
        number = record.application_number
        values = _record_values(record)
        current = state.get(number)
        if current is None:
            state[number] = inserts[number] = {"id": None, **values}
            history.append((number, record.status.value, record.updated_at))
            outcomes.append("inserted")
            continue
        if all(current[name] == values[name] for name in _DATA_FIELDS):
            outcomes.append("unchanged")
            continue
        if current["status"] != values["status"]:
            history.append((number, record.status.value, record.updated_at))
        current.update(values)
        if current["id"] is not None:
            updated_ids.add(current["id"])
        outcomes.append("updated")

    if inserts:
        session.execute(
            insert(table),
            [
                {"application_number": number, **{n: v[n] for n in _DATA_FIELDS}}
                for number, v in inserts.items()
            ],
        )
        new_ids = session.execute(
            select(table.c.id, table.c.application_number).where(
                table.c.application_number.in_(inserts)
            )
        ).all()
        for row in new_ids:
            state[row.application_number]["id"] = row.id

    if updated_ids:
        # Bound names must differ from column names in an UPDATE ... WHERE with executemany.
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in _DATA_FIELDS}),
            [
                {"b_id": values["id"], **{f"b_{n}": values[n] for n in _DATA_FIELDS}}
                for values in state.values()
                if values["id"] in updated_ids
            ],
        )

    if history:
        session.execute(
            insert(StatusChange.__table__),
            [
                {
                    "application_id": state[number]["id"],
                    "status": status,
                    "changed_at": changed_at,
                    "recorded_at": now,
                }
                for number, status, changed_at in history
            ],
        )
    return outcomes
