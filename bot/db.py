"""Database engines, units of work and schema upgrades (SQLite or PostgreSQL).

Several processes share one database (the Rasa action server runs as several replicas, and
staff run the CLI at the same time), so SQLite files are opened in WAL mode with a busy
timeout, and schema upgrades are serialised between processes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Writers queue behind each other on SQLite; a CSV import commits every few thousand rows,
# so 30 s is far more than any wait should take while still failing eventually.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def is_sqlite(url: str | URL) -> bool:
    """Tell whether a database URL (or engine URL) points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def display_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _ensure_wal(cursor) -> None:
    """Put the database file in WAL mode, which then sticks to the file.

    WAL lets readers (the action server answering) proceed while a writer imports. Switching
    needs the file to itself, and SQLite answers "database is locked" at once, without
    waiting for the busy timeout, when another connection (a replica starting at the same
    moment) holds it. So: nothing to do when the file is already in WAL mode; otherwise try
    again for up to the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() in ("wal", "memory"):
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite_connection(dbapi_connection, _connection_record) -> None:
    """On each new SQLite connection: busy timeout, WAL, NORMAL sync, foreign keys."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        _ensure_wal(cursor)
        # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
        cursor.execute("PRAGMA synchronous = NORMAL")
        # SQLite ignores foreign keys unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def make_engine(url: str) -> Engine:
    """Create an Engine (SQLAlchemy 2.0-style API) configured for this project's backends.

    For a SQLite file the parent directory is created if missing (var/ on a fresh checkout).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: the action server lives for days; PostgreSQL restarts should not surface
        # as a failed answer to a parent.
        return create_engine(url, future=True, pool_pre_ping=True)

    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a Session for one unit of work: committed on success, rolled back on any error."""
    with Session(engine, future=True) as session, session.begin():
        yield session


def begin_write_lock(session_or_connection: Session | Connection, key: str) -> None:
    """Serialise the current transaction with others holding the same ``key`` until it ends.

    Needed where a decision is read and then written (the verification lockout): without it,
    parallel requests from several replicas could all read "two failures so far" and each get
    a guess. PostgreSQL takes a transaction-scoped advisory lock on a hash of the key. SQLite
    has a single writer, so taking the write lock up front (BEGIN IMMEDIATE) serialises every
    writer, which is coarser but correct.
    """
    connection = (
        session_or_connection.connection()
        if isinstance(session_or_connection, Session)
        else session_or_connection
    )
    backend = connection.dialect.name
    if backend == "postgresql":
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        lock_id = int.from_bytes(digest, "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": lock_id})
    elif backend == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        # pysqlite opens a transaction only before the first INSERT/UPDATE/DELETE, and that
        # statement takes the write lock; if one already ran, the lock is already held.
        if not dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    # ConfigParser interpolation treats "%" specially; a checkout path could contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration revision shipped with the code."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(url: str) -> str | None:
    """Bring the database at ``url`` to the newest migration; return that revision.

    Safe to call from several processes at once (replicas starting together): the upgrade
    runs under a lock, so the second process finds the schema already at head.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            begin_write_lock(connection, "bureau-schema-upgrade")
            command.upgrade(_alembic_config(connection), "head")
        return current_revision(engine)
    finally:
        engine.dispose()
