"""Run actions in-process against a real database (both backends, via the `engine` fixture)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.demo_data import load_demo_data

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())


def make_tracker(text="", intent="inform", slots=None, entities=None, ranking=None,
                 events=None, active_loop=None) -> Tracker:
    return Tracker(
        sender_id="action-test",
        slots={"application_number": None, "id_last6": None, "requested_slot": None,
               **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
            "intent_ranking": ranking or [],
        },
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop=active_loop or {},
        latest_action_name="action_listen",
    )


def run_action(action, tracker) -> tuple[list[dict], list[dict]]:
    """(messages sent, events returned), as the action server would produce them."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


@pytest.fixture
def demo_engine(engine, monkeypatch):
    """The demo data in a fresh database, wired in as the action server's engine."""
    load_demo_data(engine)
    for module in ("actions.application_status", "actions.offices"):
        monkeypatch.setattr(f"{module}.engine", lambda: engine)
    return engine
