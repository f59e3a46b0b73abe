"""Importing applications and offices from CSV files exported by the bureau's systems.

Every row is checked; each bad row is reported with its line number in the file and the
reason, and the good rows are imported anyway. A file that cannot be read as a whole
(missing, not UTF-8, wrong header) raises :class:`ImportFileError` before anything is written.

Applications are written in chunks, each its own transaction: on SQLite this keeps the write
lock short so the action server replicas are not kept waiting by a large import, and since
an import is idempotent, re-running a file that failed half-way finishes the job.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine
from tqdm import tqdm

from bot.applications import ApplicationRecord, UpsertOutcome, upsert_applications
from bot.db import session_scope
from bot.identifiers import (
    APPLICATION_NUMBER_EXAMPLE,
    APPLICATION_NUMBER_FORMAT,
    parse_application_number,
    resident_id_problem,
)
from bot.offices import OfficeView, upsert_office
from bot.statuses import STATUS_VALUES, parse_status

APPLICATION_COLUMNS = (
    "application_number",
    "holder_name",
    "id_number",
    "status",
    "updated_at",
    "collection_point",
    "note",
)
OFFICE_COLUMNS = ("name", "district", "address", "hours", "phone")

# Rows per transaction: large enough that per-statement overhead vanishes, small enough to
# keep SQLite's write lock short and stay well under its bound-parameter limit.
CHUNK_SIZE = 2000

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{4,}[0-9]")


class ImportFileError(Exception):
    """The file cannot be imported at all; nothing was written."""


@dataclass(frozen=True)
class RowError:
    """A rejected row: the line it starts on (the header is line 1) and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did, row by row counted."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)

    def count(self, outcomes: Sequence[UpsertOutcome]) -> None:
        for outcome in outcomes:
            setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def summary(self) -> str:
        return (
            f"inserted {self.inserted}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )


def _check_utf8(path: Path) -> None:
    # Decoding errors found half-way through would leave half a file imported, so the whole
    # file is checked first (a fast pass, even for 100,000 rows).
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as raw:
        while block := raw.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                line += block.count(b"\n", 0, error.start)
                raise ImportFileError(
                    f"{path}: line {line} is not UTF-8 text; save the file as CSV UTF-8"
                ) from None
            line += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportFileError(f"{path}: the file ends inside a UTF-8 character") from None


@dataclass(frozen=True)
class _CsvRow:
    line: int  # where the row starts
    fields: list[str]
    error: str | None = None  # the csv module could not parse the row


@contextmanager
def _csv_rows(
    path: str | Path, columns: Sequence[str], *, progress: bool = False
) -> Iterator[Iterator[_CsvRow]]:
    """Open a CSV file, check its header, and yield an iterator over its rows."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    _check_utf8(path)

    with (
        path.open("rb") as raw,
        tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            desc=f"Importing {path.name}",
            disable=not progress,
            file=sys.stderr,
        ) as bar,
    ):
        # utf-8-sig drops the byte order mark Excel writes; newline="" lets the csv module
        # see line breaks inside quoted fields.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise ImportFileError(f"{path}: the file is empty; expected the header line")
        if [name.strip() for name in header] != list(columns):
            raise ImportFileError(
                f"{path}: wrong header.\n  expected: {','.join(columns)}\n"
                f"  found:    {','.join(header)}"
            )

        def rows() -> Iterator[_CsvRow]:
            ended_on = reader.line_num
            while True:
                # reader.line_num is the line a row *ends* on; a quoted field can span
                # lines, so a row starts on the line after the previous row ended.
                starts_on = ended_on + 1
                try:
                    row = _CsvRow(starts_on, next(reader))
                except StopIteration:
                    break
                except csv.Error as error:
                    row = _CsvRow(starts_on, [], f"unreadable CSV ({error})")
                ended_on = reader.line_num
                if progress and ended_on % 1000 == 0:
                    bar.update(raw.tell() - bar.n)
                if row.fields or row.error:  # blank lines separate nothing; skip them
                    yield row
            bar.update(raw.tell() - bar.n)

        yield rows()


def _column_count_problem(fields: list[str], columns: Sequence[str]) -> str | None:
    if len(fields) != len(columns):
        return f"expected {len(columns)} columns, found {len(fields)}"
    return None


def parse_application_row(fields: list[str]) -> tuple[ApplicationRecord | None, list[str]]:
    """Check one CSV row of an applications file.

    Returns the record, or None and every reason the row is wrong (so staff fix a row once).
    """
    problem = _column_count_problem(fields, APPLICATION_COLUMNS)
    if problem:
        return None, [problem]
    raw_number, name, id_number, raw_status, raw_date, collection_point, note = (
        value.strip() for value in fields
    )
    reasons = []

    number = parse_application_number(raw_number)
    if not raw_number:
        reasons.append("application number is missing")
    elif number is None:
        reasons.append(
            f'application number "{raw_number}" is not {APPLICATION_NUMBER_FORMAT} '
            f"(like {APPLICATION_NUMBER_EXAMPLE})"
        )

    if not name:
        reasons.append("holder name is empty")

    id_number = re.sub(r"\s+", "", id_number).upper()
    id_problem = resident_id_problem(id_number)
    if id_problem:
        reasons.append(id_problem)

    status = parse_status(raw_status)
    if status is None:
        shown = f'"{raw_status}"' if raw_status else "missing"
        reasons.append(f"status {shown} is not one of: {', '.join(STATUS_VALUES)}")

    updated_at = None
    if _ISO_DATE.fullmatch(raw_date):
        with suppress(ValueError):  # 2026-02-30 has the right shape but is no date
            updated_at = date.fromisoformat(raw_date)
    if updated_at is None:
        shown = f'"{raw_date}"' if raw_date else "missing"
        reasons.append(f"updated_at {shown} is not a date in the form YYYY-MM-DD")

    if reasons:
        return None, reasons
    record = ApplicationRecord(
        application_number=number,
        holder_name=name,
        holder_id_number=id_number,
        status=status,
        updated_at=updated_at,
        collection_point=collection_point,
        note=note,
    )
    return record, []


def _write_chunk(engine: Engine, chunk: list[ApplicationRecord], report: ImportReport) -> None:
    with session_scope(engine) as session:
        report.count(upsert_applications(session, chunk))


def import_applications(engine: Engine, path: str | Path, progress: bool = False) -> ImportReport:
    """Import an applications CSV (header: application_number,holder_name,id_number,status,
    updated_at,collection_point,note).

    Bad rows are reported and skipped; a number repeated in the file takes the values of its
    last row, and each status change along the way enters the history. ``progress`` shows a
    tqdm bar on stderr. Raises ImportFileError for a missing, non-UTF-8 or wrongly headed file.
    """
    report = ImportReport()
    chunk: list[ApplicationRecord] = []
    with _csv_rows(path, APPLICATION_COLUMNS, progress=progress) as rows:
        for row in rows:
            record, reasons = parse_application_row(row.fields)
            if record is None:
                report.rejected.append(RowError(row.line, row.error or "; ".join(reasons)))
                continue
            chunk.append(record)
            if len(chunk) >= CHUNK_SIZE:
                _write_chunk(engine, chunk, report)
                chunk = []
    if chunk:
        _write_chunk(engine, chunk, report)
    return report


def parse_office_row(fields: list[str]) -> tuple[OfficeView | None, list[str]]:
    """Check one CSV row of an offices file; returns the office or None and the reasons."""
    problem = _column_count_problem(fields, OFFICE_COLUMNS)
    if problem:
        return None, [problem]
    values = dict(zip(OFFICE_COLUMNS, (value.strip() for value in fields), strict=True))
    reasons = [f"{column} is empty" for column, value in values.items() if not value]
    if values["phone"] and not _PHONE.fullmatch(values["phone"]):
        reasons.append(f'phone "{values["phone"]}" is not a phone number like 010-6512 3456')
    if reasons:
        return None, reasons
    return OfficeView(**values), []


def import_offices(engine: Engine, path: str | Path) -> ImportReport:
    """Import an offices CSV (header: name,district,address,hours,phone), matching by name.

    The file is small, so it is one transaction. Bad rows are reported and skipped; a name
    repeated in the file takes its last row. Raises ImportFileError like import_applications.
    """
    report = ImportReport()
    with _csv_rows(path, OFFICE_COLUMNS) as rows, session_scope(engine) as session:
        for row in rows:
            office, reasons = parse_office_row(row.fields)
            if office is None:
                report.rejected.append(RowError(row.line, row.error or "; ".join(reasons)))
                continue
            report.count([upsert_office(session, office)])
    return report
