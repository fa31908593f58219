"""Rasa tracker and lock stores chosen by our configuration, so one endpoints.yml serves the
embedded demo and production.

* Tracker store: ``TRACKER_STORE=sql`` (the default) keeps conversations in the ``DATABASE_URL`` database —
  the SQLite file of the embedded demo too, so a restart keeps every open form; ``memory`` keeps them in
  the Rasa process (lost on restart).
* Lock store: Redis at ``REDIS_URL`` when set (several Rasa servers behind a load balancer),
  otherwise in-process. A conversation's lock lives ``CONVERSATION_LOCK_LIFETIME_S`` (Rasa's default is
  60 s, ``TICKET_LOCK_LIFETIME``): the lock of a server that died mid-turn must expire well inside
  WeChat's retry window (about 15 s) so the retry, served by another server, is not kept waiting.
* Event broker: Rasa's RabbitMQ (pika) broker when ``EVENT_BROKER_URL`` is set — every conversation
  event is published to the queue ``EVENT_BROKER_QUEUE`` for analytics consumers; none otherwise.

Rasa instantiates the class named in endpoints.yml; ``__new__`` hands back the real store.
"""

from __future__ import annotations

import contextlib
from asyncio import AbstractEventLoop
from typing import Any, AsyncIterator, Optional
from urllib.parse import urlsplit

from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore, TicketLock
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore
from redis.connection import parse_url

from bot.config import get_settings


class ConfiguredTrackerStore:
    """``tracker_store: type: bot.stores.ConfiguredTrackerStore`` in endpoints.yml."""

    def __new__(cls, domain: Any = None, host: str | None = None, event_broker: Any = None,
                **kwargs: Any) -> TrackerStore:  # type: ignore[misc]
        settings = get_settings()
        if settings.tracker_store == "sql":
            return SQLTrackerStore(domain=domain, host=settings.database_url, event_broker=event_broker)
        return InMemoryTrackerStore(domain, event_broker=event_broker)


#: How often a turn waiting for a conversation's lock looks again (Rasa: 1 s, a whole second of latency).
LOCK_POLL_S = 0.05


class _Lifetime:
    """Mixin: locks live ``CONVERSATION_LOCK_LIFETIME_S`` and are polled every ``LOCK_POLL_S``."""

    lock_lifetime_s: float = 10.0

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: Optional[float] = None,
                   wait_time_in_seconds: float = LOCK_POLL_S) -> AsyncIterator[TicketLock]:
        async with super().lock(conversation_id, lock_lifetime or self.lock_lifetime_s,  # type: ignore[misc]
                                wait_time_in_seconds) as ticket_lock:
            yield ticket_lock


class ShortLockRedisLockStore(_Lifetime, RedisLockStore):
    """Rasa's Redis lock store with our lock lifetime."""


class ShortLockInMemoryLockStore(_Lifetime, InMemoryLockStore):
    """Rasa's in-process lock store with our lock lifetime."""


class ConfiguredLockStore:
    """``lock_store: type: bot.stores.ConfiguredLockStore`` in endpoints.yml."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        settings = get_settings()
        url = settings.redis_url
        store: LockStore
        if not url:
            store = ShortLockInMemoryLockStore()
            store.lock_lifetime_s = settings.conversation_lock_lifetime_s
            return store
        options = parse_url(url)
        store = ShortLockRedisLockStore(
            host=options.get("host", "localhost"),
            port=int(options.get("port", 6379)),
            db=int(options.get("db", 0)),
            username=options.get("username"),
            password=options.get("password"),
            use_ssl=url.startswith("rediss://"),
            key_prefix="powerbot",
        )
        store.lock_lifetime_s = settings.conversation_lock_lifetime_s
        return store


class ConfiguredEventBroker(EventBroker):
    """``event_broker: type: bot.stores.ConfiguredEventBroker`` in endpoints.yml: Rasa's pika broker on
    ``EVENT_BROKER_URL`` (``amqp://user:password@host:5672/vhost``), or no broker when it is unset."""

    @classmethod
    async def from_endpoint_config(cls, broker_config: Any, event_loop: Optional[AbstractEventLoop] = None
                                   ) -> Optional[EventBroker]:  # type: ignore[override]
        settings = get_settings()
        if not settings.event_broker_url:
            return None
        parts = urlsplit(settings.event_broker_url)
        broker = PikaEventBroker(
            host=settings.event_broker_url,
            username=parts.username or "guest",
            password=parts.password or "guest",
            port=parts.port or 5672,
            queues=[settings.event_broker_queue],
            event_loop=event_loop,
            connection_attempts=5,
            retry_delay_in_seconds=2,
        )
        await broker.connect()
        return broker
