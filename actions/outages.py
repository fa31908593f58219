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

from actions.answers import answer_service_question
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
from bot import messages
from bot.clock import fmt_local, utcnow
from bot.db import session_scope
from bot.domain import audit, bindings, contacts, dispatch, notices, outages, places, reports, tickets
from bot.domain.models import Account, Contact, Ticket
from bot.domain.pii import mask_phone
from bot.domain.places import Place
from bot.domain.rules import get_rules
from bot.nlu.answers import asks_restore_time, describes_fault
from bot.nlu.patterns import is_urge

AREA_LABELS = {"urban": "城区", "rural": "农村", "remote": "偏远地区"}
REPORT_FORMS = ("outage_form", "hazard_form")


def informative(text: str) -> bool:
    """Does the message describe what happened, beyond that the power is off?"""
    return describes_fault(text)


def said(tracker: Tracker) -> str:
    """The customer's latest text; empty for what a channel generated (a location, a photo: `/share_…`)."""
    text = latest_text(tracker).strip()
    return "" if text.startswith("/") else text


def trigger_text(tracker: Tracker) -> str:
    """The customer's words that started the latest report form (the message before it was activated)."""
    events = list(tracker.events or [])
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") in REPORT_FORMS:
            for earlier in reversed(events[:index]):
                if earlier.get("event") == "user":
                    text = (earlier.get("text") or "").strip()
                    return "" if text.startswith("/") else text
            break
    return ""


def _bound(sender_id: str) -> List[Account]:
    with session_scope() as s:
        return bindings.bound_accounts(s, contacts.for_sender(s, sender_id))


