"""Events the console adds to a Rasa conversation: pause, resume, and what an agent said.

Appended as Rasa's own HTTP API does (``POST /conversations/<id>/tracker/events`` in
``rasa/server.py``): under the lock store's lock for the conversation, so an event never interleaves
with a message the bot is processing, then saved to the tracker store — which, with ``REDIS_URL``
and a SQL tracker store, is shared by every Rasa server.

While a tracker is paused Rasa still logs the customer's messages but predicts no action, so the bot
stays silent and the agent answers. A new Rasa session (``session_expiration_time`` after the
customer's last message) resets the pause; the dialogue's ``action_session_start`` must pause again
when the conversation is still owned by an agent.
"""

from __future__ import annotations

from typing import Any, Callable, List

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, Event


class BotNotReady(RuntimeError):
    """The Rasa agent of this process has no model loaded (yet)."""


async def append(agent: Any, sender_id: str, make_events: Callable[[], List[Event]]) -> None:
    """Append the events ``make_events()`` builds to the conversation ``sender_id`` of ``agent``.

    The events are built only once the tracker exists: starting a new tracker adds a SessionStarted
    stamped *now*, and the SQL tracker store loads only events stamped at or after the latest session
    start — an event created before it would silently vanish on the next load.
    """
    if agent is None or not agent.is_ready():
        raise BotNotReady("the Rasa agent is not ready")
    async with agent.lock_store.lock(sender_id):
        # a session start the dialogue customises may say something: nobody is listening here
        tracker = await agent.processor.fetch_tracker_with_initial_session(sender_id, CollectingOutputChannel())
        for event in make_events():
            tracker.update(event, agent.domain)
        await agent.tracker_store.save(tracker)


async def pause(agent: Any, sender_id: str) -> None:
    await append(agent, sender_id, lambda: [ConversationPaused()])


async def resume(agent: Any, sender_id: str) -> None:
    await append(agent, sender_id, lambda: [ConversationResumed()])


def uttered(text: str, author: str) -> BotUttered:
    """A message the customer received from the console, as Rasa's history records bot messages."""
    return BotUttered(text, metadata={"author": author})


async def said(agent: Any, sender_id: str, text: str, author: str) -> None:
    """Record in Rasa's history a message the console sent, so the tracker holds the whole conversation."""
    await append(agent, sender_id, lambda: [uttered(text, author)])


async def is_paused(agent: Any, sender_id: str) -> bool:
    """Is the bot paused for this conversation? (for checks and tests)"""
    if agent is None or not agent.is_ready():
        raise BotNotReady("the Rasa agent is not ready")
    tracker = await agent.tracker_store.retrieve(sender_id)
    return bool(tracker and tracker.is_paused())
