"""Replies that actions compose, read from actions/replies.yml.

`reply("status_submitted", holder=...)` returns keyword arguments for
`dispatcher.utter_message`, so a reply's wording and buttons stay in the data file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPLIES_FILE = Path(__file__).resolve().parent / "replies.yml"


@lru_cache(maxsize=1)
def _replies() -> dict[str, Any]:
    return yaml.safe_load(REPLIES_FILE.read_text(encoding="utf-8"))


def reply(key: str, **values: Any) -> dict[str, Any]:
    """The reply `key` with its placeholders filled, as utter_message keyword arguments."""
    entry = _replies()[key]
    message: dict[str, Any] = {"text": entry["text"].strip().format(**values)}
    if entry.get("buttons"):
        message["buttons"] = [dict(button) for button in entry["buttons"]]
    return message


def topic_title(intent: str) -> str | None:
    """A button title for a topic the fallback offers, or None for intents that are no topic."""
    return _replies()["topic_titles"].get(intent)
