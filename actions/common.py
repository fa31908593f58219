"""What every action shares: a short database session per call, run off the event loop."""

from __future__ import annotations

import abc
import asyncio
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.domain import contacts
from bot.domain.models import Contact


def selected_key(tracker: Tracker) -> str | None:
    """The ResponseSelector's sub-key for the latest message (e.g. ``payment_methods/online``)."""
    selector = (tracker.latest_message or {}).get("response_selector") or {}
    for name in ("default", tracker.latest_message.get("intent", {}).get("name")):
        key = ((selector.get(name) or {}).get("response") or {}).get("intent_response_key")
        if key:
            return key
    return None


class DomainAction(Action, abc.ABC):
    """An action whose work is blocking domain code: run in a thread with its own DB session."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        return await asyncio.to_thread(self._run_in_session, dispatcher, tracker, domain)

    def _run_in_session(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        with session_scope() as s:
            return self.act(s, contacts.for_sender(s, tracker.sender_id), dispatcher, tracker, domain)

    @abc.abstractmethod
    def act(self, s: Session, contact: Contact, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The action's work, inside one database session for the customer behind the conversation."""
