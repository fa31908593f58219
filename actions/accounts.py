"""Binding accounts with proof of ownership (a 6-digit code to the registered phone), unbinding,
choosing one of several bound accounts, and finishing the request that was waiting for either."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from sqlalchemy.orm import Session

from actions.answers import answer_service_question
from actions.billing import answer_balance, answer_bill, answer_usage
from actions.common import (
    DomainAction,
    Events,
    account_choices,
    entity,
    latest_text,
    pick_account,
    utter,
)
from actions.services import register_meter_check
from bot import messages
from bot.clock import fmt_local
from bot.db import session_scope
from bot.domain import bindings, contacts
from bot.domain.bindings import BindingError
from bot.domain.models import Account, Contact
from bot.domain.rules import get_rules
from bot.messaging.sms import get_sms_sender
from bot.nlu.normalize import to_halfwidth

_UNBIND = re.compile(r"解绑|解除绑定|取消绑定|删除户号|删掉户号|不要.{0,4}户号|移除")
CLEAR_PENDING: Events = [SlotSet("pending_intent", None), SlotSet("pending_text", None)]


def resume(s: Session, contact: Contact, account: Account, tracker: Tracker, dispatcher: CollectingDispatcher,
           domain: Dict[Text, Any]) -> Events:
    """Finish the request that waited for binding or for the choice of an account."""
    pending = tracker.get_slot("pending_intent")
    text = tracker.get_slot("pending_text") or ""
    answers = {"query_bill": answer_bill, "query_balance": answer_balance, "query_usage": answer_usage}
    if pending in answers:
        answers[pending](s, account, text, dispatcher, domain)
    elif pending == "unbind":
        bindings.unbind(s, contact, account.account_no)
        utter(dispatcher, "utter_unbound", account_no=account.account_no)
    elif pending == "meter_calibration":
        return CLEAR_PENDING + register_meter_check(s, contact, account, tracker, dispatcher)
    return CLEAR_PENDING


class ActionBindAccount(DomainAction):
    """bind_account: bind (the form asks for the 户号 and the code) or unbind."""

    def name(self) -> Text:
        return "action_bind_account"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        if answer_service_question(s, contact, tracker, dispatcher):
            return [SlotSet("next_step", "done")]  # "我收不到验证码": when, where to, and what if the phone is gone
        typed = entity(tracker, "account_no")
        bound = bindings.bound_accounts(s, contact)
        if _UNBIND.search(latest_text(tracker)):
            if typed:
                try:
                    bindings.unbind(s, contact, typed)
                    utter(dispatcher, "utter_unbound", account_no=typed)
                except BindingError:
                    utter(dispatcher, "utter_not_bound", account_no=typed)
                return [SlotSet("next_step", "done"), SlotSet("account_no", None)]
            if not bound:
                utter(dispatcher, "utter_bound_list", accounts="无")
                return [SlotSet("next_step", "done")]
            return [SlotSet("next_step", "choose_account"), SlotSet("pending_intent", "unbind"),
                    SlotSet("account_choice", None)]
        if typed and any(a.account_no == to_halfwidth(typed) for a in bound):
            utter(dispatcher, "utter_bind_already", account_no=typed)
            return [SlotSet("next_step", "done"), SlotSet("account_no", None)]
        if bound and not typed:
            utter(dispatcher, "utter_bound_list", accounts="、".join(a.account_no for a in bound))
        return [SlotSet("next_step", "bind"), SlotSet("verification_code", None),
                SlotSet("account_no", typed), SlotSet("pending_intent", None)]


def _code_help(tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    with session_scope() as s:
        return answer_service_question(s, contacts.for_sender(s, tracker.sender_id), tracker, dispatcher)


# A refused binding step still commits: the audit entry, the wrong-try count and a lock must persist.
def _start(sender_id: str, account_no: str) -> Tuple[Optional[bindings.Challenge], Optional[BindingError]]:
    with session_scope() as s:
        try:
            return bindings.start(s, contacts.for_sender(s, sender_id), account_no), None
        except BindingError as error:
            return None, error


def _verify(sender_id: str, code: str) -> Tuple[Optional[Account], Optional[BindingError]]:
    with session_scope() as s:
        try:
            return bindings.verify(s, contacts.for_sender(s, sender_id), code), None
        except BindingError as error:
            return None, error


def _contact_id(sender_id: str) -> int:
    with session_scope() as s:
        return contacts.for_sender(s, sender_id).id


def _error_reply(dispatcher: CollectingDispatcher, error: BindingError, account_no: Optional[str]) -> None:
    info = dict(error.info)
    until = info.get("until")
    if isinstance(until, datetime):
        info["until"] = fmt_local(until)
    names = {
        "invalid_account_no": "utter_bind_invalid_account_no",
        "unknown_account": "utter_bind_unknown_account",
        "no_phone": "utter_bind_no_phone",
        "locked": "utter_bind_locked",
        "limit": "utter_bind_limit",
        "already_bound": "utter_bind_already",
        "too_soon": "utter_bind_too_soon",
        "no_pending": "utter_bind_no_pending",
        "expired": "utter_bind_expired",
        "wrong_code": "utter_bind_wrong_code",
        "sender_limit": "utter_bind_sender_limit",
        "phone_limit": "utter_bind_phone_limit",
    }
    utter(dispatcher, names.get(error.reason, "utter_default"), **{"account_no": account_no, **info})


#: binding errors after which asking again makes no sense: the form ends
_FINAL = {"locked", "limit", "no_phone", "already_bound", "sender_limit", "phone_limit"}


class ValidateBindForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_bind_form"

    async def validate_account_no(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """A 户号 was given: issue a code for its registered phone and send it by SMS."""
        number = str(value or "")
        if not number:
            return {"account_no": None}  # nothing typed yet: the form asks
        challenge, error = await asyncio.to_thread(_start, tracker.sender_id, number)
        if error is not None or challenge is None:
            assert error is not None
            _error_reply(dispatcher, error, number)
            if error.reason in _FINAL:
                return {"account_no": None, "requested_slot": None}
            return {"account_no": None}
        minutes = get_rules().binding.code_ttl_minutes
        body = messages.OTP_SMS.format(account_no=challenge.account_no, code=challenge.code, minutes=minutes)
        contact_id = await asyncio.to_thread(_contact_id, tracker.sender_id)
        result = await get_sms_sender().send(challenge.phone, body, purpose="otp", contact_id=contact_id)
        if not result.accepted:
            utter(dispatcher, "utter_bind_sms_failed")
            return {"account_no": None, "requested_slot": None}
        utter(dispatcher, "utter_code_sent", phone=challenge.masked_phone, minutes=minutes)
        return {"account_no": challenge.account_no, "verification_code": None}

    async def validate_verification_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if not value:
            return {"verification_code": None}
        code = re.sub(r"\D", "", to_halfwidth(str(value or "")))
        if len(code) != 6:
            await asyncio.to_thread(_code_help, tracker, dispatcher)  # "我收不到验证码"
            return {"verification_code": None}  # the form asks again
        account, error = await asyncio.to_thread(_verify, tracker.sender_id, code)
        if error is not None or account is None:
            assert error is not None
            _error_reply(dispatcher, error, tracker.get_slot("account_no"))
            if error.reason == "wrong_code":
                return {"verification_code": None}
            if error.reason == "expired":
                return {"account_no": None, "verification_code": None}
            return {"verification_code": None, "requested_slot": None}
        return {"verification_code": "verified", "account_no": account.account_no}


class ActionBindDone(DomainAction):
    """After the bind form: confirm the binding and finish the request that waited for it."""

    def name(self) -> Text:
        return "action_bind_done"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        events: List[Dict[Text, Any]] = [SlotSet("next_step", "done"), SlotSet("verification_code", None),
                                         SlotSet("account_no", None)]
        if tracker.get_slot("verification_code") != "verified":
            return events + CLEAR_PENDING
        account = bindings.authorize(s, contact, tracker.get_slot("account_no") or "")
        utter(dispatcher, "utter_bound", account_no=account.account_no, address=account.address)
        return events + resume(s, contact, account, tracker, dispatcher, domain)


def _bound(sender_id: str) -> List[str]:
    with session_scope() as s:
        return [a.account_no for a in bindings.bound_accounts(s, contacts.for_sender(s, sender_id))]


class ValidateAccountForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_account_form"

    async def validate_account_choice(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: Dict[Text, Any]) -> Dict[Text, Any]:
        if not value:
            return {"account_choice": None}
        chosen = pick_account(str(value), await asyncio.to_thread(_bound, tracker.sender_id))
        if chosen is None:
            utter(dispatcher, "utter_account_choice_invalid")
            return {"account_choice": None}
        return {"account_choice": chosen}


class ActionAskAccountChoice(DomainAction):
    """account_form's question: which of the bound accounts (listed)?"""

    def name(self) -> Text:
        return "action_ask_account_choice"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        bound = bindings.bound_accounts(s, contact)
        name = "utter_ask_unbind_which" if tracker.get_slot("pending_intent") == "unbind" else "utter_choose_account"
        utter(dispatcher, name, choices=account_choices(bound))
        return []


class ActionAccountChosen(DomainAction):
    def name(self) -> Text:
        return "action_account_chosen"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        events: Events = [SlotSet("next_step", "done"), SlotSet("account_choice", None)]
        choice = tracker.get_slot("account_choice")
        if not choice:
            return events + CLEAR_PENDING
        account = bindings.authorize(s, contact, choice)
        return events + resume(s, contact, account, tracker, dispatcher, domain)
