"""What the SMS channel remembers between requests: MessageSids already seen (the shared
:class:`~bot.channels.dedup.SeenStore`), and the numbered choices last offered to each conversation.

With ``REDIS_URL`` both live in Redis (``SET NX EX`` for de-duplication), so several Rasa servers
behind a load balancer agree; without it they live in this process (the embedded demo runs one).
Redis trouble never loses a customer's message: de-duplication then lets the message through and the
choices are simply forgotten (a digit is then passed on as typed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, List, Tuple

from bot.channels.dedup import SeenStore

logger = logging.getLogger(__name__)

KEY_PREFIX = "powerbot:sms"


@dataclass(frozen=True)
class Choice:
    """One numbered choice: what the customer read, and the payload a digit reply stands for."""

    title: str
    payload: str


class _LocalTtlMap:
    """A bounded in-process map whose entries expire."""

    def __init__(self, max_items: int) -> None:
        self._items: OrderedDict[str, Tuple[float, Any]] = OrderedDict()
        self._max = max_items
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            return item[1]

    def set(self, key: str, value: Any, ttl_s: float) -> bool:
        with self._lock:
            now = time.monotonic()
            self._items[key] = (now + ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class SmsState:
    """De-duplication and numbered-choice memory for the SMS channel."""

    def __init__(self, redis_url: str | None, dedup_ttl_s: int = 24 * 3600, choices_ttl_s: int = 24 * 3600,
                 key_prefix: str = KEY_PREFIX) -> None:
        self.prefix = key_prefix
        self.choices_ttl_s = choices_ttl_s
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.seen = SeenStore(redis_url, ttl_s=dedup_ttl_s, prefix=f"{key_prefix}:msg:")
        self._choices = _LocalTtlMap(50_000)

    @property
    def shared(self) -> bool:
        """Is the state shared across processes (Redis)?"""
        return self._redis is not None

    async def first_time(self, message_sid: str) -> bool:
        """Claim ``message_sid``: True the first time it is seen, False for a repeat."""
        return await self.seen.claim(message_sid)

    async def set_choices(self, sender_id: str, choices: List[Choice], reply: str) -> None:
        """Remember the choices offered by ``reply`` (no choices forgets earlier ones)."""
        key = f"{self.prefix}:choices:{sender_id}"
        data = json.dumps({"reply": reply, "choices": [[c.title, c.payload] for c in choices]}, ensure_ascii=False)
        if self._redis is None:
            if choices:
                self._choices.set(key, data, self.choices_ttl_s)
            else:
                self._choices.delete(key)
            return
        client = self._redis
        try:
            if choices:
                await asyncio.to_thread(client.set, key, data, ex=self.choices_ttl_s)
            else:
                await asyncio.to_thread(client.delete, key)
        except Exception as exc:
            logger.warning("could not store sms choices of %s: %s", sender_id, type(exc).__name__)

    async def choices(self, sender_id: str) -> Tuple[List[Choice], str]:
        """The choices last offered to this conversation and the reply that offered them."""
        key = f"{self.prefix}:choices:{sender_id}"
        if self._redis is None:
            data = self._choices.get(key)
        else:
            client = self._redis
            try:
                data = await asyncio.to_thread(client.get, key)
            except Exception as exc:
                logger.warning("could not read sms choices of %s: %s", sender_id, type(exc).__name__)
                return [], ""
        if not data:
            return [], ""
        try:
            value = json.loads(data)
            return [Choice(str(title), str(payload)) for title, payload in value["choices"]], str(value["reply"])
        except (ValueError, TypeError, KeyError):
            return [], ""


__all__ = ["Choice", "SmsState"]
