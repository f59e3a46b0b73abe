"""What the channels say themselves (too long, text only...), read from
bot/content/channel_replies.yml so the wording is data, not code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

CHANNEL_REPLIES_FILE = Path(__file__).resolve().parent.parent / "content" / "channel_replies.yml"

# Long enough for any real question (the longest seed answer is under 1,000 characters),
# short enough that nobody pastes a document into the NLU pipeline or the tracker store.
MAX_MESSAGE_CHARS = 2000


@lru_cache(maxsize=1)
def _replies() -> dict[str, str]:
    return yaml.safe_load(CHANNEL_REPLIES_FILE.read_text(encoding="utf-8"))


def channel_reply(key: str) -> str:
    """The reply called ``key``, with the message limit filled in where it is mentioned."""
    return _replies()[key].format(limit=f"{MAX_MESSAGE_CHARS:,}")


def is_too_long(text: str) -> bool:
    """True when ``text`` is over the limit (counted in characters, not bytes)."""
    return len(text) > MAX_MESSAGE_CHARS
