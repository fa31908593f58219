"""A turn the bot could not complete is never silent: the customer gets an apology and the message is
kept for an agent.

Rasa 3.6 does not tell a channel that a custom action failed: when the action server refuses the
connection, answers 5xx or sends something invalid, ``MessageProcessor._run_action`` logs
"Encountered an exception while running action …", drops that action's events and carries on — the
customer typically receives nothing. :func:`watched_turn` runs one ``on_new_message`` call with a
context variable set, and a filter on Rasa's processor logger (installed by :func:`install`) notes
every such failure in it; the same task runs the whole turn, so the failures are the turn's own.

After a failed turn (:func:`keep_for_agent`):

* the conversation joins the console queue (hand-over reason ``bot_failure``); the customer's message
  is already in the transcript the agent reads;
* any form the conversation was in is closed (``ActiveLoop(None)``, ``requested_slot`` cleared) under
  the conversation's lock, so a half-run form cannot take the customer's next message as, say, a
  ticket's address;
* the customer is told (``messages.BOT_FAILURE_KEPT``) — within WeChat's deadline, since a refused
  connection fails in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, List

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet, UserUttered

from bot import messages, metrics
from bot.channels.common import message_text
from bot.console import tracker as console_tracker
from bot.db import session_scope
from bot.domain import contacts, handoffs

logger = logging.getLogger(__name__)

#: Rasa's processor logs this (with the exception) when a custom action fails; see rasa/core/processor.py.
RASA_ACTION_FAILURE_PREFIX = "Encountered an exception while running action"
#: The logger it uses.
RASA_PROCESSOR_LOGGER = "rasa.core.processor"

_failures: contextvars.ContextVar[List[str] | None] = contextvars.ContextVar("powerbot_turn_failures", default=None)


class _ActionFailureNote(logging.Filter):
    """Notes a failed custom action in the running turn (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        bucket = _failures.get()
        if bucket is not None and record.levelno >= logging.ERROR and str(record.msg).startswith(
                RASA_ACTION_FAILURE_PREFIX):
            bucket.append(str(record.msg))
        return True


_FILTER = _ActionFailureNote()


def install() -> None:
    """Watch Rasa's processor logger for failed actions (idempotent)."""
    target = logging.getLogger(RASA_PROCESSOR_LOGGER)
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)


@dataclass
class TurnOutcome:
    """What happened in one turn: ``failures`` lists Rasa's messages about actions that failed;
    ``error`` is an exception that ended the turn (the tracker store down, say)."""

    failures: List[str] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def failed(self) -> bool:
        return bool(self.failures) or self.error is not None


async def watched_turn(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> TurnOutcome:
    """Run one turn; never raises (an exception is returned in the outcome, and logged)."""
    install()
    bucket: List[str] = []
    token = _failures.set(bucket)
    outcome = TurnOutcome(failures=bucket)
    channel = message.input_channel or "unknown"
    metrics.MESSAGES.labels(channel).inc()
    started = time.monotonic()
    try:
        await on_new_message(message)
    except Exception as exc:
        logger.exception("the bot failed on a message of %s", message.sender_id)
        outcome.error = exc
    finally:
        _failures.reset(token)
        metrics.TURN_SECONDS.labels(channel).observe(time.monotonic() - started)
    if outcome.failed:
        metrics.TURN_FAILURES.labels(channel).inc()
    return outcome


def _queue_for_agent(sender_id: str, channel: str) -> None:
    with session_scope() as s:
        contact = contacts.for_sender(s, sender_id)
        handoffs.request(s, sender_id, channel, "bot_failure", contact=contact)


def _close_forms() -> List[Event]:
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


async def keep_for_agent(agent: Any, sender_id: str, channel: str) -> List[str]:
    """After a failed turn: queue the conversation for an agent, close any open form, and return the
    texts to send the customer (the apology). Each step is attempted even if another fails."""
    logger.warning("turn of %s failed: the message is kept for an agent", sender_id)
    try:
        await asyncio.to_thread(_queue_for_agent, sender_id, channel)
    except Exception:
        logger.exception("could not queue %s for an agent after a failed turn", sender_id)
    try:
        await console_tracker.append(agent, sender_id, _close_forms)
    except Exception:
        logger.exception("could not close the open form of %s after a failed turn", sender_id)
    return [messages.BOT_FAILURE_KEPT]


async def answered_before(agent: Any, sender_id: str, message_id: str | None) -> List[str] | None:
    """The bot's answer to ``message_id`` when the conversation's history already holds that turn (a
    server finished it, then died before replying), else None — so a retry is never run twice.

    Rasa saves a turn's events together at its end, so the history holds the whole turn or none of it."""
    if agent is None or not message_id or not agent.is_ready():
        return None
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return None
    answer: List[str] | None = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if answer is not None:
                break
            if event.message_id == message_id:
                answer = []
        elif answer is not None and isinstance(event, BotUttered):
            text = message_text({"text": event.text, **(event.data or {})})
            if text:
                answer.append(text)
    return answer
