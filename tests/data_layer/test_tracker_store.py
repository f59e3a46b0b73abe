"""The tracker store's own read and write path (bot/tracker_store.py) against Rasa's, on
SQLite and PostgreSQL: what one writes the other reads, row for row the same."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from bot.servers import PROJECT_ROOT
from bot.tracker_store import UrlSQLTrackerStore


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def stores(database_url, domain, monkeypatch):
    """(ours, Rasa's) on one empty database."""
    monkeypatch.setenv("TRACKER_STORE_URL", database_url)
    ours = UrlSQLTrackerStore(domain=domain)
    rasa = SQLTrackerStore(domain=domain, host=database_url)
    yield ours, rasa
    ours.engine.dispose()
    rasa.engine.dispose()


def first_session(sender: str, start: float = 1000.0) -> list:
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start + 0.1),
        ActionExecuted("action_listen", timestamp=start + 0.2),
        UserUttered(
            "check my application",
            {"name": "check_application_status", "confidence": 0.98},
            timestamp=start + 1,
        ),
        SlotSet("requested_slot", "application_number", timestamp=start + 1.1),
        BotUttered("What is your application number?", timestamp=start + 1.2),
    ]


def second_turn(start: float = 1010.0) -> list:
    return [
        UserUttered("SC2026000101", {"name": "inform", "confidence": 0.9}, timestamp=start),
        SlotSet("application_number", "SC2026000101", timestamp=start + 0.1),
        BotUttered("And the last 6 characters of the ID number?", timestamp=start + 0.2),
    ]


def run(coroutine):
    return asyncio.run(coroutine)


def tracker(sender: str, events: list, domain: Domain) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def rows(database_url: str, sender: str) -> list[tuple]:
    engine = create_engine(database_url, future=True)
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT type_name, timestamp, intent_name, action_name, data FROM events "
                "WHERE sender_id = :sender ORDER BY id"
            ),
            {"sender": sender},
        ).all()
    engine.dispose()
    return [tuple(row) for row in found]


def test_turn_by_turn_it_writes_the_rows_rasa_writes(stores, domain, database_url):
    ours, rasa = stores
    for store, sender in ((ours, "ours"), (rasa, "rasa")):
        run(store.save(tracker(sender, first_session(sender), domain)))
        conversation = run(store.retrieve(sender))  # as Rasa does at each turn
        for event in second_turn():
            conversation.update(event)
        run(store.save(conversation))
        run(store.save(conversation))  # nothing new: nothing written
    assert len(rows(database_url, "ours")) == 9
    assert rows(database_url, "ours") == rows(database_url, "rasa")


def test_what_one_writes_the_other_reads_back(stores, domain):
    ours, rasa = stores
    events = first_session("x") + second_turn()
    for writer, reader, sender in ((ours, rasa, "a"), (rasa, ours, "b")):
        run(writer.save(tracker(sender, events, domain)))
        read = run(reader.retrieve(sender))
        assert read.current_state() == tracker(sender, events, domain).current_state()
        assert read.get_slot("application_number") == "SC2026000101"


def test_only_the_latest_session_unless_all_are_asked_for(stores, domain):
    ours, rasa = stores
    events = first_session("s") + first_session("s", start=5000.0)
    run(ours.save(tracker("s", events, domain)))
    for store in (ours, rasa):
        latest = run(store.retrieve("s"))
        assert [e.timestamp for e in latest.events] == [e.timestamp for e in events[7:]]
        everything = run(store.retrieve_full_tracker("s"))
        assert len(everything.events) == len(events)
    # A turn after the new session appends after it, once.
    conversation = run(ours.retrieve("s"))
    for event in second_turn(start=5010.0):
        conversation.update(event)
    run(ours.save(conversation))
    assert len(run(rasa.retrieve_full_tracker("s")).events) == len(events) + 3


def test_an_unknown_conversation_is_none(stores):
    ours, _ = stores
    assert run(ours.retrieve("nobody")) is None
    assert run(ours.retrieve_full_tracker("nobody")) is None
