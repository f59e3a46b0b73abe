"""Action servers killed mid-conversation (SIGKILL, as in a crash), through nginx.

One of two down: nginx sends the calls to the other and nobody notices. All down: the
person gets the apology with the hotline (bot.action_guard), never a 5xx or silence; the
half-done status check is dropped, not left half verified; once the action servers are
back, the same conversation goes on.
"""

from __future__ import annotations

import aiohttp
import pytest

from bot.action_guard import fallback_apology
from bot.demo_data import DEMO_APPLICATIONS
from bot.identifiers import mask_name
from tests.faults.clients import RestPerson
from tests.faults.conftest import run

pytestmark = pytest.mark.e2e

RECORD = DEMO_APPLICATIONS[3]
STATUS_ANSWER = f"{RECORD.application_number} for {mask_name(RECORD.holder_name)}:"
HOTLINE = "12333"


async def _conversation(url: str, steps) -> list[tuple[str, list[str], list[int]]]:
    """Run `steps` (a message, or a callable to run between messages) as one person."""
    said = []
    async with aiohttp.ClientSession() as session:
        person = RestPerson(session, url)
        for step in steps:
            if callable(step):
                step()
                continue
            replies = await person.say(step)
            said.append((step, replies, list(person.statuses)))
    return said


def test_one_action_server_down_goes_unnoticed(healthy_cluster):
    cluster = healthy_cluster
    said = run(
        _conversation(
            cluster.url,
            [
                "check my application",
                cluster.actions[0].kill,
                RECORD.application_number,
                RECORD.id_tail,
                "where is the office in haidian",
            ],
        )
    )
    assert said[-1][2] == [200] * 4
    assert "last 6 characters" in "\n".join(said[1][1])
    assert STATUS_ANSWER in "\n".join(said[2][1])
    assert "Haidian" in "\n".join(said[3][1])


def test_all_action_servers_down_an_apology_then_the_conversation_goes_on(healthy_cluster):
    cluster = healthy_cluster

    def kill_all() -> None:
        for service in cluster.actions:
            service.kill()

    def start_all() -> None:
        for service in cluster.actions:
            cluster.restart(service)

    said = run(
        _conversation(
            cluster.url,
            [
                "hello",
                "check my application",
                kill_all,
                RECORD.application_number,  # the form's validation cannot run
                "where is the office in haidian",  # nor can the office look-up
                "how much is reimbursed",  # a plain response still works
                start_all,
                RECORD.id_tail,  # the dropped form does not take this as an answer
                "check my application",
                RECORD.application_number,
                RECORD.id_tail,
            ],
        )
    )
    replies = {message: "\n".join(texts) for message, texts, _ in said}
    statuses = said[-1][2]
    assert all(status == 200 for status in statuses), statuses

    during = [texts for _, texts, _ in said[2:4]]
    for texts in during:
        assert len(texts) == 1 and HOTLINE in texts[0], texts
    # A response from the domain needs no action server: answered as usual.
    assert said[4][1] and fallback_apology() not in said[4][1], said[4][1]

    after = [(message, "\n".join(texts)) for message, texts, _ in said[5:]]
    assert STATUS_ANSWER not in after[0][1]
    assert "application number" in after[1][1]
    assert "last 6 characters" in after[2][1]
    assert STATUS_ANSWER in after[3][1], replies
