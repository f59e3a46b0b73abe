"""Alembic environment for the bureau database.

Normally run through :func:`bot.db.upgrade_schema`, which passes an open connection in
``config.attributes["connection"]``. Without one (for example ``alembic`` run by hand with a
Config pointing here), the URL comes from DATABASE_URL via :func:`bot.settings.get_settings`.
"""

from alembic import context

from bot.models import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates tables for later migrations.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return

    from bot.db import make_engine
    from bot.settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
