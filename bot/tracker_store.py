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

Reads and writes go through SQLAlchemy Core statements built once, with the same queries
as Rasa's store (the latest session's events, by id; the new events appended), instead of
an ORM query built per call and a unit of work per event. Profiled under load (50 users,
two replicas), Rasa's ORM path took a quarter of each replica's CPU, a third of it in
SQLAlchemy building cache keys for the same queries again and again.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

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


EVENTS = SQLTrackerStore.SQLEvent.__table__
SENDER = bindparam("sender_id")
# The timestamp of the sender's latest SessionStarted event (NULL before the first one).
_SESSION_START = (
    select(func.max(EVENTS.c.timestamp))
    .where(EVENTS.c.sender_id == SENDER, EVENTS.c.type_name == SessionStarted.type_name)
    .scalar_subquery()
)
# Rasa's filter for "the latest session": from its start, or everything if none started.
_IN_LATEST_SESSION = or_(EVENTS.c.timestamp >= _SESSION_START, _SESSION_START.is_(None))
LATEST_SESSION_EVENTS = (
    select(EVENTS.c.data)
    .where(EVENTS.c.sender_id == SENDER, _IN_LATEST_SESSION)
    .order_by(EVENTS.c.id)
)
ALL_EVENTS = select(EVENTS.c.data).where(EVENTS.c.sender_id == SENDER).order_by(EVENTS.c.id)
STORED_IN_LATEST_SESSION = (
    select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id == SENDER, _IN_LATEST_SESSION)
)
APPEND_EVENT = insert(EVENTS)


def event_row(sender_id: str, event: Any) -> dict[str, Any]:
    """An event as Rasa's store writes it (the columns its queries and tools read)."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": ((data.get("parse_data") or {}).get("intent") or {}).get("name"),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


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

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        statement = ALL_EVENTS if fetch_events_from_all_sessions else LATEST_SESSION_EVENTS
        with self.engine.connect() as connection:
            rows = connection.execute(statement, {"sender_id": sender_id}).scalars().all()
        if not self.domain or not rows:
            return None
        events = [json.loads(data) for data in rows]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events not stored yet, as Rasa does: the tracker holds the latest
        session's stored events first, then the new ones (under the conversation's lock,
        nobody else writes them in between)."""
        await self.stream_events(tracker)
        with self.engine.begin() as connection:
            stored = connection.execute(
                STORED_IN_LATEST_SESSION, {"sender_id": tracker.sender_id}
            ).scalar_one()
            new = list(itertools.islice(tracker.events, stored, None))
            if new:
                connection.execute(
                    APPEND_EVENT, [event_row(tracker.sender_id, event) for event in new]
                )
        logger.debug("Tracker stored to the database.")
