"""Outage reports (planned outage → say so; known fault → attach; else a repair ticket with its SLA),
repair progress, and planned-outage notices for a place."""

from __future__ import annotations

import abc
import asyncio
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from sqlalchemy.orm import Session

from actions.common import (
    DomainAction,
    Events,
    account_choices,
    entity,
    latest_intent,
    latest_text,
    pick_account,
    render,
    source_key,
    utter,
)
from actions.handoff import ask_rating
from bot import messages
from bot.clock import fmt_local, utcnow
from bot.db import session_scope
from bot.domain import audit, bindings, contacts, outages, places, tickets
from bot.domain.models import Account, Contact, Ticket
from bot.domain.places import Place
from bot.domain.rules import get_rules

AREA_LABELS = {"urban": "城区", "rural": "农村", "remote": "偏远地区"}
# what makes a report say more than "停电了"
_DETAIL = re.compile(r"跳闸|跳匝|空开|漏保|闸|全村|整个|一片|整条|就我家|只有|邻居|电压|闪|忽明忽暗|冒烟|火花|着火|合不上"
                     r"|烧|响|低|断|倒|歪|漏|掉|垂|打火|一半")


def informative(text: str) -> bool:
    """Does the message describe what happened, beyond that the power is off?"""
    compact = re.sub(r"[\W\dA-Za-z_]", "", text or "")
    return bool(_DETAIL.search(compact)) or len(compact) > 8


def _bound(sender_id: str) -> List[Account]:
    with session_scope() as s:
        return bindings.bound_accounts(s, contacts.for_sender(s, sender_id))


class _ReportForm(FormValidationAction):
    """Shared by the outage and hazard forms: a place (typed, a location, or a bound account) and
    what happened (taken from the report itself when it says enough)."""

    trigger = ""

    @abc.abstractmethod
    def name(self) -> Text:
        """The validation action's name (validate_<form>)."""

    async def extract_detail(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if tracker.get_slot("detail") or latest_intent(tracker) != self.trigger:
            return {}
        text = latest_text(tracker)
        return {"detail": text} if informative(text) else {}

    def validate_detail(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "").strip()
        return {"detail": text[:500]} if text else {"detail": None}

    async def validate_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "").strip()
        accounts = await asyncio.to_thread(_bound, tracker.sender_id)
        chosen = pick_account(text, [a.account_no for a in accounts]) if accounts else None
        if chosen:
            account = next(a for a in accounts if a.account_no == chosen)
            return {"address": account.address, "account_choice": account.account_no}
        if len(text) < 2:
            return {"address": None}
        return {"address": text[:200]}


