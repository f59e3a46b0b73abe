"""Rasa's ticket lock in Redis, with tickets that their owner keeps alive (leases).

deploy/endpoints.cluster.yml names this class. It keeps Rasa's design (one lock per
conversation, first come first served, the lock as JSON under ``<prefix>:lock:<id>``) and
mends three faults of Rasa 3.6's RedisLockStore that the replica-kill drill
(bench/faults.py) met:

1. A waiter whose own ticket expires while it waits is never served. Once every ticket has
   expired, ``TicketLock.now_serving`` is 0 and ``is_locked(n)`` is true for every n > 0,
   so the turn polls until Sanic's 60 s response timeout cancels it and the person gets an
   empty answer. It is what happens to the message nginx re-sends after a replica died
   holding that conversation's ticket: the dead ticket and the re-sent one have the same
   lifetime, so the waiter sees the dead one go only if its once-a-second poll falls in the
   fraction of a second between the two expiries (measured: 3 to 4 turns per kill).
2. The lifetime must outlast the slowest turn, or a long turn loses its lock to the next
   one; so a dead replica's conversations stay blocked that long.
3. Every change is read, modify, write without a transaction: two replicas taking a ticket
   for one conversation at the same moment can overwrite each other's, and both go ahead.
   And each replica judges expiry by its own clock.

Here a ticket is a lease: while its turn waits or runs, its owner renews it every third of
the lifetime, so a live turn keeps its place however long it takes, and a dead replica's
tickets lapse one lifetime after their last renewal. Each ticket carries its owner's random
token, so a waiter whose lease lapsed anyway (its process stalled longer than a lifetime)
notices, takes a new ticket at the back and says so in the log, instead of waiting forever.
Every read and change of a queue is one Lua script, which Redis runs atomically and on its
own clock, and the key expires with its last ticket, so a dead replica leaves nothing behind.

TICKET_LOCK_LIFETIME
    Seconds a ticket lives without renewal: how long a dead replica's conversations wait
    (Rasa's variable; default here 10 s, Rasa's 60 s).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
from rasa.core.lock_store import RedisLockStore

from bot.settings import positive_number

logger = logging.getLogger(__name__)

LIFETIME_VARIABLE = "TICKET_LOCK_LIFETIME"
DEFAULT_LIFETIME = 10.0
# How often a waiting turn looks whether it is its turn. Rasa waits a whole second; a turn
# only waits behind another turn of the same person, so a short poll costs little.
DEFAULT_POLL_SECONDS = 0.1
# Renewals per lifetime: two may be missed (a busy event loop) before a lease lapses.
RENEWALS_PER_LIFETIME = 3

# Every read and change of a conversation's queue, as one Lua script: Redis runs a script
# atomically, on its own clock (TIME), so replicas on machines whose clocks differ agree on
# what has expired. One round trip per operation; the key layout is Rasa's TicketLock JSON
# (tickets as JSON strings), each ticket with its owner's token added.
# KEYS[1]: the queue. ARGV: operation (take|renew|release|position), owner, lifetime (s),
# conversation id. Returns the owner's place (0: its turn), or -1 if it has no ticket.
QUEUE_SCRIPT = """
local operation, owner, lifetime = ARGV[1], ARGV[2], tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local tickets = {}
local raw = redis.call('GET', KEYS[1])
if raw then
  for _, encoded in ipairs(cjson.decode(raw)['tickets']) do
    local ticket = cjson.decode(encoded)
    if ticket['expires'] >= now then table.insert(tickets, ticket) end
  end
end
local function place()
  for index, ticket in ipairs(tickets) do
    if ticket['owner'] == owner then return index - 1 end
  end
  return -1
end
if operation == 'position' then return place() end
if operation == 'take' then
  local number = 0
  if #tickets > 0 then number = tickets[#tickets]['number'] + 1 end
  table.insert(tickets, {number = number, expires = now + lifetime, owner = owner})
elseif operation == 'renew' then
  local index = place()
  if index < 0 then return -1 end
  tickets[index + 1]['expires'] = now + lifetime
elseif operation == 'release' then
  local kept = {}
  for _, ticket in ipairs(tickets) do
    if ticket['owner'] ~= owner then table.insert(kept, ticket) end
  end
  tickets = kept
end
if #tickets == 0 then
  redis.call('DEL', KEYS[1])
  return -1
end
local encoded, last = {}, now
for index, ticket in ipairs(tickets) do
  encoded[index] = cjson.encode(ticket)
  if ticket['expires'] > last then last = ticket['expires'] end
