"""FAQ answers chosen by the ResponseSelector, with numbers filled from service_rules.yml."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import selected_key
from bot.domain.rules import template_values


class ActionFaq(Action):
    def name(self) -> str:
        return "action_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        key = selected_key(tracker) or f"{intent}/general"  # a menu click carries no text to select by
        if f"utter_{key}" in domain.get("responses", {}):
            dispatcher.utter_message(response=f"utter_{key}", **template_values())
        else:
            dispatcher.utter_message(response="utter_default")
        return []
