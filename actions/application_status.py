"""The application status check: ask, validate, verify the asker, answer, forget.

The form collects the application number and the last 6 characters of the card holder's
ID number. Nothing is looked up until both are in, and both are asked for even when the
number is unknown, so the replies never reveal which numbers exist. Verification is done
in bot.verification against the database every time; no slot ever records "verified".
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.records import engine
from actions.replies import reply
from bot.db import session_scope
from bot.identifiers import normalise_application_number, normalise_id_tail
from bot.settings import get_settings
from bot.verification import verify_holder

logger = logging.getLogger(__name__)

FORM_SLOTS = ("application_number", "id_last6")
# Intents whose text is an answer to the form's question even when NLU is unsure of it.
ANSWER_INTENTS = {"inform", "nlu_fallback", "application_status", "affirm", "deny"}
FULL_ID_NUMBER = re.compile(r"\b\d{17}[\dXx]\b")


def _is_answer_to(tracker: Tracker, slot: str) -> bool:
    """Is the latest message an answer (however garbled) to the question for `slot`?

    While we ask for a value, an answer that isn't one deserves a "here is the expected
    format" reply rather than being taken for another question.
    """
    if tracker.get_slot("requested_slot") != slot:
        return False
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = tracker.latest_message.get("text") or ""
    # A single word NLU can't place ("abc", "SC12345") is a garbled answer, not a new topic.
    return intent in ANSWER_INTENTS or (intent == "out_of_scope" and len(text.split()) == 1)


def _forget_lookup() -> list[EventType]:
    """Clear everything the person typed for the check, so asking again means verifying again."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("requested_slot", None)]


class ValidateApplicationStatusForm(FormValidationAction):
    """Extracts both answers from free text and checks their shape (not their truth).

    Extraction is lenient (anything that answers the question), validation is strict;
    only validated values reach the tracker, so a rejected answer is never stored.
    """

    def name(self) -> str:
        return "validate_application_status_form"

    async def extract_application_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = tracker.latest_message.get("text") or ""
        number = normalise_application_number(text)
        if number:
            return {"application_number": number}
        if _is_answer_to(tracker, "application_number"):
            return {"application_number": text}
        return {}

    async def extract_id_last6(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "id_last6":
            return {}
        text = tracker.latest_message.get("text") or ""
        if FULL_ID_NUMBER.search(text) or normalise_id_tail(text) or _is_answer_to(
            tracker, "id_last6"
        ):
            return {"id_last6": text}
        return {}

    def validate_application_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = normalise_application_number(str(value or ""))
        if number is None:
            dispatcher.utter_message(**reply("invalid_application_number"))
        return {"application_number": number}

    def validate_id_last6(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "")
        if FULL_ID_NUMBER.search(text):
            # The whole ID number was typed: don't use it, ask for the tail only.
            dispatcher.utter_message(**reply("full_id_number_typed"))
            return {"id_last6": None}
        tail = normalise_id_tail(text)
        if tail is None:
            dispatcher.utter_message(**reply("invalid_id_last6"))
        return {"id_last6": tail}


class ActionAskApplicationNumber(Action):
    def name(self) -> str:
        return "action_ask_application_number"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(**reply("ask_application_number"))
        return []


class ActionAskIdLast6(Action):
    def name(self) -> str:
        return "action_ask_id_last6"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(**reply("ask_id_last6"))
        return []


def _local_time(moment: datetime) -> str:
    zone = ZoneInfo(get_settings().timezone)
    return moment.astimezone(zone).strftime("%H:%M on %d %B %Y") + f" ({zone.key} time)"


def _as_text(day: date | datetime) -> str:
    return day.strftime("%d %B %Y").lstrip("0")


class ActionCheckApplicationStatus(Action):
    """Verifies the asker, answers in plain words, then forgets what was typed."""

    def name(self) -> str:
        return "action_check_application_status"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        number = tracker.get_slot("application_number")
        tail = tracker.get_slot("id_last6")
        if not number or not tail:
            dispatcher.utter_message(**reply("status_no_match"))
            return _forget_lookup()
        try:
            with session_scope(engine()) as session:
                result = verify_holder(session, number, tail)
        except SQLAlchemyError:
            logger.exception("status lookup failed: database unavailable")
            dispatcher.utter_message(**reply("records_unavailable"))
            return _forget_lookup()
        except ValueError:
            # Validation let through something verify_holder refuses: never spend an
            # attempt on it, never reveal anything.
            logger.warning("status lookup refused a malformed value")
            dispatcher.utter_message(**reply("status_no_match"))
            return _forget_lookup()

        # The outcome is logged, never the verification value.
        logger.info("status lookup for %s: %s", number, result.outcome)
        if result.outcome == "locked":
            dispatcher.utter_message(
                **reply("status_locked", locked_until=_local_time(result.locked_until))
            )
        elif result.outcome == "match":
            application = result.application
            dispatcher.utter_message(
                **reply(
                    f"status_{application.status}",
                    application_number=application.application_number,
                    holder=application.masked_name,
                    updated_at=_as_text(application.updated_at),
                    collection_point=application.collection_point
                    or "the service hall where you applied",
                    note=application.note or "no reason was recorded; please ask the bureau.",
                )
            )
        else:
            dispatcher.utter_message(**reply("status_no_match"))
            if result.locked_until:
                # This failure caused the lock: say so now rather than on the next try.
                # Unknown numbers lock the same way, so this reveals nothing either.
                dispatcher.utter_message(
                    **reply("status_locked", locked_until=_local_time(result.locked_until))
                )
        return _forget_lookup()


class ActionCancelStatusLookup(Action):
    """The way out of the form at any point: stop, forget what was typed, and say so."""

    def name(self) -> str:
        return "action_cancel_status_lookup"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.latest_message.get("intent", {}).get("name") == "stop":
            dispatcher.utter_message(**reply("status_lookup_cancelled"))
        return [ActiveLoop(None), *_forget_lookup()]
