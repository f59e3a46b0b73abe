"""The socket.io channel the help page's chat widget talks to: Rasa's, with four fixes.

1. Session persistence works. Rasa 3.6 calls ``sio.enter_room(...)`` without ``await``;
   python-socketio 5.x made it a coroutine, so the socket never joins the session's room and
   every reply (sent to that room) is lost (RasaHQ/rasa#13027). Here it is awaited.
2. A socket may only speak for the session it was confirmed in (``session_request``), so
   knowing another session id is not enough to write into that conversation.
3. Messages over the length limit get the polite "too long" reply and never reach Rasa;
   malformed events (not an object, no text) are dropped with a log line, not a traceback.
4. Browsers may connect only from the page's own origin (Origin host == Host). Rasa builds
   its socket.io server with CORS checks off and leaves HTTP CORS to Sanic (``--cors``),
   which does not cover WebSockets, the one thing CORS never protected.

Rasa's own handlers are kept and wrapped, so its JWT check and message handling still apply.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

from bot.channels.replies import channel_reply, is_too_long
from bot.channels.sanitise import clean_metadata, clean_text

logger = logging.getLogger(__name__)

# Session ids become tracker sender ids (VARCHAR(255)); the page sends a UUID.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,128}")


def is_valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and SESSION_ID_PATTERN.fullmatch(value) is not None


def is_same_origin(environ: dict[str, Any]) -> bool:
    """True unless a browser says it comes from another site than the one it connects to.

    Clients that are not browsers send no Origin header; browsers always do for WebSockets
    and cross-site requests. Behind a reverse proxy, keep the Host header (nginx:
    ``proxy_set_header Host $host``) or this check refuses the page itself.
    """
    origin = environ.get("HTTP_ORIGIN")
    if not origin:
        return True
    host = environ.get("HTTP_HOST", "")
    return urlsplit(origin).netloc.lower() == host.lower()


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io channel with working session persistence and input checks."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        sio = self.sio
        namespace = self.namespace
        rasa_handlers = dict(sio.handlers[namespace or "/"])
        rasa_connect = rasa_handlers["connect"]
        rasa_handle_message = rasa_handlers[self.user_message_evt]

        # Registering a handler for an event again replaces Rasa's for that event. Every
        # argument after sid has a default: a client may emit an event with no data at all.
        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            if not is_same_origin(environ):
                logger.warning("socketio: refused a connection from %s", environ.get("HTTP_ORIGIN"))
                return False
            return await rasa_connect(sid, environ, auth)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            wanted = data.get("session_id") if isinstance(data, dict) else None
            session_id = wanted if is_valid_session_id(wanted) else uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                logger.warning("socketio: dropped a malformed %s event", self.user_message_evt)
                return
            if self.session_persistence:
                confirmed = (await sio.get_session(sid, namespace=namespace)).get("session_id")
                if confirmed is None or data.get("session_id") != confirmed:
                    logger.warning("socketio: dropped a message for a session not confirmed")
                    return
            if is_too_long(data["message"]):
                logger.info("socketio: refused a message of %d characters", len(data["message"]))
                await sio.emit(
                    self.bot_message_evt,
                    {"text": channel_reply("too_long")},
                    room=sid,
                    namespace=namespace,
                )
                return
            data = {
                **data,
                "message": clean_text(data["message"]),
                self.metadata_key: clean_metadata(data.get(self.metadata_key)),
            }
            await rasa_handle_message(sid, data)

        return webhook
