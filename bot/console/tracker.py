"""Events the console adds to a Rasa conversation: pause, resume, and what an agent said.

Appended exactly as Rasa's own HTTP API does (``POST /conversations/<id>/tracker/events`` in
``rasa/server.py``): under the lock store's lock for the conversation, so an event never interleaves
with a message the bot is processing, then saved to the tracker store — which, with ``REDIS_URL``
and a SQL tracker store, is shared by every Rasa server.

While a tracker is paused Rasa still logs the customer's messages but predicts no action, so the bot
stays silent and the agent answers.
"""

from __future__ import annotations

from typing import Any, List

from rasa.server import update_conversation_with_events
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, Event


class BotNotReady(RuntimeError):
    """The Rasa agent of this process has no model loaded (yet)."""


async def append(agent: Any, sender_id: str, events: List[Event]) -> None:
    """Append ``events`` to the conversation ``sender_id`` of ``agent`` (Rasa's ``Agent``)."""
    if agent is None or not agent.is_ready():
        raise BotNotReady("the Rasa agent is not ready")
    async with agent.lock_store.lock(sender_id):
        tracker = await update_conversation_with_events(sender_id, agent.processor, agent.domain, events)
        await agent.tracker_store.save(tracker)


async def pause(agent: Any, sender_id: str) -> None:
    await append(agent, sender_id, [ConversationPaused()])


async def resume(agent: Any, sender_id: str) -> None:
    await append(agent, sender_id, [ConversationResumed()])


def uttered(text: str, author: str) -> BotUttered:
    """A message the customer received from the console, as Rasa's history records bot messages."""
    return BotUttered(text, metadata={"author": author})


async def said(agent: Any, sender_id: str, text: str, author: str) -> None:
    """Record in Rasa's history a message the console sent, so the tracker holds the whole conversation."""
    await append(agent, sender_id, [uttered(text, author)])


async def is_paused(agent: Any, sender_id: str) -> bool:
    """Is the bot paused for this conversation? (for checks and tests)"""
    if agent is None or not agent.is_ready():
        raise BotNotReady("the Rasa agent is not ready")
    tracker = await agent.tracker_store.retrieve(sender_id)
    return bool(tracker and tracker.is_paused())
