"""Staff command line: ``python -m bot ...``.

Every command first brings the database schema to head, so a fresh checkout or a new
release needs no separate migration step. Exit codes: 0 done; 1 done but something needs
attention (rejected rows, unknown application, no office found) or a database error;
2 the command could not run (usage, missing file, wrong header, malformed number).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot.applications import get_application, status_history
from bot.csv_import import (
    APPLICATION_COLUMNS,
    OFFICE_COLUMNS,
    ImportFileError,
    ImportReport,
    import_applications,
    import_offices,
)
from bot.db import current_revision, display_url, make_engine, session_scope, upgrade_schema
from bot.demo_data import DEMO_APPLICATIONS, load_demo_data
from bot.identifiers import (
    APPLICATION_NUMBER_EXAMPLE,
    APPLICATION_NUMBER_FORMAT,
    parse_application_number,
)
from bot.offices import find_offices, list_districts
from bot.settings import get_settings

EXIT_OK = 0
EXIT_ATTENTION = 1
EXIT_USAGE = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Staff tools for the bureau assistant's database "
        "(DATABASE_URL selects the database).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    applications = commands.add_parser("applications", help="import and look up applications")
    app_commands = applications.add_subparsers(dest="action", metavar="ACTION", required=True)
    app_import = app_commands.add_parser(
        "import",
        help="import applications from a CSV file",
        description="CSV header: " + ",".join(APPLICATION_COLUMNS),
    )
    app_import.add_argument("file", metavar="FILE.csv")
    progress = app_import.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show a progress bar (default: only on a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    app_show = app_commands.add_parser("show", help="show one application, masked")
    # nargs="+": staff may type the number with spaces, as parents do (SC 2026 000123).
    app_show.add_argument("number", metavar="NUMBER", nargs="+")

    offices = commands.add_parser("offices", help="import and list offices")
    office_commands = offices.add_subparsers(dest="action", metavar="ACTION", required=True)
    office_import = office_commands.add_parser(
        "import",
        help="import offices from a CSV file",
        description="CSV header: " + ",".join(OFFICE_COLUMNS),
    )
    office_import.add_argument("file", metavar="FILE.csv")
    office_list = office_commands.add_parser("list", help="list offices")
    office_list.add_argument("--district", metavar="D", help="only offices in district D")

    commands.add_parser("demo-data", help="load the demo applications and offices")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="bring the schema to the newest migration")
    return parser


def _print_import_report(report: ImportReport, out: TextIO) -> int:
    for error in report.rejected:
        print(error, file=out)
    print(report.summary, file=out)
    return EXIT_ATTENTION if report.rejected else EXIT_OK


def _applications_import(engine, args, out: TextIO) -> int:
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    report = import_applications(engine, args.file, progress=progress)
    return _print_import_report(report, out)


def _applications_show(engine, args, out: TextIO) -> int:
    typed = " ".join(args.number)
    number = parse_application_number(typed)
    if number is None:
        print(
            f'"{typed}" is not an application number: expected {APPLICATION_NUMBER_FORMAT}, '
            f"for example {APPLICATION_NUMBER_EXAMPLE}.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with session_scope(engine) as session:
        application = get_application(session, number)
        history = status_history(session, number)
    if application is None:
        print(f"Application {number} not found.", file=out)
        return EXIT_ATTENTION
    rows = [
        ("Holder", application.masked_name),
        ("ID number", application.masked_id_number),
        ("Status", application.status.value),
        ("Updated", application.updated_at.isoformat()),
        ("Collection point", application.collection_point or "-"),
        ("Note", application.note or "-"),
    ]
    print(f"Application {application.application_number}", file=out)
    for label, value in rows:
        print(f"  {label + ':':<18}{value}", file=out)
    print("Status history:", file=out)
    for change in history:
        print(f"  {change.changed_at.isoformat()}  {change.status.value}", file=out)
    if not history:
        print("  (none recorded)", file=out)
    return EXIT_OK


def _offices_import(engine, args, out: TextIO) -> int:
    return _print_import_report(import_offices(engine, args.file), out)


def _offices_list(engine, args, out: TextIO) -> int:
    with session_scope(engine) as session:
        offices = find_offices(session, args.district)
        districts = list_districts(session)
    if not offices:
        if args.district is None:
            print(
                "No offices loaded. Import some with: python -m bot offices import FILE.csv",
                file=out,
            )
            return EXIT_OK
        known = ", ".join(districts) or "none"
        print(
            f'No offices in district "{args.district}". Districts with offices: {known}.', file=out
        )
        return EXIT_ATTENTION
    for office in offices:
        print(f"{office.name} ({office.district})", file=out)
        print(f"  Address: {office.address}", file=out)
        print(f"  Hours:   {office.hours}", file=out)
        print(f"  Phone:   {office.phone}", file=out)
    return EXIT_OK


def _demo_data(engine, args, out: TextIO) -> int:
    report = load_demo_data(engine)
    new_applications = report.applications.count("inserted")
    new_offices = report.offices.count("inserted")
    print(
        f"Demo data loaded: {len(report.applications)} applications ({new_applications} new), "
        f"{len(report.offices)} offices ({new_offices} new).",
        file=out,
    )
    print("Demo applications (verify with the last six characters of the ID number):", file=out)
    for record in DEMO_APPLICATIONS:
        print(
            f"  {record.application_number}  {record.status.value:<21} ID tail {record.id_tail}",
            file=out,
        )
    return EXIT_OK


def _db_upgrade(engine, args, out: TextIO) -> int:
    # The schema was upgraded before dispatch; report where it stands.
    print(
        f"Database {display_url(engine.url)} is at revision {current_revision(engine)}.", file=out
    )
    return EXIT_OK


_HANDLERS = {
    ("applications", "import"): _applications_import,
    ("applications", "show"): _applications_show,
    ("offices", "import"): _offices_import,
    ("offices", "list"): _offices_list,
    ("demo-data", None): _demo_data,
    ("db", "upgrade"): _db_upgrade,
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; returns the exit code."""
    out = out or sys.stdout
    args = _build_parser().parse_args(argv)
    handler = _HANDLERS[(args.command, getattr(args, "action", None))]
    url = get_settings().database_url
    try:
        upgrade_schema(url)
        engine = make_engine(url)
        try:
            return handler(engine, args, out)
        finally:
            engine.dispose()
    except ImportFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SQLAlchemyError as error:
        # The driver's first line says what went wrong (refused, auth, locked) without
        # SQLAlchemy's long trailer.
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        print(f"error: database {display_url(url)}: {reason}", file=sys.stderr)
        return EXIT_ATTENTION
