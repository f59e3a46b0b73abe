"""Two Rasa replicas, one conversation state: 100 people at once, every turn on the other
replica than the one before, then every conversation read back from the tracker store.

Each turn goes straight to a replica (not through nginx) so that the alternation is exact:
turn 3 is only understood if the replica answering it sees the form turn 2 started on the
other one, and turn 4 only names the right holder if both slots crossed over intact.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from bot.demo_data import DEMO_APPLICATIONS
from bot.identifiers import mask_name
from tests.faults.clients import RestPerson
from tests.faults.conftest import run

pytestmark = pytest.mark.e2e

PEOPLE = 100
FORM_SLOTS = ("application_number", "id_last6", "requested_slot")


def script(person: int) -> list[tuple[str, str | None]]:
    """Ten turns: (message, text the reply must contain)."""
    first = DEMO_APPLICATIONS[person % len(DEMO_APPLICATIONS)]
    second = DEMO_APPLICATIONS[(person + 1) % len(DEMO_APPLICATIONS)]
    return [
        ("hello", "welcome"),
        ("check my application", "application number"),
        (first.application_number, "last 6 characters"),
        (first.id_tail, f"{first.application_number} for {mask_name(first.holder_name)}:"),
        ("where is the office in haidian", "Haidian"),
        ("how much is reimbursed", None),
        ("I'd like to check my application status", "application number"),
        (second.application_number, "last 6 characters"),
        (second.id_tail, f"{second.application_number} for {mask_name(second.holder_name)}:"),
        ("thanks", None),
    ]


async def _converse(session, urls, person: int) -> dict:
    chat = RestPerson(session, urls[0], sender=f"two-replicas-{person}-{id(session)}")
    turns = []
    for turn, (message, expected) in enumerate(script(person)):
        chat.base_url = urls[(person + turn) % 2]  # alternate, half the people starting on each
        replies = await chat.say(message)
        turns.append({"message": message, "expected": expected, "replies": replies})
    return {"sender": chat.sender, "statuses": chat.statuses, "turns": turns}


async def _everyone(urls) -> list[dict]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        return await asyncio.gather(*(_converse(session, urls, p) for p in range(PEOPLE)))


@pytest.fixture(scope="module")
def conversations(cluster) -> list[dict]:
    return run(_everyone(cluster.rasa_urls))


def test_every_turn_is_answered_correctly_on_either_replica(conversations):
    problems = []
    for conversation in conversations:
        assert set(conversation["statuses"]) == {200}, conversation["statuses"]
        for number, turn in enumerate(conversation["turns"], 1):
            said = "\n".join(turn["replies"])
            if not turn["replies"] or (turn["expected"] and turn["expected"] not in said):
                problems.append(
                    f"{conversation['sender']} turn {number} {turn['message']!r}: "
                    f"expected {turn['expected']!r}, got {said[:200]!r}"
                )
    assert not problems, f"{len(problems)} wrong turns, e.g.\n" + "\n".join(problems[:10])


def _stored_events(database_url: str, sender: str) -> list[tuple[int, float, dict]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, timestamp, data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": sender},
            ).all()
    finally:
        engine.dispose()
    return [(row.id, row.timestamp, json.loads(row.data)) for row in rows]


def test_every_event_is_stored_once_and_in_order(conversations, cluster_database_url):
    for conversation in conversations:
        events = _stored_events(cluster_database_url, conversation["sender"])
        data = [event for _, _, event in events]

        user_texts = [e["text"] for e in data if e["event"] == "user"]
        assert user_texts == [t["message"] for t in conversation["turns"]], conversation["sender"]

        bot_texts = [e.get("text") or "" for e in data if e["event"] == "bot"]
        assert bot_texts == [r for t in conversation["turns"] for r in t["replies"]]

        timestamps = [timestamp for _, timestamp, _ in events]
        assert timestamps == sorted(timestamps), "events stored out of order"
        # Each turn ends by listening, once: a turn stored twice would listen twice.
        listens = [e for e in data if e["event"] == "action" and e["name"] == "action_listen"]
        assert len(listens) == len(conversation["turns"]) + 1  # +1: the session start
        assert sum(e["event"] == "session_started" for e in data) == 1


def test_slots_follow_the_conversation_and_are_forgotten_at_the_end(
    conversations, cluster_database_url
):
    for person, conversation in enumerate(conversations):
        data = [e for _, _, e in _stored_events(cluster_database_url, conversation["sender"])]
        numbers = [
            e["value"]
            for e in data
            if e["event"] == "slot" and e["name"] == "application_number" and e["value"]
        ]
        first, second = (script(person)[i][0] for i in (2, 7))
        assert numbers == [first, second]

        final = {}
        for event in data:
            if event["event"] == "slot":
                final[event["name"]] = event["value"]
            if event["event"] == "active_loop":
                final["active_loop"] = event["name"]
        assert all(final.get(slot) is None for slot in (*FORM_SLOTS, "active_loop")), final
