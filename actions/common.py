"""What every action shares: a short database session per call run off the event loop, the customer
behind the conversation, response rendering, and choosing which bound account a question is about.

Account data is only ever reached through :func:`resolve_account`, which uses the customer's verified
bindings (``bot.domain.bindings``); a typed or slotted 户号 that is not bound is refused and audited.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.offers import offer_second_request
from bot.db import session_scope
from bot.domain import bindings, contacts
from bot.domain.bindings import BindingError
from bot.domain.models import Account, Contact
from bot.domain.rules import template_values
from bot.nlu.normalize import to_halfwidth

Events = List[Dict[Text, Any]]
logger = logging.getLogger(__name__)


def selected_key(tracker: Tracker) -> Optional[str]:
    """The ResponseSelector's best sub-key for the classified intent (e.g. ``payment_methods/online``).

    The selector ranks the sub-keys of every retrieval intent; a key of another intent is ignored.
    None when there is no ranking (a menu click sends the bare intent without text)."""
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name") or ""
    selector = (message.get("response_selector") or {}).get("default") or {}
    ranking = selector.get("ranking") or [(selector.get("response") or {})]
    for candidate in ranking:
        key = candidate.get("intent_response_key") or ""
        if key.startswith(intent + "/"):
            return key
    return None


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def entity(tracker: Tracker, name: str) -> Optional[str]:
    """The first value of entity ``name`` in the latest message (not a slot: slots outlive messages)."""
    for e in (tracker.latest_message or {}).get("entities") or []:
        if e.get("entity") == name and e.get("value"):
            return str(e["value"])
    return None


def source_key(tracker: Tracker) -> str:
    """Idempotency key of the latest message: a retried message maps to the same key."""
    message_id = (tracker.latest_message or {}).get("message_id") or ""
    return f"{tracker.sender_id}:{message_id}"[:128]


def render(domain: Dict[Text, Any], name: str, **values: Any) -> str:
    """The text of response ``name`` in domain.yml with ``values`` filled in."""
    text = domain["responses"][name][0]["text"]
    return text.format(**{**template_values(), **{k: v for k, v in values.items() if v is not None}})


def utter(dispatcher: CollectingDispatcher, name: str, **values: Any) -> None:
    dispatcher.utter_message(response=name, **{**template_values(), **values})


def account_choices(accounts: Sequence[Account]) -> str:
    """'1. 5100000101（城关镇东关村12号）；2. …' for a choice prompt."""
    return "；".join(f"{i}. {a.account_no}（{a.address}）" for i, a in enumerate(accounts, start=1))


_CN_INDEX = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def pick_account(text: str, numbers: Sequence[str]) -> Optional[str]:
    """The account number a reply means: the number, its last 4+ digits, or a position ("2", "第二个")."""
    text = to_halfwidth(text or "").strip()
    digits = re.sub(r"\D", "", text)
    for number in numbers:
        if digits and (digits == number or (len(digits) >= 4 and number.endswith(digits))):
            return number
    m = re.fullmatch(r"(?:第)?([1-5一二两三四五])(?:个|号)?(?:户号)?", text)
    if m:
        index = int(m.group(1)) if m.group(1).isdigit() else _CN_INDEX[m.group(1)]
        if 1 <= index <= len(numbers):
            return numbers[index - 1]
    return None


@dataclass
class Resolution:
    """Which account a question is about, or what the dialogue must do first."""

    account: Optional[Account] = None
    events: Events = field(default_factory=list)


def resolve_account(s: Session, contact: Contact, tracker: Tracker, dispatcher: CollectingDispatcher,
                    pending_intent: str) -> Resolution:
    """The verified account this message is about; otherwise utter why and set what comes next
    (``next_step`` bind / choose_account, remembering the request in ``pending_intent``)."""
    pending = [SlotSet("pending_intent", pending_intent), SlotSet("pending_text", latest_text(tracker))]
    typed = entity(tracker, "account_no")
    if typed:
        try:
            return Resolution(bindings.authorize(s, contact, typed))
        except BindingError:
            utter(dispatcher, "utter_not_bound", account_no=typed)
            return Resolution(None, [SlotSet("next_step", "done"), SlotSet("account_no", None)])
    bound = bindings.bound_accounts(s, contact)
    if not bound:
        utter(dispatcher, "utter_need_binding")
        return Resolution(None, pending + [SlotSet("next_step", "bind"), SlotSet("account_no", None),
                                           SlotSet("verification_code", None)])
    if len(bound) == 1:
        return Resolution(bound[0])
    # account_form asks which one (action_ask_account_choice lists them)
    return Resolution(None, pending + [SlotSet("next_step", "choose_account"), SlotSet("account_choice", None)])


class DomainAction(Action, abc.ABC):
    """An action whose work is blocking domain code: run in a thread with its own DB session."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        try:
            events = await asyncio.to_thread(self._run_in_session, dispatcher, tracker, domain)
            # a second request in the message is offered once the first is answered (issue 13, fault 1)
            return offer_second_request(tracker, dispatcher, events)
        except Exception:
            # the customer gets an answer and the dialogue goes on; the operator gets the traceback
            logger.exception("action %s failed for %s", self.name(), tracker.sender_id)
            utter(dispatcher, "utter_error")
            return [SlotSet("next_step", "done")]

    def _run_in_session(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: Dict[Text, Any]) -> Events:
        with session_scope() as s:
            return self.act(s, contacts.for_sender(s, tracker.sender_id), dispatcher, tracker, domain)

    @abc.abstractmethod
    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        """The action's work, inside one database session for the customer behind the conversation."""
