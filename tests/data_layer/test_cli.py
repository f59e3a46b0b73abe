"""The staff CLI, run as staff run it: ``python -m bot ...`` in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.demo_data import DEMO_APPLICATIONS
from bot.identifiers import resident_id_check_character

HEADER = "application_number,holder_name,id_number,status,updated_at,collection_point,note"
FULL_ID = "11010519491231002X"
OTHER_ID = "440524188001010014"


def id_with(sequence: int) -> str:
    first17 = f"11010820160930{sequence:03d}"
    return first17 + resident_id_check_character(first17)


GOOD_CSV = (
    "\n".join(
        [
            HEADER,
            f"SC2026000001,Zhang Xiaoming,{FULL_ID.lower()},submitted,2026-03-01,,",
            f"SC2026000001,Zhang Xiaoming,{FULL_ID},ready_for_collection,2026-03-09,"
            '"Chaoyang centre, window 3",',
            f"SC2026000002,张小明,{OTHER_ID},rejected,2026-03-02,,"
            "Photo does not meet the requirements.",
        ]
    )
    + "\n"
)


def test_db_upgrade(run_cli):
    result = run_cli("db", "upgrade")
    assert result.code == 0, result.output
    assert "is at revision 0001_initial" in result.stdout


def test_import_then_show_masks_the_holder(run_cli, write_csv):
    imported = run_cli("applications", "import", str(write_csv(GOOD_CSV)))
    assert imported.code == 0, imported.output
    assert imported.stdout == "inserted 2, updated 1, unchanged 0, rejected 0\n"

    shown = run_cli("applications", "show", "sc-2026", "000001")
    assert shown.code == 0, shown.output
    assert shown.stdout == (
        "Application SC2026000001\n"
        "  Holder:           Z** Xiaoming\n"
        "  ID number:        1101**********002X\n"
        "  Status:           ready_for_collection\n"
        "  Updated:          2026-03-09\n"
        "  Collection point: Chaoyang centre, window 3\n"
        "  Note:             -\n"
        "Status history:\n"
        "  2026-03-01  submitted\n"
        "  2026-03-09  ready_for_collection\n"
    )
    assert FULL_ID not in shown.output
    assert "Zhang" not in shown.output

    rejected = run_cli("applications", "show", "SC2026000002")
    assert "  Holder:           张**\n" in rejected.stdout
    assert "  ID number:        4405**********0014\n" in rejected.stdout
    assert "  Note:             Photo does not meet the requirements.\n" in rejected.stdout
    assert OTHER_ID not in rejected.output


def test_import_with_bad_rows_lists_them_and_exits_1(run_cli, write_csv):
    text = (
        "\n".join(
            [
                HEADER,
                f"SC2026000001,Wang Lei,{id_with(11)},submitted,2026-03-01,,",
                f'SC2026000002,Li Na,{id_with(12)},in_production,2026-03-01,,"two\nlines"',
                f"SC2026000003,Chen Jie,{id_with(13)},approved,2026-03-01,,",
                "SC20260004,,110108201609300130,submitted,03/01/2026,,",
                "SC2026000005,too,few",
            ]
        )
        + "\n"
    )
    result = run_cli("applications", "import", str(write_csv(text)))
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith('line 5: status "approved" is not one of: submitted, ')
    assert lines[1].startswith('line 6: application number "SC20260004" is not "SC" followed by')
    assert "holder name is empty" in lines[1]
    assert "check character" in lines[1]
    assert 'updated_at "03/01/2026" is not a date in the form YYYY-MM-DD' in lines[1]
    assert lines[2] == "line 7: expected 7 columns, found 3"
    assert lines[3] == "inserted 2, updated 0, unchanged 0, rejected 3"
    assert len(lines) == 4
    assert "110108201609300130" not in result.output


def test_import_missing_file_exits_2(run_cli, tmp_path):
    result = run_cli("applications", "import", str(tmp_path / "missing.csv"))
    assert result.code == 2
    assert "missing.csv: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_wrong_header_exits_2(run_cli, write_csv):
    result = run_cli("applications", "import", str(write_csv("number,name\nSC2026000001,A\n")))
    assert result.code == 2
    assert "wrong header" in result.stderr
    assert f"expected: {HEADER}" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_unknown_number(run_cli):
    result = run_cli("applications", "show", "SC2026999999")
    assert result.code == 1
    assert result.stdout == "Application SC2026999999 not found.\n"


def test_show_malformed_number_explains_the_format(run_cli):
    result = run_cli("applications", "show", "SC-123")
    assert result.code == 2
    assert result.stderr == (
        '"SC-123" is not an application number: expected "SC" followed by 10 digits, '
        "for example SC2026000123.\n"
    )


def test_offices_import_and_list(run_cli, write_csv):
    path = write_csv(
        "name,district,address,hours,phone\n"
        "Chaoyang Centre,Chaoyang,9 Park Road,Mon-Fri 9:00-17:00,010-6590 3188\n"
        "Haidian Centre,Haidian,27 South Road,Mon-Fri 9:00-17:00,010-6251 7706\n"
        "Nowhere,,1 Road,Mon-Fri,010-1234 5678\n"
    )
    imported = run_cli("offices", "import", str(path))
    assert imported.code == 1
    assert imported.stdout == (
        "line 4: district is empty\ninserted 2, updated 0, unchanged 0, rejected 1\n"
    )

    listed = run_cli("offices", "list", "--district", "chaoyang district")
    assert listed.code == 0
    assert listed.stdout == (
        "Chaoyang Centre (Chaoyang)\n"
        "  Address: 9 Park Road\n"
        "  Hours:   Mon-Fri 9:00-17:00\n"
        "  Phone:   010-6590 3188\n"
    )
    assert run_cli("offices", "list").stdout.count("Centre (") == 2

    unknown = run_cli("offices", "list", "--district", "Fengtai")
    assert unknown.code == 1
    assert unknown.stdout == (
        'No offices in district "Fengtai". Districts with offices: Chaoyang, Haidian.\n'
    )


def test_offices_list_when_none_loaded(run_cli):
    result = run_cli("offices", "list")
    assert result.code == 0
    assert "No offices loaded." in result.stdout


def test_demo_data_lists_numbers_statuses_and_tails_and_is_idempotent(run_cli):
    first = run_cli("demo-data")
    assert first.code == 0, first.output
    assert first.stdout.startswith("Demo data loaded: 6 applications (6 new), 6 offices (6 new).")
    for record in DEMO_APPLICATIONS:
        assert (
            f"  {record.application_number}  {record.status.value:<21} ID tail {record.id_tail}\n"
            in first.stdout
        )
        assert record.holder_id_number not in first.output

    second = run_cli("demo-data")
    assert second.code == 0
    assert "6 applications (0 new), 6 offices (0 new)" in second.stdout

    shown = run_cli("applications", "show", "SC2026000104")
    assert shown.stdout.count("\n  2026-") == 4  # the demo history survived the second load
    listed = run_cli("offices", "list", "--district", "Chaoyang")
    assert listed.stdout.count(" (Chaoyang)\n") == 2


def test_no_command_shows_usage(run_cli):
    result = run_cli()
    assert result.code == 2
    assert "usage: python -m bot" in result.stderr


def test_unreachable_database_is_a_clear_error():
    env = {**os.environ, "DATABASE_URL": "postgresql+psycopg2://nobody:secret@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: database postgresql+psycopg2://nobody:***@127.0.0.1:1/none: "
    )
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_default_database_is_used_when_no_url_is_set(tmp_path):
    # Run a copy of bot/ so the default var/bureau.db lands in a temp "project root".
    root = tmp_path / "project"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "bot",
        root / "bot",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (root / "var" / "bureau.db").is_file()
