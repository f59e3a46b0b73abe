"""WeChat official account channel at /webhooks/wechat/webhook (plaintext mode).

Set the account's server URL to https://<host>/webhooks/wechat/webhook and its token to the
value of the environment variable WECHAT_TOKEN (never in credentials.yml). Without the
variable the channel answers 503 and the rest of the server runs on.

- GET: URL verification; a valid signature echoes ``echostr``.
- POST: a message; the signature in the query string is checked (403 if wrong), the XML
  read with defusedxml (400 if hostile or malformed), and the assistant's whole turn sent
  back as one passive text reply. WeChat waits 5 seconds, so the turn gets REPLY_TIMEOUT;
  a slower turn finishes in the background and the person is asked to send again.
- Buttons become numbered options; a bare number picks one (bot/channels/wechat_options.py).
- A new follower (subscribe event) gets the greeting; pictures, voice, locations... a polite
  "text only" reply; other events an empty "success", which WeChat shows as nothing.
- WeChat retries a message it got no answer for; a retry gets the same turn's reply
  instead of running the turn twice (which could, say, count a wrong ID tail twice).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.replies import channel_reply, is_too_long
from bot.channels.ttl_memory import TtlMemory
from bot.channels.wechat_options import OptionMemory, render_turn
from bot.channels.wechat_xml import (
    MalformedMessage,
    WeChatMessage,
    parse_message,
    signature_is_valid,
    text_reply,
)

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "WECHAT_TOKEN"
NOT_CONFIGURED = (
    "WeChat is not set up on this server: set the environment variable WECHAT_TOKEN to the "
    "token of the official account's server configuration and restart the Rasa server."
)
# WeChat gives up after 5 seconds; leave room for the network on both sides.
REPLY_TIMEOUT = 4.0
# WeChat retries a message three times within about 15 seconds.
RETRY_WINDOW_SECONDS = 60
EMPTY_REPLY = "success"  # WeChat's documented "nothing to say"
GREETING = "/greet"


class WeChatInput(InputChannel):
    """Rasa input channel for a WeChat official account (subscription or service account)."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # The token is a secret, so it comes from the environment, not the credentials file.
        token = os.environ.get(TOKEN_VARIABLE, "").strip() or None
        if token is None:
            logger.warning(
                "wechat: %s is not set; the WeChat webhook will answer 503.", TOKEN_VARIABLE
            )
        return cls(token)

    def __init__(self, token: str | None, reply_timeout: float = REPLY_TIMEOUT) -> None:
        self.token = token
        self.reply_timeout = reply_timeout
        self.options = OptionMemory()
        self._turns: TtlMemory[str, asyncio.Task] = TtlMemory(RETRY_WINDOW_SECONDS)

    def _refusal(self, request: Request) -> HTTPResponse | None:
        if self.token is None:
            return response.text(NOT_CONFIGURED, status=503)
        args = request.args
        if not signature_is_valid(
            self.token, args.get("signature"), args.get("timestamp"), args.get("nonce")
        ):
            return response.text("Invalid signature.", status=403)
        return None

    async def _answer(
        self,
        message: WeChatMessage,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str:
        """The reply text for ``message`` ("" for nothing), running the assistant if needed."""
        if message.msg_type == "event":
            if (message.event or "").lower() != "subscribe":
                return ""
            text = GREETING
        elif message.msg_type != "text":
            return channel_reply("wechat_text_only")
        else:
            text = message.content or ""
            if is_too_long(text):
                return channel_reply("too_long")
            text = self.options.resolve(message.from_user, text)

        collector = CollectingOutputChannel()
        await on_new_message(
            UserMessage(text, collector, message.from_user, input_channel=self.name())
        )
        reply, payloads = render_turn(collector.messages)
        self.options.remember(message.from_user, payloads)
        return reply

    async def reply_for(
        self,
        message: WeChatMessage,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str:
        """The reply to ``message`` within the reply window; a retry shares the first turn."""
        turn = self._turns.get(message.turn_key)
        if turn is None:
            turn = asyncio.ensure_future(self._answer(message, on_new_message))
            self._turns.put(message.turn_key, turn)
        try:
            # shield: a turn that outlives the reply window still completes.
            return await asyncio.wait_for(asyncio.shield(turn), self.reply_timeout)
        except asyncio.TimeoutError:
            logger.warning("wechat: the turn took over %.1fs; asked to resend", self.reply_timeout)
            return channel_reply("wechat_slow")
        except Exception:
            logger.exception("wechat: the turn failed")
            return ""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("wechat_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.token is not None})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            return response.text(request.args.get("echostr", ""), content_type="text/plain")

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            try:
                message = parse_message(request.body or b"")
            except MalformedMessage as problem:
                logger.info("wechat: refused a request body: %s", problem)
                return response.text("Bad request: not a WeChat XML message.", status=400)

            reply = await self.reply_for(message, on_new_message)
            if not reply:
                return response.text(EMPTY_REPLY)
            return response.text(
                text_reply(message, reply, int(time.time())),
                content_type="application/xml; charset=utf-8",
            )

        return webhook
