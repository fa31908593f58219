"""FAQ answers chosen by the ResponseSelector, with numbers filled from service_rules.yml; how to pay
ends with the customer's own payment entry when PAYMENT_URL_TEMPLATE is configured."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answer_service_question
from actions.common import selected_key, utter
from actions.offers import offer_second_request
from bot.config import get_settings
from bot.db import session_scope
from bot.domain import bindings, contacts
from bot.domain.rules import template_values


def _payment_entries(sender_id: str, template: str) -> List[str]:
    with session_scope() as s:
        return [template.format(account_no=a.account_no)
                for a in bindings.bound_accounts(s, contacts.for_sender(s, sender_id))]


def _service_answer(sender_id: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    with session_scope() as s:
        return answer_service_question(s, contacts.for_sender(s, sender_id), tracker, dispatcher)


class ActionFaq(Action):
    def name(self) -> str:
        return "action_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        if await asyncio.to_thread(_service_answer, tracker.sender_id, tracker, dispatcher):
            return []  # "营业厅在哪" / "供电所电话多少": the place's own answer
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        key = selected_key(tracker) or f"{intent}/general"  # a menu click carries no text to select by
        if f"utter_{key}" in domain.get("responses", {}):
            dispatcher.utter_message(response=f"utter_{key}", **template_values())
        else:
            dispatcher.utter_message(response="utter_default")
        template = get_settings().payment_url_template
        if intent == "payment_methods" and template:
            for url in await asyncio.to_thread(_payment_entries, tracker.sender_id, template):
                utter(dispatcher, "utter_payment_entry", url=url)
        return offer_second_request(tracker, dispatcher, [], answered=True)
