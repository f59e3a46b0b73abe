"""Rasa's SQL tracker store, configured by one URL: TRACKER_STORE_URL.

Conversations (Rasa's trackers: every event, slots and active forms included) outlive a
restart of the servers. endpoints.yml names this class; the URL comes from the environment:

TRACKER_STORE_URL
    SQLAlchemy URL. Default: ``sqlite:///<project root>/var/tracker.db`` (created on first use).
    PostgreSQL: ``postgresql+psycopg2://user:password@host:5432/rasa`` (the database must
    exist; Rasa creates its ``events`` table).

Why a class and not ``type: SQL`` with ``${VAR}`` fields in endpoints.yml: Rasa's store
takes dialect, host, port, db, user and password separately, has no default when a variable
is unset, and retries a failed connection forever, so an SQLite file in a missing directory
hangs the start-up. Here one variable, a working default and the directory made first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
URL_VARIABLE = "TRACKER_STORE_URL"


def default_tracker_store_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"


def tracker_store_url(environ: dict[str, str] | None = None) -> str:
    """The configured URL (blank means the default)."""
    environ = os.environ if environ is None else environ
    return environ.get(URL_VARIABLE, "").strip() or default_tracker_store_url()


def _prepare_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


class UrlSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose database is the URL in TRACKER_STORE_URL (default: SQLite)."""

    def __init__(self, domain: Any = None, event_broker: Any = None, **kwargs: Any) -> None:
        url = tracker_store_url()
        _prepare_sqlite_directory(url)
        # Rasa passes endpoints.yml's fields (and its own "host"/"url") as keyword
        # arguments; the URL replaces them all. SQLTrackerStore takes a host containing
        # "://" as a complete database URL.
        for field in ("host", "dialect", "port", "db", "username", "password", "login_db"):
            kwargs.pop(field, None)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
