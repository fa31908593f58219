"""Which inbound messages this deployment has already taken on — so a platform's retries are processed
once (WeChat retries with the same MsgId, or FromUserName+CreateTime+Event for events; Twilio with the
same MessageSid).

The first request to :meth:`SeenStore.claim` a key wins. With ``REDIS_URL`` the claim is a Redis
``SET NX EX`` shared by every Rasa process behind the load balancer; without it, a dictionary in this
process. Keys are hashed, so openids and phone-derived ids never appear in Redis.

:meth:`SeenStore.remember` keeps a value with the key — the first one wins — so a caller can tell a
retry (same key, same value) from a replay (same key, another value): WeChat's plain-mode signature
covers (timestamp, nonce) but not the body, and a captured signature must not carry another body.

A server can die between taking a message on and answering it. So that WeChat's retries (within about
15 s) are then answered by another server, :meth:`SeenStore.claim_pending` holds a claim only
``pending_ttl_s`` (a few seconds) while the message is worked on — renewed by :meth:`SeenStore.hold`
as long as the turn runs — and :meth:`SeenStore.settle` keeps it the full TTL once answered. A claim
taken over from a dead server says so (``retaken``), so the new server can first look whether the
dead one had already finished the turn (:mod:`bot.channels.resilience`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any, Optional, Tuple

logger = logging.getLogger(__name__)

#: WeChat's retries come within about 15 s; remembering ten minutes is plenty and keeps Redis small.
DEFAULT_TTL_S = 600
#: The value of a claim whose message is still being worked on (any other value: answered).
PENDING = "pending"


class SeenStore:
    def __init__(self, redis_url: Optional[str] = None, ttl_s: int = DEFAULT_TTL_S,
                 prefix: str = "powerbot:seen:", pending_ttl_s: float = 8.0) -> None:
        self.redis_url = redis_url
        self.ttl_s = ttl_s
        self.pending_ttl_s = pending_ttl_s
        self.prefix = prefix
        self._local: OrderedDict[str, Tuple[float, str]] = OrderedDict()
        self._redis: Any = None

    def _client(self) -> Any:
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
        return self._redis

    def _local_value(self, digest: str, value: str, ttl_s: Optional[float] = None) -> Tuple[bool, str]:
        """(first?, the value stored first) for ``digest`` in this process; a new entry lives ``ttl_s``
        (default: the store's TTL)."""
        now = time.monotonic()
        while self._local:
            oldest, (expires, _value) = next(iter(self._local.items()))
            if expires > now:
                break
            self._local.pop(oldest)
        kept = self._local.get(digest)
        if kept is not None and kept[0] > now:
            return False, kept[1]
        self._local.pop(digest, None)
        self._local[digest] = (now + (ttl_s or self.ttl_s), value)
        return True, value

    def _claim_local(self, digest: str, ttl_s: Optional[float] = None) -> bool:
        return self._local_value(digest, "1", ttl_s)[0]

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()[:40]

    def storage_key(self, key: str) -> str:
        """The Redis key a claim of ``key`` is stored under."""
        return self.prefix + self._digest(key)

    async def claim(self, key: str) -> bool:
        """True for the first request carrying ``key`` (within the TTL), False for every retry."""
        digest = self._digest(key)
        if not self.redis_url:
            return self._claim_local(digest)
        try:
            return bool(await self._client().set(self.prefix + digest, "1", nx=True, ex=self.ttl_s))
        except Exception as exc:
            # Better to risk answering a retry twice than to drop a customer's message.
            logger.warning("Redis unavailable for de-duplication (%s); using this process only",
                           type(exc).__name__)
            return self._claim_local(digest)

    async def remember(self, key: str, value: str) -> str:
        """Keep ``value`` under ``key`` for the TTL unless a value is kept already; returns the value kept
        (``value`` itself for the first request, the first request's value for every later one)."""
        digest = self._digest(key)
        if not self.redis_url:
            return self._local_value(digest, value)[1]
        name = self.prefix + digest
        try:
            if await self._client().set(name, value, nx=True, ex=self.ttl_s):
                return value
            kept = await self._client().get(name)
        except Exception as exc:
            logger.warning("Redis unavailable for replay protection (%s); using this process only",
                           type(exc).__name__)
            return self._local_value(digest, value)[1]
        if kept is None:  # expired between the two calls: nothing is kept any more
            return value
        return kept.decode() if isinstance(kept, bytes) else str(kept)

    async def claim_pending(self, key: str) -> Tuple[bool, bool]:
        """Claim ``key`` for ``pending_ttl_s``: (claimed, retaken) — ``retaken`` when an earlier claim
        of it expired unanswered (the server holding it died)."""
        digest = self._digest(key)
        if not self.redis_url:
            taken_once = ("once:" + digest) in self._local
            claimed = self._claim_local(digest, self.pending_ttl_s)
            if claimed:
                self._claim_local("once:" + digest)
            return claimed, claimed and taken_once
        try:
            client = self._client()
            claimed = bool(await client.set(self.prefix + digest, PENDING, nx=True, px=int(self.pending_ttl_s * 1000)))
            if not claimed:
                return False, False
            first = bool(await client.set(self.prefix + "once:" + digest, "1", nx=True, ex=self.ttl_s))
            return True, not first
        except Exception as exc:
            logger.warning("Redis unavailable for de-duplication (%s); using this process only",
                           type(exc).__name__)
            return self._claim_local(digest, self.pending_ttl_s), False

    async def wait_pending(self, key: str, until: float) -> Tuple[bool, bool]:
        """A retry found ``key`` claimed: wait (until the event loop's time ``until``) while the claim is
        pending. (claimed, retaken) — claimed when the claim expired unanswered and this call took it
        over; (False, False) when it was answered or is still being worked on at ``until``."""
        loop = asyncio.get_running_loop()
        while True:
            if not self.redis_url:
                return False, False  # one process: the turn is in this process's hands
            try:
                value = await self._client().get(self.prefix + self._digest(key))
            except Exception:
                return False, False
            if value is None:
                claimed, retaken = await self.claim_pending(key)
                if claimed:
                    return True, retaken
            elif value.decode() != PENDING or loop.time() >= until:
                return False, False
            await asyncio.sleep(min(0.1, max(0.0, until - loop.time())))

    async def is_answered(self, key: str) -> bool:
        """Has ``key``'s turn been answered (settled)? A claim that lapsed (its server died) is no answer,
        nor is a store that cannot be read. In one process (no shared store) a claimed key whose turn is
        not under way here has been answered."""
        if not self.redis_url:
            return True
        try:
            value = await self._client().get(self.prefix + self._digest(key))
        except Exception:
            return False
        return value is not None and value.decode() != PENDING

    async def is_pending(self, key: str) -> bool:
        """Is ``key`` claimed by a server that has not answered it yet (shared store only)?"""
        if not self.redis_url:
            return False
        try:
            value = await self._client().get(self.prefix + self._digest(key))
        except Exception:
            return False
        return value is not None and value.decode() == PENDING

    async def hold(self, key: str) -> None:
        """Renew a pending claim of ``key`` until cancelled (run as a task beside the turn)."""
        digest = self._digest(key)
        while True:
            await asyncio.sleep(self.pending_ttl_s / 3)
            if not self.redis_url:
                self._local[digest] = (time.monotonic() + self.pending_ttl_s, "1")
                continue
            try:
                await self._client().set(self.prefix + digest, PENDING, xx=True, px=int(self.pending_ttl_s * 1000))
            except Exception as exc:
                logger.warning("could not renew a de-duplication claim (%s)", type(exc).__name__)

    async def settle(self, key: str) -> None:
        """The message is answered: keep its claim the full TTL, so later retries are ignored."""
        digest = self._digest(key)
        if not self.redis_url:
            self._local[digest] = (time.monotonic() + self.ttl_s, "1")
            return
        try:
            await self._client().set(self.prefix + digest, "1", ex=self.ttl_s)
        except Exception as exc:
            logger.warning("could not settle a de-duplication claim (%s)", type(exc).__name__)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.close()
            self._redis = None
