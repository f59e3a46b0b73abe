"""The Rasa server's HTTP surface: what is exposed, to whom, and how bad input is answered.

- Rasa's HTTP API is off unless RASA_ENABLE_API=1, which requires RASA_API_TOKEN.
- CORS admits the help page's own origin only; socket.io refuses browsers of other sites.
- A malformed REST body gets a 400, never a 500; an over-long message (REST, socket.io)
  gets the polite "too long" reply.
- The page is at /, in place of Rasa's "Hello from Rasa", with only its own files.
- Without WECHAT_TOKEN the WeChat webhook answers 503 and the server runs on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import socketio
from playwright.sync_api import Page, sync_playwright

from bot.channels.replies import MAX_MESSAGE_CHARS, channel_reply
from bot.servers import (
    PROJECT_ROOT,
    ConfigurationError,
    ServerSet,
    free_port,
    page_origin,
    start_servers,
)
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import Chat, server_logs

pytestmark = pytest.mark.e2e

API_TOKEN = "test-api-token-" + uuid.uuid4().hex
TOO_LONG = channel_reply("too_long")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def http(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> Response:
    """One request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def post_rest(servers: ServerSet, body: bytes) -> Response:
    return http(
        f"{servers.rasa_url}/webhooks/rest/webhook",
        "POST",
        body,
        **{"Content-Type": "application/json"},
    )


# --- the API


def test_the_http_api_is_off_by_default(servers):
    for path in ["/status", "/version", "/conversations/someone/tracker", "/model/parse"]:
        assert http(f"{servers.rasa_url}{path}").status == 404, path


def test_enabling_the_api_without_a_token_refuses_to_start(tmp_path):
    with pytest.raises(ConfigurationError, match="RASA_API_TOKEN"):
        start_servers(
            free_port(), free_port(), log_dir=tmp_path, extra_env={"RASA_ENABLE_API": "1"}
        )
    assert list(tmp_path.iterdir()) == []  # not even a log: nothing was started


