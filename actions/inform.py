"""A detail given without a question: a 户号 (bind it, or ask what to do with it), a ticket number
(its progress), a stray verification code."""

from __future__ import annotations

from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import DomainAction, Events, entity, latest_text, utter
from actions.handoff import parse_rating, rating_pending, record_rating
from actions.outages import ActionRepairProgress
from bot.domain import bindings
from bot.domain.models import Contact
from bot.nlu.normalize import to_halfwidth


class ActionHandleInform(DomainAction):
    def name(self) -> Text:
        return "action_handle_inform"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        score = parse_rating(latest_text(tracker))
        if score is not None and len(latest_text(tracker).strip()) <= 4 and rating_pending(s, tracker, contact):
            return record_rating(s, contact, tracker, dispatcher, score)  # "5" after "请回复1-5分"
        number = entity(tracker, "account_no")
        if number:
            if any(a.account_no == to_halfwidth(number) for a in bindings.bound_accounts(s, contact)):
                utter(dispatcher, "utter_account_known", account_no=number)
                return [SlotSet("next_step", "done"), SlotSet("account_no", None)]
            return [SlotSet("next_step", "bind"), SlotSet("account_no", number), SlotSet("verification_code", None),
                    SlotSet("pending_intent", None)]
        if entity(tracker, "ticket_no"):
            return ActionRepairProgress().act(s, contact, dispatcher, tracker, domain)
        if entity(tracker, "verification_code"):
            utter(dispatcher, "utter_bind_no_pending")
            return [SlotSet("next_step", "done")]
        utter(dispatcher, "utter_what_can_i_do")
        return [SlotSet("next_step", "done")]
