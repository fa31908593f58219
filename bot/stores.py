"""Rasa tracker and lock stores chosen by our configuration, so one endpoints.yml serves the
embedded demo and production.

* Tracker store: ``TRACKER_STORE=sql`` (the default) keeps conversations in the ``DATABASE_URL`` database —
  the SQLite file of the embedded demo too, so a restart keeps every open form; ``memory`` keeps them in
  the Rasa process (lost on restart). The SQL store keeps each conversation's latest tracker in the process
  as well and reads the database only when another writer changed the conversation
  (:class:`ConfirmedSQLTrackerStore`).
* Lock store: Redis at ``REDIS_URL`` when set (several Rasa servers behind a load balancer),
  otherwise in-process. A conversation's lock lives ``CONVERSATION_LOCK_LIFETIME_S`` (Rasa's default is
  60 s, ``TICKET_LOCK_LIFETIME``): the lock of a server that died mid-turn must expire well inside
  WeChat's retry window (about 15 s) so the retry, served by another server, is not kept waiting.
* Event broker: Rasa's RabbitMQ (pika) broker when ``EVENT_BROKER_URL`` is set — every conversation
  event is published to the queue ``EVENT_BROKER_QUEUE`` for analytics consumers; none otherwise. A turn's
  events are confirmed by RabbitMQ *before* the tracker store records them (Rasa publishes in the
  background after recording, so a server killed in between loses them for good). Delivery is therefore
  at least once: a server killed after publishing but before recording has its turn redone by the retried
  message, published again with the same ``message_id``, which is what consumers drop repeats by.

Rasa instantiates the class named in endpoints.yml; ``__new__`` hands back the real store.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import itertools
import json
import logging
import pickle
import time
from asyncio import AbstractEventLoop
from typing import Any, AsyncIterator, Optional
from urllib.parse import urlsplit

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore, TicketLock
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from redis.connection import parse_url
from redis.exceptions import WatchError

from bot.config import get_settings
from bot.db import get_engine

logger = logging.getLogger(__name__)


class ConfiguredTrackerStore:
    """``tracker_store: type: bot.stores.ConfiguredTrackerStore`` in endpoints.yml."""

    def __new__(cls, domain: Any = None, host: str | None = None, event_broker: Any = None,
                **kwargs: Any) -> TrackerStore:
        settings = get_settings()
        if settings.tracker_store == "sql":
            return ConfirmedSQLTrackerStore(domain=domain, host=settings.database_url, event_broker=event_broker)
        return InMemoryTrackerStore(domain, event_broker=event_broker)


#: Conversations whose latest tracker each Rasa process keeps (least recently used dropped first).
TRACKER_CACHE_SIZE = 1000


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    """What the database held for one conversation when this process last read or wrote it."""

    rows: int  # events of the conversation, all sessions (a deletion of any changes it)
    last_id: int  # the newest event's id (a write by another server changes it)
    stored: int  # events of the latest session, i.e. what Rasa's ``_additional_events`` would count
    tracker: bytes  # the tracker of the latest session, pickled


class ConfirmedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store that records a turn's events only after the event broker confirmed them
    (see the module docstring: at least once instead of Rasa's at most once), and that keeps each
    conversation's latest tracker in the process.

    Rasa's store rebuilds the tracker from every event of the session on each message (fetch, JSON, replay
    of each event: the cost of a turn grew with the conversation), counts the session's events again to
    save, and with an event broker rebuilds it once more to find the events to publish. Here, after a read
    or a write, the tracker is kept pickled with the conversation's row count and newest event id; the
    next read checks those two with one indexed query and unpickles the tracker when nothing changed —
    another server's write, an erasure or a retention prune changes them and the tracker is read from the
    database as Rasa does. A write whose events start a new session is not kept (Rasa counts a session's
    events by timestamp; the next read asks the database). Trackers are only ever extended by Rasa while
    it holds the conversation's lock, which is what makes the kept count equal to Rasa's.
    tests/integration/test_tracker_cache.py checks that every read answers what Rasa's own store answers.
    """

    def __init__(self, *args: Any, cache_size: int = TRACKER_CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]  # Rasa assigns it untyped
        if engine.url.get_backend_name() == "sqlite":
            # Rasa opens a new connection per query on a SQLite file (SQLAlchemy's default there) with
            # SQLite's default synchronous=FULL: an fsync per turn. Use the process's pooled engine for the
            # same file instead (bot.db: WAL, synchronous=NORMAL, busy timeout), as the records use.
            url = engine.url.render_as_string(hide_password=False)
            engine.dispose()
            self.engine = get_engine(url)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.cache_size = cache_size
        self._snapshots: collections.OrderedDict[str, _Snapshot] = collections.OrderedDict()

    # --- the kept trackers ----------------------------------------------------------------------------

    def _state(self, session: Any, sender_id: str) -> tuple[int, int]:
        """(rows, newest id) of a conversation in the database; (0, 0) when it has none."""
        rows, last_id = session.query(sa.func.count(self.SQLEvent.id), sa.func.max(self.SQLEvent.id)).filter(
            self.SQLEvent.sender_id == sender_id).one()
        return int(rows or 0), int(last_id or 0)

    def _current(self, sender_id: str, state: tuple[int, int]) -> Optional[_Snapshot]:
        """The kept snapshot of ``sender_id`` when the database's ``state`` (see ``_state``) is still the
        one it describes; a stale one is dropped."""
        snapshot = self._snapshots.get(sender_id)
        if snapshot is None:
            return None
        if state != (snapshot.rows, snapshot.last_id):
            del self._snapshots[sender_id]
            return None
        self._snapshots.move_to_end(sender_id)
        return snapshot

    def _keep(self, sender_id: str, snapshot: _Snapshot) -> None:
        self._snapshots[sender_id] = snapshot
        self._snapshots.move_to_end(sender_id)
        while len(self._snapshots) > self.cache_size:
            self._snapshots.popitem(last=False)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        if fetch_events_from_all_sessions or not self.domain:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            state = self._state(session, sender_id)
        snapshot = self._current(sender_id, state)
        if snapshot is not None:
            return pickle.loads(snapshot.tracker)
        tracker = await super()._retrieve(sender_id, False)
        if tracker is not None:
            # the state was read first: a write in between makes the snapshot look stale, never fresh
            self._keep(sender_id, _Snapshot(*state, len(tracker.events), pickle.dumps(tracker)))
        return tracker

    async def save(self, tracker: Any) -> None:
        """Record the events of ``tracker`` the database does not hold yet, as Rasa's ``save`` does (same
        rows; published to the event broker and confirmed first), then keep the tracker."""
        sender_id = tracker.sender_id
        with self.session_scope() as session:
            rows, last_id = self._state(session, sender_id)
            before = self._current(sender_id, (rows, last_id))
            # what Rasa's _additional_events counts: the stored events of the latest session
            stored = before.stored if before else self._event_query(session, sender_id, False).count()
        new_events = list(itertools.islice(tracker.events, stored, None))
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, sender_id)
            if isinstance(self.event_broker, ConfirmedPikaEventBroker):
                await self.event_broker.confirmed()
        with self.session_scope() as session:
            added = []
            for event in new_events:
                data = event.as_dict()
                added.append(self.SQLEvent(
                    sender_id=sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"), data=json.dumps(data)))
            session.add_all(added)
            session.flush()
            ids = [row.id for row in added]
            session.commit()
        if stored > len(tracker.events) or any(isinstance(e, SessionStarted) for e in new_events):
            # a tracker that does not extend the stored one, or a new session (Rasa counts a session's
            # events by timestamp): the next read asks the database
            self._snapshots.pop(sender_id, None)
            return
        # another writer in between (never while Rasa holds the conversation's lock) makes the real row
        # count differ from this one: the next read then finds the snapshot stale
        self._keep(sender_id, _Snapshot(rows + len(ids), max([last_id, *ids]), len(tracker.events),
                                        pickle.dumps(tracker)))

    async def stream_events(self, tracker: Any) -> None:
        """Publish the events the store does not hold yet, and wait until RabbitMQ confirmed them (``save``
        does the same itself; this serves other callers)."""
        await super().stream_events(tracker)
        if isinstance(self.event_broker, ConfirmedPikaEventBroker):
            await self.event_broker.confirmed()


#: How often a turn waiting for a conversation's lock looks again (Rasa: 1 s, a whole second of latency).
LOCK_POLL_S = 0.05


class _Lifetime:
    """Mixin: a conversation's lock lives ``CONVERSATION_LOCK_LIFETIME_S`` — renewed every third of that
    while its turn runs, so a slow turn keeps it and a dead server's lapses — and is polled every
    ``LOCK_POLL_S``."""

    lock_lifetime_s: float = 10.0

    def extend_ticket(self, conversation_id: str, number: int, lifetime_s: float) -> None:
        """Push ticket ``number``'s expiry to now + ``lifetime_s`` (no-op when it is gone)."""
        lock = self.get_lock(conversation_id)  # type: ignore[attr-defined]
        if lock is None:
            return
        for ticket in lock.tickets:
            if ticket.number == number:
                ticket.expires = time.time() + lifetime_s
                self.save_lock(lock)  # type: ignore[attr-defined]
                return

    async def _renew(self, conversation_id: str, number: int, lifetime_s: float) -> None:
        while True:
            await asyncio.sleep(lifetime_s / 3)
            try:
                await asyncio.to_thread(self.extend_ticket, conversation_id, number, lifetime_s)
            except Exception as exc:
                logger.warning("could not renew a conversation lock (%s)", type(exc).__name__)

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: Optional[float] = None,
                   wait_time_in_seconds: float = LOCK_POLL_S) -> AsyncIterator[TicketLock]:
        # Rasa's LockStore.lock, with the ticket renewed from issue to release: a ticket waiting behind a
        # slow turn must not lapse either
        lifetime_s = lock_lifetime or self.lock_lifetime_s
        ticket = self.issue_ticket(conversation_id, lifetime_s)  # type: ignore[attr-defined]
        renewing = asyncio.ensure_future(self._renew(conversation_id, ticket, lifetime_s))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)  # type: ignore[attr-defined]
        finally:
            renewing.cancel()
            self.cleanup(conversation_id, ticket)  # type: ignore[attr-defined]