def _answer_in_form(sender_id: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    with session_scope() as s:
        return answer_service_question(s, contacts.for_sender(s, sender_id), tracker, dispatcher)


def _check_place(text: str) -> reports.PlaceCheck:
    with session_scope() as s:
        return reports.check_place(s, text)


def _tries(tracker: Tracker) -> int:
    try:
        return int(float(tracker.get_slot("place_tries") or 0))
    except (TypeError, ValueError):
        return 0


class _ReportForm(FormValidationAction):
    """Shared by the outage and hazard forms: a place (typed, a location, or a bound account) that
    resolves to a township and village of the county, and what happened in the customer's words.

    An answer that is no place (`全村都停了`, `停电多久能来电`) is never taken as the address: a
    description becomes the detail, a question is answered, and the customer is told what is missing;
    after ``place_tries`` failed answers the report goes on with the place to confirm by phone."""

    trigger = ""

    @abc.abstractmethod
    def name(self) -> Text:
        """The validation action's name (validate_<form>)."""

    def describes(self, text: str) -> bool:
        """Does the report's first message say enough about what happened?"""
        return informative(text)

    async def extract_detail(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if tracker.get_slot("detail") or latest_intent(tracker) != self.trigger:
            return {}
        text = said(tracker)
        return {"detail": text[:500]} if self.describes(text) else {}

    async def validate_detail(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: Dict[Text, Any]) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if tracker.get_slot("requested_slot") == "detail":
            if await asyncio.to_thread(_answer_in_form, tracker.sender_id, tracker, dispatcher):
                return {"detail": None}  # a question of its own, answered; the form asks again
            phone = reports.callback_number(text)
            if phone and len(re.sub(r"[\d\s+\-－]", "", text)) < 2:
                # a number instead of a description: it is the call-back number; the report's words stand
                return {"detail": trigger_text(tracker) or "（未说明）", "callback_phone": phone}
        if text.startswith("/"):
            return {"detail": None}
        return {"detail": text[:500]} if text else {"detail": None}

    async def validate_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: Dict[Text, Any]) -> Dict[Text, Any]:
        candidate = str(value or "").strip()
        text = said(tracker)
        asked = tracker.get_slot("requested_slot") == "address"
        accounts = await asyncio.to_thread(_bound, tracker.sender_id)
        chosen = pick_account(candidate, [a.account_no for a in accounts]) if accounts and asked else None
        if chosen:
            account = next(a for a in accounts if a.account_no == chosen)
            return {"address": account.address, "account_choice": account.account_no, "place_to_confirm": False}
        if asked and await asyncio.to_thread(_answer_in_form, tracker.sender_id, tracker, dispatcher):
            return {"address": None}  # a question of its own, answered; the form asks again
        check = await asyncio.to_thread(_check_place, candidate)
        if not check.resolved and asked and text and text != candidate:
            # the entity may be a fragment of the answer ("王安镇" of "王安镇王安村"): the whole answer counts
            whole = await asyncio.to_thread(_check_place, text)
            if whole.resolved or (whole.place.known and not check.place.known):
                candidate, check = text, whole
        if check.resolved:
            own = next((a for a in accounts if a.address == candidate), None)
            return {"address": candidate[:200], "place_to_confirm": False,
                    **({"account_choice": own.account_no} if own else {})}
        if not asked:
            return {"address": None}  # a fragment in the report itself: ask for the place properly
        result: Dict[Text, Any] = {"address": None}
        if informative(text) and not tracker.get_slot("detail") and not asks_restore_time(text):
            result["detail"] = text[:500]  # "全村都停了" describes the outage: keep it as such
        if asks_restore_time(text):
            utter(dispatcher, "utter_restore_time_needs_place")
        tries = _tries(tracker) + 1
        result["place_tries"] = tries
        if tries >= get_rules().place_tries:
            # give up asking: the ticket goes out with the place to confirm by phone
            result.update(address=candidate[:200] or "?", place_to_confirm=True)
            return result
        if check.missing == "village":
            utter(dispatcher, "utter_place_missing_village", township=check.place.township)
        else:
            utter(dispatcher, "utter_place_missing")
        result["place_prompted"] = True
        return result


class ValidateOutageForm(_ReportForm):
    trigger = "report_outage"

    def name(self) -> Text:
        return "validate_outage_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> List[Text]:
        """A customer who reported today and names no other place is told about that ticket at once
        (action_submit_outage), not asked the triage questions again."""
        if (tracker.get_slot("requested_slot") is None and latest_intent(tracker) == self.trigger
                and not tracker.get_slot("address")
                and await asyncio.to_thread(_reported_here_today, tracker.sender_id, latest_text(tracker))):
            return []
        return domain_slots

    async def extract_address(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """A customer with exactly one bound account reports for that account's address."""
        if tracker.get_slot("address") or latest_intent(tracker) != self.trigger or entity(tracker, "address"):
            return {}
        accounts = await asyncio.to_thread(_bound, tracker.sender_id)
        if len(accounts) == 1:
            # only the address: rasa-sdk drops every other extracted slot, even one validate_address sets
            return {"address": accounts[0].address}
        return {}


def _reported_here_today(sender_id: str, text: str) -> bool:
    with session_scope() as s:
        contact = contacts.for_sender(s, sender_id)
        own = tickets.own_recent_repair(s, contact)
        if own is None:
            return False
        place = places.resolve(s, text)
        return not place.known or (place.township, place.village or own.village) == (own.township, own.village)


class _AskReportAddress(DomainAction):
    """Where is it? With several bound accounts, offer their addresses as choices. Says nothing when
    the validation has just said what is missing (that message asks already)."""

    response = ""

    @abc.abstractmethod
    def name(self) -> Text:
        """The ask action's name (action_ask_<form>_address)."""

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        if tracker.get_slot("place_prompted"):
            return [SlotSet("place_prompted", None)]
        accounts = bindings.bound_accounts(s, contact)
        if len(accounts) > 1:
            utter(dispatcher, f"{self.response}_choices", choices=account_choices(accounts))
        else:
            utter(dispatcher, self.response)
        return []


class ActionAskOutageAddress(_AskReportAddress):
    response = "utter_ask_outage_form_address"

    def name(self) -> Text:
        return "action_ask_outage_form_address"


class ActionAskHazardAddress(_AskReportAddress):
    response = "utter_ask_hazard_form_address"

    def name(self) -> Text:
        return "action_ask_hazard_form_address"


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


def report_words(tracker: Tracker) -> str:
    """What the customer said about the fault, in their own words (the report, then the details)."""
    parts: List[str] = []
    for text in (tracker.get_slot("report_text") or trigger_text(tracker), tracker.get_slot("detail")):
        text = (text or "").strip()
        if text and text not in parts:
            parts.append(text)
    return "；".join(parts)


def report_place(s: Session, tracker: Tracker, account: Optional[Account]) -> tuple:
    """(place, address to store, to confirm by phone?) of the report being filed."""
    address = tracker.get_slot("address") or ""
    check = reports.check_place(s, address)
    if account is not None and not check.resolved:
        return reports.account_place(account), account.address, False
    to_confirm = bool(tracker.get_slot("place_to_confirm")) and not check.resolved
    stored = address if check.place.known else None
    return check.place, stored, to_confirm


CLEAR_REPORT: Events = [SlotSet("address", None), SlotSet("detail", None), SlotSet("account_choice", None),
                        SlotSet("media", None), SlotSet("location", None), SlotSet("next_step", "done"),
                        SlotSet("place_tries", None), SlotSet("place_to_confirm", None),
                        SlotSet("place_prompted", None), SlotSet("report_text", None),
                        SlotSet("report_kind", None), SlotSet("report_ticket", None),
                        SlotSet("callback_phone", None), SlotSet("phone_offer", None)]


def ask_phone(kind: str, ticket_no: Optional[str] = None) -> Events:
    """Go on to the call-back number (contact_form), remembering what it is for."""
    return [SlotSet("report_kind", kind), SlotSet("report_ticket", ticket_no), SlotSet("next_step", "ask_phone")]


def submit_outage(s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
    """File the outage report being made (or tell about the planned outage / the open ticket); asks
    for a call-back number first when a new ticket is due and there is none."""
    account = _report_account(s, contact, tracker)
    if not tracker.get_slot("address") and account is None:
        own = tickets.own_recent_repair(s, contact)
        if own is not None:
            _utter_own_ticket(dispatcher, own)
        return CLEAR_REPORT
    place, address, to_confirm = report_place(s, tracker, account)
    where = place if place.known or account is None else Place(account.township, account.village, account.area_type)
    fault = outages.active_fault(s, where)
    if fault is not None:  # a known fault: its cause and ETA, and the restoration notice later
        dispatcher.utter_message(text=notices.told_in_chat(s, fault, contact))
        return CLEAR_REPORT
    phone = tracker.get_slot("callback_phone") or reports.own_phone(contact)
    report = tickets.report_outage(s, contact, contact.channel, place, report_words(tracker), account=account,
                                   address=address, source_key=source_key(tracker), callback_phone=phone,
                                   place_to_confirm=to_confirm, require_callback=True)
    label = _place_label(place, address or "")
    if report.outcome == "planned" and report.planned is not None:
        outage = report.planned
        utter(dispatcher, "utter_outage_planned", place=label, reason=outage.reason or "计划检修",
              start=fmt_local(outage.start), end=fmt_local(outage.end))
        return CLEAR_REPORT
    if report.outcome == "needs_callback":
        return ask_phone("outage")
    ticket = report.ticket
    assert ticket is not None
    status = messages.STATUS_LABELS.get(ticket.status, ticket.status)
    deadline = fmt_local(ticket.sla_deadline) if ticket.sla_deadline else "尽快"
    if report.outcome == "same_customer":
        _utter_own_ticket(dispatcher, ticket)
        return CLEAR_REPORT
    if report.outcome == "area":
        utter(dispatcher, "utter_outage_area", place=label, ticket_no=ticket.ticket_no, status=status,
              deadline=deadline)
        if phone:
            tickets.set_callback_phone(s, ticket, contact, phone, f"customer:{contact.sender_id}")
        elif not tickets.callback_known(s, ticket, contact):
            return CLEAR_REPORT + ask_phone("follow", ticket.ticket_no)
        return CLEAR_REPORT
    area = ticket.area_type or "rural"
    utter(dispatcher, "utter_outage_created", ticket_no=ticket.ticket_no, deadline=deadline,
          area=AREA_LABELS.get(area, area), minutes=get_rules().sla.repair_arrival_minutes.get(area, 90))
    if ticket.place_to_confirm:
        utter(dispatcher, "utter_place_to_confirm", phone=mask_phone(ticket.callback_phone))
    return CLEAR_REPORT  # the rating is asked once it is resolved (bot.domain.notices)


def _utter_own_ticket(dispatcher: CollectingDispatcher, ticket: Ticket) -> None:
    deadline = fmt_local(ticket.sla_deadline) if ticket.sla_deadline else "尽快"
    utter(dispatcher, "utter_outage_same_customer", ticket_no=ticket.ticket_no,
          status=messages.STATUS_LABELS.get(ticket.status, ticket.status), deadline=deadline)


class ActionSubmitOutage(DomainAction):
    def name(self) -> Text:
        return "action_submit_outage"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        return submit_outage(s, contact, dispatcher, tracker, domain)


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
        if not number and is_urge((tracker.latest_message or {}).get("text")):
            urged = _urge(s, contact, dispatcher)
            if urged:
                return [SlotSet("next_step", "done")]
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
        if not found and tracker.active_loop.get("name") in REPORT_FORMS and asks_restore_time(latest_text(tracker)):
            utter(dispatcher, "utter_restore_time_needs_place")  # "停电多久能来电" while reporting
            return [SlotSet("next_step", "done")]
        if not found:
            utter(dispatcher, "utter_progress_none")
            return [SlotSet("next_step", "done")]
        lines = [render(domain, "utter_progress_header")] + [_progress_line(domain, t) for t in found]
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("next_step", "done")]


def _urge(s: Session, contact: Contact, dispatcher: CollectingDispatcher) -> bool:
    """Record a 催办 on the customer's latest open repair/hazard ticket and say what happens next;
    False when they have none (the progress answer follows instead)."""
    open_tickets = tickets.for_contact(s, contact, limit=1, open_only=True, types=("repair", "hazard"))
    if not open_tickets:
        return False
    result = dispatch.urge(s, open_tickets[0], contact, f"customer:{contact.sender_id}", contact.channel)
    ticket = result.ticket
    if ticket.status == "dispatched" and ticket.eta:
        utter(dispatcher, "utter_urge_dispatched", ticket_no=ticket.ticket_no, eta=fmt_local(ticket.eta),
              crew=ticket.crew.name if ticket.crew else "抢修人员")
    elif ticket.status == "on_site":
        utter(dispatcher, "utter_urge_on_site", ticket_no=ticket.ticket_no)
    else:
        deadline = fmt_local(ticket.sla_deadline) if ticket.sla_deadline else "尽快"
        utter(dispatcher, "utter_urge_recorded", ticket_no=ticket.ticket_no, deadline=deadline)
    return True


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
