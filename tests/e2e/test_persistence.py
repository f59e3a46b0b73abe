"""Conversations persist: stop both servers in the middle of the status form, start them
again on the same tracker store, and the conversation goes on where it was. On SQLite (the
default) and on PostgreSQL (TRACKER_STORE_URL).

The two backends' servers start side by side (two cores; loading the model is mostly one
thread), which halves the time of the four starts this needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, text

from bot.demo_data import DEMO_APPLICATIONS
from bot.servers import ServerSet, free_port, start_servers
from bot.statuses import ApplicationStatus
from bot.tracker_store import UrlSQLTrackerStore, default_tracker_store_url, tracker_store_url
from tests.e2e.conftest import Chat

READY = next(a for a in DEMO_APPLICATIONS if a.status is ApplicationStatus.READY_FOR_COLLECTION)
T = TypeVar("T")


def events_stored_for(url: str, sender: str) -> int:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :sender"), {"sender": sender}
            ).scalar_one()
    finally:
        engine.dispose()


def for_each(backends: dict[str, T], work: Callable[[str, T], object]) -> dict[str, object]:
    """``work`` for every backend at the same time; results by backend."""
    with ThreadPoolExecutor(max_workers=len(backends)) as pool:
        futures = {name: pool.submit(work, name, value) for name, value in backends.items()}
        return {name: future.result() for name, future in futures.items()}


@contextmanager
def servers_on(stores: dict[str, str], database_url: str, log_dir: Path) -> Iterator[dict]:
    """A pair of servers per tracker store URL, started together, stopped on exit."""
    running: dict[str, ServerSet] = {}

    def start(backend: str, url: str) -> ServerSet:
        running[backend] = start_servers(
            free_port(),
            free_port(),
            log_dir=log_dir / backend,
            extra_env={"DATABASE_URL": database_url, "TRACKER_STORE_URL": url},
        )
        return running[backend]

    try:
        for_each(stores, start)
        yield running
    finally:
        for_each(running, lambda _, servers: servers.stop())


@pytest.mark.e2e
def test_conversations_mid_form_survive_restarting_both_servers(
    postgres_database_url, e2e_database_url, tmp_path
):
    stores = {
        # A directory that does not exist yet, as on a fresh checkout (var/ is git-ignored).
        "sqlite": f"sqlite:///{tmp_path / 'fresh' / 'tracker.db'}",
        "postgresql": postgres_database_url,
    }

    def until_mid_form(_: str, servers: ServerSet) -> str:
        chat = Chat(servers.rasa_url)
        assert "application number" in chat.say("I'd like to check my application status")
        assert "last 6 characters" in chat.say(READY.application_number)
        return chat.sender

    with servers_on(stores, e2e_database_url, tmp_path / "first") as running:
        senders = for_each(running, until_mid_form)
    for backend, url in stores.items():
        assert events_stored_for(url, senders[backend]) > 0, backend

    def finish(backend: str, servers: ServerSet) -> str:
        return Chat(servers.rasa_url, sender=senders[backend]).say(READY.id_tail)

    with servers_on(stores, e2e_database_url, tmp_path / "second") as running:
        answers = for_each(running, finish)
    for backend, answer in answers.items():
        assert "ready for collection" in answer, f"{backend}: {answer}"
        assert READY.collection_point in answer, backend


# --- the store's configuration, without servers


def test_the_default_is_sqlite_under_var(monkeypatch):
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    assert tracker_store_url() == default_tracker_store_url()
    assert default_tracker_store_url().endswith("/var/tracker.db")
    assert tracker_store_url({"TRACKER_STORE_URL": "  "}) == default_tracker_store_url()


def test_the_store_uses_the_url_and_creates_the_sqlite_directory(monkeypatch, tmp_path):
    database = tmp_path / "not" / "there" / "tracker.db"
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{database}")
    # What Rasa passes from endpoints.yml: the type's other fields are ignored.
    store = UrlSQLTrackerStore(domain=None, host=None, db="ignored.db", dialect="postgresql")
    try:
        assert store.engine.url.database == str(database)
        assert database.exists()
    finally:
        store.engine.dispose()