class ShortLockRedisLockStore(_Lifetime, RedisLockStore):
    """Rasa's Redis lock store with our lock lifetime; a renewal never overwrites a ticket another
    server issued meanwhile (optimistic transaction)."""

    def extend_ticket(self, conversation_id: str, number: int, lifetime_s: float) -> None:
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _ in range(5):
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if not raw:
                        return
                    lock = TicketLock.from_dict(json.loads(raw))
                    mine = [t for t in lock.tickets if t.number == number]
                    if not mine:
                        return
                    mine[0].expires = time.time() + lifetime_s
                    pipe.multi()
                    pipe.set(key, lock.dumps())
                    pipe.execute()
                    return
                except WatchError:
                    continue


class ShortLockInMemoryLockStore(_Lifetime, InMemoryLockStore):
    """Rasa's in-process lock store with our lock lifetime."""


class ConfiguredLockStore:
    """``lock_store: type: bot.stores.ConfiguredLockStore`` in endpoints.yml."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:
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


class ConfirmedPikaEventBroker(PikaEventBroker):
    """Rasa's pika broker whose publications can be awaited: ``publish`` stays fire-and-forget (Rasa's
    interface), ``confirmed()`` returns once RabbitMQ has confirmed (aio-pika publisher confirms) every event
    published before the call. A publication that fails is logged by Rasa and does not hold up the turn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unconfirmed: set[asyncio.Task] = set()

    def publish(self, event: dict[str, Any], headers: Optional[dict[str, str]] = None) -> None:
        """Start publishing ``event`` (a serialised Rasa event) to the queues; see ``confirmed``."""
        task: asyncio.Task = self._loop.create_task(self._publish(event, headers))
        self._unconfirmed.add(task)
        task.add_done_callback(self._unconfirmed.discard)

    async def confirmed(self) -> None:
        """Wait until every publication started so far has finished (confirmed, or failed and logged)."""
        pending = list(self._unconfirmed)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        """Wait for the publications under way, then close the connection (a graceful stop loses none)."""
        await self.confirmed()
        await super().close()


class ConfiguredEventBroker(EventBroker):
    """``event_broker: type: bot.stores.ConfiguredEventBroker`` in endpoints.yml: Rasa's pika broker on
    ``EVENT_BROKER_URL`` (``amqp://user:password@host:5672/vhost``), or no broker when it is unset."""

    @classmethod
    async def from_endpoint_config(cls, broker_config: Any, event_loop: Optional[AbstractEventLoop] = None
                                   ) -> Optional[EventBroker]:
        settings = get_settings()
        if not settings.event_broker_url:
            return None
        parts = urlsplit(settings.event_broker_url)
        broker = ConfirmedPikaEventBroker(
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
