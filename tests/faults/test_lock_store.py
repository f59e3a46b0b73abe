"""The conversation lock the replicas share (bot/lock_store.py), on this machine's Redis.

Short lifetimes (about a second) stand in for the cluster's 10 s, so that a dead replica's
ticket lapses within the test. A "dead replica" is a ticket taken and never renewed, which
is what a replica killed mid-turn leaves behind.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.utils import _lock_store_is_multi_worker_compatible
from rasa.utils.endpoints import read_endpoint_config

from bot.cluster import CLUSTER_ENDPOINTS, redis_environment
from bot.lock_store import DEFAULT_LIFETIME, LeasedRedisLockStore, lease_lifetime
from tests.faults.conftest import run

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


@pytest.fixture
def key_prefix() -> Iterator[str]:
    """A prefix of this test's own; its keys are deleted after."""
    prefix = "locktest" + secrets.token_hex(4)
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def _redis_settings(prefix: str) -> dict:
    env = redis_environment(REDIS_URL, prefix)
    return {
        "host": env["REDIS_HOST"],
        "port": int(env["REDIS_PORT"]),
        "db": int(env["REDIS_DB"]),
        "key_prefix": prefix,
    }


def leased_store(prefix: str, lifetime: float = 1.0) -> LeasedRedisLockStore:
    """One replica's lock store."""
    return LeasedRedisLockStore(lifetime=lifetime, poll_seconds=0.05, **_redis_settings(prefix))


def test_rasa_s_own_store_never_serves_a_waiter_whose_ticket_lapsed(key_prefix):
    """Why bot/lock_store.py exists: the replica-kill drill's 60 s turns, in miniature."""
    store = RedisLockStore(**_redis_settings(key_prefix))
    store.issue_ticket("alice", lock_lifetime=1.5)  # the killed replica's, never released

    async def waiter() -> None:
        await asyncio.sleep(0.1)  # nginx re-sends the turn a moment later
        # Polls at 0.1, 1.1 (the dead ticket still there) and 2.1 s (both lapsed: now
        # `now_serving` is 0 and ticket 1 waits for good).
        async with store.lock("alice", lock_lifetime=1.5, wait_time_in_seconds=1):
            pass

    with pytest.raises(asyncio.TimeoutError):
        run(asyncio.wait_for(waiter(), timeout=4))


def test_a_dead_replica_s_ticket_lapses_and_the_message_behind_it_is_served(key_prefix):
    store = leased_store(key_prefix, lifetime=1.0)
    store.take_ticket("alice", owner="killed-replica")

    async def waiter() -> float:
        started = time.monotonic()
        async with store.lock("alice"):
            return time.monotonic() - started

    waited = run(asyncio.wait_for(waiter(), timeout=5))
    # Not before the dead ticket lapsed (it held the conversation), soon after it did.
    assert 0.8 <= waited < 3.0


def test_a_live_turn_keeps_the_lock_for_many_lifetimes(key_prefix):
    first, second = leased_store(key_prefix, 0.6), leased_store(key_prefix, 0.6)
    timeline: list[str] = []

    async def slow_turn() -> None:
        async with first.lock("bob"):
            timeline.append("slow turn starts")
            await asyncio.sleep(2.0)  # over three lifetimes: renewed, never lapses
            timeline.append("slow turn ends")

    async def next_turn() -> None:
        await asyncio.sleep(0.2)
        async with second.lock("bob"):
            timeline.append("next turn starts")

    async def both() -> None:
        await asyncio.gather(slow_turn(), next_turn())

    run(asyncio.wait_for(both(), timeout=10))
    assert timeline == ["slow turn starts", "slow turn ends", "next turn starts"]


def test_turns_of_one_conversation_run_one_at_a_time_in_arrival_order(key_prefix):
    replicas = [leased_store(key_prefix), leased_store(key_prefix)]
    inside: list[int] = []
    order: list[int] = []
    overlaps: list[int] = []

    async def turn(number: int) -> None:
        await asyncio.sleep(number * 0.01)  # arrival order
        async with replicas[number % 2].lock("carol"):
            if inside:
                overlaps.append(number)
            inside.append(number)
            order.append(number)
            await asyncio.sleep(0.02)
            inside.remove(number)

    async def all_turns() -> None:
        await asyncio.gather(*(turn(n) for n in range(20)))

    run(asyncio.wait_for(all_turns(), timeout=30))
    assert overlaps == []
    assert order == list(range(20))


def test_tickets_taken_at_once_by_many_processes_are_all_kept(key_prefix):
    """Every change is one transaction: none of 200 simultaneous tickets is overwritten."""
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)

    def replica(index: int) -> None:
        store = leased_store(key_prefix, lifetime=30)
        start.wait()
        for turn in range(per_thread):
            store.take_ticket("dave", owner=f"{index}-{turn}")

    workers = [threading.Thread(target=replica, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lock = leased_store(key_prefix).get_lock("dave")
    numbers = [ticket.number for ticket in lock.tickets]
    assert numbers == list(range(threads * per_thread))


def test_a_waiter_whose_own_ticket_lapsed_takes_a_new_one(key_prefix):
    store = leased_store(key_prefix, lifetime=1.0)
    store.take_ticket("erin", owner="killed-replica")

    async def waiter() -> None:
        async with store.lock("erin"):
            pass

    async def stall_then_wait() -> None:
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0.3)
        # As if the waiter's process had stalled past its lease: its ticket is gone.
        lock = store.get_lock("erin")
        store.red.delete(store.key_prefix + "erin")
        store.take_ticket("erin", owner="killed-replica")
        assert len(lock.tickets) == 2
        await task

    run(asyncio.wait_for(stall_then_wait(), timeout=6))
    assert store.get_lock("erin") is None


def test_nothing_is_left_in_redis(key_prefix):
    store = leased_store(key_prefix, lifetime=1.0)

    async def one_turn() -> None:
        async with store.lock("frank"):
            assert store.red.exists(store.key_prefix + "frank")

    run(one_turn())
    assert not store.red.exists(store.key_prefix + "frank")
    # A dead replica's ticket: the key expires soon after the ticket would have lapsed.
    store.take_ticket("frank", owner="killed-replica")
    assert 0 < store.red.pttl(store.key_prefix + "frank") <= 2000


def test_rasa_builds_it_from_the_cluster_endpoints(key_prefix, monkeypatch):
    for name, value in redis_environment(REDIS_URL, key_prefix).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TICKET_LOCK_LIFETIME", "7")
    # The file's action endpoint reads it too (Rasa expands every variable in the file).
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    endpoint = read_endpoint_config(str(CLUSTER_ENDPOINTS), "lock_store")
    store = LockStore.create(endpoint)
    assert isinstance(store, LeasedRedisLockStore)
    assert store.key_prefix.startswith(key_prefix + ":")
    assert store.lifetime == 7
    assert store.red.ping()
    assert _lock_store_is_multi_worker_compatible(store)  # SANIC_WORKERS > 1 allowed


def test_lifetime_from_the_environment():
    assert lease_lifetime({}) == DEFAULT_LIFETIME
    assert lease_lifetime({"TICKET_LOCK_LIFETIME": "4"}) == 4
    assert lease_lifetime({"TICKET_LOCK_LIFETIME": "0"}) == DEFAULT_LIFETIME
    assert lease_lifetime({"TICKET_LOCK_LIFETIME": "soon"}) == DEFAULT_LIFETIME
