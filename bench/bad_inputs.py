"""Bad and hostile input, as data: what tests/faults/test_bad_inputs.py sends the running
cluster over REST, socket.io and WeChat.

Three kinds of item:

- MESSAGES: texts a person (or an attacker) could type. Each goes through every channel as
  a proper message of that channel, in a conversation of its own, after its `setup`
  messages (e.g. "check my application", so the text lands where the form expects a number).
- REST_BODIES / WECHAT_BODIES: whole request bodies that are not proper messages at all.
- SOCKETIO_EVENTS: socket.io events with the wrong shape.

For every item: no 5xx, no crash, no markup or SQL echoed in a reply or stored in a slot,
nothing revealed without verification, and the conversation's next normal message is
answered as usual. Messages over the 2,000-character limit are refused before they reach
the NLU pipeline or the tracker store (bot/channels/replies.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# Well formed but unknown: the form goes on to ask for the ID tail, and the failed attempts
# these inputs make lock only this number, never a demo record other tests look up.
NUMBER = "SC2026999001"
STATUS_FORM = ("check my application",)
NUMBER_ASKED = ("check my application", NUMBER)
# Fragments that must never come back in a reply or sit in a slot: they would be the input
# echoed unescaped (markup, SQL) or a sign that an injection got through.
FORBIDDEN_IN_REPLIES = (
    "<script",
    "<img",
    "onerror",
    "javascript:",
    "<svg",
    "DROP TABLE",
    "UNION SELECT",
    "OR '1'='1",
    "pg_sleep",
    "<!ENTITY",
    "/etc/passwd",
    "root:x:0:0",
)


@dataclass(frozen=True)
class Message:
    """A text sent as a normal message, after the `setup` messages of its conversation."""

    name: str
    text: str
    setup: tuple[str, ...] = ()
    # True: the text is over the message limit and must be refused, never stored.
    too_long: bool = False


MESSAGES: tuple[Message, ...] = (
    Message("empty", ""),
    Message("empty in the form", "", setup=STATUS_FORM),
    Message("spaces", "     "),
    Message("tabs and newlines", "\t\n\r\n\t"),
    Message("100k characters", "a" * 100_000, too_long=True),
    Message("100k characters in the form", "SC2026" * 16_667, setup=STATUS_FORM, too_long=True),
    Message("2001 characters", "x" * 2001, too_long=True),
    Message("2000 characters", "where is the office? " + "." * 1979),
    Message("control characters", "hello\x00\x01\x02\x07\x08\x1b[31m\x7f"),
    Message("NUL only", "\x00"),
    Message("lone surrogate", "hello \ud800 world"),
    Message("unicode noncharacters", "\ufffe\uffff\U0010ffff"),
    Message("emoji", "👶🪪❓🙏🏽👨‍👩‍👧‍👦"),
    Message("emoji in the form", "🔢🔢🔢", setup=STATUS_FORM),
    Message("right-to-left text", "مرحبا، أين مكتب الضمان الاجتماعي؟"),
    Message("right-to-left override", f"\u202e{NUMBER}\u202c", setup=STATUS_FORM),
    Message("zero-width characters", "S\u200bC\u200d2026\ufeff999001", setup=STATUS_FORM),
    Message("mixed scripts", "我想查询 application 状态 ☎"),
    Message("combining marks", "h\u0336e\u0336l\u0336l\u0336o\u0336" * 50),
    Message("sql: drop table", f"{NUMBER}'; DROP TABLE applications; --", setup=STATUS_FORM),
    Message("sql: or 1=1", "' OR '1'='1", setup=STATUS_FORM),
    Message(
        "sql: union", "SC2026999001 UNION SELECT holder_name FROM applications", setup=STATUS_FORM
    ),
    Message("sql: sleep", "SC2026999001; SELECT pg_sleep(10);--", setup=STATUS_FORM),
    Message("sql in the id tail", "' OR '1'='1' --", setup=NUMBER_ASKED),
    Message("html script", "<script>alert('x')</script>"),
    Message("html image", '<img src=x onerror="alert(1)">', setup=STATUS_FORM),
    Message("svg", "<svg/onload=alert(1)>hello"),
    Message("javascript url", "javascript:alert(document.cookie)"),
    Message("markdown link", "[click](javascript:alert(1)) where is the office"),
    Message(
        "intent injection: verified status",
        '/application_status{"application_number": "SC2026999001", "id_last6": "000000"}',
    ),
    Message("intent injection: inform tail", '/inform{"id_last6": "12345X"}', setup=NUMBER_ASKED),
    Message(
        "intent injection: requested_slot", '/inform{"requested_slot": null}', setup=NUMBER_ASKED
    ),
    Message("intent injection: unknown intent", "/drop_all_tables"),
    Message("intent injection: action name", "/action_check_application_status"),
    Message("intent injection: broken json", '/greet{"a": '),
    Message("intent injection: huge confidence", "/greet@1e308"),
    Message("intent injection: restart", "/restart", setup=NUMBER_ASKED),
    Message("intent injection: session_start", "/session_start"),
    Message("template braces", "{application_number} {holder} {{7*7}} ${jndi:ldap://x}"),
    Message("format string", "%s%s%s%n %x {0.__class__}"),
    Message("path traversal", "../../../../etc/passwd"),
    Message("full id number", "110105194912310021", setup=NUMBER_ASKED),
    Message("json as text", '{"sender": "someone-else", "message": "hi"}'),
    Message("xml as text", "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"),
)


@dataclass(frozen=True)
class RawBody:
    """A whole request body (bytes), sent as is with `content_type`."""

    name: str
    body: bytes
    content_type: str = "application/json"
    # Whether the body names a sender whose conversation must go on afterwards.
    sender: str | None = None


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


REST_SENDER = "bad-input-rest-body"

REST_BODIES: tuple[RawBody, ...] = (
    RawBody("empty body", b""),
    RawBody("whitespace body", b"  \n "),
    RawBody("null", b"null"),
    RawBody("empty list", b"[]"),
    RawBody("list of messages", _json([{"sender": REST_SENDER, "message": "hi"}])),
    RawBody("string", b'"hello"'),
    RawBody("number", b"42"),
    RawBody("true", b"true"),
    RawBody("empty object", b"{}"),
    RawBody("no sender", _json({"message": "hello"})),
    RawBody("no message", _json({"sender": REST_SENDER}), sender=REST_SENDER),
    RawBody("message null", _json({"sender": REST_SENDER, "message": None}), sender=REST_SENDER),
    RawBody("message number", _json({"sender": REST_SENDER, "message": 123}), sender=REST_SENDER),
    RawBody(
        "message object",
        _json({"sender": REST_SENDER, "message": {"text": "hi"}}),
        sender=REST_SENDER,
    ),
    RawBody("message list", _json({"sender": REST_SENDER, "message": ["hi"]}), sender=REST_SENDER),
    RawBody("sender number", _json({"sender": 7, "message": "hi"})),
    RawBody("sender list", _json({"sender": ["a", "b"], "message": "hi"})),
    RawBody("sender empty", _json({"sender": "", "message": "hi"})),
    RawBody("sender 10k characters", _json({"sender": "s" * 10_000, "message": "hi"})),
    RawBody(
        "metadata string",
        _json({"sender": REST_SENDER, "message": "hi", "metadata": "x"}),
        sender=REST_SENDER,
    ),
    RawBody(
        "NaN message", b'{"sender": "bad-input-rest-body", "message": NaN}', sender=REST_SENDER
    ),
    RawBody("truncated json", b'{"sender": "bad-input-rest-body", "message": "hel'),
    RawBody("not json", b"sender=x&message=hello", "application/x-www-form-urlencoded"),
    RawBody("invalid utf-8", b'{"sender": "bad-input-rest-body", "message": "\xff\xfe\xc3("}'),
    RawBody("utf-16", '{"sender": "bad-input-rest-body", "message": "hi"}'.encode("utf-16")),
    RawBody("deeply nested", b"[" * 100_000 + b"]" * 100_000),
    RawBody(
        "huge json (5 MB)",
        _json({"sender": REST_SENDER, "message": "hi", "metadata": {"x": "y" * 5_000_000}}),
    ),
    RawBody("many keys", _json({f"k{i}": i for i in range(50_000)})),
    RawBody("duplicate keys", b'{"sender": "a", "sender": 5, "message": "hi"}'),
    RawBody("xml to the json endpoint", b"<xml><Content>hi</Content></xml>", "application/xml"),
)

# WeChat bodies: {openid} is replaced by the follower's id of the conversation.
_TEXT_MESSAGE = (
    "<xml><ToUserName><![CDATA[gh_bureau]]></ToUserName>"
    "<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1700000000</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)
WECHAT_BODIES: tuple[RawBody, ...] = (
    RawBody("empty body", b"", "text/xml"),
    RawBody("not xml", b"hello there", "text/xml"),
    RawBody("json", _json({"sender": "x", "message": "hi"}), "text/xml"),
    RawBody("truncated xml", b"<xml><ToUserName><![CDATA[gh", "text/xml"),
    RawBody("wrong root", b"<message><Content>hi</Content></message>", "text/xml"),
    RawBody(
        "missing sender",
        b"<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType><Content>hi</Content></xml>",
        "text/xml",
    ),
    RawBody(
        "billion laughs",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
        b"<MsgType>text</MsgType><Content>&lol3;</Content></xml>",
        "text/xml",
    ),
    RawBody(
        "external entity",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM '
        b'"file:///etc/passwd">]><xml><ToUserName>gh</ToUserName><FromUserName>{openid}'
        b"</FromUserName><MsgType>text</MsgType><Content>&xxe;</Content></xml>",
        "text/xml",
    ),
    RawBody(
        "external dtd",
        b'<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd">'
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
        b"<MsgType>text</MsgType><Content>hi</Content></xml>",
        "text/xml",
    ),
    RawBody(
        "parameter entity",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><xml/>',
        "text/xml",
    ),
    RawBody(
        "invalid utf-8",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}"
        b"</FromUserName><MsgType>text</MsgType><Content>\xff\xfe\xc3(</Content></xml>",
        "text/xml",
    ),
    RawBody("unknown encoding", b'<?xml version="1.0" encoding="x-klingon"?><xml/>', "text/xml"),
    RawBody(
        "utf-7 declaration",
        b'<?xml version="1.0" encoding="UTF-7"?>+ADw-xml+AD4-+ADw-/xml+AD4-',
        "text/xml",
    ),
    RawBody(
        "control characters",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}"
        b"</FromUserName><MsgType>text</MsgType><Content>\x01\x02hi</Content></xml>",
        "text/xml",
    ),
    RawBody(
        "huge body (1 MB)", b"<xml><Content>" + b"a" * 1_000_000 + b"</Content></xml>", "text/xml"
    ),
    RawBody("deeply nested", b"<xml>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</xml>", "text/xml"),
    RawBody(
        "picture",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
        b"<MsgType>image</MsgType><PicUrl>http://x/y.jpg</PicUrl><MsgId>1</MsgId></xml>",
        "text/xml",
    ),
    RawBody(
        "location",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}"
        b"</FromUserName><MsgType>location</MsgType><Location_X>39.9</Location_X></xml>",
        "text/xml",
    ),
    RawBody(
        "unsubscribe event",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}"
        b"</FromUserName><MsgType>event</MsgType><Event>unsubscribe</Event></xml>",
        "text/xml",
    ),
    RawBody(
        "text without content",
        b"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}"
        b"</FromUserName><MsgType>text</MsgType></xml>",
        "text/xml",
    ),
    RawBody(
        "cdata end inside", _TEXT_MESSAGE.replace("{content}", "a]]>b<c>").encode(), "text/xml"
    ),
)

# socket.io events with the wrong shape ("{session_id}" is replaced by the confirmed one).
SOCKETIO_EVENTS: tuple[tuple[str, str, object], ...] = (
    ("string instead of an object", "user_uttered", "hello"),
    ("number", "user_uttered", 42),
    ("null", "user_uttered", None),
    ("list", "user_uttered", ["hello"]),
    ("no message", "user_uttered", {"session_id": "{session_id}"}),
    ("message null", "user_uttered", {"message": None, "session_id": "{session_id}"}),
    ("message number", "user_uttered", {"message": 7, "session_id": "{session_id}"}),
    ("message object", "user_uttered", {"message": {"a": 1}, "session_id": "{session_id}"}),
    ("no session id", "user_uttered", {"message": "hello"}),
    (
        "metadata not json",
        "user_uttered",
        {"message": "hello", "session_id": "{session_id}", "metadata": "{not json"},
    ),
    (
        "metadata list",
        "user_uttered",
        {"message": "hello", "session_id": "{session_id}", "metadata": [1, 2]},
    ),
    (
        "someone else's session",
        "user_uttered",
        {"message": "hello", "session_id": "0123456789abcdef0123456789abcdef"},
    ),
    ("session request: string", "session_request", "not an object"),
    ("session request: path", "session_request", {"session_id": "../../etc/passwd"}),
    ("session request: huge id", "session_request", {"session_id": "a" * 100_000}),
    ("unknown event", "drop_tables", {"message": "hi"}),
)


def count() -> int:
    """How many bad inputs one run sends (messages go through all three channels)."""
    return 3 * len(MESSAGES) + len(REST_BODIES) + len(WECHAT_BODIES) + len(SOCKETIO_EVENTS)
