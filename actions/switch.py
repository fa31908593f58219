"""Changing the subject: the customer asks something else while the bot waits for a form answer, or
says something no rule expects. The form is left and the new request is answered as if it came first.
A yes to an offered second request (``还想了解峰谷电申请吗？`` — ``好的``) answers that request the same
way; a no closes the offer (actions/offers.py).

Configured as the RulePolicy's core fallback action (config.yml), so every unforeseen dialogue state
ends here instead of in silence.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.accounts import ActionBindAccount
from actions.answers import answer_service_question
from actions.billing import ActionQueryBalance, ActionQueryBill, ActionQueryUsage
from actions.callback import ActionComplaint
from actions.common import Events, latest_intent, utter
from actions.faq import ActionFaq
from actions.handoff import ActionFallback, ActionRecordRating, ActionRequestHuman
from actions.hazards import ActionHazardAdvice, ActionShareImage, ActionShareLocation
from actions.inform import ActionHandleInform
from actions.offers import as_asked, open_offer
from actions.outages import ActionPlannedOutage, ActionRepairProgress
from actions.services import ActionBusinessApplication, ActionMeterIssue
from actions.tariffs import ActionTariff
from bot.db import session_scope
from bot.domain import contacts

HANDLERS: Dict[str, Action] = {
    "query_bill": ActionQueryBill(),
    "query_balance": ActionQueryBalance(),
    "query_usage": ActionQueryUsage(),
    "bind_account": ActionBindAccount(),
    "inform": ActionHandleInform(),
    "query_repair_progress": ActionRepairProgress(),
    "query_planned_outage": ActionPlannedOutage(),
    "query_tariff": ActionTariff(),
    "payment_methods": ActionFaq(),
    "business_application": ActionBusinessApplication(),
    "complaint": ActionComplaint(),
    "meter_issue": ActionMeterIssue(),
    "request_human": ActionRequestHuman(),
    "rate": ActionRecordRating(),
    "share_image": ActionShareImage(),
    "share_location": ActionShareLocation(),
    "nlu_fallback": ActionFallback(),
}
UTTERANCES = {
    "greet": "utter_greet", "goodbye": "utter_goodbye", "thank": "utter_thank", "out_of_scope": "utter_out_of_scope",
    "affirm": "utter_anything_else", "deny": "utter_anything_else", "subscribe": "utter_welcome",
    "voice_unrecognized": "utter_voice_unrecognized", "unsupported_message": "utter_unsupported",
}


RESUMABLE = ("outage_form", "hazard_form", "contact_form", "complaint_form", "bind_form")


def _answered(tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    with session_scope() as s:
        return answer_service_question(s, contacts.for_sender(s, tracker.sender_id), tracker, dispatcher)


class ActionSwitchTopic(Action):
    def name(self) -> Text:
        return "action_switch_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> Events:
        intent = latest_intent(tracker)
        events: Events = []
        offer = open_offer(tracker) if intent in ("affirm", "deny") else None
        if tracker.get_slot("offered_request"):
            events.append(SlotSet("offered_request", None))
        if offer is not None and intent == "deny":
            utter(dispatcher, "utter_offer_declined")
            return events + [SlotSet("next_step", "done")]
        if offer is not None:
            tracker = as_asked(tracker, offer)
            intent = offer["intent"]
        if tracker.active_loop.get("name") in RESUMABLE and await asyncio.to_thread(_answered, tracker, dispatcher):
            # a question inside a report: answered, and the form asks its question again
            return [SlotSet("next_step", "resume_" + tracker.active_loop["name"])]
        if tracker.active_loop.get("name"):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        handler: Optional[Action] = HANDLERS.get(intent)
        if handler is not None:
            return events + list(await handler.run(dispatcher, tracker, domain))
        if intent == "report_hazard":
            events += list(await ActionHazardAdvice().run(dispatcher, tracker, domain))
        if intent in ("report_outage", "report_hazard"):
            # a new report: its form starts over (rules in data/rules/dialogue.yml)
            return events + [SlotSet("address", None), SlotSet("detail", None),
                             SlotSet("next_step", "restart_" + intent)]
        utter(dispatcher, UTTERANCES.get(intent, "utter_default"))
        return events + [SlotSet("next_step", "done")]
