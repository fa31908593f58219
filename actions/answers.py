"""Answers the bot should know wherever they are asked — also in the middle of a form, which then
resumes where it was: the service hotline, the 供电所/营业厅 of the customer's township (phone,
address, hours), and what to do when the verification code does not arrive."""

from __future__ import annotations

from datetime import timedelta
from typing import Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import latest_text, utter
from bot.clock import fmt_local, utcnow
from bot.domain import bindings, places, reports
from bot.domain.models import Account, Contact
from bot.domain.pii import mask_phone
from bot.domain.rules import get_rules, template_values
from bot.nlu.answers import service_question


def _township(s: Session, contact: Contact, tracker: Tracker) -> Optional[str]:
    """The township the customer is about: the place in the report being made, else their only account's."""
    for text in (latest_text(tracker), tracker.get_slot("address") or ""):
        place = places.resolve(s, text)
        if place.township:
            return place.township
    bound = bindings.bound_accounts(s, contact)
    townships = {a.township for a in bound}
    return bound[0].township if len(townships) == 1 else None


def _code_help(s: Session, contact: Contact, dispatcher: CollectingDispatcher) -> None:
    rules = get_rules()
    county = rules.contacts.county
    code = bindings.pending(s, contact)
    if code is None:
        utter(dispatcher, "utter_code_help_none", hall=county.name, hall_address=county.address)
        return
    account = s.get(Account, code.account_id)
    next_at = code.created_at + timedelta(seconds=rules.binding.resend_interval_seconds)
    when = "现在" if next_at <= utcnow() else fmt_local(next_at)
    utter(dispatcher, "utter_code_help", phone=mask_phone(account.phone if account else None), when=when,
          hall=county.name, hall_address=county.address, hours=county.hours)


def answer_service_question(s: Session, contact: Contact, tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    """Answer the service question in the latest message, if it asks one; True when answered."""
    kind = service_question(latest_text(tracker))
    if kind is None:
        return False
    if kind == "verification_code":
        _code_help(s, contact, dispatcher)
        return True
    rules = get_rules()
    if kind == "hotline":
        utter(dispatcher, "utter_service_hotline", hotline=rules.contacts.hotline)
        return True
    point = reports.service_point(_township(s, contact, tracker), rules)
    # not utter(): the response's {name} would collide with its parameter
    dispatcher.utter_message(response="utter_service_point", **{**template_values(rules), "name": point.name},
                             phone=point.phone, address=point.address, hours=point.hours)
    return True
