"""The REST channel at /webhooks/rest/webhook: Rasa's own, with every request checked first.

Rasa's RestInput answers a body that is not a JSON object, or lacks "sender", with a 500
(it calls ``.get`` on whatever it parsed). Here a request middleware on the channel's
blueprint checks the body before Rasa's handler runs: a malformed body gets a 400 that says
what is wrong, an over-long message gets the polite "too long" reply without reaching the
NLU pipeline or the tracker store. The channel keeps the name "rest", so the URL is unchanged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.replies import channel_reply, is_too_long
from bot.channels.sanitise import LONE_SURROGATE, clean_text

logger = logging.getLogger(__name__)

# The SQL tracker store keeps sender ids in a VARCHAR(255); a longer one would fail there.
MAX_SENDER_CHARS = 255


class BadRestBody(ValueError):
    """The request body is not a message Rasa can take; the text says why (for the client)."""


def parse_rest_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a REST message, checked; raises :class:`BadRestBody` otherwise."""
    if not raw or not raw.strip():
        raise BadRestBody('The body is empty: send {"sender": "...", "message": "..."}.')
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        raise BadRestBody("The body is not valid JSON (UTF-8).") from None
    if not isinstance(body, dict):
        raise BadRestBody('The body must be a JSON object: {"sender": "...", "message": "..."}.')
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRestBody('"sender" must be a non-empty string.')
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRestBody(f'"sender" must be at most {MAX_SENDER_CHARS} characters.')
    if not isinstance(body.get("message"), str):
        raise BadRestBody('"message" must be a string.')
    if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        raise BadRestBody('"metadata", if given, must be a JSON object.')
    if body.get("input_channel") is not None and not isinstance(body["input_channel"], str):
        raise BadRestBody('"input_channel", if given, must be a string.')
    return body


class RestInput(RasaRestInput):
    """Rasa's REST channel behind a check of the request body and the message length."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        # Blueprint middleware runs only for this blueprint's routes (Sanic >= 21.3), and a
        # response returned here means Rasa's handler never sees the request.
        @webhook.middleware("request")
        async def check_body(request: Request) -> HTTPResponse | None:
            if request.method != "POST":
                return None
            try:
                body = parse_rest_body(request.body)
            except BadRestBody as problem:
                return response.json({"error": str(problem)}, status=400)
            if LONE_SURROGATE.search(body["message"]):
                # Rasa's handler reads the body again: hand it the cleaned text.
                body["message"] = clean_text(body["message"])
                request.body = json.dumps(body).encode()
                request.parsed_json = None
            if is_too_long(body["message"]):
                logger.info("rest: refused a message of %d characters", len(body["message"]))
                return response.json(
                    [{"recipient_id": body["sender"], "text": channel_reply("too_long")}]
                )
            return None

        return webhook
