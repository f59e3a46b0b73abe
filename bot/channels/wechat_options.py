"""Buttons on WeChat: WeChat text replies have none, so they become numbered options
("1. What should I bring?") and a bare number in the person's next message means that
option's payload."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from bot.channels.replies import channel_reply
from bot.channels.ttl_memory import TtlMemory

# Long enough to read the options and answer; short enough that a "2" typed tomorrow is
# taken as what it says. Rasa's own session lasts 60 minutes (domain.yml).
OPTIONS_TTL_SECONDS = 30 * 60

# "1", "1.", "１" (full-width, common with Chinese keyboards), " 2 ".
_BARE_NUMBER = re.compile(r"(\d{1,2})[.)、]?")


def render_turn(messages: Iterable[dict[str, Any]]) -> tuple[str, list[str]]:
    """One text for all the bot messages of a turn, and the payloads of its options in order.

    ``messages`` are what Rasa's CollectingOutputChannel collected: dicts with "text" and
    optionally "buttons" ({"title", "payload"}) or "image".
    """
    parts: list[str] = []
    buttons: list[dict[str, Any]] = []
    for message in messages:
        if message.get("text"):
            parts.append(message["text"].strip())
        if message.get("image"):
            parts.append(str(message["image"]))
        buttons.extend(b for b in message.get("buttons") or [] if b.get("payload"))
    if buttons:
        lines = [channel_reply("wechat_options_intro")]
        lines += [f"{number}. {button['title']}" for number, button in enumerate(buttons, 1)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts), [str(b["payload"]) for b in buttons]


class OptionMemory:
    """The options each person was last shown, so that "2" can mean the second one."""

    def __init__(self, ttl_seconds: float = OPTIONS_TTL_SECONDS, max_people: int = 10_000):
        self._last: TtlMemory[str, list[str]] = TtlMemory(ttl_seconds, max_people)

    def remember(self, person: str, payloads: list[str]) -> None:
        if payloads:
            self._last.put(person, payloads)
        else:
            # A turn without options: an old "1" must not come back to life.
            self._last.forget(person)

    def resolve(self, person: str, text: str) -> str:
        """The payload ``text`` picks, or ``text`` itself when it is not a shown option."""
        match = _BARE_NUMBER.fullmatch(unicodedata.normalize("NFKC", text).strip())
        payloads = self._last.get(person)
        if match and payloads and 1 <= int(match.group(1)) <= len(payloads):
            return payloads[int(match.group(1)) - 1]
        return text
