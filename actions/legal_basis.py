"""Explains Article 2 of the Social Insurance Law, or what it means for one insurance type."""

from __future__ import annotations

import json
import logging

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.replies import reply
from bot.legal_basis import article_2, explain_insurance_type, insurance_type_keys

logger = logging.getLogger(__name__)


def _type_buttons(exclude: str | None = None) -> list[dict[str, str]]:
    buttons = []
    for key in insurance_type_keys():
        if key == exclude:
            continue
        name = explain_insurance_type(key).name
        payload = "/legal_basis" + json.dumps({"insurance_type": key})
        buttons.append({"title": name[0].upper() + name[1:], "payload": payload})
    return buttons


class ActionExplainLegalBasis(Action):
    def name(self) -> str:
        return "action_explain_legal_basis"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        try:
            article = article_2()
            key = next(tracker.get_latest_entity_values("insurance_type"), None)
            explanation = explain_insurance_type(key) if key else None
        except (OSError, ValueError, KeyError):
            logger.exception("legal basis content could not be read")
            dispatcher.utter_message(**reply("legal_basis_unavailable"))
            return []

        if explanation is None:
            dispatcher.utter_message(
                text=(
                    f"The legal basis is {article.citation} ({article.law_history}):\n\n"
                    f"\"{article.text}\"\n\n{article.plain_words}\n\n{article.for_you}\n\n"
                    "Ask me about any of the five insurance types:"
                ),
                buttons=_type_buttons(),
            )
            return []

        articles = "\n".join(f"- Article {a.number}: {a.summary}" for a in explanation.articles)
        dispatcher.utter_message(
            text=(
                f"{explanation.name[0].upper()}{explanation.name[1:]} is one of the five "
                f"insurance types named in {article.citation}.\n\n"
                f"{explanation.guarantee}\n\n"
                f"Reimbursement: {explanation.reimbursement}\n\n"
                f"Other articles of the same law that apply:\n{articles}"
            ),
            buttons=_type_buttons(exclude=key),
        )
        return []
