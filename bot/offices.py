"""Social security offices: where to apply for and collect a card, by district."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.applications import UpsertOutcome
from bot.models import Office


@dataclass(frozen=True)
class OfficeView:
    """An office as shown to parents and staff; also the input of :func:`upsert_office`."""

    name: str
    district: str
    address: str
    hours: str
    phone: str


_OFFICE_FIELDS = tuple(field.name for field in fields(OfficeView))
_DISTRICT_SUFFIX = re.compile(r"\s+district$")


def district_key(text: str | None) -> str:
    """The form districts are compared in: case-folded, spaces tidied, " district" dropped,
    so "chaoyang", "Chaoyang District" and " CHAOYANG " all match."""
    folded = " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())
    return _DISTRICT_SUFFIX.sub("", folded)


def _view(office: Office) -> OfficeView:
    return OfficeView(**{name: getattr(office, name) for name in _OFFICE_FIELDS})


def list_districts(session: Session) -> list[str]:
    """Return the districts that have at least one office, as stored, sorted."""
    query = select(Office.district).distinct().order_by(Office.district)
    return list(session.execute(query).scalars())


def find_offices(session: Session, district: str | None = None) -> list[OfficeView]:
    """Return offices sorted by district then name, all of them or those in ``district``.

    The district match ignores case and a trailing " district". It is done in Python: the
    table holds tens of rows, and SQLite's lower() only folds ASCII.
    """
    offices = session.execute(select(Office).order_by(Office.district, Office.name)).scalars()
    if district is None:
        return [_view(office) for office in offices]
    wanted = district_key(district)
    return [_view(office) for office in offices if district_key(office.district) == wanted]


def upsert_office(session: Session, office: OfficeView) -> UpsertOutcome:
    """Insert an office or update the one with the same name.
    Returns "inserted", "updated" or "unchanged"."""
    values = {name: " ".join(getattr(office, name).split()) for name in _OFFICE_FIELDS}
    empty = [name for name, value in values.items() if not value]
    if empty:
        raise ValueError(f"office fields must not be empty: {', '.join(empty)}")
    row = session.execute(select(Office).where(Office.name == values["name"])).scalar_one_or_none()
    if row is None:
        session.add(Office(**values))
        session.flush()
        return "inserted"
    if all(getattr(row, name) == value for name, value in values.items()):
        return "unchanged"
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    return "updated"
