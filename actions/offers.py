"""A second request in one message (issue 13, fault 1): ``查下电费 顺便问下峰谷电咋申请``.

The NLU reads the first request and puts what it read of the second into the parse data's
``second_request`` (bot/nlu/components.py, ``SecondRequestCollector``). The action answering the first
request ends its reply with an offer of the second (``还想了解峰谷电申请吗？``, bot/messages.py) and keeps
it in the slot ``offered_request``; a yes to the very next question answers it as if it had been asked
alone, a no closes it (``action_switch_topic``, rules in data/rules/dialogue.yml). An offer left
unanswered lapses: the slot is emptied by the next answer, and a later yes never revives it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.messages import SECOND_REQUEST_OFFERS

Events = List[Dict[Text, Any]]

#: first requests after which nothing is offered: the first was not understood or is no business of ours
_NO_OFFER_AFTER = frozenset({"nlu_fallback", "out_of_scope", "greet", "goodbye", "thank"})


def offer_text(intent: str, response_key: Optional[str] = None) -> Optional[str]:
    """The offer of a second request in the customer's terms: the sub-key's text
    (``business_application/tou_tariff`` → ``还想了解峰谷电申请吗？``), else the intent's; None when the
    intent is not offered (reports, complaints, hand-overs)."""
    return SECOND_REQUEST_OFFERS.get(response_key or "") or SECOND_REQUEST_OFFERS.get(intent)


def _message_id(event: Dict[str, Any]) -> Optional[str]:
    return event.get("message_id") or (event.get("parse_data") or {}).get("message_id")


def _next_step(events: Events) -> Optional[str]:
    steps = [e.get("value") for e in events if e.get("event") == "slot" and e.get("name") == "next_step"]
    return steps[-1] if steps else None


def offer_second_request(tracker: Tracker, dispatcher: CollectingDispatcher, events: Events,
                         answered: Optional[bool] = None) -> Events:
    """``events`` of the action that answered the customer's latest message, with the second request
    offered when there is one to offer — the first answered in full (``answered``, by default: the
    action set ``next_step`` to ``done``), no form running, the action the first after the message —
    and a lapsed offer cleared otherwise."""
    events = list(events)
    offered: Events = []
    latest = tracker.latest_message or {}
    reading = latest.get("second_request")
    first = (latest.get("intent") or {}).get("name")
    if answered is None:
        answered = _next_step(events) == "done"
    if (reading and answered and first not in _NO_OFFER_AFTER and not (tracker.active_loop or {}).get("name")
            and tracker.latest_action_name in (None, "action_listen")):
        text = offer_text(reading.get("intent") or "", reading.get("response_key"))
        if text:
            dispatcher.utter_message(text=text)
            kept = {k: reading.get(k) for k in ("text", "intent", "response_key", "entities")}
            offered = [SlotSet("offered_request", json.dumps({**kept, "message_id": latest.get("message_id")},
                                                             ensure_ascii=False))]
    cleared = any(e.get("event") == "slot" and e.get("name") == "offered_request" for e in events)
    if not offered and tracker.get_slot("offered_request") and not cleared:
        offered = [SlotSet("offered_request", None)]
    return events + offered


def open_offer(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The second request offered in answer to the customer's previous message, if this message is the
    reply to that offer; None otherwise (no offer, or an older one that lapsed)."""
    raw = tracker.get_slot("offered_request")
    if not raw:
        return None
    try:
        offer = json.loads(raw)
    except (TypeError, ValueError):
        return None
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2 or _message_id(users[-2]) != offer.get("message_id"):
        return None
    return offer


def as_asked(tracker: Tracker, offer: Dict[str, Any]) -> Tracker:
    """``tracker`` with the offered request as its latest message, as if the customer had asked it alone."""
    latest = dict(tracker.latest_message or {})
    key = offer.get("response_key")
    latest.update({
        "text": offer.get("text") or "",
        "intent": {"name": offer.get("intent"), "confidence": 1.0},
        "entities": list(offer.get("entities") or []),
        "response_selector": ({"default": {"response": {"intent_response_key": key}, "ranking": []}} if key else {}),
    })
    return Tracker(tracker.sender_id, dict(tracker.slots), latest, list(tracker.events), tracker.is_paused(),
                   tracker.followup_action, dict(tracker.active_loop or {}), tracker.latest_action_name)
