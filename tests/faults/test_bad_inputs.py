"""The bad-input corpus (bench/bad_inputs.py) through nginx to the running cluster, over
REST, socket.io and WeChat: no 5xx, no crash, nothing echoed or stored that should not be,
nothing revealed without verification, and the next normal message answered as usual.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from bench import bad_inputs
from bench.bad_inputs import FORBIDDEN_IN_REPLIES, MESSAGES, NUMBER, REST_SENDER
from bot.channels.replies import MAX_MESSAGE_CHARS, channel_reply
from bot.demo_data import DEMO_APPLICATIONS
from bot.identifiers import mask_name
from tests.faults.clients import RestPerson, SocketPerson, WeChatPerson
from tests.faults.conftest import run

pytestmark = pytest.mark.e2e

FOLLOW_UP = "where is the office in haidian"
FOLLOW_UP_ANSWER = "Service halls in Haidian"
# What the assistant says after each setup message (socket.io has no request/response, so
# the test waits for these to know a setup turn is over).
SETUP_ANSWERS = {"check my application": "application number", NUMBER: "last 6 characters"}
# A status answer reads "Application SC... for Z** Xiaoming: ..."; none may follow bad input.
REVEALED = tuple(f"for {mask_name(a.holder_name)}:" for a in DEMO_APPLICATIONS)
CONCURRENCY = 8


@dataclass
class Outcome:
    channel: str
    name: str
    statuses: list[int] = field(default_factory=list)
    status: int | None = None  # the answer to the bad input itself (HTTP channels)
    replies: list[str] = field(default_factory=list)  # to the bad input itself
    follow_up: list[str] = field(default_factory=list)  # to the normal message after it
    problem: str = ""  # an exception the client met (timeout, disconnect...)
    too_long: bool = False

    def __str__(self) -> str:
        return f"{self.channel}: {self.name}"


async def _rest_message(session, url, item) -> Outcome:
    person = RestPerson(session, url)
    outcome = Outcome("rest", item.name, person.statuses, too_long=item.too_long)
    for message in item.setup:
        await person.say(message)
    outcome.replies = await person.say(item.text)
    outcome.status = person.statuses[-1]
    outcome.follow_up = await person.say(FOLLOW_UP)
    return outcome


async def _wechat_message(session, url, token, item) -> Outcome:
    person = WeChatPerson(session, url, token)
    outcome = Outcome("wechat", item.name, person.statuses, too_long=item.too_long)
    for message in item.setup:
        await person.say(message)
    outcome.replies = await person.say(item.text)
    outcome.status = person.statuses[-1]
    outcome.follow_up = await person.say(FOLLOW_UP)
    return outcome


async def _socket_message(url, item) -> Outcome:
    person = SocketPerson(url)
    outcome = Outcome("socketio", item.name, too_long=item.too_long)
    await person.connect()
    try:
        for message in item.setup:
            await person.send(message)
            await person.replies_until(SETUP_ANSWERS[message])
        await person.send(item.text)
        await person.send(FOLLOW_UP)
        replies = await person.replies_until(FOLLOW_UP_ANSWER)
        outcome.replies, outcome.follow_up = replies[:-1], replies[-1:]
    finally:
        await person.close()
    return outcome


async def _rest_body(session, url, item) -> Outcome:
    person = RestPerson(session, url, sender=f"bad-body-{uuid.uuid4().hex}")
    outcome = Outcome("rest body", item.name, person.statuses)
    status, answer = await person.post(
        item.body.replace(REST_SENDER.encode(), person.sender.encode()), item.content_type
    )
    outcome.status = status
    if status == 200:
        outcome.replies = [str(m.get("text", "")) for m in json.loads(answer)]
    outcome.follow_up = await person.say(FOLLOW_UP)
    return outcome


async def _wechat_body(session, url, token, item) -> Outcome:
    person = WeChatPerson(session, url, token)
    outcome = Outcome("wechat body", item.name, person.statuses)
    status, answer = await person.post(item.body, item.content_type)
    outcome.status = status
    if status == 200:
        outcome.replies = [answer]
    outcome.follow_up = await person.say(FOLLOW_UP)
    return outcome


async def _socket_event(url, name, event, data) -> Outcome:
    person = SocketPerson(url)
    outcome = Outcome("socketio event", name)
    await person.connect()
    try:
        if event == "session_request":
            await person.request_session(data)  # the server confirms some valid session
        else:
            filled = json.loads(json.dumps(data).replace("{session_id}", person.session_id))
            await person.emit(event, filled)
        await person.send(FOLLOW_UP)
        replies = await person.replies_until(FOLLOW_UP_ANSWER)
        outcome.replies, outcome.follow_up = replies[:-1], replies[-1:]
        if not person.connected:
            outcome.problem = "disconnected"
    finally:
        await person.close()
    return outcome


async def _send_everything(url: str, token: str) -> list[Outcome]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def guarded(label: str, coroutine) -> Outcome:
        async with limit:
            try:
                return await coroutine
            except Exception as error:  # a client-side failure is a finding, not a crash
                channel, _, name = label.partition(": ")
                return Outcome(channel, name, problem=f"{type(error).__name__}: {error}")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        jobs = []
        for item in MESSAGES:
            jobs.append(guarded(f"rest: {item.name}", _rest_message(session, url, item)))
            jobs.append(guarded(f"wechat: {item.name}", _wechat_message(session, url, token, item)))
            jobs.append(guarded(f"socketio: {item.name}", _socket_message(url, item)))
        for item in bad_inputs.REST_BODIES:
            jobs.append(guarded(f"rest body: {item.name}", _rest_body(session, url, item)))
        for item in bad_inputs.WECHAT_BODIES:
            jobs.append(
                guarded(f"wechat body: {item.name}", _wechat_body(session, url, token, item))
            )
        for name, event, data in bad_inputs.SOCKETIO_EVENTS:
            jobs.append(guarded(f"socketio event: {name}", _socket_event(url, name, event, data)))
        return await asyncio.gather(*jobs)


@pytest.fixture(scope="module")
def logs_during_the_run(cluster) -> dict[str, str]:
    """What the Rasa replicas logged while the corpus was sent (filled in by `outcomes`)."""
    return {}


@pytest.fixture(scope="module")
def outcomes(cluster, wechat_token, logs_during_the_run) -> list[Outcome]:
    sizes = {service.log: service.log.stat().st_size for service in cluster.rasa}
    sent = run(_send_everything(cluster.url, wechat_token))
    for log, size in sizes.items():
        with log.open("rb") as file:
            file.seek(size)
            logs_during_the_run[log.name] = file.read().decode(errors="replace")
    return sent


def test_the_corpus_has_at_least_60_bad_inputs(outcomes):
    assert bad_inputs.count() >= 60
    assert len(outcomes) == bad_inputs.count()


def test_every_input_is_handled_without_a_client_side_failure(outcomes):
    failed = [f"{o}: {o.problem}" for o in outcomes if o.problem]
    assert not failed, "\n".join(failed)


def test_no_server_error_on_any_channel(outcomes):
    errors = [f"{o}: {o.statuses}" for o in outcomes if any(s >= 500 for s in o.statuses)]
    assert not errors, "\n".join(errors)


def test_the_next_normal_message_is_answered(outcomes):
    unanswered = [
        f"{o}: {o.follow_up!r}"
        for o in outcomes
        if not any(FOLLOW_UP_ANSWER in reply for reply in o.follow_up)
    ]
    assert not unanswered, "\n".join(unanswered)


# A lone surrogate once reached SpacyNLP and socket.io metadata that is not an object
# raised in Rasa's handler: bot/channels/sanitise.py cleans both at the channel boundary.
def test_every_message_gets_a_reply(outcomes):
    # Rasa's own control intents start the conversation afresh and say nothing by design
    # (a `utter_restart` response in the domain would give /restart a reply).
    silent_by_design = {"intent injection: restart", "intent injection: session_start"}
    silent = [
        str(o)
        for o in outcomes
        if o.channel in ("rest", "socketio")
        and o.name not in silent_by_design
        and not any(r.strip() for r in o.replies)
    ]
    assert not silent, "no reply at all to:\n" + "\n".join(silent)


# How each layer logs a message it failed to handle (the person then gets no answer).
@pytest.mark.parametrize(
    "failure",
    [
        "rest.message.received.failure",  # Rasa's REST
        "Task exception was never retrieved",  # socket.io
        "wechat: the turn failed",  # bot/channels/wechat.py
        "Exception occurred while handling uri",  # Sanic: an unhandled error, a 500
    ],
)
def test_no_message_handling_failed_in_the_servers(outcomes, logs_during_the_run, failure):
    assert failure not in "\n".join(logs_during_the_run.values())


def test_no_markup_or_sql_comes_back(outcomes):
    echoed = [
        f"{o}: {reply[:120]!r}"
        for o in outcomes
        for reply in o.replies
        if any(f.lower() in reply.lower() for f in FORBIDDEN_IN_REPLIES)
    ]
    assert not echoed, "\n".join(echoed)


def test_nothing_is_revealed_without_verification(outcomes):
    revealed = [
        f"{o}: {reply[:120]!r}"
        for o in outcomes
        for reply in o.replies
        if any(r in reply for r in REVEALED)
    ]
    assert not revealed, "\n".join(revealed)


def test_over_long_messages_get_the_too_long_reply(outcomes):
    too_long = channel_reply("too_long")
    for outcome in outcomes:
        if outcome.too_long and outcome.channel != "wechat":
            assert any(too_long in reply for reply in outcome.replies), outcome
        if outcome.too_long and outcome.channel == "wechat":
            # Over WeChat's own message size the XML is refused (400); under it, the reply.
            assert outcome.status == 400 or too_long in "".join(outcome.replies), outcome


def test_malformed_rest_bodies_are_refused_with_400_or_413(outcomes):
    for outcome in outcomes:
        if outcome.channel == "rest body":
            assert outcome.status in (400, 413), (outcome, outcome.status)


def test_hostile_or_malformed_wechat_bodies_are_refused(outcomes):
    accepted_kinds = {
        "picture",
        "location",
        "unsubscribe event",
        "cdata end inside",
        "text without content",
    }
    for outcome in outcomes:
        if outcome.channel == "wechat body" and outcome.name not in accepted_kinds:
            assert 400 <= outcome.status < 500, (outcome, outcome.status)


def _all_events(database_url: str) -> list[dict]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT data FROM events ORDER BY id")).scalars()
            return [json.loads(row) for row in rows]
    finally:
        engine.dispose()


def test_nothing_over_the_limit_or_hostile_is_stored(outcomes, cluster_database_url):
    events = _all_events(cluster_database_url)
    long_texts = [
        e for e in events if e["event"] == "user" and len(e.get("text") or "") > MAX_MESSAGE_CHARS
    ]
    assert not long_texts, f"{len(long_texts)} over-long messages stored"
    for event in events:
        if event["event"] == "slot" and isinstance(event.get("value"), str):
            assert "<" not in event["value"], event
            assert not any(f.lower() in event["value"].lower() for f in FORBIDDEN_IN_REPLIES)
        if event["event"] == "bot":
            said = (event.get("text") or "").lower()
            assert not any(f.lower() in said for f in FORBIDDEN_IN_REPLIES), event


def test_every_part_of_the_cluster_survived(outcomes, cluster):
    assert all(service.running for service in cluster.services)
