"""Async clients for the three channels, as the fault tests use them: one person each.

All three answer the same question, "what did the assistant say to this message?", and
record every HTTP status they got, so a test can assert that none was a 5xx.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode
from xml.etree import ElementTree

import aiohttp
import socketio

from bot.channels.replies import channel_reply

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=90)
WECHAT_RETRIES = 10
_message_ids = itertools.count(int(time.time() * 1000))


@dataclass
class RestPerson:
    """Someone on the REST channel (POST /webhooks/rest/webhook)."""

    session: aiohttp.ClientSession
    base_url: str
    sender: str = field(default_factory=lambda: f"fault-{uuid.uuid4().hex}")
    statuses: list[int] = field(default_factory=list)

    async def post(self, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
        async with self.session.post(
            f"{self.base_url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": content_type},
            timeout=REQUEST_TIMEOUT,
        ) as response:
            self.statuses.append(response.status)
            return response.status, await response.text(errors="replace")

    async def say(self, text: str) -> list[str]:
        """The texts of the assistant's replies (empty if the request was refused)."""
        async with self.session.post(
            f"{self.base_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            timeout=REQUEST_TIMEOUT,
        ) as response:
            self.statuses.append(response.status)
            if response.status != 200:
                return []
            replies = await response.json(content_type=None)
        return [str(m.get("text", "")) for m in replies if isinstance(m, dict)]


def signed_query(token: str, openid: str) -> str:
    """The query string WeChat adds to every message it forwards, signed with `token`."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(6)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return urlencode(
        {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
    )


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class WeChatPerson:
    """A follower of the official account, their messages forwarded by WeChat as signed XML."""

    session: aiohttp.ClientSession
    base_url: str
    token: str
    openid: str = field(default_factory=lambda: f"o{uuid.uuid4().hex}")
    statuses: list[int] = field(default_factory=list)

    def fill(self, body: bytes) -> bytes:
        """A corpus body with this follower's id and a fresh message id filled in."""
        return body.replace(b"{openid}", self.openid.encode()).replace(
            b"{msg_id}", str(next(_message_ids)).encode()
        )

    async def post(self, body: bytes, content_type: str = "text/xml") -> tuple[int, str]:
        async with self.session.post(
            f"{self.base_url}/webhooks/wechat/webhook?{signed_query(self.token, self.openid)}",
            data=self.fill(body),
            headers={"Content-Type": content_type},
            timeout=REQUEST_TIMEOUT,
        ) as response:
            self.statuses.append(response.status)
            return response.status, await response.text(errors="replace")

    async def say(self, text: str) -> list[str]:
        """The reply text (one message, as WeChat shows it), or nothing if refused."""
        xml = (
            "<xml><ToUserName><![CDATA[gh_bureau]]></ToUserName>"
            f"<FromUserName>{cdata(self.openid)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(text)}</Content><MsgId>{next(_message_ids)}</MsgId></xml>"
        )
        # A lone surrogate cannot be UTF-8; sent as WeChat never would, it must be refused.
        body = xml.encode("utf-8", errors="surrogatepass")
        for _ in range(WECHAT_RETRIES):
            status, answer = await self.post(body)
            if status != 200 or not answer.startswith("<xml>"):
                return []
            content = ElementTree.fromstring(answer).findtext("Content") or ""
            if content != channel_reply("wechat_slow"):
                return [content]
            # Over WeChat's 5 s window on a busy machine: WeChat re-sends the same message
            # (same MsgId) and the channel answers it with the finished turn's reply.
            await asyncio.sleep(1)
        return [content]


class SocketPerson:
    """The help page's chat widget: socket.io with a confirmed session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session_id = uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: asyncio.Queue[str] = asyncio.Queue()
        self._confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("session_confirm", self._on_session_confirm)

    async def _on_bot_uttered(self, data: object) -> None:
        text = data.get("text", "") if isinstance(data, dict) else str(data)
        await self.received.put(str(text))

    async def _on_session_confirm(self, session_id: object) -> None:
        await self._confirmed.put(str(session_id))

    async def connect(self) -> None:
        # Long polling: a session of many separate HTTP requests, the path that needs nginx's
        # stickiness (this engineio client cannot do WebSocket with aiohttp 3.9).
        await self.client.connect(self.base_url, transports=["polling"], wait_timeout=30)
        await self.request_session({"session_id": self.session_id})

    async def request_session(self, data: object) -> None:
        await self.client.emit("session_request", data)
        self.session_id = await asyncio.wait_for(self._confirmed.get(), 30)

    async def emit(self, event: str, data: object) -> None:
        await self.client.emit(event, data)

    async def send(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def replies_until(self, marker: str, timeout: float = 60) -> list[str]:
        """Every reply received up to and including the first that contains `marker`."""
        replies: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply containing {marker!r}; got {replies!r}")
            reply = await asyncio.wait_for(self.received.get(), remaining)
            replies.append(reply)
            if marker in reply:
                return replies

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def close(self) -> None:
        await self.client.disconnect()
