"""What happens when the assistant is unsure: offer the likeliest topics, or admit it."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, UserUtteranceReverted

from actions.replies import reply, topic_title

SUGGESTIONS = 2


class ActionSuggestTopics(Action):
    """Low NLU confidence: ask to rephrase, offering the two most likely topics as buttons."""

    def name(self) -> str:
        return "action_suggest_topics"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        buttons = []
        for candidate in ranking:
            title = topic_title(candidate.get("name", ""))
            if title:
                buttons.append({"title": title, "payload": f"/{candidate['name']}"})
            if len(buttons) == SUGGESTIONS:
                break
        message = reply("rephrase")
        message["buttons"] = buttons + [{"title": "Something else", "payload": "/help"}]
        dispatcher.utter_message(**message)
        # Forget the unclear message so it doesn't steer what the policies predict next.
        return [UserUtteranceReverted()]


class ActionCoreFallback(Action):
    """The dialogue policies are unsure what to do next: say what we cover, offer a person."""

    def name(self) -> str:
        return "action_core_fallback"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        dispatcher.utter_message(**reply("core_fallback"))
        return [UserUtteranceReverted()]
