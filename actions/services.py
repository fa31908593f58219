"""Business applications, complaints and meter questions: explain, and register a ticket on request."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from sqlalchemy.orm import Session

from actions.common import DomainAction, Events, latest_text, resolve_account, selected_key, source_key, utter
from bot.db import session_scope
from bot.domain import bindings, contacts, tickets
from bot.domain.models import Account, Contact
from bot.domain.pii import mask_phone, normalize_phone
from bot.domain.rules import get_rules

BUSINESS_KINDS = {
    "new_connection": "新装用电", "capacity_increase": "增容", "transfer_ownership": "过户", "name_change": "更名",
    "account_closure": "销户", "tou_tariff": "峰谷电价", "ev_charger": "充电桩报装", "solar_pv": "光伏并网",
}


class ActionBusinessApplication(DomainAction):
    """Materials and time limit for the application type, then offer to register it."""

    def name(self) -> Text:
        return "action_business_application"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        key = selected_key(tracker)
        kind = key.split("/", 1)[1] if key else None
        if kind not in BUSINESS_KINDS:
            # no text to tell the kind by (a menu click): say what can be applied for
            utter(dispatcher, "utter_business_application_kinds")
            return [SlotSet("next_step", "done")]
        utter(dispatcher, f"utter_business_application/{kind}")
        utter(dispatcher, "utter_offer_business")
        return [SlotSet("next_step", "offer_business"), SlotSet("offer_detail", kind),
                SlotSet("pending_text", latest_text(tracker))]


def _sms_phone(sender_id: str) -> Optional[str]:
    with session_scope() as s:
        contact = contacts.for_sender(s, sender_id)
        return contact.external_id if contact.channel == "sms" else None


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_callback_form"

    async def extract_callback_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """An SMS customer's own number is the call-back number unless they give another."""
        if tracker.get_slot("callback_phone"):
            return {}
        phone = await asyncio.to_thread(_sms_phone, tracker.sender_id)
        return {"callback_phone": phone} if phone else {}

    def validate_callback_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if not value:
            return {"callback_phone": None}
        try:
            return {"callback_phone": normalize_phone(str(value))}
        except ValueError:
            utter(dispatcher, "utter_callback_phone_invalid")
            return {"callback_phone": None}


class ActionSubmitCallback(DomainAction):
    """Register the business application with its call-back number."""

    def name(self) -> Text:
        return "action_submit_callback"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        kind = tracker.get_slot("offer_detail") or "new_connection"
        phone = tracker.get_slot("callback_phone")
        events: Events = [SlotSet("next_step", "done"), SlotSet("offer_detail", None), SlotSet("callback_phone", None),
                          SlotSet("pending_text", None)]
        if not phone:
            return events
        bound = bindings.bound_accounts(s, contact)
        ticket = tickets.create(
            s, "business", contact.channel, f"{BUSINESS_KINDS.get(kind, kind)}申请：{tracker.get_slot('pending_text') or ''}",
            contact=contact, account=bound[0] if len(bound) == 1 else None, subtype=kind, callback_phone=phone,
            source_key=source_key(tracker),
        )
        utter(dispatcher, "utter_business_registered", kind=BUSINESS_KINDS.get(kind, kind), ticket_no=ticket.ticket_no,
              phone=mask_phone(phone), days=get_rules().sla.application_working_days.get(kind, 5))
        return events  # the rating is asked once it is resolved (bot.domain.notices)


class ActionOfferDeclined(DomainAction):
    def name(self) -> Text:
        return "action_offer_declined"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        utter(dispatcher, "utter_offer_declined")
        return [SlotSet("next_step", "done"), SlotSet("offer_detail", None)]


class ActionMeterIssue(DomainAction):
    """Explain common meter questions and offer a calibration request."""

    def name(self) -> Text:
        return "action_meter_issue"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        utter(dispatcher, "utter_meter_explain")
        utter(dispatcher, "utter_offer_meter", days=get_rules().sla.meter_calibration_working_days)
        return [SlotSet("next_step", "offer_meter"), SlotSet("pending_text", latest_text(tracker))]


def register_meter_check(s: Session, contact: Contact, account: Account, tracker: Tracker,
                         dispatcher: CollectingDispatcher) -> Events:
    """A calibration request ticket for a verified account."""
    ticket = tickets.create(s, "meter", contact.channel, tracker.get_slot("pending_text") or "申请电能表校验",
                            contact=contact, account=account, subtype="calibration", source_key=source_key(tracker))
    utter(dispatcher, "utter_meter_registered", account_no=account.account_no, ticket_no=ticket.ticket_no,
          days=get_rules().sla.meter_calibration_working_days)
    return []  # the rating is asked once it is resolved (bot.domain.notices)


class ActionAcceptMeter(DomainAction):
    """The customer wants the calibration: for which verified account?"""

    def name(self) -> Text:
        return "action_accept_meter"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        resolution = resolve_account(s, contact, tracker, dispatcher, "meter_calibration")
        if resolution.account is None:
            # keep the original description, not "需要"
            return [e for e in resolution.events if e.get("name") != "pending_text"]
        return [SlotSet("next_step", "done")] + register_meter_check(s, contact, resolution.account, tracker,
                                                                     dispatcher)
