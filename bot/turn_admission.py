"""At most a few conversation turns in progress per Rasa process; the others wait in line.

A Rasa server takes every message at once and interleaves them on one event loop: each time
a turn waits for the action server it goes to the back of the line, behind every other
turn's NLU and policy work. A turn that calls the action server three times (the status
check) so waits three times as long as one that calls it once, and under load the slowest
turns take several times the median. Letting only TURN_CONCURRENCY turns run at once
(first come, first served) keeps the CPU as busy, since a few turns still overlap their
waits, while every turn waits in line once.

Measured (bench/load.py, 50 users, 2 replicas, alternating runs on a busy machine): p95
2.96 s without the limit, 2.84 s with 2, 2.30-2.54 s with 4, at the same throughput.

The line is taken after the conversation's lock (Rasa's ``Agent.handle_message`` takes the
lock, then calls ``MessageProcessor.handle_message``, which is what is wrapped): a message
waiting behind another of the same conversation, e.g. for the ticket of a replica that
died mid-turn, must not hold one of the few places while it waits.

TURN_CONCURRENCY
    Turns in progress per Rasa process (default 4; 0 turns the limit off).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

VARIABLE = "TURN_CONCURRENCY"
DEFAULT = 4
_INSTALLED_MARK = "_bureau_turn_admission"


def turn_concurrency(environ: dict[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    raw = environ.get(VARIABLE, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT
    except ValueError:
        logger.warning("%s=%r is not a whole number; using %d", VARIABLE, raw, DEFAULT)
        return DEFAULT


def install() -> None:
    """Wrap ``MessageProcessor.handle_message`` once per process (safe to call again)."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor.handle_message
    limit = turn_concurrency()
    if getattr(original, _INSTALLED_MARK, False) or limit == 0:
        return
    # One line per event loop (Sanic runs one loop per worker process).
    lines: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    @functools.wraps(original)
    async def handle_message(self: Any, message: Any) -> Any:
        loop = asyncio.get_running_loop()
        line = lines.get(loop)
        if line is None:
            line = lines[loop] = asyncio.Semaphore(limit)
        async with line:
            return await original(self, message)

    setattr(handle_message, _INSTALLED_MARK, True)
    MessageProcessor.handle_message = handle_message