class ValidateOutageForm(_ReportForm):
    trigger = "report_outage"

    def name(self) -> Text:
        return "validate_outage_form"

    async def extract_address(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """A customer with exactly one bound account reports for that account's address."""
        if tracker.get_slot("address") or latest_intent(tracker) != self.trigger or entity(tracker, "address"):
            return {}
        accounts = await asyncio.to_thread(_bound, tracker.sender_id)
        if len(accounts) == 1:
            return {"address": accounts[0].address, "account_choice": accounts[0].account_no}
        return {}


class ActionAskOutageAddress(DomainAction):
    """Where is the outage? With several bound accounts, offer their addresses as choices."""

    def name(self) -> Text:
        return "action_ask_outage_form_address"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        accounts = bindings.bound_accounts(s, contact)
        if len(accounts) > 1:
            utter(dispatcher, "utter_ask_outage_form_address_choices", choices=account_choices(accounts))
        else:
            utter(dispatcher, "utter_ask_outage_form_address")
        return []


def _report_account(s: Session, contact: Contact, tracker: Tracker) -> Optional[Account]:
    chosen = tracker.get_slot("account_choice")
    if not chosen:
        return None
    try:
        return bindings.authorize(s, contact, chosen, purpose="outage_report")
    except bindings.BindingError:
        return None


def _place_label(place: Place, address: str) -> str:
    return "".join(p for p in (place.township, place.village) if p) or address


CLEAR_REPORT: Events = [SlotSet("address", None), SlotSet("detail", None), SlotSet("account_choice", None),
                        SlotSet("media", None), SlotSet("location", None), SlotSet("next_step", "done")]


class ActionSubmitOutage(DomainAction):
    def name(self) -> Text:
        return "action_submit_outage"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        address = tracker.get_slot("address") or ""
        detail = tracker.get_slot("detail") or ""
        if not address:
            return CLEAR_REPORT
        account = _report_account(s, contact, tracker)
        place = places.resolve(s, address)
        report = tickets.report_outage(s, contact, contact.channel, place, detail, account=account, address=address,
                                       source_key=source_key(tracker))
        label = _place_label(place, address)
        if report.outcome == "planned":
            outage = report.planned
            utter(dispatcher, "utter_outage_planned", place=label, reason=outage.reason or "计划检修",
                  start=fmt_local(outage.start), end=fmt_local(outage.end))
            return CLEAR_REPORT
        ticket = report.ticket
        assert ticket is not None
        status = messages.STATUS_LABELS.get(ticket.status, ticket.status)
        deadline = fmt_local(ticket.sla_deadline) if ticket.sla_deadline else "尽快"
        if report.outcome == "same_customer":
            utter(dispatcher, "utter_outage_same_customer", ticket_no=ticket.ticket_no, status=status, deadline=deadline)
            return CLEAR_REPORT
        if report.outcome == "area":
            utter(dispatcher, "utter_outage_area", place=label, ticket_no=ticket.ticket_no, status=status,
                  deadline=deadline)
            return CLEAR_REPORT
        if not place.known and account is None:
            utter(dispatcher, "utter_outage_place_unknown", address=address)
        area = ticket.area_type or "rural"
        utter(dispatcher, "utter_outage_created", ticket_no=ticket.ticket_no, deadline=deadline,
              area=AREA_LABELS.get(area, area), minutes=get_rules().sla.repair_arrival_minutes.get(area, 90))
        return CLEAR_REPORT + ask_rating(dispatcher, ticket)


def _progress_line(domain: Dict[Text, Any], ticket: Ticket) -> str:
    p = tickets.progress(ticket)
    sla = ""
    if p.is_open and ticket.sla_deadline:
        if p.overdue:
            sla = render(domain, "utter_progress_sla_overdue")
        elif p.at_risk:
            sla = render(domain, "utter_progress_sla_at_risk", deadline=fmt_local(ticket.sla_deadline))
        elif ticket.type in ("repair", "hazard") and ticket.status in ("open", "dispatched"):
            sla = render(domain, "utter_progress_sla_due", deadline=fmt_local(ticket.sla_deadline))
    line = render(domain, "utter_progress_line", ticket_no=ticket.ticket_no,
                  type=messages.TICKET_TYPE_LABELS.get(ticket.type, ticket.type), created=fmt_local(ticket.created_at),
                  status=messages.STATUS_LABELS.get(ticket.status, ticket.status), sla=sla)
    history = "；".join(f"{fmt_local(e.at)} {messages.STATUS_LABELS.get(e.status, e.status)}"
                       + (f"（{e.note}）" if e.note and e.note != "受理" else "") for e in p.history)
    return line + ("\n" + render(domain, "utter_progress_history", history=history) if len(p.history) > 1 else "")


class ActionRepairProgress(DomainAction):
    """Where a ticket stands: by number (if it is the customer's), else their latest tickets."""

    def name(self) -> Text:
        return "action_repair_progress"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        number = entity(tracker, "ticket_no")
        if number:
            ticket = tickets.by_no(s, number)
            if ticket is None or not tickets.visible_to(s, ticket, contact):
                if ticket is not None:
                    audit.record(s, f"customer:{contact.sender_id}", "ticket.access", "ticket", ticket.ticket_no,
                                 outcome="denied")
                utter(dispatcher, "utter_progress_not_found", ticket_no=number.upper())
                return [SlotSet("next_step", "done")]
            dispatcher.utter_message(text=_progress_line(domain, ticket))
            return [SlotSet("next_step", "done")]
        found = tickets.for_contact(s, contact, limit=3)
        if not found:
            utter(dispatcher, "utter_progress_none")
            return [SlotSet("next_step", "done")]
        lines = [render(domain, "utter_progress_header")] + [_progress_line(domain, t) for t in found]
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("next_step", "done")]


def _place_named_in(s: Session, text: str) -> str | None:
    """The township or village a question names word for word (``烟煤洞乡今天停电吗``), when the NLU
    extracted no address from it; None when it names none."""
    if not text or text.startswith("/"):
        return None
    place = places.resolve(s, text)
    named = [name for name in (place.township, place.village) if name and name in text]
    return "".join(named) if named else None


class ActionPlannedOutage(DomainAction):
    """Planned outages for the place in the message, the customer's accounts, or the place asked for."""

    def name(self) -> Text:
        return "action_planned_outage"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        typed = entity(tracker, "address") or tracker.get_slot("address") or _place_named_in(
            s, tracker.latest_message.get("text") or "")
        wanted: List[Place] = []
        if typed:
            place = places.resolve(s, typed)
            if not place.known:
                utter(dispatcher, "utter_planned_place_unknown", address=typed)
                return [SlotSet("address", None), SlotSet("next_step", "done")]
            wanted.append(place)
        else:
            for account in bindings.bound_accounts(s, contact):
                place = Place(account.township, account.village, account.area_type)
                if place not in wanted:
                    wanted.append(place)
        if not wanted:
            return [SlotSet("next_step", "ask_place")]
        now = utcnow()
        for place in wanted:
            label = _place_label(place, typed or "")
            found = outages.affecting(s, place, now)
            if not found:
                utter(dispatcher, "utter_planned_none", place=label)
                continue
            lines = [render(domain, "utter_planned_header", place=label)]
            lines += [render(domain, "utter_planned_line", place=o.township + ("（" + "、".join(o.village_list) + "）"
                                                                                if o.village_list else ""),
                             start=fmt_local(o.start), end=fmt_local(o.end), reason=o.reason or "计划检修")
                      for o in found]
            dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("address", None), SlotSet("next_step", "done")]


class ValidatePlaceForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_place_form"

    def validate_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "").strip()
        return {"address": text[:200]} if len(text) >= 2 else {"address": None}
