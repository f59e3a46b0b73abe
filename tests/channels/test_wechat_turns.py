"""How the WeChat channel turns a message into one reply in time, with the assistant
replaced by a scripted one: the real assistant (tests/channels/test_wechat.py) cannot be
made slow on purpose, and these paths are about time and order."""

from __future__ import annotations

import asyncio

from bot.channels.replies import channel_reply
from bot.channels.wechat import WeChatInput
from bot.channels.wechat_xml import WeChatMessage

BUTTONS = [
    {"title": "What should I bring?", "payload": "/child_card_documents"},
    {"title": "Check my application", "payload": "/application_status"},
]


class ScriptedAssistant:
    """Answers every message with one text and two buttons, after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.heard: list[str] = []

    async def __call__(self, message) -> None:
        self.heard.append(message.text)
        await asyncio.sleep(self.delay)
        await message.output_channel.send_text_with_buttons(
            message.sender_id, f"You said {message.text}", BUTTONS
        )


def text(content: str, msg_id: str = "1") -> WeChatMessage:
    return WeChatMessage("gh_bureau", "oPerson", "1767225600", "text", content, msg_id=msg_id)


def test_a_slow_turn_is_answered_in_time_and_still_completes():
    async def scenario():
        channel = WeChatInput("token", reply_timeout=0.1)
        assistant = ScriptedAssistant(delay=0.3)
        reply = await channel.reply_for(text("hello"), assistant)
        await asyncio.sleep(0.4)
        # The turn went on: its options are remembered for the person's next message.
        return reply, assistant.heard, channel.options.resolve("oPerson", "2")

    reply, heard, option = asyncio.run(scenario())
    assert reply == channel_reply("wechat_slow")
    assert heard == ["hello"]
    assert option == "/application_status"


def test_a_retry_shares_the_turn_of_the_first_delivery():
    async def scenario():
        channel = WeChatInput("token", reply_timeout=2)
        assistant = ScriptedAssistant(delay=0.2)
        first, retry = await asyncio.gather(
            channel.reply_for(text("hello", msg_id="42"), assistant),
            channel.reply_for(text("hello", msg_id="42"), assistant),
        )
        later = await channel.reply_for(text("hello", msg_id="42"), assistant)
        return first, retry, later, assistant.heard

    first, retry, later, heard = asyncio.run(scenario())
    assert first == retry == later
    assert first.startswith("You said hello") and "1. What should I bring?" in first
    assert heard == ["hello"]


def test_a_number_is_sent_as_the_payload_of_the_option_shown():
    async def scenario():
        channel = WeChatInput("token")
        assistant = ScriptedAssistant()
        await channel.reply_for(text("hello", msg_id="1"), assistant)
        await channel.reply_for(text("1", msg_id="2"), assistant)
        return assistant.heard

    assert asyncio.run(scenario()) == ["hello", "/child_card_documents"]


def test_what_the_assistant_never_sees():
    async def scenario():
        channel = WeChatInput("token")
        assistant = ScriptedAssistant()
        image = WeChatMessage("gh_bureau", "oPerson", "1", "image", msg_id="5")
        unsubscribe = WeChatMessage("gh_bureau", "oPerson", "2", "event", event="unsubscribe")
        subscribe = WeChatMessage("gh_bureau", "oPerson", "3", "event", event="subscribe")
        replies = [
            await channel.reply_for(image, assistant),
            await channel.reply_for(text("x" * 2001, msg_id="6"), assistant),
            await channel.reply_for(unsubscribe, assistant),
            await channel.reply_for(subscribe, assistant),
        ]
        return replies, assistant.heard

    replies, heard = asyncio.run(scenario())
    assert replies[:3] == [channel_reply("wechat_text_only"), channel_reply("too_long"), ""]
    assert replies[3].startswith("You said /greet")
    assert heard == ["/greet"]
