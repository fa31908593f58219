"""Hazard reports (damaged equipment in public): safety advice at once, then an urgent ticket;
photos and locations sent with a report are attached to it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import DomainAction, Events, entity, selected_key, source_key, utter
from actions.outages import CLEAR_REPORT, _report_account, _ReportForm, ask_phone, report_place, report_words
from bot.clock import fmt_local, utcnow
from bot.domain import bindings, reports, tickets
from bot.domain.models import Contact
from bot.domain.pii import mask_phone

HAZARD_KINDS = ("fallen_wire", "pole", "transformer", "meter_box", "cable", "other")


class ActionHazardAdvice(DomainAction):
    """Safety advice for the kind of hazard, before anything else."""

    def name(self) -> Text:
        return "action_hazard_advice"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        key = selected_key(tracker) or ""
        kind = key.split("/", 1)[1] if key.startswith("report_hazard/") else "other"
        kind = kind if kind in HAZARD_KINDS else "other"
        utter(dispatcher, f"utter_report_hazard/{kind}")
        return [SlotSet("offer_detail", kind)]


class ValidateHazardForm(_ReportForm):
    trigger = "report_hazard"

    def describes(self, text: str) -> bool:
        """A hazard report describes the hazard (`电缆井盖没了`): it is the detail unless it is a bare phrase."""
        return len(re.sub(r"[\W\dA-Za-z_]", "", text or "")) >= 4

    def name(self) -> Text:
        return "validate_hazard_form"


class ActionSubmitHazard(DomainAction):
    """File the hazard at once (safety first), then ask for a number to call back if there is none."""

    def name(self) -> Text:
        return "action_submit_hazard"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        if not tracker.get_slot("address"):
            return CLEAR_REPORT + [SlotSet("offer_detail", None)]
        account = _report_account(s, contact, tracker)
        bound = bindings.bound_accounts(s, contact)
        place, address, to_confirm = report_place(s, tracker, account)
        account = account or (bound[0] if len(bound) == 1 else None)  # who reported it
        phone = tracker.get_slot("callback_phone") or reports.own_phone(contact)
        ticket = tickets.report_hazard(s, contact, contact.channel, place, address or "", report_words(tracker),
                                       subtype=tracker.get_slot("offer_detail"), source_key=source_key(tracker),
                                       account=account, callback_phone=phone, place_to_confirm=to_confirm)
        actor = f"customer:{contact.sender_id}"
        photos = [str(m) for m in tracker.get_slot("media") or []]
        for media in photos:
            tickets.attach(s, ticket, "image", media, actor)
        location = tracker.get_slot("location")
        if location:
            tickets.attach(s, ticket, "location", location, actor)
        deadline = fmt_local(ticket.sla_deadline) if ticket.sla_deadline else "尽快"
        utter(dispatcher, "utter_hazard_created_with_photo" if photos else "utter_hazard_created",
              ticket_no=ticket.ticket_no, deadline=deadline)
        if ticket.place_to_confirm:
            utter(dispatcher, "utter_place_to_confirm", phone=mask_phone(ticket.callback_phone))
        if ticket.callback_pending:
            return CLEAR_REPORT + [SlotSet("offer_detail", None)] + ask_phone("hazard", ticket.ticket_no)
        return CLEAR_REPORT + [SlotSet("offer_detail", None)]  # the rating is asked once it is resolved


class ActionShareImage(DomainAction):
    """A photo: part of a report being made (acknowledged, attached on submit), or added to the
    customer's recent open report."""

    def name(self) -> Text:
        return "action_share_image"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        media = entity(tracker, "media")
        if tracker.active_loop.get("name"):
            utter(dispatcher, "utter_image_received_in_report")
            return []  # the form keeps it in the `media` slot and attaches it on submit
        recent = [t for t in tickets.for_contact(s, contact, limit=3, open_only=True, types=("hazard", "repair"))
                  if t.created_at >= utcnow() - timedelta(hours=24)]
        if media and recent:
            tickets.attach(s, recent[0], "image", media, f"customer:{contact.sender_id}")
            utter(dispatcher, "utter_image_attached", ticket_no=recent[0].ticket_no)
        else:
            utter(dispatcher, "utter_image_received")
        return [SlotSet("media", None)]


class ActionShareLocation(DomainAction):
    """A location outside a report: acknowledge and keep it for a report that may follow."""

    def name(self) -> Text:
        return "action_share_location"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        label = entity(tracker, "address") or "位置"
        utter(dispatcher, "utter_location_received", address=label)
        return []
