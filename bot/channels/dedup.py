"""Which inbound messages this deployment has already taken on — so a platform's retries are processed
once (WeChat retries with the same MsgId, or FromUserName+CreateTime+Event for events; Twilio with the
same MessageSid).

The first request to :meth:`SeenStore.claim` a key wins. With ``REDIS_URL`` the claim is a Redis
``SET NX EX`` shared by every Rasa process behind the load balancer; without it, a dictionary in this
process. Keys are hashed, so openids and phone-derived ids never appear in Redis.

:meth:`SeenStore.remember` keeps a value with the key — the first one wins — so a caller can tell a
retry (same key, same value) from a replay (same key, another value): WeChat's plain-mode signature
covers (timestamp, nonce) but not the body, and a captured signature must not carry another body.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any, Optional, Tuple

logger = logging.getLogger(__name__)

#: WeChat's retries come within about 15 s; remembering ten minutes is plenty and keeps Redis small.
DEFAULT_TTL_S = 600


class SeenStore:
    def __init__(self, redis_url: Optional[str] = None, ttl_s: int = DEFAULT_TTL_S,
                 prefix: str = "powerbot:seen:") -> None:
        self.redis_url = redis_url
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._local: OrderedDict[str, Tuple[float, str]] = OrderedDict()
        self._redis: Any = None

    def _client(self) -> Any:
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
        return self._redis

    def _local_value(self, digest: str, value: str) -> Tuple[bool, str]:
        """(first?, the value stored first) for ``digest`` in this process."""
        now = time.monotonic()
        while self._local:
            oldest, (expires, _value) = next(iter(self._local.items()))
            if expires > now:
                break
            self._local.pop(oldest)
        if digest in self._local:
            return False, self._local[digest][1]
        self._local[digest] = (now + self.ttl_s, value)
        return True, value

    def _claim_local(self, digest: str) -> bool:
        return self._local_value(digest, "1")[0]

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

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.close()
            self._redis = None
