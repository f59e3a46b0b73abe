"""A Rasa replica killed (SIGKILL, as in a crash) while people are talking, through nginx.

nginx re-sends the turns the dead replica had in progress to the other one, which waits
for the dead replica's lock tickets to lapse (bot/lock_store.py) and answers them. Every
turn is answered, and every conversation's stored history is what its person was answered,
each message once, in order. `make bench-faults` runs the same drill longer, with the
killed replica started again under load.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from bench.faults import history_check, recorded_load
from tests.faults.conftest import run

pytestmark = pytest.mark.e2e

USERS = 10
SECONDS = 20
KILL_AFTER = 5
RE_SENT = re.compile(r"upstream=\S+, \S+ upstream_status=502, 200")


def test_a_replica_killed_under_load_loses_no_turn_and_no_history(
    healthy_cluster, cluster_database_url
):
    victim = healthy_cluster.rasa[1]
    access_log = healthy_cluster.work_dir / "logs" / "access.log"
    seen = access_log.stat().st_size if access_log.exists() else 0

    async def scenario():
        load = asyncio.create_task(recorded_load(healthy_cluster.url, USERS, SECONDS))
        await asyncio.sleep(KILL_AFTER)
        await asyncio.to_thread(victim.kill)
        return await load

    records = run(scenario())
    assert not victim.running

    unanswered = [(r.text, r.failure or "empty reply") for r in records if not r.answered]
    assert unanswered == []
    assert len(records) > USERS * SECONDS  # the load really ran (about 50 turns a second)
    lost, doubled = history_check(records, cluster_database_url)
    assert lost == []
    assert doubled == []
    # nginx flushes its log each second; what it wrote shows turns cut short by the kill.
    time.sleep(1.5)
    with access_log.open() as log:
        log.seek(seen)
        assert RE_SENT.search(log.read()), "no turn was in progress on the killed replica"
