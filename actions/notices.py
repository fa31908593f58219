"""Customers answering the notices they get: turning a kind of notice off or on, and "还没来电" after a
repair was reported resolved (bot/nlu/commands.py recognises both; bot.domain.notices does the work)."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import DomainAction, Events, entity, utter
from bot import messages
from bot.domain import notices
from bot.domain.models import Contact


class ActionNoticePreference(DomainAction):
    """`不要再通知我停电` / `恢复停电通知`: the customer's choice for one topic (outage or bill notices)."""

    def name(self) -> Text:
        return "action_notice_preference"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        topic = entity(tracker, "notice_topic")
        intent = (tracker.latest_message or {}).get("intent", {}).get("name")
        if topic not in notices.OPTIONAL_TOPICS or intent not in ("notice_off", "notice_on"):
            utter(dispatcher, "utter_default")
            return [SlotSet("next_step", "done")]
        enabled = intent == "notice_on"
        notices.set_preference(s, notices.person_of_contact(contact), topic, enabled)
        utter(dispatcher, "utter_notice_on" if enabled else "utter_notice_off",
              topic=messages.NOTICE_TOPIC_LABELS[topic])
        return [SlotSet("next_step", "done")]


class ActionPowerNotRestored(DomainAction):
    """`还没来电` after a resolved notice: the repair ticket is reopened, and the customer is told so."""

    def name(self) -> Text:
        return "action_power_not_restored"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        ticket = notices.reopen_not_restored(s, contact)
        if ticket is None:
            utter(dispatcher, "utter_nothing_to_reopen")
        else:
            utter(dispatcher, "utter_ticket_reopened", ticket_no=ticket.ticket_no)
        return [SlotSet("next_step", "done")]


__all__ = ["ActionNoticePreference", "ActionPowerNotRestored"]
