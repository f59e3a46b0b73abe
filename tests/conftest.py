"""Shared fixtures: real databases on both backends, and the real servers.

``database_url`` runs a test twice: on a fresh SQLite file, and on a PostgreSQL database
created for the test module on this machine's server (reset to an empty schema before each
test). PostgreSQL is never skipped: an unreachable server fails the tests with a hint.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError

from bot.db import make_engine, upgrade_schema
from bot.servers import DEFAULT_MODEL, ServerSet, free_port, start_servers
from tests.e2e.conftest import run_cli

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
START_POSTGRES_HINT = (
    "Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start "
    "(or point TEST_POSTGRES_URL at a server where this role may create databases)."
)

BACKENDS = ["sqlite", "postgresql"]


def _admin_engine() -> tuple[Engine, URL]:
    """An AUTOCOMMIT engine on the test server (CREATE/DROP DATABASE refuse transactions)."""
    base = make_url(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL)
    errors = []
    # The base URL's own database may not exist on a fresh server; "postgres" always does.
    for candidate in dict.fromkeys([base, base.set(database="postgres")]):
        engine = create_engine(candidate, future=True, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return engine, base
        except OperationalError as error:
            errors.append(f"{candidate.render_as_string(hide_password=True)}: {error.orig}")
            engine.dispose()
    pytest.fail(
        "PostgreSQL is not reachable for the tests.\n"
        + "\n".join(errors)
        + "\n"
        + START_POSTGRES_HINT,
        pytrace=False,
    )


@pytest.fixture(scope="module")
def postgres_database_url() -> Iterator[str]:
    """A PostgreSQL database of its own for this test module, dropped afterwards."""
    admin, base = _admin_engine()
    name = f"bureau_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_postgres(url: str) -> None:
    # Cheaper than a database per test and just as clean: every table, index and the
    # alembic_version row live in the public schema.
    engine = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """URL of an empty database (no schema yet), once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bureau.db'}"
    url = request.getfixturevalue("postgres_database_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    """An engine on ``database_url`` with the schema at head."""
    upgrade_schema(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# The real servers, shared by every suite that talks to them (tests/e2e, tests/browser,
# tests/channels). Defined once, here: a session fixture imported into several conftest
# files becomes a separate fixture in each, and each would start its own servers.


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'bureau.db'}"
    result = run_cli(url, "demo-data")
    assert result.returncode == 0, result.stdout + result.stderr
    return url


@pytest.fixture(scope="session")
def wechat_token() -> str:
    """The WeChat token the test servers run with (tests sign requests with it)."""
    return "e2e-wechat-token"


@pytest.fixture(scope="session")
def servers(e2e_database_url, wechat_token, tmp_path_factory) -> Iterator[ServerSet]:
    assert DEFAULT_MODEL.exists(), "no trained model: run `make train` (make test does)"
    state = tmp_path_factory.mktemp("e2e-state")
    running = start_servers(
        rasa_port=free_port(),
        action_port=free_port(),
        log_dir=tmp_path_factory.mktemp("e2e-logs"),
        extra_env={
            "DATABASE_URL": e2e_database_url,
            "WECHAT_TOKEN": wechat_token,
            # Test conversations go to a file of their own, not the developer's var/tracker.db.
            "TRACKER_STORE_URL": f"sqlite:///{state / 'tracker.db'}",
        },
    )
    yield running
    running.stop()