end
local body = cjson.encode({conversation_id = ARGV[4], tickets = encoded})
redis.call('SET', KEYS[1], body, 'PX', math.floor((last - now) * 1000) + 1000)
return place()
"""


def lease_lifetime(environ: dict[str, str] | None = None) -> float:
    return positive_number(LIFETIME_VARIABLE, DEFAULT_LIFETIME, environ)


class LapsedLease(Exception):
    """The owner's ticket was gone from the queue."""


class LeasedRedisLockStore(RedisLockStore):
    """RedisLockStore whose tickets are renewed by their owner (see the module docstring)."""

    def __init__(
        self,
        endpoint_config: Any = None,
        *,
        lifetime: float | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        **redis_settings: Any,
    ) -> None:
        # Rasa builds a custom lock store as ``cls(endpoint_config=...)``; the fields are
        # those of ``type: redis`` (url is the host).
        if endpoint_config is not None:
            redis_settings = {
                "host": endpoint_config.url or "localhost",
                **endpoint_config.kwargs,
                **redis_settings,
            }
        super().__init__(**redis_settings)
        self.lifetime = lifetime or lease_lifetime()
        self.poll_seconds = poll_seconds
        self._queue = self.red.register_script(QUEUE_SCRIPT)

    # ------------------------------------------------------------ the queue, atomically

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def _run(self, operation: str, conversation_id: str, owner: str) -> int:
        return int(
            self._queue(
                keys=[self._key(conversation_id)],
                args=[operation, owner, self.lifetime, conversation_id],
            )
        )

    def take_ticket(self, conversation_id: str, owner: str) -> int:
        """Join the back of the conversation's queue; how many tickets are ahead."""
        return self._run("take", conversation_id, owner)

    def renew(self, conversation_id: str, owner: str) -> None:
        """Extend the owner's lease by a lifetime; LapsedLease if it is gone."""
        if self._run("renew", conversation_id, owner) < 0:
            raise LapsedLease(owner)

    def release(self, conversation_id: str, owner: str) -> None:
        """Leave the queue (the key goes with its last ticket)."""
        self._run("release", conversation_id, owner)

    def position(self, conversation_id: str, owner: str) -> int | None:
        """Tickets ahead of the owner's (0: its turn); None if its ticket is gone."""
        ahead = self._run("position", conversation_id, owner)
        return None if ahead < 0 else ahead

    # ------------------------------------------------------------ what Rasa calls

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float | None = None,
        wait_time_in_seconds: float | None = None,
    ) -> AsyncIterator[None]:
        """Wait for the conversation's turn, hold it for the ``async with`` body, leave.

        Rasa's arguments are accepted for compatibility; the lease lifetime is the store's
        (a lease is renewed, so it need not outlast the turn). Nothing is yielded: Rasa's
        callers (``Agent.handle_message``, the HTTP API) never use the lock object, and
        reading it back would cost a Redis round trip per message."""
        owner = uuid.uuid4().hex
        ahead = self.take_ticket(conversation_id, owner)
        renewal = asyncio.create_task(self._keep_renewed(conversation_id, owner))
        try:
            if ahead:
                await self._wait_for_turn(conversation_id, owner, wait_time_in_seconds)
            yield
        finally:
            renewal.cancel()
            self.release(conversation_id, owner)

    async def _wait_for_turn(
        self, conversation_id: str, owner: str, poll_seconds: float | None
    ) -> None:
        poll = poll_seconds if poll_seconds is not None else self.poll_seconds
        poll = min(poll, self.lifetime / RENEWALS_PER_LIFETIME)
        while True:
            ahead = self.position(conversation_id, owner)
            if ahead == 0:
                return
            if ahead is None:
                logger.warning(
                    "The lock ticket for a conversation lapsed while waiting (the process "
                    "stalled over %.0f s); taking a new one.",
                    self.lifetime,
                )
                self.take_ticket(conversation_id, owner)
            await asyncio.sleep(poll)

    async def _keep_renewed(self, conversation_id: str, owner: str) -> None:
        interval = self.lifetime / RENEWALS_PER_LIFETIME
        while True:
            await asyncio.sleep(interval)
            try:
                self.renew(conversation_id, owner)
            except LapsedLease:
                # Waiting: _wait_for_turn takes a new ticket. Holding: the turn outlived
                # its lease (a stall over a lifetime); keep going, it is nearly done.
                logger.warning("A conversation's lock lease lapsed before renewal.")
            except redis.RedisError as error:
                # Redis away for a moment: try again at the next interval.
                logger.warning("Could not renew a conversation's lock lease: %s", error)
