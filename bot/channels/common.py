"""What every channel shares: cleaning customer text, trusted internal intents, the transcript.

Customer text is cleaned (:func:`bot.nlu.normalize.clean_text`) and loses any leading ``/`` so nobody
can trigger Rasa's ``/intent{"slot": ...}`` syntax by typing it. Channel-generated events (a menu
click, a subscription, a location) become internal intents built by :func:`internal_message` —
the only way a ``/``-message reaches Rasa. A customer's personal-data request (``我的信息``,
``删除我的个人信息``) never reaches Rasa: the channel files it and answers (:func:`personal_data_kind`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Callable, Dict, List, TypeVar

from rasa.core.channels.channel import CollectingOutputChannel

from bot.db import session_scope
from bot.domain import contacts, privacy, transcript
from bot.nlu import commands
from bot.nlu.normalize import clean_text
from bot.nlu.patterns import personal_data_request

logger = logging.getLogger(__name__)
T = TypeVar("T")

_COMMAND_PREFIX = re.compile(r"^[\s/／\\]+")
MAX_TEXT = 1000  # characters of one customer message passed on to the model


def customer_text(raw: str | None) -> str:
    """A customer's message as the bot may see it: cleaned, bounded, never an /intent command."""
    text = clean_text(raw or "")
    text = _COMMAND_PREFIX.sub("", text)
    # a request usually comes last, after the story: keep the end of an over-long message
    return text[-MAX_TEXT:]


def internal_message(intent: str, entities: Dict[str, Any] | None = None) -> str:
    """A channel-generated ``/intent{...}`` message (never built from customer text)."""
    if not re.fullmatch(r"[a-z_]+", intent):
        raise ValueError(f"bad internal intent {intent!r}")
    return "/" + intent + (json.dumps(entities, ensure_ascii=False) if entities else "")


def rasa_text(text: str) -> str:
    """What Rasa gets for a cleaned customer text: the internal intent of a fixed command (turning notices
    off/on, "还没来电" — bot.nlu.commands), else the text itself."""
    command = commands.match(text)
    return internal_message(command.intent, command.entities or None) if command else text


def personal_data_kind(text: str) -> str | None:
    """``"view"`` / ``"delete"`` when a short cleaned customer message asks what we hold about them
    (``我的信息``) or to delete it (``删除我的个人信息``) — bot.nlu.patterns.personal_data_request; the channel
    answers it itself (:func:`answer_personal_data_request`), without the model. A longer message that
    merely mentions 我的信息 goes to the model, like the fixed commands of bot.nlu.commands."""
    text = (text or "").strip()
    if not text or len(text) > commands.MAX_COMMAND_CHARS:
        return None
    return personal_data_request(text)


def _file_personal_data_request(sender_id: str, kind: str, message_id: str | None) -> str:
    with session_scope() as s:
        contact = contacts.for_sender(s, sender_id)
        source_key = f"{sender_id}:{message_id}"[:128] if message_id else None
        return privacy.file_request(s, contact, kind, source_key=source_key).reply()


async def answer_personal_data_request(sender_id: str, kind: str, message_id: str | None = None) -> List[str]:
    """File the customer's personal-data request as a ticket for the supervisors (bot.domain.privacy,
    idempotent on ``message_id``) and return the reply telling them its number and deadline."""
    return [await in_thread(_file_personal_data_request, sender_id, kind, message_id)]


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking (database) work off the event loop."""
    return await asyncio.to_thread(fn, *args)


def _append(sender_id: str, channel: str, direction: str, author: str, texts: List[str],
            intent: str | None = None) -> None:
    with session_scope() as s:
        for text in texts:
            transcript.append(s, sender_id, channel, direction, author, text, intent)


async def record_inbound(sender_id: str, channel: str, text: str) -> None:
    """Add what the customer sent to the transcript (failures are logged, never lose the message)."""
    try:
        await in_thread(_append, sender_id, channel, "in", "customer", [text])
    except Exception:
        logger.exception("could not record inbound message of %s", sender_id)


async def record_outbound(sender_id: str, channel: str, texts: List[str], author: str = "bot") -> None:
    if not texts:
        return
    try:
        await in_thread(_append, sender_id, channel, "out", author, texts)
    except Exception:
        logger.exception("could not record outbound message of %s", sender_id)


def message_text(message: Dict[str, Any]) -> str:
    """The text of one bot message, buttons rendered as numbered choices ("回复1 查电费")."""
    parts = []
    if message.get("text"):
        parts.append(message["text"])
    for index, button in enumerate(message.get("buttons") or [], start=1):
        parts.append(f"回复{index} {button.get('title', '')}")
    if message.get("image"):
        parts.append(message["image"])
    return "\n".join(parts)


class RecordingCollector(CollectingOutputChannel):
    """Collects the bot's messages for one turn (like Rasa's collector)."""

    def texts(self) -> List[str]:
        return [message_text(m) for m in self.messages if message_text(m)]
