"""An apology, not silence, when a custom action cannot run (action server down, 5xx, hung).

Stock Rasa 3.6 logs "Encountered an exception while running action ..." and goes on with
no events: the person gets no reply at all, and a form stays active, half filled. Rasa has
no hook for this (the ``rasa.plugin`` hooks do not cover failed actions), so ``install()``
wraps ``MessageProcessor._run_action``, the one place every predicted action runs, and
wraps the action's ``run`` there. A failed action then yields, instead of nothing:

1. the apology with the hotline: the domain's ``utter_service_unavailable`` if the model
   has it (so a second language is only the domain), else bot/content/action_guard.yml;
2. if a form was running or starting, the form stopped and its slots forgotten, so
   nothing half-verified lingers and "check my application" starts afresh;
3. ``FollowupAction(action_listen)``: nothing more this turn, since the next custom action
   would fail the same way and apologise twice.

Once the action server answers again, the next message is handled as usual. Rasa's own
``ActionExecutionRejection`` (a form handing over to another policy) is control flow, not a
failure, and passes through untouched.

The Rasa server gets it from ``python -m bot.rasa_server run ...`` (bot/rasa_server.py).

ACTION_GUARD_TIMEOUT
    Seconds after which a running action counts as failed (default 30), the safety net for an
    action server that accepts the call and never answers (Rasa's own limit: 5 minutes). Not
    shorter: the time includes waiting for the Rasa server's own busy event loop, so under
    heavy load a short limit apologises for actions that were merely queued (4 s did, at 50
    requests per replica on 2 cores). Refused connections and 5xx answers fail at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from bot.settings import positive_number

logger = logging.getLogger(__name__)

RESPONSE_NAME = "utter_service_unavailable"
FALLBACK_FILE = Path(__file__).resolve().parent / "content" / "action_guard.yml"
TIMEOUT_VARIABLE = "ACTION_GUARD_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 30.0
# Rasa's own actions that never reach the action server and must never be replaced:
# listening, and the session start that runs before any message is handled.
UNGUARDED_ACTIONS = frozenset({"action_listen", "action_session_start"})
_INSTALLED_MARK = "_bureau_action_guard"


def guard_timeout(environ: dict[str, str] | None = None) -> float:
    return positive_number(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT_SECONDS, environ)


def fallback_apology() -> str:
    return yaml.safe_load(FALLBACK_FILE.read_text(encoding="utf-8"))["service_unavailable"]


async def apology_message(nlg: Any, tracker: Any, domain: Any, channel_name: str) -> dict:
    """The apology as a bot message dict (text, maybe buttons), in the domain's words if any."""
    if RESPONSE_NAME in getattr(domain, "responses", {}):
        try:
            message = await nlg.generate(RESPONSE_NAME, tracker, channel_name)
            if message:
                return dict(message)
        except Exception:  # the apology itself must never be what fails
            logger.exception("action guard: could not render %s", RESPONSE_NAME)
    return {"text": fallback_apology()}


def recovery_events(action: Any, tracker: Any, domain: Any, message: dict) -> list:
    """Events that replace a failed action's: apology, form stopped, listen."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa.core.actions.loops import LoopAction
    from rasa.shared.core.constants import ACTION_LISTEN_NAME, REQUESTED_SLOT
    from rasa.shared.core.events import ActiveLoop, FollowupAction, SlotSet

    events: list = [create_bot_utterance(dict(message))]
    form = action.name() if isinstance(action, LoopAction) else tracker.active_loop_name
    if form:
        form_slots = domain.required_slots_for_form(form) if form in domain.form_names else []
        events.append(ActiveLoop(None))
        events += [SlotSet(slot, None) for slot in (*form_slots, REQUESTED_SLOT)]
    events.append(FollowupAction(ACTION_LISTEN_NAME))
    return events


def _guarded_run(action: Any, timeout: float) -> Callable[..., Awaitable[list]]:
    from rasa.core.actions.action import ActionExecutionRejection

    run = action.run

    @functools.wraps(run)
    async def guarded(output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list:
        try:
            return await asyncio.wait_for(run(output_channel, nlg, tracker, domain), timeout)
        except ActionExecutionRejection:
            raise
        except Exception as error:  # any failure: the person still deserves an answer
            # The sender id and the error only: the message may hold personal data.
            logger.error(
                "action guard: action '%s' failed for %s (%s: %s); apologised instead",
                action.name(),
                tracker.sender_id,
                type(error).__name__,
                error,
            )
            channel_name = output_channel.name() if output_channel else ""
            message = await apology_message(nlg, tracker, domain, channel_name)
            return recovery_events(action, tracker, domain, message)

    return guarded


def install() -> None:
    """Wrap ``MessageProcessor._run_action`` once per process (safe to call again)."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._run_action
    if getattr(original, _INSTALLED_MARK, False):
        return
    timeout = guard_timeout()

    @functools.wraps(original)
    async def _run_action(self, action, tracker, output_channel, nlg, prediction) -> bool:
        if action.name() not in UNGUARDED_ACTIONS:
            # An attribute on this one instance: actions are created afresh per prediction.
            action.run = _guarded_run(action, timeout)
        return await original(self, action, tracker, output_channel, nlg, prediction)

    setattr(_run_action, _INSTALLED_MARK, True)
    MessageProcessor._run_action = _run_action
    logger.info("action guard installed (timeout %.0f s)", timeout)
