"""A number to call back before a ticket is filed (contact_form), and complaints in the customer's
own words.

No repair or complaint ticket is filed without a number to call back (issue 13): an SMS customer's
own phone, a bound account's registered phone confirmed in one question (`尾号5678的手机能联系到您吗？`),
or an 11-digit mobile number the customer gives. A hazard is filed first and gets its number here.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from sqlalchemy.orm import Session

from actions.answers import answer_service_question
from actions.common import DomainAction, Events, latest_intent, latest_text, source_key, utter
from actions.handoff import request_agent
from actions.outages import CLEAR_REPORT, submit_outage
from bot.db import session_scope
from bot.domain import bindings, contacts, reports, tickets
from bot.domain.models import Contact
from bot.domain.pii import mask_phone, normalize_phone
from bot.domain.rules import get_rules
from bot.nlu.answers import describes_fault, says_no, says_yes

DECLINED = "declined"


def phone_in(text: str) -> Optional[str]:
    """The 11-digit mobile number in a message (see bot.domain.reports.callback_number)."""
    return reports.callback_number(text)


def _offered_phone(sender_id: str, account_no: Optional[str]) -> Optional[str]:
    with session_scope() as s:
        account = reports.offerable_phone(s, contacts.for_sender(s, sender_id), account_no)
        return account.phone if account is not None else None


def _answer(sender_id: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    with session_scope() as s:
        return answer_service_question(s, contacts.for_sender(s, sender_id), tracker, dispatcher)


class ValidateContactForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_contact_form"

    async def extract_callback_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """An SMS customer's own number needs no question."""
        if tracker.get_slot("callback_phone") or tracker.get_slot("requested_slot"):
            return {}
        with session_scope() as s:
            phone = reports.own_phone(contacts.for_sender(s, tracker.sender_id))
        return {"callback_phone": phone} if phone else {}

    async def validate_callback_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = latest_text(tracker)
        if not tracker.get_slot("requested_slot"):
            return {"callback_phone": str(value)} if value else {"callback_phone": None}
        given = phone_in(text) or phone_in(str(value or ""))
        if given:
            return {"callback_phone": given, "phone_offer": None}
        offer = tracker.get_slot("phone_offer")
        intent = latest_intent(tracker)
        if offer and offer != DECLINED:
            if says_no(text) or intent == "deny":
                utter(dispatcher, "utter_ask_other_phone")
                return {"callback_phone": None, "phone_offer": DECLINED, "phone_prompted": True}
            if says_yes(text) or intent == "affirm":
                phone = await asyncio.to_thread(_offered_phone, tracker.sender_id, offer)
                if phone:
                    return {"callback_phone": normalize_phone(phone), "phone_offer": None}
        if await asyncio.to_thread(_answer, tracker.sender_id, tracker, dispatcher):
            return {"callback_phone": None}
        utter(dispatcher, "utter_callback_phone_invalid")
        return {"callback_phone": None, "phone_prompted": True}


class ActionAskContactPhone(DomainAction):
    """Offer the bound account's registered phone, or ask for a number."""

    def name(self) -> Text:
        return "action_ask_contact_form_callback_phone"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        if tracker.get_slot("phone_prompted"):
            return [SlotSet("phone_prompted", None)]
        offer = tracker.get_slot("phone_offer")
        if offer != DECLINED:
            account = reports.offerable_phone(s, contact, offer or tracker.get_slot("account_choice"))
            if account is not None:
                utter(dispatcher, "utter_ask_registered_phone", tail=re.sub(r"\D", "", account.phone)[-4:])
                return [SlotSet("phone_offer", account.account_no)]
        utter(dispatcher, "utter_ask_contact_form_callback_phone")
        return []


class ActionSubmitContact(DomainAction):
    """The number is known: file what waited for it (outage, complaint) or give it to the ticket."""

    def name(self) -> Text:
        return "action_submit_contact"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        kind = tracker.get_slot("report_kind")
        phone = tracker.get_slot("callback_phone")
        if not phone:
            return CLEAR_REPORT
        if kind == "outage":
            return submit_outage(s, contact, dispatcher, tracker, domain)
        if kind == "complaint":
            return file_complaint(s, contact, dispatcher, tracker, phone)
        ticket = tickets.by_no(s, tracker.get_slot("report_ticket") or "")
        if ticket is not None and tickets.visible_to(s, ticket, contact):
            tickets.set_callback_phone(s, ticket, contact, phone, f"customer:{contact.sender_id}")
            utter(dispatcher, "utter_callback_phone_noted", ticket_no=ticket.ticket_no, phone=mask_phone(phone))
            return CLEAR_REPORT  # the rating is asked once the ticket is resolved
        return CLEAR_REPORT


def file_complaint(s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
                   phone: str) -> Events:
    """The complaint ticket with the customer's words and number, and the customer in the agents' queue."""
    bound = bindings.bound_accounts(s, contact)
    words = tracker.get_slot("report_text") or latest_text(tracker)
    ticket = tickets.create(s, "complaint", contact.channel, words, contact=contact,
                            account=bound[0] if len(bound) == 1 else None, callback_phone=phone,
                            source_key=source_key(tracker))
    sla = get_rules().sla
    utter(dispatcher, "utter_complaint_registered", ticket_no=ticket.ticket_no,
          contact_days=sla.complaint_contact_working_days, reply_days=sla.complaint_reply_working_days)
    return CLEAR_REPORT + request_agent(s, contact, tracker, "complaint", dispatcher, after_hours_ticket=False)


def complaint_words(text: str) -> bool:
    """Does a complaint message say what happened (not only `我要投诉`)?"""
    stripped = re.sub(r"我|要|想|你们|投诉|举报|反映|一下|问题|[\W_]", "", text or "")
    return describes_fault(stripped) or len(stripped) >= 4


class ActionComplaint(DomainAction):
    """A complaint: what happened (asked when the message does not say), a number, then the ticket."""

    def name(self) -> Text:
        return "action_complaint"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        text = latest_text(tracker)
        if not complaint_words(text):
            # complaint_form asks what happened (utter_ask_complaint_form_report_text)
            return [SlotSet("report_kind", "complaint"), SlotSet("report_text", None),
                    SlotSet("next_step", "ask_complaint")]
        return self.proceed(s, contact, dispatcher, tracker, text)

    @staticmethod
    def proceed(s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
                words: str) -> Events:
        phone = tracker.get_slot("callback_phone") or reports.own_phone(contact)
        if phone:
            return file_complaint(s, contact, dispatcher, _with_words(tracker, words), phone)
        return [SlotSet("report_text", words[:2000])] + [SlotSet("report_kind", "complaint"),
                                                         SlotSet("next_step", "ask_phone")]


def _with_words(tracker: Tracker, words: str) -> Tracker:
    copy = tracker.copy()
    copy.slots["report_text"] = words
    return copy


class ValidateComplaintForm(FormValidationAction):
    """The answer to "what happened?": a question of its own (`你们客服电话多少`) is answered, not filed."""

    def name(self) -> Text:
        return "validate_complaint_form"

    async def validate_report_text(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if await asyncio.to_thread(_answer, tracker.sender_id, tracker, dispatcher):
            return {"report_text": None}
        return {"report_text": text[:2000]} if len(text) >= 2 else {"report_text": None}


class ActionComplaintWords(DomainAction):
    """The answer to "what happened?" (complaint_form): the complaint's words."""

    def name(self) -> Text:
        return "action_complaint_words"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        words = (tracker.get_slot("report_text") or "").strip()
        if not words:
            return CLEAR_REPORT
        return ActionComplaint.proceed(s, contact, dispatcher, tracker, words)
