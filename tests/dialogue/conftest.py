"""Drive our Rasa actions directly (as the action server would) against a real database.

An action gets a rasa-sdk Tracker built from what Rasa would send — the sender, the latest message
with its intent, entities and message id, slots — and runs in this process with DATABASE_URL pointing
at the test database (SQLite and PostgreSQL). Replies are read from the dispatcher, rows from the DB.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.config import ROOT, get_settings
from bot.db import dispose_engines, session_scope
from bot.domain import contacts
from bot.domain.models import OutboundMessage
from bot.domain.pii import cipher
from bot.domain.places import gazetteer
from bot.messaging import sms
from tests.integration.records import seed

DOMAIN: Dict[str, Any] = Domain.load(str(ROOT / "domain.yml")).as_dict()


@dataclass
class Turn:
    """What an action did in one run: its replies (text) and events."""

    texts: List[str]
    events: List[Dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e.get("name") == name]
        return values[-1] if values else None


def _fill(template: str, values: Dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), template)


@dataclass
class Conversation:
    """One customer (a sender id) talking to actions; slots carry over between runs like in Rasa."""

    sender_id: str
    slots: Dict[str, Any] = field(default_factory=dict)
    counter: int = 0
    events: List[Dict[str, Any]] = field(default_factory=list)

    def tracker(self, text: str, intent: str, entities: Optional[Dict[str, str]] = None,
                response_key: Optional[str] = None, active_loop: Optional[str] = None,
                message_id: Optional[str] = None, parsed: Optional[Dict[str, Any]] = None) -> Tracker:
        """``parsed``: more of what the NLU found (e.g. ``second_request``), added to the parse data."""
        self.counter += 1
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
            "message_id": message_id or f"m{self.counter}",
            "metadata": {},
        }
        if response_key:
            latest["response_selector"] = {"default": {"response": {"intent_response_key": response_key}}}
        latest.update(parsed or {})
        self.events.append({"event": "user", "text": text, "parse_data": latest})
        return Tracker(self.sender_id, dict(self.slots), latest, list(self.events), False, None,
                       {"name": active_loop} if active_loop else {}, "action_listen")

    def run(self, action: Action, text: str = "", intent: str = "inform", entities: Optional[Dict[str, str]] = None,
            response_key: Optional[str] = None, message_id: Optional[str] = None,
            parsed: Optional[Dict[str, Any]] = None) -> Turn:
        tracker = self.tracker(text, intent, entities, response_key, message_id=message_id, parsed=parsed)
        return self._apply(action, tracker)

    def validate(self, action: Action, slot: str, value: Any, text: Optional[str] = None,
                 intent: str = "inform", form: str = "") -> Turn:
        """Run a form validation method as Rasa would when the customer answers ``slot``."""
        tracker = self.tracker(text if text is not None else str(value), intent, active_loop=form)
        dispatcher = CollectingDispatcher()
        method = getattr(action, f"validate_{slot}")
        result = method(value, dispatcher, tracker, DOMAIN)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        self.slots.update(result)
        events = [{"event": "slot", "name": k, "value": v} for k, v in result.items()]
        return Turn(self._texts(dispatcher), events)

    def _apply(self, action: Action, tracker: Tracker) -> Turn:
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
        for e in events:
            if e.get("event") == "slot":
                self.slots[e["name"]] = e["value"]
        self.events.append({"event": "action", "name": action.name()})
        return Turn(self._texts(dispatcher), list(events))

    @staticmethod
    def _texts(dispatcher: CollectingDispatcher) -> List[str]:
        from bot.domain.rules import template_values

        out = []
        for m in dispatcher.messages:
            if m.get("text"):
                out.append(m["text"])
            elif m.get("response"):
                values = {**template_values(), **{k: v for k, v in m.items() if k not in ("response",)}}
                out.append(_fill(DOMAIN["responses"][m["response"]][0]["text"], values))
        return out


@pytest.fixture
def records(db, monkeypatch):
    """The test database as the actions' database, seeded with the known records."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("CONSOLE_HOURS", "00:00-00:00")  # agents on duty whenever the tests run
    get_settings.cache_clear()
    sms._sender = None
    gazetteer.invalidate()
    with db.session() as s:
        seed(s)
    yield db
    get_settings.cache_clear()
    sms._sender = None
    gazetteer.invalidate()
    dispose_engines()


@pytest.fixture
def customer(records) -> Conversation:
    return Conversation("wechat:oCustomerAlice")


def bind(sender_id: str, *numbers: str) -> None:
    """Give a conversation verified bindings (as if it had entered the right codes)."""
    from bot.clock import utcnow
    from bot.domain import accounts, bindings

    with session_scope() as s:
        contact = contacts.for_sender(s, sender_id)
        for number in numbers:
            bindings._bind(s, contact, accounts.get_by_no(s, number), "sms_code", utcnow())


def last_code_sent_to(phone: str) -> str:
    """The verification code in the newest demo SMS to ``phone`` (what the customer reads on the phone)."""
    h = cipher().lookup_hash(f"phone:{phone}")
    with session_scope() as s:
        from sqlalchemy import select

        message = s.scalar(select(OutboundMessage).where(OutboundMessage.recipient_hash == h)
                           .order_by(OutboundMessage.id.desc()).limit(1))
    assert message is not None, "no SMS was sent"
    return re.search(r"验证码(\d{6})", message.body).group(1)
