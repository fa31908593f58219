"""Handing over to an agent (asked, misunderstood twice, complaint), fallback, and satisfaction ratings."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.answers import answer_service_question
from actions.common import DomainAction, Events, latest_text, source_key, utter
from bot.config import get_settings
from bot.db import session_scope
from bot.domain import handoffs, notices, routing, tickets
from bot.domain.models import Contact
from bot.nlu.normalize import to_halfwidth

_RATING_WORDS = [
    (re.compile(r"非常满意|很满意|特别满意|超级满意|好评|满分|五星"), 5),
    (re.compile(r"非常不满意|很不满意|极差|太差|差评|垃圾"), 1),
    (re.compile(r"不满意|不太满意|不好"), 2),
    (re.compile(r"一般|还行|凑合|马马虎虎"), 3),
    (re.compile(r"满意|挺好|不错|很好"), 4),
]
_CN_SCORE = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def parse_rating(text: str) -> Optional[int]:
    """1–5 from "5", "5分", "打四分", "五星", "非常满意", "一般" …; None when it is no rating."""
    text = to_halfwidth(text or "").strip()
    m = re.search(r"(?<!\d)([1-5])(?!\d)", text) or re.search(r"([一二两三四五])(?:分|星|颗星)", text)
    if m:
        value = m.group(1)
        return int(value) if value.isdigit() else _CN_SCORE[value]
    for pattern, score in _RATING_WORDS:
        if pattern.search(text):
            return score
    return None


def request_agent(s: Session, contact: Contact, tracker: Tracker, reason: str, dispatcher: CollectingDispatcher,
                  after_hours_ticket: bool = True) -> Events:
    """Queue the conversation for an agent and tell the customer their place; outside staffed hours
    record a call-back request instead."""
    settings = get_settings()
    if not handoffs.staffed(settings.console_hours):
        if after_hours_ticket:
            ticket = tickets.create(s, "callback", contact.channel, latest_text(tracker) or "请求人工服务",
                                    contact=contact, source_key=source_key(tracker))
            utter(dispatcher, "utter_handoff_after_hours", hours=settings.console_hours, ticket_no=ticket.ticket_no)
        return []
    existing = handoffs.open_for(s, tracker.sender_id)
    if existing is not None:
        utter(dispatcher, "utter_handoff_already", position=handoffs.position(s, existing))
        return []
    intent = _last_understood_intent(tracker)
    key_customer = routing.key_customer_reason(s, contact) is not None
    group = routing.open_group(routing.group_for(intent, reason, key_customer), settings.console_group_hours)
    handoff = handoffs.request(s, tracker.sender_id, contact.channel, reason, contact=contact,
                               last_intent=intent, skill_group=group, key_customer=key_customer)
    # the same wording as utter_handoff_already: the customer's place, never "0 ahead" then "1st"
    utter(dispatcher, "utter_handoff_queued", position=handoffs.position(s, handoff))
    return []


def _last_understood_intent(tracker: Tracker) -> Optional[str]:
    """What the customer came for, as the bot understood it (shown to the agent; decides routing)."""
    intents = [((e.get("parse_data") or {}).get("intent") or {}).get("name")
               for e in tracker.events if e.get("event") == "user"]
    return handoffs.purpose_intent(intents)


class ActionRequestHuman(DomainAction):
    def name(self) -> Text:
        return "action_request_human"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        if answer_service_question(s, contact, tracker, dispatcher):
            return [SlotSet("next_step", "done")]  # "你们客服电话多少" asks for a number, not for an agent
        return [SlotSet("next_step", "done")] + request_agent(s, contact, tracker, "asked", dispatcher)


def _previous_turn_was_fallback(tracker: Tracker) -> bool:
    """Did the bot also fail to understand the customer's previous message?"""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                return False
        elif users == 1 and event.get("event") == "action" and event.get("name") == "action_fallback":
            return True
    return False


class ActionFallback(DomainAction):
    """Not understood: ask to rephrase; the second time in a row, hand over to an agent."""

    def name(self) -> Text:
        return "action_fallback"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        if answer_service_question(s, contact, tracker, dispatcher):
            return [SlotSet("next_step", "done")]
        if _previous_turn_was_fallback(tracker):
            utter(dispatcher, "utter_handoff_misunderstood")
            return [SlotSet("next_step", "done")] + request_agent(s, contact, tracker, "misunderstood", dispatcher)
        utter(dispatcher, "utter_default")
        return [SlotSet("next_step", "done")]


def rating_pending(s: Session, tracker: Tracker, contact: Contact) -> bool:
    """Was this customer asked for a rating they have not given yet (an agent's close, or a resolved
    ticket's notice)?"""
    return (bool(tracker.get_slot("rating_for")) or handoffs.awaiting_rating(s, tracker.sender_id) is not None
            or notices.awaiting_rating(s, contact) is not None)


def record_rating(s: Session, contact: Contact, tracker: Tracker, dispatcher: CollectingDispatcher,
                  score: int) -> Events:
    """Store a 1–5 rating for the agent conversation or the ticket it was asked for."""
    handoff = handoffs.awaiting_rating(s, tracker.sender_id)
    ticket_id = tracker.get_slot("rating_for")
    if handoff is not None:
        handoffs.rate(s, handoff, score)
    else:
        asked = int(ticket_id) if ticket_id and str(ticket_id).isdigit() else notices.awaiting_rating(s, contact)
        tickets.rate(s, contact, tracker.sender_id, score, asked)
    utter(dispatcher, "utter_rating_thanks" if score >= 3 else "utter_rating_sorry")
    return [SlotSet("rating_for", None), SlotSet("next_step", "done")]


class ActionRecordRating(DomainAction):
    """A rating ("5分", "非常满意"). Stored only when one was asked for, so the service-quality figures
    count answers to our question, not a stray digit or a passing remark."""

    def name(self) -> Text:
        return "action_record_rating"

    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> Events:
        score = parse_rating(latest_text(tracker))
        if score is None:
            utter(dispatcher, "utter_default")
            return []
        if not rating_pending(s, tracker, contact):
            utter(dispatcher, "utter_what_can_i_do" if score >= 3 else "utter_rating_unasked_unhappy")
            return [SlotSet("next_step", "done")]
        return record_rating(s, contact, tracker, dispatcher, score)


class ActionSessionStart(Action):
    """A new session (after 60 idle minutes) keeps the bot paused while an agent owns the conversation."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> Events:
        paused = await asyncio.to_thread(_agent_owns, tracker.sender_id)
        return [SessionStarted(), *([ConversationPaused()] if paused else []), ActionExecuted("action_listen")]


def _agent_owns(sender_id: str) -> bool:
    with session_scope() as s:
        handoff = handoffs.open_for(s, sender_id)
        return handoff is not None and handoff.status == "active"


__all__ = ["request_agent", "parse_rating", "rating_pending", "record_rating"]