def test_make_run_says_why_it_refuses():
    env = {**os.environ, "RASA_ENABLE_API": "1", "RASA_API_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "-m", "bot.servers", "--rasa-port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "RASA_ENABLE_API=1 needs RASA_API_TOKEN" in result.stderr


@pytest.fixture(scope="module")
def api_servers(e2e_database_url, tmp_path_factory) -> Iterator[ServerSet]:
    """The other configuration: API on with a token, WeChat not set up."""
    state = tmp_path_factory.mktemp("api-state")
    running = start_servers(
        rasa_port=free_port(),
        action_port=free_port(),
        log_dir=tmp_path_factory.mktemp("api-logs"),
        extra_env={
            "DATABASE_URL": e2e_database_url,
            "TRACKER_STORE_URL": f"sqlite:///{state / 'tracker.db'}",
            "RASA_ENABLE_API": "1",
            "RASA_API_TOKEN": API_TOKEN,
            "WECHAT_TOKEN": "",
        },
    )
    yield running
    running.stop()


def test_the_enabled_api_needs_the_token(api_servers):
    assert http(f"{api_servers.rasa_url}/status").status == 401
    assert http(f"{api_servers.rasa_url}/status?token=wrong").status == 401
    answer = http(f"{api_servers.rasa_url}/status?token={API_TOKEN}")
    assert answer.status == 200 and "model_file" in answer.json()
    # The page and the channels are there as well: the page replaced the API's "/" too.
    page = http(f"{api_servers.rasa_url}/")
    assert page.status == 200 and b"Hello from Rasa" not in page.body
    assert "sign" in Chat(api_servers.rasa_url).say("how do I collect my child's card?")


def test_without_a_wechat_token_the_webhook_says_503_and_the_server_runs_on(api_servers):
    for method, body in [("GET", None), ("POST", b"<xml/>")]:
        answer = http(
            f"{api_servers.rasa_url}/webhooks/wechat/webhook?signature=a&timestamp=1&nonce=2",
            method,
            body,
        )
        assert answer.status == 503
        assert b"WECHAT_TOKEN" in answer.body
    assert http(f"{api_servers.rasa_url}/webhooks/rest/").status == 200


# --- CORS


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_cors_admits_the_page_origin_only(servers, method):
    url = f"{servers.rasa_url}/webhooks/rest/webhook"
    preflight = {"Access-Control-Request-Method": "POST"} if method == "OPTIONS" else {}
    own = http(url, method, Origin=page_origin(servers.rasa_port), **preflight)
    other = http(url, method, Origin="http://evil.example", **preflight)
    assert own.headers.get("access-control-allow-origin") == page_origin(servers.rasa_port)
    assert "access-control-allow-origin" not in other.headers


# --- REST bodies

MALFORMED_BODIES = {
    "empty": b"",
    "whitespace": b"  \n",
    "not JSON": b"message=hello",
    "null": b"null",
    "array": b"[]",
    "string": b'"hello"',
    "number": b"42",
    "empty object": b"{}",
    "no message": b'{"sender": "s1"}',
    "message null": b'{"sender": "s1", "message": null}',
    "message number": b'{"sender": "s1", "message": 42}',
    "message list": b'{"sender": "s1", "message": ["hi"]}',
    "no sender": b'{"message": "hello"}',
    "sender number": b'{"sender": 7, "message": "hello"}',
    "sender empty": b'{"sender": "", "message": "hello"}',
    "sender too long": json.dumps({"sender": "s" * 256, "message": "hello"}).encode(),
    "metadata not an object": b'{"sender": "s1", "message": "hi", "metadata": "x"}',
    "bad UTF-8": b'{"sender": "s1", "message": "\xff\xfe"}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "truncated": b'{"sender": "s1", "message": "hel',
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_malformed_rest_body_gets_400_with_a_reason(servers, body):
    answer = post_rest(servers, body)
    assert answer.status == 400
    assert answer.json()["error"]


def test_a_message_at_the_limit_is_answered_and_one_over_it_is_too_long(servers):
    sender = f"test-{uuid.uuid4().hex}"
    at_limit = ("card " * MAX_MESSAGE_CHARS)[:MAX_MESSAGE_CHARS]
    over = at_limit + "s"
    answered = post_rest(servers, json.dumps({"sender": sender, "message": at_limit}).encode())
    refused = post_rest(servers, json.dumps({"sender": sender, "message": over}).encode())
    assert answered.status == 200 and TOO_LONG not in json.dumps(answered.json())
    assert refused.status == 200
    assert refused.json() == [{"recipient_id": sender, "text": TOO_LONG}]
    assert "2,000 characters" in TOO_LONG


# --- socket.io

# Runs in the help page with the page's own socket.io client (the widget's library), over a
# WebSocket: what a browser sends, including events the widget itself never sends.
SOCKET_SCRIPT = """async ({sessionId, events, expectedReplies}) => {
    const socket = io({transports: ["websocket"], forceNew: true, reconnection: false});
    const replies = [];
    socket.on("bot_uttered", (message) => replies.push(message));
    await new Promise((ok, fail) => {
        socket.on("connect", ok);
        socket.on("connect_error", fail);
    });
    const confirmed = await new Promise((ok) => {
        socket.once("session_confirm", ok);
        socket.emit("session_request", {session_id: sessionId});
    });
    for (const args of events) {
        socket.emit("user_uttered", ...args);  // [] sends the event with no data at all
    }
    const deadline = Date.now() + 20000;
    while (replies.length < expectedReplies && Date.now() < deadline) {
        await new Promise((ok) => setTimeout(ok, 50));
    }
    await new Promise((ok) => setTimeout(ok, 500));  // anything more would arrive by now
    socket.disconnect();
    return {confirmed, replies};
}"""


@pytest.fixture(scope="module")
def help_page_tab(servers) -> Iterator[Page]:
    """The help page in Chromium (see tests/browser), for speaking socket.io as it does.
    Module scope: Playwright's sync API keeps an asyncio loop running while it is open."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{servers.rasa_url}/")
        yield page
        browser.close()


def socket_exchange(page: Page, session_id: str, events: list[list], replies: int) -> dict:
    """Opens a socket, asks for ``session_id``, sends ``events`` (user_uttered arguments),
    and returns {"confirmed": id, "replies": [bot_uttered...]}."""
    return page.evaluate(
        SOCKET_SCRIPT, {"sessionId": session_id, "events": events, "expectedReplies": replies}
    )


@pytest.mark.browser
def test_socketio_answers_in_the_confirmed_session(help_page_tab):
    session = str(uuid.uuid4())
    question = {"message": "how do I collect my child's card?", "session_id": session}
    result = socket_exchange(help_page_tab, session, [[question]], replies=1)
    assert result["confirmed"] == session
    assert len(result["replies"]) == 1 and "sign" in result["replies"][0]["text"]


@pytest.mark.browser
def test_socketio_too_long_message_gets_the_too_long_reply(help_page_tab):
    session = str(uuid.uuid4())
    too_long = {"message": "x" * (MAX_MESSAGE_CHARS + 1), "session_id": session}
    result = socket_exchange(help_page_tab, session, [[too_long]], replies=1)
    assert result["replies"] == [{"text": TOO_LONG}]


@pytest.mark.browser
def test_socketio_drops_malformed_events_and_other_sessions_messages(help_page_tab, servers):
    session = str(uuid.uuid4())
    dropped = [
        [],  # no data at all
        [None],
        [42],
        [["hi"]],
        [{"message": 42, "session_id": session}],
        [{"message": "how do I collect my child's card?"}],  # no session id
        [{"message": "how do I collect my child's card?", "session_id": "someone-else-1"}],
    ]
    answered = [{"message": "how do I collect my child's card?", "session_id": session}]
    result = socket_exchange(help_page_tab, session, [*dropped, answered], replies=1)
    # Only the last one was answered; nothing went wrong on the server.
    assert len(result["replies"]) == 1 and "sign" in result["replies"][0]["text"]
    assert "Task exception was never retrieved" not in server_logs(servers)


def test_socketio_refuses_browsers_from_other_sites(servers):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(
            servers.rasa_url, headers={"Origin": "http://evil.example"}, transports=["polling"]
        )
    client.eio.disconnect(abort=True)


# --- the page


def test_the_page_replaces_rasas_greeting_at_the_root(servers):
    answer = http(f"{servers.rasa_url}/")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert b"Hello from Rasa" not in answer.body
    assert b'id="chat-launcher"' in answer.body
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["chat.js", "render.js", "chat.css", "socket.io.min.js"])
def test_the_pages_files_are_served(servers, name):
    answer = http(f"{servers.rasa_url}/static/{name}")
    assert answer.status == 200 and answer.body


@pytest.mark.parametrize(
    "path",
    [
        "/static/package.json",
        "/static/package-lock.json",
        "/static/index.html",
        "/static/..%2Fchannels%2Fwebpage.py",
        "/static/node_modules/socket.io-client/package.json",
        "/static/../../credentials.yml",
    ],
)
def test_nothing_else_is_served(servers, path):
    assert http(f"{servers.rasa_url}{path}").status == 404
