"""The office locator: the service halls of one district, or all of them."""

from __future__ import annotations

import logging

from rasa_sdk import Action
from rasa_sdk.events import EventType
from sqlalchemy.exc import SQLAlchemyError

from actions.records import engine
from actions.replies import reply
from bot.db import session_scope
from bot.offices import find_offices, list_districts

logger = logging.getLogger(__name__)


class ActionFindOffices(Action):
    def name(self) -> str:
        return "action_find_offices"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        district = next(tracker.get_latest_entity_values("district"), None)
        try:
            with session_scope(engine()) as session:
                districts = list_districts(session)
                offices = find_offices(session, district) if district else []
                unknown = bool(district) and not offices
                if not district or unknown:
                    offices = find_offices(session)
        except SQLAlchemyError:
            logger.exception("office lookup failed: database unavailable")
            dispatcher.utter_message(**reply("records_unavailable"))
            return []

        if not offices:
            dispatcher.utter_message(**reply("offices_none"))
            return []
        if unknown:
            intro = reply(
                "offices_unknown_district", district=district, districts=", ".join(districts)
            )
        elif district:
            intro = reply("offices_in_district", district=offices[0].district)
        else:
            intro = reply("offices_all")
        dispatcher.utter_message(**intro)
        for office in offices:
            dispatcher.utter_message(
                **reply(
                    "office",
                    name=office.name,
                    district=office.district,
                    address=office.address,
                    hours=office.hours,
                    phone=office.phone,
                )
            )
        if not district or unknown:
            narrow = reply("offices_narrow")
            narrow["buttons"] = [
                {"title": name, "payload": f'/office_locations{{"district": "{name}"}}'}
                for name in districts
            ]
            dispatcher.utter_message(**narrow)
        return []
