"""Alembic owns the schema: upgrades create exactly the mapped tables, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.db import head_revision, make_engine, session_scope, upgrade_schema
from bot.models import Base

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TABLES = {"applications", "status_history", "verification_attempts", "offices"}


def test_upgrade_creates_exactly_the_tables(database_url):
    assert upgrade_schema(database_url) == head_revision()
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_models_match_the_migrations(engine):
    # A model changed without a migration (or the reverse) shows up here.
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_twice_is_harmless(engine, database_url):
    with session_scope(engine) as session:
        session.execute(
            text(
                "INSERT INTO offices (name, district, address, hours, phone) "
                "VALUES ('A', 'B', 'C', 'D', '010-1234 5678')"
            )
        )
    assert upgrade_schema(database_url) == head_revision()
    with session_scope(engine) as session:
        assert session.execute(text("SELECT count(*) FROM offices")).scalar_one() == 1


def test_replicas_upgrading_at_once_do_not_collide(database_url):
    # Several action server replicas start together on an empty database.
    with ThreadPoolExecutor(max_workers=4) as pool:
        revisions = list(pool.map(lambda _: upgrade_schema(database_url), range(4)))
    assert revisions == [head_revision()] * 4


def test_verification_index_exists(engine):
    indexes = {
        index["name"]: index["column_names"]
        for index in inspect(engine).get_indexes("verification_attempts")
    }
    assert indexes["ix_verification_attempts_application_number_attempted_at"] == [
        "application_number",
        "attempted_at",
    ]


def test_sqlite_file_and_its_directory_are_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'nested' / 'bureau.db'}"
    upgrade_schema(url)
    assert (tmp_path / "var" / "nested" / "bureau.db").is_file()


def test_sqlite_is_shared_safely_between_processes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'bureau.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()


def test_deleting_an_application_deletes_its_history(engine):
    with session_scope(engine) as session:
        session.execute(
            text(
                "INSERT INTO applications (id, application_number, holder_name, holder_id_number, "
                "status, updated_at) VALUES (1, 'SC2026000001', 'A', '11010519491231002X', "
                "'submitted', '2026-01-02')"
            )
        )
        session.execute(
            text(
                "INSERT INTO status_history (application_id, status, changed_at, recorded_at) "
                "VALUES (1, 'submitted', '2026-01-02', '2026-01-02 10:00:00+00:00')"
            )
        )
    with session_scope(engine) as session:
        session.execute(text("DELETE FROM applications"))
    with session_scope(engine) as session:
        assert session.execute(text("SELECT count(*) FROM status_history")).scalar_one() == 0


def test_unreachable_postgres_fails_with_how_to_start_it():
    # The PostgreSQL half of the suite must fail loudly, never skip, when the server is down.
    target = "tests/data_layer/test_offices.py::test_office_fields_must_not_be_empty"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TEST_POSTGRES_URL": "postgresql+psycopg2://postgres@127.0.0.1:1/x"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "PostgreSQL is not reachable for the tests." in result.stdout
    assert "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start" in (
        result.stdout
    )
    assert "1 passed, 1 error" in result.stdout  # SQLite ran; PostgreSQL errored, not skipped
