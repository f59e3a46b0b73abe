"""End-to-end fixtures: the real action server and Rasa server, started by bot.servers on
free loopback ports against a database the staff CLI filled, and a REST chat client.

The servers are started once per test session (loading the model takes ~15 s) and stopped
by the fixture that started them. The ``servers`` and ``e2e_database_url`` fixtures live in
tests/conftest.py, so the browser and channel suites share the same servers: a session
fixture imported into several conftest files would start its own servers in each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.servers import PROJECT_ROOT, ServerSet


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m bot ...` exactly as staff run it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Chat:
    """One person chatting over the REST channel, with their own sender id."""

    base_url: str
    sender: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex}")

    def send(self, message: str) -> list[dict]:
        body = json.dumps({"sender": self.sender, "message": message}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def say(self, message: str) -> str:
        """Send a message and return all reply texts joined, as a person would read them."""
        return "\n".join(m.get("text", "") for m in self.send(message))


def button_titles(replies: list[dict]) -> list[str]:
    return [b["title"] for m in replies for b in m.get("buttons", [])]


@pytest.fixture
def chat(servers) -> Chat:
    return Chat(servers.rasa_url)


@pytest.fixture
def new_chat(servers):
    """A factory for further people (or a second conversation) on the same servers."""
    return lambda sender=None: Chat(servers.rasa_url, sender or f"test-{uuid.uuid4().hex}")


def server_logs(servers: ServerSet) -> str:
    return "\n".join(p.read_text(errors="replace") for p in Path(servers.log_dir).glob("*.log"))
