"""Rasa tracker and lock stores chosen by our configuration, so one endpoints.yml serves the
embedded demo and production.

* Tracker store: ``TRACKER_STORE=sql`` (the default) keeps conversations in the ``DATABASE_URL`` database —
  the SQLite file of the embedded demo too, so a restart keeps every open form; ``memory`` keeps them in
  the Rasa process (lost on restart).
* Lock store: Redis at ``REDIS_URL`` when set (several Rasa servers behind a load balancer),
  otherwise in-process.

Rasa instantiates the class named in endpoints.yml; ``__new__`` hands back the real store.
"""

from __future__ import annotations

from typing import Any

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
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


class ConfiguredLockStore:
    """``lock_store: type: bot.stores.ConfiguredLockStore`` in endpoints.yml."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        url = get_settings().redis_url
        if not url:
            return InMemoryLockStore()
        options = parse_url(url)
        return RedisLockStore(
            host=options.get("host", "localhost"),
            port=int(options.get("port", 6379)),
            db=int(options.get("db", 0)),
            username=options.get("username"),
            password=options.get("password"),
            use_ssl=url.startswith("rediss://"),
            key_prefix="powerbot",
        )
