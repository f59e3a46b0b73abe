"""The cluster's parts on their own, quickly: the generated nginx configuration (checked by
nginx itself), the Redis settings, the action guard's replacement events and the cached
schema check (against jsonschema's own verdict)."""

from __future__ import annotations

import asyncio
import subprocess

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction, create_bot_utterance
from rasa.core.actions.forms import FormAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, FollowupAction, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot import action_guard, action_results
from bot.cluster import NGINX_TEMPLATE, nginx_binary, redis_environment, render_nginx_config
from bot.servers import PROJECT_ROOT


def test_the_generated_nginx_configuration_is_valid(tmp_path):
    for folder in ("logs", "tmp/client_body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (tmp_path / folder).mkdir(parents=True)
    config = tmp_path / "nginx.conf"
    config.write_text(
        render_nginx_config(
            NGINX_TEMPLATE.read_text(),
            prefix=tmp_path,
            public_port=18080,
            action_port=18081,
            rasa_ports=[15005, 15006],
            action_ports=[15055, 15056],
        )
    )
    result = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert text.count("server 127.0.0.1:15005") == 3  # REST, socket.io, WeChat upstreams
    assert "server 127.0.0.1:15056" in text
    assert "/var/" not in text and "/etc/" not in text  # everything under the prefix


def test_redis_settings_for_the_cluster_endpoints():
    env = redis_environment("redis://:s%40cret@10.0.0.5:6380/3", "bureau1")
    assert env == {
        "REDIS_HOST": "10.0.0.5",
        "REDIS_PORT": "6380",
        "REDIS_PASSWORD": "s@cret",
        "REDIS_DB": "3",
        "REDIS_KEY_PREFIX": "bureau1",
    }
    with pytest.raises(ValueError):
        redis_environment("redis://127.0.0.1:6379/1", "not-alphanumeric")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def _tracker_in_the_form(domain: Domain) -> DialogueStateTracker:
    tracker = DialogueStateTracker("someone", domain.slots)
    tracker.update(ActiveLoop("application_status_form"))
    tracker.update(SlotSet("application_number", "SC2026000101"))
    tracker.update(SlotSet("requested_slot", "id_last6"))
    return tracker


def test_a_failed_action_in_a_form_stops_it_and_forgets_what_was_typed(domain):
    tracker = _tracker_in_the_form(domain)
    form = FormAction("application_status_form", None)
    events = action_guard.recovery_events(form, tracker, domain, {"text": "sorry"})
    assert events[0] == create_bot_utterance({"text": "sorry"})
    assert ActiveLoop(None) in events
    for slot in ("application_number", "id_last6", "requested_slot"):
        assert SlotSet(slot, None) in events
    assert events[-1] == FollowupAction("action_listen")


def test_a_failed_action_outside_a_form_only_apologises(domain):
    tracker = DialogueStateTracker("someone", domain.slots)
    action = RemoteAction("action_find_offices", None)
    events = action_guard.recovery_events(action, tracker, domain, {"text": "sorry"})
    assert events == [create_bot_utterance({"text": "sorry"}), FollowupAction("action_listen")]


def test_the_apology_names_the_hotline_without_a_domain_response(domain):
    message = asyncio.run(action_guard.apology_message(None, None, Domain.empty(), "rest"))
    assert "12333" in message["text"]


def test_guard_timeout_from_the_environment():
    assert action_guard.guard_timeout({}) == action_guard.DEFAULT_TIMEOUT_SECONDS
    assert action_guard.guard_timeout({"ACTION_GUARD_TIMEOUT": "7.5"}) == 7.5
    assert (
        action_guard.guard_timeout({"ACTION_GUARD_TIMEOUT": "soon"})
        == action_guard.DEFAULT_TIMEOUT_SECONDS
    )


RESPONSES = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "x", "value": None}],
        "responses": [{"text": "hi", "buttons": [{"title": "a", "payload": "/b"}]}],
    },
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [{"event": "slot"}], "responses": [{"text": 3}]},
]


@pytest.mark.parametrize("response", RESPONSES)
def test_the_cached_check_gives_jsonschema_s_verdict(response, monkeypatch):
    schema = RemoteAction.action_response_format_spec()
    try:
        jsonschema.validate(response, schema)
        expected = None
    except jsonschema.ValidationError as error:
        expected = error.message
    # Installed for this test only (monkeypatch puts Rasa's method back afterwards).
    monkeypatch.setattr(
        RemoteAction, "_validate_action_result", RemoteAction._validate_action_result
    )
    action_results.install()
    action = RemoteAction("x", None)
    if expected is None:
        assert action._validate_action_result(response) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            action._validate_action_result(response)
        assert raised.value.message.startswith(expected)


def test_action_calls_reuse_one_open_connection(monkeypatch):
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    from bot import action_connections

    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    action_connections.install()
    peers = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": []})

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        try:
            for _ in range(3):
                assert await endpoint.request(json={"next_action": "x"}) == {
                    "events": [],
                    "responses": [],
                }
        finally:
            async with endpoint.session() as session:
                await session.close()
            await runner.cleanup()

    asyncio.run(scenario())
    assert len(peers) == 3 and len(set(peers)) == 1  # one client connection, kept open


def test_turn_concurrency_from_the_environment():
    from bot.turn_admission import DEFAULT, turn_concurrency

    assert turn_concurrency({}) == DEFAULT
    assert turn_concurrency({"TURN_CONCURRENCY": "0"}) == 0
    assert turn_concurrency({"TURN_CONCURRENCY": "8"}) == 8
    assert turn_concurrency({"TURN_CONCURRENCY": "many"}) == DEFAULT


def test_event_lookup_table_gives_rasa_s_classes(monkeypatch):
    # bot/event_types.py against Rasa's own walk, for every event type Rasa knows, and the
    # same behaviour for names it does not know.
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    from bot import event_types

    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    event_types.install()
    event_types.install()  # a second call changes nothing
    classes = all_subclasses(Event)
    names = {cls.type_name for cls in classes}
    assert len(names) > 20
    for name in names:
        # Rasa's rule: the first class of the walk with that name.
        assert Event.resolve_by_type(name) is next(c for c in classes if c.type_name == name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    events = [SlotSet("id_last6", None).as_dict(), ActiveLoop(None).as_dict()]
    assert [type(Event.from_parameters(d)) for d in events] == [SlotSet, ActiveLoop]
