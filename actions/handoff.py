"""Hand over to a person: the bureau's contact channels and hours, from configuration."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.replies import reply
from bot.settings import get_settings


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        settings = get_settings()
        dispatcher.utter_message(
            **reply(
                "human_handoff",
                phone=settings.contact_phone,
                hours=settings.contact_hours,
                in_person=settings.contact_in_person,
            )
        )
        return []
