"""CSV imports: good rows in, bad rows reported by line number with the reason."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot import csv_import
from bot.applications import get_application, status_history
from bot.csv_import import (
    APPLICATION_COLUMNS,
    ImportFileError,
    RowError,
    import_applications,
    import_offices,
)
from bot.db import session_scope
from bot.identifiers import resident_id_check_character
from bot.models import Application, Office
from bot.offices import find_offices


def valid_id(area: str = "110105", born: str = "20180607", sequence: int = 15) -> str:
    first17 = f"{area}{born}{sequence:03d}"
    return first17 + resident_id_check_character(first17)


HEADER = list(APPLICATION_COLUMNS)
ID_A = valid_id(sequence=15)  # 11010520180607015X
ID_B = valid_id("110108", "20160930", 14)


def row(
    number="SC2026000001",
    name="Zhang Xiaoming",
    id_number=ID_A,
    status="submitted",
    updated_at="2026-03-01",
    collection_point="",
    note="",
):
    return [number, name, id_number, status, updated_at, collection_point, note]


def count_applications(engine):
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(Application)).scalar_one()


def test_good_file(engine, write_csv):
    path = write_csv(
        [
            HEADER,
            row(),
            row(
                "sc-2026 000002",
                "Li Xiaohong",
                ID_B.lower(),
                "Ready for collection",
                "2026-03-02",
                "Chaoyang centre, window 3",
            ),
            row("SC2026000003", status="rejected", note="Photo does not meet the requirements."),
        ]
    )
    report = import_applications(engine, path)
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (3, 0, 0, [])
    assert report.summary == "inserted 3, updated 0, unchanged 0, rejected 0"
    with session_scope(engine) as session:
        second = get_application(session, "SC2026000002")
        stored_id = session.execute(
            select(Application.holder_id_number).where(
                Application.application_number == "SC2026000002"
            )
        ).scalar_one()
        assert second.status == "ready_for_collection"
        assert second.collection_point == "Chaoyang centre, window 3"
        assert second.updated_at == date(2026, 3, 2)
        assert stored_id == ID_B.upper()
        assert get_application(session, "SC2026000003").note == (
            "Photo does not meet the requirements."
        )


def test_reimport_is_unchanged_and_changes_are_updates(engine, write_csv):
    import_applications(engine, write_csv([HEADER, row(), row("SC2026000002")]))
    report = import_applications(
        engine, write_csv([HEADER, row(), row("SC2026000002", status="under_review")])
    )
    assert report.summary == "inserted 0, updated 1, unchanged 1, rejected 0"
    with session_scope(engine) as session:
        assert [c.status for c in status_history(session, "SC2026000002")] == [
            "submitted",
            "under_review",
        ]


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (row(number=""), "application number is missing"),
        (
            row(number="SC12345"),
            'application number "SC12345" is not "SC" followed by 10 digits (like SC2026000123)',
        ),
        (row(number="AB2026000001"), 'application number "AB2026000001" is not "SC"'),
        (row(name=""), "holder name is empty"),
        (row(name="   "), "holder name is empty"),
        (row(id_number=""), "ID number is missing"),
        (row(id_number="11010520180607015"), "ID number must have 18 characters, not 17"),
        (
            row(id_number="1101052018060701AX"),
            "ID number must be 17 digits followed by a digit or X",
        ),
        (
            row(id_number="110105201802300150"),
            "ID number's birth date (characters 7-14) is not a real date",
        ),
        (
            row(id_number="110105201806070151"),
            "ID number's check character (the last one) does not match the other 17",
        ),
        (
            row(status="approved"),
            'status "approved" is not one of: submitted, under_review, in_production, '
            "ready_for_collection, collected, rejected",
        ),
        (row(status=""), "status missing is not one of"),
        (
            row(updated_at="01/03/2026"),
            'updated_at "01/03/2026" is not a date in the form YYYY-MM-DD',
        ),
        (row(updated_at="2026-02-30"), 'updated_at "2026-02-30" is not a date'),
        (row(updated_at="2026-3-1"), 'updated_at "2026-3-1" is not a date'),
        (row(updated_at=""), "updated_at missing is not a date"),
        (row()[:6], "expected 7 columns, found 6"),
        ([*row(), "extra"], "expected 7 columns, found 8"),
    ],
)
def test_each_bad_row_is_reported_with_its_reason(engine, write_csv, bad_row, reason):
    report = import_applications(engine, write_csv([HEADER, row(), bad_row]))
    assert report.inserted == 1  # the good row goes in anyway
    assert len(report.rejected) == 1
    assert report.rejected[0].line == 3
    assert reason in report.rejected[0].reason
    assert count_applications(engine) == 1


def test_reasons_never_repeat_the_full_id_number(engine, write_csv):
    report = import_applications(engine, write_csv([HEADER, row(id_number="110105201806070151")]))
    assert "110105201806070151" not in str(report.rejected[0])


def test_all_problems_of_a_row_are_listed_at_once(engine, write_csv):
    report = import_applications(
        engine, write_csv([HEADER, row(number="SC1", name="", status="lost", updated_at="soon")])
    )
    (error,) = report.rejected
    assert error.reason.count(";") == 3
    for part in ("application number", "holder name", "status", "updated_at"):
        assert part in error.reason


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(engine, write_csv):
    text = (
        ",".join(HEADER)
        + "\n"  # line 1
        + ",".join(row())
        + "\n"  # line 2
        + "SC2026000002,Li Xiaohong,"
        + ID_B
        + ',rejected,2026-03-02,,"Photo too dark.\n'  # 3
        + "Please bring a new photo.\n"  # line 4
        + 'Thank you."\n'  # line 5
        + ",".join(row("SC2026000003", status="approved"))
        + "\n"  # line 6
        + "\n"  # line 7 (blank)
        + 'SC2026000004,"Wang\nLei",'
        + ID_A
        + ",lost,2026-03-04,,\n"  # lines 8-9
        + ",".join(row("SC2026000005", updated_at="yesterday"))
        + "\n"  # line 10
    )
    report = import_applications(engine, write_csv(text))
    assert [(error.line, error.reason.split(" is ")[0]) for error in report.rejected] == [
        (6, 'status "approved"'),
        (8, 'status "lost"'),
        (10, 'updated_at "yesterday"'),
    ]
    assert report.inserted == 2
    with session_scope(engine) as session:
        assert get_application(session, "SC2026000002").note == (
            "Photo too dark.\nPlease bring a new photo.\nThank you."
        )


def test_windows_line_endings(engine, write_csv):
    text = "\r\n".join([",".join(HEADER), ",".join(row()), ",".join(row("SC2", status="x"))])
    report = import_applications(engine, write_csv(text + "\r\n"))
    assert report.inserted == 1
    assert [error.line for error in report.rejected] == [3]


def test_byte_order_mark_is_accepted(engine, write_csv):
    report = import_applications(engine, write_csv([HEADER, row()], bom=True))
    assert report.summary == "inserted 1, updated 0, unchanged 0, rejected 0"


def test_unicode_names(engine, write_csv):
    report = import_applications(
        engine,
        write_csv(
            [
                HEADER,
                row(name="张小明"),
                row("SC2026000002", name="Zoë Ångström"),
                row("SC2026000003", name="欧阳 娜娜"),
            ]
        ),
    )
    assert report.inserted == 3
    with session_scope(engine) as session:
        names = session.execute(select(Application.holder_name).order_by(Application.id)).scalars()
        assert list(names) == ["张小明", "Zoë Ångström", "欧阳 娜娜"]
        assert get_application(session, "SC2026000001").masked_name == "张**"


def test_duplicates_in_one_file_last_wins_and_history_keeps_each_change(engine, write_csv):
    report = import_applications(
        engine,
        write_csv(
            [
                HEADER,
                row(status="submitted", updated_at="2026-03-01"),
                row(status="under_review", updated_at="2026-03-03"),
                row(status="under_review", updated_at="2026-03-03"),
                row(
                    status="ready_for_collection",
                    updated_at="2026-03-09",
                    collection_point="Window 3",
                ),
            ]
        ),
    )
    assert report.summary == "inserted 1, updated 2, unchanged 1, rejected 0"
    with session_scope(engine) as session:
        application = get_application(session, "SC2026000001")
        history = status_history(session, "SC2026000001")
    assert application.status == "ready_for_collection"
    assert application.collection_point == "Window 3"
    assert [(c.status.value, c.changed_at) for c in history] == [
        ("submitted", date(2026, 3, 1)),
        ("under_review", date(2026, 3, 3)),
        ("ready_for_collection", date(2026, 3, 9)),
    ]


def test_duplicates_across_chunks(engine, write_csv, monkeypatch):
    monkeypatch.setattr(csv_import, "CHUNK_SIZE", 2)
    rows = [row(f"SC20260000{i:02d}") for i in range(5)]
    rows += [row("SC2026000001", status="collected"), row("SC2026000004", status="rejected")]
    report = import_applications(engine, write_csv([HEADER, *rows]))
    assert report.summary == "inserted 5, updated 2, unchanged 0, rejected 0"
    with session_scope(engine) as session:
        assert get_application(session, "SC2026000001").status == "collected"
        assert get_application(session, "SC2026000004").status == "rejected"
        assert len(status_history(session, "SC2026000004")) == 2


def test_wrong_header_is_a_clear_error_and_writes_nothing(engine, write_csv):
    path = write_csv([["number", "name", "id", "status", "date", "point", "note"], row()])
    with pytest.raises(ImportFileError) as raised:
        import_applications(engine, path)
    message = str(raised.value)
    assert "wrong header" in message
    assert "expected: application_number,holder_name,id_number,status,updated_at," in message
    assert "found:    number,name,id" in message
    assert count_applications(engine) == 0


def test_header_must_have_every_column(engine, write_csv):
    with pytest.raises(ImportFileError, match="wrong header"):
        import_applications(engine, write_csv([HEADER[:-1], row()[:-1]]))


def test_header_cells_may_have_spaces_around(engine, write_csv):
    report = import_applications(engine, write_csv([[f" {h} " for h in HEADER], row()]))
    assert report.inserted == 1


def test_empty_file(engine, write_csv):
    with pytest.raises(ImportFileError, match="empty"):
        import_applications(engine, write_csv(""))


def test_header_only_imports_nothing(engine, write_csv):
    assert import_applications(engine, write_csv([HEADER])).summary == (
        "inserted 0, updated 0, unchanged 0, rejected 0"
    )


def test_missing_file(engine, tmp_path):
    with pytest.raises(ImportFileError, match="no such file"):
        import_applications(engine, tmp_path / "nope.csv")


def test_file_not_in_utf8_is_refused_before_writing(engine, tmp_path):
    path = tmp_path / "latin1.csv"
    lines = [",".join(HEADER), ",".join(row()), ",".join(row("SC2026000002", name="Zoë"))]
    path.write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(ImportFileError, match="line 3 is not UTF-8"):
        import_applications(engine, path)
    assert count_applications(engine) == 0


def test_progress_bar_goes_to_stderr(engine, write_csv, capsys):
    import_applications(engine, write_csv([HEADER, row()]), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Importing input.csv" in captured.err
    assert "100%" in captured.err


def test_row_error_reads_like_the_cli_prints_it():
    assert str(RowError(7, "holder name is empty")) == "line 7: holder name is empty"


# --- offices ------------------------------------------------------------------------------

OFFICE_HEADER = ["name", "district", "address", "hours", "phone"]
OFFICE = ["Chaoyang Centre", "Chaoyang", "9 Park Road", "Mon-Fri 9:00-17:00", "010-6590 3188"]


def test_offices_import(engine, write_csv):
    report = import_offices(
        engine,
        write_csv(
            [
                OFFICE_HEADER,
                OFFICE,
                [
                    "Haidian Centre",
                    "Haidian",
                    "27 South Road",
                    "Mon-Fri 9:00-17:00",
                    "+86 10 6251 7706",
                ],
                ["Broken", "", "1 Road", "Mon-Fri", "010-1234 5678"],
                ["No phone", "Xicheng", "1 Road", "Mon-Fri", "call us"],
                ["Short"],
                [OFFICE[0], "Chaoyang", "1 New Road", OFFICE[3], OFFICE[4]],
            ],
            bom=True,
        ),
    )
    assert report.summary == "inserted 2, updated 1, unchanged 0, rejected 3"
    assert [str(error) for error in report.rejected] == [
        "line 4: district is empty",
        'line 5: phone "call us" is not a phone number like 010-6512 3456',
        "line 6: expected 5 columns, found 1",
    ]
    with session_scope(engine) as session:
        assert [o.address for o in find_offices(session, "chaoyang")] == ["1 New Road"]
        assert session.execute(select(func.count()).select_from(Office)).scalar_one() == 2


def test_offices_wrong_header(engine, write_csv):
    with pytest.raises(ImportFileError, match="expected: name,district,address,hours,phone"):
        import_offices(engine, write_csv([["office", "district"], OFFICE[:2]]))


def test_unparseable_line_is_reported_and_the_rest_imported(engine, write_csv):
    text = (
        "\n".join(
            [
                ",".join(HEADER),
                ",".join(row()).replace("Zhang", "Zh\0ang"),
                ",".join(row("SC2026000002")),
            ]
        )
        + "\n"
    )
    report = import_applications(engine, write_csv(text))
    assert [(error.line, error.reason) for error in report.rejected] == [
        (2, "unreadable CSV (line contains NUL)")
    ]
    assert report.inserted == 1
