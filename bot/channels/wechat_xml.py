"""The WeChat official account protocol, without Rasa: signatures, incoming XML, replies.

WeChat signs each request to the server URL with the token set in the account's "server
configuration": signature = SHA-1 of the token, timestamp and nonce, sorted and joined.
Messages arrive as small XML documents and the passive reply is one, in the same response.
Only "plaintext mode" is supported (not the AES "safe mode").
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

# A text message is a few hundred bytes; anything far larger is not from WeChat.
MAX_BODY_BYTES = 64 * 1024

# Characters XML 1.0 forbids even inside CDATA; a reply containing one would be rejected.
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class MalformedMessage(ValueError):
    """The body is not a WeChat message we can read (bad XML, DTD, missing fields...)."""


@dataclass(frozen=True)
class WeChatMessage:
    to_user: str  # the official account's id
    from_user: str  # the person's OpenID for this account
    create_time: str
    msg_type: str  # text, image, voice, video, location, link, event...
    content: str | None = None  # for text
    event: str | None = None  # for events: subscribe, unsubscribe, CLICK...
    msg_id: str | None = None  # for messages (events have none)

    @property
    def turn_key(self) -> str:
        """Identifies this message across WeChat's retries of it."""
        return self.msg_id or f"{self.from_user}:{self.create_time}:{self.event}"


def expected_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def signature_is_valid(
    token: str, signature: str | None, timestamp: str | None, nonce: str | None
) -> bool:
    """WeChat's check of a request, compared in constant time. Missing parts fail it."""
    if not (token and signature and timestamp and nonce):
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str, and a signature is attacker input.
    return hmac.compare_digest(
        expected_signature(token, timestamp, nonce).encode("ascii"),
        signature.strip().lower().encode("utf-8"),
    )


def parse_message(body: bytes) -> WeChatMessage:
    """The message in ``body``; raises :class:`MalformedMessage` for anything else.

    defusedxml refuses DTDs outright (forbid_dtd), which covers entity expansion ("billion
    laughs"), external entities and external DTDs: WeChat never sends a DTD.
    """
    if len(body) > MAX_BODY_BYTES:
        raise MalformedMessage("body too large")
    try:
        root = defusedxml.ElementTree.fromstring(body, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError, LookupError) as error:
        # ValueError/LookupError: e.g. an unknown encoding in the XML declaration.
        raise MalformedMessage(f"not acceptable XML: {type(error).__name__}") from None
    if root.tag != "xml":
        raise MalformedMessage("root element is not <xml>")

    def field(name: str) -> str | None:
        value = root.findtext(name)
        return value.strip() if value is not None else None

    to_user, from_user, msg_type = field("ToUserName"), field("FromUserName"), field("MsgType")
    if not (to_user and from_user and msg_type):
        raise MalformedMessage("ToUserName, FromUserName and MsgType are required")
    content = root.findtext("Content")  # not stripped: it is what the person typed
    return WeChatMessage(
        to_user=to_user,
        from_user=from_user,
        create_time=field("CreateTime") or "",
        msg_type=msg_type.lower(),
        content=content,
        event=field("Event"),
        msg_id=field("MsgId"),
    )


def cdata(text: str) -> str:
    """``text`` as CDATA; a "]]>" inside is split across two sections, as XML requires."""
    clean = _NOT_XML_CHARS.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: WeChatMessage, content: str, create_time: int) -> str:
    """The passive reply to ``message``: from the account, to the person, as text."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(message.from_user)}</ToUserName>"
        f"<FromUserName>{cdata(message.to_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )
